-- An outbox row that cannot be published however often it is tried (an unknown topic, a message
-- the broker refuses) is parked after a bounded number of attempts, so the rows behind it flow.
-- Parked rows stay for inspection: `select * from outbox where parked_at is not null`.
alter table outbox
    add column attempts integer not null default 0,
    add column parked_at timestamptz;

drop index outbox_pending;
create index outbox_pending on outbox (seq) where published_at is null and parked_at is null;
