-- Catalog, channels and stock: the foundation every later table refers to.
-- Money is stored as INTEGER minor units (exact in SQLite and in JavaScript below 2^53);
-- never REAL. Lists and maps written by the application are JSON text.
-- Never edit a migration once applied anywhere: add a new one.

CREATE TABLE markets (
  code          TEXT PRIMARY KEY CHECK (length(code) BETWEEN 2 AND 16),
  currency      TEXT NOT NULL CHECK (length(currency) = 3),
  countries     TEXT NOT NULL DEFAULT '[]',   -- JSON array of ISO 3166-1 alpha-2 codes
  languages     TEXT NOT NULL DEFAULT '[]',   -- JSON array of BCP 47 tags
  tax_inclusive INTEGER NOT NULL CHECK (tax_inclusive IN (0, 1)),
  tax_rates     TEXT NOT NULL,                -- JSON {"standard":"20","reduced":"5.5","zero":"0"}
  rounding_mode TEXT NOT NULL DEFAULT 'half_up'
                CHECK (rounding_mode IN ('half_up', 'half_even', 'half_down')),
  tax_rounding  TEXT NOT NULL DEFAULT 'line' CHECK (tax_rounding IN ('line', 'total')),
  created_at    TEXT NOT NULL,
  updated_at    TEXT NOT NULL
);

-- A sales channel (web, app, kiosk, marketplace). Only the SHA-256 of its publishable key
-- is stored; key_hint keeps the last characters to recognise it in the admin.
CREATE TABLE channels (
  id         TEXT PRIMARY KEY,
  name       TEXT NOT NULL,
  key_hash   TEXT NOT NULL UNIQUE,
  key_hint   TEXT NOT NULL,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);

CREATE TABLE channel_markets (
  channel_id  TEXT NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
  market_code TEXT NOT NULL REFERENCES markets (code),
  position    INTEGER NOT NULL,
  PRIMARY KEY (channel_id, market_code)
);

-- Normalised browser origins (scheme://host[:port]) allowed to call the storefront API.
CREATE TABLE channel_origins (
  channel_id TEXT NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
  origin     TEXT NOT NULL,
  PRIMARY KEY (channel_id, origin)
);
CREATE INDEX channel_origins_by_origin ON channel_origins (origin);

CREATE TABLE products (
  id          TEXT PRIMARY KEY,
  handle      TEXT NOT NULL UNIQUE,
  title       TEXT NOT NULL,
  description TEXT NOT NULL DEFAULT '',
  status      TEXT NOT NULL CHECK (status IN ('draft', 'published')),
  created_at  TEXT NOT NULL,
  updated_at  TEXT NOT NULL
);
CREATE INDEX products_by_status_handle ON products (status, handle);

-- SKUs are stored upper-case; lookups are case-insensitive by upper-casing the input.
CREATE TABLE variants (
  sku          TEXT PRIMARY KEY CHECK (sku = upper(sku)),
  product_id   TEXT NOT NULL REFERENCES products (id) ON DELETE CASCADE,
  title        TEXT NOT NULL,
  tax_class    TEXT NOT NULL CHECK (tax_class IN ('standard', 'reduced', 'zero')),
  weight_grams INTEGER NOT NULL DEFAULT 0 CHECK (weight_grams >= 0),
  position     INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX variants_by_product ON variants (product_id, position);

CREATE TABLE prices (
  sku          TEXT NOT NULL REFERENCES variants (sku) ON DELETE CASCADE,
  market       TEXT NOT NULL REFERENCES markets (code),
  currency     TEXT NOT NULL,
  amount_minor INTEGER NOT NULL CHECK (amount_minor >= 0),
  PRIMARY KEY (sku, market)
);
CREATE INDEX prices_by_market ON prices (market, sku);

-- Stock per SKU. The CHECKs make an oversell impossible: a reservation that would take
-- available stock below zero fails its statement, and with it the whole D1 batch.
CREATE TABLE inventory (
  sku        TEXT PRIMARY KEY,
  on_hand    INTEGER NOT NULL DEFAULT 0 CHECK (on_hand >= 0),
  reserved   INTEGER NOT NULL DEFAULT 0 CHECK (reserved >= 0),
  updated_at TEXT NOT NULL,
  CHECK (reserved <= on_hand)
);

-- Audit trail of every stock change made through the admin API.
CREATE TABLE inventory_adjustments (
  id         TEXT PRIMARY KEY,
  sku        TEXT NOT NULL,
  delta      INTEGER NOT NULL,
  on_hand    INTEGER NOT NULL,  -- on_hand after the change
  reason     TEXT NOT NULL,
  created_at TEXT NOT NULL
);
CREATE INDEX inventory_adjustments_by_sku ON inventory_adjustments (sku, created_at);
