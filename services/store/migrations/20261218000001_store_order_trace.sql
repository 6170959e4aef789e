-- The trace context of the order's saga, as the store learnt of the order (the work that
-- consumed OrderPlaced): what the owner then does to the order (accept, cook, reject) continues
-- that trace, so that one order's saga is one trace however many people act on it. Null for
-- orders stored before it was kept: their owners' actions start traces of their own.
alter table store_order add column traceparent text;
