//! Channels by publishable key: this isolate's memo first (see [`crate::memo`]), then KV (no
//! D1 round trip when warm), D1 on a miss.

use crate::domain::channel::{publishable_key_digest, Channel};
use crate::domain::market::Market;
use crate::memo::Memo;
use crate::store::d1::{decode, text, Db, StoreError};
use crate::store::kv::{get_json, put_json};
use crate::store::rows::{ChannelRow, MarketRow, OriginRow};
use std::cell::RefCell;
use worker::kv::KvStore;

thread_local! {
    /// The channels this isolate resolved recently, by key digest (known keys only).
    static CHANNELS: RefCell<Memo<Channel>> = RefCell::new(Memo::new(256));
    /// Key digests that matched no channel (keys are minted by the server, so an unknown one
    /// never becomes valid): a client stuck on a revoked key costs no KV or D1 read within the
    /// window. Apart from `CHANNELS`, so a flood of made-up keys cannot evict known channels.
    static UNKNOWN: RefCell<Memo<()>> = RefCell::new(Memo::new(1024));
}

/// How long a cached channel may outlive a change made behind the admin API's back.
const CHANNEL_TTL_SECONDS: u64 = 300;

pub fn channel_cache_key(digest: &str) -> String {
    format!("channel:v1:{digest}")
}

/// The channel whose publishable key is `key`, with its markets; `None` when no channel has it.
/// The answer, found or not, is kept in this isolate's memo for `memo_ms`.
pub async fn channel_by_key(
    db: &Db,
    kv: &KvStore,
    key: &str,
    memo_ms: f64,
) -> Result<Option<Channel>, StoreError> {
    let digest = publishable_key_digest(key);
    let now = js_sys::Date::now();
    if let Some(channel) = CHANNELS.with(|m| m.borrow().get(&digest, now, memo_ms)) {
        return Ok(Some(channel));
    }
    if UNKNOWN
        .with(|m| m.borrow().get(&digest, now, memo_ms))
        .is_some()
    {
        return Ok(None);
    }
    let remember = |channel: &Channel| {
        CHANNELS.with(|m| m.borrow_mut().put(&digest, channel.clone(), now, memo_ms));
    };
    let cache_key = channel_cache_key(&digest);
    if let Some(channel) = get_json::<Channel>(kv, &cache_key).await {
        remember(&channel);
        return Ok(Some(channel));
    }
    // One round trip: the channel, its markets in the merchant's order, its origins.
    let results = db
        .batch(vec![
            db.statement(
                "SELECT id, name FROM channels WHERE key_hash = ?1",
                &[text(&digest)],
            )?,
            db.statement(
                "SELECT m.code, m.currency, m.countries, m.languages, m.tax_inclusive, \
                        m.tax_rates, m.rounding_mode, m.tax_rounding \
                 FROM channels c \
                 JOIN channel_markets cm ON cm.channel_id = c.id \
                 JOIN markets m ON m.code = cm.market_code \
                 WHERE c.key_hash = ?1 ORDER BY cm.position",
                &[text(&digest)],
            )?,
            db.statement(
                "SELECT co.origin FROM channels c \
                 JOIN channel_origins co ON co.channel_id = c.id \
                 WHERE c.key_hash = ?1 ORDER BY co.origin",
                &[text(&digest)],
            )?,
        ])
        .await?;
    let mut results = results.into_iter();
    let (Some(channels), Some(markets), Some(origins)) =
        (results.next(), results.next(), results.next())
    else {
        return Err(StoreError::Corrupt(
            "channel batch returned too few results".into(),
        ));
    };
    let Some(row) = decode::<ChannelRow>(channels)?.into_iter().next() else {
        UNKNOWN.with(|m| m.borrow_mut().put(&digest, (), now, memo_ms));
        return Ok(None);
    };
    let markets = decode::<MarketRow>(markets)?
        .into_iter()
        .map(Market::try_from)
        .collect::<Result<Vec<_>, _>>()?;
    let allowed_origins = decode::<OriginRow>(origins)?
        .into_iter()
        .map(|o| o.origin)
        .collect();
    let channel = Channel {
        id: row.id,
        name: row.name,
        markets,
        allowed_origins,
    };
    put_json(kv, &cache_key, &channel, CHANNEL_TTL_SECONDS).await;
    remember(&channel);
    Ok(Some(channel))
}

/// Whether any channel allows `origin` (normalised): what a CORS preflight, which carries no
/// publishable key, can know.
pub async fn origin_is_allowed(db: &Db, origin: &str) -> Result<bool, StoreError> {
    let rows: Vec<OriginRow> = db
        .all(db.statement(
            "SELECT origin FROM channel_origins WHERE origin = ?1 LIMIT 1",
            &[text(origin)],
        )?)
        .await?;
    Ok(!rows.is_empty())
}
