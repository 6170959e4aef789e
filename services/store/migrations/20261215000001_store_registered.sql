-- StoreRegistered for every store opened before the event existed, so that consumers learn every
-- store's owner (notification addresses owners by it). A store opened since is announced by the
-- transaction that creates it; a migration runs once per database, in one transaction, so each
-- store is announced exactly once. The row is what backbone::outbox::enqueue writes for
-- Envelope::new("store", StoreRegistered { .. }): the envelope's id, type, version, occurredAt
-- (UTC, microseconds) and source around the event's data, on the store topic, keyed by the store.
insert into outbox (event_id, topic, message_key, event_type, payload)
select e.id,
       'fooddelivery.store',
       e.store_id::text,
       'StoreRegistered',
       jsonb_build_object(
           'id', e.id,
           'type', 'StoreRegistered',
           'version', 1,
           'occurredAt', to_char(now() at time zone 'utc', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
           'source', 'store',
           'data', jsonb_build_object('storeId', e.store_id, 'ownerId', e.owner_id, 'name', e.name))
from (select gen_random_uuid() as id, s.id as store_id, s.owner_id, s.name, s.created_at
      from store s) e
order by e.created_at, e.store_id;
