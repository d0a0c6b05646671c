-- After the sale: money paid and refunded, refunds through the provider, returns, and the
-- admin actions an order's timeline shows (API.md "After the sale").

-- Every change of an order bumps its version: the guard of the next change (timestamps of one
-- millisecond could let two concurrent changes both pass).
ALTER TABLE orders ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
-- Money collected, in minor units.
ALTER TABLE orders ADD COLUMN paid_minor INTEGER NOT NULL DEFAULT 0 CHECK (paid_minor >= 0);
-- 'exchange': the replacement of returned goods, `exchange_of` the order they came from.
ALTER TABLE orders ADD COLUMN kind TEXT NOT NULL DEFAULT 'order' CHECK (kind IN ('order', 'exchange'));
ALTER TABLE orders ADD COLUMN exchange_of TEXT;
-- The Stripe PaymentIntent collecting what an edit left to pay (its amount and client secret).
ALTER TABLE orders ADD COLUMN balance_intent TEXT;
ALTER TABLE orders ADD COLUMN balance_intent_amount INTEGER;
ALTER TABLE orders ADD COLUMN balance_client_secret TEXT;
UPDATE orders SET paid_minor = total_minor WHERE payment_status IN ('paid', 'partially_refunded', 'refunded');

-- Units received back, money refunded per line, and when the line last shipped (the return
-- window counts from it).
ALTER TABLE order_lines ADD COLUMN returned_quantity INTEGER NOT NULL DEFAULT 0
  CHECK (returned_quantity >= 0 AND returned_quantity <= fulfilled_quantity);
ALTER TABLE order_lines ADD COLUMN refunded_minor INTEGER NOT NULL DEFAULT 0
  CHECK (refunded_minor >= 0 AND refunded_minor <= total);
ALTER TABLE order_lines ADD COLUMN last_fulfilled_at TEXT;

CREATE TABLE refunds (
  id                 TEXT PRIMARY KEY,
  order_id           TEXT NOT NULL REFERENCES orders (id),
  kind               TEXT NOT NULL CHECK (kind IN ('lines', 'amount', 'exchange')),
  status             TEXT NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed')),
  amount_minor       INTEGER NOT NULL CHECK (amount_minor >= 0),  -- 0: units worth nothing
  credit_minor       INTEGER NOT NULL CHECK (credit_minor >= 0 AND credit_minor <= amount_minor),
  lines              TEXT NOT NULL,   -- JSON [{line_id, quantity, amount}] (minor units)
  include_shipping   INTEGER NOT NULL DEFAULT 0,
  reason             TEXT,
  provider_reference TEXT,            -- Stripe's re_…, or the exchange order
  failure_reason     TEXT,
  attempts           INTEGER NOT NULL DEFAULT 0,
  created_at         TEXT NOT NULL,
  updated_at         TEXT NOT NULL
);
CREATE INDEX refunds_by_order ON refunds (order_id, created_at);
CREATE INDEX refunds_by_reference ON refunds (provider_reference);

CREATE TABLE returns (
  id                TEXT PRIMARY KEY,
  order_id          TEXT NOT NULL REFERENCES orders (id),
  status            TEXT NOT NULL CHECK (status IN ('requested', 'approved', 'received', 'rejected', 'canceled')),
  lines             TEXT NOT NULL,    -- JSON [{line_id, quantity, reason, received, restocked}]
  note              TEXT,
  opened_by         TEXT NOT NULL CHECK (opened_by IN ('customer', 'staff')),
  reject_reason     TEXT,
  exchange_order_id TEXT,
  refund_ids        TEXT NOT NULL DEFAULT '[]',
  created_at        TEXT NOT NULL,
  updated_at        TEXT NOT NULL
);
CREATE INDEX returns_by_order ON returns (order_id, created_at);
CREATE INDEX returns_by_created ON returns (created_at, id);
CREATE INDEX returns_by_status ON returns (status, created_at, id);

-- Who did what to an order through the admin API (the token's `sub`), for its timeline.
CREATE TABLE admin_actions (
  id         TEXT PRIMARY KEY,
  order_id   TEXT NOT NULL,
  actor      TEXT NOT NULL,
  action     TEXT NOT NULL,
  summary    TEXT NOT NULL,
  reference  TEXT,
  at         TEXT NOT NULL
);
CREATE INDEX admin_actions_by_order ON admin_actions (order_id, at);
CREATE INDEX outbox_by_aggregate ON outbox (aggregate, sequence);

-- Orders from before this migration. Shipped lines count their window from the order's last
-- change; refunds recorded then (they moved no money through Comptoir) become refund rows, so
-- that what can still be refunded is paid less them: a line's refunded units are worth their
-- half-up share of its total (as app refunds compute it), shipping what the lines leave of the
-- total, and a paid order canceled gave back everything.
UPDATE order_lines SET last_fulfilled_at = (SELECT updated_at FROM orders WHERE orders.id = order_lines.order_id)
  WHERE fulfilled_quantity > 0;
UPDATE order_lines SET refunded_minor = (2 * total * refunded_quantity + quantity) / (2 * quantity)
  WHERE refunded_quantity > 0;
INSERT INTO refunds (id, order_id, kind, status, amount_minor, credit_minor, lines, include_shipping, reason, attempts,
                     created_at, updated_at)
SELECT 'ref_' || lower(hex(randomblob(16))), x.id, x.kind, 'succeeded', x.amount, x.amount, x.lines, x.shipping, x.reason, 0,
       x.updated_at, x.updated_at
FROM (
  SELECT o.id, o.updated_at, 'amount' AS kind, o.total_minor AS amount, '[]' AS lines, 0 AS shipping,
         'order canceled (before refunds moved money)' AS reason
    FROM orders o WHERE o.status = 'canceled' AND o.payment_status = 'refunded' AND o.total_minor > 0
  UNION ALL
  SELECT o.id, o.updated_at, 'lines',
         (SELECT COALESCE(SUM(refunded_minor), 0) FROM order_lines WHERE order_id = o.id)
           + CASE WHEN o.shipping_refunded = 1
                  THEN MAX(o.total_minor - (SELECT COALESCE(SUM(total), 0) FROM order_lines WHERE order_id = o.id), 0)
                  ELSE 0 END,
         (SELECT json_group_array(json_object('line_id', id, 'quantity', refunded_quantity, 'amount', refunded_minor))
            FROM order_lines WHERE order_id = o.id AND refunded_quantity > 0),
         o.shipping_refunded, 'recorded before refunds moved money'
    FROM orders o WHERE o.status != 'canceled' AND o.payment_status IN ('partially_refunded', 'refunded')
) x
WHERE x.amount > 0;
