-- Stock per (SKU, location) (API.md "Stock locations"). `inventory_levels` becomes the truth;
-- `inventory` keeps the totals per SKU, maintained by the triggers below, so every read of a
-- total stays one row. The CHECKs make an oversell impossible per location (and in total).
CREATE TABLE inventory_levels (
  sku        TEXT NOT NULL,
  location   TEXT NOT NULL REFERENCES locations (id),
  on_hand    INTEGER NOT NULL DEFAULT 0 CHECK (on_hand >= 0),
  reserved   INTEGER NOT NULL DEFAULT 0 CHECK (reserved >= 0),
  updated_at TEXT NOT NULL,
  CHECK (reserved <= on_hand),
  PRIMARY KEY (sku, location)
);
CREATE INDEX inventory_levels_by_location ON inventory_levels (location, sku);

-- Everything held so far is at `main`: nothing lost, nothing counted twice.
INSERT INTO inventory_levels (sku, location, on_hand, reserved, updated_at)
SELECT sku, 'main', on_hand, reserved, updated_at FROM inventory;

CREATE TRIGGER inventory_levels_inserted AFTER INSERT ON inventory_levels
BEGIN
  INSERT OR IGNORE INTO inventory (sku, on_hand, reserved, updated_at) VALUES (NEW.sku, 0, 0, NEW.updated_at);
  UPDATE inventory SET on_hand = on_hand + NEW.on_hand, reserved = reserved + NEW.reserved,
    updated_at = NEW.updated_at WHERE sku = NEW.sku;
END;

CREATE TRIGGER inventory_levels_updated AFTER UPDATE ON inventory_levels
BEGIN
  UPDATE inventory SET on_hand = on_hand + NEW.on_hand - OLD.on_hand,
    reserved = reserved + NEW.reserved - OLD.reserved, updated_at = NEW.updated_at
  WHERE sku = NEW.sku;
END;

CREATE TRIGGER inventory_levels_deleted AFTER DELETE ON inventory_levels
BEGIN
  UPDATE inventory SET on_hand = on_hand - OLD.on_hand, reserved = reserved - OLD.reserved
  WHERE sku = OLD.sku;
END;

-- Where each change happened, and which sync (if any) made it.
ALTER TABLE inventory_adjustments ADD COLUMN location TEXT NOT NULL DEFAULT 'main';
ALTER TABLE inventory_adjustments ADD COLUMN sync_id TEXT;
CREATE INDEX inventory_adjustments_by_sync ON inventory_adjustments (sync_id, sku, location) WHERE sync_id IS NOT NULL;

-- Stock pictures an ERP or WMS pushed (POST /admin/v1/inventory/sync): one row per sync, its
-- Idempotency-Key (scoped to the admin) unique, so a retried sync is answered, not applied again.
CREATE TABLE inventory_syncs (
  id         TEXT PRIMARY KEY,
  scope      TEXT NOT NULL,
  idem_key   TEXT,
  body_hash  TEXT NOT NULL,
  items      INTEGER NOT NULL,
  changed    INTEGER NOT NULL DEFAULT 0,
  actor      TEXT NOT NULL,
  created_at TEXT NOT NULL
);
CREATE UNIQUE INDEX inventory_syncs_by_key ON inventory_syncs (scope, idem_key) WHERE idem_key IS NOT NULL;
CREATE INDEX inventory_syncs_by_time ON inventory_syncs (created_at, id);

-- Order lines say where their units are taken from: [{location, quantity, fulfilled_quantity}].
-- Lines placed before locations took theirs at `main` (a canceled order holds only what shipped).
ALTER TABLE order_lines ADD COLUMN allocations TEXT NOT NULL DEFAULT '[]';
UPDATE order_lines SET allocations = json_array(json_object('location', 'main',
    'quantity', CASE WHEN (SELECT status FROM orders WHERE id = order_lines.order_id) = 'canceled'
                     THEN fulfilled_quantity ELSE quantity - refunded_unfulfilled END,
    'fulfilled_quantity', fulfilled_quantity))
WHERE CASE WHEN (SELECT status FROM orders WHERE id = order_lines.order_id) = 'canceled'
           THEN fulfilled_quantity ELSE quantity - refunded_unfulfilled END > 0;

-- A pickup shipping method names the store its orders are collected from (and allocated at).
ALTER TABLE shipping_methods ADD COLUMN location_id TEXT REFERENCES locations (id);

-- A destination may take only the events of some locations: {"locations": [...]} or NULL.
ALTER TABLE destinations ADD COLUMN filter TEXT;
