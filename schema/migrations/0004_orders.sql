-- Orders, checkout idempotency, the event outbox and payment-provider event dedup.

-- Human-readable order numbers, unique per market: FR-000001, FR-000002...
CREATE TABLE order_counters (
  market TEXT PRIMARY KEY,
  last   INTEGER NOT NULL
);

CREATE TABLE orders (
  id                 TEXT PRIMARY KEY,
  number             TEXT NOT NULL UNIQUE,
  channel_id         TEXT NOT NULL,
  cart_id            TEXT NOT NULL UNIQUE,
  market             TEXT NOT NULL,
  customer_id        TEXT,
  status             TEXT NOT NULL CHECK (status IN ('pending_payment', 'confirmed', 'fulfilled', 'canceled', 'refunded')),
  payment_status     TEXT NOT NULL CHECK (payment_status IN ('pending', 'paid', 'partially_refunded', 'refunded', 'voided')),
  fulfillment_status TEXT NOT NULL CHECK (fulfillment_status IN ('unfulfilled', 'partially_fulfilled', 'fulfilled')),
  payment_provider   TEXT NOT NULL CHECK (payment_provider IN ('manual', 'stripe')),
  payment_reference  TEXT,            -- the Stripe PaymentIntent id
  total_minor        INTEGER NOT NULL,
  currency           TEXT NOT NULL,
  shipping_refunded  INTEGER NOT NULL DEFAULT 0,
  cancel_reason      TEXT,
  body               TEXT NOT NULL,   -- JSON: the priced cart at checkout (addresses, totals, codes, shipping)
  pay_by             TEXT NOT NULL,   -- unpaid orders are canceled after this
  last_sequence      INTEGER NOT NULL DEFAULT 0,  -- events emitted for this order
  created_at         TEXT NOT NULL,
  updated_at         TEXT NOT NULL
);
CREATE INDEX orders_unpaid ON orders (pay_by) WHERE status = 'pending_payment';
CREATE INDEX orders_by_status ON orders (status, created_at, id);
CREATE INDEX orders_by_created ON orders (created_at, id);
CREATE INDEX orders_by_customer ON orders (customer_id, created_at, id);
CREATE INDEX orders_by_payment ON orders (payment_reference);

CREATE TABLE order_lines (
  id                 TEXT PRIMARY KEY,
  order_id           TEXT NOT NULL REFERENCES orders (id),
  position           INTEGER NOT NULL,
  sku                TEXT NOT NULL,
  title              TEXT NOT NULL,
  quantity           INTEGER NOT NULL CHECK (quantity > 0),
  unit_price         INTEGER NOT NULL,
  subtotal           INTEGER NOT NULL,
  discount           INTEGER NOT NULL,
  tax                INTEGER NOT NULL,
  total              INTEGER NOT NULL,
  fulfilled_quantity INTEGER NOT NULL DEFAULT 0,
  refunded_quantity  INTEGER NOT NULL DEFAULT 0,
  -- Refunded units that were never shipped (they will not be fulfilled any more).
  refunded_unfulfilled INTEGER NOT NULL DEFAULT 0,
  CHECK (fulfilled_quantity >= 0 AND refunded_quantity >= 0 AND refunded_unfulfilled >= 0),
  CHECK (fulfilled_quantity + refunded_unfulfilled <= quantity),
  CHECK (refunded_quantity <= quantity AND refunded_unfulfilled <= refunded_quantity)
);
CREATE INDEX order_lines_by_order ON order_lines (order_id, position);

-- Idempotency-Key records: the first response is replayed for the same key and body.
CREATE TABLE idempotency_keys (
  channel_id      TEXT NOT NULL,
  key             TEXT NOT NULL,
  method          TEXT NOT NULL,
  path            TEXT NOT NULL,
  body_hash       TEXT NOT NULL,
  state           TEXT NOT NULL CHECK (state IN ('in_flight', 'done')),
  response_status INTEGER,
  response_body   TEXT,
  created_at      TEXT NOT NULL,
  expires_at      TEXT NOT NULL,
  PRIMARY KEY (channel_id, key, method, path)
);
CREATE INDEX idempotency_by_expiry ON idempotency_keys (expires_at);

-- Every event, written in the same batch as the change that causes it. `sent_at` is set once
-- it has been handed to the queue; a sweeper re-sends rows left unsent.
CREATE TABLE outbox (
  id         TEXT PRIMARY KEY,
  type       TEXT NOT NULL,
  aggregate  TEXT NOT NULL,          -- order id, or SKU for inventory.low
  sequence   INTEGER NOT NULL,
  payload    TEXT NOT NULL,          -- the full event envelope, JSON
  created_at TEXT NOT NULL,
  sent_at    TEXT,
  UNIQUE (aggregate, type, sequence)
);
CREATE INDEX outbox_unsent ON outbox (created_at) WHERE sent_at IS NULL;
CREATE INDEX outbox_feed ON outbox (created_at, id);

-- Sequences of aggregates that are not orders (inventory.low per SKU).
CREATE TABLE aggregate_sequences (
  aggregate TEXT PRIMARY KEY,
  last      INTEGER NOT NULL
);

-- Stripe event ids already handled: a redelivered event changes nothing.
CREATE TABLE payment_events (
  id          TEXT PRIMARY KEY,
  type        TEXT NOT NULL,
  received_at TEXT NOT NULL
);
