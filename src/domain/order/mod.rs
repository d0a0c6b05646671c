//! Orders: the state machine of API.md as a transition table of pure functions. Every
//! (status, action) pair is decided here, with the stock movements and the event it implies.

use serde::{Deserialize, Serialize};

pub use crate::domain::events::EventType;

mod record;
pub use record::{NewOrder, Order, OrderChange, OrderLine, PaymentMethod};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    PendingPayment,
    Confirmed,
    Fulfilled,
    Canceled,
    Refunded,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PaymentStatus {
    Pending,
    Paid,
    PartiallyRefunded,
    Refunded,
    Voided,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FulfillmentStatus {
    Unfulfilled,
    PartiallyFulfilled,
    Fulfilled,
}

macro_rules! text_enum {
    ($t:ty { $($v:ident => $s:literal),* $(,)? }) => {
        impl $t {
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$v => $s),* }
            }
            pub fn parse(s: &str) -> Option<Self> {
                match s { $($s => Some(Self::$v),)* _ => None }
            }
        }
    };
}
text_enum!(OrderStatus { PendingPayment => "pending_payment", Confirmed => "confirmed", Fulfilled => "fulfilled", Canceled => "canceled", Refunded => "refunded" });
text_enum!(PaymentStatus { Pending => "pending", Paid => "paid", PartiallyRefunded => "partially_refunded", Refunded => "refunded", Voided => "voided" });
text_enum!(FulfillmentStatus { Unfulfilled => "unfulfilled", PartiallyFulfilled => "partially_fulfilled", Fulfilled => "fulfilled" });

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineState {
    pub id: String,
    pub sku: String,
    pub quantity: i64,
    pub fulfilled: i64,
    pub refunded: i64,
    /// Refunded units that were never shipped.
    pub refunded_unfulfilled: i64,
}

impl LineState {
    /// Units still to ship.
    pub fn open(&self) -> i64 {
        self.quantity - self.fulfilled - self.refunded_unfulfilled
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderState {
    pub status: OrderStatus,
    pub payment: PaymentStatus,
    pub fulfillment: FulfillmentStatus,
    pub lines: Vec<LineState>,
    pub shipping_refunded: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    MarkPaid,
    Cancel,
    /// The payment deadline passed without payment.
    Expire,
    Fulfill(Vec<(String, i64)>),
    Refund {
        lines: Vec<(String, i64)>,
        include_shipping: bool,
    },
}

/// Stock to move for one SKU: `reserved -= release`, `on_hand -= ship` (and `reserved -= ship`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StockMove {
    pub sku: String,
    pub release: i64,
    pub ship: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    pub state: OrderState,
    pub event: Option<EventType>,
    pub stock: Vec<StockMove>,
    pub cancel_reason: Option<&'static str>,
}

/// Why an action cannot apply: 409 `illegal_transition`, or 422 for a bad line reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    Illegal {
        from: OrderStatus,
        action: &'static str,
    },
    BadLine {
        index: usize,
        reason: String,
    },
}

fn action_name(a: &Action) -> &'static str {
    match a {
        Action::MarkPaid => "mark-paid",
        Action::Cancel => "cancel",
        Action::Expire => "expire",
        Action::Fulfill(_) => "fulfill",
        Action::Refund { .. } => "refund",
    }
}

/// Applies `action`. `Ok(None)` means its effect already holds (mark-paid twice, cancel of a
/// canceled order): the caller answers 200 with the order unchanged.
pub fn apply(state: &OrderState, action: &Action) -> Result<Option<Transition>, Refusal> {
    use OrderStatus::*;
    let illegal = || Refusal::Illegal {
        from: state.status,
        action: action_name(action),
    };
    let mut next = state.clone();
    match action {
        Action::MarkPaid => match state.status {
            PendingPayment => {
                next.status = Confirmed;
                next.payment = PaymentStatus::Paid;
                Ok(Some(Transition {
                    state: next,
                    event: Some(EventType::OrderConfirmed),
                    stock: vec![],
                    cancel_reason: None,
                }))
            }
            Confirmed | Fulfilled | Refunded if state.payment != PaymentStatus::Pending => Ok(None),
            _ => Err(illegal()),
        },
        Action::Cancel | Action::Expire => match state.status {
            Canceled => Ok(None),
            PendingPayment => cancel(state, next, action == &Action::Expire),
            Confirmed
                if matches!(action, Action::Cancel)
                    && state.lines.iter().all(|l| l.fulfilled == 0) =>
            {
                cancel(state, next, false)
            }
            Confirmed if matches!(action, Action::Expire) => Ok(None),
            _ => Err(illegal()),
        },
        Action::Fulfill(lines) => {
            if !matches!(state.status, Confirmed) {
                return Err(illegal());
            }
            let mut stock = Vec::new();
            for (i, (line_id, q)) in lines.iter().enumerate() {
                let line = line_mut(&mut next.lines, i, line_id)?;
                if *q < 1 || *q > line.open() {
                    return Err(Refusal::BadLine {
                        index: i,
                        reason: format!("{} unit(s) of this line are left to ship", line.open()),
                    });
                }
                line.fulfilled += q;
                stock.push(StockMove {
                    sku: line.sku.clone(),
                    release: 0,
                    ship: *q,
                });
            }
            next.fulfillment = fulfillment_of(&next.lines);
            if next.fulfillment == FulfillmentStatus::Fulfilled {
                next.status = Fulfilled;
            }
            Ok(Some(Transition {
                state: next,
                event: Some(EventType::OrderFulfilled),
                stock,
                cancel_reason: None,
            }))
        }
        Action::Refund {
            lines,
            include_shipping,
        } => {
            if !matches!(state.status, Confirmed | Fulfilled)
                || state.payment == PaymentStatus::Pending
            {
                return Err(illegal());
            }
            let mut stock = Vec::new();
            for (i, (line_id, q)) in lines.iter().enumerate() {
                let line = line_mut(&mut next.lines, i, line_id)?;
                let refundable = line.quantity - line.refunded;
                if *q < 1 || *q > refundable {
                    return Err(Refusal::BadLine {
                        index: i,
                        reason: format!("{refundable} unit(s) of this line can still be refunded"),
                    });
                }
                // Unshipped units are refunded first: their reservation is released.
                let unshipped = (*q).min(line.open());
                line.refunded += q;
                line.refunded_unfulfilled += unshipped;
                if unshipped > 0 {
                    stock.push(StockMove {
                        sku: line.sku.clone(),
                        release: unshipped,
                        ship: 0,
                    });
                }
            }
            if lines.is_empty() && !include_shipping {
                return Err(Refusal::BadLine {
                    index: 0,
                    reason: "a refund names lines or includes shipping".into(),
                });
            }
            if *include_shipping {
                if state.shipping_refunded {
                    return Err(Refusal::BadLine {
                        index: 0,
                        reason: "shipping was already refunded".into(),
                    });
                }
                next.shipping_refunded = true;
            }
            let all = next.lines.iter().all(|l| l.refunded == l.quantity);
            next.payment = if all {
                PaymentStatus::Refunded
            } else {
                PaymentStatus::PartiallyRefunded
            };
            next.fulfillment = fulfillment_of(&next.lines);
            if all {
                next.status = Refunded;
            } else if next.fulfillment == FulfillmentStatus::Fulfilled {
                next.status = Fulfilled;
            }
            Ok(Some(Transition {
                state: next,
                event: Some(EventType::OrderRefunded),
                stock,
                cancel_reason: None,
            }))
        }
    }
}

fn cancel(
    state: &OrderState,
    mut next: OrderState,
    expired: bool,
) -> Result<Option<Transition>, Refusal> {
    next.status = OrderStatus::Canceled;
    next.payment = match state.payment {
        PaymentStatus::Pending => PaymentStatus::Voided,
        _ => PaymentStatus::Refunded,
    };
    let stock = state
        .lines
        .iter()
        .filter(|l| l.open() > 0)
        .map(|l| StockMove {
            sku: l.sku.clone(),
            release: l.open(),
            ship: 0,
        })
        .collect();
    Ok(Some(Transition {
        state: next,
        event: Some(EventType::OrderCanceled),
        stock,
        cancel_reason: Some(if expired {
            "payment_timeout"
        } else {
            "canceled_by_merchant"
        }),
    }))
}

/// The order line a request's `lines[index]` names, or why it names none.
fn line_mut<'a>(
    lines: &'a mut [LineState],
    index: usize,
    line_id: &str,
) -> Result<&'a mut LineState, Refusal> {
    lines
        .iter_mut()
        .find(|l| l.id == line_id)
        .ok_or_else(|| Refusal::BadLine {
            index,
            reason: format!("the order has no line {line_id}"),
        })
}

fn fulfillment_of(lines: &[LineState]) -> FulfillmentStatus {
    let shipped: i64 = lines.iter().map(|l| l.fulfilled).sum();
    let open: i64 = lines.iter().map(LineState::open).sum();
    match (shipped, open) {
        (0, _) => FulfillmentStatus::Unfulfilled,
        (_, 0) => FulfillmentStatus::Fulfilled,
        _ => FulfillmentStatus::PartiallyFulfilled,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use OrderStatus::*;

    fn state(status: OrderStatus, payment: PaymentStatus) -> OrderState {
        OrderState {
            status,
            payment,
            fulfillment: FulfillmentStatus::Unfulfilled,
            lines: vec![
                LineState {
                    id: "l1".into(),
                    sku: "A".into(),
                    quantity: 2,
                    fulfilled: 0,
                    refunded: 0,
                    refunded_unfulfilled: 0,
                },
                LineState {
                    id: "l2".into(),
                    sku: "B".into(),
                    quantity: 1,
                    fulfilled: 0,
                    refunded: 0,
                    refunded_unfulfilled: 0,
                },
            ],
            shipping_refunded: false,
        }
    }

    fn all_states() -> Vec<OrderState> {
        let mut fulfilled = state(Fulfilled, PaymentStatus::Paid);
        for l in &mut fulfilled.lines {
            l.fulfilled = l.quantity;
        }
        fulfilled.fulfillment = FulfillmentStatus::Fulfilled;
        let mut refunded = state(Refunded, PaymentStatus::Refunded);
        for l in &mut refunded.lines {
            l.refunded = l.quantity;
            l.refunded_unfulfilled = l.quantity;
        }
        vec![
            state(PendingPayment, PaymentStatus::Pending),
            state(Confirmed, PaymentStatus::Paid),
            fulfilled,
            state(Canceled, PaymentStatus::Voided),
            refunded,
        ]
    }

    fn actions() -> Vec<Action> {
        vec![
            Action::MarkPaid,
            Action::Cancel,
            Action::Expire,
            Action::Fulfill(vec![("l1".into(), 1)]),
            Action::Refund {
                lines: vec![("l1".into(), 1)],
                include_shipping: false,
            },
        ]
    }

    /// The whole transition table: for each (status, action), what happens.
    #[test]
    fn every_status_and_action_pair_is_decided() {
        use Outcome::*;
        #[derive(Debug, PartialEq)]
        enum Outcome {
            To(OrderStatus),
            Unchanged,
            Illegal,
        }
        let expected = [
            // mark-paid, cancel, expire, fulfill 1, refund 1
            (
                PendingPayment,
                [To(Confirmed), To(Canceled), To(Canceled), Illegal, Illegal],
            ),
            (
                Confirmed,
                [
                    Unchanged,
                    To(Canceled),
                    Unchanged,
                    To(Confirmed),
                    To(Confirmed),
                ],
            ),
            (
                Fulfilled,
                [Unchanged, Illegal, Illegal, Illegal, To(Fulfilled)],
            ),
            (Canceled, [Illegal, Unchanged, Unchanged, Illegal, Illegal]),
            (Refunded, [Unchanged, Illegal, Illegal, Illegal, Illegal]),
        ];
        for (s, (status, outcomes)) in all_states().iter().zip(expected) {
            assert_eq!(s.status, status);
            for (a, want) in actions().iter().zip(outcomes) {
                let got = match apply(s, a) {
                    Ok(Some(t)) => To(t.state.status),
                    Ok(None) => Unchanged,
                    Err(Refusal::Illegal { .. }) => Illegal,
                    Err(Refusal::BadLine { .. }) => Illegal,
                };
                assert_eq!(got, want, "{status:?} + {a:?}");
            }
        }
    }

    #[test]
    fn paying_confirms_and_emits_order_confirmed() {
        let t = apply(
            &state(PendingPayment, PaymentStatus::Pending),
            &Action::MarkPaid,
        )
        .unwrap()
        .unwrap();
        assert_eq!(
            (t.state.status, t.state.payment),
            (Confirmed, PaymentStatus::Paid)
        );
        assert_eq!(t.event, Some(EventType::OrderConfirmed));
        assert!(t.stock.is_empty());
    }

    #[test]
    fn expiry_and_cancel_release_every_reserved_unit() {
        let t = apply(
            &state(PendingPayment, PaymentStatus::Pending),
            &Action::Expire,
        )
        .unwrap()
        .unwrap();
        assert_eq!(t.cancel_reason, Some("payment_timeout"));
        assert_eq!(t.state.payment, PaymentStatus::Voided);
        assert_eq!(
            t.stock,
            vec![
                StockMove {
                    sku: "A".into(),
                    release: 2,
                    ship: 0
                },
                StockMove {
                    sku: "B".into(),
                    release: 1,
                    ship: 0
                }
            ]
        );
        let t = apply(&state(Confirmed, PaymentStatus::Paid), &Action::Cancel)
            .unwrap()
            .unwrap();
        assert_eq!(
            (t.state.payment, t.cancel_reason),
            (PaymentStatus::Refunded, Some("canceled_by_merchant"))
        );
    }

    #[test]
    fn partial_then_full_fulfilment_ships_stock_and_finishes_the_order() {
        let s = state(Confirmed, PaymentStatus::Paid);
        let t = apply(&s, &Action::Fulfill(vec![("l1".into(), 1)]))
            .unwrap()
            .unwrap();
        assert_eq!(
            (t.state.status, t.state.fulfillment),
            (Confirmed, FulfillmentStatus::PartiallyFulfilled)
        );
        assert_eq!(
            t.stock,
            vec![StockMove {
                sku: "A".into(),
                release: 0,
                ship: 1
            }]
        );
        let t = apply(
            &t.state,
            &Action::Fulfill(vec![("l1".into(), 1), ("l2".into(), 1)]),
        )
        .unwrap()
        .unwrap();
        assert_eq!(
            (t.state.status, t.state.fulfillment),
            (Fulfilled, FulfillmentStatus::Fulfilled)
        );
        assert!(matches!(
            apply(&t.state, &Action::Cancel),
            Err(Refusal::Illegal { .. })
        ));
    }

    #[test]
    fn fulfilling_more_than_is_left_or_an_unknown_line_is_refused() {
        let s = state(Confirmed, PaymentStatus::Paid);
        assert!(matches!(
            apply(&s, &Action::Fulfill(vec![("l1".into(), 3)])),
            Err(Refusal::BadLine { index: 0, .. })
        ));
        assert!(matches!(
            apply(
                &s,
                &Action::Fulfill(vec![("l2".into(), 1), ("zz".into(), 1)])
            ),
            Err(Refusal::BadLine { index: 1, .. })
        ));
        assert!(matches!(
            apply(&s, &Action::Fulfill(vec![("l1".into(), 0)])),
            Err(Refusal::BadLine { .. })
        ));
    }

    #[test]
    fn refunds_release_unshipped_units_first_and_end_in_refunded() {
        let s = state(Confirmed, PaymentStatus::Paid);
        let t = apply(&s, &Action::Fulfill(vec![("l1".into(), 1)]))
            .unwrap()
            .unwrap();
        // Refund 2 of l1: one unshipped (released), one shipped (a return).
        let t = apply(
            &t.state,
            &Action::Refund {
                lines: vec![("l1".into(), 2)],
                include_shipping: false,
            },
        )
        .unwrap()
        .unwrap();
        assert_eq!(
            t.stock,
            vec![StockMove {
                sku: "A".into(),
                release: 1,
                ship: 0
            }]
        );
        assert_eq!(t.state.payment, PaymentStatus::PartiallyRefunded);
        let t = apply(
            &t.state,
            &Action::Refund {
                lines: vec![("l2".into(), 1)],
                include_shipping: true,
            },
        )
        .unwrap()
        .unwrap();
        assert_eq!(
            (t.state.status, t.state.payment),
            (Refunded, PaymentStatus::Refunded)
        );
        assert!(t.state.shipping_refunded);
        assert!(matches!(
            apply(
                &t.state,
                &Action::Refund {
                    lines: vec![("l2".into(), 1)],
                    include_shipping: false
                }
            ),
            Err(Refusal::Illegal { .. })
        ));
    }
}
