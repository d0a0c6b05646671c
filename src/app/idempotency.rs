//! Idempotency keys: a POST that sends `Idempotency-Key` claims it, runs once, and its answer
//! (below 500) is replayed for the same key and body for 24 hours; another body under the key
//! is 422, a duplicate while the first runs is 409. A claim is a short lease, so a request
//! whose Worker died cannot lock its key for a day. The HTTP middleware (`http::idempotency`)
//! runs this for every POST of both Workers; the decisions are here.

use crate::app::ports::StoreError;
use crate::domain::cart::CartData;
use serde_json::Value;
use sha2::{Digest, Sha256};

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
    let hashed = match serde_json::from_slice::<Value>(bytes) {
        Ok(v) => canonical(&v).into_bytes(),
        Err(_) => bytes.to_vec(),
    };
    Sha256::digest(&hashed)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Equal JSON gives equal text: object keys sorted at every depth.
fn canonical(v: &Value) -> String {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            let parts: Vec<String> = keys
                .iter()
                .map(|k| format!("{}:{}", Value::from(k.as_str()), canonical(&m[*k])))
                .collect();
            format!("{{{}}}", parts.join(","))
        }
        Value::Array(a) => format!(
            "[{}]",
            a.iter().map(canonical).collect::<Vec<_>>().join(",")
        ),
        other => other.to_string(),
    }
}

/// Whether an answer is stored for replay (below 500) or the key given up (so a retry runs).
pub fn keeps(status: u16) -> bool {
    status < 500
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
