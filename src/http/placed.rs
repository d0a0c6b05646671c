//! The answer of an order placed through the till, the same for a storefront's checkout and a
//! draft order staff complete: 201 `{order, order_token, payment}`, and the order counted;
//! and the body both take.

use crate::app::checkout::{PaymentStart, Placed};
use crate::auth::order_token;
use crate::domain::order::PaymentMethod;
use crate::http::error::ApiError;
use crate::http::server::{Ctx, Reply};
use crate::metrics;
use crate::platform::write_metric;
use serde_json::{json, Map, Value};

/// The body of a checkout or a draft's completion: `{payment_provider: "manual"|"stripe"}`.
pub fn payment_method(body: &Map<String, Value>) -> Result<PaymentMethod, ApiError> {
    crate::domain::fields::Fields::new(body).only(&["payment_provider"])?;
    body.get("payment_provider")
        .and_then(Value::as_str)
        .and_then(PaymentMethod::parse)
        .ok_or_else(|| ApiError::validation_failed("payment_provider", "must be manual or stripe"))
}

/// The secret that signs order tokens, checked before anything is placed: without it, an order
/// would be written and then answered 500, its token and payment link lost.
pub fn token_secret(ctx: &Ctx) -> Result<String, ApiError> {
    match ctx.var("ORDER_TOKEN_SECRET") {
        Some(secret) if secret.len() >= order_token::MIN_SECRET_BYTES => Ok(secret),
        _ => Err(ApiError::misconfigured().caused_by(
            "ORDER_TOKEN_SECRET is missing or shorter than 32 bytes: orders cannot be answered",
        )),
    }
}

/// 201 with the order, the token that reads it (signed with `secret`, from [`token_secret`]),
/// and how to pay ([`body`]); the order is counted.
pub fn answer(
    ctx: &Ctx,
    secret: &str,
    placed: Placed,
    method: PaymentMethod,
) -> Result<Reply, ApiError> {
    let order = &placed.order;
    write_metric(
        &ctx.env,
        &metrics::order_placed(
            &order.market,
            method.as_str(),
            &order.currency,
            order.total_minor,
        ),
    );
    let body = body(secret, &placed).ok_or_else(|| {
        ApiError::internal().caused_by(
            "no order token: ORDER_TOKEN_SECRET is missing or short, or the order has no creation time",
        )
    })?;
    Ok(Reply {
        status: 201,
        body: Some(body),
        headers: Vec::new(),
        cause: None,
        kept: placed.kept,
    })
}

/// The 201 body of a placed order: `{order, order_token, payment}`. The same order gives the
/// same body (the token is signed over the order's id and creation time), so the answer a
/// placement keeps for replays is the one sent. `None` without a usable secret (or an order
/// without its creation time).
pub fn body(secret: &str, placed: &Placed) -> Option<String> {
    let order = &placed.order;
    let issued = chrono::DateTime::parse_from_rfc3339(&order.created_at).ok()?;
    let token = order_token::issue(&order.id, secret, issued.with_timezone(&chrono::Utc))?;
    let payment = match &placed.payment {
        PaymentStart::Manual => json!({"provider": "manual", "status": "pending"}),
        PaymentStart::Stripe { client_secret } => {
            json!({"provider": "stripe", "status": "requires_payment_method", "client_secret": client_secret})
        }
    };
    Some(json!({ "order": order.view(), "order_token": token, "payment": payment }).to_string())
}
