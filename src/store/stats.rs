//! The operator's counts (`domain::stats`) in one statement: one D1 round trip, each count
//! over an index (orders by status and `created_at`, one search per status; deliveries by
//! `status`) or a small table.

use crate::app::ports::StoreError;
use crate::domain::order::OrderStatus;
use crate::domain::stats::Stats;
use crate::store::d1::{int, json_text, text, Db};
use serde::Deserialize;

/// The counts: orders created at or after `since` by status, deliveries pending and dead,
/// disabled destinations, SKUs at or below `low_stock_threshold` available.
pub async fn read(db: &Db, since: &str, low_stock_threshold: i64) -> Result<Stats, StoreError> {
    #[derive(Deserialize)]
    struct Row {
        orders: String,
        pending: i64,
        dead: i64,
        disabled: i64,
        low_stock: i64,
    }
    let rows: Vec<Row> = db
        .all(db.statement(
            "SELECT \
               (SELECT json_group_object(s.value, (SELECT COUNT(*) FROM orders \
                  WHERE status = s.value AND created_at >= ?1)) FROM json_each(?3) s) AS orders, \
               (SELECT COUNT(*) FROM deliveries WHERE status = 'pending') AS pending, \
               (SELECT COUNT(*) FROM deliveries WHERE status = 'dead') AS dead, \
               (SELECT COUNT(*) FROM destinations WHERE enabled = 0) AS disabled, \
               (SELECT COUNT(*) FROM inventory WHERE on_hand - reserved <= ?2) AS low_stock",
            &[
                text(since),
                int(low_stock_threshold),
                json_text(&serde_json::json!(OrderStatus::ALL
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>())),
            ],
        )?)
        .await?;
    let row = rows
        .into_iter()
        .next()
        .ok_or_else(|| StoreError::Corrupt("the stats query returned no row".into()))?;
    let orders: serde_json::Map<String, serde_json::Value> = serde_json::from_str(&row.orders)
        .map_err(|e| StoreError::Corrupt(format!("orders by status: {e}")))?;
    Ok(Stats {
        orders_today: orders
            .into_iter()
            .map(|(status, n)| (status, n.as_i64().unwrap_or(0)))
            .collect(),
        deliveries_pending: row.pending,
        deliveries_dead: row.dead,
        destinations_disabled: row.disabled,
        low_stock: row.low_stock,
    })
}
