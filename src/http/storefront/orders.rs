//! The shopper's orders (`GET /v1/orders/{id}` with the order token or the owner's customer
//! token; `GET /v1/customers/me/orders`) and Stripe's webhook.

use super::{customer, verified_customer, Adapters};
use crate::app::after_sale::{self, Actor, Services};
use crate::app::orders;
use crate::app::payments;
use crate::app::ports::OrderFilter;
use crate::auth::{order_token, stripe_signature};
use crate::domain::channel::Channel;
use crate::domain::order::{Order, ReturnView};
use crate::http::after_sale_body;
use crate::http::body::STOREFRONT_BODY_LIMIT;
use crate::http::error::ApiError;
use crate::http::reading::json_body;
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
    let token = order_bearer(req)?;
    let a = Adapters::new(req, ctx)?;
    let grant = Grant::of(ctx, &token, id).await;
    let order = orders::order_for(&a.store, &channel.id, id, |o| grant.may_see(o)).await?;
    Reply::json(200, &order.shown())
}

/// The order token or customer token a shopper sends for an order.
fn order_bearer(req: &worker::Request) -> Result<String, ApiError> {
    bearer(req).ok_or_else(|| {
        ApiError::unauthorized(
            "send the order token or the customer's token as Authorization: Bearer …",
        )
    })
}

/// What a bearer token grants of order `id`: all of it (its order token), or the orders of
/// the customer a valid customer token names (verified only when the order token does not
/// grant it, before the order is read: a signature check, no D1).
enum Grant {
    OrderToken,
    Customer(String),
    Nothing,
}

impl Grant {
    async fn of(ctx: &Ctx, token: &str, id: &str) -> Grant {
        let secret = ctx.var("ORDER_TOKEN_SECRET").unwrap_or_default();
        if order_token::grants(token, id, &secret, now_chrono()) {
            return Grant::OrderToken;
        }
        match verified_customer(ctx, token).await {
            Some(customer) => Grant::Customer(customer),
            None => Grant::Nothing,
        }
    }

    fn may_see(&self, order: &Order) -> bool {
        match self {
            Grant::OrderToken => true,
            Grant::Customer(customer) => order.customer_id.as_deref() == Some(customer.as_str()),
            Grant::Nothing => false,
        }
    }
}

/// `POST /v1/orders/{id}/returns`: the shopper asks to send lines back (order token or the
/// owner's customer token), within the return window of each line's fulfilment → 201.
pub async fn request_return(
    req: &mut worker::Request,
    ctx: &Ctx,
    channel: &Channel,
    id: &str,
) -> Result<Reply, ApiError> {
    let token = order_bearer(req)?;
    let body = json_body(req, STOREFRONT_BODY_LIMIT, false).await?;
    let a = Adapters::new(req, ctx)?;
    let grant = Grant::of(ctx, &token, id).await;
    let order = orders::order_for(&a.store, &channel.id, id, |o| grant.may_see(o)).await?;
    let (lines, note) = after_sale_body::request(&body, &[]).map_err(ApiError::from)?;
    let stripe = a.payments();
    let services = Services {
        platform: &a.edge,
        refunds: &stripe,
        timeout_ms: a.settings.payment_timeout_ms,
        low_stock_threshold: a.settings.low_stock_threshold,
    };
    let (order, return_id) = after_sale::request_return(
        &a.store,
        &services,
        &order.id,
        Actor::Shopper,
        &lines,
        note,
        a.settings.return_window_days,
    )
    .await?;
    let ret = order
        .returns
        .iter()
        .find(|r| r.id == return_id)
        .ok_or_else(|| ApiError::internal().caused_by("the return just written is missing"))?;
    Reply::json(201, &ReturnView::of(ret))
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
    )
    .await?;
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
