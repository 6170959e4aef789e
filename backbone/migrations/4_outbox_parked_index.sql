-- The outbox's gauges count parked rows every few seconds (backbone::backlog); without an index
-- that count reads every published row kept for inspection (a day's worth).
create index if not exists outbox_parked on outbox (seq) where parked_at is not null;
