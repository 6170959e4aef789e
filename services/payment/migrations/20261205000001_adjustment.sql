-- Money moved for an order after its payment, one row per change of the order (its id is the
-- key): a top-up charged when a change made the order dearer (positive amount), the refund of
-- a change that made it cheaper (negative), or the tombstone of a change given up before its
-- top-up arrived (Voided: the top-up is refused when it comes).
create table adjustment (
    change_id uuid primary key,
    order_id uuid not null,
    customer_id text not null,
    amount bigint not null,
    status text not null check (status in ('Approved', 'Declined', 'Refunded', 'Voided')),
    -- The order service announced the change: a top-up is kept.
    confirmed boolean not null default false,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);

create index adjustment_order_id on adjustment (order_id);
