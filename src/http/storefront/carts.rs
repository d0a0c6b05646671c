//! `/v1/carts`: parse the request, call one `app::cart` use case, render the cart with its
//! `ETag`. The rules live in `app::cart` and `domain::cart`.

use super::{customer, Adapters};
use crate::app::cart::{CartShown, CartUpdate, Shop};
use crate::domain::cart::{is_email, parse_if_match, CartRefusal, MAX_QUANTITY};
use crate::domain::channel::Channel;
use crate::domain::fields::Fields;
use crate::domain::product::normalize_sku;
use crate::http::body::STOREFRONT_BODY_LIMIT;
use crate::http::error::ApiError;
use crate::http::reading::json_body;
use crate::http::routes::Storefront;
use crate::http::server::{Ctx, Reply};
use serde_json::{json, Map, Value};

pub async fn dispatch(
    route: Storefront<'_>,
    req: &mut worker::Request,
    ctx: &Ctx,
    channel: &Channel,
) -> Result<Reply, ApiError> {
    let if_match = match parse_if_match(super::header(req, "If-Match").as_deref()) {
        None => None,
        Some(Ok(m)) => Some(m),
        Some(Err(())) => return Err(CartRefusal::VersionMismatch { current: None }.into()),
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
    let a = Adapters::new(req, ctx)?;
    let shop = Shop {
        store: &a.store,
        catalog: &a.catalog,
        platform: &a.edge,
        channel,
        settings: &a.settings,
    };
    let f = Fields::new(&body);
    let shown = match route {
        Storefront::CreateCart => {
            f.only(&["market"])?;
            return Ok(cart_reply(shop.create(f.string("market")).await?, 201));
        }
        Storefront::GetCart { cart } => shop.get(cart).await?,
        Storefront::AddLine { cart } => {
            f.only(&["sku", "quantity"])?;
            let raw = f.string("sku")?;
            let sku = normalize_sku(raw).ok_or_else(|| ApiError::unknown_sku(raw))?;
            shop.add_line(cart, if_match, &sku, quantity(&f, 1, Some(1))?)
                .await?
        }
        Storefront::UpdateLine { cart, line } => {
            f.only(&["quantity"])?;
            shop.set_quantity(cart, if_match, line, quantity(&f, 0, None)?)
                .await?
        }
        Storefront::RemoveLine { cart, line } => shop.set_quantity(cart, if_match, line, 0).await?,
        Storefront::PatchCart { cart } => shop.update(cart, if_match, &cart_update(&body)?).await?,
        Storefront::AddCode { cart } => {
            f.only(&["code"])?;
            shop.add_code(cart, if_match, f.string("code")?).await?
        }
        Storefront::RemoveCode { cart, code } => shop.remove_code(cart, if_match, code).await?,
        Storefront::ShippingMethods { cart } => {
            return Reply::json(200, &json!({ "data": shop.shipping_methods(cart).await? }))
        }
        Storefront::AttachCustomer { cart } => {
            f.only(&[])?;
            let customer = customer(
                req,
                ctx,
                "send the signed-in customer's token as Authorization: Bearer <JWT>",
            )
            .await?;
            if customer.len() > 255 {
                return Err(ApiError::unauthorized("the customer token is not valid"));
            }
            shop.attach_customer(cart, if_match, &customer).await?
        }
        _ => return Err(ApiError::not_found("no route matches this path")),
    };
    Ok(cart_reply(shown, 200))
}

/// A replayed cart answer (an Idempotency-Key's stored status and body) with the `ETag` its
/// first sending carried: the version its body shows. A refusal has none.
pub fn with_replayed_etag(reply: Reply) -> Reply {
    #[derive(serde::Deserialize)]
    struct Versioned {
        version: i64,
    }
    let versioned = (200..300)
        .contains(&reply.status)
        .then_some(reply.body.as_deref())
        .flatten()
        .and_then(|body| serde_json::from_str::<Versioned>(body).ok());
    match versioned {
        Some(v) if !reply.headers.iter().any(|(name, _)| name == "ETag") => {
            reply.header("ETag", format!("\"{}\"", v.version))
        }
        _ => reply,
    }
}

fn cart_reply(shown: CartShown, status: u16) -> Reply {
    Reply::json(status, &shown.view)
        .unwrap_or_else(Reply::from)
        .header("ETag", format!("\"{}\"", shown.version))
}

fn quantity(f: &Fields<'_>, min: i64, default: Option<i64>) -> Result<i64, ApiError> {
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

/// The body of `PATCH /v1/carts/{id}`: a field absent is left alone, `null` clears it.
fn cart_update(body: &Map<String, Value>) -> Result<CartUpdate, ApiError> {
    let f = Fields::new(body);
    f.only(&[
        "email",
        "shipping_address",
        "billing_address",
        "shipping_method",
        "note",
    ])?;
    let mut u = CartUpdate::default();
    if f.has("email") {
        let e = f.string("email")?.trim().to_string();
        if !is_email(&e) {
            return Err(ApiError::validation_failed(
                "email",
                "must be an email address such as name@example.com",
            ));
        }
        u.email = Some(Some(e));
    } else if body.contains_key("email") {
        u.email = Some(None);
    }
    let nullable = |name: &str| {
        body.get(name)
            .map(|v| Some(v.clone()).filter(|v| !v.is_null()))
    };
    u.shipping_address = nullable("shipping_address");
    u.billing_address = nullable("billing_address");
    if body.contains_key("note") {
        u.note = Some(match f.opt_string("note")? {
            Some(n) if n.chars().count() > 2000 => {
                return Err(ApiError::validation_failed(
                    "note",
                    "must be at most 2000 characters",
                ))
            }
            n => n.map(str::to_string),
        });
    }
    u.shipping_method = match body.get("shipping_method") {
        None => None,
        Some(Value::Null) => Some(None),
        Some(Value::String(s)) => Some(Some(s.clone())),
        Some(_) => {
            return Err(ApiError::validation_failed(
                "shipping_method",
                "must be a shipping method id or null",
            ))
        }
    };
    Ok(u)
}
