-- The back office finds orders by email (API.md: orders list `q`): the order's email, its
-- ASCII letters lower-cased (as SQLite's lower() does), as a column of its own with an index
-- that the search walks as a range (an email or its beginning), rather than every order.
ALTER TABLE orders ADD COLUMN email TEXT;
UPDATE orders SET email = lower(json_extract(body, '$.email'));
CREATE INDEX orders_by_email ON orders (email, created_at, id);
CREATE INDEX orders_by_market ON orders (market, created_at, id);
