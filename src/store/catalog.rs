//! Catalog snapshots per market: KV first (no D1 round trip when warm), rebuilt from D1 with
//! one query on a miss and written back.

use crate::domain::catalog::{CatalogRow, CatalogSnapshot};
use crate::domain::market::Market;
use crate::store::d1::{text, Db, StoreError};
#[cfg(feature = "storefront")]
use crate::store::kv::{get_json, put_json};
#[cfg(feature = "storefront")]
use worker::kv::KvStore;

/// Bounds how long a snapshot can lag a change that did not refresh it (stock moves, edits
/// made outside the admin API). Admin writes refresh snapshots at once.
pub const SNAPSHOT_TTL_SECONDS: u64 = 300;

pub fn snapshot_cache_key(market: &str) -> String {
    format!("catalog:v1:{market}")
}

#[cfg(feature = "storefront")]
pub async fn snapshot(
    db: &Db,
    kv: &KvStore,
    market: &Market,
    now: String,
) -> Result<CatalogSnapshot, StoreError> {
    let key = snapshot_cache_key(&market.code);
    if let Some(snapshot) = get_json::<CatalogSnapshot>(kv, &key).await {
        if snapshot.currency == market.currency {
            return Ok(snapshot);
        }
    }
    let snapshot = rebuild(db, market, now).await?;
    put_json(kv, &key, &snapshot, SNAPSHOT_TTL_SECONDS).await;
    Ok(snapshot)
}

/// Reads every published variant priced in the market: one round trip.
pub async fn rebuild(db: &Db, market: &Market, now: String) -> Result<CatalogSnapshot, StoreError> {
    let rows: Vec<CatalogRow> = db
        .all(db.statement(
            "SELECT p.id AS product_id, p.handle, p.title, p.description, \
                    v.sku, v.title AS variant_title, v.tax_class, v.weight_grams, \
                    pr.amount_minor AS price_minor, \
                    COALESCE(i.on_hand - i.reserved, 0) AS available_quantity \
             FROM products p \
             JOIN variants v ON v.product_id = p.id \
             JOIN prices pr ON pr.sku = v.sku AND pr.market = ?1 AND pr.currency = ?2 \
             LEFT JOIN inventory i ON i.sku = v.sku \
             WHERE p.status = 'published' \
             ORDER BY p.handle, v.position, v.sku",
            &[text(&market.code), text(market.currency.code())],
        )?)
        .await?;
    CatalogSnapshot::build(&market.code, market.currency, now, rows)
        .map_err(|e| StoreError::Corrupt(format!("catalog row {}: {}", e.sku, e.reason)))
}
