//! KV as a cache of published data. KV is eventually consistent and has no atomic operations,
//! so it is never the source of truth: a failed or missing read falls back to D1, a failed
//! write is logged and the request still succeeds.

use serde::Serialize;
use worker::kv::KvStore;

/// Reads and decodes a cached value; `None` on miss, on a KV failure, or on a value this
/// version cannot decode (it is then rebuilt).
pub async fn get_json<T: serde::de::DeserializeOwned>(kv: &KvStore, key: &str) -> Option<T> {
    match kv.get(key).text().await {
        Ok(Some(text)) => match serde_json::from_str(&text) {
            Ok(value) => Some(value),
            Err(e) => {
                worker::console_warn!("kv: cannot decode {key}, rebuilding: {e}");
                None
            }
        },
        Ok(None) => None,
        Err(e) => {
            worker::console_warn!("kv: read of {key} failed, falling back to D1: {e}");
            None
        }
    }
}

/// Writes a value with an expiry (KV's minimum is 60 s). Serialized with serde_json (the
/// JS serializer would turn maps into `{}`).
pub async fn put_json<T: Serialize>(kv: &KvStore, key: &str, value: &T, ttl_seconds: u64) {
    let text = match serde_json::to_string(value) {
        Ok(text) => text,
        Err(e) => {
            worker::console_error!("kv: cannot encode {key}: {e}");
            return;
        }
    };
    let put = match kv.put(key, text) {
        Ok(builder) => builder.expiration_ttl(ttl_seconds.max(60)).execute().await,
        Err(e) => Err(e),
    };
    if let Err(e) = put {
        worker::console_warn!("kv: write of {key} failed: {e}");
    }
}
