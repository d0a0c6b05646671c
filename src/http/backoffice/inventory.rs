//! `/admin/v1/inventory/{sku}`: stock levels, adjustments with a reason, and their audit trail.

use super::{invalid, only_fields};
use crate::domain::fields::{FieldError, Fields};
use crate::domain::pagination::{encode_time_cursor, page_of, time_cursor_position};
use crate::domain::product::normalize_sku;
use crate::domain::stock;
use crate::http::error::ApiError;
use crate::http::server::{now_rfc3339, page_request, random_id, Ctx, Reply};
use crate::store::d1::StoreError;
use crate::store::{cache, inventory};
use serde_json::{json, Map, Value};

const MAX_UNITS: i64 = 1_000_000_000;

pub(super) fn sku_param(raw: &str) -> Result<String, ApiError> {
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

/// The location a write acts on: `?location=` (checked) or `main`.
fn location_param(params: &[(String, String)]) -> Result<String, ApiError> {
    match params.iter().find(|(k, _)| k == "location") {
        None => Ok(stock::MAIN.to_string()),
        Some((_, l)) if stock::is_location_id(l) => Ok(l.clone()),
        Some((_, l)) => Err(ApiError::invalid_parameter(
            "location",
            format!("`{l}` is not a location id"),
        )),
    }
}

pub(super) async fn current(
    ctx: &Ctx,
    sku: &str,
    location: &str,
) -> Result<inventory::Current, ApiError> {
    let current = inventory::level(&ctx.db()?, sku, location).await?;
    if current.level.is_none() && !current.known {
        return Err(ApiError::not_found(format!("no variant has SKU {sku}")));
    }
    if !current.location_known {
        return Err(ApiError::not_found(format!("no location {location}")));
    }
    Ok(current)
}

pub async fn get(ctx: &Ctx, raw: &str) -> Result<Reply, ApiError> {
    let sku = sku_param(raw)?;
    let read = current(ctx, &sku, stock::MAIN).await?;
    Reply::json(200, &super::hot::shown(ctx, &sku, &read).await?)
}

/// `PUT /admin/v1/inventory/{sku}` (at `?location=`, else `main`).
pub async fn put(
    ctx: &Ctx,
    raw: &str,
    body: &Map<String, Value>,
    params: &[(String, String)],
) -> Result<Reply, ApiError> {
    put_at(ctx, raw, &location_param(params)?, body).await
}

/// `PUT /admin/v1/inventory/{sku}/locations/{location}`: `{on_hand, reason?}` → the SKU's
/// stock (201 when the location held none of it before).
pub async fn put_at(
    ctx: &Ctx,
    raw: &str,
    location: &str,
    body: &Map<String, Value>,
) -> Result<Reply, ApiError> {
    let sku = sku_param(raw)?;
    if !stock::is_location_id(location) {
        return Err(ApiError::not_found(format!("no location {location}")));
    }
    only_fields(body, &["on_hand", "reason"])?;
    let fields = Fields::new(body);
    let on_hand = fields.int("on_hand", 0..=MAX_UNITS).map_err(invalid)?;
    let reason = reason(&fields, false)?.unwrap_or_else(|| "stock count set".into());
    let before = current(ctx, &sku, location).await?;
    let existed = before
        .level
        .as_ref()
        .is_some_and(|l| l.locations.iter().any(|x| x.location == location));
    let change = inventory::Change {
        sku: &sku,
        location,
        set_on_hand: Some(on_hand),
        delta: None,
        reason: &reason,
        adjustment_id: &random_id("adj"),
        low_stock_threshold: ctx.settings().low_stock_threshold,
    };
    let level = match inventory::apply(&ctx.db()?, &change, &now_rfc3339()).await {
        Ok(level) => level,
        Err(StoreError::Refused(_)) => {
            let (_, reserved) = reserved_at(&before, location);
            return Err(ApiError::validation_failed(
                "on_hand",
                format!("{reserved} unit(s) of {sku} are reserved at {location} by placed orders; on_hand cannot go below that"),
            ));
        }
        Err(e) => return Err(ApiError::from(e)),
    };
    ctx.publish_events(); // an inventory.low it wrote goes to the queue now, not at the sweep
    cache::catalog_changed(&ctx.kv()?, before.markets).await;
    Reply::json(if existed { 200 } else { 201 }, &level)
}

fn reserved_at(c: &inventory::Current, location: &str) -> (i64, i64) {
    c.level
        .as_ref()
        .and_then(|l| l.locations.iter().find(|x| x.location == location))
        .map_or((0, 0), |x| (x.on_hand, x.reserved))
}

pub async fn adjust(
    ctx: &Ctx,
    raw: &str,
    body: &Map<String, Value>,
    params: &[(String, String)],
) -> Result<Reply, ApiError> {
    let sku = sku_param(raw)?;
    let location = location_param(params)?;
    only_fields(body, &["delta", "reason"])?;
    let fields = Fields::new(body);
    let delta = fields
        .int("delta", -MAX_UNITS..=MAX_UNITS)
        .map_err(invalid)?;
    if delta == 0 {
        return Err(invalid(FieldError::new("delta", "must not be zero")));
    }
    let reason = reason(&fields, true)?.unwrap_or_default();
    let before = current(ctx, &sku, &location).await?;
    let id = random_id("adj");
    let now = now_rfc3339();
    let change = inventory::Change {
        sku: &sku,
        location: &location,
        set_on_hand: None,
        delta: Some(delta),
        reason: &reason,
        adjustment_id: &id,
        low_stock_threshold: ctx.settings().low_stock_threshold,
    };
    let level = match inventory::apply(&ctx.db()?, &change, &now).await {
        Ok(level) => level,
        Err(StoreError::Refused(_)) => {
            let (on_hand, reserved) = reserved_at(&before, &location);
            return Err(ApiError::validation_failed(
                "delta",
                format!(
                    "on_hand of {sku} at {location} would become {}, below zero or below the {reserved} reserved unit(s)",
                    on_hand + delta
                ),
            ));
        }
        Err(e) => return Err(ApiError::from(e)),
    };
    ctx.publish_events();
    cache::catalog_changed(&ctx.kv()?, before.markets).await;
    // The adjustment and the stock at its location after it.
    let (on_hand, reserved) = level
        .locations
        .iter()
        .find(|l| l.location == location)
        .map_or((0, 0), |l| (l.on_hand, l.reserved));
    Reply::json(
        201,
        &json!({
            "id": id, "sku": sku, "location": location, "delta": delta, "reason": reason,
            "on_hand": on_hand, "reserved": reserved, "available": on_hand - reserved,
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
    current(ctx, &sku, stock::MAIN).await?;
    let rows = inventory::adjustments(&ctx.db()?, &sku, after, page.limit + 1).await?;
    Reply::json(
        200,
        &page_of(rows, page.limit, |r| {
            encode_time_cursor(&r.created_at, &r.id)
        }),
    )
}

/// `POST /admin/v1/inventory/sync`: up to 5,000 items, all or nothing, one D1 round trip
/// (two when refused or replayed). With an Idempotency-Key (scoped to the admin), a retry of
/// the same sync is answered with the first answer and changes nothing; another body under
/// the key is 422 `idempotency_key_reused`.
pub async fn sync(
    ctx: &Ctx,
    body: &Map<String, Value>,
    key: Option<String>,
    scope: &str,
    actor: &str,
) -> Result<Reply, ApiError> {
    let items = stock::sync_items(body).map_err(invalid)?;
    let id = random_id("sync");
    let hash = crate::app::idempotency::object_hash(body);
    let write = inventory::Sync {
        id: &id,
        scope,
        key: key.as_deref(),
        body_hash: &hash,
        actor,
        items: &items,
        low_stock_threshold: ctx.settings().low_stock_threshold,
    };
    let db = ctx.db()?;
    let answer = |r: &inventory::SyncRecord| json!({"id": r.id, "items": r.items, "changed": r.changed, "created_at": r.created_at});
    match inventory::sync(&db, &write, &now_rfc3339()).await {
        Ok((record, markets)) => {
            ctx.publish_events();
            cache::catalog_changed(&ctx.kv()?, markets).await;
            return Reply::json(200, &answer(&record));
        }
        Err(StoreError::Refused(_)) => {}
        Err(e) => return Err(ApiError::from(e)),
    }
    let why = inventory::sync_refusal(&db, &write).await?;
    if let Some(earlier) = why.earlier {
        if earlier.body_hash != hash {
            return Err(ApiError::idempotency_key_reused(
                "this Idempotency-Key was used for another sync",
            ));
        }
        return Ok(Reply::json(200, &answer(&earlier))?.header("Idempotent-Replayed", "true"));
    }
    if let Some((i, what)) = why.unknown {
        let item = &items[i];
        return Err(ApiError::validation_failed(
            &format!("items[{i}].{what}"),
            match what {
                "sku" => format!("no variant has SKU {}", item.sku),
                _ => format!("no location {}", item.location),
            },
        ));
    }
    if let Some((i, on_hand, reserved)) = why.below {
        let item = &items[i];
        let field = if item.on_hand.is_some() {
            "on_hand"
        } else {
            "delta"
        };
        return Err(ApiError::validation_failed(
            &format!("items[{i}].{field}"),
            format!(
                "{} at {} has {on_hand} on hand and {reserved} reserved by placed orders; on_hand cannot go below that",
                item.sku, item.location
            ),
        ));
    }
    // The stock moved between the batch and its diagnosis: nothing was applied; a retry runs
    // again (a 503 is not an answer the key keeps).
    Err(ApiError::unavailable())
}
