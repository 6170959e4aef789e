-- The version of the order's contents the store holds: 1 as placed, then each change the
-- customer made before cooking (OrderChanged), so that a change read twice, or an older one read
-- after a newer, changes nothing.
alter table store_order add column version integer not null default 1;
