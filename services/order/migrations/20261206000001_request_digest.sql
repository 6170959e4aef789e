-- What an order's request asked for, as a SHA-256 digest (store, lines, address), kept beside its
-- idempotency key: a request that repeats the key must repeat the request, or it is refused
-- (422 idempotency_key_reused) instead of being answered with another request's order. Orders
-- placed before this column have none, and their keys replay as before.
alter table customer_order add column request_digest bytea;
