//! The cron's deletions: what has expired, in bounded batches so one tick never runs long (the
//! next tick continues).

use crate::store::d1::{int, text, Db, StoreError};

/// What the cron deletes once expired.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expired {
    /// Carts past their expiry (and carts merged away); checked-out carts stay with their order.
    Carts,
    /// Idempotency keys past their 24 hours, or claims whose lease lapsed (a retry could take
    /// those over anyway).
    IdempotencyKeys,
}

/// Deletes at most `batch` expired rows; returns how many.
pub async fn purge(db: &Db, what: Expired, now: &str, batch: i64) -> Result<usize, StoreError> {
    let sql = match what {
        Expired::Carts => {
            "DELETE FROM carts WHERE id IN (SELECT id FROM carts \
             WHERE status IN ('active', 'merged') AND expires_at <= ?1 LIMIT ?2)"
        }
        Expired::IdempotencyKeys => {
            "DELETE FROM idempotency_keys WHERE rowid IN (SELECT rowid FROM idempotency_keys \
             WHERE expires_at <= ?1 LIMIT ?2)"
        }
    };
    let results = db
        .batch(vec![db.statement(sql, &[text(now), int(batch)])?])
        .await?;
    Ok(results
        .first()
        .and_then(|r| r.meta().ok().flatten())
        .and_then(|m| m.changes)
        .unwrap_or(0))
}
