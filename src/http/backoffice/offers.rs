//! `/admin/v1/shipping-methods/{id}` and `/admin/v1/discounts/{id}`.

use super::{check_id, invalid, only_fields};
use crate::domain::admin_defs::{
    discount_from_request, shipping_from_request, DISCOUNT_FIELDS, SHIPPING_FIELDS,
};
use crate::domain::fields::Fields;
use crate::domain::pagination::{encode_cursor, page_of};
use crate::domain::product::is_resource_id;
use crate::http::error::ApiError;
use crate::http::server::{now_rfc3339, page_request, Ctx, Reply};
use crate::store::admin_defs;
use crate::store::d1::StoreError;
use serde_json::{Map, Value};

fn stamped(mut view: Value, created_at: &str, updated_at: &str) -> Value {
    view["created_at"] = Value::from(created_at);
    view["updated_at"] = Value::from(updated_at);
    view
}

/// A PUT's answer: 201 with a new definition, 200 with a replaced one (its `created_at` kept).
fn put_answer(view: Value, created_at: Option<&str>, now: &str) -> Result<Reply, ApiError> {
    let status = if created_at.is_some() { 200 } else { 201 };
    Reply::json(status, &stamped(view, created_at.unwrap_or(now), now))
}

pub async fn put_shipping(
    ctx: &Ctx,
    id: &str,
    body: &Map<String, Value>,
) -> Result<Reply, ApiError> {
    check_id(id, is_resource_id(id), "shipping method")?;
    only_fields(body, SHIPPING_FIELDS)?;
    let db = ctx.db()?;
    let (existing, markets) = admin_defs::shipping(&db, id).await?;
    let def = shipping_from_request(id, &Fields::new(body), &markets).map_err(invalid)?;
    let now = now_rfc3339();
    match admin_defs::put_shipping(&db, &def, &now).await {
        Ok(()) => {}
        // The one guard of the write: a pickup method names a location shoppers collect from.
        Err(StoreError::Refused(_)) => {
            return Err(ApiError::validation_failed(
                "location_id",
                format!(
                    "no location {} where shoppers may collect orders (pickup: true)",
                    def.location_id.as_deref().unwrap_or_default()
                ),
            ))
        }
        Err(e) => return Err(e.into()),
    }
    put_answer(
        def.view(&markets),
        existing.as_ref().map(|s| s.created_at.as_str()),
        &now,
    )
}

/// `GET /admin/v1/shipping-methods`: by id, with the cursor convention.
pub async fn list_shipping(ctx: &Ctx, params: &[(String, String)]) -> Result<Reply, ApiError> {
    let page = page_request(params)?;
    let (rows, markets) =
        admin_defs::shipping_page(&ctx.db()?, page.after.as_deref(), page.limit + 1).await?;
    let page = page_of(rows, page.limit, |s| encode_cursor(&s.def.id));
    Reply::json(
        200,
        &page.views(|s| stamped(s.def.view(&markets), &s.created_at, &s.updated_at)),
    )
}

pub async fn get_shipping(ctx: &Ctx, id: &str) -> Result<Reply, ApiError> {
    check_id(id, is_resource_id(id), "shipping method")?;
    let (stored, markets) = admin_defs::shipping(&ctx.db()?, id).await?;
    let stored = stored.ok_or_else(|| ApiError::not_found(format!("no shipping method {id}")))?;
    Reply::json(
        200,
        &stamped(
            stored.def.view(&markets),
            &stored.created_at,
            &stored.updated_at,
        ),
    )
}

pub async fn put_discount(
    ctx: &Ctx,
    id: &str,
    body: &Map<String, Value>,
) -> Result<Reply, ApiError> {
    check_id(id, is_resource_id(id), "discount")?;
    only_fields(body, DISCOUNT_FIELDS)?;
    let db = ctx.db()?;
    let code = body
        .get("code")
        .and_then(Value::as_str)
        .and_then(crate::domain::admin_defs::normalize_code);
    let (existing, holder, markets) = admin_defs::discount(&db, id, code.as_deref()).await?;
    let def = discount_from_request(id, &Fields::new(body), &markets).map_err(invalid)?;
    let taken = || ApiError::validation_failed("code", "another discount already uses this code");
    if holder.as_deref().is_some_and(|h| h != id) {
        return Err(taken());
    }
    let now = now_rfc3339();
    match admin_defs::put_discount(&db, &def, &now).await {
        Ok(()) => {}
        Err(StoreError::Refused(_)) => return Err(taken()),
        Err(e) => return Err(ApiError::from(e)),
    }
    put_answer(
        def.view(&markets),
        existing.as_ref().map(|s| s.created_at.as_str()),
        &now,
    )
}

/// `GET /admin/v1/discounts`: by id, with the cursor convention.
pub async fn list_discounts(ctx: &Ctx, params: &[(String, String)]) -> Result<Reply, ApiError> {
    let page = page_request(params)?;
    let (rows, markets) =
        admin_defs::discount_page(&ctx.db()?, page.after.as_deref(), page.limit + 1).await?;
    let page = page_of(rows, page.limit, |s| encode_cursor(&s.def.id));
    Reply::json(
        200,
        &page.views(|s| stamped(s.def.view(&markets), &s.created_at, &s.updated_at)),
    )
}

pub async fn get_discount(ctx: &Ctx, id: &str) -> Result<Reply, ApiError> {
    check_id(id, is_resource_id(id), "discount")?;
    let (stored, _, markets) = admin_defs::discount(&ctx.db()?, id, None).await?;
    let stored = stored.ok_or_else(|| ApiError::not_found(format!("no discount {id}")))?;
    Reply::json(
        200,
        &stamped(
            stored.def.view(&markets),
            &stored.created_at,
            &stored.updated_at,
        ),
    )
}
