//! Invalidation of the KV copies the storefront reads, after a write in D1. KV is eventually
//! consistent: locally the change shows at once, at the edge within KV's propagation (up to
//! 60 s); the copies also expire on their own (see their TTLs).

use worker::kv::KvStore;

/// A market changed: drop its catalog snapshot and every cached channel (they embed markets).
pub async fn market_changed(kv: &KvStore, code: &str) {
    drop_snapshot(kv, code).await;
    delete_prefix(kv, "channel:v1:").await;
}

/// A channel changed (markets, origins, key): drop its cached copy under its key digest.
pub async fn channel_changed(kv: &KvStore, key_hash: &str) {
    delete(kv, &format!("channel:v1:{key_hash}")).await;
}

/// Products, prices or stock changed: drop the snapshots of the given markets; each is
/// rebuilt by the next storefront read (or the next cron tick).
pub async fn catalog_changed(kv: &KvStore, markets: impl IntoIterator<Item = String>) {
    for market in markets {
        drop_snapshot(kv, &market).await;
    }
}

/// The version first: without it no isolate trusts its parsed copy or the snapshot value.
async fn drop_snapshot(kv: &KvStore, market: &str) {
    delete(kv, &crate::store::catalog::snapshot_version_key(market)).await;
    delete(kv, &crate::store::catalog::snapshot_cache_key(market)).await;
}

async fn delete(kv: &KvStore, key: &str) {
    if let Err(e) = kv.delete(key).await {
        worker::console_warn!("kv: delete of {key} failed (it expires on its own): {e}");
    }
}

async fn delete_prefix(kv: &KvStore, prefix: &str) {
    let mut cursor: Option<String> = None;
    loop {
        let mut list = kv.list().prefix(prefix.to_string()).limit(1000);
        if let Some(c) = cursor.take() {
            list = list.cursor(c);
        }
        match list.execute().await {
            Ok(page) => {
                for key in &page.keys {
                    delete(kv, &key.name).await;
                }
                if page.list_complete {
                    return;
                }
                cursor = page.cursor;
                if cursor.is_none() {
                    return;
                }
            }
            Err(e) => {
                worker::console_warn!(
                    "kv: list of {prefix} failed (entries expire on their own): {e}"
                );
                return;
            }
        }
    }
}
