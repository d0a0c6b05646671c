//! Channels as the back office writes them. Only the SHA-256 of a publishable key is stored;
//! the key itself is shown once, when the channel is created or its key rotated.

use crate::domain::channel::ChannelInput;
use crate::store::d1::{decode, json_param, text, Db, StoreError};
use serde::Deserialize;
use serde_json::json;

#[derive(Debug, Clone, Deserialize)]
pub struct StoredChannel {
    pub id: String,
    pub name: String,
    pub key_hash: String,
    pub key_hint: String,
    pub created_at: String,
    pub updated_at: String,
    /// JSON array text.
    pub markets: String,
    /// JSON array text.
    pub origins: String,
}

impl StoredChannel {
    pub fn market_codes(&self) -> Vec<String> {
        serde_json::from_str(&self.markets).unwrap_or_default()
    }

    pub fn origin_list(&self) -> Vec<String> {
        serde_json::from_str(&self.origins).unwrap_or_default()
    }
}

#[derive(Deserialize)]
struct Code {
    code: String,
}

/// The channel (if any) and every market code: one round trip.
pub async fn get_with_markets(
    db: &Db,
    id: &str,
) -> Result<(Option<StoredChannel>, Vec<String>), StoreError> {
    let results = db
        .batch(vec![
            db.statement(
                "SELECT c.id, c.name, c.key_hash, c.key_hint, c.created_at, c.updated_at, \
                   (SELECT json_group_array(market_code) FROM \
                      (SELECT market_code FROM channel_markets WHERE channel_id = c.id ORDER BY position)) AS markets, \
                   (SELECT json_group_array(origin) FROM \
                      (SELECT origin FROM channel_origins WHERE channel_id = c.id ORDER BY origin)) AS origins \
                 FROM channels c WHERE c.id = ?1",
                &[text(id)],
            )?,
            db.statement("SELECT code FROM markets ORDER BY code", &[])?,
        ])
        .await?;
    let mut r = results.into_iter();
    let (Some(channel), Some(markets)) = (r.next(), r.next()) else {
        return Err(StoreError::Corrupt(
            "channel batch returned too few results".into(),
        ));
    };
    Ok((
        decode::<StoredChannel>(channel)?.into_iter().next(),
        decode::<Code>(markets)?
            .into_iter()
            .map(|c| c.code)
            .collect(),
    ))
}

/// A page of channels by id, after `after`, at most `limit`: one round trip.
pub async fn page(
    db: &Db,
    after: Option<&str>,
    limit: usize,
) -> Result<Vec<StoredChannel>, StoreError> {
    db.all(db.statement(
        "SELECT c.id, c.name, c.key_hash, c.key_hint, c.created_at, c.updated_at, \
           (SELECT json_group_array(market_code) FROM \
              (SELECT market_code FROM channel_markets WHERE channel_id = c.id ORDER BY position)) AS markets, \
           (SELECT json_group_array(origin) FROM \
              (SELECT origin FROM channel_origins WHERE channel_id = c.id ORDER BY origin)) AS origins \
         FROM channels c WHERE c.id > ?1 ORDER BY c.id LIMIT ?2",
        &[text(after.unwrap_or("")), crate::store::d1::int(limit as i64)],
    )?)
    .await
}

/// The key and creation time a channel has after an upsert.
#[derive(Debug, Clone, Deserialize)]
pub struct Kept {
    pub key_hash: String,
    pub key_hint: String,
    pub created_at: String,
}

/// Creates or updates a channel in one batch. `new_key` is `(hash, hint)` for a channel that
/// did not exist when read (an update keeps its key). Returns the key the channel has now:
/// when two requests create the same channel at once, only the first one's key is stored, and
/// the other learns here that it updated instead.
pub async fn upsert(
    db: &Db,
    id: &str,
    input: &ChannelInput,
    new_key: Option<(&str, &str)>,
    now: &str,
) -> Result<Kept, StoreError> {
    let (hash, hint) = new_key.unwrap_or(("", ""));
    let markets = json_param(&json!(input.markets));
    let origins = json_param(&json!(input.allowed_origins));
    let results = db
        .batch(vec![
        db.statement(
            "INSERT INTO channels (id, name, key_hash, key_hint, created_at, updated_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?5) \
             ON CONFLICT (id) DO UPDATE SET name = excluded.name, updated_at = excluded.updated_at \
             RETURNING key_hash, key_hint, created_at",
            &[
                text(id),
                text(&input.name),
                text(hash),
                text(hint),
                text(now),
            ],
        )?,
        db.statement(
            "DELETE FROM channel_markets WHERE channel_id = ?1",
            &[text(id)],
        )?,
        db.statement(
            "INSERT INTO channel_markets (channel_id, market_code, position) \
             SELECT ?1, value, CAST(key AS INTEGER) FROM json_each(?2)",
            &[text(id), markets],
        )?,
        db.statement(
            "DELETE FROM channel_origins WHERE channel_id = ?1",
            &[text(id)],
        )?,
        db.statement(
            "INSERT INTO channel_origins (channel_id, origin) SELECT ?1, value FROM json_each(?2)",
            &[text(id), origins],
        )?,
    ])
        .await?;
    results
        .into_iter()
        .next()
        .map(decode::<Kept>)
        .transpose()?
        .and_then(|rows| rows.into_iter().next())
        .ok_or_else(|| StoreError::Corrupt("the channel upsert returned no row".into()))
}

/// Replaces the channel's key; the old one stops working at once in D1.
pub async fn rotate_key(
    db: &Db,
    id: &str,
    hash: &str,
    hint: &str,
    now: &str,
) -> Result<(), StoreError> {
    db.batch(vec![db.statement(
        "UPDATE channels SET key_hash = ?2, key_hint = ?3, updated_at = ?4 WHERE id = ?1",
        &[text(id), text(hash), text(hint), text(now)],
    )?])
    .await?;
    Ok(())
}
