-- Draft orders (API.md "Orders from every channel"): an order staff build for a customer
-- (phone, B2B, replacement) is a cart of its own kind, priced by the same rules and placed by
-- the same checkout. The storefront never sees a draft, and a draft never expires. A line's
-- price may be set by hand (`price_override`, minor units, in the market's tax convention)
-- with the reason staff gave; the order line keeps the reason. A completed draft finds its
-- order by its cart id (orders.cart_id is unique, hence indexed).
ALTER TABLE carts ADD COLUMN kind TEXT NOT NULL DEFAULT 'cart' CHECK (kind IN ('cart', 'draft'));
ALTER TABLE cart_lines ADD COLUMN price_override INTEGER CHECK (price_override IS NULL OR price_override >= 0);
ALTER TABLE cart_lines ADD COLUMN price_reason TEXT;
CREATE INDEX carts_drafts ON carts (created_at, id) WHERE kind = 'draft';
