//! D1 with a meter: every round trip is counted and timed for `Server-Timing`, and every
//! failure becomes a [`StoreError`] whose cause is logged, never shown.
//!
//! D1 has no interactive transactions: a write is one `batch` (one SQL transaction, all or
//! nothing) with its conditions in SQL. A batch counts as one round trip.

use js_sys::Date;
use serde::de::DeserializeOwned;
use std::cell::Cell;
use std::rc::Rc;
use wasm_bindgen::JsValue;
use worker::{D1Database, D1DatabaseSession, D1PreparedStatement, D1Result};

pub use crate::app::ports::StoreError;

/// Round trips and milliseconds spent in D1 by one request.
#[derive(Debug, Default, Clone)]
pub struct Meter {
    round_trips: Rc<Cell<u32>>,
    ms: Rc<Cell<f64>>,
}

impl Meter {
    pub fn round_trips(&self) -> u32 {
        self.round_trips.get()
    }

    pub fn ms(&self) -> f64 {
        self.ms.get()
    }

    fn record(&self, started: f64) {
        self.round_trips.set(self.round_trips.get() + 1);
        self.ms
            .set(self.ms.get() + (Date::now() - started).max(0.0));
    }
}

/// Where a [`Db`]'s queries go.
enum Conn {
    /// The database itself (the cron and the queue consumer: no client waits to read its
    /// writes).
    Database(D1Database),
    /// One request's D1 session (Sessions API): its reads may come from a replica, its
    /// writes go to the primary, and every query sees what the session's earlier ones did;
    /// shared by every `Db` of the request.
    Session(Rc<D1DatabaseSession>),
}

pub struct Db {
    conn: Conn,
    meter: Meter,
}

impl Db {
    pub fn new(inner: D1Database, meter: Meter) -> Db {
        Db {
            conn: Conn::Database(inner),
            meter,
        }
    }

    /// Queries through a request's session.
    pub fn in_session(session: Rc<D1DatabaseSession>, meter: Meter) -> Db {
        Db {
            conn: Conn::Session(session),
            meter,
        }
    }

    /// Prepares a statement and binds its parameters (`?1`, `?2`…).
    pub fn statement(
        &self,
        sql: &str,
        params: &[JsValue],
    ) -> Result<D1PreparedStatement, StoreError> {
        let prepared = match &self.conn {
            Conn::Database(d) => d.prepare(sql),
            Conn::Session(s) => s.prepare(sql),
        };
        prepared
            .bind(params)
            .map_err(|e| StoreError::Corrupt(format!("binding parameters: {e}")))
    }

    /// Runs one read and decodes its rows: one round trip.
    pub async fn all<T: DeserializeOwned>(
        &self,
        statement: D1PreparedStatement,
    ) -> Result<Vec<T>, StoreError> {
        let started = Date::now();
        let result = statement.all().await;
        self.meter.record(started);
        decode(result.map_err(|e| StoreError::Unavailable(format!("D1 query: {e}")))?)
    }

    /// Runs statements as one transaction: one round trip, all or nothing.
    pub async fn batch(
        &self,
        statements: Vec<D1PreparedStatement>,
    ) -> Result<Vec<D1Result>, StoreError> {
        let started = Date::now();
        let result = match &self.conn {
            Conn::Database(d) => d.batch(statements).await,
            Conn::Session(session) => session.batch(statements).await,
        };
        self.meter.record(started);
        result.map_err(|e| {
            let message = e.to_string();
            if message.contains("constraint failed") {
                StoreError::Refused(message)
            } else {
                StoreError::Unavailable(format!("D1 batch: {message}"))
            }
        })
    }
}

/// Decodes the rows of one result.
pub fn decode<T: DeserializeOwned>(result: D1Result) -> Result<Vec<T>, StoreError> {
    if let Some(error) = result.error() {
        return Err(StoreError::Unavailable(format!("D1 result: {error}")));
    }
    result
        .results::<T>()
        .map_err(|e| StoreError::Corrupt(format!("decoding rows: {e}")))
}

/// `text` with LIKE's wildcards (`%`, `_`) and the escape (`\\`) escaped, for
/// `LIKE … ESCAPE '\\'`.
#[cfg(feature = "backoffice")]
pub fn like_literal(text: &str) -> String {
    text.chars()
        .flat_map(|c| match c {
            '%' | '_' | '\\' => vec!['\\', c],
            c => vec![c],
        })
        .collect()
}

/// A string parameter.
pub fn text(s: &str) -> JsValue {
    JsValue::from_str(s)
}

/// A JSON document as one parameter (text), for `json_each`.
pub fn json_text(value: &serde_json::Value) -> JsValue {
    JsValue::from_str(&value.to_string())
}

#[cfg(feature = "backoffice")]
/// A JSON document as one parameter: many rows travel in one statement through `json_each`,
/// within D1's 100-parameter limit.
pub fn json_param(value: &serde_json::Value) -> JsValue {
    JsValue::from_str(&value.to_string())
}

/// An integer parameter. D1 refuses BigInt, so integers travel as f64 (exact below 2^53).
pub fn int(n: i64) -> JsValue {
    JsValue::from_f64(n as f64)
}
