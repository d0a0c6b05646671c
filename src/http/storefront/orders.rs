//! The shopper's orders (`GET /v1/orders/{id}` with the order token or the owner's customer
//! token; `GET /v1/customers/me/orders`) and Stripe's webhook.

use super::{customer, customer_verifier, Adapters};
use crate::app::orders;
use crate::app::payments;
use crate::app::ports::OrderFilter;
use crate::auth::{order_token, stripe_signature};
use crate::domain::channel::Channel;
use crate::domain::order::Order;
use crate::http::body::STOREFRONT_BODY_LIMIT;
use crate::http::error::ApiError;
use crate::http::reading::read_body;
use crate::http::server::{bearer, header, now_chrono, page_request, Ctx, Reply};
use serde_json::{json, Value};

/// Anything but a token that grants the order is 404: existence is not revealed.
pub async fn get(
    req: &worker::Request,
    ctx: &Ctx,
    channel: &Channel,
    id: &str,
) -> Result<Reply, ApiError> {
    let token = bearer(req).ok_or_else(|| {
        ApiError::unauthorized(
            "send the order token or the customer's token as Authorization: Bearer …",
        )
    })?;
    let a = Adapters::new(req, ctx)?;
    let secret = ctx.var("ORDER_TOKEN_SECRET").unwrap_or_default();
    // The customer token is verified only when the order token does not grant the order.
    let order = orders::order_for(&a.store, &channel.id, id, |o| {
        order_token::grants(&token, &o.id, &secret, now_chrono())
            || o.customer_id.as_deref().is_some_and(|owner| {
                customer_verifier(ctx)
                    .verify(&token, now_chrono())
                    .is_ok_and(|v| v.subject.as_deref() == Some(owner))
            })
    })
    .await?;
    Reply::json(200, &order.shown())
}

pub async fn mine(
    req: &worker::Request,
    ctx: &Ctx,
    channel: &Channel,
    params: &[(String, String)],
) -> Result<Reply, ApiError> {
    let customer_id = customer(
        req,
        ctx,
        "send the customer's token as Authorization: Bearer <JWT>",
    )?;
    let a = Adapters::new(req, ctx)?;
    let filter = OrderFilter::Customer {
        customer_id,
        channel_id: channel.id.clone(),
    };
    let page = orders::newest(&a.store, &filter, &page_request(params)?).await?;
    Reply::json(200, &page.views(Order::shown))
}

/// `POST /v1/payments/stripe/webhook`: verified with `Stripe-Signature` (no publishable key).
pub async fn stripe_webhook(req: &mut worker::Request, ctx: &Ctx) -> Result<Reply, ApiError> {
    let payload = read_body(req, STOREFRONT_BODY_LIMIT).await?;
    // Stripe sends JSON; anything else is refused before the signature is even looked at.
    if !crate::http::body::is_json_media_type(header(req, "Content-Type").as_deref()) {
        return Err(ApiError::unsupported_media_type());
    }
    let secret = ctx.var("STRIPE_WEBHOOK_SECRET").unwrap_or_default();
    let now = (js_sys::Date::now() / 1000.0) as i64;
    stripe_signature::verify(
        header(req, "Stripe-Signature").as_deref(),
        &payload,
        &secret,
        now,
    )
    .map_err(|e| {
        let refused = ApiError::invalid_signature("the Stripe-Signature header does not verify");
        match e {
            stripe_signature::SignatureError::NotConfigured => {
                worker::console_error!("[{}] STRIPE_WEBHOOK_SECRET is not set", ctx.request_id);
                refused
            }
            _ => refused,
        }
    })?;
    let event: Value = serde_json::from_slice(&payload)
        .map_err(|_| ApiError::invalid_json("the event is not JSON"))?;
    let (Some(event_id), Some(kind)) = (event["id"].as_str(), event["type"].as_str()) else {
        return Err(ApiError::validation_failed(
            "id",
            "a Stripe event has an id and a type",
        ));
    };
    let a = Adapters::new(req, ctx)?;
    payments::stripe_event(&a.store, &a.edge, event_id, kind, &event["data"]["object"]).await?;
    Reply::json(200, &json!({ "received": true }))
}
