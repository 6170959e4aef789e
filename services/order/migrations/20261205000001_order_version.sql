-- The version of an order's contents (lines, price, address): 1 as placed, one more at each
-- change the customer makes before cooking starts. A change names the version it was made from
-- (If-Match), so two changes made from one reading cannot both pass.
alter table customer_order add column version integer not null default 1 check (version >= 1);
