-- Stock locations (API.md "Stock locations"): warehouses and stores, the countries they ship to,
-- their priority in allocation (lower first) and whether shoppers collect orders there. `main`
-- exists from here on: the warehouse serving every country that holds all stock written without
-- a location.
CREATE TABLE locations (
  id         TEXT PRIMARY KEY,
  name       TEXT NOT NULL,
  kind       TEXT NOT NULL CHECK (kind IN ('warehouse', 'store')),
  countries  TEXT NOT NULL DEFAULT '[]',   -- JSON array of ISO 3166-1 alpha-2 codes; [] = every country
  priority   INTEGER NOT NULL,
  pickup     INTEGER NOT NULL DEFAULT 0,
  address    TEXT,                         -- JSON {line1, line2, city, state, postal_code, country, phone}
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
INSERT INTO locations (id, name, kind, countries, priority, pickup, created_at, updated_at)
VALUES ('main', 'Main warehouse', 'warehouse', '[]', 100, 0, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), strftime('%Y-%m-%dT%H:%M:%fZ', 'now'));
