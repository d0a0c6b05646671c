//! Stock per (SKU, location) in D1: `inventory_levels` is the truth, and triggers keep
//! `inventory` (the totals per SKU) equal to its sums. The CHECKs of both tables make an
//! oversell impossible: a reservation past what a location holds fails its statement, and
//! with it the whole batch.

use crate::app::ports::StoreError;
use crate::domain::events::EventType;
use crate::domain::order::StockMove;
use crate::domain::stock::{Location, LocationKind, StockPicture};
use crate::store::d1::{decode, int, json_text, text, Db};
use serde::Deserialize;
use serde_json::{json, Value};
use wasm_bindgen::JsValue;
use worker::{D1PreparedStatement, D1Result};

/// SQL: every row of `locations` as one JSON array, read back by [`locations_of`].
pub(super) const LOCATIONS_JSON: &str = "json_group_array(json_object('id', id, 'kind', kind, \
    'countries', json(countries), 'priority', priority, 'pickup', pickup))";

/// The statement reading where stock is for the SKUs `skus` selects (SQL, with `param` as
/// `?1`): the locations and each one's available units per SKU. One row.
pub fn picture(db: &Db, skus: &str, param: JsValue) -> Result<D1PreparedStatement, StoreError> {
    db.statement(
        &format!(
            "SELECT \
               (SELECT json_group_array(json_object('sku', sku, 'location', location, 'available', on_hand - reserved)) \
                  FROM inventory_levels WHERE on_hand > reserved AND sku IN ({skus})) AS levels, \
               (SELECT {LOCATIONS_JSON} FROM locations) AS locations, \
               (SELECT json_group_array(json_object('sku', sku, 'generation', generation, 'split', json(split))) \
                  FROM hot_skus WHERE mode = 'hot' AND sku IN ({skus})) AS hot"
        ),
        &[param],
    )
}

#[derive(Deserialize)]
struct PictureRow {
    levels: String,
    locations: String,
    hot: String,
}

/// Decodes the result of [`picture`] (its JSON read as values: no decoder of its own to
/// carry in the storefront's bundle).
pub fn decode_picture(result: D1Result) -> Result<StockPicture, StoreError> {
    let corrupt = |e: serde_json::Error| StoreError::Corrupt(format!("stock picture: {e}"));
    let Some(row) = decode::<PictureRow>(result)?.into_iter().next() else {
        return Err(StoreError::Corrupt("stock picture returned no row".into()));
    };
    let levels: Value = serde_json::from_str(&row.levels).map_err(corrupt)?;
    let locations: Value = serde_json::from_str(&row.locations).map_err(corrupt)?;
    let text = |v: &Value| v.as_str().map(str::to_string);
    let list = |v: &Value| v.as_array().cloned().unwrap_or_default();
    // Inserted one by one: collecting would sort first (more code in the bundle, for a few rows).
    let mut available = std::collections::BTreeMap::new();
    for l in list(&levels) {
        if let (Some(sku), Some(location), Some(n)) = (
            text(&l["sku"]),
            text(&l["location"]),
            l["available"].as_i64(),
        ) {
            available.insert((sku, location), n);
        }
    }
    Ok(StockPicture {
        locations: locations_of(&locations),
        available,
        hot: serde_json::from_str(&row.hot).map_err(corrupt)?,
    })
}

/// The locations of a JSON array as [`LOCATIONS_JSON`] makes it.
pub(super) fn locations_of(locations: &Value) -> Vec<Location> {
    let text = |v: &Value| v.as_str().map(str::to_string);
    let list = |v: &Value| v.as_array().cloned().unwrap_or_default();
    list(locations)
        .iter()
        .filter_map(|l| {
            Some(Location {
                id: text(&l["id"])?,
                kind: LocationKind::parse(l["kind"].as_str()?)?,
                countries: list(&l["countries"]).iter().filter_map(text).collect(),
                priority: l["priority"].as_i64()?,
                pickup: l["pickup"].as_i64() == Some(1),
            })
        })
        .collect()
}

/// `moves` as one JSON parameter.
fn moves_json(moves: &[StockMove]) -> JsValue {
    json_text(&json!(moves
        .iter()
        .map(
            |m| json!({"sku": m.sku, "location": m.location, "release": m.release, "ship": m.ship})
        )
        .collect::<Vec<_>>()))
}

/// Statements that apply `moves` to the levels: a reservation where no level row exists is
/// refused (the batch aborts), and one past what a location holds fails its CHECK.
pub fn apply(
    db: &Db,
    moves: &[StockMove],
    now: &str,
) -> Result<Vec<D1PreparedStatement>, StoreError> {
    if moves.is_empty() {
        return Ok(vec![]);
    }
    let m = moves_json(moves);
    Ok(vec![
        db.statement(
            "INSERT INTO write_guards (ok) SELECT 0 FROM json_each(?1) q \
             WHERE json_extract(q.value, '$.release') < 0 AND NOT EXISTS (SELECT 1 FROM inventory_levels \
               WHERE sku = json_extract(q.value, '$.sku') AND location = json_extract(q.value, '$.location')) LIMIT 1",
            std::slice::from_ref(&m),
        )?,
        db.statement(
            "UPDATE inventory_levels SET \
               reserved = reserved - (SELECT SUM(json_extract(value, '$.release') + json_extract(value, '$.ship')) FROM json_each(?1) \
                 WHERE json_extract(value, '$.sku') = inventory_levels.sku AND json_extract(value, '$.location') = inventory_levels.location), \
               on_hand = on_hand - (SELECT SUM(json_extract(value, '$.ship')) FROM json_each(?1) \
                 WHERE json_extract(value, '$.sku') = inventory_levels.sku AND json_extract(value, '$.location') = inventory_levels.location), \
               updated_at = ?2 \
             WHERE (sku, location) IN (SELECT json_extract(value, '$.sku'), json_extract(value, '$.location') FROM json_each(?1))",
            &[m, text(now)],
        )?,
    ])
}

/// `inventory.low` after `moves` were applied: for each location and each SKU total whose
/// available stock the moves took from above `threshold` to it or below.
pub fn low_after_moves(
    db: &Db,
    moves: &[StockMove],
    threshold: i64,
    now: &str,
) -> Result<Vec<D1PreparedStatement>, StoreError> {
    if !moves.iter().any(|m| m.release < 0) {
        return Ok(vec![]);
    }
    low(
        db,
        "SELECT json_extract(value, '$.sku') AS sku, json_extract(value, '$.location') AS loc, \
           -json_extract(value, '$.release') AS q FROM json_each(?1)",
        moves_json(moves),
        threshold,
        now,
    )
}

/// `inventory.low` after a change: `drops` is a SELECT (with `param` as `?1`) of `(sku, loc,
/// q)`, the units by which the change lowered a location's available stock (negative where it
/// raised it). One event per location and one per SKU total that went from above `threshold`
/// to it or below (the total by the net change: units moved between locations do not lower
/// it); their sequences count per SKU (the aggregate `sku:<SKU>`), the total first.
pub fn low(
    db: &Db,
    drops: &str,
    param: JsValue,
    threshold: i64,
    now: &str,
) -> Result<Vec<D1PreparedStatement>, StoreError> {
    let crossed = format!(
        "WITH c AS ({drops}), \
         d AS (SELECT sku, loc, SUM(q) AS q FROM c GROUP BY sku, loc HAVING SUM(q) > 0), \
         t AS (SELECT sku, SUM(q) AS q FROM c GROUP BY sku HAVING SUM(q) > 0), \
         x AS (SELECT v.sku, v.location AS loc, v.on_hand, v.reserved, d.q FROM inventory_levels v \
                 JOIN d ON d.sku = v.sku AND d.loc = v.location \
               UNION ALL \
               SELECT i.sku, NULL, i.on_hand, i.reserved, t.q FROM inventory i JOIN t ON t.sku = i.sku), \
         low AS (SELECT x.*, ROW_NUMBER() OVER (PARTITION BY sku ORDER BY loc IS NOT NULL, loc) AS n, \
                   COUNT(*) OVER (PARTITION BY sku) AS k \
                 FROM x WHERE on_hand - reserved <= ?2 AND on_hand - reserved + q > ?2)"
    );
    // Each event's id is drawn once (a materialized CTE): read twice from a plain subquery,
    // randomblob() gave the outbox row one id and the event body another.
    let events = "e AS MATERIALIZED (SELECT 'evt_' || lower(hex(randomblob(16))) AS id, low.*, \
                  s.last - low.k + low.n AS seq \
                  FROM low JOIN aggregate_sequences s ON s.aggregate = 'sku:' || low.sku)";
    Ok(vec![
        db.statement(
            &format!(
                "{crossed} INSERT INTO aggregate_sequences (aggregate, last) \
                 SELECT 'sku:' || sku, k FROM low WHERE n = 1 \
                 ON CONFLICT (aggregate) DO UPDATE SET last = last + excluded.last"
            ),
            &[param.clone(), int(threshold)],
        )?,
        db.statement(
            &format!(
                "{crossed}, {events} INSERT INTO outbox (id, type, aggregate, sequence, payload, created_at) \
                 SELECT e.id, ?4, e.sku, e.seq, json_object('id', e.id, 'type', ?4, 'version', 1, 'created_at', ?3, \
                   'sequence', e.seq, 'data', json_object('sku', e.sku, 'location', e.loc, 'on_hand', e.on_hand, \
                   'reserved', e.reserved, 'available', e.on_hand - e.reserved, 'threshold', CAST(?2 AS INTEGER))), ?3 \
                 FROM e"
            ),
            &[
                param,
                int(threshold),
                text(now),
                text(EventType::InventoryLow.as_str()),
            ],
        )?,
    ])
}
