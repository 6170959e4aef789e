-- Payments: one per order (the order id is the idempotency key of POST /payments).
create table payment (
    id uuid primary key,
    order_id uuid not null,
    customer_id text not null,
    amount bigint not null check (amount > 0),
    status text not null check (status in ('Approved', 'Declined', 'Refunded')),
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint payment_order_id unique (order_id)
);

create index payment_customer_id on payment (customer_id);

-- Cancellations that arrived before the payment they cancel was visible here. A payment
-- created later for such an order is refunded at once.
create table canceled_order (
    order_id uuid primary key,
    canceled_at timestamptz not null default now()
);
