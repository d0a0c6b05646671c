//! `PUT` / `GET /admin/v1/markets/{code}`.

use super::{invalid, only_fields};
use crate::domain::fields::Fields;
use crate::domain::market::{is_market_code, market_from_request, Market, MARKET_FIELDS};
use crate::domain::pagination::{encode_cursor, page_of};
use crate::http::error::ApiError;
use crate::http::server::{now_rfc3339, page_request, Ctx, Reply};
use crate::store::{cache, markets};
use serde_json::{json, Map, Value};

fn check_code(code: &str) -> Result<(), ApiError> {
    if is_market_code(code) {
        Ok(())
    } else {
        Err(ApiError::invalid_parameter(
            "code",
            "a market code is 2 to 16 upper-case letters, digits, `-` or `_`, starting with a letter",
        ))
    }
}

pub async fn put(ctx: &Ctx, code: &str, body: &Map<String, Value>) -> Result<Reply, ApiError> {
    check_code(code)?;
    only_fields(body, MARKET_FIELDS)?;
    let market = market_from_request(code, &Fields::new(body)).map_err(invalid)?;
    let db = ctx.db()?;
    let existing = markets::get(&db, code).await?;
    if let Some(stored) = &existing {
        if stored.has_prices && stored.market.currency != market.currency {
            return Err(ApiError::validation_failed(
                "currency",
                format!(
                    "market {code} has prices in {}; remove or re-price them before changing its currency",
                    stored.market.currency
                ),
            ));
        }
    }
    let now = now_rfc3339();
    db.batch(vec![markets::upsert(&db, &market, &now)?]).await?;
    cache::market_changed(&ctx.kv()?, code).await;
    let created_at = existing
        .as_ref()
        .map_or(now.clone(), |s| s.created_at.clone());
    Reply::json(
        if existing.is_some() { 200 } else { 201 },
        &view(&market, &created_at, &now),
    )
}

/// `GET /admin/v1/markets`: by code, with the cursor convention.
pub async fn list(ctx: &Ctx, params: &[(String, String)]) -> Result<Reply, ApiError> {
    let page = page_request(params)?;
    let rows = markets::page(&ctx.db()?, page.after.as_deref(), page.limit + 1).await?;
    let page = page_of(rows, page.limit, |(m, _, _)| encode_cursor(&m.code));
    Reply::json(
        200,
        &page.views(|(m, created, updated)| view(m, created, updated)),
    )
}

pub async fn get(ctx: &Ctx, code: &str) -> Result<Reply, ApiError> {
    check_code(code)?;
    let stored = markets::get(&ctx.db()?, code)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no market {code}")))?;
    Reply::json(
        200,
        &view(&stored.market, &stored.created_at, &stored.updated_at),
    )
}

fn view(market: &Market, created_at: &str, updated_at: &str) -> Value {
    json!({
        "code": market.code,
        "currency": market.currency,
        "countries": market.countries,
        "languages": market.languages,
        "tax_inclusive": market.tax_inclusive,
        "tax_rates": market.tax_rates,
        "rounding_mode": market.rounding_mode,
        "tax_rounding": market.tax_rounding,
        "created_at": created_at,
        "updated_at": updated_at,
    })
}
