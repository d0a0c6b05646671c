-- Nothing stranded, failing destinations disabled (API.md Hardening rules).

-- When the queue holds a delivery's next attempt: NULL until the queue took it (the sweeper
-- hands over pending deliveries left NULL, and those long past due: a lost message).
ALTER TABLE deliveries ADD COLUMN due_at TEXT;
CREATE INDEX deliveries_to_hand_over ON deliveries (due_at, updated_at) WHERE status = 'pending';

-- Why Comptoir disabled a destination by itself ('gone': it answered 410; 'failing':
-- DESTINATION_DISABLE_AFTER dead deliveries in a row), and that run of dead deliveries.
ALTER TABLE destinations ADD COLUMN disabled_reason TEXT CHECK (disabled_reason IN ('gone', 'failing'));
ALTER TABLE destinations ADD COLUMN dead_in_a_row INTEGER NOT NULL DEFAULT 0 CHECK (dead_in_a_row >= 0);
