-- Hot SKUs (API.md "Edge scale"; src/domain/hot.rs has the protocol). A SKU in mode 'hot' keeps
-- its stock authority in `shards` Durable Objects of generation `generation`; `split` is what
-- each started with per location (a JSON array of {location: units}). The row stays when the
-- SKU goes back to 'normal' so generations only grow: a switch never reuses an old object.
CREATE TABLE hot_skus (
  sku        TEXT PRIMARY KEY,
  mode       TEXT NOT NULL CHECK (mode IN ('hot', 'normal')),
  generation INTEGER NOT NULL CHECK (generation > 0),
  split      TEXT NOT NULL DEFAULT '[]',
  changed_at TEXT NOT NULL
);
-- The reservations in the objects that a placed order holds (written with the order), which an
-- object's expiry alarm reads to settle instead of release.
CREATE TABLE hot_holds (
  reservation TEXT PRIMARY KEY,
  sku         TEXT NOT NULL,
  order_id    TEXT NOT NULL,
  created_at  TEXT NOT NULL
);
