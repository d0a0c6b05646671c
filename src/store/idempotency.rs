//! Idempotency keys in D1: a request claims its key (or finds the first response), runs, and
//! stores its response (below 500) for replays within 24 hours.

use crate::store::d1::{decode, int, text, Db, StoreError};
use serde::Deserialize;
use worker::D1PreparedStatement;

pub struct Scope<'a> {
    pub channel: &'a str,
    pub key: &'a str,
    pub method: &'a str,
    pub path: &'a str,
}

#[derive(Debug, Deserialize)]
pub struct Record {
    pub body_hash: String,
    pub state: String,
    pub response_status: Option<i64>,
    pub response_body: Option<String>,
}

/// Claims the key with `token` until `expires_at` (a short lease) unless a live record holds it
/// (an expired answer, or a claim whose lease ran out, is taken over),
/// then reads the record: two statements for the caller's first batch.
pub fn claim(
    db: &Db,
    s: &Scope<'_>,
    body_hash: &str,
    token: &str,
    now: &str,
    expires_at: &str,
) -> Result<Vec<D1PreparedStatement>, StoreError> {
    let key = || vec![text(s.channel), text(s.key), text(s.method), text(s.path)];
    let mut params = key();
    params.extend([text(body_hash), text(token), text(now), text(expires_at)]);
    Ok(vec![
        db.statement(
            "INSERT INTO idempotency_keys (channel_id, key, method, path, body_hash, state, response_status, response_body, created_at, expires_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, 'in_flight', NULL, ?6, ?7, ?8) \
             ON CONFLICT (channel_id, key, method, path) DO UPDATE SET body_hash = excluded.body_hash, state = 'in_flight', \
                response_status = NULL, response_body = excluded.response_body, created_at = excluded.created_at, \
                expires_at = excluded.expires_at \
             WHERE idempotency_keys.expires_at <= excluded.created_at",
            &params,
        )?,
        db.statement(
            "SELECT body_hash, state, response_status, response_body FROM idempotency_keys \
             WHERE channel_id = ?1 AND key = ?2 AND method = ?3 AND path = ?4",
            &key(),
        )?,
    ])
}

pub fn decode_record(result: worker::D1Result) -> Result<Option<Record>, StoreError> {
    Ok(decode::<Record>(result)?.into_iter().next())
}

/// Stores the response of the claim holding `token`, replayed until `expires_at`.
pub fn finish(
    db: &Db,
    s: &Scope<'_>,
    token: &str,
    status: u16,
    body: &str,
    expires_at: &str,
) -> Result<D1PreparedStatement, StoreError> {
    db.statement(
        "UPDATE idempotency_keys SET state = 'done', response_status = ?6, response_body = ?7, expires_at = ?8 \
         WHERE channel_id = ?1 AND key = ?2 AND method = ?3 AND path = ?4 AND state = 'in_flight' AND response_body = ?5",
        &[text(s.channel), text(s.key), text(s.method), text(s.path), text(token), int(i64::from(status)), text(body), text(expires_at)],
    )
}

/// Gives the key up after a 5xx, so a retry runs again.
pub fn release(db: &Db, s: &Scope<'_>, token: &str) -> Result<D1PreparedStatement, StoreError> {
    db.statement(
        "DELETE FROM idempotency_keys WHERE channel_id = ?1 AND key = ?2 AND method = ?3 AND path = ?4 \
         AND state = 'in_flight' AND response_body = ?5",
        &[text(s.channel), text(s.key), text(s.method), text(s.path), text(token)],
    )
}
