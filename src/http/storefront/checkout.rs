//! `POST /v1/carts/{id}/checkout`: the key is checked and the client admitted before the key is
//! claimed (a 428, 400 or 429 is not stored); the claim reads the cart in the same round trip;
//! `app::checkout` places the order; the answer is stored for replays. Three D1 round trips.
//! Each checkout that runs is counted (`metrics`): the order placed, or why it was refused; a
//! replay is not counted again.

use super::Adapters;
use crate::app::checkout::{admit, PaymentStart, Placed, Till};
use crate::app::idempotency::{object_hash, Claim};
use crate::auth::order_token;
use crate::domain::channel::Channel;
use crate::domain::fields::Fields;
use crate::domain::order::PaymentMethod;
use crate::http::body::STOREFRONT_BODY_LIMIT;
use crate::http::error::ApiError;
use crate::http::idempotency::{self, key_of};
use crate::http::reading::json_body;
use crate::http::server::{now_chrono, Ctx, Reply};
use crate::metrics;
use crate::platform::write_metric;
use serde_json::{json, Value};

pub async fn checkout(
    req: &mut worker::Request,
    ctx: &Ctx,
    channel: &Channel,
    cart_id: &str,
) -> Result<Reply, ApiError> {
    // Refusals inside the claim are answered (and counted) there; these are the ones before
    // it, or of the claim itself (a key reused or in progress).
    place(req, ctx, channel, cart_id)
        .await
        .inspect_err(|e| refused(ctx, e))
}

fn refused(ctx: &Ctx, e: &ApiError) {
    write_metric(&ctx.env, &metrics::checkout_refused(e.code, e.status));
}

async fn place(
    req: &mut worker::Request,
    ctx: &Ctx,
    channel: &Channel,
    cart_id: &str,
) -> Result<Reply, ApiError> {
    let body = json_body(req, STOREFRONT_BODY_LIMIT, false).await?;
    let key = key_of(req)?.ok_or_else(|| {
        ApiError::idempotency_key_required(
            "checkout needs an Idempotency-Key header (a unique value per checkout attempt)",
        )
    })?;
    let a = Adapters::new(req, ctx)?;
    admit(&a.edge).await?;
    Fields::new(&body).only(&["payment_provider"])?;
    let method = body
        .get("payment_provider")
        .and_then(Value::as_str)
        .and_then(PaymentMethod::parse)
        .ok_or_else(|| {
            ApiError::validation_failed("payment_provider", "must be manual or stripe")
        })?;
    let hash = object_hash(&body);
    let claim = Claim::new(
        &a.edge,
        &channel.id,
        key,
        req.path(),
        hash,
        a.settings.checkout_lease_seconds(method),
    );
    let payments = a.payments();
    let till = Till {
        store: &a.store,
        catalog: &a.catalog,
        platform: &a.edge,
        payments: &payments,
        channel,
        settings: &a.settings,
    };
    idempotency::once(&a.store, &a.edge, &claim, Some(cart_id), |cart| async {
        let placed = till
            .place(cart, method)
            .await
            .map_err(ApiError::from)
            .inspect_err(|e| refused(ctx, e))?;
        let order = &placed.order;
        let total = order.total_minor;
        write_metric(
            &ctx.env,
            &metrics::order_placed(&order.market, method.as_str(), &order.currency, total),
        );
        Reply::json(201, &answer(ctx, placed)?)
    })
    .await
}

/// The checkout's answer: the order, the token that reads it, how to pay.
fn answer(ctx: &Ctx, placed: Placed) -> Result<Value, ApiError> {
    let secret = ctx.var("ORDER_TOKEN_SECRET").unwrap_or_default();
    let token = order_token::issue(&placed.order.id, &secret, now_chrono()).ok_or_else(|| {
        ApiError::internal().caused_by("ORDER_TOKEN_SECRET is missing or shorter than 32 bytes")
    })?;
    let payment = match placed.payment {
        PaymentStart::Manual => json!({"provider": "manual", "status": "pending"}),
        PaymentStart::Stripe { client_secret } => {
            json!({"provider": "stripe", "status": "requires_payment_method", "client_secret": client_secret})
        }
    };
    Ok(json!({ "order": placed.order.view(), "order_token": token, "payment": payment }))
}
