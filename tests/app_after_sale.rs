//! After the sale over in-memory ports: random sequences of payments, fulfilments, returns
//! (asked, approved, received with or without restock and refund), refunds of lines, shipping
//! and amounts (through a provider that succeeds, leaves pending, or declines), settlements,
//! retries and cancels, with every invariant of API.md checked after each step.

mod support;

use comptoir::app::after_sale::{self, decided, Actor, EditRequest, Of};
use comptoir::app::cart::CartUpdate;
use comptoir::app::idempotency::IdempotencyStore;
use comptoir::app::orders::OrderRefusal;
use comptoir::app::ports::{OrderStore, RefundOutcome};
use comptoir::app::Failure;
use comptoir::domain::order::edit::Change;
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
    let claim = claim(&cart);
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
    Edit {
        line: usize,
        q: i64,
        op: u8,
    },
    Exchange {
        ret: usize,
        sku: usize,
        q: i64,
    },
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
        2 => (0usize..3, 0i64..3, 0u8..3).prop_map(|(line, q, op)| Op::Edit { line, q, op }),
        2 => (0usize..3, 0usize..2, 1i64..3).prop_map(|(ret, sku, q)| Op::Exchange { ret, sku, q }),
    ]
}

/// Runs one operation; refusals are part of the game (the invariants must hold either way).
/// Whether it was an edit that applied.
fn run(w: &World, id: &str, op: &Op) -> bool {
    let order = block_on(w.store.order(id)).unwrap().unwrap();
    let line_id = |i: usize| order.lines[i % order.lines.len()].id.clone();
    let ret_id = |i: usize| order.returns.get(i).map(|r| r.id.clone());
    let services = w.services();
    let manual = order.payment_method == PaymentMethod::Manual;
    let done = match op {
        Op::Pay => w.act(id, Action::MarkPaid(None), None).map(drop),
        Op::Fulfill { line, q } => w
            .act(id, Action::Fulfill(vec![(line_id(*line), *q)], None), None)
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
        Op::Edit { line, q, op } => {
            let change = match op {
                0 => Change::Add {
                    sku: SKUS[line % 2].into(),
                    quantity: q + 1,
                },
                1 => Change::SetQuantity {
                    line_id: line_id(*line),
                    quantity: q + 1,
                },
                _ => Change::Remove {
                    line_id: line_id(*line),
                },
            };
            let request = EditRequest {
                changes: vec![change],
                dry_run: false,
                note: None,
            };
            block_on(after_sale::edit_order(
                &w.store, &services, id, &request, "staff",
            ))
            .map(drop)
        }
        Op::Exchange { ret, sku, q } => match ret_id(*ret) {
            Some(r) => {
                let wanted = [(SKUS[*sku].to_string(), *q)];
                block_on(after_sale::exchange(
                    &w.store, &services, &r, &wanted, "staff", 5,
                ))
                .map(drop)
            }
            None => Ok(()),
        },
    };
    matches!(op, Op::Edit { .. } | Op::Exchange { .. }) && done.is_ok()
}

/// The money invariants of API.md "After the sale" on one order as stored.
fn check_money(o: &Order, edited: bool, step: &str) {
    let l = o.ledger();
    let committed: i64 = o.refunds.iter().map(|r| r.amount).sum();
    assert!(
        committed <= o.paid_minor,
        "{step}: refunds {committed} > paid {}",
        o.paid_minor
    );
    assert!(l.refunded <= o.paid_minor, "{step}: refunded > paid");
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
    let due = if o.status == OrderStatus::Canceled {
        0
    } else {
        o.total_minor - credited
    };
    let out: i64 = o
        .refunds
        .iter()
        .filter(|r| r.status != RefundStatus::Failed)
        .map(|r| r.amount)
        .sum();
    assert_eq!(l.balance(), due - (o.paid_minor - out), "{step}");
    let failed: i64 = o
        .refunds
        .iter()
        .filter(|r| r.status == RefundStatus::Failed)
        .map(|r| r.amount)
        .sum();
    // What the order is worth never goes below zero; what the merchant holds neither.
    assert!(
        o.total_minor - credited >= 0,
        "{step}: credited beyond the total"
    );
    assert!(o.paid_minor - out >= 0, "{step}: more out than paid");
    // Without edits, a paid order is settled but for failed refunds (an edit may leave money
    // to collect or to give back).
    if o.paid_minor > 0 && !edited {
        assert_eq!(
            l.balance(),
            -failed,
            "{step}: a paid order is settled but for failed refunds"
        );
    }
    // Payment status follows the money once paid (an exchange waiting for the rest of its
    // total holds its credit but is still `pending`).
    if o.paid_minor > 0 && o.status != OrderStatus::PendingPayment {
        let want = if l.refunded >= o.paid_minor {
            PaymentStatus::Refunded
        } else if l.refunded > 0 {
            PaymentStatus::PartiallyRefunded
        } else {
            PaymentStatus::Paid
        };
        assert_eq!(o.payment_status, want, "{step}");
    }
}

/// Every invariant of API.md "After the sale" on every order, and the stock's.
fn check(w: &World, _id: &str, initial: &[(i64, i64)], edited: bool, step: &str) {
    let orders: Vec<Order> = w.store.t.borrow().orders.values().cloned().collect();
    for o in &orders {
        // An exchange order starts with a credit that need not match its total.
        let edited = edited || o.kind == comptoir::domain::order::OrderKind::Exchange;
        check_money(o, edited, &format!("{step} ({})", o.id));
    }
    // Stock, over every order (an exchange places another): reserved is what is still to
    // ship; on hand lost what shipped, regained what was restocked.
    for (i, sku) in SKUS.iter().enumerate() {
        let (on_hand, reserved) = w.store.stock(sku);
        let (mut open, mut shipped, mut restocked) = (0, 0, 0);
        for o in &orders {
            let lines: Vec<_> = o.lines.iter().filter(|x| x.sku == *sku).collect();
            if o.status != OrderStatus::Canceled {
                open += lines
                    .iter()
                    .map(|l| l.quantity - l.fulfilled_quantity - l.refunded_unfulfilled)
                    .sum::<i64>();
            }
            shipped += lines.iter().map(|l| l.fulfilled_quantity).sum::<i64>();
            restocked += o
                .returns
                .iter()
                .flat_map(|r| &r.lines)
                .filter(|x| lines.iter().any(|l| l.id == x.line_id))
                .map(|x| x.restocked)
                .sum::<i64>();
        }
        assert_eq!(reserved, initial[i].1 + open, "{step}: {sku} reserved");
        assert_eq!(
            on_hand,
            initial[i].0 - shipped + restocked,
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
        check(&w, &order.id, &initial, false, "placed");
        let mut edited = false;
        for (i, op) in ops.iter().enumerate() {
            edited |= run(&w, &order.id, op);
            check(&w, &order.id, &initial, edited, &format!("step {i} {op:?}"));
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
        Action::Fulfill(vec![(o.lines[0].id.clone(), 2)], None),
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

/// The shopper asks to return `quantity` units of `line_id`: the order after, and the return.
fn ask(
    w: &World,
    order_id: &str,
    line_id: &str,
    quantity: i64,
    reason: ReturnReason,
) -> (Order, String) {
    let lines = [Requested {
        line_id: line_id.into(),
        quantity,
        reason,
    }];
    block_on(after_sale::request_return(
        &w.store,
        &w.services(),
        order_id,
        Actor::Shopper,
        &lines,
        None,
        30,
    ))
    .unwrap()
}

fn approve(w: &World, ret: &str) {
    block_on(after_sale::step_return(
        &w.store,
        &w.services(),
        ret,
        ReturnAction::Approve,
        None,
        "staff",
    ))
    .unwrap();
}

fn edit(w: &World, id: &str, changes: Vec<Change>, dry_run: bool) -> Result<Order, OrderRefusal> {
    let request = EditRequest {
        changes,
        dry_run,
        note: None,
    };
    block_on(after_sale::edit_order(
        &w.store,
        &w.services(),
        id,
        &request,
        "staff",
    ))
    .map_err(|e| match e {
        Failure::Refused(r) => r,
        other => panic!("{other:?}"),
    })
}

#[test]
fn saleor_3540_a_paid_order_is_edited_existing_prices_kept_new_lines_at_todays_and_the_balance_collected_in_parts(
) {
    let w = World::new();
    let o = place(&w, PaymentMethod::Manual);
    let paid = w.act(&o.id, Action::MarkPaid(None), None).unwrap();
    assert_eq!(paid.ledger().balance(), 0);
    // Tees now cost 30.00; mugs 15.00: the tees on the order keep 25.00.
    w.store
        .t
        .borrow_mut()
        .prices
        .insert(("FR".into(), "TEE-M".into()), 3000);
    w.store
        .t
        .borrow_mut()
        .prices
        .insert(("FR".into(), "MUG".into()), 1500);
    let tee = o.lines[0].id.clone();
    let stock_before = w.store.stock("MUG");
    let dry = edit(
        &w,
        &o.id,
        vec![
            Change::SetQuantity {
                line_id: tee.clone(),
                quantity: 4,
            },
            Change::Add {
                sku: "MUG".into(),
                quantity: 1,
            },
        ],
        true,
    )
    .unwrap();
    assert_eq!(
        w.store.stock("MUG"),
        stock_before,
        "a dry run changes nothing"
    );
    assert_eq!(
        block_on(w.store.order(&o.id)).unwrap().unwrap().version,
        paid.version
    );
    let after = edit(
        &w,
        &o.id,
        vec![
            Change::SetQuantity {
                line_id: tee.clone(),
                quantity: 4,
            },
            Change::Add {
                sku: "MUG".into(),
                quantity: 1,
            },
        ],
        false,
    )
    .unwrap();
    assert_eq!(
        (dry.total_minor, dry.lines.len()),
        (after.total_minor, after.lines.len()),
        "the dry run showed what the edit did"
    );
    let line = |sku: &str| {
        after
            .lines
            .iter()
            .filter(|l| l.sku == sku)
            .cloned()
            .collect::<Vec<_>>()
    };
    assert_eq!(
        line("TEE-M")[0].unit_price,
        2500,
        "existing lines keep their price"
    );
    assert_eq!(
        (line("TEE-M")[0].quantity, line("TEE-M")[0].subtotal),
        (4, 10_000)
    );
    assert_eq!(
        line("MUG").last().unwrap().unit_price,
        1500,
        "added lines take today's price"
    );
    // WELCOME10 still applies as of the order's creation: 10 % of each line.
    for l in &after.lines {
        assert_eq!(l.discount, l.subtotal / 10, "{}", l.sku);
    }
    let lines_total: i64 = after.lines.iter().map(|l| l.total).sum();
    assert_eq!(
        after.total_minor,
        lines_total + o.shipping_value(),
        "shipping stays as placed"
    );
    let due = after.total_minor - o.total_minor;
    assert!(due > 0);
    assert_eq!(
        after.ledger().balance(),
        due,
        "the balance says what to collect"
    );
    assert_eq!(w.store.stock("TEE-M"), (5, 4), "one more tee reserved");
    assert_eq!(w.store.stock("MUG").1, stock_before.1 + 1);
    let edited = w.store.t.borrow().outbox.last().unwrap().clone();
    assert_eq!(
        edited.event_type,
        comptoir::domain::events::EventType::OrderEdited
    );
    assert_eq!(edited.data["edit"]["before"]["totals"], o.view()["totals"]);
    assert_eq!(
        edited.data["edit"]["changes"][1],
        serde_json::json!({"op": "add", "sku": "MUG", "quantity": 1})
    );
    // Medusa #13635: collected in two parts, paid stays exact.
    let half = due / 2;
    let part = w.act(&o.id, Action::MarkPaid(Some(half)), None).unwrap();
    assert_eq!(
        (part.paid_minor, part.ledger().balance()),
        (o.total_minor + half, due - half)
    );
    assert!(
        matches!(
            w.act(&o.id, Action::MarkPaid(Some(due)), None),
            Err(Failure::Refused(OrderRefusal::BadAmount { .. }))
        ),
        "never more than owed"
    );
    let rest = w.act(&o.id, Action::MarkPaid(None), None).unwrap();
    assert_eq!(
        (rest.paid_minor, rest.ledger().balance()),
        (after.total_minor, 0)
    );
}

#[test]
fn vendure_4013_4728_a_line_removed_by_an_edit_is_owed_back_and_refunds_follow_the_edited_amounts()
{
    let w = World::new();
    let o = place(&w, PaymentMethod::Manual);
    w.act(&o.id, Action::MarkPaid(None), None).unwrap();
    let mug = o.lines[1].clone();
    let after = edit(
        &w,
        &o.id,
        vec![Change::Remove {
            line_id: mug.id.clone(),
        }],
        false,
    )
    .unwrap();
    assert_eq!(after.lines.len(), 1);
    assert_eq!(
        after.ledger().balance(),
        -mug.total,
        "the removed line's paid value is owed"
    );
    assert_eq!(w.store.stock("MUG"), (50, 0), "its reservation released");
    // Refunding what is owed settles it (no credit: nothing more was given back).
    let settled = w
        .act(
            &o.id,
            Action::RefundAmount {
                amount: mug.total,
                settle: true,
            },
            None,
        )
        .unwrap();
    assert_eq!(
        (settled.ledger().balance(), settled.refunds[0].credit),
        (0, 0)
    );
    // A later refund of a tee is worth the tee's edited share, and never more than was paid.
    let tee = settled.lines[0].clone();
    let refunded = w
        .act(
            &o.id,
            Action::Refund {
                lines: vec![(tee.id.clone(), 1)],
                include_shipping: false,
                returned: false,
                settle: true,
            },
            None,
        )
        .unwrap();
    assert_eq!(refunded.refunds[1].amount, tee.total / 3);
    assert!(
        matches!(
            edit(
                &w,
                &o.id,
                vec![Change::Add {
                    sku: "MUG".into(),
                    quantity: 1
                }],
                false
            ),
            Err(OrderRefusal::EditIllegal { .. })
        ),
        "an order with refunds is not edited"
    );
}

#[test]
fn edits_refuse_shipped_lines_unpaid_card_orders_unknown_skus_and_more_than_the_stock() {
    let w = World::new();
    let o = place(&w, PaymentMethod::Manual);
    w.act(&o.id, Action::MarkPaid(None), None).unwrap();
    w.act(
        &o.id,
        Action::Fulfill(vec![(o.lines[0].id.clone(), 1)], None),
        None,
    )
    .unwrap();
    assert!(matches!(
        edit(
            &w,
            &o.id,
            vec![Change::Remove {
                line_id: o.lines[0].id.clone()
            }],
            false
        ),
        Err(OrderRefusal::BadChange { index: 0, .. })
    ));
    assert!(matches!(
        edit(
            &w,
            &o.id,
            vec![Change::Add {
                sku: "HAT".into(),
                quantity: 1
            }],
            false
        ),
        Err(OrderRefusal::BadChange { index: 0, .. })
    ));
    assert!(matches!(
        edit(
            &w,
            &o.id,
            vec![
                Change::SetQuantity {
                    line_id: o.lines[1].id.clone(),
                    quantity: 1
                },
                Change::Remove {
                    line_id: o.lines[1].id.clone()
                }
            ],
            false
        ),
        Err(OrderRefusal::BadChange { index: 1, .. })
    ));
    // 5 tees in stock, 3 on this order: 3 more cannot be reserved.
    assert_eq!(
        edit(
            &w,
            &o.id,
            vec![Change::Add {
                sku: "TEE-M".into(),
                quantity: 3
            }],
            false
        )
        .unwrap_err(),
        OrderRefusal::InsufficientStock {
            sku: "TEE-M".into(),
            available: 2
        }
    );
    let w = World::new();
    let card = place(&w, PaymentMethod::Stripe);
    assert!(matches!(
        edit(
            &w,
            &card.id,
            vec![Change::Remove {
                line_id: card.lines[1].id.clone()
            }],
            false
        ),
        Err(OrderRefusal::EditIllegal { .. })
    ));
    let w = World::new();
    let only = place(&w, PaymentMethod::Manual);
    let all: Vec<Change> = only
        .lines
        .iter()
        .map(|l| Change::Remove {
            line_id: l.id.clone(),
        })
        .collect();
    assert!(
        matches!(
            edit(&w, &only.id, all, false),
            Err(OrderRefusal::BadChange { .. })
        ),
        "an order keeps a line"
    );
}

#[test]
fn a_second_event_for_the_placed_intent_never_pays_the_balance_an_edit_left() {
    use comptoir::app::payments::{stripe_event, Handled};
    let w = World::new();
    let o = place(&w, PaymentMethod::Stripe);
    let intent = serde_json::json!({"id": o.payment_reference, "amount": o.total_minor, "currency": "eur", "metadata": {"order_id": o.id}});
    let kind = "payment_intent.succeeded";
    assert_eq!(
        block_on(stripe_event(&w.store, &w.platform, "evt_1", kind, &intent)),
        Ok(Handled::Confirmed)
    );
    let added = edit(
        &w,
        &o.id,
        vec![Change::Add {
            sku: "MUG".into(),
            quantity: 1,
        }],
        false,
    )
    .unwrap();
    let owed = added.ledger().balance();
    assert!(owed > 0);
    // Stripe sends another event for the same intent (a new event id): nothing more is paid.
    assert_eq!(
        block_on(stripe_event(&w.store, &w.platform, "evt_2", kind, &intent)),
        Ok(Handled::Recorded)
    );
    let now = block_on(w.store.order(&o.id)).unwrap().unwrap();
    assert_eq!(
        (now.paid_minor, now.ledger().balance()),
        (o.total_minor, owed)
    );
}

#[test]
fn an_exchange_credits_the_returned_value_to_a_replacement_order_whose_balance_settles_the_difference(
) {
    use comptoir::domain::order::{OrderKind, RefundKind};
    let w = World::new();
    let o = place(&w, PaymentMethod::Manual);
    w.act(&o.id, Action::MarkPaid(None), None).unwrap();
    let tee = o.lines[0].clone();
    w.act(
        &o.id,
        Action::Fulfill(vec![(tee.id.clone(), 3)], None),
        None,
    )
    .unwrap();
    let (_, ret) = ask(&w, &o.id, &tee.id, 2, ReturnReason::WrongItem);
    let swap = |ret: &str| {
        block_on(after_sale::exchange(
            &w.store,
            &w.services(),
            ret,
            &[("MUG".into(), 1)],
            "staff",
            5,
        ))
    };
    assert!(
        matches!(
            swap(&ret),
            Err(Failure::Refused(OrderRefusal::ReturnIllegal { .. }))
        ),
        "only an approved return"
    );
    approve(&w, &ret);
    let mugs = w.store.stock("MUG");
    let new = swap(&ret).unwrap();
    let credit = 2 * tee.total / 3;
    assert_eq!(
        (new.kind, new.exchange_of.as_deref()),
        (OrderKind::Exchange, Some(o.id.as_str()))
    );
    assert_eq!(
        (new.total_minor, new.paid_minor),
        (1200, credit),
        "today's mug price, no shipping, credited"
    );
    assert_eq!(new.status, OrderStatus::Confirmed, "the credit covers it");
    assert_eq!(
        new.ledger().balance(),
        1200 - credit,
        "the rest is owed back"
    );
    assert_eq!(w.store.stock("MUG"), (mugs.0, mugs.1 + 1));
    let original = block_on(w.store.order(&o.id)).unwrap().unwrap();
    let r = original.refunds.last().unwrap();
    assert_eq!(
        (r.kind, r.amount, r.provider_reference.as_deref()),
        (RefundKind::Exchange, credit, Some(new.id.as_str()))
    );
    assert_eq!(original.ledger().balance(), 0);
    assert_eq!(
        original.returns[0].exchange_order_id.as_deref(),
        Some(new.id.as_str())
    );
    assert!(
        matches!(
            swap(&ret),
            Err(Failure::Refused(OrderRefusal::ReturnIllegal { .. }))
        ),
        "exchanged once"
    );
    // The difference goes back from the replacement; the return is received without a refund.
    let settled = w
        .act(
            &new.id,
            Action::RefundAmount {
                amount: credit - 1200,
                settle: true,
            },
            None,
        )
        .unwrap();
    assert_eq!(
        (settled.ledger().balance(), settled.refunds[0].credit),
        (0, 0)
    );
    let receipt = vec![Receipt {
        line_id: tee.id.clone(),
        quantity: 2,
        restock: true,
    }];
    assert!(matches!(
        block_on(after_sale::receive(
            &w.store,
            &w.services(),
            &ret,
            receipt.clone(),
            true,
            "staff"
        )),
        Err(Failure::Refused(OrderRefusal::BadField {
            field: "refund",
            ..
        }))
    ));
    let received = block_on(after_sale::receive(
        &w.store,
        &w.services(),
        &ret,
        receipt,
        false,
        "staff",
    ))
    .unwrap();
    assert_eq!(received.lines[0].returned_quantity, 2);
    assert_eq!(w.store.stock("TEE-M").0, 5 - 3 + 2, "restocked");
}

#[test]
fn a_card_order_edited_upwards_asks_stripe_for_the_balance_and_its_webhook_records_it_paid() {
    use comptoir::app::payments::{stripe_event, Handled};
    let w = World::new();
    let o = place(&w, PaymentMethod::Stripe);
    let placed = serde_json::json!({"id": o.payment_reference, "amount": o.total_minor, "currency": "eur", "metadata": {"order_id": o.id}});
    let kind = "payment_intent.succeeded";
    block_on(stripe_event(&w.store, &w.platform, "evt_1", kind, &placed)).unwrap();
    let first = edit(
        &w,
        &o.id,
        vec![Change::Add {
            sku: "MUG".into(),
            quantity: 1,
        }],
        false,
    )
    .unwrap();
    let asked = first
        .balance_payment
        .clone()
        .expect("a payment is asked for the balance");
    assert_eq!(asked.amount, first.ledger().balance());
    assert_eq!(
        asked.intent_id,
        format!("pi_{}-balance-{}", o.id, first.version - 1)
    );
    assert_eq!(
        first.view()["balance_payment"]["client_secret"],
        asked.client_secret
    );
    // A second edit asks again for the new balance; the first intent is abandoned.
    let second = edit(
        &w,
        &o.id,
        vec![Change::Add {
            sku: "MUG".into(),
            quantity: 1,
        }],
        false,
    )
    .unwrap();
    let again = second.balance_payment.clone().unwrap();
    assert_eq!(again.amount, second.ledger().balance());
    assert_eq!(
        w.pay.canceled.borrow().as_slice(),
        std::slice::from_ref(&asked.intent_id)
    );
    // The old intent's payment is not this balance's; the new one's is.
    let old = serde_json::json!({"id": asked.intent_id, "amount": asked.amount, "currency": "eur", "metadata": {"order_id": o.id}});
    assert_eq!(
        block_on(stripe_event(&w.store, &w.platform, "evt_2", kind, &old)),
        Ok(Handled::Recorded)
    );
    let new = serde_json::json!({"id": again.intent_id, "amount": again.amount, "currency": "eur", "metadata": {"order_id": o.id}});
    assert_eq!(
        block_on(stripe_event(&w.store, &w.platform, "evt_3", kind, &new)),
        Ok(Handled::Confirmed)
    );
    let paid = block_on(w.store.order(&o.id)).unwrap().unwrap();
    assert_eq!(
        (
            paid.ledger().balance(),
            paid.paid_minor,
            paid.balance_payment.clone()
        ),
        (0, second.total_minor, None)
    );
    assert_eq!(
        block_on(stripe_event(&w.store, &w.platform, "evt_4", kind, &new)),
        Ok(Handled::Recorded),
        "paid once"
    );
}

#[test]
fn a_return_partly_refunded_on_receipt_cannot_also_be_exchanged() {
    let w = World::new();
    let o = place(&w, PaymentMethod::Manual);
    w.act(&o.id, Action::MarkPaid(None), None).unwrap();
    let tee = o.lines[0].clone();
    w.act(
        &o.id,
        Action::Fulfill(vec![(tee.id.clone(), 3)], None),
        None,
    )
    .unwrap();
    let (_, ret) = ask(&w, &o.id, &tee.id, 2, ReturnReason::Damaged);
    approve(&w, &ret);
    let receipt = vec![Receipt {
        line_id: tee.id.clone(),
        quantity: 1,
        restock: true,
    }];
    block_on(after_sale::receive(
        &w.store,
        &w.services(),
        &ret,
        receipt,
        true,
        "staff",
    ))
    .unwrap();
    let swapped = block_on(after_sale::exchange(
        &w.store,
        &w.services(),
        &ret,
        &[("MUG".into(), 1)],
        "staff",
        5,
    ));
    assert!(
        matches!(
            swapped,
            Err(Failure::Refused(OrderRefusal::ReturnIllegal {
                action: "exchange",
                ..
            }))
        ),
        "{swapped:?}"
    );
    let now = block_on(w.store.order(&o.id)).unwrap().unwrap();
    assert_eq!(
        now.ledger().refunded,
        tee.total / 3,
        "one tee refunded, no more"
    );
}

#[test]
fn review_findings_unpaid_lines_are_not_refunded_an_edit_can_finish_an_order_and_an_exchange_holds()
{
    use comptoir::domain::order::FulfillmentStatus;
    // Lines an edit added and nobody paid are not refunded (the money would be the merchant's).
    let w = World::new();
    let o = place(&w, PaymentMethod::Manual);
    w.act(&o.id, Action::MarkPaid(None), None).unwrap();
    let added = edit(
        &w,
        &o.id,
        vec![Change::Add {
            sku: "MUG".into(),
            quantity: 1,
        }],
        false,
    )
    .unwrap();
    let mug = added.lines.last().unwrap().id.clone();
    let refund = Action::Refund {
        lines: vec![(mug, 1)],
        include_shipping: false,
        returned: false,
        settle: true,
    };
    assert!(matches!(
        w.act(&o.id, refund, None),
        Err(Failure::Refused(OrderRefusal::BadAmount { .. }))
    ));
    // Removing the last unshipped line leaves the order fulfilled.
    let w = World::new();
    let o = place(&w, PaymentMethod::Manual);
    w.act(&o.id, Action::MarkPaid(None), None).unwrap();
    w.act(
        &o.id,
        Action::Fulfill(vec![(o.lines[0].id.clone(), 3)], None),
        None,
    )
    .unwrap();
    let done = edit(
        &w,
        &o.id,
        vec![Change::Remove {
            line_id: o.lines[1].id.clone(),
        }],
        false,
    )
    .unwrap();
    assert_eq!(
        (done.status, done.fulfillment_status),
        (OrderStatus::Fulfilled, FulfillmentStatus::Fulfilled)
    );
    // An exchange waiting for the rest can be canceled (its credit given back); its return,
    // exchanged, can no longer be canceled; a SKU named twice is refused.
    let w = World::new();
    let o = place(&w, PaymentMethod::Manual);
    w.act(&o.id, Action::MarkPaid(None), None).unwrap();
    let mug = o.lines[1].clone();
    w.act(
        &o.id,
        Action::Fulfill(vec![(mug.id.clone(), 1)], None),
        None,
    )
    .unwrap();
    let (_, ret) = ask(&w, &o.id, &mug.id, 1, ReturnReason::Other);
    approve(&w, &ret);
    let twice = block_on(after_sale::exchange(
        &w.store,
        &w.services(),
        &ret,
        &[("TEE-M".into(), 1), ("TEE-M".into(), 1)],
        "staff",
        5,
    ));
    assert!(matches!(
        twice,
        Err(Failure::Refused(OrderRefusal::BadLine { index: 1, .. }))
    ));
    let tees = w.store.stock("TEE-M");
    let new = block_on(after_sale::exchange(
        &w.store,
        &w.services(),
        &ret,
        &[("TEE-M".into(), 1)],
        "staff",
        5,
    ))
    .unwrap();
    assert_eq!(
        new.status,
        OrderStatus::PendingPayment,
        "a tee costs more than the mug's credit"
    );
    assert!(new.ledger().balance() > 0);
    let cancel_return = block_on(after_sale::step_return(
        &w.store,
        &w.services(),
        &ret,
        ReturnAction::Cancel,
        None,
        "staff",
    ));
    assert!(matches!(
        cancel_return,
        Err(Failure::Refused(OrderRefusal::ReturnIllegal { .. }))
    ));
    let canceled = w
        .act(&new.id, Action::Cancel { settle: true }, None)
        .unwrap();
    assert_eq!(
        (
            canceled.status,
            canceled.ledger().refunded,
            canceled.ledger().balance()
        ),
        (OrderStatus::Canceled, new.paid_minor, 0)
    );
    assert_eq!(w.store.stock("TEE-M"), tees, "its reservation released");
}
