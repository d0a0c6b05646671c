//! The D1 adapter of [`ForwardingStore`]: the SQL of destinations, deliveries and the events
//! feed, their row structs, and row <-> domain conversion. Every method is one round trip.

use crate::app::forwarding::{
    AttemptContext, AttemptRecord, Delivery, DeliveryQuery, DeliveryStatus, Destination,
    DestinationEffect, DestinationQuery, DisabledReason, EventFilter, FeedEvent, FeedPosition,
    ForwardingStore, Target,
};
use crate::store::d1::{decode, int, json_text, text, Db, StoreError};
use serde::Deserialize;
use wasm_bindgen::JsValue;

pub struct D1Forwarding {
    db: Db,
}

impl D1Forwarding {
    pub fn new(db: Db) -> D1Forwarding {
        D1Forwarding { db }
    }
}

#[derive(Deserialize)]
struct DestinationRow {
    id: String,
    url: String,
    events: String,
    enabled: i64,
    disabled_reason: Option<String>,
    filter: Option<String>,
    created_at: String,
    updated_at: String,
}

const DESTINATION_COLUMNS: &str =
    "id, url, events, enabled, disabled_reason, filter, created_at, updated_at";

impl From<DestinationRow> for Destination {
    fn from(row: DestinationRow) -> Destination {
        Destination {
            id: row.id,
            url: row.url,
            // Written by `save_destination` from a list of strings; shown as empty if unreadable,
            // as it always has been.
            events: serde_json::from_str(&row.events).unwrap_or_default(),
            enabled: row.enabled != 0,
            disabled_reason: row
                .disabled_reason
                .as_deref()
                .and_then(DisabledReason::parse),
            // Written by `save_destination`; an unreadable filter takes every event.
            filter: {
                let f = row
                    .filter
                    .as_deref()
                    .and_then(|f| serde_json::from_str::<serde_json::Value>(f).ok())
                    .unwrap_or_default();
                let list = |key: &str| serde_json::from_value(f[key].clone()).unwrap_or_default();
                EventFilter {
                    locations: list("locations"),
                    channels: list("channels"),
                }
            },
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

#[derive(Deserialize)]
struct DeliveryRow {
    id: String,
    event_id: String,
    destination_id: String,
    status: String,
    attempts: i64,
    last_status_code: Option<i64>,
    last_error: Option<String>,
    created_at: String,
    updated_at: String,
}

const DELIVERY_COLUMNS: &str = "id, event_id, destination_id, status, attempts, last_status_code, last_error, created_at, updated_at";

fn status(id: &str, status: &str) -> Result<DeliveryStatus, StoreError> {
    DeliveryStatus::parse(status)
        .map_err(|_| StoreError::Corrupt(format!("delivery {id}: status `{status}`")))
}

impl TryFrom<DeliveryRow> for Delivery {
    type Error = StoreError;

    fn try_from(row: DeliveryRow) -> Result<Delivery, StoreError> {
        Ok(Delivery {
            status: status(&row.id, &row.status)?,
            id: row.id,
            event_id: row.event_id,
            destination_id: row.destination_id,
            attempts: row.attempts,
            last_status_code: row.last_status_code,
            last_error: row.last_error,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

/// A delivery with its event (LEFT JOIN: gone → NULLs) and its destination (likewise).
#[derive(Deserialize)]
struct AttemptRow {
    destination_id: String,
    status: String,
    attempts: i64,
    event_id: String,
    payload: Option<String>,
    url: Option<String>,
    enabled: Option<i64>,
    secret: Option<String>,
    previous_secret: Option<String>,
    previous_expires_at: Option<String>,
}

#[derive(Deserialize)]
struct IdRow {
    id: String,
}

#[derive(Deserialize)]
struct FeedRow {
    seq: i64,
    payload: String,
}

fn null_or_text(s: Option<&str>) -> JsValue {
    s.map_or(JsValue::NULL, text)
}

impl D1Forwarding {
    async fn destination_rows(
        &self,
        sql: &str,
        params: &[JsValue],
    ) -> Result<Vec<Destination>, StoreError> {
        let rows: Vec<DestinationRow> = self.db.all(self.db.statement(sql, params)?).await?;
        Ok(rows.into_iter().map(Destination::from).collect())
    }

    /// One write statement as its own batch (one transaction, one round trip).
    async fn write(
        &self,
        sql: &str,
        params: &[JsValue],
    ) -> Result<Vec<worker::D1Result>, StoreError> {
        self.db.batch(vec![self.db.statement(sql, params)?]).await
    }
}

impl ForwardingStore for D1Forwarding {
    async fn destination(&self, id: &str) -> Result<Option<Destination>, StoreError> {
        let rows = self
            .destination_rows(
                &format!("SELECT {DESTINATION_COLUMNS} FROM destinations WHERE id = ?1"),
                &[text(id)],
            )
            .await?;
        Ok(rows.into_iter().next())
    }

    async fn destinations(&self, query: &DestinationQuery) -> Result<Vec<Destination>, StoreError> {
        self.destination_rows(
            &format!(
                "SELECT {DESTINATION_COLUMNS} FROM destinations WHERE id > ?1 ORDER BY id LIMIT ?2"
            ),
            &[
                text(query.after.as_deref().unwrap_or("")),
                int(query.limit as i64),
            ],
        )
        .await
    }

    async fn save_destination(
        &self,
        d: &Destination,
        new_secret: Option<&str>,
    ) -> Result<(), StoreError> {
        self.write(
            "INSERT INTO destinations (id, url, events, enabled, secret, disabled_reason, filter, created_at, updated_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?7, ?8, ?6, ?6) \
             ON CONFLICT (id) DO UPDATE SET url = excluded.url, events = excluded.events, enabled = excluded.enabled, \
                disabled_reason = excluded.disabled_reason, filter = excluded.filter, \
                dead_in_a_row = CASE WHEN excluded.enabled = 1 THEN 0 ELSE dead_in_a_row END, \
                updated_at = excluded.updated_at",
            &[
                text(&d.id),
                text(&d.url),
                text(&serde_json::json!(d.events).to_string()),
                int(i64::from(d.enabled)),
                text(new_secret.unwrap_or("")),
                text(&d.updated_at),
                null_or_text(d.disabled_reason.map(DisabledReason::as_str)),
                match d.filter.view() {
                    serde_json::Value::Null => wasm_bindgen::JsValue::NULL,
                    f => text(&f.to_string()),
                },
            ],
        )
        .await?;
        Ok(())
    }

    async fn delete_destination(&self, id: &str) -> Result<(), StoreError> {
        self.write("DELETE FROM destinations WHERE id = ?1", &[text(id)])
            .await?;
        Ok(())
    }

    async fn rotate_secret(
        &self,
        id: &str,
        secret: &str,
        previous_until: &str,
        now: &str,
    ) -> Result<(), StoreError> {
        self.write(
            "UPDATE destinations SET previous_secret = secret, previous_expires_at = ?3, secret = ?2, updated_at = ?4 WHERE id = ?1",
            &[text(id), text(secret), text(previous_until), text(now)],
        )
        .await?;
        Ok(())
    }

    async fn deliveries(&self, query: &DeliveryQuery) -> Result<Vec<Delivery>, StoreError> {
        let rows: Vec<DeliveryRow> = self
            .db
            .all(self.db.statement(
                &format!(
                    "SELECT {DELIVERY_COLUMNS} FROM deliveries WHERE (?1 IS NULL OR status = ?1) \
                       AND (?2 IS NULL OR destination_id = ?2) AND (created_at < ?3 OR (created_at = ?3 AND id < ?4)) \
                     ORDER BY created_at DESC, id DESC LIMIT ?5"
                ),
                &[
                    null_or_text(query.filter.status.map(DeliveryStatus::as_str)),
                    null_or_text(query.filter.destination_id.as_deref()),
                    text(&query.before_at),
                    text(&query.before_id),
                    int(query.limit as i64),
                ],
            )?)
            .await?;
        rows.into_iter().map(Delivery::try_from).collect()
    }

    async fn delivery(&self, id: &str) -> Result<Option<Delivery>, StoreError> {
        let rows: Vec<DeliveryRow> = self
            .db
            .all(self.db.statement(
                &format!("SELECT {DELIVERY_COLUMNS} FROM deliveries WHERE id = ?1"),
                &[text(id)],
            )?)
            .await?;
        rows.into_iter().next().map(Delivery::try_from).transpose()
    }

    async fn reset_delivery(&self, id: &str, now: &str) -> Result<bool, StoreError> {
        let results = self
            .write(
                "UPDATE deliveries SET status = 'pending', attempts = 0, due_at = NULL, updated_at = ?2 WHERE id = ?1",
                &[text(id), text(now)],
            )
            .await?;
        let changed = results
            .first()
            .and_then(|r| r.meta().ok().flatten())
            .and_then(|m| m.changes)
            .unwrap_or(0);
        Ok(changed > 0)
    }

    async fn events_after(
        &self,
        after: FeedPosition,
        limit: usize,
    ) -> Result<Vec<FeedEvent>, StoreError> {
        let rows: Vec<FeedRow> = self
            .db
            .all(self.db.statement(
                "SELECT rowid AS seq, payload FROM outbox WHERE rowid > ?1 ORDER BY rowid LIMIT ?2",
                &[int(after.0), int(limit as i64)],
            )?)
            .await?;
        Ok(rows
            .into_iter()
            .map(|r| FeedEvent {
                seq: r.seq,
                payload: r.payload,
            })
            .collect())
    }

    /// The subscription rule of [`Destination::wants`] as SQL, so that finding the
    /// destinations and creating their deliveries is one statement; the second statement of the
    /// same batch reads back every delivery of the event the queue does not hold yet.
    async fn create_deliveries(
        &self,
        event_id: &str,
        now: &str,
    ) -> Result<Vec<String>, StoreError> {
        let results = self
            .db
            .batch(vec![
                self.db.statement(
                    "INSERT INTO deliveries (id, event_id, destination_id, status, attempts, created_at, updated_at) \
                     SELECT 'dlv_' || lower(hex(randomblob(16))), o.id, d.id, 'pending', 0, ?2, ?2 \
                     FROM outbox o JOIN destinations d ON d.enabled = 1 AND EXISTS \
                       (SELECT 1 FROM json_each(d.events) WHERE value = '*' OR value = o.type) \
                     WHERE o.id = ?1 AND (json_extract(d.filter, '$.channels') IS NULL OR EXISTS \
                       (SELECT 1 FROM json_each(d.filter, '$.channels') c \
                        WHERE c.value = json_extract(o.payload, '$.data.channel'))) \
                     AND (json_extract(d.filter, '$.locations') IS NULL OR EXISTS \
                       (SELECT 1 FROM json_each(d.filter, '$.locations') f \
                        WHERE f.value = json_extract(o.payload, '$.data.location') OR EXISTS \
                          (SELECT 1 FROM json_each(o.payload, '$.data.lines') l, json_each(l.value, '$.allocations') a \
                           WHERE json_extract(a.value, '$.location') = f.value) OR EXISTS \
                          (SELECT 1 FROM json_each(o.payload, '$.data.edit.before.lines') l, json_each(l.value, '$.allocations') a \
                           WHERE json_extract(a.value, '$.location') = f.value))) \
                     ON CONFLICT (event_id, destination_id) DO NOTHING",
                    &[text(event_id), text(now)],
                )?,
                self.db.statement(
                    "SELECT id FROM deliveries WHERE event_id = ?1 AND status = 'pending' AND due_at IS NULL ORDER BY id",
                    &[text(event_id)],
                )?,
            ])
            .await?;
        ids(results.into_iter().nth(1))
    }

    async fn mark_handed(&self, delivery_ids: &[String], due_at: &str) -> Result<(), StoreError> {
        self.write(
            "UPDATE deliveries SET due_at = ?2 WHERE id IN (SELECT value FROM json_each(?1)) \
               AND status = 'pending' AND (due_at IS NULL OR due_at < ?2)",
            &[json_text(&serde_json::json!(delivery_ids)), text(due_at)],
        )
        .await?;
        Ok(())
    }

    async fn stranded(
        &self,
        unhanded_before: &str,
        overdue_before: &str,
        limit: usize,
    ) -> Result<Vec<String>, StoreError> {
        let rows: Vec<IdRow> = self
            .db
            .all(self.db.statement(
                "SELECT id FROM deliveries WHERE status = 'pending' \
                   AND ((due_at IS NULL AND updated_at <= ?1) OR due_at <= ?2) \
                 ORDER BY updated_at, id LIMIT ?3",
                &[
                    text(unhanded_before),
                    text(overdue_before),
                    int(limit as i64),
                ],
            )?)
            .await?;
        Ok(rows.into_iter().map(|r| r.id).collect())
    }

    async fn reset_dead(
        &self,
        destination_id: &str,
        now: &str,
        limit: usize,
    ) -> Result<(u64, Vec<String>), StoreError> {
        let results = self
            .db
            .batch(vec![
                self.db.statement(
                    "UPDATE deliveries SET status = 'pending', attempts = 0, due_at = NULL, updated_at = ?2 \
                     WHERE destination_id = ?1 AND status = 'dead'",
                    &[text(destination_id), text(now)],
                )?,
                self.db.statement(
                    "SELECT id FROM deliveries WHERE destination_id = ?1 AND status = 'pending' AND due_at IS NULL \
                     ORDER BY created_at, id LIMIT ?2",
                    &[text(destination_id), int(limit as i64)],
                )?,
            ])
            .await?;
        let mut results = results.into_iter();
        let replayed = results
            .next()
            .and_then(|r| r.meta().ok().flatten())
            .and_then(|m| m.changes)
            .unwrap_or(0);
        Ok((replayed as u64, ids(results.next())?))
    }

    async fn attempt_context(
        &self,
        delivery_id: &str,
    ) -> Result<Option<AttemptContext>, StoreError> {
        let rows: Vec<AttemptRow> = self
            .db
            .all(self.db.statement(
                "SELECT dl.destination_id, dl.status, dl.attempts, dl.event_id, o.payload, d.url, d.enabled, d.secret, \
                        d.previous_secret, d.previous_expires_at \
                 FROM deliveries dl LEFT JOIN outbox o ON o.id = dl.event_id \
                 LEFT JOIN destinations d ON d.id = dl.destination_id WHERE dl.id = ?1",
                &[text(delivery_id)],
            )?)
            .await?;
        let Some(row) = rows.into_iter().next() else {
            return Ok(None);
        };
        let target = match (row.url, row.secret) {
            (Some(url), Some(secret)) => Some(Target {
                url,
                enabled: row.enabled == Some(1),
                secret,
                previous_secret: row.previous_secret,
                previous_expires_at: row.previous_expires_at,
            }),
            _ => None,
        };
        Ok(Some(AttemptContext {
            destination_id: row.destination_id,
            status: status(delivery_id, &row.status)?,
            attempts: row.attempts,
            event_id: row.event_id,
            payload: row.payload,
            target,
        }))
    }

    async fn record_attempt(
        &self,
        delivery_id: &str,
        destination_id: &str,
        record: &AttemptRecord,
        now: &str,
    ) -> Result<(), StoreError> {
        let mut statements = vec![self.db.statement(
            "UPDATE deliveries SET status = ?2, attempts = ?3, last_status_code = ?4, last_error = ?5, due_at = ?7, updated_at = ?6 WHERE id = ?1",
            &[
                text(delivery_id),
                text(record.status.as_str()),
                int(record.attempts),
                record
                    .status_code
                    .map_or(JsValue::NULL, |c| int(i64::from(c))),
                null_or_text(record.error.as_deref()),
                text(now),
                null_or_text(record.due_at.as_deref()),
            ],
        )?];
        let health = match record.effect {
            DestinationEffect::None => None,
            DestinationEffect::Healthy => Some((
                "UPDATE destinations SET dead_in_a_row = 0 WHERE id = ?1 AND dead_in_a_row <> 0",
                vec![text(destination_id)],
            )),
            DestinationEffect::Dead { disable_after } => Some((
                "UPDATE destinations SET dead_in_a_row = dead_in_a_row + 1, \
                   disabled_reason = CASE WHEN enabled = 1 AND dead_in_a_row + 1 >= ?2 THEN 'failing' ELSE disabled_reason END, \
                   enabled = CASE WHEN dead_in_a_row + 1 >= ?2 THEN 0 ELSE enabled END, \
                   updated_at = CASE WHEN enabled = 1 AND dead_in_a_row + 1 >= ?2 THEN ?3 ELSE updated_at END \
                 WHERE id = ?1",
                vec![text(destination_id), int(i64::from(disable_after.max(1))), text(now)],
            )),
            DestinationEffect::Gone => Some((
                "UPDATE destinations SET dead_in_a_row = dead_in_a_row + 1, \
                   disabled_reason = CASE WHEN enabled = 1 THEN 'gone' ELSE disabled_reason END, \
                   enabled = 0, updated_at = CASE WHEN enabled = 1 THEN ?2 ELSE updated_at END \
                 WHERE id = ?1",
                vec![text(destination_id), text(now)],
            )),
        };
        if let Some((sql, params)) = health {
            statements.push(self.db.statement(sql, &params)?);
        }
        self.db.batch(statements).await?;
        Ok(())
    }
}

/// The ids a `SELECT id …` of a batch read.
fn ids(result: Option<worker::D1Result>) -> Result<Vec<String>, StoreError> {
    let rows: Vec<IdRow> = match result {
        Some(r) => decode(r)?,
        None => {
            return Err(StoreError::Unavailable(
                "D1 batch: a result is missing".into(),
            ))
        }
    };
    Ok(rows.into_iter().map(|r| r.id).collect())
}
