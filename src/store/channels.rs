//! Channels by publishable key: this isolate's memo first (see [`crate::memo`]), then KV (no
//! D1 round trip when warm), D1 on a miss.

use crate::app::channels::{channel_by_digest, KeyCache, KeyDirectory};
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
/// Found channels are kept in this isolate's memo for `memo_ms` and in KV (see
/// [`crate::app::channels`] for why a fill is checked); unknown keys in the memo only.
pub async fn channel_by_key(
    db: &Db,
    kv: &KvStore,
    key: &str,
    memo_ms: f64,
) -> Result<Option<Channel>, StoreError> {
    let digest = publishable_key_digest(key);
    let now = js_sys::Date::now();
    if UNKNOWN
        .with(|m| m.borrow().get(&digest, now, memo_ms))
        .is_some()
    {
        return Ok(None);
    }
    let cache = Cache { kv, now, memo_ms };
    let found = channel_by_digest(&Directory(db), &cache, &digest).await?;
    if found.is_none() {
        UNKNOWN.with(|m| m.borrow_mut().put(&digest, (), now, memo_ms));
    }
    Ok(found)
}

/// The channels in D1.
struct Directory<'a>(&'a Db);

/// What changes when the channel or one of its markets changes.
const VERSION: &str =
    "c.updated_at || '/' || COALESCE((SELECT MAX(m.updated_at) FROM channel_markets cm \
     JOIN markets m ON m.code = cm.market_code WHERE cm.channel_id = c.id), '')";

impl KeyDirectory for Directory<'_> {
    /// One round trip: the channel and its version, its markets in the merchant's order, its
    /// origins.
    async fn channel(&self, digest: &str) -> Result<Option<(Channel, String)>, StoreError> {
        let db = self.0;
        let results = db
            .batch(vec![
                db.statement(
                    &format!("SELECT c.id, c.name, {VERSION} AS version FROM channels c WHERE c.key_hash = ?1"),
                    &[text(digest)],
                )?,
                db.statement(
                    "SELECT m.code, m.currency, m.countries, m.languages, m.tax_inclusive, \
                            m.tax_rates, m.rounding_mode, m.tax_rounding \
                     FROM channels c \
                     JOIN channel_markets cm ON cm.channel_id = c.id \
                     JOIN markets m ON m.code = cm.market_code \
                     WHERE c.key_hash = ?1 ORDER BY cm.position",
                    &[text(digest)],
                )?,
                db.statement(
                    "SELECT co.origin FROM channels c \
                     JOIN channel_origins co ON co.channel_id = c.id \
                     WHERE c.key_hash = ?1 ORDER BY co.origin",
                    &[text(digest)],
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
        Ok(Some((channel, row.version)))
    }

    async fn version(&self, digest: &str) -> Result<Option<String>, StoreError> {
        let rows: Vec<VersionRow> = self
            .0
            .all(self.0.statement(
                &format!("SELECT {VERSION} AS version FROM channels c WHERE c.key_hash = ?1"),
                &[text(digest)],
            )?)
            .await?;
        Ok(rows.into_iter().next().map(|r| r.version))
    }
}

#[derive(serde::Deserialize)]
struct VersionRow {
    version: String,
}

/// This isolate's memo in front of KV.
struct Cache<'a> {
    kv: &'a KvStore,
    now: f64,
    memo_ms: f64,
}

impl KeyCache for Cache<'_> {
    async fn get(&self, digest: &str) -> Option<Channel> {
        if let Some(channel) = CHANNELS.with(|m| m.borrow().get(digest, self.now, self.memo_ms)) {
            return Some(channel);
        }
        let channel = get_json::<Channel>(self.kv, &channel_cache_key(digest)).await?;
        CHANNELS.with(|m| {
            m.borrow_mut()
                .put(digest, channel.clone(), self.now, self.memo_ms)
        });
        Some(channel)
    }

    async fn put(&self, digest: &str, channel: &Channel) {
        put_json(
            self.kv,
            &channel_cache_key(digest),
            channel,
            CHANNEL_TTL_SECONDS,
        )
        .await;
        CHANNELS.with(|m| {
            m.borrow_mut()
                .put(digest, channel.clone(), self.now, self.memo_ms)
        });
    }

    async fn forget(&self, digest: &str) {
        CHANNELS.with(|m| m.borrow_mut().remove(digest));
        if let Err(e) = self.kv.delete(&channel_cache_key(digest)).await {
            worker::console_warn!(
                "kv: dropping a stale channel copy failed (it expires on its own): {e}"
            );
        }
    }
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
