//! Shipping methods and discounts in D1: validated definitions stored as JSON, with the market
//! currencies their amounts are checked against.

use crate::domain::admin_defs::{DiscountDef, Markets, ShippingDef};
use crate::domain::money::Currency;
use crate::store::d1::{decode, int, text, Db, StoreError};
use serde::Deserialize;
use wasm_bindgen::JsValue;

#[derive(Deserialize)]
struct MarketCurrency {
    code: String,
    currency: String,
}

fn markets(rows: Vec<MarketCurrency>) -> Markets {
    rows.into_iter()
        .filter_map(|m| Currency::from_code(&m.currency).map(|c| (m.code, c)))
        .collect()
}

pub struct Stored<T> {
    pub def: T,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Deserialize)]
struct ShippingRow {
    id: String,
    name: String,
    countries: String,
    rates: String,
    enabled: i64,
    location_id: Option<String>,
    created_at: String,
    updated_at: String,
}

const SHIPPING_COLUMNS: &str =
    "id, name, countries, rates, enabled, location_id, created_at, updated_at";

impl ShippingRow {
    fn stored(self) -> Result<Stored<ShippingDef>, StoreError> {
        let (id, name, countries, rates) = (&self.id, &self.name, &self.countries, &self.rates);
        Ok(Stored {
            def: crate::store::rows::shipping_def(
                id,
                name,
                countries,
                rates,
                self.enabled,
                self.location_id.as_deref(),
            )?,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

/// The method (if any) and the markets: one round trip.
pub async fn shipping(
    db: &Db,
    id: &str,
) -> Result<(Option<Stored<ShippingDef>>, Markets), StoreError> {
    let results = db
        .batch(vec![
            db.statement(
                &format!("SELECT {SHIPPING_COLUMNS} FROM shipping_methods WHERE id = ?1"),
                &[text(id)],
            )?,
            db.statement("SELECT code, currency FROM markets", &[])?,
        ])
        .await?;
    let mut r = results.into_iter();
    let (Some(row), Some(m)) = (r.next(), r.next()) else {
        return Err(StoreError::Corrupt(
            "shipping batch returned too few results".into(),
        ));
    };
    let stored = match decode::<ShippingRow>(row)?.into_iter().next() {
        None => None,
        Some(row) => Some(row.stored()?),
    };
    Ok((stored, markets(decode(m)?)))
}

fn json_text<T: serde::Serialize>(value: &T) -> Result<JsValue, StoreError> {
    serde_json::to_string(value)
        .map(|s| JsValue::from_str(&s))
        .map_err(|e| StoreError::Corrupt(e.to_string()))
}

pub async fn put_shipping(db: &Db, def: &ShippingDef, now: &str) -> Result<(), StoreError> {
    let location = def.location_id.as_deref().map_or(JsValue::NULL, text);
    db.batch(vec![
        // A pickup method names a location shoppers may collect from.
        db.statement(
            "INSERT INTO write_guards (ok) SELECT 0 WHERE ?1 IS NOT NULL \
             AND NOT EXISTS (SELECT 1 FROM locations WHERE id = ?1 AND pickup = 1)",
            std::slice::from_ref(&location),
        )?,
        db.statement(
            "INSERT INTO shipping_methods (id, name, countries, rates, enabled, location_id, created_at, updated_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?7, ?6, ?6) \
             ON CONFLICT (id) DO UPDATE SET name = excluded.name, countries = excluded.countries, \
                rates = excluded.rates, enabled = excluded.enabled, location_id = excluded.location_id, \
                updated_at = excluded.updated_at",
            &[
                text(&def.id),
                text(&def.name),
                json_text(&def.countries)?,
                json_text(&def.rates)?,
                int(i64::from(def.enabled)),
                text(now),
                location,
            ],
        )?,
    ])
    .await?;
    Ok(())
}

#[derive(Deserialize)]
struct DiscountRow {
    definition: String,
    created_at: String,
    updated_at: String,
}

#[derive(Deserialize)]
struct IdRow {
    id: String,
}

/// The discount (if any), the id of the discount holding `code` (if any), and the markets.
pub async fn discount(
    db: &Db,
    id: &str,
    code: Option<&str>,
) -> Result<(Option<Stored<DiscountDef>>, Option<String>, Markets), StoreError> {
    let results = db
        .batch(vec![
            db.statement(
                "SELECT definition, created_at, updated_at FROM discounts WHERE id = ?1",
                &[text(id)],
            )?,
            db.statement(
                "SELECT id FROM discounts WHERE code = ?1",
                &[text(code.unwrap_or(""))],
            )?,
            db.statement("SELECT code, currency FROM markets", &[])?,
        ])
        .await?;
    let mut r = results.into_iter();
    let (Some(row), Some(holder), Some(m)) = (r.next(), r.next(), r.next()) else {
        return Err(StoreError::Corrupt(
            "discount batch returned too few results".into(),
        ));
    };
    let stored = match decode::<DiscountRow>(row)?.into_iter().next() {
        None => None,
        Some(row) => Some(Stored {
            def: serde_json::from_str(&row.definition)
                .map_err(|e| StoreError::Corrupt(format!("discount {id}: {e}")))?,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }),
    };
    let holder = decode::<IdRow>(holder)?.into_iter().next().map(|r| r.id);
    Ok((stored, holder, markets(decode(m)?)))
}

/// `Refused` when another discount took the code meanwhile (the UNIQUE index).
pub async fn put_discount(db: &Db, def: &DiscountDef, now: &str) -> Result<(), StoreError> {
    let opt_int = |v: Option<u32>| v.map_or(JsValue::NULL, |n| int(i64::from(n)));
    db.batch(vec![db.statement(
        "INSERT INTO discounts (id, code, title, definition, enabled, usage_limit, usage_limit_per_customer, \
                                created_at, updated_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8) \
         ON CONFLICT (id) DO UPDATE SET code = excluded.code, title = excluded.title, \
            definition = excluded.definition, enabled = excluded.enabled, usage_limit = excluded.usage_limit, \
            usage_limit_per_customer = excluded.usage_limit_per_customer, updated_at = excluded.updated_at",
        &[
            text(&def.id),
            def.code.as_deref().map_or(JsValue::NULL, text),
            text(&def.title),
            json_text(def)?,
            int(i64::from(def.enabled)),
            opt_int(def.usage_limit),
            opt_int(def.usage_limit_per_customer),
            text(now),
        ],
    )?])
    .await?;
    Ok(())
}

/// A page of rows of `sql` (its `?1` the key after which, `?2` the limit) and the markets, in
/// one round trip.
async fn page_and_markets(
    db: &Db,
    sql: &str,
    after: Option<&str>,
    limit: usize,
) -> Result<(worker::D1Result, Markets), StoreError> {
    let results = db
        .batch(vec![
            db.statement(sql, &[text(after.unwrap_or("")), int(limit as i64)])?,
            db.statement("SELECT code, currency FROM markets", &[])?,
        ])
        .await?;
    let mut r = results.into_iter();
    let (Some(rows), Some(m)) = (r.next(), r.next()) else {
        return Err(StoreError::Corrupt(
            "page batch returned too few results".into(),
        ));
    };
    Ok((rows, markets(decode(m)?)))
}

/// A page of shipping methods by id, after `after`, at most `limit`, and the markets: one round
/// trip.
pub async fn shipping_page(
    db: &Db,
    after: Option<&str>,
    limit: usize,
) -> Result<(Vec<Stored<ShippingDef>>, Markets), StoreError> {
    let (rows, markets) = page_and_markets(
        db,
        &format!(
            "SELECT {SHIPPING_COLUMNS} FROM shipping_methods WHERE id > ?1 ORDER BY id LIMIT ?2"
        ),
        after,
        limit,
    )
    .await?;
    let stored = decode::<ShippingRow>(rows)?
        .into_iter()
        .map(ShippingRow::stored)
        .collect::<Result<Vec<_>, StoreError>>()?;
    Ok((stored, markets))
}

/// A page of discounts by id, after `after`, at most `limit`, and the markets: one round trip.
pub async fn discount_page(
    db: &Db,
    after: Option<&str>,
    limit: usize,
) -> Result<(Vec<Stored<DiscountDef>>, Markets), StoreError> {
    let (rows, markets) = page_and_markets(
        db,
        "SELECT definition, created_at, updated_at FROM discounts WHERE id > ?1 ORDER BY id LIMIT ?2",
        after,
        limit,
    )
    .await?;
    let stored = decode::<DiscountRow>(rows)?
        .into_iter()
        .map(|row| {
            Ok(Stored {
                def: serde_json::from_str(&row.definition)
                    .map_err(|e| StoreError::Corrupt(format!("discount definition: {e}")))?,
                created_at: row.created_at,
                updated_at: row.updated_at,
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    Ok((stored, markets))
}
