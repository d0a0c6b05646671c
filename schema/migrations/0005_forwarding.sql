-- Forwarding events to back-office systems: destinations and the delivery log.

CREATE TABLE destinations (
  id                  TEXT PRIMARY KEY,
  url                 TEXT NOT NULL,
  events              TEXT NOT NULL,        -- JSON array of event types, or ["*"]
  enabled             INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
  secret              TEXT NOT NULL,        -- whsec_…
  previous_secret     TEXT,                 -- still signed with until previous_expires_at
  previous_expires_at TEXT,
  created_at          TEXT NOT NULL,
  updated_at          TEXT NOT NULL
);

CREATE TABLE deliveries (
  id               TEXT PRIMARY KEY,
  event_id         TEXT NOT NULL,
  destination_id   TEXT NOT NULL,
  status           TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'dead')),
  attempts         INTEGER NOT NULL DEFAULT 0,
  last_status_code INTEGER,
  last_error       TEXT,
  created_at       TEXT NOT NULL,
  updated_at       TEXT NOT NULL,
  UNIQUE (event_id, destination_id)
);
CREATE INDEX deliveries_by_status ON deliveries (status, created_at, id);
CREATE INDEX deliveries_by_created ON deliveries (created_at, id);
