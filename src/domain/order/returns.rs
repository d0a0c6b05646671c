//! Returns (RMA): what a shopper or the staff may ask to send back, and the state machine of a
//! return (API.md "After the sale"): `requested → approved → received`, `requested →
//! rejected`, `requested|approved → canceled`. Every (status, action) pair is decided here.

use super::Order;
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReturnStatus {
    Requested,
    Approved,
    Received,
    Rejected,
    Canceled,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReturnReason {
    Damaged,
    WrongItem,
    NotAsDescribed,
    ChangedMind,
    Other,
}

text_enum!(ReturnStatus { Requested => "requested", Approved => "approved", Received => "received", Rejected => "rejected", Canceled => "canceled" });
text_enum!(ReturnReason { Damaged => "damaged", WrongItem => "wrong_item", NotAsDescribed => "not_as_described", ChangedMind => "changed_mind", Other => "other" });

impl ReturnReason {
    pub const NAMES: &'static str = "damaged, wrong_item, not_as_described, changed_mind, other";
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReturnLine {
    pub line_id: String,
    pub quantity: i64,
    pub reason: ReturnReason,
    /// Units received so far.
    pub received: i64,
    /// Of those, units put back in stock.
    pub restocked: i64,
}

/// Who opened a return.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Opener {
    Customer,
    Staff,
}

impl Opener {
    pub fn as_str(self) -> &'static str {
        match self {
            Opener::Customer => "customer",
            Opener::Staff => "staff",
        }
    }

    pub fn parse(s: &str) -> Option<Opener> {
        match s {
            "customer" => Some(Opener::Customer),
            "staff" => Some(Opener::Staff),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Return {
    pub id: String,
    pub order_id: String,
    pub status: ReturnStatus,
    pub lines: Vec<ReturnLine>,
    pub note: Option<String>,
    pub opened_by: Opener,
    pub reject_reason: Option<String>,
    /// The replacement order of an exchange.
    pub exchange_order_id: Option<String>,
    /// The refunds made when lines were received.
    pub refund_ids: Vec<String>,
    pub created_at: String,
    pub updated_at: String,
}

impl Return {
    /// Units of `line_id` this return holds against the line: all it asked for while open,
    /// what came back once received; nothing when rejected or canceled.
    pub fn holds(&self, line_id: &str) -> i64 {
        self.lines
            .iter()
            .filter(|l| l.line_id == line_id)
            .map(|l| match self.status {
                ReturnStatus::Requested | ReturnStatus::Approved => l.quantity,
                ReturnStatus::Received => l.received,
                ReturnStatus::Rejected | ReturnStatus::Canceled => 0,
            })
            .sum()
    }
}

/// One line of a return request, as the client sent it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requested {
    pub line_id: String,
    pub quantity: i64,
    pub reason: ReturnReason,
}

/// Why a request or an action names lines it cannot: `lines[index]` and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadLine {
    pub index: usize,
    pub reason: String,
}

/// The lines of a new return on `order`, given its other returns: each names a line of the
/// order once, and asks for at most what was fulfilled less what was returned or is asked for
/// already. `window_start`: when set (a shopper's request), each line's last fulfilment must
/// be at or after it (RFC 3339 strings of one format compare as instants).
pub fn request(
    order: &Order,
    others: &[Return],
    lines: &[Requested],
    window_start: Option<&str>,
) -> Result<Vec<ReturnLine>, BadLine> {
    let mut out: Vec<ReturnLine> = Vec::with_capacity(lines.len());
    for (index, want) in lines.iter().enumerate() {
        let bad = |reason: String| BadLine { index, reason };
        let Some(line) = order.lines.iter().find(|l| l.id == want.line_id) else {
            return Err(bad(format!("the order has no line {}", want.line_id)));
        };
        if out.iter().any(|l| l.line_id == want.line_id) {
            return Err(bad("names a line already named in this return".into()));
        }
        if line.fulfilled_quantity == 0 {
            return Err(bad("this line has not been fulfilled".into()));
        }
        if let (Some(start), Some(at)) = (window_start, line.last_fulfilled_at.as_deref()) {
            if at < start {
                return Err(bad("the return window of this line has closed".into()));
            }
        }
        let held: i64 = others.iter().map(|r| r.holds(&line.id)).sum();
        let left = line.fulfilled_quantity - held;
        if want.quantity < 1 || want.quantity > left {
            return Err(bad(format!(
                "{} unit(s) of this line can still be returned",
                left.max(0)
            )));
        }
        out.push(ReturnLine {
            line_id: want.line_id.clone(),
            quantity: want.quantity,
            reason: want.reason,
            received: 0,
            restocked: 0,
        });
    }
    Ok(out)
}

/// One received line: units, and whether they go back in stock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    pub line_id: String,
    pub quantity: i64,
    pub restock: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReturnAction {
    Approve,
    Reject,
    Cancel,
    Receive(Vec<Receipt>),
}

impl ReturnAction {
    pub fn name(&self) -> &'static str {
        match self {
            ReturnAction::Approve => "approve",
            ReturnAction::Reject => "reject",
            ReturnAction::Cancel => "cancel",
            ReturnAction::Receive(_) => "receive",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReturnRefusal {
    Illegal {
        from: ReturnStatus,
        action: &'static str,
    },
    BadLine(BadLine),
}

/// Applies `action` to `ret`. `Ok(None)`: its effect already holds (approve twice).
pub fn act(ret: &Return, action: &ReturnAction) -> Result<Option<Return>, ReturnRefusal> {
    use ReturnStatus::*;
    let illegal = || ReturnRefusal::Illegal {
        from: ret.status,
        action: action.name(),
    };
    let mut next = ret.clone();
    let received_any = ret.lines.iter().any(|l| l.received > 0);
    match (action, ret.status) {
        (ReturnAction::Approve, Requested) => next.status = Approved,
        (ReturnAction::Approve, Approved) => return Ok(None),
        (ReturnAction::Reject, Requested) => next.status = Rejected,
        (ReturnAction::Reject, Rejected) => return Ok(None),
        (ReturnAction::Cancel, Requested) => next.status = Canceled,
        // Exchanged: the replacement holds its credit, the goods are due back.
        (ReturnAction::Cancel, Approved) if !received_any && ret.exchange_order_id.is_none() => {
            next.status = Canceled
        }
        (ReturnAction::Cancel, Canceled) => return Ok(None),
        (ReturnAction::Receive(receipts), Approved) => {
            for (index, r) in receipts.iter().enumerate() {
                let bad = |reason: String| ReturnRefusal::BadLine(BadLine { index, reason });
                if receipts[..index].iter().any(|o| o.line_id == r.line_id) {
                    return Err(bad("names a line already named in this receipt".into()));
                }
                let Some(line) = next.lines.iter_mut().find(|l| l.line_id == r.line_id) else {
                    return Err(bad(format!("the return has no line {}", r.line_id)));
                };
                let left = line.quantity - line.received;
                if r.quantity < 1 || r.quantity > left {
                    return Err(bad(format!(
                        "{left} unit(s) of this line are still expected"
                    )));
                }
                line.received += r.quantity;
                if r.restock {
                    line.restocked += r.quantity;
                }
            }
            if receipts.is_empty() {
                return Err(ReturnRefusal::BadLine(BadLine {
                    index: 0,
                    reason: "a receipt names at least one line".into(),
                }));
            }
            if next.lines.iter().all(|l| l.received == l.quantity) {
                next.status = Received;
            }
        }
        _ => return Err(illegal()),
    }
    Ok(Some(next))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ReturnStatus::*;

    fn ret(status: ReturnStatus) -> Return {
        Return {
            id: "ret_1".into(),
            order_id: "ord_1".into(),
            status,
            lines: vec![
                ReturnLine {
                    line_id: "l1".into(),
                    quantity: 2,
                    reason: ReturnReason::Damaged,
                    received: if status == Received { 2 } else { 0 },
                    restocked: 0,
                },
                ReturnLine {
                    line_id: "l2".into(),
                    quantity: 1,
                    reason: ReturnReason::ChangedMind,
                    received: if status == Received { 1 } else { 0 },
                    restocked: 0,
                },
            ],
            note: None,
            opened_by: Opener::Customer,
            reject_reason: None,
            exchange_order_id: None,
            refund_ids: vec![],
            created_at: String::new(),
            updated_at: String::new(),
        }
    }

    fn receive_one() -> ReturnAction {
        ReturnAction::Receive(vec![Receipt {
            line_id: "l1".into(),
            quantity: 1,
            restock: true,
        }])
    }

    /// The whole table: for each (status, action), what happens.
    #[test]
    fn every_return_status_and_action_pair_is_decided() {
        #[derive(Debug, PartialEq)]
        enum Outcome {
            To(ReturnStatus),
            Unchanged,
            Illegal,
        }
        use Outcome::*;
        let actions = [
            ReturnAction::Approve,
            ReturnAction::Reject,
            ReturnAction::Cancel,
            receive_one(),
        ];
        let expected = [
            (
                Requested,
                [To(Approved), To(Rejected), To(Canceled), Illegal],
            ),
            (Approved, [Unchanged, Illegal, To(Canceled), To(Approved)]),
            (Received, [Illegal, Illegal, Illegal, Illegal]),
            (Rejected, [Illegal, Unchanged, Illegal, Illegal]),
            (Canceled, [Illegal, Illegal, Unchanged, Illegal]),
        ];
        for (status, outcomes) in expected {
            for (a, want) in actions.iter().zip(outcomes) {
                let got = match act(&ret(status), a) {
                    Ok(Some(r)) => To(r.status),
                    Ok(None) => Unchanged,
                    Err(ReturnRefusal::Illegal { .. }) => Illegal,
                    Err(ReturnRefusal::BadLine(_)) => panic!("{status:?} + {a:?}: bad line"),
                };
                assert_eq!(got, want, "{status:?} + {a:?}");
            }
        }
    }

    #[test]
    fn a_return_is_received_once_every_unit_is_back_and_counts_what_is_restocked() {
        let r = act(&ret(Approved), &receive_one()).unwrap().unwrap();
        assert_eq!(r.status, Approved, "partial receipt stays approved");
        assert_eq!((r.lines[0].received, r.lines[0].restocked), (1, 1));
        let r = act(
            &r,
            &ReturnAction::Receive(vec![
                Receipt {
                    line_id: "l1".into(),
                    quantity: 1,
                    restock: false,
                },
                Receipt {
                    line_id: "l2".into(),
                    quantity: 1,
                    restock: false,
                },
            ]),
        )
        .unwrap()
        .unwrap();
        assert_eq!(r.status, Received);
        assert_eq!((r.lines[0].received, r.lines[0].restocked), (2, 1));
        assert!(
            matches!(
                act(&r, &ReturnAction::Cancel),
                Err(ReturnRefusal::Illegal { .. })
            ),
            "what came back stays received"
        );
    }

    #[test]
    fn receiving_more_than_expected_an_unknown_line_or_a_line_twice_is_refused() {
        let approved = ret(Approved);
        let receive = |line: &str, q: i64| Receipt {
            line_id: line.into(),
            quantity: q,
            restock: false,
        };
        for (receipts, index) in [
            (vec![receive("l1", 3)], 0),
            (vec![receive("l2", 1), receive("zz", 1)], 1),
            (vec![receive("l1", 1), receive("l1", 1)], 1),
            (vec![receive("l1", 0)], 0),
            (vec![], 0),
        ] {
            match act(&approved, &ReturnAction::Receive(receipts.clone())) {
                Err(ReturnRefusal::BadLine(b)) => assert_eq!(b.index, index, "{receipts:?}"),
                other => panic!("{receipts:?}: {other:?}"),
            }
        }
        let partly = act(&approved, &receive_one()).unwrap().unwrap();
        assert!(
            matches!(
                act(&partly, &ReturnAction::Cancel),
                Err(ReturnRefusal::Illegal { .. })
            ),
            "a return with units received cannot be canceled"
        );
    }
}
