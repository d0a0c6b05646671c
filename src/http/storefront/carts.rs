//! `/v1/carts`: the cart endpoints of API.md. Most mutations are one D1 round trip (guards,
//! change, version bump and the reads, in one batch); those that must price before they write
//! (a discount code, an address or shipping method) read first, then write under a version
//! guard and retry on a concurrent change. Catalog data comes from the KV snapshot.

use super::{header, snapshot};
use crate::auth::jwt::JwtVerifier;
use crate::domain::admin_defs::{normalize_code, DiscountDef, ShippingDef};
use crate::domain::cart::{
    self, address_from, is_email, parse_if_match, CartData, CartRecord, IfMatch, MAX_LINES,
    MAX_QUANTITY,
};
use crate::domain::catalog::CatalogSnapshot;
use crate::domain::channel::Channel;
use crate::domain::fields::{FieldError, Fields};
use crate::domain::market::Market;
use crate::domain::pricing::Usage;
use crate::domain::product::normalize_sku;
use crate::http::body::STOREFRONT_BODY_LIMIT;
use crate::http::error::ApiError;
use crate::http::routes::Storefront;
use crate::http::server::{json_body, now_rfc3339, random_id, Ctx, Reply};
use crate::store::carts::{self, CartPatch, Diagnosis};
use crate::store::d1::{decode, text, Db, StoreError};
use serde_json::{json, Map, Value};

/// Carts live this long after their last change unless `CART_TTL_SECONDS` says otherwise.
const DEFAULT_CART_TTL_SECONDS: i64 = 30 * 24 * 3600;
const MAX_CODES: usize = 5;
const MAX_RETRIES: usize = 4;

pub async fn dispatch(
    route: Storefront<'_>,
    req: &mut worker::Request,
    ctx: &Ctx,
    channel: &Channel,
) -> Result<Reply, ApiError> {
    let if_match = match parse_if_match(header(req, "If-Match").as_deref()) {
        None => None,
        Some(Ok(m)) => Some(m),
        Some(Err(())) => return Err(version_mismatch(None)),
    };
    let body = match route {
        Storefront::CreateCart
        | Storefront::PatchCart { .. }
        | Storefront::AddLine { .. }
        | Storefront::UpdateLine { .. }
        | Storefront::AddCode { .. } => json_body(req, STOREFRONT_BODY_LIMIT, false).await?,
        Storefront::AttachCustomer { .. } => json_body(req, STOREFRONT_BODY_LIMIT, true).await?,
        _ => Map::new(),
    };
    match route {
        Storefront::CreateCart => create(req, ctx, channel, &body).await,
        Storefront::GetCart { cart } => get(ctx, channel, cart).await,
        Storefront::AddLine { cart } => add_line(ctx, channel, cart, if_match, &body).await,
        Storefront::UpdateLine { cart, line } => {
            update_line(ctx, channel, cart, line, if_match, &body).await
        }
        Storefront::RemoveLine { cart, line } => {
            let db = ctx.db()?;
            let statements = carts::set_quantity(&db, cart, line, 0, &now_rfc3339())?;
            one_trip(
                ctx,
                &db,
                channel,
                cart,
                if_match,
                statements,
                Op::Line(line),
            )
            .await
        }
        Storefront::PatchCart { cart } => patch_cart(ctx, channel, cart, if_match, &body).await,
        Storefront::AddCode { cart } => add_code(ctx, channel, cart, if_match, &body).await,
        Storefront::RemoveCode { cart, code } => {
            let code = normalize_code(code)
                .ok_or_else(|| ApiError::not_found("this cart holds no such code"))?;
            let db = ctx.db()?;
            let statements = carts::remove_code(&db, cart, &code)?;
            one_trip(ctx, &db, channel, cart, if_match, statements, Op::Code).await
        }
        Storefront::ShippingMethods { cart } => shipping_methods(ctx, channel, cart).await,
        Storefront::AttachCustomer { cart } => {
            only(&body, &[])?;
            attach_customer(req, ctx, channel, cart, if_match).await
        }
        _ => Err(ApiError::not_found("no route matches this path")),
    }
}

fn invalid(e: FieldError) -> ApiError {
    ApiError::from(e)
}

fn only(body: &Map<String, Value>, allowed: &[&str]) -> Result<(), ApiError> {
    Fields::new(body)
        .unknown(allowed)
        .map_or(Ok(()), |f| Err(ApiError::unknown_field(&f)))
}

fn version_mismatch(current: Option<i64>) -> ApiError {
    let e = ApiError::version_mismatch(
        "the cart changed since the version in If-Match; fetch it and retry",
    );
    match current {
        Some(v) => e.with_details(json!({ "current_version": v })),
        None => e,
    }
}

fn now_secs() -> i64 {
    (js_sys::Date::now() / 1000.0) as i64
}

fn expiry(ctx: &Ctx) -> String {
    let ttl = ctx
        .var("CART_TTL_SECONDS")
        .and_then(|v| v.parse::<i64>().ok())
        .filter(|v| *v > 0)
        .unwrap_or(DEFAULT_CART_TTL_SECONDS);
    let at = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(
        js_sys::Date::now() + (ttl as f64) * 1000.0,
    ));
    String::from(at.to_iso_string())
}

fn market_of<'c>(channel: &'c Channel, cart: &CartRecord) -> Result<&'c Market, ApiError> {
    channel.market(&cart.market).ok_or_else(|| {
        ApiError::cart_not_active("this cart's market is no longer sold on this channel")
    })
}

/// Renders a loaded cart with its ETag.
async fn reply(
    ctx: &Ctx,
    channel: &Channel,
    data: &CartData,
    status: u16,
) -> Result<Reply, ApiError> {
    let market = market_of(channel, &data.cart)?;
    let snap = snapshot(ctx, market).await?;
    let rendered = cart::render(data, market, &snap, now_secs(), &now_rfc3339()).map_err(|e| {
        worker::console_error!(
            "[{}] pricing cart {} failed: {e:?}",
            ctx.request_id,
            data.cart.id
        );
        ApiError::internal()
    })?;
    Ok(Reply::json(status, &rendered.view)?.header("ETag", format!("\"{}\"", data.cart.version)))
}

fn visible(data: Option<CartData>, channel: &Channel) -> Result<CartData, ApiError> {
    data.filter(|d| d.cart.channel_id == channel.id)
        .ok_or_else(|| ApiError::not_found("no such cart"))
}

async fn create(
    req: &worker::Request,
    ctx: &Ctx,
    channel: &Channel,
    body: &Map<String, Value>,
) -> Result<Reply, ApiError> {
    only(body, &["market"])?;
    rate_limit(req, ctx, "CART_RATE_LIMITER", "cart").await?;
    let code = Fields::new(body).string("market").map_err(invalid)?;
    let market = channel.market(code).ok_or_else(|| {
        ApiError::validation_failed(
            "market",
            format!("market `{code}` is not sold on this channel"),
        )
    })?;
    let now = now_rfc3339();
    let record = CartRecord {
        id: random_id("cart"),
        channel_id: channel.id.clone(),
        market: market.code.clone(),
        currency: market.currency.code().to_string(),
        status: "active".into(),
        version: 1,
        customer_id: None,
        email: None,
        shipping_address: None,
        billing_address: None,
        shipping_method_id: None,
        note: None,
        discount_codes: "[]".into(),
        merged_into: None,
        expires_at: expiry(ctx),
        created_at: now.clone(),
        updated_at: now,
    };
    let db = ctx.db()?;
    db.batch(vec![carts::insert_cart(&db, &record)?]).await?;
    let data = CartData {
        cart: record,
        lines: vec![],
        discounts: vec![],
        shipping: None,
        stock: Default::default(),
    };
    reply(ctx, channel, &data, 201).await
}

/// Applies the Workers rate-limiting binding per client IP; a missing binding means no limit
/// (logged), never a failure.
pub async fn rate_limit(
    req: &worker::Request,
    ctx: &Ctx,
    binding: &str,
    what: &str,
) -> Result<(), ApiError> {
    let Ok(limiter) = ctx.env.rate_limiter(binding) else {
        worker::console_warn!(
            "[{}] rate limiter {binding} is not bound; not limiting",
            ctx.request_id
        );
        return Ok(());
    };
    let ip = header(req, "CF-Connecting-IP").unwrap_or_else(|| "unknown".into());
    match limiter.limit(format!("{what}:{ip}")).await {
        Ok(outcome) if !outcome.success => Err(ApiError::rate_limited(60)),
        Ok(_) => Ok(()),
        Err(e) => {
            worker::console_warn!(
                "[{}] rate limiter {binding} failed, allowing: {e}",
                ctx.request_id
            );
            Ok(())
        }
    }
}

async fn get(ctx: &Ctx, channel: &Channel, cart_id: &str) -> Result<Reply, ApiError> {
    let db = ctx.db()?;
    let data = visible(carts::load(&db, cart_id).await?, channel)?;
    reply(ctx, channel, &data, 200).await
}

/// What a one-trip mutation touched, for explaining a refusal.
enum Op<'a> {
    Add { sku: &'a str, quantity: i64 },
    Line(&'a str),
    Code,
    Customer(&'a str),
}

/// Runs a mutation in one batch; on a refusal, finds out which rule refused it.
async fn one_trip(
    ctx: &Ctx,
    db: &Db,
    channel: &Channel,
    cart_id: &str,
    if_match: Option<IfMatch>,
    statements: Vec<worker::D1PreparedStatement>,
    op: Op<'_>,
) -> Result<Reply, ApiError> {
    let now = now_rfc3339();
    let guards = carts::guards(db, cart_id, &channel.id, &now, if_match)?;
    match carts::mutate(db, cart_id, guards, statements, &now, &expiry(ctx)).await {
        Ok(Some(data)) => reply(ctx, channel, &data, 200).await,
        Ok(None) => Err(ApiError::not_found("no such cart")),
        Err(StoreError::Refused(cause)) => {
            let d = carts::diagnose(
                db,
                cart_id,
                match op {
                    Op::Line(l) => Some(l),
                    _ => None,
                },
                match op {
                    Op::Add { sku, .. } => Some(sku),
                    _ => None,
                },
            )
            .await?;
            Err(
                explain(&d, channel, if_match, &op, &now).unwrap_or_else(|| {
                    worker::console_error!(
                        "[{}] cart write refused for no known reason: {cause}",
                        ctx.request_id
                    );
                    ApiError::unavailable()
                }),
            )
        }
        Err(e) => Err(ApiError::from(e)),
    }
}

/// Maps a diagnosis to the error the client gets.
fn explain(
    d: &Diagnosis,
    channel: &Channel,
    if_match: Option<IfMatch>,
    op: &Op<'_>,
    now: &str,
) -> Option<ApiError> {
    if d.channel_id.as_deref() != Some(channel.id.as_str()) {
        return Some(ApiError::not_found("no such cart"));
    }
    let status = d.status.as_deref().unwrap_or("");
    if status != "active" || d.expires_at.as_deref().is_some_and(|e| e <= now) {
        let shown = if status == "active" {
            "expired"
        } else {
            status
        };
        return Some(ApiError::cart_not_active(format!(
            "this cart is {shown}; it can no longer change"
        )));
    }
    if let Some(IfMatch::Version(v)) = if_match {
        if d.version != Some(v) {
            return Some(version_mismatch(d.version));
        }
    }
    match op {
        Op::Add { sku, quantity } => {
            if d.sellable.is_none() {
                return Some(ApiError::unknown_sku(sku));
            }
            let after = d.line_quantity.unwrap_or(0) + quantity;
            if after > MAX_QUANTITY {
                return Some(ApiError::validation_failed(
                    "quantity",
                    format!(
                        "a line holds at most {MAX_QUANTITY}; this cart already has {} of {sku}",
                        d.line_quantity.unwrap_or(0)
                    ),
                ));
            }
            if d.line_quantity.is_none() && d.line_count >= MAX_LINES {
                return Some(ApiError::validation_failed(
                    "sku",
                    format!("a cart holds at most {MAX_LINES} lines"),
                ));
            }
            let available = d.available.unwrap_or(0).max(0);
            if after > available {
                return Some(ApiError::insufficient_stock(sku, available));
            }
            None
        }
        Op::Line(_) => {
            let Some(sku) = &d.line_sku else {
                return Some(ApiError::not_found("this cart has no such line"));
            };
            Some(ApiError::insufficient_stock(
                sku,
                d.available.unwrap_or(0).max(0),
            ))
        }
        Op::Code => Some(ApiError::not_found("this cart holds no such code")),
        Op::Customer(sub) => (d.customer_id.as_deref().is_some_and(|c| c != *sub))
            .then(|| ApiError::forbidden("this cart belongs to another customer")),
    }
}

fn quantity(body: &Map<String, Value>, min: i64, default: Option<i64>) -> Result<i64, ApiError> {
    let f = Fields::new(body);
    match (f.has("quantity"), default) {
        (false, Some(d)) => Ok(d),
        _ => f.int("quantity", min..=MAX_QUANTITY).map_err(|_| {
            ApiError::validation_failed(
                "quantity",
                format!("quantity must be an integer from {min} to {MAX_QUANTITY}"),
            )
        }),
    }
}

async fn add_line(
    ctx: &Ctx,
    channel: &Channel,
    cart_id: &str,
    if_match: Option<IfMatch>,
    body: &Map<String, Value>,
) -> Result<Reply, ApiError> {
    only(body, &["sku", "quantity"])?;
    let raw = Fields::new(body).string("sku").map_err(invalid)?;
    let sku = normalize_sku(raw).ok_or_else(|| ApiError::unknown_sku(raw))?;
    let qty = quantity(body, 1, Some(1))?;
    let db = ctx.db()?;
    let statements = carts::add_line(
        &db,
        cart_id,
        &random_id("line"),
        &sku,
        qty,
        &now_rfc3339(),
        MAX_LINES,
    )?;
    one_trip(
        ctx,
        &db,
        channel,
        cart_id,
        if_match,
        statements,
        Op::Add {
            sku: &sku,
            quantity: qty,
        },
    )
    .await
}

async fn update_line(
    ctx: &Ctx,
    channel: &Channel,
    cart_id: &str,
    line_id: &str,
    if_match: Option<IfMatch>,
    body: &Map<String, Value>,
) -> Result<Reply, ApiError> {
    only(body, &["quantity"])?;
    let qty = quantity(body, 0, None)?;
    let db = ctx.db()?;
    let statements = carts::set_quantity(&db, cart_id, line_id, qty, &now_rfc3339())?;
    one_trip(
        ctx,
        &db,
        channel,
        cart_id,
        if_match,
        statements,
        Op::Line(line_id),
    )
    .await
}

/// Read, decide, then write under a guard on the version read. Without `If-Match`, a
/// concurrent change makes it start over (nothing is lost); with it, the client gets 412.
async fn read_then_write<F>(
    ctx: &Ctx,
    channel: &Channel,
    cart_id: &str,
    if_match: Option<IfMatch>,
    extra: Option<(&str, Vec<wasm_bindgen::JsValue>)>,
    decide: F,
) -> Result<Reply, ApiError>
where
    F: Fn(
        &CartData,
        &Market,
        &CatalogSnapshot,
        Vec<worker::D1Result>,
    ) -> Result<Option<CartPatch>, ApiError>,
{
    let db = ctx.db()?;
    for _ in 0..MAX_RETRIES {
        let mut reads = carts::reads(&db, cart_id)?;
        if let Some((sql, params)) = &extra {
            reads.push(db.statement(sql, params)?);
        }
        let mut results = db.batch(reads).await?;
        let extra_rows = results.split_off(carts::READS);
        let data = visible(carts::decode_reads(results)?, channel)?;
        let now = now_rfc3339();
        if data.cart.status_at(&now) != "active" {
            return Err(ApiError::cart_not_active(format!(
                "this cart is {}; it can no longer change",
                data.cart.status_at(&now)
            )));
        }
        if let Some(IfMatch::Version(v)) = if_match {
            if v != data.cart.version {
                return Err(version_mismatch(Some(data.cart.version)));
            }
        }
        let market = market_of(channel, &data.cart)?;
        let snap = snapshot(ctx, market).await?;
        let Some(patch) = decide(&data, market, &snap, extra_rows)? else {
            return reply(ctx, channel, &data, 200).await;
        };
        let guards = carts::guards(
            &db,
            cart_id,
            &channel.id,
            &now,
            Some(IfMatch::Version(data.cart.version)),
        )?;
        let statement = carts::patch(&db, cart_id, &patch)?;
        match carts::mutate(
            &db,
            cart_id,
            guards,
            statement.into_iter().collect(),
            &now,
            &expiry(ctx),
        )
        .await
        {
            Ok(Some(data)) => return reply(ctx, channel, &data, 200).await,
            Ok(None) => return Err(ApiError::not_found("no such cart")),
            Err(StoreError::Refused(_)) if if_match.is_none() => continue,
            Err(StoreError::Refused(_)) => {
                let d = carts::diagnose(&db, cart_id, None, None).await?;
                return Err(explain(&d, channel, if_match, &Op::Code, &now)
                    .unwrap_or_else(|| version_mismatch(d.version)));
            }
            Err(e) => return Err(ApiError::from(e)),
        }
    }
    Err(ApiError::unavailable())
}

const PATCH_FIELDS: &[&str] = &[
    "email",
    "shipping_address",
    "billing_address",
    "shipping_method",
    "note",
];

async fn patch_cart(
    ctx: &Ctx,
    channel: &Channel,
    cart_id: &str,
    if_match: Option<IfMatch>,
    body: &Map<String, Value>,
) -> Result<Reply, ApiError> {
    only(body, PATCH_FIELDS)?;
    let method_id = match body.get("shipping_method") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => {
            return Err(ApiError::validation_failed(
                "shipping_method",
                "must be a shipping method id or null",
            ))
        }
    };
    let extra = method_id.as_ref().map(|id| {
        (
            "SELECT id, name, countries, rates, enabled FROM shipping_methods WHERE id = ?1",
            vec![text(id)],
        )
    });
    read_then_write(
        ctx,
        channel,
        cart_id,
        if_match,
        extra,
        |data, market, _snap, extra_rows| {
            let f = Fields::new(body);
            let mut p = CartPatch::default();
            if f.has("email") {
                let e = f.string("email").map_err(invalid)?.trim().to_string();
                if !is_email(&e) {
                    return Err(ApiError::validation_failed(
                        "email",
                        "must be an email address such as name@example.com",
                    ));
                }
                p.email = Some(Some(e));
            } else if body.contains_key("email") {
                p.email = Some(None);
            }
            let mut country = data.cart.shipping().map(|a| a.country);
            for name in ["shipping_address", "billing_address"] {
                match body.get(name) {
                    None => {}
                    Some(Value::Null) => {
                        if name == "shipping_address" {
                            country = None;
                            p.shipping_address = Some(None);
                        } else {
                            p.billing_address = Some(None);
                        }
                    }
                    Some(v) => {
                        let a = address_from(v, name, &market.countries).map_err(invalid)?;
                        let json = serde_json::to_string(&a).map_err(|_| ApiError::internal())?;
                        if name == "shipping_address" {
                            country = Some(a.country.clone());
                            p.shipping_address = Some(Some(json));
                        } else {
                            p.billing_address = Some(Some(json));
                        }
                    }
                }
            }
            if body.contains_key("note") {
                p.note = Some(match f.opt_string("note").map_err(invalid)? {
                    None => None,
                    Some(n) if n.chars().count() > 2000 => {
                        return Err(ApiError::validation_failed(
                            "note",
                            "must be at most 2000 characters",
                        ))
                    }
                    Some(n) => Some(n.to_string()),
                });
            }
            if body.contains_key("shipping_method") {
                p.shipping_method_id = Some(match &method_id {
                    None => None,
                    Some(id) => {
                        // The address above is applied first: the method must ship to it.
                        let row = extra_rows
                            .into_iter()
                            .next()
                            .map(decode::<carts::ShippingRow>)
                            .transpose()
                            .map_err(|_| ApiError::internal())?
                            .and_then(|rows| rows.into_iter().next());
                        let def: Option<ShippingDef> = row
                            .map(|r| r.def())
                            .transpose()
                            .map_err(|_| ApiError::internal())?;
                        let offered = def.as_ref().and_then(|d| d.for_market(&market.code));
                        let Some(method) = offered else {
                            return Err(ApiError::validation_failed(
                                "shipping_method",
                                format!(
                                    "shipping method `{id}` is not offered in market {}",
                                    market.code
                                ),
                            ));
                        };
                        if let Some(c) = &country {
                            if !method.countries.is_empty() && !method.countries.contains(c) {
                                return Err(ApiError::validation_failed(
                                    "shipping_method",
                                    format!("shipping method `{id}` does not deliver to {c}"),
                                ));
                            }
                        }
                        Some(id.clone())
                    }
                });
            }
            Ok(Some(p))
        },
    )
    .await
}

async fn add_code(
    ctx: &Ctx,
    channel: &Channel,
    cart_id: &str,
    if_match: Option<IfMatch>,
    body: &Map<String, Value>,
) -> Result<Reply, ApiError> {
    only(body, &["code"])?;
    let raw = Fields::new(body).string("code").map_err(invalid)?;
    let not_applicable =
        |reason: &str, message: String| ApiError::discount_not_applicable(reason, message);
    let Some(code) = normalize_code(raw) else {
        return Err(not_applicable(
            "unknown_code",
            "This code does not exist.".into(),
        ));
    };
    let extra = (
        "SELECT d.definition, d.times_used, 0 AS by_customer FROM discounts d WHERE d.code = ?1 AND d.enabled = 1",
        vec![text(&code)],
    );
    let db_code = code.clone();
    read_then_write(
        ctx,
        channel,
        cart_id,
        if_match,
        Some(extra),
        move |data, market, snap, extra_rows| {
            let mut codes = data.cart.codes();
            if codes.contains(&db_code) {
                return Ok(None);
            }
            if codes.len() >= MAX_CODES {
                return Err(ApiError::validation_failed(
                    "code",
                    format!("a cart holds at most {MAX_CODES} codes"),
                ));
            }
            #[derive(serde::Deserialize)]
            struct Row {
                definition: String,
                times_used: i64,
            }
            let row = extra_rows
                .into_iter()
                .next()
                .map(decode::<Row>)
                .transpose()
                .map_err(|_| ApiError::internal())?
                .and_then(|rows| rows.into_iter().next());
            let Some(row) = row else {
                return Err(not_applicable(
                    "unknown_code",
                    "This code does not exist.".into(),
                ));
            };
            let def: DiscountDef =
                serde_json::from_str(&row.definition).map_err(|_| ApiError::internal())?;
            codes.push(db_code.clone());
            // Price the cart as it would be with the code; refuse the code if it does not apply.
            let mut trial = CartData {
                cart: CartRecord {
                    discount_codes: json!(codes).to_string(),
                    ..data.cart.clone()
                },
                lines: data.lines.clone(),
                discounts: data.discounts.clone(),
                shipping: data.shipping.clone(),
                stock: data.stock.clone(),
            };
            trial.discounts.retain(|(d, _)| d.id != def.id);
            trial.discounts.push((
                def,
                Usage {
                    total: row.times_used.max(0) as u32,
                    by_customer: 0,
                },
            ));
            // The shopper learns at once why a code does not apply; it is then not kept.
            let rendered = cart::render(&trial, market, snap, now_secs(), &now_rfc3339())
                .map_err(|_| ApiError::internal())?;
            match rendered.priced.codes.iter().find(|c| c.code == db_code) {
                Some(c) if c.applicable => Ok(Some(CartPatch {
                    discount_codes: Some(trial.cart.discount_codes.clone()),
                    ..CartPatch::default()
                })),
                Some(c) => Err(not_applicable(
                    c.reason.unwrap_or("not_applicable"),
                    c.message.clone(),
                )),
                None => Err(not_applicable(
                    "unknown_code",
                    "This code does not exist.".into(),
                )),
            }
        },
    )
    .await
}

async fn shipping_methods(ctx: &Ctx, channel: &Channel, cart_id: &str) -> Result<Reply, ApiError> {
    let db = ctx.db()?;
    let mut reads = carts::reads(&db, cart_id)?;
    reads.push(
        db.statement("SELECT id, name, countries, rates, enabled FROM shipping_methods WHERE enabled = 1 ORDER BY id", &[])
            ?,
    );
    let mut results = db.batch(reads).await?;
    let methods = results.split_off(carts::READS);
    let data = visible(carts::decode_reads(results)?, channel)?;
    let market = market_of(channel, &data.cart)?;
    let snap = snapshot(ctx, market).await?;
    let rows = methods
        .into_iter()
        .next()
        .map(decode::<carts::ShippingRow>)
        .transpose()?
        .unwrap_or_default();
    let mut out = Vec::new();
    for row in rows {
        let def = row.def()?;
        if def.for_market(&market.code).is_none() {
            continue;
        }
        let trial = CartData {
            cart: CartRecord {
                shipping_method_id: Some(def.id.clone()),
                ..data.cart.clone()
            },
            lines: data.lines.clone(),
            discounts: data.discounts.clone(),
            shipping: Some(def.clone()),
            stock: data.stock.clone(),
        };
        let rendered = cart::render(&trial, market, &snap, now_secs(), &now_rfc3339())
            .map_err(|_| ApiError::internal())?;
        if let Some(s) = rendered.priced.shipping {
            out.push(json!({"id": def.id, "name": def.name, "price": s.price}));
        }
    }
    Reply::json(200, &json!({ "data": out }))
}

async fn attach_customer(
    req: &worker::Request,
    ctx: &Ctx,
    channel: &Channel,
    cart_id: &str,
    if_match: Option<IfMatch>,
) -> Result<Reply, ApiError> {
    let token = header(req, "Authorization")
        .and_then(|h| h.strip_prefix("Bearer ").map(|t| t.trim().to_string()))
        .ok_or_else(|| {
            ApiError::unauthorized(
                "send the signed-in customer's token as Authorization: Bearer <JWT>",
            )
        })?;
    let verifier = JwtVerifier::new(
        ctx.var("CUSTOMER_JWT_SECRET").as_deref(),
        ctx.var("CUSTOMER_JWT_PUBLIC_KEYS").as_deref(),
        ctx.var("CUSTOMER_JWT_AUDIENCE").as_deref(),
        ctx.var("CUSTOMER_JWT_ISSUER").as_deref(),
    );
    let now =
        chrono::DateTime::from_timestamp_millis(js_sys::Date::now() as i64).unwrap_or_default();
    let customer = verifier
        .verify(&token, now)
        .ok()
        .and_then(|v| v.subject)
        .filter(|s| s.len() <= 255)
        .ok_or_else(|| ApiError::unauthorized("the customer token is not valid"))?;
    let db = ctx.db()?;
    let when = now_rfc3339();
    let mut statements = vec![carts::owner_guard(&db, cart_id, &customer)?];
    statements.extend(carts::attach_customer(
        &db,
        cart_id,
        &channel.id,
        &customer,
        &when,
    )?);
    one_trip(
        ctx,
        &db,
        channel,
        cart_id,
        if_match,
        statements,
        Op::Customer(&customer),
    )
    .await
}
