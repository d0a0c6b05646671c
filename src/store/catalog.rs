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

#[cfg(feature = "storefront")]
mod parsed {
    //! The snapshots this isolate has parsed, by market, with the version they were parsed from.
    use crate::domain::catalog::CatalogSnapshot;
    use crate::memo::Memo;
    use std::cell::RefCell;
    use std::collections::HashMap;
    use std::rc::Rc;

    thread_local! {
        static PARSED: RefCell<HashMap<String, (String, Rc<CatalogSnapshot>)>> = RefCell::new(HashMap::new());
        /// The version each market's snapshot had in KV when this isolate last read it.
        static VERSIONS: RefCell<Memo<String>> = RefCell::new(Memo::new(64));
    }

    pub fn recent_version(market: &str, now: f64, memo_ms: f64) -> Option<String> {
        VERSIONS.with(|m| m.borrow().get(market, now, memo_ms))
    }

    pub fn remember_version(market: &str, version: &str, now: f64, memo_ms: f64) {
        VERSIONS.with(|m| {
            m.borrow_mut()
                .put(market, version.to_string(), now, memo_ms)
        });
    }

    pub fn get(market: &str, version: &str) -> Option<Rc<CatalogSnapshot>> {
        PARSED.with(|p| {
            p.borrow()
                .get(market)
                .filter(|(v, _)| v == version)
                .map(|(_, s)| s.clone())
        })
    }

    pub fn put(market: &str, version: String, snapshot: Rc<CatalogSnapshot>) {
        PARSED.with(|p| {
            p.borrow_mut()
                .insert(market.to_string(), (version, snapshot));
        });
    }
}

/// The market's snapshot: from this isolate's memory when KV's version still matches (read
/// from KV, or from the isolate memo within `memo_ms` of reading it), else from KV, else
/// rebuilt from D1 (one round trip) and published.
#[cfg(feature = "storefront")]
pub async fn snapshot(
    db: &Db,
    kv: &KvStore,
    market: &Market,
    now: String,
    memo_ms: f64,
) -> Result<std::rc::Rc<CatalogSnapshot>, StoreError> {
    use std::rc::Rc;
    let fits = |s: &CatalogSnapshot| s.currency == market.currency && s.market == market.code;
    let clock = js_sys::Date::now();
    // The window runs from the KV read, not from the last use: a busy isolate still looks again.
    let version = match parsed::recent_version(&market.code, clock, memo_ms) {
        Some(version) => Some(version),
        None => {
            let read = read_text(kv, &snapshot_version_key(&market.code)).await;
            if let Some(version) = &read {
                parsed::remember_version(&market.code, version, clock, memo_ms);
            }
            read
        }
    };
    if let Some(version) = version {
        if let Some(hit) = parsed::get(&market.code, &version).filter(|s| fits(s)) {
            return Ok(hit);
        }
        if let Some(text) = read_text(kv, &snapshot_cache_key(&market.code)).await {
            if version_of(&text) == version {
                match serde_json::from_str::<CatalogSnapshot>(&text) {
                    Ok(s) if fits(&s) => {
                        let s = Rc::new(s);
                        parsed::put(&market.code, version, s.clone());
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
        parsed::remember_version(&market.code, &version, js_sys::Date::now(), memo_ms);
        parsed::put(&market.code, version, snapshot.clone());
    }
    Ok(snapshot)
}

#[cfg(feature = "storefront")]
async fn read_text(kv: &KvStore, key: &str) -> Option<String> {
    match kv.get(key).text().await {
        Ok(value) => value,
        Err(e) => {
            worker::console_warn!("kv: read of {key} failed, falling back to D1: {e}");
            None
        }
    }
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
    let ttl = SNAPSHOT_TTL_SECONDS.max(60);
    for (key, value) in [
        (snapshot_cache_key(&snapshot.market), text),
        (snapshot_version_key(&snapshot.market), version.clone()),
    ] {
        let put = match kv.put(&key, value) {
            Ok(builder) => builder.expiration_ttl(ttl).execute().await,
            Err(e) => Err(e),
        };
        if let Err(e) = put {
            worker::console_warn!("kv: write of {key} failed: {e}");
            return None;
        }
    }
    Some(version)
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
