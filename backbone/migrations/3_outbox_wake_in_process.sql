-- The relay is no longer woken by NOTIFY. PostgreSQL serializes the commits of transactions that
-- sent a notification: each takes one lock per database and holds it until its commit is durable
-- (async.c, PreCommit_Notify), so every transaction that wrote an event waited for the WAL flush
-- of the one before it. Under load that was the order and payment databases' main wait ("Lock:
-- object"). The service wakes its own relay when such a transaction has committed instead.
drop trigger if exists outbox_notify on outbox;
drop function if exists outbox_notify();
