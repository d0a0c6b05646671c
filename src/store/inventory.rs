//! Stock levels and their audit trail. Every change writes its adjustment row in the same
//! batch as the level, computed in SQL from the level it replaces, so the trail cannot drift
//! from the levels even under concurrent writes. The table's CHECKs refuse a level below zero
//! or below what is reserved.

use crate::domain::hot::{HotSku, Units};
use crate::domain::stock::SyncItem;
use crate::store::d1::{decode, int, json_param, text, Db, StoreError};
use crate::store::levels;
use serde::{Deserialize, Serialize};
use wasm_bindgen::JsValue;

/// Stock of a SKU at one location.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LocationLevel {
    pub location: String,
    pub on_hand: i64,
    pub reserved: i64,
    pub available: i64,
}

/// Stock of a SKU: totals over its locations, and each location's.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Level {
    pub sku: String,
    pub on_hand: i64,
    pub reserved: i64,
    pub available: i64,
    pub locations: Vec<LocationLevel>,
}

#[derive(Deserialize)]
struct LevelRow {
    known: Option<i64>,
    location_known: Option<i64>,
    levels: String,
    #[serde(default)]
    hot: Option<String>,
}

/// A SKU's row of `hot_skus`: its mode and the generation of its objects.
#[derive(Debug, Clone, Deserialize)]
pub struct HotRow {
    pub sku: String,
    pub mode: String,
    pub generation: i64,
    pub split: Vec<Units>,
}

impl HotRow {
    /// The hot SKU, while it is one.
    pub fn hot(&self) -> Option<HotSku> {
        (self.mode == "hot").then(|| HotSku {
            sku: self.sku.clone(),
            generation: self.generation,
            split: self.split.clone(),
        })
    }
}

#[derive(Deserialize)]
struct Code {
    code: String,
}

/// What a stock write finds first.
pub struct Current {
    /// `None` when the SKU has no stock anywhere yet.
    pub level: Option<Level>,
    /// A variant has this SKU.
    pub known: bool,
    /// The location asked for exists.
    pub location_known: bool,
    /// Every market code, for refreshing snapshots.
    pub markets: Vec<String>,
    /// Its `hot_skus` row, if it was ever hot.
    pub hot: Option<HotRow>,
}

impl Current {
    /// What D1 has available per location (`on_hand - reserved`).
    pub fn available(&self) -> Units {
        self.level
            .iter()
            .flat_map(|l| &l.locations)
            .map(|l| (l.location.clone(), l.available))
            .collect()
    }
}

/// The levels of the SKU `sku` (an SQL expression) as a JSON array, by location id: read by
/// [`level_from`].
fn levels_json(sku: &str) -> String {
    format!(
        "(SELECT json_group_array(json_object('location', location, 'on_hand', on_hand, 'reserved', reserved, \
           'available', on_hand - reserved)) FROM (SELECT * FROM inventory_levels WHERE sku = {sku} ORDER BY location))"
    )
}

/// The SQL of a SKU's level (`?1`) with its locations, and whether location `?2` exists.
fn level_sql() -> String {
    format!(
        "SELECT (SELECT 1 FROM variants WHERE sku = ?1) AS known, \
           (SELECT 1 FROM locations WHERE id = ?2) AS location_known, {} AS levels, \
           (SELECT json_object('sku', sku, 'mode', mode, 'generation', generation, 'split', json(split)) \
              FROM hot_skus WHERE sku = ?1) AS hot",
        levels_json("?1")
    )
}

/// A SKU's stock from its levels (the JSON of [`levels_json`]): the totals are their sums.
fn level_from(sku: &str, levels: &str) -> Result<Level, StoreError> {
    let locations: Vec<LocationLevel> = serde_json::from_str(levels)
        .map_err(|e| StoreError::Corrupt(format!("levels of {sku}: {e}")))?;
    let (on_hand, reserved) = locations
        .iter()
        .fold((0, 0), |(h, r), l| (h + l.on_hand, r + l.reserved));
    Ok(Level {
        sku: sku.to_string(),
        on_hand,
        reserved,
        available: on_hand - reserved,
        locations,
    })
}

fn level_of(sku: &str, row: LevelRow) -> Result<(Option<Level>, bool, bool), StoreError> {
    let level = level_from(sku, &row.levels)?;
    let level = (!level.locations.is_empty()).then_some(level);
    Ok((level, row.known.is_some(), row.location_known.is_some()))
}

fn decode_level(
    sku: &str,
    result: worker::D1Result,
) -> Result<(Option<Level>, bool, bool), StoreError> {
    let row = decode::<LevelRow>(result)?
        .into_iter()
        .next()
        .ok_or_else(|| StoreError::Corrupt(format!("no level row for {sku}")))?;
    level_of(sku, row)
}

/// The SKU's stock, whether `location` exists, and every market code: one round trip.
pub async fn level(db: &Db, sku: &str, location: &str) -> Result<Current, StoreError> {
    Ok(level_and_holds(db, sku, location, None).await?.0)
}

/// [`level`], and with `since` the reservations the SKU's orders placed since then hold (their
/// `hot_holds` rows), read in the same batch: one round trip, one point in time.
pub async fn level_and_holds(
    db: &Db,
    sku: &str,
    location: &str,
    since: Option<&str>,
) -> Result<(Current, Vec<String>), StoreError> {
    #[derive(Deserialize)]
    struct Hold {
        reservation: String,
    }
    let mut batch = vec![
        db.statement(&level_sql(), &[text(sku), text(location)])?,
        db.statement("SELECT code FROM markets ORDER BY code", &[])?,
    ];
    if let Some(since) = since {
        batch.push(db.statement(
            "SELECT reservation FROM hot_holds WHERE sku = ?1 AND created_at >= ?2",
            &[text(sku), text(since)],
        )?);
    }
    let mut r = db.batch(batch).await?.into_iter();
    let (Some(row), Some(markets)) = (r.next(), r.next()) else {
        return Err(StoreError::Corrupt(
            "inventory batch returned too few results".into(),
        ));
    };
    let holds = match r.next() {
        Some(h) => decode::<Hold>(h)?
            .into_iter()
            .map(|h| h.reservation)
            .collect(),
        None => vec![],
    };
    let row = decode::<LevelRow>(row)?
        .into_iter()
        .next()
        .ok_or_else(|| StoreError::Corrupt(format!("no level row for {sku}")))?;
    let hot = match &row.hot {
        Some(h) => Some(
            serde_json::from_str::<HotRow>(h)
                .map_err(|e| StoreError::Corrupt(format!("hot_skus row of {sku}: {e}")))?,
        ),
        None => None,
    };
    let (level, known, location_known) = level_of(sku, row)?;
    let markets = decode::<Code>(markets)?
        .into_iter()
        .map(|c| c.code)
        .collect();
    Ok((
        Current {
            level,
            known,
            location_known,
            markets,
            hot,
        },
        holds,
    ))
}

/// A page of stock by SKU, after `after`, at most `limit`: every SKU `inventory` holds (a
/// variant's from its creation on, kept after the variant is removed, as `GET` shows it),
/// those beginning with `prefix` if given, each as [`level`] reads it. One round trip.
pub async fn page(
    db: &Db,
    prefix: Option<&str>,
    after: Option<&str>,
    limit: usize,
) -> Result<Vec<(Level, Option<HotSku>)>, StoreError> {
    #[derive(Deserialize)]
    struct Row {
        sku: String,
        levels: String,
        hot: Option<String>,
    }
    let mut params = vec![text(after.unwrap_or("")), int(limit as i64)];
    // The beginning as a range over the primary key (a LIKE would need escaping and could
    // not use it); SKUs are ASCII, so every one beginning with it sorts below the bound.
    let range = match prefix {
        Some(p) => {
            params.extend([text(p), text(&format!("{p}\u{10FFFF}"))]);
            " AND sku >= ?3 AND sku < ?4"
        }
        None => "",
    };
    let rows: Vec<Row> = db
        .all(db.statement(
            &format!(
                "SELECT sku, {} AS levels, (SELECT json_object('sku', h.sku, 'mode', h.mode, \
                   'generation', h.generation, 'split', json(h.split)) FROM hot_skus h \
                   WHERE h.sku = inventory.sku AND h.mode = 'hot') AS hot \
                 FROM inventory WHERE sku > ?1{range} ORDER BY sku LIMIT ?2",
                levels_json("inventory.sku")
            ),
            &params,
        )?)
        .await?;
    rows.iter()
        .map(|r| {
            let hot = match &r.hot {
                Some(h) => serde_json::from_str::<HotRow>(h)
                    .map_err(|e| StoreError::Corrupt(format!("hot_skus row of {}: {e}", r.sku)))?
                    .hot(),
                None => None,
            };
            Ok((level_from(&r.sku, &r.levels)?, hot))
        })
        .collect()
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Adjustment {
    pub id: String,
    pub sku: String,
    pub location: String,
    pub delta: i64,
    pub reason: String,
    /// on_hand at the location after the change.
    pub on_hand: i64,
    pub created_at: String,
}

/// What one stock write does at one location.
pub struct Change<'a> {
    pub sku: &'a str,
    pub location: &'a str,
    /// The new on hand, or `None` with a `delta`.
    pub set_on_hand: Option<i64>,
    pub delta: Option<i64>,
    pub reason: &'a str,
    pub adjustment_id: &'a str,
    /// `inventory.low` fires when the change takes available stock to this or below.
    pub low_stock_threshold: i64,
}

/// Applies a change at a location and records it, with `inventory.low` where due; returns the
/// SKU's stock after. `Refused` when it would take on_hand below zero or below what is
/// reserved there. One round trip.
pub async fn apply(db: &Db, c: &Change<'_>, now: &str) -> Result<Level, StoreError> {
    // New on_hand as SQL over the current row: either the value set or on_hand + delta.
    let (new_on_hand, param) = match (c.set_on_hand, c.delta) {
        (Some(v), _) => ("?3", v),
        (None, Some(d)) => ("on_hand + ?3", d),
        (None, None) => {
            return Err(StoreError::Corrupt(
                "inventory change without a value".into(),
            ))
        }
    };
    let (sku, location) = (text(c.sku), text(c.location));
    let mut batch = vec![
        db.statement(
            "INSERT INTO inventory_levels (sku, location, on_hand, reserved, updated_at) VALUES (?1, ?2, 0, 0, ?3) \
             ON CONFLICT (sku, location) DO NOTHING",
            &[sku.clone(), location.clone(), text(now)],
        )?,
        db.statement(
            &format!(
                "INSERT INTO inventory_adjustments (id, sku, location, delta, on_hand, reason, created_at) \
                 SELECT ?4, sku, location, ({new_on_hand}) - on_hand, {new_on_hand}, ?5, ?6 \
                 FROM inventory_levels WHERE sku = ?1 AND location = ?2"
            ),
            &[sku.clone(), location.clone(), int(param), text(c.adjustment_id), text(c.reason), text(now)],
        )?,
        db.statement(
            &format!(
                "UPDATE inventory_levels SET on_hand = {new_on_hand}, updated_at = ?4 WHERE sku = ?1 AND location = ?2"
            ),
            &[sku.clone(), location.clone(), int(param), text(now)],
        )?,
    ];
    batch.extend(levels::low(
        db,
        "SELECT sku, location AS loc, -delta AS q FROM inventory_adjustments WHERE id = ?1",
        text(c.adjustment_id),
        c.low_stock_threshold,
        now,
    )?);
    batch.push(db.statement(&level_sql(), &[sku, location])?);
    let last = db.batch(batch).await?.into_iter().last();
    let result =
        last.ok_or_else(|| StoreError::Corrupt(format!("no level of {} after write", c.sku)))?;
    decode_level(c.sku, result)?
        .0
        .ok_or_else(|| StoreError::Corrupt(format!("inventory of {} missing after write", c.sku)))
}

/// The audit trail of a SKU, newest first, after `(created_at, id)` of the cursor.
pub async fn adjustments(
    db: &Db,
    sku: &str,
    after: Option<(String, String)>,
    limit: usize,
) -> Result<Vec<Adjustment>, StoreError> {
    let (at, id) = after.unwrap_or_else(|| ("9999".into(), String::new()));
    db.all(db.statement(
        "SELECT id, sku, location, delta, reason, on_hand, created_at FROM inventory_adjustments \
         WHERE sku = ?1 AND (created_at < ?2 OR (created_at = ?2 AND id < ?3)) \
         ORDER BY created_at DESC, id DESC LIMIT ?4",
        &[text(sku), text(&at), text(&id), int(limit as i64)],
    )?)
    .await
}

/// A sync as recorded.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SyncRecord {
    pub id: String,
    pub body_hash: String,
    pub items: i64,
    pub changed: i64,
    pub created_at: String,
}

/// A sync to apply.
pub struct Sync<'a> {
    pub id: &'a str,
    /// The admin it is scoped to, and its Idempotency-Key if sent.
    pub scope: &'a str,
    pub key: Option<&'a str>,
    pub body_hash: &'a str,
    pub actor: &'a str,
    pub items: &'a [SyncItem],
    pub low_stock_threshold: i64,
}

/// What a refused sync ran into (one read).
pub struct SyncRefusal {
    /// The sync already recorded under the same key.
    pub earlier: Option<SyncRecord>,
    /// The first item naming a SKU no variant has, or a location that does not exist.
    pub unknown: Option<(usize, &'static str)>,
    /// The first item that would take on hand below zero or below what is reserved, with
    /// the on hand and reserved units there.
    pub below: Option<(usize, i64, i64)>,
}

const SYNC_COLUMNS: &str = "id, body_hash, items, changed, created_at";

/// Applies a sync all or nothing, with its adjustments (only where on hand changes) and
/// `inventory.low` where due; returns its record and every market code (to refresh
/// snapshots). One round trip; `Refused` when the key was used, an item is unknown, or one
/// would go below what is reserved ([`sync_refusal`] says which).
pub async fn sync(
    db: &Db,
    s: &Sync<'_>,
    now: &str,
) -> Result<(SyncRecord, Vec<String>), StoreError> {
    let items = json_param(&serde_json::json!(s.items));
    let id = text(s.id);
    let new_on_hand = "CASE WHEN json_extract(q.value, '$.on_hand') IS NOT NULL THEN json_extract(q.value, '$.on_hand') \
                       ELSE v.on_hand + json_extract(q.value, '$.delta') END";
    let mut batch = vec![
        db.statement(
            "INSERT INTO inventory_syncs (id, scope, idem_key, body_hash, items, actor, created_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            &[
                id.clone(),
                text(s.scope),
                s.key.map_or(JsValue::NULL, text),
                text(s.body_hash),
                int(s.items.len() as i64),
                text(s.actor),
                text(now),
            ],
        )?,
        db.statement(
            "INSERT INTO write_guards (ok) SELECT 0 FROM json_each(?1) q \
             WHERE json_extract(q.value, '$.sku') NOT IN (SELECT sku FROM variants) \
                OR json_extract(q.value, '$.location') NOT IN (SELECT id FROM locations) LIMIT 1",
            std::slice::from_ref(&items),
        )?,
        db.statement(
            "INSERT OR IGNORE INTO inventory_levels (sku, location, on_hand, reserved, updated_at) \
             SELECT json_extract(value, '$.sku'), json_extract(value, '$.location'), 0, 0, ?2 FROM json_each(?1)",
            &[items.clone(), text(now)],
        )?,
        db.statement(
            &format!(
                "INSERT INTO inventory_adjustments (id, sku, location, delta, on_hand, reason, created_at, sync_id) \
                 SELECT ?2 || '_' || q.key, v.sku, v.location, ({new_on_hand}) - v.on_hand, {new_on_hand}, \
                   COALESCE(json_extract(q.value, '$.reason'), 'sync ' || ?2), ?3, ?2 \
                 FROM json_each(?1) q JOIN inventory_levels v ON v.sku = json_extract(q.value, '$.sku') \
                   AND v.location = json_extract(q.value, '$.location') \
                 WHERE ({new_on_hand}) != v.on_hand"
            ),
            &[items, id.clone(), text(now)],
        )?,
        // The CHECKs refuse a level below zero or below what is reserved: nothing is applied.
        db.statement(
            "UPDATE inventory_levels SET on_hand = (SELECT a.on_hand FROM inventory_adjustments a WHERE a.sync_id = ?1 \
                AND a.sku = inventory_levels.sku AND a.location = inventory_levels.location), updated_at = ?2 \
             WHERE (sku, location) IN (SELECT sku, location FROM inventory_adjustments WHERE sync_id = ?1)",
            &[id.clone(), text(now)],
        )?,
        db.statement(
            "UPDATE inventory_syncs SET changed = (SELECT COUNT(*) FROM inventory_adjustments WHERE sync_id = ?1) WHERE id = ?1",
            std::slice::from_ref(&id),
        )?,
    ];
    batch.extend(levels::low(
        db,
        "SELECT sku, location AS loc, -delta AS q FROM inventory_adjustments WHERE sync_id = ?1",
        id.clone(),
        s.low_stock_threshold,
        now,
    )?);
    batch.push(db.statement("SELECT code FROM markets ORDER BY code", &[])?);
    batch.push(db.statement(
        &format!("SELECT {SYNC_COLUMNS} FROM inventory_syncs WHERE id = ?1"),
        &[id],
    )?);
    let mut results = db.batch(batch).await?.into_iter().rev();
    let record = results
        .next()
        .map(decode::<SyncRecord>)
        .transpose()?
        .and_then(|r| r.into_iter().next())
        .ok_or_else(|| StoreError::Corrupt(format!("sync {} missing after write", s.id)))?;
    let markets = results
        .next()
        .map(decode::<Code>)
        .transpose()?
        .unwrap_or_default()
        .into_iter()
        .map(|c| c.code)
        .collect();
    Ok((record, markets))
}

/// Why a sync was refused: one read.
pub async fn sync_refusal(db: &Db, s: &Sync<'_>) -> Result<SyncRefusal, StoreError> {
    #[derive(Deserialize)]
    struct Unknown {
        i: i64,
        sku_known: Option<i64>,
    }
    #[derive(Deserialize)]
    struct Below {
        i: i64,
        on_hand: i64,
        reserved: i64,
    }
    let items = json_param(&serde_json::json!(s.items));
    let results = db
        .batch(vec![
            db.statement(
                &format!(
                    "SELECT {SYNC_COLUMNS} FROM inventory_syncs WHERE scope = ?1 AND idem_key = ?2"
                ),
                &[text(s.scope), s.key.map_or(JsValue::NULL, text)],
            )?,
            db.statement(
                "SELECT CAST(q.key AS INTEGER) AS i, \
                   (SELECT 1 FROM variants WHERE sku = json_extract(q.value, '$.sku')) AS sku_known \
                 FROM json_each(?1) q \
                 WHERE json_extract(q.value, '$.sku') NOT IN (SELECT sku FROM variants) \
                    OR json_extract(q.value, '$.location') NOT IN (SELECT id FROM locations) \
                 ORDER BY q.key LIMIT 1",
                std::slice::from_ref(&items),
            )?,
            db.statement(
                "SELECT CAST(q.key AS INTEGER) AS i, COALESCE(v.on_hand, 0) AS on_hand, COALESCE(v.reserved, 0) AS reserved \
                 FROM json_each(?1) q LEFT JOIN inventory_levels v ON v.sku = json_extract(q.value, '$.sku') \
                   AND v.location = json_extract(q.value, '$.location') \
                 WHERE COALESCE(json_extract(q.value, '$.on_hand'), COALESCE(v.on_hand, 0) + json_extract(q.value, '$.delta')) \
                   < COALESCE(v.reserved, 0) \
                 ORDER BY q.key LIMIT 1",
                &[items],
            )?,
        ])
        .await?;
    let mut r = results.into_iter();
    let earlier = r
        .next()
        .map(decode::<SyncRecord>)
        .transpose()?
        .and_then(|x| x.into_iter().next());
    let unknown = r
        .next()
        .map(decode::<Unknown>)
        .transpose()?
        .and_then(|x| x.into_iter().next())
        .map(|u| {
            (
                u.i as usize,
                if u.sku_known.is_some() {
                    "location"
                } else {
                    "sku"
                },
            )
        });
    let below = r
        .next()
        .map(decode::<Below>)
        .transpose()?
        .and_then(|x| x.into_iter().next())
        .map(|b| (b.i as usize, b.on_hand, b.reserved));
    Ok(SyncRefusal {
        earlier,
        unknown,
        below,
    })
}

/// A sync as the history lists it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SyncEntry {
    pub id: String,
    pub items: i64,
    pub changed: i64,
    /// The admin token's subject that pushed it.
    pub actor: String,
    pub created_at: String,
}

/// The syncs pushed, newest first, after `(created_at, id)` of the cursor: one round trip.
pub async fn syncs(
    db: &Db,
    after: (String, String),
    limit: usize,
) -> Result<Vec<SyncEntry>, StoreError> {
    db.all(db.statement(
        "SELECT id, items, changed, actor, created_at FROM inventory_syncs \
         WHERE created_at < ?1 OR (created_at = ?1 AND id < ?2) \
         ORDER BY created_at DESC, id DESC LIMIT ?3",
        &[text(&after.0), text(&after.1), int(limit as i64)],
    )?)
    .await
}

/// A mode switch (src/domain/hot.rs): the SKU's `hot_skus` row at the generation after the one
/// `read` found, hot over `shards` objects (0: back to normal), and its line `id` in the audit
/// trail (delta 0), if its generation is still the one `read` found; else refused with nothing
/// written. One round trip. The split is computed in the same statement from what D1 has
/// available then, so it is exact however busy the SKU is: a placement that commits before it
/// is in the numbers, one planned on the old generation that commits after it aborts (its
/// generation guard) and plans again. Each location's available units go to the shards as
/// evenly as units go, the first shards taking the remainder.
#[allow(clippy::too_many_arguments)]
pub async fn switch(
    db: &Db,
    sku: &str,
    read: &Current,
    shards: usize,
    reason: &str,
    id: &str,
    now: &str,
) -> Result<(), StoreError> {
    let read_generation = read.hot.as_ref().map_or(0, |h| h.generation);
    db.batch(vec![
        db.statement(
            "INSERT INTO write_guards (ok) SELECT 0 \
             WHERE COALESCE((SELECT generation FROM hot_skus WHERE sku = ?1), 0) != ?2",
            &[text(sku), int(read_generation)],
        )?,
        db.statement(
            "INSERT INTO hot_skus (sku, mode, generation, split, changed_at) \
             SELECT ?1, CASE WHEN ?3 > 0 THEN 'hot' ELSE 'normal' END, ?2 + 1, \
               CASE WHEN ?3 > 0 THEN (WITH RECURSIVE s(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM s WHERE i + 1 < ?3) \
                 SELECT json_group_array(json(part)) FROM (SELECT (SELECT json_group_object(location, \
                     max(on_hand - reserved, 0) / CAST(?3 AS INTEGER) + (s.i < max(on_hand - reserved, 0) % CAST(?3 AS INTEGER))) \
                   FROM inventory_levels WHERE sku = ?1) AS part FROM s ORDER BY s.i)) ELSE '[]' END, ?4 \
             WHERE true \
             ON CONFLICT (sku) DO UPDATE SET mode = excluded.mode, generation = excluded.generation, \
                 split = excluded.split, changed_at = excluded.changed_at",
            &[text(sku), int(read_generation), int(shards as i64), text(now)],
        )?,
        db.statement(
            "INSERT INTO inventory_adjustments (id, sku, location, delta, on_hand, reason, created_at) \
             VALUES (?1, ?2, 'main', 0, COALESCE((SELECT on_hand FROM inventory_levels WHERE sku = ?2 AND location = 'main'), 0), ?3, ?4)",
            &[text(id), text(sku), text(reason), text(now)],
        )?,
    ])
    .await?;
    Ok(())
}

/// Which of the reservations `ids` a placed order holds (their `hot_holds` rows). One round
/// trip, none for no ids.
pub async fn placed_holds(db: &Db, ids: &[String]) -> Result<Vec<String>, StoreError> {
    #[derive(Deserialize)]
    struct Row {
        reservation: String,
    }
    if ids.is_empty() {
        return Ok(vec![]);
    }
    let rows: Vec<Row> = db
        .all(db.statement(
            "SELECT reservation FROM hot_holds WHERE reservation IN (SELECT value FROM json_each(?1))",
            &[json_param(&serde_json::json!(ids))],
        )?)
        .await?;
    Ok(rows.into_iter().map(|r| r.reservation).collect())
}

/// The SKUs in mode hot, with their generation and split. One round trip.
pub async fn hot_skus(db: &Db) -> Result<Vec<HotSku>, StoreError> {
    #[derive(Deserialize)]
    struct Row {
        row: String,
    }
    let rows: Vec<Row> = db
        .all(db.statement(
            "SELECT json_object('sku', sku, 'mode', mode, 'generation', generation, 'split', json(split)) AS row \
             FROM hot_skus WHERE mode = 'hot' ORDER BY sku",
            &[],
        )?)
        .await?;
    rows.into_iter()
        .filter_map(|r| match serde_json::from_str::<HotRow>(&r.row) {
            Ok(h) => h.hot().map(Ok),
            Err(e) => Some(Err(StoreError::Corrupt(format!("hot_skus row: {e}")))),
        })
        .collect()
}
