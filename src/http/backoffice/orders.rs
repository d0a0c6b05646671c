//! `/admin/v1/orders`: reads, and the back-office actions (mark-paid, cancel, fulfillments,
//! refunds). Each action is decided by the pure state machine and applied as one guarded
//! batch with its stock movements and its outbox event.

use super::{invalid, only_fields};
use crate::domain::fields::{FieldError, Fields};
use crate::domain::order::{apply, Action, Refusal};
use crate::domain::pagination::time_cursor_position;
use crate::http::error::ApiError;
use crate::http::server::{now_rfc3339, page_request, query, random_id, Ctx, Reply};
use crate::store::d1::{int, text, StoreError};
use crate::store::orders;
use serde_json::{json, Map, Value};

const MAX_RETRIES: usize = 3;

pub async fn get(ctx: &Ctx, id: &str) -> Result<Reply, ApiError> {
    let order = orders::get(&ctx.db()?, id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no order {id}")))?;
    Reply::json(200, &order.view())
}

pub async fn list(ctx: &Ctx, params: &[(String, String)]) -> Result<Reply, ApiError> {
    let page = page_request(params)?;
    let status = match query(params, "status") {
        None => None,
        Some(s) if crate::domain::order::OrderStatus::parse(s).is_some() => Some(s),
        Some(_) => {
            return Err(ApiError::invalid_parameter(
                "status",
                "status is one of pending_payment, confirmed, fulfilled, canceled, refunded",
            ))
        }
    };
    let (at, after_id) = time_cursor_position(&page)?;
    let found = orders::list(
        &ctx.db()?,
        "(?1 IS NULL OR status = ?1) AND (created_at < ?2 OR (created_at = ?2 AND id < ?3))",
        "created_at DESC, id DESC LIMIT ?4",
        &[
            status.map_or(wasm_bindgen::JsValue::NULL, text),
            text(&at),
            text(&after_id),
            int(page.limit as i64 + 1),
        ],
    )
    .await?;
    Reply::json(200, &orders::page_view(found, page.limit))
}

fn line_quantities(
    body: &Map<String, Value>,
    required: bool,
) -> Result<Vec<(String, i64)>, ApiError> {
    let f = Fields::new(body);
    if !required && !f.has("lines") {
        return Ok(vec![]);
    }
    let items = f
        .objects("lines", if required { 1 } else { 0 }, 250)
        .map_err(invalid)?;
    items
        .iter()
        .map(|l| {
            l.only(&["line_id", "quantity"]).map_err(invalid)?;
            Ok((
                l.string("line_id").map_err(invalid)?.to_string(),
                l.int("quantity", 1..=999).map_err(invalid)?,
            ))
        })
        .collect()
}

pub async fn mark_paid(ctx: &Ctx, id: &str, body: &Map<String, Value>) -> Result<Reply, ApiError> {
    only_fields(body, &[])?;
    act(ctx, id, Action::MarkPaid, None).await
}

pub async fn cancel(ctx: &Ctx, id: &str, body: &Map<String, Value>) -> Result<Reply, ApiError> {
    only_fields(body, &["reason"])?;
    let reason = optional_reason(body)?;
    // The merchant's words travel with the order.canceled event (the order keeps
    // cancel_reason: canceled_by_merchant).
    act(
        ctx,
        id,
        Action::Cancel,
        Some(("cancellation", json!({ "reason": reason }))),
    )
    .await
}

/// An optional free-text `reason`: a string of at most 500 characters, or absent / null.
fn optional_reason(body: &Map<String, Value>) -> Result<Option<String>, ApiError> {
    let reason = Fields::new(body)
        .opt_string("reason")
        .map_err(invalid)?
        .map(str::to_string);
    if reason.as_ref().is_some_and(|r| r.chars().count() > 500) {
        return Err(ApiError::validation_failed(
            "reason",
            "must be at most 500 characters",
        ));
    }
    Ok(reason)
}

pub async fn fulfill(ctx: &Ctx, id: &str, body: &Map<String, Value>) -> Result<Reply, ApiError> {
    only_fields(body, &["lines", "tracking"])?;
    let lines = line_quantities(body, true)?;
    let tracking = match body.get("tracking") {
        None | Some(Value::Null) => None,
        Some(Value::Object(t)) => {
            let f = Fields::nested(t, "tracking".into());
            f.only(&["carrier", "number", "url"]).map_err(invalid)?;
            for name in ["carrier", "number", "url"] {
                if let Some(v) = f.opt_string(name).map_err(invalid)? {
                    if v.chars().count() > 500 {
                        return Err(invalid(FieldError::new(
                            f.path(name),
                            "must be at most 500 characters",
                        )));
                    }
                }
            }
            Some(Value::Object(t.clone()))
        }
        Some(_) => {
            return Err(ApiError::validation_failed(
                "tracking",
                "must be an object {carrier, number, url}",
            ))
        }
    };
    let detail = json!({ "lines": lines.iter().map(|(l, q)| json!({"line_id": l, "quantity": q})).collect::<Vec<_>>(), "tracking": tracking });
    act(
        ctx,
        id,
        Action::Fulfill(lines),
        Some(("fulfillment", detail)),
    )
    .await
}

pub async fn refund(ctx: &Ctx, id: &str, body: &Map<String, Value>) -> Result<Reply, ApiError> {
    only_fields(body, &["lines", "include_shipping", "reason"])?;
    let lines = line_quantities(body, false)?;
    let f = Fields::new(body);
    let include_shipping = f
        .opt_bool("include_shipping")
        .map_err(invalid)?
        .unwrap_or(false);
    let reason = optional_reason(body)?;
    let detail = json!({
        "lines": lines.iter().map(|(l, q)| json!({"line_id": l, "quantity": q})).collect::<Vec<_>>(),
        "include_shipping": include_shipping, "reason": reason,
    });
    act(
        ctx,
        id,
        Action::Refund {
            lines,
            include_shipping,
        },
        Some(("refund", detail)),
    )
    .await
}

/// Reads the order, decides, and writes under a guard on the state read; a concurrent change
/// makes it decide again.
async fn act(
    ctx: &Ctx,
    id: &str,
    action: Action,
    detail: Option<(&str, Value)>,
) -> Result<Reply, ApiError> {
    let db = ctx.db()?;
    for _ in 0..MAX_RETRIES {
        let order = orders::get(&db, id)
            .await?
            .ok_or_else(|| ApiError::not_found(format!("no order {id}")))?;
        let state = order.state()?;
        let t = match apply(&state, &action) {
            Ok(None) => return Reply::json(200, &order.view()),
            Ok(Some(t)) => t,
            Err(Refusal::Illegal { from, action }) => {
                return Err(ApiError::illegal_transition(format!(
                    "an order that is {} cannot be {action}",
                    from.as_str()
                ))
                .with_details(json!({ "status": from.as_str(), "action": action })))
            }
            Err(Refusal::BadLine { index, reason }) => {
                return Err(ApiError::validation_failed(
                    &format!("lines[{index}]"),
                    reason,
                ))
            }
        };
        let now = now_rfc3339();
        let event_id = random_id("evt");
        let mut statements = orders::transition(&db, &order, &t, &event_id, &now)?;
        if let Some((key, value)) = &detail {
            // The event carries what this action did (the lines shipped or refunded, tracking).
            if let Some(last) = statements.pop() {
                let after = order.with(&t, &now);
                let mut data = after.view();
                data[*key] = value.clone();
                let event = t.event.map(|e| e.as_str()).unwrap_or("order.updated");
                let envelope =
                    orders::envelope(&event_id, event, after.row.last_sequence, &now, data);
                drop(last);
                statements.push(orders::outbox(
                    &db,
                    &event_id,
                    event,
                    &after.row.id,
                    after.row.last_sequence,
                    &envelope,
                    &now,
                )?);
            }
        }
        match db.batch(statements).await {
            Ok(_) => {
                ctx.publish_events();
                return Reply::json(200, &order.with(&t, &now).view());
            }
            Err(StoreError::Refused(_)) => continue,
            Err(e) => return Err(ApiError::from(e)),
        }
    }
    Err(ApiError::unavailable())
}
