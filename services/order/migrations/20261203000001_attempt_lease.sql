-- Who is paying for a PaymentPending order, and until when: the attempt that stored it (or the
-- last one to take it over) holds a lease until its payment call's timeout plus a margin. Once
-- the lease has run out, the attempt is known to be over (its process died, or it gave up), and
-- a retry with the order's idempotency key, or the repair, may take the order over at once.
alter table customer_order add column attempt_until timestamptz;
-- Orders pending from before: their attempts are long over.
update customer_order set attempt_until = created_at where status = 'PaymentPending';

drop index if exists customer_order_payment_pending;
create index customer_order_attempt_until on customer_order (attempt_until)
    where status = 'PaymentPending';
