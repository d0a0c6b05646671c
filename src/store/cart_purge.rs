//! The cron's side of carts: deleting expired ones in bounded batches.

use crate::store::d1::{int, text, Db, StoreError};

/// Expired carts (and carts merged away) deleted in bounded batches by the cron.
pub async fn purge_expired(db: &Db, now: &str, batch: i64) -> Result<usize, StoreError> {
    let results = db
        .batch(vec![db.statement(
            "DELETE FROM carts WHERE id IN (SELECT id FROM carts \
             WHERE status IN ('active', 'merged') AND expires_at <= ?1 LIMIT ?2)",
            &[text(now), int(batch)],
        )?])
        .await?;
    Ok(results
        .first()
        .and_then(|r| r.meta().ok().flatten())
        .and_then(|m| m.changes)
        .unwrap_or(0))
}
