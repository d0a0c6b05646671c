//! Checkout, order actions and payment events over in-memory ports: what an order is made of,
//! every refusal once, what a race or a provider outage leaves behind (nothing half-done), and
//! that a payment confirms its order exactly once.

mod support;

use comptoir::app::cart::CartUpdate;
use comptoir::app::checkout::{Keep, PaymentStart, Placed};
use comptoir::app::idempotency::{
    decide, once, Claim, Claimed, IdempotencyRefusal, IdempotencyStore, Once,
};
use comptoir::app::orders::{self, OrderRefusal};
use comptoir::app::payments::{stripe_event, Handled};
use comptoir::app::ports::{OrderFilter, OrderStore};
use comptoir::app::{Failure, Settings};
use comptoir::domain::cart::CartStatus;
use comptoir::domain::checkout::CheckoutRefusal;
use comptoir::domain::events::EventType;
use comptoir::domain::order::{Action, OrderStatus, PaymentMethod, PaymentStatus};
use comptoir::domain::pagination::PageRequest;
use serde_json::json;
use support::*;

/// What a checkout run under its key gave.
type Keyed = Once<Result<Placed, Failure<CheckoutRefusal>>>;

impl World {
    /// A cart with `lines`, and the email, address and shipping method it needs unless `bare`.
    fn cart(&self, lines: &[(&str, i64)], bare: bool) -> String {
        let id = block_on(self.shop().create(Ok("FR"))).unwrap().view.id;
        for (sku, q) in lines {
            block_on(self.shop().add_line(&id, None, sku, *q)).unwrap();
        }
        if !bare {
            let u = CartUpdate {
                email: Some(Some("jeanne@example.fr".into())),
                shipping_address: Some(Some(address("FR"))),
                shipping_method: Some(Some("colissimo".into())),
                ..CartUpdate::default()
            };
            block_on(self.shop().update(&id, None, &u)).unwrap();
        }
        id
    }

    fn checkout(
        &self,
        cart: &str,
        method: PaymentMethod,
    ) -> Result<Placed, Failure<CheckoutRefusal>> {
        let (_, data) = block_on(self.store.claim(&claim(cart), Some(cart))).unwrap();
        block_on(self.till().place(data, method))
    }

    /// A checkout run under its key as the HTTP adapter runs it: the claim reads the cart, an
    /// order's answer (`{"order": {"id", "number"}}` here) is kept by its placement, a refusal
    /// below 500 is stored after, one from 500 gives the key up.
    fn checkout_once(&self, cart: &str, token: &str, method: PaymentMethod) -> Keyed {
        let c = Claim {
            token: token.into(),
            ..claim(cart)
        };
        let till = self.till();
        let body = |p: &Placed| {
            Some(json!({"order": {"id": p.order.id, "number": p.order.number}}).to_string())
        };
        block_on(once(
            &self.store,
            &self.platform,
            &c,
            Some(cart),
            |data| {
                till.place_kept(
                    data,
                    method,
                    Some(Keep {
                        claim: &c,
                        body: &body,
                    }),
                )
            },
            |r: &Result<Placed, Failure<CheckoutRefusal>>| match r {
                Ok(p) => (201, None, p.kept),
                Err(e) => (
                    comptoir::http::error::ApiError::from(e.clone()).status,
                    None,
                    false,
                ),
            },
        ))
        .unwrap()
    }
}

fn refused<T: std::fmt::Debug, R: std::fmt::Debug>(r: Result<T, Failure<R>>) -> R {
    match r {
        Err(Failure::Refused(r)) => r,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[test]
fn a_complete_cart_becomes_a_pending_order_at_catalog_prices_with_its_stock_reserved_and_one_event()
{
    let w = World::new();
    let cart = w.cart(&[("TEE-M", 2), ("MUG", 1)], false);
    let placed = w.checkout(&cart, PaymentMethod::Manual).unwrap();
    let o = &placed.order;
    assert_eq!(placed.payment, PaymentStart::Manual);
    assert_eq!(o.number, "FR-000001");
    assert_eq!(
        (o.status, o.payment_status),
        (OrderStatus::PendingPayment, PaymentStatus::Pending)
    );
    assert_eq!(o.total_minor, 2 * 2500 + 1200 + 490);
    assert_eq!(
        o.lines
            .iter()
            .map(|l| (l.sku.as_str(), l.quantity, l.unit_price))
            .collect::<Vec<_>>(),
        [("TEE-M", 2, 2500), ("MUG", 1, 1200)]
    );
    assert_eq!(
        o.pay_by, "2026-06-01T12:30:00.000Z",
        "UNPAID_ORDER_TTL_SECONDS defaults to 30 minutes"
    );
    assert_eq!(w.store.stock("TEE-M"), (5, 2));
    assert_eq!(w.store.cart(&cart).status, CartStatus::CheckedOut);
    let t = w.store.t.borrow();
    assert_eq!(t.outbox.len(), 1);
    assert_eq!(t.outbox[0].event_type, EventType::OrderPlaced);
    assert_eq!(t.outbox[0].data["number"], "FR-000001");
    assert_eq!(
        w.platform.published.get(),
        1,
        "events are handed on after the commit"
    );
}

#[test]
fn the_checkout_reads_the_cart_with_its_claim_and_places_in_one_more_round_trip() {
    let w = World::new();
    for method in [PaymentMethod::Manual, PaymentMethod::Stripe] {
        let cart = w.cart(&[("MUG", 1)], false);
        w.store.round_trips.set(0);
        w.checkout(&cart, method).unwrap();
        assert_eq!(
            w.store.round_trips.get(),
            2,
            "claim + cart read, then the order's batch (with the PaymentIntent id): {method:?}"
        );
    }
}

#[test]
fn an_empty_cart_or_one_without_email_address_or_method_is_refused_naming_what_is_missing() {
    let w = World::new();
    let cart = w.cart(&[], false);
    assert_eq!(
        refused(w.checkout(&cart, PaymentMethod::Manual)),
        CheckoutRefusal::Incomplete {
            field: "lines",
            message: "the cart is empty"
        }
    );
    let cart = w.cart(&[("MUG", 1)], true);
    match refused(w.checkout(&cart, PaymentMethod::Manual)) {
        CheckoutRefusal::Incomplete { field, .. } => assert_eq!(field, "email"),
        other => panic!("{other:?}"),
    }
    let u = CartUpdate {
        email: Some(Some("a@b.fr".into())),
        ..CartUpdate::default()
    };
    block_on(w.shop().update(&cart, None, &u)).unwrap();
    match refused(w.checkout(&cart, PaymentMethod::Manual)) {
        CheckoutRefusal::Incomplete { field, .. } => assert_eq!(field, "shipping_address"),
        other => panic!("{other:?}"),
    }
    assert!(w.store.t.borrow().orders.is_empty());
    assert_eq!(w.store.stock("MUG"), (50, 0));
}

#[test]
fn a_cart_over_the_stock_left_is_refused_before_anything_is_written() {
    let w = World::new();
    let cart = w.cart(&[("TEE-M", 3)], false);
    w.store
        .t
        .borrow_mut()
        .inventory
        .insert("TEE-M".into(), (5, 4));
    assert_eq!(
        refused(w.checkout(&cart, PaymentMethod::Manual)),
        CheckoutRefusal::InsufficientStock {
            sku: "TEE-M".into(),
            available: 1
        }
    );
    assert!(w.store.t.borrow().orders.is_empty());
}

#[test]
fn stock_sold_between_the_read_and_the_batch_refuses_the_order_with_what_is_left_and_writes_nothing(
) {
    for method in [PaymentMethod::Manual, PaymentMethod::Stripe] {
        let w = World::new();
        let cart = w.cart(&[("TEE-M", 3)], false);
        *w.store.sold_meanwhile.borrow_mut() = Some(("TEE-M".into(), 4));
        assert_eq!(
            refused(w.checkout(&cart, method)),
            CheckoutRefusal::InsufficientStock {
                sku: "TEE-M".into(),
                available: 1
            }
        );
        assert!(w.store.t.borrow().orders.is_empty());
        assert_eq!(
            w.store.cart(&cart).status,
            CartStatus::Active,
            "the shopper can lower the quantity and retry"
        );
        assert_eq!(
            w.store.stock("TEE-M"),
            (5, 4),
            "only the other checkout's reservation"
        );
        // The PaymentIntent created before the batch is held by no order: it is canceled.
        let canceled: Vec<String> = w
            .pay
            .intents
            .borrow()
            .iter()
            .map(|order| format!("pi_{order}"))
            .collect();
        assert_eq!(canceled.len(), usize::from(method == PaymentMethod::Stripe));
        assert_eq!(*w.pay.canceled.borrow(), canceled);
    }
}

#[test]
fn two_checkouts_of_one_cart_place_one_order_and_the_second_learns_the_cart_changed() {
    let w = World::new();
    let cart = w.cart(&[("MUG", 2)], false);
    let (_, first) = block_on(w.store.claim(&claim(&cart), Some(&cart))).unwrap();
    let (_, second) =
        block_on(w.store.claim(&claim(&format!("{cart}-again")), Some(&cart))).unwrap();
    block_on(w.till().place(first, PaymentMethod::Manual)).unwrap();
    match refused(block_on(w.till().place(second, PaymentMethod::Manual))) {
        CheckoutRefusal::CartChanged { .. } => {}
        other => panic!("{other:?}"),
    }
    assert_eq!(w.store.t.borrow().orders.len(), 1);
    assert_eq!(w.store.stock("MUG"), (50, 2));
}

#[test]
fn a_discount_used_up_meanwhile_refuses_the_order_with_its_reason() {
    let w = World::new();
    w.store
        .t
        .borrow_mut()
        .discounts
        .push((discount("LAST", "50", Some(1)), 0));
    let cart = w.cart(&[("MUG", 1)], false);
    block_on(w.shop().add_code(&cart, None, "LAST")).unwrap();
    w.store.t.borrow_mut().discounts.last_mut().unwrap().1 = 1;
    // Priced before the last use was counted, refused by the batch's usage guard.
    let (_, data) = block_on(w.store.claim(&claim(&cart), Some(&cart))).unwrap();
    let mut data = data.unwrap();
    data.discounts.iter_mut().for_each(|(_, u)| u.total = 0);
    match refused(block_on(w.till().place(Some(data), PaymentMethod::Manual))) {
        CheckoutRefusal::DiscountNotApplicable { reason, .. } => {
            assert_eq!(reason, "usage_limit_reached")
        }
        other => panic!("{other:?}"),
    }
    assert!(w.store.t.borrow().orders.is_empty());
}

#[test]
fn a_checked_out_cart_cannot_be_checked_out_again_and_another_channels_cart_is_not_found() {
    let w = World::new();
    let cart = w.cart(&[("MUG", 1)], false);
    w.checkout(&cart, PaymentMethod::Manual).unwrap();
    let (_, data) = block_on(w.store.claim(&claim("other"), Some(&cart))).unwrap();
    assert_eq!(
        refused(block_on(w.till().place(data, PaymentMethod::Manual))),
        CheckoutRefusal::NotActive {
            status: CartStatus::CheckedOut
        }
    );
    let mut other = w.store.t.borrow().carts[&cart].clone();
    other.channel_id = "app".into();
    let (_, mut data) = block_on(w.store.claim(&claim("x"), Some(&cart))).unwrap();
    data.as_mut().unwrap().cart = other;
    assert_eq!(
        refused(block_on(w.till().place(data, PaymentMethod::Manual))),
        CheckoutRefusal::NotFound
    );
}

#[test]
fn a_stripe_checkout_starts_a_payment_intent_and_keeps_its_id() {
    let w = World::new();
    let cart = w.cart(&[("MUG", 1)], false);
    let placed = w.checkout(&cart, PaymentMethod::Stripe).unwrap();
    let id = placed.order.id.clone();
    assert_eq!(
        placed.payment,
        PaymentStart::Stripe {
            client_secret: format!("pi_{id}_secret")
        }
    );
    assert_eq!(
        w.store.t.borrow().orders[&id].payment_reference,
        Some(format!("pi_{id}"))
    );
}

#[test]
fn stripe_without_its_secret_places_nothing() {
    let mut w = World::new();
    w.pay.secret = false;
    let cart = w.cart(&[("MUG", 1)], false);
    assert!(matches!(
        refused(w.checkout(&cart, PaymentMethod::Stripe)),
        CheckoutRefusal::PaymentUnavailable { .. }
    ));
    assert!(w.store.t.borrow().orders.is_empty());
    assert_eq!(w.store.cart(&cart).status, CartStatus::Active);
}

/// What a checkout leaves behind: orders, the mug's stock, the cart's status and version.
fn traces(w: &World, cart: &str) -> (usize, (i64, i64), CartStatus, i64) {
    let c = w.store.cart(cart);
    (
        w.store.t.borrow().orders.len(),
        w.store.stock("MUG"),
        c.status,
        c.version,
    )
}

#[test]
fn a_stripe_outage_places_no_order_reserves_nothing_and_leaves_the_cart_active() {
    let w = World::new();
    w.pay.fail.set(true);
    let cart = w.cart(&[("MUG", 3)], false);
    let before = traces(&w, &cart);
    assert_eq!(before.2, CartStatus::Active);
    let refusal = refused(w.checkout(&cart, PaymentMethod::Stripe));
    assert_eq!(
        traces(&w, &cart),
        before,
        "no order, no reservation, same cart"
    );
    assert!(w.store.t.borrow().outbox.is_empty(), "no event either");
    let e = comptoir::http::error::ApiError::from(refusal);
    assert_eq!((e.status, e.code), (503, "unavailable"));
    assert!(e.message.contains("payment provider"), "{}", e.message);
    assert!(
        e.cause
            .as_deref()
            .is_some_and(|c| c.contains("Stripe answered 500")),
        "logged"
    );
    assert!(
        !e.body().to_string().contains("Stripe answered"),
        "not shown"
    );
}

#[test]
fn a_stripe_that_does_not_answer_within_the_timeout_is_an_outage_too() {
    let mut w = World::new();
    w.settings.payment_timeout_ms = 2500.0;
    w.pay.hang.set(true);
    let cart = w.cart(&[("MUG", 3)], false);
    let before = traces(&w, &cart);
    match refused(w.checkout(&cart, PaymentMethod::Stripe)) {
        CheckoutRefusal::PaymentUnavailable { cause } => {
            assert!(cause.contains("no answer within 2500 ms"), "{cause}")
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        *w.platform.slept.borrow(),
        [2500.0],
        "bounded by PAYMENT_PROVIDER_TIMEOUT_MS"
    );
    assert_eq!(traces(&w, &cart), before);
}

#[test]
fn a_checkout_retried_under_its_key_after_a_stripe_outage_places_the_order_once() {
    let w = World::new();
    let cart = w.cart(&[("MUG", 1)], false);
    let run = |token: &str| w.checkout_once(&cart, token, PaymentMethod::Stripe);
    w.pay.hang.set(true);
    assert!(matches!(run("t1"), Once::Ran(Err(_))));
    w.pay.hang.set(false);
    w.pay.fail.set(true);
    assert!(
        matches!(run("t2"), Once::Ran(Err(_))),
        "the 503 was not stored: the retry ran"
    );
    w.pay.fail.set(false);
    let Once::Ran(Ok(placed)) = run("t3") else {
        panic!("the retry with Stripe back places the order")
    };
    assert_eq!(
        run("t4"),
        Once::Replayed {
            status: 201,
            body: Some(
                json!({"order": {"id": placed.order.id, "number": "FR-000001"}}).to_string()
            )
        }
    );
    let t = w.store.t.borrow();
    assert_eq!(t.orders.len(), 1);
    assert_eq!(t.inventory["MUG"], (50, 1));
    assert_eq!(
        t.orders[&placed.order.id].payment_reference,
        Some(format!("pi_{}", placed.order.id))
    );
    assert_eq!(*w.pay.intents.borrow(), vec![placed.order.id.clone()]);
}

#[test]
fn a_stripe_checkouts_idempotency_lease_outlives_the_payment_providers_timeout() {
    let vars = |lease: &'static str, timeout: &'static str| {
        Settings::from_vars(move |name| match name {
            "IDEMPOTENCY_LEASE_SECONDS" => Some(lease.to_string()),
            "PAYMENT_PROVIDER_TIMEOUT_MS" => Some(timeout.to_string()),
            _ => None,
        })
    };
    let s = vars("5", "45000");
    assert_eq!(s.payment_timeout_ms, 45_000.0);
    let lease = s.checkout_lease_seconds(PaymentMethod::Stripe);
    assert!(
        lease > 45.0,
        "a claim lapsing while Stripe is awaited would let a retry run beside it: {lease}"
    );
    assert_eq!(
        s.checkout_lease_seconds(PaymentMethod::Manual),
        5.0,
        "nothing to wait for"
    );
    let long = vars("600", "45000");
    assert_eq!(long.checkout_lease_seconds(PaymentMethod::Stripe), 600.0);
    let d = Settings::default();
    assert_eq!(
        d.payment_timeout_ms, 10_000.0,
        "PAYMENT_PROVIDER_TIMEOUT_MS unset"
    );
    assert!(d.checkout_lease_seconds(PaymentMethod::Stripe) > 10.0);
    for unusable in ["0", "-1", "soon", "600000"] {
        assert_eq!(
            vars("60", unusable).payment_timeout_ms,
            10_000.0,
            "{unusable}"
        );
    }
}

#[test]
fn a_checkout_run_under_its_key_costs_two_round_trips_and_a_retry_replays_the_order_with_its_number(
) {
    let w = World::new();
    let cart = w.cart(&[("MUG", 1)], false);
    let run = |token: &str| {
        w.store.round_trips.set(0);
        let out = w.checkout_once(&cart, token, PaymentMethod::Manual);
        (out, w.store.round_trips.get())
    };
    let (first, trips) = run("claim-first");
    let Once::Ran(Ok(placed)) = first else {
        panic!("the first run places the order: {first:?}")
    };
    assert!(placed.kept);
    assert_eq!(
        trips, 2,
        "claim + cart read, then the order's batch keeping the answer"
    );
    let (again, trips) = run("claim-retry");
    assert_eq!(
        again,
        Once::Replayed {
            status: 201,
            body: Some(
                json!({"order": {"id": placed.order.id, "number": placed.order.number}})
                    .to_string()
            )
        },
        "the kept answer carries the number the placement gave"
    );
    assert_eq!(placed.order.number, "FR-000001");
    assert_eq!(trips, 1);
    assert_eq!(w.store.t.borrow().orders.len(), 1);
}

#[test]
fn a_5xx_gives_the_key_up_so_a_retry_runs_again_and_a_4xx_is_kept() {
    let w = World::new();
    let run = |token: &str, status: u16| {
        let c = Claim {
            token: token.into(),
            ..claim("cart_x")
        };
        block_on(once(
            &w.store,
            &w.platform,
            &c,
            None,
            |_| async { status },
            |s| (*s, None, false),
        ))
    };
    assert_eq!(run("t1", 503), Ok(Once::Ran(503)));
    assert_eq!(
        run("t2", 422),
        Ok(Once::Ran(422)),
        "released: the retry runs"
    );
    assert_eq!(
        run("t3", 201),
        Ok(Once::Replayed {
            status: 422,
            body: Some(String::new())
        })
    );
    let other = Claim {
        body_hash: "another body".into(),
        token: "t4".into(),
        ..claim("cart_x")
    };
    assert_eq!(
        block_on(once(
            &w.store,
            &w.platform,
            &other,
            None,
            |_| async { 201u16 },
            |s| (*s, None, false)
        )),
        Err(Failure::Refused(IdempotencyRefusal::KeyReused))
    );
}

#[test]
fn a_replayed_checkout_gets_the_stored_answer_and_another_body_under_the_key_is_refused() {
    let w = World::new();
    let c = claim("cart_1");
    let (record, _) = block_on(w.store.claim(&c, None)).unwrap();
    assert_eq!(
        decide(record.as_ref(), &c.token, &c.body_hash),
        Ok(Claimed::Run)
    );
    let retry = Claim {
        token: "claim-2".into(),
        ..c.clone()
    };
    let (record, _) = block_on(w.store.claim(&retry, None)).unwrap();
    assert_eq!(
        decide(record.as_ref(), &retry.token, &retry.body_hash),
        Err(IdempotencyRefusal::InProgress)
    );
    block_on(
        w.store
            .finish(&c, 201, "{\"order\":1}", "2026-06-02T12:00:00.000Z"),
    )
    .unwrap();
    let (record, _) = block_on(w.store.claim(&retry, None)).unwrap();
    assert_eq!(
        decide(record.as_ref(), &retry.token, &retry.body_hash),
        Ok(Claimed::Replay {
            status: 201,
            body: Some("{\"order\":1}".into())
        })
    );
    assert_eq!(
        decide(record.as_ref(), &retry.token, "another"),
        Err(IdempotencyRefusal::KeyReused)
    );
}

fn placed(w: &World) -> String {
    let cart = w.cart(&[("TEE-M", 2)], false);
    w.checkout(&cart, PaymentMethod::Manual).unwrap().order.id
}

#[test]
fn mark_paid_confirms_once_and_fulfilment_ships_the_stock() {
    let w = World::new();
    let id = placed(&w);
    let o = w.act(&id, Action::MarkPaid(None), None).unwrap();
    assert_eq!(o.status, OrderStatus::Confirmed);
    let again = w.act(&id, Action::MarkPaid(None), None).unwrap();
    assert_eq!(
        again.last_sequence, o.last_sequence,
        "already paid: nothing new"
    );
    let line = o.lines[0].id.clone();
    let detail = json!({"lines": [{"line_id": line, "quantity": 2}], "tracking": null});
    let o = w
        .act(
            &id,
            Action::Fulfill(vec![(line, 2)], None),
            Some(detail.clone()),
        )
        .unwrap();
    assert_eq!(o.status, OrderStatus::Fulfilled);
    assert_eq!(w.store.stock("TEE-M"), (3, 0));
    let t = w.store.t.borrow();
    let shipped = t.outbox.last().unwrap();
    assert_eq!(shipped.event_type, EventType::OrderFulfilled);
    assert_eq!(shipped.data["fulfillment"], detail);
    assert_eq!(shipped.sequence, 3);
}

#[test]
fn an_illegal_action_is_refused_with_the_status_and_a_bad_line_by_its_index() {
    let w = World::new();
    let id = placed(&w);
    assert_eq!(
        refused(w.act(&id, Action::Fulfill(vec![("x".into(), 1)], None), None)),
        OrderRefusal::Illegal {
            from: OrderStatus::PendingPayment,
            action: "fulfill"
        }
    );
    w.act(&id, Action::MarkPaid(None), None).unwrap();
    match refused(w.act(&id, Action::Fulfill(vec![("x".into(), 1)], None), None)) {
        OrderRefusal::BadLine { index, .. } => assert_eq!(index, 0),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        refused(block_on(orders::order(&w.store, "ord_nope"))),
        OrderRefusal::NoOrder {
            id: "ord_nope".into()
        }
    );
}

#[test]
fn an_action_that_loses_a_race_decides_again_on_the_order_as_it_now_is() {
    let w = World::new();
    let id = placed(&w);
    w.store.order_races.set(2);
    let o = w
        .act(
            &id,
            Action::Cancel { settle: true },
            Some(json!({"reason": "asked"})),
        )
        .unwrap();
    assert_eq!(o.status, OrderStatus::Canceled);
    assert_eq!(w.store.stock("TEE-M"), (5, 0));
    w.store.order_races.set(5);
    let other = placed(&w);
    assert_eq!(
        refused(w.act(&other, Action::Cancel { settle: true }, None)),
        OrderRefusal::Busy
    );
}

#[test]
fn unpaid_orders_past_their_deadline_expire_and_release_their_stock() {
    let w = World::new();
    let id = placed(&w);
    w.platform.now_ms.set(NOW_MS + 31.0 * 60.0 * 1000.0);
    assert_eq!(
        block_on(orders::expire_overdue(&w.store, &w.platform, 100)).unwrap(),
        1
    );
    let o = block_on(w.store.order(&id)).unwrap().unwrap();
    assert_eq!(
        (o.status, o.cancel_reason.as_deref()),
        (OrderStatus::Canceled, Some("payment_timeout"))
    );
    assert_eq!(w.store.stock("TEE-M"), (5, 0));
}

#[test]
fn a_shopper_sees_an_order_only_when_granted_and_only_in_its_channel() {
    let w = World::new();
    let id = placed(&w);
    assert!(block_on(orders::order_for(&w.store, "web", &id, |_| true)).is_ok());
    assert_eq!(
        refused(block_on(orders::order_for(&w.store, "web", &id, |_| false))),
        OrderRefusal::NotFound
    );
    assert_eq!(
        refused(block_on(orders::order_for(&w.store, "app", &id, |_| true))),
        OrderRefusal::NotFound
    );
}

#[test]
fn order_lists_are_newest_first_in_pages_with_a_cursor() {
    let w = World::new();
    let first = placed(&w);
    w.platform.now_ms.set(NOW_MS + 1000.0);
    let second = placed(&w);
    let page = block_on(orders::newest(
        &w.store,
        &OrderFilter::Staff(Default::default()),
        &PageRequest {
            limit: 1,
            after: None,
        },
    ))
    .unwrap();
    assert_eq!(page.data[0].id, second);
    let cursor = page.next_cursor.expect("a second page");
    let next = PageRequest::parse(Some("1"), Some(&cursor)).unwrap();
    let page = block_on(orders::newest(
        &w.store,
        &OrderFilter::Staff(Default::default()),
        &next,
    ))
    .unwrap();
    assert_eq!(
        page.data.iter().map(|o| o.id.as_str()).collect::<Vec<_>>(),
        [first.as_str()]
    );
}

fn intent(w: &World, id: &str, amount: i64) -> serde_json::Value {
    let o = block_on(w.store.order(id)).unwrap().unwrap();
    json!({"id": o.payment_reference, "amount": amount, "currency": "eur", "metadata": {"order_id": id}})
}

#[test]
fn a_matching_payment_confirms_its_order_once_however_often_stripe_sends_it() {
    let w = World::new();
    let cart = w.cart(&[("MUG", 1)], false);
    let id = w.checkout(&cart, PaymentMethod::Stripe).unwrap().order.id;
    let total = block_on(w.store.order(&id)).unwrap().unwrap().total_minor;
    let paid = intent(&w, &id, total);
    let kind = "payment_intent.succeeded";
    assert_eq!(
        block_on(stripe_event(&w.store, &w.platform, "evt_1", kind, &paid)),
        Ok(Handled::Confirmed)
    );
    assert_eq!(
        block_on(stripe_event(&w.store, &w.platform, "evt_1", kind, &paid)),
        Ok(Handled::Duplicate)
    );
    assert_eq!(
        block_on(stripe_event(&w.store, &w.platform, "evt_2", kind, &paid)),
        Ok(Handled::Recorded)
    );
    let o = block_on(w.store.order(&id)).unwrap().unwrap();
    assert_eq!(o.status, OrderStatus::Confirmed);
    let confirmed = w
        .store
        .t
        .borrow()
        .outbox
        .iter()
        .filter(|e| e.event_type == EventType::OrderConfirmed)
        .count();
    assert_eq!(confirmed, 1);
}

#[test]
fn a_payment_for_another_amount_or_an_unknown_order_confirms_nothing_and_is_logged() {
    let w = World::new();
    let cart = w.cart(&[("MUG", 1)], false);
    let id = w.checkout(&cart, PaymentMethod::Stripe).unwrap().order.id;
    let kind = "payment_intent.succeeded";
    assert_eq!(
        block_on(stripe_event(
            &w.store,
            &w.platform,
            "evt_a",
            kind,
            &intent(&w, &id, 1)
        )),
        Ok(Handled::Recorded)
    );
    let unknown = json!({"amount": 1, "currency": "eur", "metadata": {"order_id": "ord_nope"}});
    assert_eq!(
        block_on(stripe_event(&w.store, &w.platform, "evt_b", kind, &unknown)),
        Ok(Handled::Recorded)
    );
    assert_eq!(
        block_on(stripe_event(
            &w.store,
            &w.platform,
            "evt_c",
            "charge.refunded",
            &unknown
        )),
        Ok(Handled::Recorded)
    );
    assert_eq!(
        block_on(w.store.order(&id)).unwrap().unwrap().status,
        OrderStatus::PendingPayment
    );
    assert_eq!(
        w.platform.logged.borrow().len(),
        2,
        "{:?}",
        w.platform.logged.borrow()
    );
    assert_eq!(w.store.t.borrow().receipts.len(), 3);
}

#[test]
fn a_payment_naming_another_intent_or_for_a_manual_order_confirms_nothing() {
    let w = World::new();
    let kind = "payment_intent.succeeded";
    let cart = w.cart(&[("MUG", 1)], false);
    let stripe = w.checkout(&cart, PaymentMethod::Stripe).unwrap().order;
    let mut other = intent(&w, &stripe.id, stripe.total_minor);
    other["id"] = json!("pi_of_someone_else");
    let cart = w.cart(&[("MUG", 1)], false);
    let manual = w.checkout(&cart, PaymentMethod::Manual).unwrap().order;
    let mut unheld = intent(&w, &manual.id, manual.total_minor);
    unheld["id"] = json!("pi_any");
    for (event, paid) in [("evt_x", &other), ("evt_y", &unheld)] {
        assert_eq!(
            block_on(stripe_event(&w.store, &w.platform, event, kind, paid)),
            Ok(Handled::Recorded)
        );
    }
    for id in [&stripe.id, &manual.id] {
        assert_eq!(
            block_on(w.store.order(id)).unwrap().unwrap().status,
            OrderStatus::PendingPayment
        );
    }
    let logged = w.platform.logged.borrow();
    assert!(logged[0].contains("another PaymentIntent"), "{logged:?}");
    assert!(logged[1].contains("not paid with Stripe"), "{logged:?}");
}

/// `hot` is its SKU's current hot row in D1.
fn make_hot(w: &World, hot: &comptoir::domain::hot::HotSku) {
    w.store
        .t
        .borrow_mut()
        .hot
        .insert(hot.sku.clone(), hot.clone());
}

fn hot_tee(split: &[i64]) -> comptoir::domain::hot::HotSku {
    comptoir::domain::hot::HotSku {
        sku: "TEE-M".into(),
        generation: 1,
        split: split
            .iter()
            .map(|n| [("main".to_string(), *n)].into())
            .collect(),
    }
}

#[test]
fn adding_a_hot_sku_to_a_cart_goes_by_what_its_objects_have() {
    let w = World::new();
    let hot = hot_tee(&[1, 1]);
    make_hot(&w, &hot);
    // D1 says 5 are left; the objects (checkouts in flight) say 2.
    let cart = w.cart(&[("MUG", 1)], false);
    let shop = w.shop();
    w.store.round_trips.set(0);
    match block_on(shop.add_line(&cart, None, "TEE-M", 3)) {
        Err(Failure::Refused(comptoir::domain::cart::CartRefusal::InsufficientStock {
            available,
            ..
        })) => assert_eq!(available, 2, "the objects' number, not D1's 5"),
        other => panic!("expected insufficient stock, got {other:?}"),
    }
    assert_eq!(
        w.store.round_trips.get(),
        5,
        "refused unasked, diagnosed (the SKU is hot), the cart read (where it ships), refused by \
         the objects' number, diagnosed"
    );
    let shown = block_on(shop.add_line(&cart, None, "TEE-M", 2)).unwrap();
    let tee = shown.view.lines.iter().find(|l| l.sku == "TEE-M").unwrap();
    assert_eq!(tee.quantity, 2);
    let line = tee.id.clone();
    assert!(
        block_on(shop.set_quantity(&cart, None, &line, 3)).is_err(),
        "nor raised beyond it"
    );
    assert!(block_on(shop.set_quantity(&cart, None, &line, 1)).is_ok());
    // Not hot any more: D1's numbers again.
    w.store.t.borrow_mut().hot.clear();
    assert!(block_on(shop.set_quantity(&cart, None, &line, 5)).is_ok());
}

#[test]
fn a_hot_skus_units_are_taken_in_its_objects_then_settled_once_the_order_holds_them() {
    let w = World::new();
    let hot = hot_tee(&[3, 2]);
    make_hot(&w, &hot);
    let cart = w.cart(&[("TEE-M", 4)], false);
    let placed = w.checkout(&cart, PaymentMethod::Manual).unwrap();
    let holds = w.store.t.borrow().hot_holds.clone();
    assert_eq!(
        holds,
        vec![(
            format!("{}:TEE-M:1", placed.order.id),
            "TEE-M".to_string(),
            placed.order.id.clone()
        )],
        "the order holds its reservation in D1"
    );
    let (available, held) = w.platform.hot_totals(&hot);
    assert_eq!(
        available,
        [("main".to_string(), 1)].into(),
        "4 taken across both shards"
    );
    assert!(held.is_empty(), "settled: the order holds them now");
    assert_eq!(
        w.store.stock("TEE-M"),
        (5, 4),
        "D1, the ledger, reserved them too"
    );
}

#[test]
fn a_hot_sku_is_refused_with_what_its_objects_have_and_a_failed_placement_gives_their_units_back() {
    let w = World::new();
    let hot = hot_tee(&[1, 1]);
    // The line was added before the sale made the SKU hot.
    let cart = w.cart(&[("TEE-M", 3)], false);
    make_hot(&w, &hot);
    // D1 says 5 are left; the objects (other checkouts in flight) say 2.
    assert_eq!(
        refused(w.checkout(&cart, PaymentMethod::Manual)),
        CheckoutRefusal::InsufficientStock {
            sku: "TEE-M".into(),
            available: 2
        }
    );
    // A placement D1 refuses (its levels sold meanwhile) releases what the objects gave.
    let small = w.cart(&[("TEE-M", 2)], false);
    *w.store.sold_meanwhile.borrow_mut() = Some(("TEE-M".into(), 4));
    assert!(w.checkout(&small, PaymentMethod::Manual).is_err());
    assert!(w.store.t.borrow().orders.is_empty());
    let (available, held) = w.platform.hot_totals(&hot);
    assert_eq!(
        available,
        [("main".to_string(), 2)].into(),
        "nothing kept in the objects"
    );
    assert!(held.is_empty());
}

#[test]
fn a_checkout_planned_on_one_generation_that_commits_after_a_switch_plans_again_on_the_new_one() {
    let w = World::new();
    let old = hot_tee(&[5]);
    make_hot(&w, &old);
    let cart = w.cart(&[("TEE-M", 2)], false);
    let (_, data) = block_on(w.store.claim(&claim(&cart), Some(&cart))).unwrap();
    // The SKU is switched meanwhile: generation 2, two shards.
    let new = comptoir::domain::hot::HotSku {
        generation: 2,
        ..hot_tee(&[3, 2])
    };
    make_hot(&w, &new);
    let placed = block_on(w.till().place(data, PaymentMethod::Manual)).unwrap();
    let (old_available, old_held) = w.platform.hot_totals(&old);
    assert_eq!(
        old_available,
        [("main".to_string(), 5)].into(),
        "the first plan's take went back"
    );
    assert!(old_held.is_empty());
    let (new_available, new_held) = w.platform.hot_totals(&new);
    assert_eq!(
        new_available,
        [("main".to_string(), 3)].into(),
        "taken on the new generation"
    );
    assert!(new_held.is_empty(), "and settled");
    let holds = w.store.t.borrow().hot_holds.clone();
    assert_eq!(holds.len(), 1);
    assert_eq!(
        holds[0].0,
        format!("{}:TEE-M:2", placed.order.id),
        "the second attempt's reservation"
    );
}
