-- Orders from every channel (API.md "Orders from every channel"): where each order was born
-- (`source`: a storefront's checkout, an import, a completed draft) beside the channel that
-- sold it; the selling channel's own id for an imported order, unique per channel, so an
-- import is idempotent by (channel, external id) even under parallel calls; and why staff set
-- a line's price by hand (a draft order's override).
ALTER TABLE orders ADD COLUMN source TEXT NOT NULL DEFAULT 'storefront' CHECK (source IN ('storefront', 'import', 'draft'));
ALTER TABLE orders ADD COLUMN external_id TEXT;
CREATE UNIQUE INDEX orders_by_external_id ON orders (channel_id, external_id) WHERE external_id IS NOT NULL;
CREATE INDEX orders_by_channel ON orders (channel_id, created_at, id);
CREATE INDEX orders_by_source ON orders (source, created_at, id);
ALTER TABLE order_lines ADD COLUMN price_reason TEXT;
