-- Notifications for store owners. A notification is now for a recipient: the order's customer,
-- as before, or the owner of the order's store; an event makes at most one for each, so a
-- redelivered event still never makes a second message.
alter table notification add column recipient text not null default 'Customer'
    check (recipient in ('Customer', 'Owner'));
alter table notification drop constraint notification_event_id;
alter table notification add constraint notification_event_recipient unique (event_id, recipient);

-- An owner's notifications are found through their orders.
create index notification_owner_order on notification (order_id) where recipient = 'Owner';

-- Who owns each store, from StoreRegistered.
create table store_owner (
    store_id uuid primary key,
    owner_id text not null,
    name text not null,
    created_at timestamptz not null default now()
);

create index store_owner_owner_id on store_owner (owner_id);

-- The store of each order, from OrderPlaced and OrderCanceled (a delivery's events do not name
-- the store).
create table order_store (
    order_id uuid primary key,
    store_id uuid not null,
    created_at timestamptz not null default now()
);

create index order_store_store_id on order_store (store_id);

-- An owner's notification is addressed by joining these when it is listed or sent, never by
-- updating it: events of different topics arrive in any order (and consumers of several replicas
-- commit side by side), so the notification, its order's store and the store's owner may be
-- written in any order, and the join finds the owner once all three are committed. Until then
-- the notification is neither listed nor sent.
