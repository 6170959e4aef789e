-- What the service learns from the other services' events, each recorded as it comes, in
-- whatever order the topics deliver them.

-- Orders placed (OrderPlaced): who ordered from which store.
create table ordered (
    order_id uuid primary key,
    customer_id text not null,
    store_id uuid not null,
    created_at timestamptz not null default now()
);

-- Orders delivered (DeliveryCompleted), possibly before their OrderPlaced is read.
create table delivered (
    order_id uuid primary key,
    created_at timestamptz not null default now()
);

-- Who owns each store (StoreRegistered).
create table store_owner (
    store_id uuid primary key,
    owner_id text not null,
    name text not null,
    created_at timestamptz not null default now()
);

-- Reviews: at most one per order.
create table review (
    id uuid primary key,
    order_id uuid not null,
    store_id uuid not null,
    customer_id text not null,
    rating smallint not null check (rating between 1 and 5),
    text text not null,
    reply text,
    replied_at timestamptz,
    version integer not null default 1,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint review_order_id unique (order_id)
);

create index review_store_id on review (store_id, created_at);
