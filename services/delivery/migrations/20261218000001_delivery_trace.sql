-- The trace context of the order's saga, as the delivery learnt of the order (the work that
-- consumed DeliveryRequested): what the rider then does (complete, report an accident)
-- continues that trace. Null for deliveries stored before it was kept.
alter table delivery add column traceparent text;
