-- The cron's reconciliation of a hot SKU reads the reservations its recent orders hold, in the
-- same batch as the SKU's levels (src/store/hot.rs `reconcile`).
CREATE INDEX hot_holds_by_sku ON hot_holds (sku, created_at);
