//! `/admin/v1/orders`: reads, and the back-office actions (mark-paid, cancel, fulfillments,
//! refunds). Each action is decided by the pure state machine and applied as one guarded
//! batch with its stock movements and its outbox event.

use super::{invalid, only_fields};
use crate::app::orders;
use crate::app::ports::OrderFilter;
use crate::domain::fields::{FieldError, Fields};
use crate::domain::order::{Action, Order, OrderStatus};
use crate::http::edge::Edge;
use crate::http::error::ApiError;
use crate::http::server::{page_request, query, Ctx, Reply};
use crate::store::D1Store;
use serde_json::{json, Map, Value};

pub async fn get(ctx: &Ctx, id: &str) -> Result<Reply, ApiError> {
    let order = orders::order(&D1Store { db: ctx.db()? }, id).await?;
    Reply::json(200, &order.shown())
}

pub async fn list(ctx: &Ctx, params: &[(String, String)]) -> Result<Reply, ApiError> {
    let page = page_request(params)?;
    let status = match query(params, "status") {
        None => None,
        Some(s) => Some(OrderStatus::parse(s).ok_or_else(|| {
            ApiError::invalid_parameter(
                "status",
                "status is one of pending_payment, confirmed, fulfilled, canceled, refunded",
            )
        })?),
    };
    let store = D1Store { db: ctx.db()? };
    let page = orders::newest(&store, &OrderFilter::Status(status), &page).await?;
    Reply::json(200, &page.views(Order::shown))
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
    act(ctx, id, Action::Cancel, Some(json!({ "reason": reason }))).await
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
    act(ctx, id, Action::Fulfill(lines), Some(detail)).await
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
        Some(detail),
    )
    .await
}

/// One action through `app::orders::act` (decide on the order read, write under a guard,
/// decide again after a concurrent change).
async fn act(
    ctx: &Ctx,
    id: &str,
    action: Action,
    detail: Option<Value>,
) -> Result<Reply, ApiError> {
    let store = D1Store { db: ctx.db()? };
    let edge = Edge {
        ctx,
        client: String::new(),
    };
    let order = orders::act(&store, &edge, id, &action, detail).await?;
    Reply::json(200, &order.shown())
}
