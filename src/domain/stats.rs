//! The counts an operator watches (`GET /admin/v1/stats`): today's orders by status, the
//! deliveries waiting or dead, the destinations switched off, the SKUs low on stock.

use crate::domain::order::OrderStatus;
use serde_json::{json, Map, Value};

/// The counts as the store read them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    /// Orders placed since 00:00 UTC today, by their current status (statuses with none may
    /// be missing).
    pub orders_today: Vec<(String, i64)>,
    pub deliveries_pending: i64,
    pub deliveries_dead: i64,
    /// Destinations that get nothing (`enabled: false`, by hand or by Comptoir).
    pub destinations_disabled: i64,
    /// SKUs whose total available stock is at or below the `inventory.low` threshold.
    pub low_stock: i64,
}

impl Stats {
    /// The API's shape: every order status, 0 when none.
    pub fn view(&self, generated_at: &str) -> Value {
        let today: Map<String, Value> = OrderStatus::ALL
            .iter()
            .map(|status| {
                let n = self
                    .orders_today
                    .iter()
                    .find(|(s, _)| s == status.as_str())
                    .map_or(0, |(_, n)| *n);
                (status.as_str().to_string(), json!(n))
            })
            .collect();
        json!({
            "orders": { "today": today },
            "deliveries": { "pending": self.deliveries_pending, "dead": self.deliveries_dead },
            "destinations_disabled": self.destinations_disabled,
            "low_stock": self.low_stock,
            "generated_at": generated_at,
        })
    }
}

/// 00:00 UTC of the day of `now` (an RFC 3339 UTC instant, as the clock gives it), in the form
/// orders' `created_at` is written, so the two compare as text.
pub fn start_of_day(now: &str) -> String {
    format!("{}T00:00:00.000Z", now.get(..10).unwrap_or(now))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_order_status_is_shown_and_those_without_orders_today_are_zero() {
        let stats = Stats {
            orders_today: vec![("confirmed".into(), 3), ("pending_payment".into(), 1)],
            deliveries_pending: 2,
            deliveries_dead: 5,
            destinations_disabled: 1,
            low_stock: 4,
        };
        assert_eq!(
            stats.view("2026-11-29T10:00:00.000Z"),
            json!({
                "orders": { "today": {
                    "pending_payment": 1, "confirmed": 3, "fulfilled": 0, "canceled": 0, "refunded": 0,
                }},
                "deliveries": { "pending": 2, "dead": 5 },
                "destinations_disabled": 1,
                "low_stock": 4,
                "generated_at": "2026-11-29T10:00:00.000Z",
            })
        );
        let empty = Stats::default().view("2026-11-29T10:00:00.000Z");
        assert_eq!(empty["orders"]["today"].as_object().unwrap().len(), 5);
        assert!(empty["orders"]["today"]
            .as_object()
            .unwrap()
            .values()
            .all(|n| n == 0));
    }

    #[test]
    fn today_starts_at_midnight_utc_and_compares_as_text_with_created_at() {
        let start = start_of_day("2026-11-29T23:59:59.999Z");
        assert_eq!(start, "2026-11-29T00:00:00.000Z");
        assert!("2026-11-29T00:00:00.000Z" >= start.as_str());
        assert!("2026-11-28T23:59:59.999Z" < start.as_str());
    }
}
