//! The money of an order after the sale: what was paid, what each refund gives back, and the
//! balance (API.md "After the sale"). All amounts are integers in the currency's minor units;
//! a share of a line is rounded so that the shares of every unit add up to the line exactly.
//!
//! - `due` is what the order is worth to the customer now: its total, less every refund's
//!   credit (the value of refunded lines and shipping, and goodwill).
//! - `net_paid` is what the merchant holds: paid, less the refunds that moved or are moving.
//! - `balance = due − net_paid`: positive, the customer owes; negative, owed to them.
//!
//! A refund that only settles money owed (after an edit made the order cheaper) credits
//! nothing; what an amount-only refund gives beyond what is owed is goodwill, a credit.

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RefundStatus {
    /// Sent to the provider (or about to be); its outcome is not known yet.
    Pending,
    Succeeded,
    /// The provider refused it: the money is still owed; it can be retried.
    Failed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RefundKind {
    /// Lines and/or shipping, by quantity.
    Lines,
    /// An amount, without lines.
    Amount,
    /// Lines returned for an exchange: their value is credited to the replacement order, no
    /// money leaves.
    Exchange,
}

text_enum!(RefundStatus { Pending => "pending", Succeeded => "succeeded", Failed => "failed" });
text_enum!(RefundKind { Lines => "lines", Amount => "amount", Exchange => "exchange" });

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundLine {
    pub line_id: String,
    pub quantity: i64,
    /// The share of the line's paid total these units are worth.
    pub amount: i64,
}

/// A refund as recorded on its order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refund {
    pub id: String,
    pub kind: RefundKind,
    pub status: RefundStatus,
    /// Money given back (minor units), > 0.
    pub amount: i64,
    /// The part of `amount` that lowers what the order is worth (the rest settles money owed).
    pub credit: i64,
    pub lines: Vec<RefundLine>,
    pub include_shipping: bool,
    pub reason: Option<String>,
    /// The provider's refund id (`re_…`), or the replacement order of an exchange.
    pub provider_reference: Option<String>,
    /// Why the provider refused it, when it did.
    pub failure_reason: Option<String>,
    /// How many times it was sent to the provider.
    pub attempts: i64,
    pub created_at: String,
    pub updated_at: String,
}

impl Refund {
    /// Money that left or is leaving (a failed refund is owed, not gone).
    pub fn out(&self) -> i64 {
        match (self.status, self.kind) {
            (RefundStatus::Failed, _) => 0,
            _ => self.amount,
        }
    }
}

/// The share of a line worth `units` of its `quantity` units, of its `total`: rounded half up,
/// so that `share(q) == total` and shares taken one after another add up exactly.
pub fn share(total: i64, quantity: i64, units: i64) -> i64 {
    if quantity <= 0 {
        return 0;
    }
    let (n, d) = (i128::from(total) * i128::from(units), i128::from(quantity));
    let q = (2 * n + d).div_euclid(2 * d);
    q as i64
}

/// What refunding `units` more of a line is worth when `already` of them were refunded.
pub fn next_share(total: i64, quantity: i64, already: i64, units: i64) -> i64 {
    share(total, quantity, already + units) - share(total, quantity, already)
}

/// The figures of an order's money.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Ledger {
    pub total: i64,
    pub paid: i64,
    /// Σ credit of every refund (pending, succeeded or failed: the decision stands).
    pub credited: i64,
    /// Σ amount of pending and succeeded refunds.
    pub out: i64,
    /// Σ amount of succeeded refunds.
    pub refunded: i64,
    /// Σ amount of every refund: what a new refund may not take beyond `paid`.
    pub committed: i64,
    /// Σ amount of failed refunds: owed, and held for their retry.
    pub failed: i64,
    /// The order was canceled: nothing is due any more, only what is held is owed back.
    pub void: bool,
}

impl Ledger {
    pub fn of(total: i64, paid: i64, refunds: &[Refund]) -> Ledger {
        let mut l = Ledger {
            total,
            paid,
            ..Ledger::default()
        };
        for r in refunds {
            l.credited += r.credit;
            l.out += r.out();
            l.committed += r.amount;
            match r.status {
                RefundStatus::Succeeded => l.refunded += r.amount,
                RefundStatus::Failed => l.failed += r.amount,
                RefundStatus::Pending => {}
            }
        }
        l
    }

    /// Positive: the customer owes it; negative: owed to the customer.
    pub fn balance(&self) -> i64 {
        self.due() - (self.paid - self.out)
    }

    /// What the order is worth to the customer now (nothing once canceled).
    pub fn due(&self) -> i64 {
        if self.void {
            0
        } else {
            self.total - self.credited
        }
    }

    /// What may still be refunded: paid, less every refund recorded.
    pub fn refundable(&self) -> i64 {
        (self.paid - self.committed).max(0)
    }

    /// Money owed to the customer that no refund is meant for yet (what an edit made the
    /// order cheaper by): the balance when negative, less the failed refunds awaiting retry.
    pub fn owed(&self) -> i64 {
        (-(self.balance() + self.failed)).max(0)
    }

    /// The credit of an amount-only refund of `amount`: what it gives beyond what is owed.
    pub fn goodwill_credit(&self, amount: i64) -> i64 {
        amount - amount.min(self.owed())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refund(status: RefundStatus, amount: i64, credit: i64) -> Refund {
        Refund {
            id: "ref_1".into(),
            kind: RefundKind::Lines,
            status,
            amount,
            credit,
            lines: vec![],
            include_shipping: false,
            reason: None,
            provider_reference: None,
            failure_reason: None,
            attempts: 1,
            created_at: String::new(),
            updated_at: String::new(),
        }
    }

    #[test]
    fn the_shares_of_every_unit_add_up_to_the_line_exactly() {
        for total in [0, 1, 999, 1000, 1001, 3333, 12_345] {
            for quantity in 1..=13 {
                let mut sum = 0;
                for already in 0..quantity {
                    let s = next_share(total, quantity, already, 1);
                    assert!(s >= 0);
                    sum += s;
                }
                assert_eq!(sum, total, "{total} over {quantity}");
                assert_eq!(share(total, quantity, quantity), total);
            }
        }
        assert_eq!(share(1000, 3, 1), 333);
        assert_eq!(share(1000, 3, 2), 667, "half up");
        assert_eq!(share(1001, 2, 1), 501, "half up");
    }

    #[test]
    fn the_balance_is_what_is_due_less_what_is_held() {
        // Paid 100.00, nothing refunded: settled.
        let l = Ledger::of(10_000, 10_000, &[]);
        assert_eq!((l.balance(), l.refundable()), (0, 10_000));
        // A line worth 30.00 refunded: still settled, 70.00 left to refund.
        let l = Ledger::of(
            10_000,
            10_000,
            &[refund(RefundStatus::Succeeded, 3000, 3000)],
        );
        assert_eq!((l.balance(), l.refundable(), l.refunded), (0, 7000, 3000));
        // The same refund failed: 30.00 owed to the customer, and held for its retry.
        let l = Ledger::of(10_000, 10_000, &[refund(RefundStatus::Failed, 3000, 3000)]);
        assert_eq!((l.balance(), l.refundable(), l.out), (-3000, 7000, 0));
        // An edit took the total to 80.00: 20.00 owed; refunding it settles (no credit).
        let l = Ledger::of(8000, 10_000, &[]);
        assert_eq!((l.balance(), l.goodwill_credit(2000)), (-2000, 0));
        assert_eq!(
            l.goodwill_credit(2500),
            500,
            "beyond what is owed is goodwill"
        );
        let l = Ledger::of(8000, 10_000, &[refund(RefundStatus::Pending, 2000, 0)]);
        assert_eq!(l.balance(), 0);
        // An edit took it to 120.00: the customer owes 20.00.
        assert_eq!(Ledger::of(12_000, 10_000, &[]).balance(), 2000);
        // Unpaid: the whole total is owed.
        assert_eq!(Ledger::of(12_000, 0, &[]).balance(), 12_000);
    }
}
