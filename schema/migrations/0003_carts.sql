-- Carts and their lines. D1 is the source of truth; every mutation bumps `version` (the ETag).

CREATE TABLE carts (
  id                 TEXT PRIMARY KEY,
  channel_id         TEXT NOT NULL,
  market             TEXT NOT NULL,
  currency           TEXT NOT NULL,
  status             TEXT NOT NULL DEFAULT 'active'
                     CHECK (status IN ('active', 'checked_out', 'merged')),
  version            INTEGER NOT NULL DEFAULT 1,
  customer_id        TEXT,
  email              TEXT,
  shipping_address   TEXT,      -- JSON address
  billing_address    TEXT,      -- JSON address; NULL means "same as shipping"
  shipping_method_id TEXT,
  note               TEXT,
  discount_codes     TEXT NOT NULL DEFAULT '[]',   -- JSON array of upper-case codes
  merged_into        TEXT,
  expires_at         TEXT NOT NULL,
  created_at         TEXT NOT NULL,
  updated_at         TEXT NOT NULL
);
CREATE INDEX carts_by_expiry ON carts (expires_at) WHERE status = 'active';
CREATE INDEX carts_by_customer ON carts (customer_id, channel_id, updated_at) WHERE status = 'active';

-- One line per SKU per cart (adding the same SKU merges). `unit_price_seen` is the catalog
-- price when the line was added or last changed, to warn when the price moves.
CREATE TABLE cart_lines (
  id              TEXT PRIMARY KEY,
  cart_id         TEXT NOT NULL REFERENCES carts (id) ON DELETE CASCADE,
  sku             TEXT NOT NULL,
  quantity        INTEGER NOT NULL CHECK (quantity BETWEEN 1 AND 999),
  position        INTEGER NOT NULL,
  unit_price_seen INTEGER NOT NULL,
  created_at      TEXT NOT NULL,
  updated_at      TEXT NOT NULL,
  UNIQUE (cart_id, sku)
);
