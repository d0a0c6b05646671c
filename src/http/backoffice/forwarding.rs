//! Destinations (back-office endpoints and their signing secrets), the delivery log with replay,
//! and the pull feed of events for systems that cannot receive webhooks.

use super::{check_id, invalid, only_fields};
use crate::domain::fields::{FieldError, Fields};
use crate::domain::pagination::{
    decode_cursor, encode_cursor, encode_time_cursor, page_of, time_cursor_position, PageRequest,
};
use crate::domain::product::is_resource_id;
use crate::domain::webhook::{check_url, new_secret};
use crate::http::error::ApiError;
use crate::http::server::{now_rfc3339, page_request, query, Ctx, Reply};
use crate::store::d1::{int, text};
use serde::Deserialize;
use serde_json::{json, Map, Value};

pub const EVENT_TYPES: &[&str] = &[
    "order.placed",
    "order.confirmed",
    "order.canceled",
    "order.fulfilled",
    "order.refunded",
    "inventory.low",
];
const GRACE_SECONDS: f64 = 24.0 * 3600.0;

#[derive(Deserialize)]
struct DestinationRow {
    id: String,
    url: String,
    events: String,
    enabled: i64,
    created_at: String,
    updated_at: String,
}

impl DestinationRow {
    fn view(&self, secret: Option<&str>) -> Value {
        let mut v = json!({
            "id": self.id, "url": self.url,
            "events": serde_json::from_str::<Value>(&self.events).unwrap_or(json!([])),
            "enabled": self.enabled != 0, "created_at": self.created_at, "updated_at": self.updated_at,
        });
        if let Some(s) = secret {
            v["secret"] = json!(s);
        }
        v
    }
}

fn secret() -> String {
    let mut bytes = [0u8; 24];
    getrandom::fill(&mut bytes).expect("the JS crypto source is always present on Workers");
    new_secret(bytes)
}

async fn load(ctx: &Ctx, id: &str) -> Result<Option<DestinationRow>, ApiError> {
    let db = ctx.db()?;
    let rows: Vec<DestinationRow> = db
        .all(db.statement("SELECT id, url, events, enabled, created_at, updated_at FROM destinations WHERE id = ?1", &[text(id)])?)
        .await
        ?;
    Ok(rows.into_iter().next())
}

pub async fn put_destination(
    ctx: &Ctx,
    id: &str,
    body: &Map<String, Value>,
) -> Result<Reply, ApiError> {
    check_id(id, is_resource_id(id), "destination")?;
    only_fields(body, &["url", "events", "enabled"])?;
    let f = Fields::new(body);
    let url = f.string("url").map_err(invalid)?.trim().to_string();
    let insecure = ctx.var("ALLOW_INSECURE_DESTINATIONS").as_deref() == Some("true");
    check_url(&url, insecure)
        .map_err(|why| ApiError::validation_failed("url", format!("the URL {why}")))?;
    let events = f.string_list("events", 20).map_err(invalid)?;
    if events.is_empty() {
        return Err(invalid(FieldError::new(
            "events",
            "subscribe to at least one event type, or [\"*\"]",
        )));
    }
    for (i, e) in events.iter().enumerate() {
        if *e != "*" && !EVENT_TYPES.contains(e) {
            return Err(invalid(FieldError::new(
                format!("events[{i}]"),
                format!("event types are {} or *", EVENT_TYPES.join(", ")),
            )));
        }
    }
    let enabled = f.opt_bool("enabled").map_err(invalid)?.unwrap_or(true);
    let existing = load(ctx, id).await?;
    let now = now_rfc3339();
    let new_secret = existing.is_none().then(secret);
    let db = ctx.db()?;
    db.batch(vec![db
        .statement(
            "INSERT INTO destinations (id, url, events, enabled, secret, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6) \
             ON CONFLICT (id) DO UPDATE SET url = excluded.url, events = excluded.events, enabled = excluded.enabled, \
                updated_at = excluded.updated_at",
            &[text(id), text(&url), text(&json!(events).to_string()), int(i64::from(enabled)), text(new_secret.as_deref().unwrap_or("")), text(&now)],
        )
        ?])
        .await
        ?;
    let row = DestinationRow {
        id: id.into(),
        url,
        events: json!(events).to_string(),
        enabled: i64::from(enabled),
        created_at: existing
            .as_ref()
            .map_or(now.clone(), |e| e.created_at.clone()),
        updated_at: now,
    };
    Reply::json(
        if existing.is_some() { 200 } else { 201 },
        &row.view(new_secret.as_deref()),
    )
}

pub async fn get_destination(ctx: &Ctx, id: &str) -> Result<Reply, ApiError> {
    check_id(id, is_resource_id(id), "destination")?;
    let row = load(ctx, id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no destination {id}")))?;
    Reply::json(200, &row.view(None))
}

pub async fn list_destinations(ctx: &Ctx) -> Result<Reply, ApiError> {
    let db = ctx.db()?;
    let rows: Vec<DestinationRow> = db
        .all(db.statement("SELECT id, url, events, enabled, created_at, updated_at FROM destinations ORDER BY id LIMIT 100", &[])?)
        .await
        ?;
    Reply::json(
        200,
        &json!({ "data": rows.iter().map(|r| r.view(None)).collect::<Vec<_>>(), "next_cursor": null }),
    )
}

pub async fn delete_destination(ctx: &Ctx, id: &str) -> Result<Reply, ApiError> {
    check_id(id, is_resource_id(id), "destination")?;
    load(ctx, id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no destination {id}")))?;
    let db = ctx.db()?;
    db.batch(vec![db.statement(
        "DELETE FROM destinations WHERE id = ?1",
        &[text(id)],
    )?])
    .await?;
    Ok(Reply::empty(204))
}

/// A new secret; the previous one still signs (alongside) for 24 hours, so receivers can
/// switch without losing a delivery.
pub async fn rotate_secret(
    ctx: &Ctx,
    id: &str,
    body: &Map<String, Value>,
) -> Result<Reply, ApiError> {
    check_id(id, is_resource_id(id), "destination")?;
    only_fields(body, &[])?;
    let row = load(ctx, id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no destination {id}")))?;
    let fresh = secret();
    let now = now_rfc3339();
    let until = String::from(
        js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(
            js_sys::Date::now() + GRACE_SECONDS * 1000.0,
        ))
        .to_iso_string(),
    );
    let db = ctx.db()?;
    db.batch(vec![db
        .statement(
            "UPDATE destinations SET previous_secret = secret, previous_expires_at = ?3, secret = ?2, updated_at = ?4 WHERE id = ?1",
            &[text(id), text(&fresh), text(&until), text(&now)],
        )
        ?])
        .await
        ?;
    Reply::json(
        200,
        &DestinationRow {
            updated_at: now,
            ..row
        }
        .view(Some(&fresh)),
    )
}

#[derive(Deserialize, serde::Serialize)]
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

pub async fn list_deliveries(ctx: &Ctx, params: &[(String, String)]) -> Result<Reply, ApiError> {
    let page = page_request(params)?;
    let status = match query(params, "status") {
        None => None,
        Some(s @ ("pending" | "delivered" | "dead")) => Some(s),
        Some(_) => {
            return Err(ApiError::invalid_parameter(
                "status",
                "status is pending, delivered or dead",
            ))
        }
    };
    let (at, after) = time_cursor_position(&page)?;
    let db = ctx.db()?;
    let rows: Vec<DeliveryRow> = db
        .all(db
            .statement(
                &format!(
                    "SELECT {DELIVERY_COLUMNS} FROM deliveries WHERE (?1 IS NULL OR status = ?1) \
                       AND (?2 IS NULL OR destination_id = ?2) AND (created_at < ?3 OR (created_at = ?3 AND id < ?4)) \
                     ORDER BY created_at DESC, id DESC LIMIT ?5"
                ),
                &[
                    status.map_or(wasm_bindgen::JsValue::NULL, text),
                    query(params, "destination_id").map_or(wasm_bindgen::JsValue::NULL, text),
                    text(&at),
                    text(&after),
                    int(page.limit as i64 + 1),
                ],
            )
            ?)
        .await
        ?;
    Reply::json(
        200,
        &page_of(rows, page.limit, |r| {
            encode_time_cursor(&r.created_at, &r.id)
        }),
    )
}

async fn delivery(ctx: &Ctx, id: &str) -> Result<Option<DeliveryRow>, ApiError> {
    let db = ctx.db()?;
    let rows: Vec<DeliveryRow> = db
        .all(db.statement(
            &format!("SELECT {DELIVERY_COLUMNS} FROM deliveries WHERE id = ?1"),
            &[text(id)],
        )?)
        .await?;
    Ok(rows.into_iter().next())
}

pub async fn get_delivery(ctx: &Ctx, id: &str) -> Result<Reply, ApiError> {
    let row = delivery(ctx, id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no delivery {id}")))?;
    Reply::json(200, &row)
}

/// Sets the same delivery back to pending (same `webhook-id`) and queues an attempt: 202.
pub async fn replay(ctx: &Ctx, id: &str, body: &Map<String, Value>) -> Result<Reply, ApiError> {
    only_fields(body, &[])?;
    delivery(ctx, id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no delivery {id}")))?;
    crate::delivery::replay(&ctx.db()?, &ctx.env, id)
        .await
        .map_err(|e| {
            worker::console_error!("[{}] replay of {id} failed: {e}", ctx.request_id);
            ApiError::unavailable()
        })?;
    let row = delivery(ctx, id).await?.ok_or_else(ApiError::internal)?;
    Reply::json(202, &row)
}

/// The pull feed: every event in commit order from the start; `next_cursor` always resumes.
pub async fn events(ctx: &Ctx, params: &[(String, String)]) -> Result<Reply, ApiError> {
    let page = PageRequest::parse(query(params, "limit"), None)?;
    let after: i64 = match query(params, "after") {
        None | Some("") => 0,
        Some(c) => decode_cursor(c)
            .and_then(|k| k.strip_prefix("e:").and_then(|n| n.parse().ok()))
            .ok_or_else(|| {
                ApiError::invalid_parameter("after", "after is not a cursor this feed issued")
            })?,
    };
    #[derive(Deserialize)]
    struct Row {
        seq: i64,
        payload: String,
    }
    let db = ctx.db()?;
    let rows: Vec<Row> = db
        .all(db.statement(
            "SELECT rowid AS seq, payload FROM outbox WHERE rowid > ?1 ORDER BY rowid LIMIT ?2",
            &[int(after), int(page.limit as i64)],
        )?)
        .await?;
    let last = rows.last().map_or(after, |r| r.seq);
    let data: Vec<Value> = rows
        .iter()
        .filter_map(|r| serde_json::from_str(&r.payload).ok())
        .collect();
    Reply::json(
        200,
        &json!({ "data": data, "next_cursor": encode_cursor(&format!("e:{last}")) }),
    )
}
