//! `/admin/v1/inventory/{sku}`: stock levels, adjustments with a reason, and their audit trail.

use super::{invalid, only_fields};
use crate::domain::fields::{FieldError, Fields};
use crate::domain::pagination::{encode_time_cursor, page_of, time_cursor_position};
use crate::domain::product::normalize_sku;
use crate::http::error::ApiError;
use crate::http::server::{now_rfc3339, page_request, random_id, Ctx, Reply};
use crate::store::d1::StoreError;
use crate::store::{cache, inventory};
use serde_json::{json, Map, Value};

const MAX_UNITS: i64 = 1_000_000_000;

fn sku_param(raw: &str) -> Result<String, ApiError> {
    normalize_sku(raw)
        .ok_or_else(|| ApiError::invalid_parameter("sku", format!("`{raw}` is not a valid SKU")))
}

fn reason(body: &Fields<'_>, required: bool) -> Result<Option<String>, ApiError> {
    let value = if required {
        Some(body.string("reason").map_err(invalid)?)
    } else {
        body.opt_string("reason").map_err(invalid)?
    };
    match value.map(str::trim) {
        Some(r) if r.is_empty() || r.chars().count() > 200 => Err(invalid(FieldError::new(
            "reason",
            "must be 1 to 200 characters",
        ))),
        other => Ok(other.map(str::to_string)),
    }
}

async fn current(
    ctx: &Ctx,
    sku: &str,
) -> Result<(Option<inventory::Level>, Vec<String>), ApiError> {
    let (level, known, markets) = inventory::level(&ctx.db()?, sku).await?;
    if level.is_none() && !known {
        return Err(ApiError::not_found(format!("no variant has SKU {sku}")));
    }
    Ok((level, markets))
}

pub async fn get(ctx: &Ctx, raw: &str) -> Result<Reply, ApiError> {
    let sku = sku_param(raw)?;
    let (level, _) = current(ctx, &sku).await?;
    let level = level.unwrap_or(inventory::Level {
        sku,
        on_hand: 0,
        reserved: 0,
        available: 0,
    });
    Reply::json(200, &level)
}

pub async fn put(ctx: &Ctx, raw: &str, body: &Map<String, Value>) -> Result<Reply, ApiError> {
    let sku = sku_param(raw)?;
    only_fields(body, &["on_hand", "reason"])?;
    let fields = Fields::new(body);
    let on_hand = fields.int("on_hand", 0..=MAX_UNITS).map_err(invalid)?;
    let reason = reason(&fields, false)?.unwrap_or_else(|| "stock count set".into());
    let (before, markets) = current(ctx, &sku).await?;
    let level = match inventory::apply(
        &ctx.db()?,
        &sku,
        Some(on_hand),
        None,
        &reason,
        &random_id("adj"),
        &now_rfc3339(),
    )
    .await
    {
        Ok(level) => level,
        Err(StoreError::Refused(_)) => {
            let reserved = before.map_or(0, |l| l.reserved);
            return Err(ApiError::validation_failed(
                "on_hand",
                format!("{reserved} unit(s) of {sku} are reserved by placed orders; on_hand cannot go below that"),
            ));
        }
        Err(e) => return Err(ApiError::from(e)),
    };
    cache::catalog_changed(&ctx.kv()?, markets).await;
    Reply::json(if before.is_some() { 200 } else { 201 }, &level)
}

pub async fn adjust(ctx: &Ctx, raw: &str, body: &Map<String, Value>) -> Result<Reply, ApiError> {
    let sku = sku_param(raw)?;
    only_fields(body, &["delta", "reason"])?;
    let fields = Fields::new(body);
    let delta = fields
        .int("delta", -MAX_UNITS..=MAX_UNITS)
        .map_err(invalid)?;
    if delta == 0 {
        return Err(invalid(FieldError::new("delta", "must not be zero")));
    }
    let reason = reason(&fields, true)?.unwrap_or_default();
    let (before, markets) = current(ctx, &sku).await?;
    let id = random_id("adj");
    let now = now_rfc3339();
    let level = match inventory::apply(&ctx.db()?, &sku, None, Some(delta), &reason, &id, &now)
        .await
    {
        Ok(level) => level,
        Err(StoreError::Refused(_)) => {
            let (on_hand, reserved) = before.map_or((0, 0), |l| (l.on_hand, l.reserved));
            return Err(ApiError::validation_failed(
                "delta",
                format!(
                    "on_hand of {sku} would become {}, below zero or below the {reserved} reserved unit(s)",
                    on_hand + delta
                ),
            ));
        }
        Err(e) => return Err(ApiError::from(e)),
    };
    cache::catalog_changed(&ctx.kv()?, markets).await;
    Reply::json(
        201,
        &json!({
            "id": id, "sku": sku, "delta": delta, "reason": reason,
            "on_hand": level.on_hand, "reserved": level.reserved, "available": level.available,
            "created_at": now,
        }),
    )
}

pub async fn list_adjustments(
    ctx: &Ctx,
    raw: &str,
    params: &[(String, String)],
) -> Result<Reply, ApiError> {
    let sku = sku_param(raw)?;
    let page = page_request(params)?;
    let after = match page.after {
        None => None,
        Some(_) => Some(time_cursor_position(&page)?),
    };
    current(ctx, &sku).await?;
    let rows = inventory::adjustments(&ctx.db()?, &sku, after, page.limit + 1).await?;
    Reply::json(
        200,
        &page_of(rows, page.limit, |r| {
            encode_time_cursor(&r.created_at, &r.id)
        }),
    )
}
