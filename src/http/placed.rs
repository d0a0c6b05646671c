//! The answer of an order placed through the till, the same for a storefront's checkout and a
//! draft order staff complete: 201 `{order, order_token, payment}`, and the order counted;
//! and the body both take.

use crate::app::checkout::{PaymentStart, Placed};
use crate::auth::order_token;
use crate::domain::order::PaymentMethod;
use crate::http::error::ApiError;
use crate::http::server::{now_chrono, Ctx, Reply};
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

/// 201 with the order, the token that reads it, and how to pay; the order is counted.
pub fn answer(ctx: &Ctx, placed: Placed, method: PaymentMethod) -> Result<Reply, ApiError> {
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
    let secret = ctx.var("ORDER_TOKEN_SECRET").unwrap_or_default();
    let token = order_token::issue(&order.id, &secret, now_chrono()).ok_or_else(|| {
        ApiError::internal().caused_by("ORDER_TOKEN_SECRET is missing or shorter than 32 bytes")
    })?;
    let payment = match placed.payment {
        PaymentStart::Manual => json!({"provider": "manual", "status": "pending"}),
        PaymentStart::Stripe { client_secret } => {
            json!({"provider": "stripe", "status": "requires_payment_method", "client_secret": client_secret})
        }
    };
    Reply::json(
        201,
        &json!({ "order": placed.order.view(), "order_token": token, "payment": payment }),
    )
}
