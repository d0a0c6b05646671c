//! Catalog snapshots per market: KV first (no D1 round trip when warm), rebuilt from D1 with
//! one query on a miss and written back.
//!
//! Each snapshot is published as two KV values: the snapshot's JSON and, beside it, its
//! version (a digest of that JSON). A storefront isolate keeps the snapshots it parsed in
//! memory and, per request, reads only the small version value: when it matches, the parsed
//! snapshot is reused, so a warm request neither transfers nor parses the catalog. Deleting
//! the version (an admin write) sends every isolate back to D1 at its next request, or, where
//! the isolate memo is on (see [`crate::memo`]), once the version it read has aged out of it.

use crate::domain::catalog::{CatalogRow, CatalogSnapshot};
use crate::domain::market::Market;
use crate::store::d1::{text, Db, StoreError};
use crate::store::kv::put_text;
use sha2::{Digest, Sha256};
use worker::kv::KvStore;

/// Bounds how long a snapshot can lag a change that did not refresh it (stock moves, edits
/// made outside the admin API). Admin writes refresh snapshots at once.
pub const SNAPSHOT_TTL_SECONDS: u64 = 300;

pub fn snapshot_cache_key(market: &str) -> String {
    format!("catalog:v1:{market}")
}

pub fn snapshot_version_key(market: &str) -> String {
    format!("catalog:v1:{market}:version")
}

/// The version of a published snapshot: a digest of its JSON text.
fn version_of(text: &str) -> String {
    let digest = Sha256::digest(text.as_bytes());
    digest[..12].iter().map(|b| format!("{b:02x}")).collect()
}

mod parsed {
    //! The snapshot this isolate parsed per market, with its version and when KV last
    //! confirmed that version.
    use crate::domain::catalog::CatalogSnapshot;
    use crate::memo::is_fresh;
    use std::cell::RefCell;
    use std::collections::HashMap;
    use std::rc::Rc;

    struct Parsed {
        version: String,
        confirmed_at: f64,
        snapshot: Rc<CatalogSnapshot>,
    }

    thread_local! {
        static PARSED: RefCell<HashMap<String, Parsed>> = RefCell::new(HashMap::new());
    }

    /// The snapshot, if KV confirmed its version less than `window_ms` ago.
    pub fn recent(market: &str, now: f64, window_ms: f64) -> Option<Rc<CatalogSnapshot>> {
        PARSED.with(|p| {
            p.borrow()
                .get(market)
                .filter(|e| is_fresh(e.confirmed_at, now, window_ms))
                .map(|e| e.snapshot.clone())
        })
    }

    /// The snapshot, if it has the `version` KV holds now (which renews its window).
    pub fn confirmed(market: &str, version: &str, now: f64) -> Option<Rc<CatalogSnapshot>> {
        PARSED.with(|p| {
            let mut p = p.borrow_mut();
            let entry = p.get_mut(market).filter(|e| e.version == version)?;
            entry.confirmed_at = now;
            Some(entry.snapshot.clone())
        })
    }

    pub fn put(market: &str, version: String, snapshot: Rc<CatalogSnapshot>, now: f64) {
        PARSED.with(|p| {
            p.borrow_mut().insert(
                market.to_string(),
                Parsed {
                    version,
                    confirmed_at: now,
                    snapshot,
                },
            );
        });
    }
}

/// The market's snapshot: the one this isolate parsed, when KV confirmed its version less than
/// `memo_ms` ago (the window runs from that KV read, so a busy isolate still looks again) or
/// confirms it now; else the one in KV; else rebuilt from D1 (one round trip) and published.
pub async fn snapshot(
    db: &Db,
    kv: &KvStore,
    market: &Market,
    now: String,
    memo_ms: f64,
) -> Result<std::rc::Rc<CatalogSnapshot>, StoreError> {
    use crate::store::kv::get_text;
    use std::rc::Rc;
    let fits = |s: &Rc<CatalogSnapshot>| s.currency == market.currency && s.market == market.code;
    let clock = js_sys::Date::now();
    if let Some(hit) = parsed::recent(&market.code, clock, memo_ms).filter(fits) {
        return Ok(hit);
    }
    if let Some(version) = get_text(kv, &snapshot_version_key(&market.code)).await {
        if let Some(hit) = parsed::confirmed(&market.code, &version, clock).filter(fits) {
            return Ok(hit);
        }
        if let Some(text) = get_text(kv, &snapshot_cache_key(&market.code)).await {
            if version_of(&text) == version {
                match serde_json::from_str::<CatalogSnapshot>(&text).map(Rc::new) {
                    Ok(s) if fits(&s) => {
                        parsed::put(&market.code, version, s.clone(), clock);
                        return Ok(s);
                    }
                    Ok(_) => {}
                    Err(e) => worker::console_warn!(
                        "kv: cannot decode the catalog snapshot of {}, rebuilding: {e}",
                        market.code
                    ),
                }
            }
        }
    }
    let snapshot = Rc::new(rebuild(db, market, now).await?);
    if let Some(version) = publish(kv, &snapshot).await {
        parsed::put(&market.code, version, snapshot.clone(), js_sys::Date::now());
    }
    Ok(snapshot)
}

/// Writes the snapshot, then its version (readers trust a snapshot only when both agree);
/// returns the version, or `None` when KV refused a write (logged; the next read rebuilds).
pub async fn publish(kv: &KvStore, snapshot: &CatalogSnapshot) -> Option<String> {
    let text = match serde_json::to_string(snapshot) {
        Ok(text) => text,
        Err(e) => {
            worker::console_error!("kv: cannot encode the catalog snapshot: {e}");
            return None;
        }
    };
    let version = version_of(&text);
    let ttl = SNAPSHOT_TTL_SECONDS;
    let market = &snapshot.market;
    (put_text(kv, &snapshot_cache_key(market), text, ttl).await
        && put_text(kv, &snapshot_version_key(market), version.clone(), ttl).await)
        .then_some(version)
}

/// Reads every published variant priced in the market: one round trip.
/// The published catalog rows of `market` (only those of `skus` when given), in catalog order.
pub fn catalog_rows(
    db: &Db,
    market: &Market,
    skus: Option<&[String]>,
) -> Result<worker::D1PreparedStatement, StoreError> {
    rows_of(db, &market.code, market.currency.code(), skus)
}

/// [`catalog_rows`] by market code and currency code.
pub fn rows_of(
    db: &Db,
    market: &str,
    currency: &str,
    skus: Option<&[String]>,
) -> Result<worker::D1PreparedStatement, StoreError> {
    db.statement(
        "SELECT p.id AS product_id, p.handle, p.title, p.description, \
                v.sku, v.title AS variant_title, v.tax_class, v.weight_grams, \
                pr.amount_minor AS price_minor, \
                COALESCE((SELECT SUM(lv.on_hand - lv.reserved) FROM inventory_levels lv \
                  JOIN locations loc ON loc.id = lv.location \
                  WHERE lv.sku = v.sku AND (loc.countries = '[]' OR EXISTS (SELECT 1 FROM json_each(loc.countries) lc \
                    WHERE lc.value IN (SELECT value FROM json_each((SELECT countries FROM markets WHERE code = ?1)))))), 0) \
                  AS available_quantity \
         FROM products p \
         JOIN variants v ON v.product_id = p.id \
         JOIN prices pr ON pr.sku = v.sku AND pr.market = ?1 AND pr.currency = ?2 \
         WHERE p.status = 'published' AND (?3 IS NULL OR v.sku IN (SELECT value FROM json_each(?3))) \
         ORDER BY p.handle, v.position, v.sku",
        &[
            text(market),
            text(currency),
            skus.map_or(wasm_bindgen::JsValue::NULL, |s| {
                crate::store::d1::json_text(&serde_json::json!(s))
            }),
        ],
    )
}

pub async fn rebuild(db: &Db, market: &Market, now: String) -> Result<CatalogSnapshot, StoreError> {
    let rows: Vec<CatalogRow> = db.all(catalog_rows(db, market, None)?).await?;
    CatalogSnapshot::build(&market.code, market.currency, now, rows)
        .map_err(|e| StoreError::Corrupt(format!("catalog row {}: {}", e.sku, e.reason)))
}

/// The `Catalog` port on Workers: snapshots from this isolate's memo, KV, or D1 (see
/// [`snapshot`]).
pub struct KvCatalog {
    pub db: Db,
    pub kv: KvStore,
    /// How long this isolate may reuse what it read from KV.
    pub memo_ms: f64,
}

impl crate::app::ports::Catalog for KvCatalog {
    async fn snapshot(&self, market: &Market) -> Result<std::rc::Rc<CatalogSnapshot>, StoreError> {
        let now = String::from(js_sys::Date::new_0().to_iso_string());
        snapshot(&self.db, &self.kv, market, now, self.memo_ms).await
    }
}
