//! Stock locations in D1.

use crate::domain::stock::LocationDef;
use crate::store::d1::{decode, int, text, Db, StoreError};
use serde::Deserialize;
use worker::D1PreparedStatement;

#[derive(Deserialize)]
struct Row {
    id: String,
    name: String,
    kind: String,
    countries: String,
    priority: i64,
    pickup: i64,
    address: Option<String>,
    created_at: String,
    updated_at: String,
}

/// A location as stored, with its timestamps.
pub struct Stored {
    pub def: LocationDef,
    pub created_at: String,
    pub updated_at: String,
}

impl Row {
    fn stored(self) -> Result<Stored, StoreError> {
        let corrupt = |w: &str| StoreError::Corrupt(format!("location {}: {w}", self.id));
        let kind = crate::domain::stock::LocationKind::parse(&self.kind)
            .ok_or_else(|| corrupt("kind"))?
            .as_str();
        Ok(Stored {
            def: LocationDef {
                kind,
                countries: serde_json::from_str(&self.countries)
                    .map_err(|_| corrupt("countries"))?,
                address: match &self.address {
                    Some(a) => serde_json::from_str(a).map_err(|_| corrupt("address"))?,
                    None => serde_json::Value::Null,
                },
                id: self.id,
                name: self.name,
                priority: self.priority,
                pickup: self.pickup != 0,
            },
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

const COLUMNS: &str =
    "id, name, kind, countries, priority, pickup, address, created_at, updated_at";

/// Every location, by id (one read).
pub async fn all(db: &Db) -> Result<Vec<Stored>, StoreError> {
    db.all::<Row>(db.statement(&format!("SELECT {COLUMNS} FROM locations ORDER BY id"), &[])?)
        .await?
        .into_iter()
        .map(Row::stored)
        .collect()
}

/// Writes `def` and reads it back with its timestamps, in one round trip; whether it existed.
pub async fn put(db: &Db, def: &LocationDef, now: &str) -> Result<(Stored, bool), StoreError> {
    let address = match &def.address {
        serde_json::Value::Null => wasm_bindgen::JsValue::NULL,
        a => text(&a.to_string()),
    };
    let statements: Vec<D1PreparedStatement> = vec![
        db.statement("SELECT COUNT(*) AS n FROM locations WHERE id = ?1", &[text(&def.id)])?,
        db.statement(
            "INSERT INTO locations (id, name, kind, countries, priority, pickup, address, created_at, updated_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8) \
             ON CONFLICT (id) DO UPDATE SET name = excluded.name, kind = excluded.kind, countries = excluded.countries, \
               priority = excluded.priority, pickup = excluded.pickup, address = excluded.address, updated_at = excluded.updated_at",
            &[
                text(&def.id),
                text(&def.name),
                text(def.kind),
                text(&serde_json::json!(def.countries).to_string()),
                int(def.priority),
                int(i64::from(def.pickup)),
                address,
                text(now),
            ],
        )?,
        db.statement(&format!("SELECT {COLUMNS} FROM locations WHERE id = ?1"), &[text(&def.id)])?,
    ];
    let mut results = db.batch(statements).await?.into_iter();
    #[derive(Deserialize)]
    struct Count {
        n: i64,
    }
    let existed = results
        .next()
        .map(decode::<Count>)
        .transpose()?
        .and_then(|c| c.into_iter().next())
        .is_some_and(|c| c.n > 0);
    let row = results
        .nth(1)
        .map(decode::<Row>)
        .transpose()?
        .and_then(|r| r.into_iter().next())
        .ok_or_else(|| StoreError::Corrupt("the location written is missing".into()))?;
    Ok((row.stored()?, existed))
}
