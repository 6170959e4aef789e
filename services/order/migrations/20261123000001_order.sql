-- The menu replica: what the store service's catalog events say, so orders are validated and
-- priced here, and keep being taken while the store service is down.
create table menu_item (
    menu_item_id uuid primary key,
    store_id uuid not null,
    name text not null,
    price bigint not null,
    available boolean not null,
    updated_at timestamptz not null default now()
);

create index menu_item_store_id on menu_item (store_id);

-- Orders ("order" is an SQL keyword). Items are priced copies of the replica at order time.
create table customer_order (
    id uuid primary key,
    customer_id text not null,
    store_id uuid not null,
    items jsonb not null,
    total_price bigint not null,
    delivery_address text not null,
    status text not null,
    cancel_reason text,
    payment_id uuid,
    idempotency_key text,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint customer_order_idempotency_key unique (customer_id, idempotency_key)
);

create index customer_order_customer_id on customer_order (customer_id, created_at desc);
create index customer_order_payment_pending on customer_order (created_at)
    where status = 'PaymentPending';
