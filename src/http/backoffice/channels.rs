//! `/admin/v1/channels/{id}`: sales channels, their markets and browser origins, and their
//! publishable keys (generated here, shown once, stored as SHA-256).

use super::{check_id, invalid, only_fields};
use crate::domain::channel::{
    channel_from_request, key_hint, publishable_key_digest, publishable_key_from, CHANNEL_FIELDS,
};
use crate::domain::fields::Fields;
use crate::domain::pagination::{encode_cursor, page_of};
use crate::domain::product::is_resource_id;
use crate::http::error::ApiError;
use crate::http::server::{now_rfc3339, page_request, Ctx, Reply};
use crate::store::cache;
use crate::store::channel_admin::{self, StoredChannel};
use serde_json::{json, Map, Value};

fn new_key() -> String {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).expect("the JS crypto source is always present on Workers");
    publishable_key_from(bytes)
}

fn view(c: &StoredChannel, key: Option<&str>) -> Value {
    let mut v = json!({
        "id": c.id, "name": c.name, "markets": c.market_codes(), "allowed_origins": c.origin_list(),
        "key_hint": c.key_hint, "created_at": c.created_at, "updated_at": c.updated_at,
    });
    if let Some(key) = key {
        v["publishable_key"] = json!(key);
    }
    v
}

async fn load(ctx: &Ctx, id: &str) -> Result<(Option<StoredChannel>, Vec<String>), ApiError> {
    Ok(channel_admin::get_with_markets(&ctx.db()?, id).await?)
}

pub async fn put(ctx: &Ctx, id: &str, body: &Map<String, Value>) -> Result<Reply, ApiError> {
    check_id(id, is_resource_id(id), "channel")?;
    only_fields(body, CHANNEL_FIELDS)?;
    let (existing, markets) = load(ctx, id).await?;
    let input = channel_from_request(&Fields::new(body), &markets).map_err(invalid)?;
    let now = now_rfc3339();
    let key = existing.is_none().then(new_key);
    let digest = key.as_deref().map(publishable_key_digest);
    let hint = key.as_deref().map(key_hint);
    let new_key = match (&digest, &hint) {
        (Some(d), Some(h)) => Some((d.as_str(), h.as_str())),
        _ => None,
    };
    let kept = channel_admin::upsert(&ctx.db()?, id, &input, new_key, &now).await?;
    // Created by this request only if its key is the one stored: a concurrent create that
    // won shows its key, and this one answers as the update it turned into.
    let created = digest.as_deref() == Some(kept.key_hash.as_str());
    if !created {
        cache::channel_changed(&ctx.kv()?, &kept.key_hash).await;
    }
    let stored = StoredChannel {
        id: id.to_string(),
        name: input.name.clone(),
        key_hash: String::new(),
        key_hint: kept.key_hint,
        created_at: kept.created_at,
        updated_at: now,
        markets: json!(input.markets).to_string(),
        origins: json!(input.allowed_origins).to_string(),
    };
    Reply::json(
        if created { 201 } else { 200 },
        &view(&stored, if created { key.as_deref() } else { None }),
    )
}

/// `GET /admin/v1/channels`: by id, with the cursor convention (no key is shown, only its hint).
pub async fn list(ctx: &Ctx, params: &[(String, String)]) -> Result<Reply, ApiError> {
    let page = page_request(params)?;
    let rows = channel_admin::page(&ctx.db()?, page.after.as_deref(), page.limit + 1).await?;
    let page = page_of(rows, page.limit, |c| encode_cursor(&c.id));
    Reply::json(200, &page.views(|c| view(c, None)))
}

pub async fn get(ctx: &Ctx, id: &str) -> Result<Reply, ApiError> {
    check_id(id, is_resource_id(id), "channel")?;
    let channel = load(ctx, id)
        .await?
        .0
        .ok_or_else(|| ApiError::not_found(format!("no channel {id}")))?;
    Reply::json(200, &view(&channel, None))
}

/// A new key for the channel; the old one stops working at once (locally; at the edge within
/// KV's propagation of the cache entry's removal, at most 60 s).
pub async fn rotate_key(ctx: &Ctx, id: &str, body: &Map<String, Value>) -> Result<Reply, ApiError> {
    check_id(id, is_resource_id(id), "channel")?;
    only_fields(body, &[])?;
    let mut channel = load(ctx, id)
        .await?
        .0
        .ok_or_else(|| ApiError::not_found(format!("no channel {id}")))?;
    let key = new_key();
    let now = now_rfc3339();
    channel_admin::rotate_key(
        &ctx.db()?,
        id,
        &publishable_key_digest(&key),
        &key_hint(&key),
        &now,
    )
    .await?;
    cache::channel_changed(&ctx.kv()?, &channel.key_hash).await;
    channel.key_hint = key_hint(&key);
    channel.updated_at = now;
    Reply::json(200, &view(&channel, Some(&key)))
}
