//! The back-office Worker's HTTP adapter: the admin API (`/admin/v1`). Every route checks the
//! admin JWT and its scope before it reads a body.

use crate::auth::{Admin, AdminVerifier, AuthError, Scope};
use crate::domain::fields::{FieldError, Fields};
use crate::domain::market::{is_market_code, market_from_request, Market, MARKET_FIELDS};
use crate::http::body::{check_declared_length, parse_json_object, BACKOFFICE_BODY_LIMIT};
use crate::http::error::ApiError;
use crate::http::routes::{match_backoffice, match_common, Backoffice};
use crate::http::server::{common, now_rfc3339, Ctx, Reply};
use crate::store::{cache, markets};
use serde_json::{json, Map, Value};
use worker::Request;

/// The back-office part of `schema/openapi.yaml`, made by `scripts/build.mjs`.
const OPENAPI: &str = include_str!("../../build/openapi/backoffice.json");

pub async fn handle(mut req: Request, ctx: Ctx) -> (Reply, Ctx) {
    let reply = route(&mut req, &ctx).await.unwrap_or_else(Reply::from);
    (reply, ctx)
}

async fn route(req: &mut Request, ctx: &Ctx) -> Result<Reply, ApiError> {
    let method = req.method().to_string();
    let path = req.path();
    if let Some(route) = match_common(&method, &path) {
        return common(route?, ctx, OPENAPI);
    }
    let route = match_backoffice(&method, &path)?;
    check_declared_length(
        header(req, "Content-Length").as_deref(),
        BACKOFFICE_BODY_LIMIT,
    )?;
    let admin = authenticate(req, ctx)?;
    match route {
        Backoffice::PutMarket { code } => {
            require(&admin, Scope::CatalogWrite)?;
            put_market(req, ctx, code).await
        }
    }
}

fn header(req: &Request, name: &str) -> Option<String> {
    req.headers().get(name).ok().flatten()
}

fn authenticate(req: &Request, ctx: &Ctx) -> Result<Admin, ApiError> {
    let token = header(req, "Authorization")
        .and_then(|h| h.strip_prefix("Bearer ").map(|t| t.trim().to_string()))
        .ok_or_else(|| {
            ApiError::unauthorized("send an admin token as Authorization: Bearer <JWT>")
        })?;
    let verifier = AdminVerifier::new(
        ctx.var("ADMIN_JWT_SECRET").as_deref(),
        ctx.var("ADMIN_JWT_ISSUER").as_deref(),
    );
    let now =
        chrono::DateTime::from_timestamp_millis(js_sys::Date::now() as i64).unwrap_or_default();
    verifier.verify(&token, now).map_err(|e| {
        if e == AuthError::NotConfigured {
            worker::console_error!(
                "[{}] ADMIN_JWT_SECRET is missing or shorter than 32 bytes",
                ctx.request_id
            );
        }
        ApiError::unauthorized("the admin token is not valid")
    })
}

fn require(admin: &Admin, scope: Scope) -> Result<(), ApiError> {
    admin.require(scope).map_err(|_| {
        ApiError::forbidden(format!("this route needs the `{}` scope", scope.as_str()))
    })
}

/// Reads a JSON object body and refuses fields the route does not know.
async fn json_body(
    req: &mut Request,
    limit: usize,
    allowed: &[&str],
) -> Result<Map<String, Value>, ApiError> {
    let bytes = req
        .bytes()
        .await
        .map_err(|_| ApiError::invalid_json("the request body could not be read"))?;
    let body = parse_json_object(header(req, "Content-Type").as_deref(), &bytes, limit)?;
    if let Some(field) = Fields::new(&body).unknown(allowed) {
        return Err(ApiError::unknown_field(&field));
    }
    Ok(body)
}

fn invalid(e: FieldError) -> ApiError {
    ApiError::validation_failed(&e.field, e.message)
}

async fn put_market(req: &mut Request, ctx: &Ctx, code: &str) -> Result<Reply, ApiError> {
    if !is_market_code(code) {
        return Err(ApiError::invalid_parameter(
            "code",
            "a market code is 2 to 16 upper-case letters, digits, `-` or `_`, starting with a letter",
        ));
    }
    let body = json_body(req, BACKOFFICE_BODY_LIMIT, MARKET_FIELDS).await?;
    let market = market_from_request(code, &Fields::new(&body)).map_err(invalid)?;
    let db = ctx.db()?;
    let existing = markets::get(&db, code)
        .await
        .map_err(|e| ctx.store_error(e))?;
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
    db.batch(vec![
        markets::upsert(&db, &market, &now).map_err(|e| ctx.store_error(e))?
    ])
    .await
    .map_err(|e| ctx.store_error(e))?;
    cache::market_changed(&ctx.kv()?, code).await;
    let created_at = existing
        .as_ref()
        .map_or(now.clone(), |s| s.created_at.clone());
    Reply::json(
        if existing.is_some() { 200 } else { 201 },
        &admin_market(&market, &created_at, &now),
    )
}

fn admin_market(market: &Market, created_at: &str, updated_at: &str) -> Value {
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
