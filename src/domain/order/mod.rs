//! Orders: the state machine of API.md as a transition table of pure functions. Every
//! (status, action) pair is decided here, with the stock movements and the event it implies.

use serde::{Deserialize, Serialize};

pub use crate::domain::events::EventType;
use crate::domain::stock::{self, LineAllocation};

pub mod allocation;
pub mod edit;
pub mod exchange;
pub mod ledger;
mod record;
pub mod returns;
pub use ledger::{Ledger, Refund, RefundKind, RefundLine, RefundStatus};
pub use record::{
    AdminAction, BalancePayment, NewOrder, Order, OrderChange, OrderKind, OrderLine, OrderSource,
    PaymentMethod, Records, RefundView, ReturnView,
};

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
    /// Where its units are taken from.
    pub allocations: Vec<LineAllocation>,
    /// The line's total (what its units are worth together).
    pub total: i64,
    /// Money of refunds given for this line so far.
    pub refunded_amount: i64,
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
    /// What the shipping is worth (with its tax when prices exclude it).
    pub shipping_value: i64,
    pub ledger: Ledger,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// The payment of the balance, or of `Some(amount)` of it.
    MarkPaid(Option<i64>),
    /// `settle`: the refund of what was paid (if anything) succeeds at once (a manual order).
    Cancel { settle: bool },
    /// The payment deadline passed without payment.
    Expire,
    /// Units of lines shipped: from `location` only (what is allocated there), or with none
    /// named from each line's allocations in turn.
    Fulfill(Vec<(String, i64)>, Option<String>),
    /// Units of lines and/or the shipping. `returned`: the units came back (a return), so none
    /// of them is an unshipped unit to release.
    Refund {
        lines: Vec<(String, i64)>,
        include_shipping: bool,
        returned: bool,
        settle: bool,
    },
    /// An amount without lines: it settles what is owed, and the rest is goodwill.
    RefundAmount { amount: i64, settle: bool },
    /// A pending refund of `amount` succeeded.
    Settle { amount: i64 },
    /// A pending refund of `amount` failed: the money is owed again.
    Fail { amount: i64 },
    /// A failed refund of `amount` is sent again.
    Retry { amount: i64 },
}

/// Stock to move for one SKU at one location: `reserved -= release` (a negative release
/// reserves), `on_hand -= ship` (and `reserved -= ship`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StockMove {
    pub sku: String,
    pub location: String,
    pub release: i64,
    pub ship: i64,
}

/// The money a transition gives back, to record as a refund.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundPlan {
    pub kind: RefundKind,
    pub amount: i64,
    pub credit: i64,
    pub lines: Vec<RefundLine>,
    pub include_shipping: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    pub state: OrderState,
    pub event: Option<EventType>,
    pub stock: Vec<StockMove>,
    pub cancel_reason: Option<&'static str>,
    pub refund: Option<RefundPlan>,
}

/// Why an action cannot apply: 409 `illegal_transition`, or 422 for a bad line reference or
/// amount.
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
    BadAmount {
        reason: String,
    },
}

fn action_name(a: &Action) -> &'static str {
    match a {
        Action::MarkPaid(_) => "mark-paid",
        Action::Cancel { .. } => "cancel",
        Action::Expire => "expire",
        Action::Fulfill(..) => "fulfill",
        Action::Refund { .. } | Action::RefundAmount { .. } => "refund",
        Action::Settle { .. } => "settle",
        Action::Fail { .. } => "fail",
        Action::Retry { .. } => "retry",
    }
}

/// The payment status money says: nothing paid keeps what it was (pending, voided); then
/// paid, partially refunded, or refunded once succeeded refunds reach what was paid.
fn payment_of(prior: PaymentStatus, ledger: &Ledger) -> PaymentStatus {
    if ledger.paid <= 0 {
        prior
    } else if ledger.refunded >= ledger.paid {
        PaymentStatus::Refunded
    } else if ledger.refunded > 0 {
        PaymentStatus::PartiallyRefunded
    } else {
        PaymentStatus::Paid
    }
}

/// Records a refund of `amount` crediting `credit` in `next`'s ledger (money out now if
/// `settle`), and its payment status.
fn book(next: &mut OrderState, amount: i64, credit: i64, settle: bool) {
    next.ledger.committed += amount;
    next.ledger.credited += credit;
    next.ledger.out += amount;
    if settle {
        next.ledger.refunded += amount;
    }
    next.payment = payment_of(next.payment, &next.ledger);
}

/// A transition that changes nothing in the order's own state (a return's step, a refund's
/// provider reference), with the event it emits.
pub fn unchanged(state: OrderState, event: Option<EventType>) -> Transition {
    transition(state, event, vec![])
}

fn transition(state: OrderState, event: Option<EventType>, stock: Vec<StockMove>) -> Transition {
    Transition {
        state,
        event,
        stock,
        cancel_reason: None,
        refund: None,
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
    let balance = state.ledger.balance();
    match action {
        Action::MarkPaid(amount) => {
            let pay = match (state.status, amount) {
                (Canceled, _) => return Err(illegal()),
                (_, None) if balance <= 0 => return Ok(None),
                (_, None) => balance,
                (_, Some(a)) if *a < 1 || *a > balance.max(0) => {
                    return Err(Refusal::BadAmount {
                        reason: format!(
                            "the balance is {}: a payment is between 1 and that (minor units)",
                            balance.max(0)
                        ),
                    })
                }
                // An unpaid order is paid in full, or not at all.
                (PendingPayment, Some(a)) if *a != balance => {
                    return Err(Refusal::BadAmount {
                        reason: "an unpaid order is paid for its whole balance".into(),
                    })
                }
                (_, Some(a)) => *a,
            };
            next.ledger.paid += pay;
            let event = if state.status == PendingPayment {
                next.status = Confirmed;
                next.payment = PaymentStatus::Paid;
                Some(EventType::OrderConfirmed)
            } else {
                next.payment = payment_of(next.payment, &next.ledger);
                Some(EventType::OrderPaid)
            };
            Ok(Some(transition(next, event, vec![])))
        }
        Action::Cancel { .. } | Action::Expire => match state.status {
            Canceled => Ok(None),
            PendingPayment if state.ledger.paid == 0 => {
                cancel(state, next, action == &Action::Expire)
            }
            // A cancel of an order that is unpaid but holds money (an exchange waiting for the
            // rest) or of a confirmed one not yet shipped gives back what was paid.
            PendingPayment | Confirmed
                if matches!(action, Action::Cancel { .. })
                    && state.lines.iter().all(|l| l.fulfilled == 0) =>
            {
                let settle = matches!(action, Action::Cancel { settle: true });
                let mut t = cancel(state, next, false)?;
                if let Some(t) = t.as_mut() {
                    if let Some(r) = t.refund.clone() {
                        book(&mut t.state, r.amount, r.credit, settle);
                    }
                }
                Ok(t)
            }
            Confirmed | PendingPayment if matches!(action, Action::Expire) => Ok(None),
            _ => Err(illegal()),
        },
        Action::Fulfill(lines, location) => {
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
                let shipped = stock::ship(&mut line.allocations, *q, location.as_deref())
                    .map_err(|open| Refusal::BadLine {
                        index: i,
                        reason: match location {
                            Some(at) => format!("{open} unit(s) of this line are allocated at {at} and left to ship"),
                            None => format!("{open} unit(s) of this line are allocated and left to ship"),
                        },
                    })?;
                line.fulfilled += q;
                stock.extend(shipped.into_iter().map(|(location, n)| StockMove {
                    sku: line.sku.clone(),
                    location,
                    release: 0,
                    ship: n,
                }));
            }
            next.fulfillment = fulfillment_of(&next.lines);
            if next.fulfillment == FulfillmentStatus::Fulfilled {
                next.status = Fulfilled;
            }
            Ok(Some(transition(
                next,
                Some(EventType::OrderFulfilled),
                stock,
            )))
        }
        Action::Refund {
            lines,
            include_shipping,
            returned,
            settle,
        } => {
            if !matches!(state.status, Confirmed | Fulfilled) || state.ledger.paid == 0 {
                return Err(illegal());
            }
            // Units are refunded from what was paid for them: while the customer still owes
            // (an edit added lines not yet paid), which units were paid is not known.
            if balance > 0 {
                return Err(Refusal::BadAmount {
                    reason: format!(
                        "the customer still owes {balance} (minor units): collect it, or remove the unpaid lines with an edit, before refunding lines"
                    ),
                });
            }
            let mut stock = Vec::new();
            let mut planned = Vec::new();
            for (i, (line_id, q)) in lines.iter().enumerate() {
                if lines[..i].iter().any(|(other, _)| other == line_id) {
                    return Err(Refusal::BadLine {
                        index: i,
                        reason: "names a line already named in this refund".into(),
                    });
                }
                let line = line_mut(&mut next.lines, i, line_id)?;
                let refundable = line.quantity - line.refunded;
                if *q < 1 || *q > refundable {
                    return Err(Refusal::BadLine {
                        index: i,
                        reason: format!("{refundable} unit(s) of this line can still be refunded"),
                    });
                }
                // Units that never shipped are refunded first (their reservation is
                // released), unless these came back from the customer.
                let unshipped = if *returned { 0 } else { (*q).min(line.open()) };
                if *returned && *q > line.fulfilled - (line.refunded - line.refunded_unfulfilled) {
                    return Err(Refusal::BadLine {
                        index: i,
                        reason: "more units than were shipped and not yet refunded".into(),
                    });
                }
                let amount = ledger::next_share(line.total, line.quantity, line.refunded, *q);
                line.refunded += q;
                line.refunded_unfulfilled += unshipped;
                line.refunded_amount += amount;
                planned.push(RefundLine {
                    line_id: line_id.clone(),
                    quantity: *q,
                    amount,
                });
                for (location, n) in stock::release(&mut line.allocations, unshipped) {
                    stock.push(StockMove {
                        sku: line.sku.clone(),
                        location,
                        release: n,
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
            let mut amount: i64 = planned.iter().map(|l| l.amount).sum();
            if *include_shipping {
                if state.shipping_refunded {
                    return Err(Refusal::BadLine {
                        index: 0,
                        reason: "shipping was already refunded".into(),
                    });
                }
                next.shipping_refunded = true;
                amount += state.shipping_value;
            }
            if amount > state.ledger.refundable() {
                return Err(Refusal::BadAmount {
                    reason: format!(
                        "these units are worth {amount} (minor units) but only {} of what was paid can still be refunded",
                        state.ledger.refundable()
                    ),
                });
            }
            let all = next.lines.iter().all(|l| l.refunded == l.quantity);
            next.fulfillment = fulfillment_of(&next.lines);
            if all {
                next.status = Refunded;
            } else if next.fulfillment == FulfillmentStatus::Fulfilled {
                next.status = Fulfilled;
            }
            if amount > 0 {
                book(&mut next, amount, amount, *settle);
            }
            let mut t = transition(
                next,
                (*settle || amount == 0).then_some(EventType::OrderRefunded),
                stock,
            );
            // Units worth nothing (a 100 % discount) are refunded too: a record of 0.
            t.refund = Some(RefundPlan {
                kind: RefundKind::Lines,
                amount,
                credit: amount,
                lines: planned,
                include_shipping: *include_shipping,
            });
            Ok(Some(t))
        }
        Action::RefundAmount { amount, settle } => {
            if matches!(state.status, PendingPayment) || state.ledger.paid == 0 {
                return Err(illegal());
            }
            let refundable = state.ledger.refundable();
            if *amount < 1 || *amount > refundable {
                return Err(Refusal::BadAmount {
                    reason: format!(
                        "{refundable} (minor units) of what was paid can still be refunded"
                    ),
                });
            }
            let credit = state.ledger.goodwill_credit(*amount);
            book(&mut next, *amount, credit, *settle);
            let mut t = transition(next, settle.then_some(EventType::OrderRefunded), vec![]);
            t.refund = Some(RefundPlan {
                kind: RefundKind::Amount,
                amount: *amount,
                credit,
                lines: vec![],
                include_shipping: false,
            });
            Ok(Some(t))
        }
        Action::Settle { amount } => {
            next.ledger.refunded += amount;
            next.payment = payment_of(next.payment, &next.ledger);
            Ok(Some(transition(
                next,
                Some(EventType::OrderRefunded),
                vec![],
            )))
        }
        Action::Fail { amount } => {
            next.ledger.out -= amount;
            next.ledger.failed += amount;
            Ok(Some(transition(
                next,
                Some(EventType::RefundFailed),
                vec![],
            )))
        }
        Action::Retry { amount } => {
            next.ledger.out += amount;
            next.ledger.failed -= amount;
            Ok(Some(transition(next, None, vec![])))
        }
    }
}

fn cancel(
    state: &OrderState,
    mut next: OrderState,
    expired: bool,
) -> Result<Option<Transition>, Refusal> {
    next.status = OrderStatus::Canceled;
    next.ledger.void = true;
    let mut stock = Vec::new();
    for line in next.lines.iter_mut().filter(|l| l.open() > 0) {
        let open = line.open();
        for (location, n) in stock::release(&mut line.allocations, open) {
            stock.push(StockMove {
                sku: line.sku.clone(),
                location,
                release: n,
                ship: 0,
            });
        }
    }
    // What was paid goes back: all that can still be refunded, crediting what is still due.
    let amount = state.ledger.refundable();
    let refund = (amount > 0).then(|| RefundPlan {
        kind: RefundKind::Amount,
        amount,
        credit: (state.ledger.total - state.ledger.credited).clamp(0, amount),
        lines: vec![],
        include_shipping: false,
    });
    if state.ledger.paid == 0 {
        next.payment = PaymentStatus::Voided;
    }
    Ok(Some(Transition {
        state: next,
        event: Some(EventType::OrderCanceled),
        stock,
        cancel_reason: Some(if expired {
            "payment_timeout"
        } else {
            "canceled_by_merchant"
        }),
        refund,
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

pub(crate) fn fulfillment_of(lines: &[LineState]) -> FulfillmentStatus {
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

    fn at_main(quantity: i64) -> LineAllocation {
        LineAllocation {
            location: "main".into(),
            quantity,
            fulfilled: 0,
        }
    }

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
                    allocations: vec![at_main(2)],
                    total: 2000,
                    refunded_amount: 0,
                },
                LineState {
                    id: "l2".into(),
                    sku: "B".into(),
                    quantity: 1,
                    fulfilled: 0,
                    refunded: 0,
                    refunded_unfulfilled: 0,
                    allocations: vec![at_main(1)],
                    total: 1001,
                    refunded_amount: 0,
                },
            ],
            shipping_refunded: false,
            shipping_value: 499,
            ledger: Ledger {
                total: 3500,
                paid: if payment == PaymentStatus::Pending || payment == PaymentStatus::Voided {
                    0
                } else {
                    3500
                },
                ..Ledger::default()
            },
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
            l.refunded_amount = l.total;
        }
        refunded.ledger.refunded = 3001;
        refunded.ledger.out = 3001;
        refunded.ledger.committed = 3001;
        refunded.ledger.credited = 3001;
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
            Action::MarkPaid(None),
            Action::Cancel { settle: true },
            Action::Expire,
            Action::Fulfill(vec![("l1".into(), 1)], None),
            Action::Refund {
                lines: vec![("l1".into(), 1)],
                include_shipping: false,
                returned: false,
                settle: true,
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
                    Err(Refusal::BadLine { .. } | Refusal::BadAmount { .. }) => Illegal,
                };
                assert_eq!(got, want, "{status:?} + {a:?}");
            }
        }
    }

    #[test]
    fn paying_confirms_and_emits_order_confirmed() {
        let t = apply(
            &state(PendingPayment, PaymentStatus::Pending),
            &Action::MarkPaid(None),
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
                    location: "main".into(),
                    release: 2,
                    ship: 0
                },
                StockMove {
                    sku: "B".into(),
                    location: "main".into(),
                    release: 1,
                    ship: 0
                }
            ]
        );
        let t = apply(
            &state(Confirmed, PaymentStatus::Paid),
            &Action::Cancel { settle: true },
        )
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
        let t = apply(&s, &Action::Fulfill(vec![("l1".into(), 1)], None))
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
                location: "main".into(),
                release: 0,
                ship: 1
            }]
        );
        let t = apply(
            &t.state,
            &Action::Fulfill(vec![("l1".into(), 1), ("l2".into(), 1)], None),
        )
        .unwrap()
        .unwrap();
        assert_eq!(
            (t.state.status, t.state.fulfillment),
            (Fulfilled, FulfillmentStatus::Fulfilled)
        );
        assert!(matches!(
            apply(&t.state, &Action::Cancel { settle: true }),
            Err(Refusal::Illegal { .. })
        ));
    }

    #[test]
    fn fulfilling_more_than_is_left_or_an_unknown_line_is_refused() {
        let s = state(Confirmed, PaymentStatus::Paid);
        assert!(matches!(
            apply(&s, &Action::Fulfill(vec![("l1".into(), 3)], None)),
            Err(Refusal::BadLine { index: 0, .. })
        ));
        assert!(matches!(
            apply(
                &s,
                &Action::Fulfill(vec![("l2".into(), 1), ("zz".into(), 1)], None)
            ),
            Err(Refusal::BadLine { index: 1, .. })
        ));
        assert!(matches!(
            apply(&s, &Action::Fulfill(vec![("l1".into(), 0)], None)),
            Err(Refusal::BadLine { .. })
        ));
    }

    #[test]
    fn refunds_release_unshipped_units_first_and_end_in_refunded() {
        let s = state(Confirmed, PaymentStatus::Paid);
        let t = apply(&s, &Action::Fulfill(vec![("l1".into(), 1)], None))
            .unwrap()
            .unwrap();
        // Refund 2 of l1: one unshipped (released), one shipped (a return).
        let t = apply(
            &t.state,
            &Action::Refund {
                lines: vec![("l1".into(), 2)],
                include_shipping: false,
                returned: false,
                settle: true,
            },
        )
        .unwrap()
        .unwrap();
        assert_eq!(
            t.stock,
            vec![StockMove {
                sku: "A".into(),
                location: "main".into(),
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
                returned: false,
                settle: true,
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
                    include_shipping: false,
                    returned: false,
                    settle: true,
                }
            ),
            Err(Refusal::Illegal { .. })
        ));
    }
}
