//! After the sale over in-memory ports: random sequences of payments, fulfilments, returns
//! (asked, approved, received with or without restock and refund), refunds of lines, shipping
//! and amounts (through a provider that succeeds, leaves pending, or declines), settlements,
//! retries and cancels, with every invariant of API.md checked after each step.

mod support;

use comptoir::app::after_sale::{self, decided, Actor, Of};
use comptoir::app::cart::CartUpdate;
use comptoir::app::idempotency::{Claim, IdempotencyStore};
use comptoir::app::ports::{OrderStore, RefundOutcome};
use comptoir::domain::order::returns::{Receipt, Requested, ReturnAction, ReturnReason};
use comptoir::domain::order::{
    Action, Order, OrderStatus, PaymentMethod, PaymentStatus, RefundStatus,
};
use proptest::prelude::*;
use support::*;

const SKUS: [&str; 2] = ["TEE-M", "MUG"];

fn place(w: &World, method: PaymentMethod) -> Order {
    let cart = block_on(w.shop().create(Ok("FR"))).unwrap().view.id;
    block_on(w.shop().add_line(&cart, None, "TEE-M", 3)).unwrap();
    block_on(w.shop().add_line(&cart, None, "MUG", 2)).unwrap();
    let u = CartUpdate {
        email: Some(Some("jeanne@example.fr".into())),
        shipping_address: Some(Some(address("FR"))),
        shipping_method: Some(Some("colissimo".into())),
        ..CartUpdate::default()
    };
    block_on(w.shop().update(&cart, None, &u)).unwrap();
    block_on(w.shop().add_code(&cart, None, "WELCOME10")).unwrap();
    let claim = Claim {
        channel: "web".into(),
        key: format!("key-{cart}"),
        method: "POST".into(),
        path: format!("/v1/carts/{cart}/checkout"),
        body_hash: "h".into(),
        token: format!("claim-{cart}"),
        now: "2026-06-01T12:00:00.000Z".into(),
        lease_until: "2026-06-01T12:01:00.000Z".into(),
    };
    let (_, data) = block_on(w.store.claim(&claim, Some(&cart))).unwrap();
    block_on(w.till().place(data, method)).unwrap().order
}

#[derive(Debug, Clone)]
enum Op {
    Pay,
    Fulfill {
        line: usize,
        q: i64,
    },
    Ask {
        line: usize,
        q: i64,
        shopper: bool,
    },
    Approve {
        ret: usize,
    },
    Reject {
        ret: usize,
    },
    CancelReturn {
        ret: usize,
    },
    Receive {
        ret: usize,
        line: usize,
        q: i64,
        restock: bool,
        refund: bool,
    },
    RefundLines {
        line: usize,
        q: i64,
        shipping: bool,
    },
    RefundAmount {
        minor: i64,
    },
    Provider(RefundAnswer),
    Webhook {
        succeed: bool,
    },
    Retry,
    Cancel,
}

fn op() -> impl Strategy<Value = Op> {
    let line = 0usize..2;
    prop_oneof![
        2 => Just(Op::Pay),
        3 => (line.clone(), 1i64..4).prop_map(|(line, q)| Op::Fulfill { line, q }),
        3 => (line.clone(), 1i64..4, any::<bool>()).prop_map(|(line, q, shopper)| Op::Ask { line, q, shopper }),
        2 => (0usize..3).prop_map(|ret| Op::Approve { ret }),
        1 => (0usize..3).prop_map(|ret| Op::Reject { ret }),
        1 => (0usize..3).prop_map(|ret| Op::CancelReturn { ret }),
        3 => (0usize..3, line.clone(), 1i64..3, any::<bool>(), any::<bool>())
            .prop_map(|(ret, line, q, restock, refund)| Op::Receive { ret, line, q, restock, refund }),
        2 => (line, 1i64..3, any::<bool>()).prop_map(|(line, q, shipping)| Op::RefundLines { line, q, shipping }),
        2 => (1i64..4000).prop_map(|minor| Op::RefundAmount { minor }),
        2 => prop_oneof![Just(RefundAnswer::Succeed), Just(RefundAnswer::Pending), Just(RefundAnswer::Fail), Just(RefundAnswer::Unknown)].prop_map(Op::Provider),
        2 => any::<bool>().prop_map(|succeed| Op::Webhook { succeed }),
        1 => Just(Op::Retry),
        1 => Just(Op::Cancel),
    ]
}

/// Runs one operation; refusals are part of the game (the invariants must hold either way).
fn run(w: &World, id: &str, op: &Op) {
    let order = block_on(w.store.order(id)).unwrap().unwrap();
    let line_id = |i: usize| order.lines[i % order.lines.len()].id.clone();
    let ret_id = |i: usize| order.returns.get(i).map(|r| r.id.clone());
    let services = w.services();
    let manual = order.payment_method == PaymentMethod::Manual;
    let _ = match op {
        Op::Pay => w.act(id, Action::MarkPaid(None), None).map(drop),
        Op::Fulfill { line, q } => w
            .act(id, Action::Fulfill(vec![(line_id(*line), *q)]), None)
            .map(drop),
        Op::Ask { line, q, shopper } => {
            let actor = if *shopper {
                Actor::Shopper
            } else {
                Actor::Staff("staff")
            };
            let lines = [Requested {
                line_id: line_id(*line),
                quantity: *q,
                reason: ReturnReason::Other,
            }];
            block_on(after_sale::request_return(
                &w.store, &services, id, actor, &lines, None, 30,
            ))
            .map(drop)
        }
        Op::Approve { ret } | Op::Reject { ret } | Op::CancelReturn { ret } => match ret_id(*ret) {
            Some(r) => {
                let action = match op {
                    Op::Approve { .. } => ReturnAction::Approve,
                    Op::Reject { .. } => ReturnAction::Reject,
                    _ => ReturnAction::Cancel,
                };
                block_on(after_sale::step_return(
                    &w.store,
                    &services,
                    &r,
                    action,
                    Some("no".into()),
                    "staff",
                ))
                .map(drop)
            }
            None => Ok(()),
        },
        Op::Receive {
            ret,
            line,
            q,
            restock,
            refund,
        } => match ret_id(*ret) {
            Some(r) => {
                let receipts = vec![Receipt {
                    line_id: line_id(*line),
                    quantity: *q,
                    restock: *restock,
                }];
                block_on(after_sale::receive(
                    &w.store, &services, &r, receipts, *refund, "staff",
                ))
                .map(drop)
            }
            None => Ok(()),
        },
        Op::RefundLines { line, q, shipping } => w
            .act(
                id,
                Action::Refund {
                    lines: vec![(line_id(*line), *q)],
                    include_shipping: *shipping,
                    returned: false,
                    settle: manual,
                },
                None,
            )
            .map(drop),
        Op::RefundAmount { minor } => w
            .act(
                id,
                Action::RefundAmount {
                    amount: *minor,
                    settle: manual,
                },
                None,
            )
            .map(drop),
        Op::Provider(answer) => {
            w.pay.refund_answer.set(*answer);
            Ok(())
        }
        Op::Webhook { succeed } => match order
            .refunds
            .iter()
            .find(|r| r.status == RefundStatus::Pending)
        {
            Some(r) => {
                let outcome = if *succeed {
                    RefundOutcome::Succeeded {
                        reference: format!("re_{}", r.id),
                    }
                } else {
                    RefundOutcome::Failed {
                        reference: None,
                        reason: "declined".into(),
                    }
                };
                block_on(after_sale::settle(&w.store, &w.platform, &r.id, outcome)).map(drop)
            }
            None => Ok(()),
        },
        Op::Retry => match order
            .refunds
            .iter()
            .find(|r| r.status != RefundStatus::Succeeded)
        {
            Some(r) => {
                block_on(after_sale::retry(&w.store, &services, id, &r.id, "staff")).map(drop)
            }
            None => Ok(()),
        },
        Op::Cancel => w.act(id, Action::Cancel { settle: manual }, None).map(drop),
    };
}

/// Every invariant of API.md "After the sale", and the stock's, on the order as stored.
fn check(w: &World, id: &str, initial: &[(i64, i64)], step: &str) {
    let o = block_on(w.store.order(id)).unwrap().unwrap();
    let l = o.ledger();
    let committed: i64 = o.refunds.iter().map(|r| r.amount).sum();
    assert!(
        committed <= o.paid_minor,
        "{step}: refunds {committed} > paid {}",
        o.paid_minor
    );
    assert!(l.refunded <= o.paid_minor, "{step}: refunded > paid");
    assert!(
        o.paid_minor <= o.total_minor,
        "{step}: paid more than the total"
    );
    for line in &o.lines {
        let given: i64 = o
            .refunds
            .iter()
            .flat_map(|r| &r.lines)
            .filter(|x| x.line_id == line.id)
            .map(|x| x.amount)
            .sum();
        assert_eq!(given, line.refunded_amount, "{step}: line refunds add up");
        assert!(
            line.refunded_amount <= line.total,
            "{step}: a line refunded beyond its total"
        );
        assert!(line.refunded_quantity <= line.quantity, "{step}");
        assert!(
            line.returned_quantity <= line.fulfilled_quantity,
            "{step}: returned > fulfilled"
        );
        assert!(
            line.fulfilled_quantity + line.refunded_unfulfilled <= line.quantity,
            "{step}"
        );
        let held: i64 = o.returns.iter().map(|r| r.holds(&line.id)).sum();
        assert!(
            held <= line.fulfilled_quantity,
            "{step}: returns hold more than shipped"
        );
        let received: i64 = o
            .returns
            .iter()
            .flat_map(|r| &r.lines)
            .filter(|x| x.line_id == line.id)
            .map(|x| x.received)
            .sum();
        assert_eq!(
            received, line.returned_quantity,
            "{step}: returned = received"
        );
    }
    for r in &o.refunds {
        assert!(
            r.amount >= 0 && r.credit >= 0 && r.credit <= r.amount,
            "{step}: {r:?}"
        );
    }
    // Balance: what is due less what is held, exactly.
    let credited: i64 = o.refunds.iter().map(|r| r.credit).sum();
    let out: i64 = o
        .refunds
        .iter()
        .filter(|r| r.status != RefundStatus::Failed)
        .map(|r| r.amount)
        .sum();
    assert_eq!(
        l.balance(),
        (o.total_minor - credited) - (o.paid_minor - out),
        "{step}"
    );
    let failed: i64 = o
        .refunds
        .iter()
        .filter(|r| r.status == RefundStatus::Failed)
        .map(|r| r.amount)
        .sum();
    if o.paid_minor > 0 {
        assert_eq!(
            l.balance(),
            -failed,
            "{step}: a paid order is settled but for failed refunds"
        );
    }
    // Payment status follows the money once paid.
    if o.paid_minor > 0 {
        let want = if l.refunded >= o.paid_minor {
            PaymentStatus::Refunded
        } else if l.refunded > 0 {
            PaymentStatus::PartiallyRefunded
        } else {
            PaymentStatus::Paid
        };
        assert_eq!(o.payment_status, want, "{step}");
    }
    // Stock: reserved is what is still to ship; on hand lost what shipped, regained what was
    // restocked.
    for (i, sku) in SKUS.iter().enumerate() {
        let (on_hand, reserved) = w.store.stock(sku);
        let line = o.lines.iter().find(|x| x.sku == *sku).unwrap();
        let open = if o.status == OrderStatus::Canceled {
            0
        } else {
            line.quantity - line.fulfilled_quantity - line.refunded_unfulfilled
        };
        let restocked: i64 = o
            .returns
            .iter()
            .flat_map(|r| &r.lines)
            .filter(|x| x.line_id == line.id)
            .map(|x| x.restocked)
            .sum();
        assert_eq!(reserved, initial[i].1 + open, "{step}: {sku} reserved");
        assert_eq!(
            on_hand,
            initial[i].0 - line.fulfilled_quantity + restocked,
            "{step}: {sku} on hand"
        );
        assert!(reserved <= on_hand && reserved >= 0, "{step}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn every_invariant_holds_after_every_step(card in any::<bool>(), ops in proptest::collection::vec(op(), 1..40)) {
        let w = World::new();
        let initial: Vec<(i64, i64)> = SKUS.iter().map(|s| w.store.stock(s)).collect();
        let method = if card { PaymentMethod::Stripe } else { PaymentMethod::Manual };
        let order = place(&w, method);
        check(&w, &order.id, &[(initial[0].0, initial[0].1), (initial[1].0, initial[1].1)], "placed");
        for (i, op) in ops.iter().enumerate() {
            run(&w, &order.id, op);
            check(&w, &order.id, &initial, &format!("step {i} {op:?}"));
        }
    }
}

#[test]
fn a_pending_refund_settles_once_whichever_of_the_answer_and_the_webhook_comes_first() {
    let w = World::new();
    let o = place(&w, PaymentMethod::Stripe);
    w.act(&o.id, Action::MarkPaid(None), None).unwrap();
    w.pay.refund_answer.set(RefundAnswer::Pending);
    let after = w
        .act(
            &o.id,
            Action::RefundAmount {
                amount: 500,
                settle: false,
            },
            None,
        )
        .unwrap();
    let r = after.refunds[0].clone();
    assert_eq!((r.status, r.attempts), (RefundStatus::Pending, 1));
    assert_eq!(
        w.pay.refunds.borrow()[0],
        (r.id.clone(), 500, format!("{}-1", r.id))
    );
    let ok = RefundOutcome::Succeeded {
        reference: format!("re_{}-1", r.id),
    };
    let settled = block_on(after_sale::settle(&w.store, &w.platform, &r.id, ok.clone())).unwrap();
    assert_eq!(settled.refunds[0].status, RefundStatus::Succeeded);
    assert_eq!(settled.ledger().refunded, 500);
    let again = block_on(after_sale::settle(&w.store, &w.platform, &r.id, ok)).unwrap();
    assert_eq!(again.last_sequence, settled.last_sequence, "settled once");
    let late = RefundOutcome::Failed {
        reference: None,
        reason: "late".into(),
    };
    let late = block_on(after_sale::settle(&w.store, &w.platform, &r.id, late)).unwrap();
    assert_eq!(
        late.refunds[0].status,
        RefundStatus::Succeeded,
        "a settled refund stays settled"
    );
}

#[test]
fn a_refund_whose_answer_never_comes_stays_pending_and_its_retry_reuses_the_key() {
    let w = World::new();
    let o = place(&w, PaymentMethod::Stripe);
    w.act(&o.id, Action::MarkPaid(None), None).unwrap();
    w.pay.hang.set(true);
    let after = w
        .act(
            &o.id,
            Action::RefundAmount {
                amount: 700,
                settle: false,
            },
            None,
        )
        .unwrap();
    let r = after.refunds[0].clone();
    assert_eq!(
        r.status,
        RefundStatus::Pending,
        "no answer within the timeout: still pending"
    );
    w.pay.hang.set(false);
    let retried = block_on(after_sale::retry(
        &w.store,
        &w.services(),
        &o.id,
        &r.id,
        "staff",
    ))
    .unwrap();
    assert_eq!(retried.refunds[0].status, RefundStatus::Succeeded);
    assert_eq!(
        w.pay.refunds.borrow().last().unwrap().2,
        format!("{}-1", r.id),
        "the same attempt, the same key"
    );
    let wrong_order = block_on(after_sale::retry(
        &w.store,
        &w.services(),
        "ord_other",
        &r.id,
        "staff",
    ));
    assert!(
        wrong_order.is_err(),
        "a refund is retried only through its own order"
    );
}

#[test]
fn a_return_of_an_order_is_found_by_its_id_and_unknown_ids_are_refused() {
    let w = World::new();
    let o = place(&w, PaymentMethod::Manual);
    w.act(&o.id, Action::MarkPaid(None), None).unwrap();
    w.act(
        &o.id,
        Action::Fulfill(vec![(o.lines[0].id.clone(), 2)]),
        None,
    )
    .unwrap();
    let lines = [Requested {
        line_id: o.lines[0].id.clone(),
        quantity: 2,
        reason: ReturnReason::Damaged,
    }];
    let (after, ret) = block_on(after_sale::request_return(
        &w.store,
        &w.services(),
        &o.id,
        Actor::Shopper,
        &lines,
        None,
        30,
    ))
    .unwrap();
    assert_eq!(after.returns.len(), 1);
    let (found, r) = block_on(after_sale::find(&w.store, &ret)).unwrap();
    assert_eq!((found.id, r.id), (o.id.clone(), ret));
    assert!(block_on(after_sale::find(&w.store, "ret_nope")).is_err());
    assert!(block_on(after_sale::act(
        &w.store,
        &w.services(),
        Of::Return("ret_nope"),
        Actor::Staff("s"),
        "x",
        |o, _| decided(o, &Action::MarkPaid(None), None)
    ))
    .is_err());
}
