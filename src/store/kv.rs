//! KV as a cache of published data. KV is eventually consistent and has no atomic operations,
//! so it is never the source of truth: a failed or missing read falls back to D1, a failed
//! write is logged and the request still succeeds.

use worker::kv::KvStore;

/// Reads a cached value as text; `None` on a miss or on a KV failure (logged).
pub async fn get_text(kv: &KvStore, key: &str) -> Option<String> {
    match kv.get(key).text().await {
        Ok(value) => value,
        Err(e) => {
            worker::console_warn!("kv: read of {key} failed, falling back to D1: {e}");
            None
        }
    }
}

/// Reads and decodes a cached value; `None` on miss, on a KV failure, or on a value this
/// version cannot decode (it is then rebuilt).
#[cfg(feature = "storefront")]
pub async fn get_json<T: serde::de::DeserializeOwned>(kv: &KvStore, key: &str) -> Option<T> {
    let text = get_text(kv, key).await?;
    match serde_json::from_str(&text) {
        Ok(value) => Some(value),
        Err(e) => {
            worker::console_warn!("kv: cannot decode {key}, rebuilding: {e}");
            None
        }
    }
}

/// Writes a value with an expiry (KV's minimum is 60 s); false when KV refused (logged).
pub async fn put_text(kv: &KvStore, key: &str, value: String, ttl_seconds: u64) -> bool {
    let put = match kv.put(key, value) {
        Ok(builder) => builder.expiration_ttl(ttl_seconds.max(60)).execute().await,
        Err(e) => Err(e),
    };
    if let Err(e) = &put {
        worker::console_warn!("kv: write of {key} failed: {e}");
    }
    put.is_ok()
}

/// Writes a value as JSON with an expiry. Serialized with serde_json (the JS serializer would
/// turn maps into `{}`).
#[cfg(feature = "storefront")]
pub async fn put_json<T: serde::Serialize>(kv: &KvStore, key: &str, value: &T, ttl_seconds: u64) {
    match serde_json::to_string(value) {
        Ok(text) => {
            put_text(kv, key, text, ttl_seconds).await;
        }
        Err(e) => worker::console_error!("kv: cannot encode {key}: {e}"),
    }
}
