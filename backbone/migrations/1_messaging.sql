-- Messaging tables shared by every PostgreSQL-backed service (merged into each service's
-- migrations by backbone::schema; service migrations use timestamp versions, these small ones).

-- Transactional outbox: events written in the same transaction as the state change they
-- describe, published to Kafka by the relay, in `seq` order.
create table outbox (
    seq bigint generated always as identity primary key,
    event_id uuid not null unique,
    topic text not null,
    message_key text not null,
    event_type text not null,
    payload jsonb not null,
    traceparent text,
    created_at timestamptz not null default now(),
    published_at timestamptz
);

create index outbox_pending on outbox (seq) where published_at is null;

-- Wake the relay when a transaction that wrote events commits (NOTIFY is sent on commit).
create function outbox_notify() returns trigger language plpgsql as $$
begin
    perform pg_notify('outbox', '');
    return null;
end
$$;

create trigger outbox_notify after insert on outbox
    for each statement execute function outbox_notify();

-- Idempotent consumers: one row per (consumer, event) handled, written in the same transaction
-- as the handler's effect. A redelivered event finds its row and has no second effect.
create table inbox (
    consumer text not null,
    event_id uuid not null,
    event_type text not null,
    processed_at timestamptz not null default now(),
    primary key (consumer, event_id)
);

create index inbox_processed_at on inbox (processed_at);
