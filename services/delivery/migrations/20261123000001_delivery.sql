-- Deliveries: at most one per order (CookingFinished may arrive more than once).
create table delivery (
    id uuid primary key,
    order_id uuid not null,
    customer_id text not null,
    address text not null,
    status text not null check (status in ('Started', 'Completed', 'Canceled', 'Failed')),
    accident_reason text,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint delivery_order_id unique (order_id)
);

-- Orders known to be canceled, whether or not a delivery existed then: no delivery ever starts
-- for them afterwards.
create table canceled_order (
    order_id uuid primary key,
    canceled_at timestamptz not null default now()
);
