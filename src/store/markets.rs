//! Markets in D1, and the caches that hold copies of them.

use crate::domain::market::Market;
use crate::store::d1::{decode, text, Db, StoreError};
use crate::store::rows::MarketRow;
use wasm_bindgen::JsValue;
use worker::D1PreparedStatement;

pub(super) const COLUMNS: &str =
    "code, currency, countries, languages, tax_inclusive, tax_rates, rounding_mode, tax_rounding";

pub async fn all(db: &Db) -> Result<Vec<Market>, StoreError> {
    db.all::<MarketRow>(db.statement(&format!("SELECT {COLUMNS} FROM markets ORDER BY code"), &[])?)
        .await?
        .into_iter()
        .map(Market::try_from)
        .collect()
}

/// A market as stored, with its timestamps and whether any price exists in it (one round trip).
pub struct StoredMarket {
    pub market: Market,
    pub created_at: String,
    pub updated_at: String,
    pub has_prices: bool,
}

#[derive(serde::Deserialize)]
struct Stamps {
    created_at: String,
    updated_at: String,
    has_prices: i64,
}

pub async fn get(db: &Db, code: &str) -> Result<Option<StoredMarket>, StoreError> {
    let mut results = db
        .batch(vec![
            db.statement(
                &format!("SELECT {COLUMNS} FROM markets WHERE code = ?1"),
                &[text(code)],
            )?,
            db.statement(
                "SELECT created_at, updated_at, \
                        EXISTS (SELECT 1 FROM prices WHERE market = ?1) AS has_prices \
                 FROM markets WHERE code = ?1",
                &[text(code)],
            )?,
        ])
        .await?
        .into_iter();
    let (Some(rows), Some(stamps)) = (results.next(), results.next()) else {
        return Err(StoreError::Corrupt(
            "market batch returned too few results".into(),
        ));
    };
    let (Some(row), Some(stamps)) = (
        decode::<MarketRow>(rows)?.into_iter().next(),
        decode::<Stamps>(stamps)?.into_iter().next(),
    ) else {
        return Ok(None);
    };
    Ok(Some(StoredMarket {
        market: Market::try_from(row)?,
        created_at: stamps.created_at,
        updated_at: stamps.updated_at,
        has_prices: stamps.has_prices != 0,
    }))
}

/// A page of markets by code, after `after`, at most `limit`, with their timestamps: one round
/// trip.
pub async fn page(
    db: &Db,
    after: Option<&str>,
    limit: usize,
) -> Result<Vec<(Market, String, String)>, StoreError> {
    #[derive(serde::Deserialize)]
    struct Times {
        created_at: String,
        updated_at: String,
    }
    let params = [
        text(after.unwrap_or("")),
        crate::store::d1::int(limit as i64),
    ];
    let mut results = db
        .batch(vec![
            db.statement(
                &format!("SELECT {COLUMNS} FROM markets WHERE code > ?1 ORDER BY code LIMIT ?2"),
                &params,
            )?,
            db.statement(
                "SELECT created_at, updated_at FROM markets WHERE code > ?1 ORDER BY code LIMIT ?2",
                &params,
            )?,
        ])
        .await?
        .into_iter();
    let (Some(rows), Some(times)) = (results.next(), results.next()) else {
        return Err(StoreError::Corrupt(
            "market batch returned too few results".into(),
        ));
    };
    decode::<MarketRow>(rows)?
        .into_iter()
        .zip(decode::<Times>(times)?)
        .map(|(row, t)| Ok((Market::try_from(row)?, t.created_at, t.updated_at)))
        .collect()
}

fn json(value: &impl serde::Serialize) -> Result<JsValue, StoreError> {
    serde_json::to_string(value)
        .map(|s| JsValue::from_str(&s))
        .map_err(|e| StoreError::Corrupt(format!("encoding market: {e}")))
}

fn enum_text(value: &impl serde::Serialize) -> Result<JsValue, StoreError> {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => Ok(JsValue::from_str(&s)),
        _ => Err(StoreError::Corrupt("encoding market enum".into())),
    }
}

/// The insert-or-update of a market; `created_at` is kept on update.
pub fn upsert(db: &Db, market: &Market, now: &str) -> Result<D1PreparedStatement, StoreError> {
    db.statement(
        "INSERT INTO markets (code, currency, countries, languages, tax_inclusive, tax_rates, \
                              rounding_mode, tax_rounding, created_at, updated_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9) \
         ON CONFLICT (code) DO UPDATE SET currency = excluded.currency, \
             countries = excluded.countries, languages = excluded.languages, \
             tax_inclusive = excluded.tax_inclusive, tax_rates = excluded.tax_rates, \
             rounding_mode = excluded.rounding_mode, tax_rounding = excluded.tax_rounding, \
             updated_at = excluded.updated_at",
        &[
            text(&market.code),
            text(market.currency.code()),
            json(&market.countries)?,
            json(&market.languages)?,
            JsValue::from_f64(if market.tax_inclusive { 1.0 } else { 0.0 }),
            json(&market.tax_rates)?,
            enum_text(&market.rounding_mode)?,
            enum_text(&market.tax_rounding)?,
            text(now),
        ],
    )
}
