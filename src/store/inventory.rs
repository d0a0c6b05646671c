//! Stock levels and their audit trail. Every change writes its adjustment row in the same
//! batch as the level, computed in SQL from the level it replaces, so the trail cannot drift
//! from the levels even under concurrent writes. The table's CHECKs refuse a level below zero
//! or below what is reserved.

use crate::store::d1::{decode, int, text, Db, StoreError};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Level {
    pub sku: String,
    pub on_hand: i64,
    pub reserved: i64,
    pub available: i64,
}

#[derive(Deserialize)]
struct LevelRow {
    known: Option<i64>,
    on_hand: Option<i64>,
    reserved: Option<i64>,
}

#[derive(Deserialize)]
struct Code {
    code: String,
}

/// The SKU's level (`None` when the SKU is neither a variant nor stocked) and every market
/// code, for refreshing snapshots: one round trip.
pub async fn level(db: &Db, sku: &str) -> Result<(Option<Level>, bool, Vec<String>), StoreError> {
    let results = db
        .batch(vec![
            db.statement(
                "SELECT (SELECT 1 FROM variants WHERE sku = ?1) AS known, i.on_hand, i.reserved \
                 FROM (SELECT 1) LEFT JOIN inventory i ON i.sku = ?1",
                &[text(sku)],
            )?,
            db.statement("SELECT code FROM markets ORDER BY code", &[])?,
        ])
        .await?;
    let mut r = results.into_iter();
    let (Some(row), Some(markets)) = (r.next(), r.next()) else {
        return Err(StoreError::Corrupt(
            "inventory batch returned too few results".into(),
        ));
    };
    let row = decode::<LevelRow>(row)?.into_iter().next();
    let markets = decode::<Code>(markets)?
        .into_iter()
        .map(|c| c.code)
        .collect();
    let Some(row) = row else {
        return Ok((None, false, markets));
    };
    let known = row.known.is_some();
    let level = match (row.on_hand, row.reserved) {
        (Some(on_hand), Some(reserved)) => Some(Level {
            sku: sku.to_string(),
            on_hand,
            reserved,
            available: on_hand - reserved,
        }),
        _ => None,
    };
    Ok((level, known, markets))
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Adjustment {
    pub id: String,
    pub sku: String,
    pub delta: i64,
    pub reason: String,
    /// on_hand after the change.
    pub on_hand: i64,
    pub created_at: String,
}

/// Applies a change and records it; returns the new level. `Refused` when it would take
/// on_hand below zero or below reserved. One round trip.
pub async fn apply(
    db: &Db,
    sku: &str,
    set_on_hand: Option<i64>,
    delta: Option<i64>,
    reason: &str,
    adjustment_id: &str,
    now: &str,
) -> Result<Level, StoreError> {
    // New on_hand as SQL over the current row: either the value set or on_hand + delta.
    let (new_on_hand, param) = match (set_on_hand, delta) {
        (Some(v), _) => ("?3", v),
        (None, Some(d)) => ("on_hand + ?3", d),
        (None, None) => {
            return Err(StoreError::Corrupt(
                "inventory change without a value".into(),
            ))
        }
    };
    let results = db
        .batch(vec![
            db.statement(
                "INSERT INTO inventory (sku, on_hand, reserved, updated_at) VALUES (?1, 0, 0, ?2) \
                 ON CONFLICT (sku) DO NOTHING",
                &[text(sku), text(now)],
            )?,
            db.statement(
                &format!(
                    "INSERT INTO inventory_adjustments (id, sku, delta, on_hand, reason, created_at) \
                     SELECT ?4, sku, ({new_on_hand}) - on_hand, {new_on_hand}, ?5, ?2 FROM inventory WHERE sku = ?1"
                ),
                &[text(sku), text(now), int(param), text(adjustment_id), text(reason)],
            )?,
            db.statement(
                &format!("UPDATE inventory SET on_hand = {new_on_hand}, updated_at = ?2 WHERE sku = ?1"),
                &[text(sku), text(now), int(param)],
            )?,
            db.statement(
                "SELECT sku, on_hand, reserved, on_hand - reserved AS available FROM inventory WHERE sku = ?1",
                &[text(sku)],
            )?,
        ])
        .await?;
    results
        .into_iter()
        .nth(3)
        .map(decode::<Level>)
        .transpose()?
        .and_then(|rows| rows.into_iter().next())
        .ok_or_else(|| StoreError::Corrupt(format!("inventory row {sku} missing after write")))
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
        "SELECT id, sku, delta, reason, on_hand, created_at FROM inventory_adjustments \
         WHERE sku = ?1 AND (created_at < ?2 OR (created_at = ?2 AND id < ?3)) \
         ORDER BY created_at DESC, id DESC LIMIT ?4",
        &[text(sku), text(&at), text(&id), int(limit as i64)],
    )?)
    .await
}
