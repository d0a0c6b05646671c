-- The back office finds orders by email (API.md: orders list `q`): the order's email, lower
-- case, as a column of its own with an index, rather than a scan of every order's body.
ALTER TABLE orders ADD COLUMN email TEXT;
UPDATE orders SET email = lower(json_extract(body, '$.email'));
CREATE INDEX orders_by_email ON orders (email, created_at, id);
CREATE INDEX orders_by_market ON orders (market, created_at, id);
