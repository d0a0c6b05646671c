//! Hot SKUs (API.md "Edge scale"): `PUT /admin/v1/inventory/{sku}/mode`, and a hot SKU's stock
//! as inventory reads show it (what its objects hold counted as reserved, so the numbers are
//! the ones checkout goes by).

use super::invalid;
use super::inventory::{current, sku_param};
use crate::domain::hot::{mode_from, Mode, Units, DEFAULT_SHARDS};
use crate::domain::stock;
use crate::http::error::ApiError;
use crate::http::server::{now_rfc3339, random_id, Ctx, Reply};
use crate::store::d1::StoreError;
use crate::store::inventory::{self, Current, Level};
use serde_json::{json, Map, Value};

/// How often a switch reads again when another switch (or the cron's reconciliation) came between.
const SWITCH_ATTEMPTS: usize = 5;

/// The SKU's stock as `GET /admin/v1/inventory/{sku}` shows it; a hot SKU's with `mode` and
/// `shards`, its reservations in its objects counted as reserved.
pub(super) async fn shown(ctx: &Ctx, sku: &str, current: &Current) -> Result<Value, ApiError> {
    let level = current.level.clone().unwrap_or(Level {
        sku: sku.to_string(),
        on_hand: 0,
        reserved: 0,
        available: 0,
        locations: vec![],
    });
    with_objects(ctx, level, current.hot.as_ref().and_then(|h| h.hot())).await
}

/// `level` as inventory reads show it: a hot SKU's (`hot`) with `mode` and `shards`, its
/// reservations in its objects counted as reserved.
pub(super) async fn with_objects(
    ctx: &Ctx,
    mut level: Level,
    hot: Option<crate::domain::hot::HotSku>,
) -> Result<Value, ApiError> {
    let Some(hot) = hot else {
        return Ok(json!(level));
    };
    // What the objects hold for checkouts still in flight: a reservation an order holds already
    // is counted in D1's `reserved` (its settle may not have arrived yet).
    let held = crate::store::hot::in_flight(&ctx.env, &ctx.db()?, &hot).await?;
    add_held(&mut level, &held);
    let mut v = json!(level);
    v["mode"] = json!("hot");
    v["shards"] = json!(hot.shards());
    Ok(v)
}

/// The switch's answer names the mode even when it is normal (`GET` leaves it out then).
fn normal(mut shown: Value) -> Value {
    shown["mode"] = json!("normal");
    shown
}

/// Counts what the objects hold per location as reserved there.
fn add_held(level: &mut Level, held: &Units) {
    for l in &mut level.locations {
        let n = held.get(&l.location).copied().unwrap_or(0);
        l.reserved += n;
        l.available = l.on_hand - l.reserved;
    }
    level.reserved = level.locations.iter().map(|l| l.reserved).sum();
    level.available = level.on_hand - level.reserved;
}

/// `PUT /admin/v1/inventory/{sku}/mode` `{"mode": "hot", "shards": n}` or `{"mode": "normal"}`:
/// 200 with the stock as `GET` shows it. Switching to the mode it is in changes nothing.
pub(super) async fn put_mode(
    ctx: &Ctx,
    raw: &str,
    body: &Map<String, Value>,
    actor: &str,
) -> Result<Reply, ApiError> {
    let sku = sku_param(raw)?;
    let mode = mode_from(body).map_err(invalid)?;
    for _ in 0..SWITCH_ATTEMPTS {
        let read = current(ctx, &sku, stock::MAIN).await?;
        let now_hot = read.hot.as_ref().and_then(|h| h.hot());
        let (shards, reason) = match (mode, &now_hot) {
            (Mode::Normal, None) => {
                return Reply::json(200, &normal(shown(ctx, &sku, &read).await?))
            }
            (Mode::Hot { shards }, Some(h)) if shards.is_none_or(|n| h.shards() as i64 == n) => {
                return Reply::json(200, &shown(ctx, &sku, &read).await?)
            }
            (Mode::Normal, Some(_)) => (0, format!("mode normal, by {actor}")),
            (Mode::Hot { shards }, _) => {
                // Split from what D1 has available as the switch commits: units reserved in
                // an older generation's objects are not counted; their orders, planned on that
                // generation, abort and plan again on this one.
                let shards = shards.unwrap_or(DEFAULT_SHARDS);
                (
                    shards as usize,
                    format!("mode hot, {shards} shards, by {actor}"),
                )
            }
        };
        let id = random_id("adj");
        let now = now_rfc3339();
        match inventory::switch(&ctx.db()?, &sku, &read, shards, &reason, &id, &now).await {
            Ok(()) => {
                let after = current(ctx, &sku, stock::MAIN).await?;
                let shown = shown(ctx, &sku, &after).await?;
                let shown = if shards == 0 { normal(shown) } else { shown };
                return Reply::json(200, &shown);
            }
            Err(StoreError::Refused(_)) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(ApiError::unavailable())
}
