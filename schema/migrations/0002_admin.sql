-- Shipping methods, discounts, key rotation support and the write guard.

-- A statement that inserts a row here fails its CHECK, and with it the whole D1 batch: the
-- way a batch aborts itself when a condition found in SQL does not hold (D1 has no BEGIN and
-- SQLite's raise() works only in triggers). It never holds a row.
CREATE TABLE write_guards (
  ok INTEGER NOT NULL CHECK (ok = 1)
);

-- Rates per market (JSON {"FR": {"type": "flat", "amount_minor": 490}, ...}); a method is
-- offered in the markets it has a rate for.
CREATE TABLE shipping_methods (
  id         TEXT PRIMARY KEY,
  name       TEXT NOT NULL,
  countries  TEXT NOT NULL DEFAULT '[]',
  rates      TEXT NOT NULL,
  enabled    INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);

-- A discount by code (upper-case, unique) or automatic (code NULL). `definition` holds the
-- validated rule (kind, value, target, items, conditions) as JSON written by the admin API.
CREATE TABLE discounts (
  id                 TEXT PRIMARY KEY,
  code               TEXT UNIQUE CHECK (code IS NULL OR code = upper(code)),
  title              TEXT NOT NULL,
  definition         TEXT NOT NULL,
  enabled            INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
  usage_limit        INTEGER CHECK (usage_limit IS NULL OR usage_limit >= 0),
  usage_limit_per_customer INTEGER CHECK (usage_limit_per_customer IS NULL OR usage_limit_per_customer >= 0),
  times_used         INTEGER NOT NULL DEFAULT 0 CHECK (times_used >= 0),
  created_at         TEXT NOT NULL,
  updated_at         TEXT NOT NULL
);
CREATE INDEX discounts_automatic ON discounts (enabled) WHERE code IS NULL;

CREATE TABLE discount_customer_usage (
  discount_id TEXT NOT NULL REFERENCES discounts (id) ON DELETE CASCADE,
  customer_id TEXT NOT NULL,
  times_used  INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (discount_id, customer_id)
);
