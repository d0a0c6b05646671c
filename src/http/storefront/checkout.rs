//! `POST /v1/carts/{id}/checkout`: the key is checked and the client admitted before the key is
//! claimed (a 428, 400 or 429 is not stored); the claim reads the cart in the same round trip;
//! `app::checkout` places the order and keeps the answer for replays in the same write. Two D1
//! round trips (a refusal is stored after, in a third).
//! Each checkout that runs is counted (`metrics`): the order placed, or why it was refused; a
//! replay is not counted again.

use super::Adapters;
use crate::app::checkout::{admit, Keep, PlacedBy, Till};
use crate::app::idempotency::{object_hash, Claim};
use crate::domain::channel::Channel;
use crate::http::body::STOREFRONT_BODY_LIMIT;
use crate::http::error::ApiError;
use crate::http::idempotency::{self, key_of};
use crate::http::reading::json_body;
use crate::http::server::{Ctx, Reply};
use crate::metrics;
use crate::platform::write_metric;

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
    let secret = crate::http::placed::token_secret(ctx)?;
    let a = Adapters::new(req, ctx)?;
    admit(&a.edge).await?;
    let method = crate::http::placed::payment_method(&body)?;
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
        by: PlacedBy::Shopper,
    };
    // The answer is kept by the placement's own write: two round trips, not three.
    let body = |placed: &crate::app::checkout::Placed| crate::http::placed::body(&secret, placed);
    idempotency::once(&a.store, &a.edge, &claim, Some(cart_id), |cart| async {
        let keep = Keep {
            claim: &claim,
            body: &body,
        };
        let placed = till
            .place_kept(cart, method, Some(keep))
            .await
            .map_err(ApiError::from)
            .inspect_err(|e| refused(ctx, e))?;
        crate::http::placed::answer(ctx, &secret, placed, method)
    })
    .await
}
