-- The dispatcher is woken in-process when the consumer commits new notifications, no longer by
-- NOTIFY: PostgreSQL serializes the commits of transactions that notify (each holds one lock
-- per database until its commit is durable), so every event handled waited for the WAL flush of
-- the one before it.
drop trigger if exists notification_notify on notification;
drop function if exists notification_notify();
