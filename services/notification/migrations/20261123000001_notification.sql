-- The notification log: one row per customer-facing event, written as Pending in the same
-- transaction as the inbox row, then sent by the dispatcher and marked Sent or Failed.
create table notification (
    id uuid primary key,
    event_id uuid not null,
    customer_id text not null,
    order_id uuid not null,
    event_type text not null,
    message text not null,
    channel text not null,
    status text not null check (status in ('Pending', 'Sent', 'Failed')),
    attempts integer not null default 0,
    next_attempt_at timestamptz not null default now(),
    last_error text,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    -- A redelivered event never produces a second message.
    constraint notification_event_id unique (event_id)
);

create index notification_customer_id on notification (customer_id, created_at desc);

-- What the dispatcher picks up: not yet sent, due now.
create index notification_due on notification (next_attempt_at) where status <> 'Sent';

-- Wake the dispatcher when a transaction that wrote notifications commits.
create function notification_notify() returns trigger language plpgsql as $$
begin
    perform pg_notify('notification', '');
    return null;
end
$$;

create trigger notification_notify after insert on notification
    for each statement execute function notification_notify();
