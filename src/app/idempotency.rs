//! Idempotency keys: a POST that sends `Idempotency-Key` claims it, runs once, and its answer
//! (below 500) is replayed for the same key and body for 24 hours; another body under the key
//! is 422, a duplicate while the first runs is 409. A claim is a short lease, so a request
//! whose Worker died cannot lock its key for a day. [`once`] is the whole flow; the HTTP
//! middleware (`http::idempotency`) wraps a handler in it.

use crate::app::ports::{iso_at, Clock, Ids, Log, StoreError};
use crate::app::Failure;
use crate::domain::cart::CartData;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use std::future::Future;

/// How long an answer is replayed.
pub const KEEP_SECONDS: f64 = 24.0 * 3600.0;
/// How long a claim holds before a retry may take the key over; longer than any request
/// runs. `IDEMPOTENCY_LEASE_SECONDS` overrides it (at most [`KEEP_SECONDS`]).
pub const DEFAULT_LEASE_SECONDS: f64 = 60.0;

/// A key as claimed by one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    pub channel: String,
    pub key: String,
    pub method: String,
    pub path: String,
    pub body_hash: String,
    /// Proves which request holds the claim.
    pub token: String,
    pub now: String,
    pub lease_until: String,
}

/// What the key holds after the claim.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct KeyRecord {
    pub body_hash: String,
    /// `in_flight` or `done`.
    pub state: String,
    pub response_status: Option<i64>,
    /// The stored answer once done; the holder's token while in flight.
    pub response_body: Option<String>,
}

impl Claim {
    /// A new claim of `key` by this request for a POST to `path` in `scope` (a channel, or an
    /// admin's subject), held for `lease_seconds`.
    pub fn new(
        platform: &(impl Clock + Ids),
        scope: &str,
        key: String,
        path: String,
        body_hash: String,
        lease_seconds: f64,
    ) -> Claim {
        let now_ms = platform.now_ms();
        Claim {
            channel: scope.to_string(),
            key,
            method: "POST".into(),
            path,
            body_hash,
            token: platform.id("claim"),
            now: iso_at(now_ms),
            lease_until: iso_at(now_ms + lease_seconds * 1000.0),
        }
    }
}

/// What a claimed key lets the request do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claimed {
    /// This request holds the key: run it.
    Run,
    /// The first request's answer, to send again.
    Replay { status: u16, body: Option<String> },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdempotencyRefusal {
    /// The key was used with another request body.
    KeyReused,
    /// The first request with this key is still running.
    InProgress,
}

/// Decides from the record read right after the claim.
pub fn decide(
    record: Option<&KeyRecord>,
    token: &str,
    body_hash: &str,
) -> Result<Claimed, IdempotencyRefusal> {
    match record {
        Some(r) if r.state == "in_flight" && r.response_body.as_deref() == Some(token) => {
            Ok(Claimed::Run)
        }
        Some(r) if r.body_hash != body_hash => Err(IdempotencyRefusal::KeyReused),
        Some(r) if r.state == "done" => Ok(Claimed::Replay {
            status: r.response_status.unwrap_or(200) as u16,
            body: r.response_body.clone(),
        }),
        _ => Err(IdempotencyRefusal::InProgress),
    }
}

/// 1 to 255 visible ASCII characters.
pub fn valid_key(key: &str) -> bool {
    !key.is_empty() && key.len() <= 255 && key.bytes().all(|b| (0x21..0x7f).contains(&b))
}

/// The SHA-256 (hex) of a body: JSON canonically (keys sorted at every depth, so the same
/// document hashes the same however its keys were ordered), anything else as its bytes.
pub fn body_hash(bytes: &[u8]) -> String {
    match serde_json::from_slice::<Value>(bytes) {
        Ok(v) => digest(canonical(&v).as_bytes()),
        Err(_) => digest(bytes),
    }
}

/// [`body_hash`] of a JSON object body already parsed (the same hash as its bytes give).
pub fn object_hash(body: &Map<String, Value>) -> String {
    digest(canonical_object(body).as_bytes())
}

/// SHA-256 in hex.
pub fn digest(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Equal JSON gives equal text: object keys sorted at every depth.
fn canonical(v: &Value) -> String {
    match v {
        Value::Object(m) => canonical_object(m),
        Value::Array(a) => format!(
            "[{}]",
            a.iter().map(canonical).collect::<Vec<_>>().join(",")
        ),
        other => other.to_string(),
    }
}

fn canonical_object(m: &Map<String, Value>) -> String {
    let mut keys: Vec<&String> = m.keys().collect();
    keys.sort();
    let parts: Vec<String> = keys
        .iter()
        .map(|k| format!("{}:{}", Value::from(k.as_str()), canonical(&m[*k])))
        .collect();
    format!("{{{}}}", parts.join(","))
}

/// Whether an answer is stored for replay (below 500) or the key given up (so a retry runs).
pub fn keeps(status: u16) -> bool {
    status < 500
}

/// What running a request under its key gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Once<T> {
    /// The first request's answer, sent again.
    Replayed { status: u16, body: Option<String> },
    /// This request ran: its answer.
    Ran(T),
}

/// Claims the key (with `cart`, reading that cart in the same round trip for `run`), then
/// replays the stored answer or runs `run` once and stores its answer (`answer` gives its
/// status, its body, and whether `run`'s own write kept it already) below 500, or gives the
/// key up from 500 so a retry runs again. A failure to store is logged: the request's own
/// answer still goes out.
///
/// # Errors
/// The key's refusal (another body, still in flight); storage failing at the claim.
pub async fn once<S, P, T, F, Fut>(
    store: &S,
    platform: &P,
    claim: &Claim,
    cart: Option<&str>,
    run: F,
    answer: impl Fn(&T) -> (u16, Option<&str>, bool),
) -> Result<Once<T>, Failure<IdempotencyRefusal>>
where
    S: IdempotencyStore,
    P: Clock + Log,
    F: FnOnce(Option<CartData>) -> Fut,
    Fut: Future<Output = T>,
{
    let (record, data) = store.claim(claim, cart).await?;
    match decide(record.as_ref(), &claim.token, &claim.body_hash).map_err(Failure::Refused)? {
        Claimed::Replay { status, body } => return Ok(Once::Replayed { status, body }),
        Claimed::Run => {}
    }
    let out = run(data).await;
    let (status, body, kept) = answer(&out);
    let stored = if kept && keeps(status) {
        Ok(())
    } else if keeps(status) {
        let keep_until = iso_at(platform.now_ms() + KEEP_SECONDS * 1000.0);
        store
            .finish(claim, status, body.unwrap_or(""), &keep_until)
            .await
    } else {
        store.release(claim).await
    };
    if let Err(e) = stored {
        platform.error(&format!("storing the idempotent response failed: {e}"));
    }
    Ok(Once::Ran(out))
}

/// Idempotency keys.
#[allow(async_fn_in_trait)]
pub trait IdempotencyStore {
    /// Claims the key for `claim.token` until `lease_until` unless a live record holds it (an
    /// expired answer or a lapsed lease is taken over), then reads the record; with
    /// `cart`, reads that cart in the same round trip (checkout's first read).
    ///
    /// # Errors
    /// [`StoreError::Unavailable`].
    async fn claim(
        &self,
        claim: &Claim,
        cart: Option<&str>,
    ) -> Result<(Option<KeyRecord>, Option<CartData>), StoreError>;

    /// Stores the answer of the claim holding `claim.token`, replayed until `keep_until`.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`].
    async fn finish(
        &self,
        claim: &Claim,
        status: u16,
        body: &str,
        keep_until: &str,
    ) -> Result<(), StoreError>;

    /// Gives the key up (after a 5xx), so a retry runs again.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`].
    async fn release(&self, claim: &Claim) -> Result<(), StoreError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(state: &str, hash: &str, body: &str) -> KeyRecord {
        KeyRecord {
            body_hash: hash.into(),
            state: state.into(),
            response_status: (state == "done").then_some(201),
            response_body: Some(body.into()),
        }
    }

    #[test]
    fn the_holder_of_the_claim_runs() {
        assert_eq!(
            decide(Some(&record("in_flight", "h", "tok")), "tok", "h"),
            Ok(Claimed::Run)
        );
    }

    #[test]
    fn a_finished_key_replays_its_answer_for_the_same_body_only() {
        assert_eq!(
            decide(Some(&record("done", "h", "{\"id\":1}")), "tok2", "h"),
            Ok(Claimed::Replay {
                status: 201,
                body: Some("{\"id\":1}".into())
            })
        );
        assert_eq!(
            decide(Some(&record("done", "h", "{}")), "tok2", "other"),
            Err(IdempotencyRefusal::KeyReused)
        );
    }

    #[test]
    fn a_key_another_request_holds_is_in_progress() {
        assert_eq!(
            decide(Some(&record("in_flight", "h", "tok1")), "tok2", "h"),
            Err(IdempotencyRefusal::InProgress)
        );
        assert_eq!(
            decide(None, "tok", "h"),
            Err(IdempotencyRefusal::InProgress)
        );
    }

    #[test]
    fn a_parsed_body_hashes_as_its_bytes_do() {
        let text = br#"{"payment_provider":"manual","x":[1,{"b":2,"a":1}]}"#;
        let parsed: Map<String, Value> = serde_json::from_slice(text).unwrap();
        assert_eq!(object_hash(&parsed), body_hash(text));
    }

    #[test]
    fn the_same_json_hashes_the_same_whatever_its_key_order() {
        assert_eq!(
            body_hash(br#"{"a":1,"b":{"c":2,"d":3}}"#),
            body_hash(br#"{"b":{"d":3,"c":2},"a":1}"#)
        );
        assert_ne!(body_hash(br#"{"a":1}"#), body_hash(br#"{"a":2}"#));
    }

    #[test]
    fn keys_are_1_to_255_visible_ascii_characters() {
        assert!(valid_key("checkout-7f3a"));
        assert!(!valid_key(""));
        assert!(!valid_key("with space"));
        assert!(!valid_key(&"k".repeat(256)));
    }
}
