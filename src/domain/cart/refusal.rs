//! Why a cart write is refused: the one place that explains it. A mutation runs as one guarded
//! D1 batch; when a guard aborts it, the store reads a [`Diagnosis`] and [`refusal`] names the
//! rule that refused. The read-then-write mutations (codes, addresses, shipping) check the
//! same rules on the cart they read, through [`refusal`] too.

use super::{IfMatch, MAX_LINES, MAX_QUANTITY};
use crate::domain::fields::FieldError;
use serde::Deserialize;

/// What a refused mutation ran into, read after the refusal.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct Diagnosis {
    pub channel_id: Option<String>,
    pub customer_id: Option<String>,
    /// Whether the SKU asked for is sold (published, priced) in the cart's market.
    pub sellable: Option<i64>,
    pub status: Option<super::CartStatus>,
    pub version: Option<i64>,
    pub expires_at: Option<String>,
    pub line_quantity: Option<i64>,
    pub line_sku: Option<String>,
    pub line_count: i64,
    pub available: Option<i64>,
    /// When the SKU is hot: its row (`sku`, `generation`, `split`), as JSON, to ask its objects.
    #[serde(default)]
    pub hot: Option<String>,
}

impl Diagnosis {
    /// The hot SKU the refused change was about, if it is hot.
    pub fn hot_sku(&self) -> Option<crate::domain::hot::HotSku> {
        self.hot
            .as_deref()
            .and_then(|h| serde_json::from_str(h).ok())
    }
}

/// What a cart as read says of the rules every write checks first (channel, status, version).
impl From<&super::CartRecord> for Diagnosis {
    fn from(cart: &super::CartRecord) -> Diagnosis {
        Diagnosis {
            channel_id: Some(cart.channel_id.clone()),
            customer_id: cart.customer_id.clone(),
            status: Some(cart.status),
            version: Some(cart.version),
            expires_at: Some(cart.expires_at.clone()),
            ..Diagnosis::default()
        }
    }
}

/// The mutation that was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CartOp<'a> {
    Add {
        sku: &'a str,
        quantity: i64,
    },
    /// A change of the line's quantity (or its removal).
    Line,
    RemoveCode,
    Attach {
        customer_id: &'a str,
    },
    /// A read-then-write change (code, addresses, shipping method, note).
    Update,
}

/// Every reason a cart request is refused, whatever the mutation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CartRefusal {
    /// No such cart in this channel (also: another channel's cart; existence is not revealed).
    NotFound,
    /// The cart is checked out, merged or expired: `status` says which.
    NotActive {
        status: super::CartStatus,
    },
    /// The cart's market is no longer sold on its channel.
    MarketGone,
    /// `If-Match` names another version than the cart's.
    VersionMismatch {
        current: Option<i64>,
    },
    UnknownSku {
        sku: String,
    },
    LineOverMax {
        sku: String,
        in_cart: i64,
    },
    TooManyLines,
    InsufficientStock {
        sku: String,
        available: i64,
    },
    NoSuchLine,
    NoSuchCode,
    TooManyCodes,
    OtherCustomersCart,
    /// A discount code that does not exist or does not apply to this cart.
    DiscountNotApplicable {
        reason: String,
        message: String,
    },
    /// A field of the request is not valid for this cart (its market, its address).
    Invalid(FieldError),
    /// The client sent too many requests.
    RateLimited,
    /// Concurrent writes kept winning the race; nothing was written; retry.
    Busy,
}

/// The rules every write checks first: the cart is this channel's, active, and at the version
/// `If-Match` names. `None` when they hold.
pub fn precondition(
    d: &Diagnosis,
    channel_id: &str,
    if_match: Option<IfMatch>,
    now: &str,
) -> Option<CartRefusal> {
    if d.channel_id.as_deref() != Some(channel_id) {
        return Some(CartRefusal::NotFound);
    }
    let status = match (d.status, &d.expires_at) {
        (Some(status), Some(expires_at)) => status.at(expires_at, now),
        (Some(status), None) => status,
        (None, _) => return Some(CartRefusal::NotFound),
    };
    if status != super::CartStatus::Active {
        return Some(CartRefusal::NotActive { status });
    }
    match if_match {
        Some(IfMatch::Version(v)) if d.version != Some(v) => {
            Some(CartRefusal::VersionMismatch { current: d.version })
        }
        _ => None,
    }
}

/// Which rule refused `op`, from what the cart looked like after the refusal; `None` when no
/// rule explains it (the caller logs it and answers 503).
pub fn refusal(
    d: &Diagnosis,
    op: &CartOp<'_>,
    channel_id: &str,
    if_match: Option<IfMatch>,
    now: &str,
) -> Option<CartRefusal> {
    if let Some(r) = precondition(d, channel_id, if_match, now) {
        return Some(r);
    }
    match op {
        CartOp::Add { sku, quantity } => {
            if d.sellable.is_none() {
                return Some(CartRefusal::UnknownSku {
                    sku: sku.to_string(),
                });
            }
            let in_cart = d.line_quantity.unwrap_or(0);
            let after = in_cart + quantity;
            if after > MAX_QUANTITY {
                return Some(CartRefusal::LineOverMax {
                    sku: sku.to_string(),
                    in_cart,
                });
            }
            if d.line_quantity.is_none() && d.line_count >= MAX_LINES {
                return Some(CartRefusal::TooManyLines);
            }
            let available = d.available.unwrap_or(0).max(0);
            (after > available).then(|| CartRefusal::InsufficientStock {
                sku: sku.to_string(),
                available,
            })
        }
        CartOp::Line => Some(match &d.line_sku {
            None => CartRefusal::NoSuchLine,
            Some(sku) => CartRefusal::InsufficientStock {
                sku: sku.clone(),
                available: d.available.unwrap_or(0).max(0),
            },
        }),
        CartOp::RemoveCode => Some(CartRefusal::NoSuchCode),
        CartOp::Attach { customer_id } => d
            .customer_id
            .as_deref()
            .is_some_and(|c| c != *customer_id)
            .then_some(CartRefusal::OtherCustomersCart),
        // The version read changed under us: a concurrent write won.
        CartOp::Update => Some(CartRefusal::VersionMismatch { current: d.version }),
    }
}

#[cfg(test)]
mod tests {
    use super::super::CartStatus;
    use super::*;

    const NOW: &str = "2026-06-01T00:00:00.000Z";

    fn active() -> Diagnosis {
        Diagnosis {
            channel_id: Some("web".into()),
            status: Some(CartStatus::Active),
            version: Some(3),
            expires_at: Some("2026-07-01T00:00:00.000Z".into()),
            sellable: Some(1),
            available: Some(5),
            ..Diagnosis::default()
        }
    }

    fn add(qty: i64) -> CartOp<'static> {
        CartOp::Add {
            sku: "TEE-M",
            quantity: qty,
        }
    }

    #[test]
    fn another_channels_cart_is_not_found_and_a_missing_one_too() {
        assert_eq!(
            refusal(&active(), &add(1), "app", None, NOW),
            Some(CartRefusal::NotFound)
        );
        assert_eq!(
            refusal(&Diagnosis::default(), &add(1), "web", None, NOW),
            Some(CartRefusal::NotFound)
        );
    }

    #[test]
    fn a_cart_past_its_expiry_is_refused_as_expired_and_a_checked_out_one_by_its_status() {
        let mut d = active();
        d.expires_at = Some("2026-05-01T00:00:00.000Z".into());
        assert_eq!(
            refusal(&d, &add(1), "web", None, NOW),
            Some(CartRefusal::NotActive {
                status: CartStatus::Expired
            })
        );
        d.status = Some(CartStatus::CheckedOut);
        assert_eq!(
            refusal(&d, &add(1), "web", None, NOW),
            Some(CartRefusal::NotActive {
                status: CartStatus::CheckedOut
            })
        );
    }

    #[test]
    fn an_if_match_on_another_version_is_a_mismatch_naming_the_current_one() {
        assert_eq!(
            refusal(&active(), &add(1), "web", Some(IfMatch::Version(2)), NOW),
            Some(CartRefusal::VersionMismatch { current: Some(3) })
        );
        assert_eq!(
            precondition(&active(), "web", Some(IfMatch::Any), NOW),
            None
        );
    }

    #[test]
    fn adding_names_the_first_rule_broken_sku_then_line_maximum_then_line_count_then_stock() {
        let mut d = active();
        d.sellable = None;
        assert_eq!(
            refusal(&d, &add(1), "web", None, NOW),
            Some(CartRefusal::UnknownSku {
                sku: "TEE-M".into()
            })
        );
        let mut d = active();
        d.line_quantity = Some(998);
        d.available = Some(5000);
        assert_eq!(
            refusal(&d, &add(2), "web", None, NOW),
            Some(CartRefusal::LineOverMax {
                sku: "TEE-M".into(),
                in_cart: 998
            })
        );
        let mut d = active();
        d.line_count = MAX_LINES;
        assert_eq!(
            refusal(&d, &add(1), "web", None, NOW),
            Some(CartRefusal::TooManyLines)
        );
        d.line_quantity = Some(1);
        assert_eq!(
            refusal(&d, &add(1), "web", None, NOW),
            None,
            "an existing line does not count as a new one"
        );
        let d = active();
        assert_eq!(
            refusal(&d, &add(6), "web", None, NOW),
            Some(CartRefusal::InsufficientStock {
                sku: "TEE-M".into(),
                available: 5
            })
        );
        assert_eq!(refusal(&d, &add(5), "web", None, NOW), None);
    }

    #[test]
    fn a_line_change_is_refused_for_a_missing_line_or_for_stock() {
        assert_eq!(
            refusal(&active(), &CartOp::Line, "web", None, NOW),
            Some(CartRefusal::NoSuchLine)
        );
        let mut d = active();
        d.line_sku = Some("MUG".into());
        d.available = Some(-2);
        assert_eq!(
            refusal(&d, &CartOp::Line, "web", None, NOW),
            Some(CartRefusal::InsufficientStock {
                sku: "MUG".into(),
                available: 0
            })
        );
    }

    #[test]
    fn attaching_another_customers_cart_is_refused_and_ones_own_is_not() {
        let mut d = active();
        d.customer_id = Some("cus_a".into());
        assert_eq!(
            refusal(
                &d,
                &CartOp::Attach {
                    customer_id: "cus_b"
                },
                "web",
                None,
                NOW
            ),
            Some(CartRefusal::OtherCustomersCart)
        );
        assert_eq!(
            refusal(
                &d,
                &CartOp::Attach {
                    customer_id: "cus_a"
                },
                "web",
                None,
                NOW
            ),
            None
        );
    }
}
