//! The Workers Analytics Engine data points Comptoir writes (binding `METRICS`, dataset
//! `comptoir_metrics`), one layout per kind, so queries can rely on it: `index1` and `blob1`
//! are the kind; then the kind's blobs and doubles in the order below. Nothing personal: codes,
//! market and currency codes, a destination's id, amounts and counts. Writing them is the
//! platform's (`platform::write_metric`, a no-op where the binding is absent).
//!
//! | kind | blob2 | blob3 | blob4 | double1 | double2 |
//! |---|---|---|---|---|---|
//! | `order_placed` | market | payment provider | currency | total (minor units) | |
//! | `checkout_refused` (4xx), `checkout_failed` (5xx) | error code | | | HTTP status | |
//! | `delivery` | `delivered`, `failed` (a retry is due) or `dead` | destination id | | HTTP status (0: none) | attempt |

/// One data point: the index (the kind), blobs (text) and doubles (numbers).
#[derive(Debug, Clone, PartialEq)]
pub struct DataPoint<'a> {
    pub index: &'static str,
    pub blobs: Vec<&'a str>,
    pub doubles: Vec<f64>,
}

fn point<'a>(kind: &'static str, blobs: &[&'a str], doubles: &[f64]) -> DataPoint<'a> {
    let mut all = vec![kind];
    all.extend_from_slice(blobs);
    DataPoint {
        index: kind,
        blobs: all,
        doubles: doubles.to_vec(),
    }
}

/// An order placed at checkout.
pub fn order_placed<'a>(
    market: &'a str,
    provider: &'a str,
    currency: &'a str,
    total_minor: i64,
) -> DataPoint<'a> {
    point(
        "order_placed",
        &[market, provider, currency],
        &[total_minor as f64],
    )
}

/// A checkout answered with an error: refused (4xx, the reason is its code) or failed (5xx).
pub fn checkout_refused(code: &str, status: u16) -> DataPoint<'_> {
    let kind = if status >= 500 {
        "checkout_failed"
    } else {
        "checkout_refused"
    };
    point(kind, &[code], &[f64::from(status)])
}

/// What one delivery attempt came to.
pub fn delivery(outcome: &crate::app::forwarding::AttemptOutcome) -> DataPoint<'_> {
    point(
        "delivery",
        &[outcome.result.as_str(), &outcome.destination_id],
        &[
            f64::from(outcome.status_code.unwrap_or(0)),
            outcome.attempt as f64,
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::forwarding::{AttemptOutcome, AttemptResult};

    #[test]
    fn each_kind_leads_with_its_name_then_its_fields_in_the_documented_order() {
        assert_eq!(
            order_placed("FR", "manual", "EUR", 4470),
            DataPoint {
                index: "order_placed",
                blobs: vec!["order_placed", "FR", "manual", "EUR"],
                doubles: vec![4470.0],
            }
        );
        assert_eq!(
            checkout_refused("insufficient_stock", 422),
            DataPoint {
                index: "checkout_refused",
                blobs: vec!["checkout_refused", "insufficient_stock"],
                doubles: vec![422.0],
            }
        );
        assert_eq!(
            checkout_refused("unavailable", 503).index,
            "checkout_failed"
        );
        let failed = AttemptOutcome {
            result: AttemptResult::Failed,
            status_code: Some(503),
            attempt: 2,
            destination_id: "erp".into(),
        };
        assert_eq!(
            delivery(&failed),
            DataPoint {
                index: "delivery",
                blobs: vec!["delivery", "failed", "erp"],
                doubles: vec![503.0, 2.0],
            }
        );
        let unsent = AttemptOutcome {
            result: AttemptResult::Dead,
            status_code: None,
            attempt: 0,
            destination_id: "erp".into(),
        };
        assert_eq!(delivery(&unsent).doubles, vec![0.0, 0.0]);
    }
}
