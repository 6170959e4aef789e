-- Stores and their menus, owned by the owner who registered them.
create table store (
    id uuid primary key,
    name text not null,
    owner_id text not null,
    created_at timestamptz not null default now(),
    constraint store_owner_name unique (owner_id, name)
);

create table menu_item (
    id uuid primary key,
    store_id uuid not null references store (id),
    name text not null,
    price bigint not null check (price > 0),
    available boolean not null,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint menu_item_store_name unique (store_id, name)
);

-- Orders as the store works on them; one per order (OrderPlaced may arrive more than once).
-- No foreign key to store: an order event is a fact even for a store this database never saw.
create table store_order (
    order_id uuid not null,
    store_id uuid not null,
    customer_id text not null,
    items jsonb not null,
    total_price bigint not null,
    delivery_address text not null,
    status text not null check (status in ('Received', 'Accepted', 'Rejected', 'Cooking', 'Cooked', 'Canceled')),
    reason text,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint store_order_pkey primary key (order_id)
);

create index store_order_store_id on store_order (store_id, created_at desc);

-- Cancellations that arrived before the order they cancel: a later OrderPlaced for such an
-- order creates its store order already canceled.
create table canceled_order (
    order_id uuid primary key,
    reason text not null,
    canceled_at timestamptz not null default now()
);
