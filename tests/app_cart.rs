//! Cart use cases over in-memory ports: every refusal once, the version rules, and what a
//! lost race does. Each test reads as what a shopper would notice.

mod support;

use comptoir::app::cart::{CartShown, CartUpdate};
use comptoir::app::Failure;
use comptoir::domain::cart::CartStatus;
use comptoir::domain::cart::{CartRefusal, IfMatch};
use serde_json::json;
use support::*;

impl World {
    fn new_cart(&self) -> String {
        let shown = block_on(self.shop().create(Ok("FR"))).unwrap();
        shown.view.id.clone()
    }
}

fn refused<T: std::fmt::Debug>(r: Result<T, Failure<CartRefusal>>) -> CartRefusal {
    match r {
        Err(Failure::Refused(r)) => r,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

fn ok(r: Result<CartShown, Failure<CartRefusal>>) -> CartShown {
    r.unwrap_or_else(|e| panic!("expected the cart, got {e:?}"))
}

#[test]
fn a_new_cart_is_empty_active_at_version_1_and_lives_for_the_cart_ttl() {
    let w = World::new();
    let shown = ok(block_on(w.shop().create(Ok("FR"))));
    assert_eq!(shown.version, 1);
    let keys: Vec<String> = wire(&shown).as_object().unwrap().keys().cloned().collect();
    let mut expected = [
        "id",
        "version",
        "market",
        "currency",
        "tax_inclusive",
        "status",
        "customer_id",
        "email",
        "shipping_address",
        "billing_address",
        "shipping_method",
        "note",
        "discount_codes",
        "lines",
        "totals",
        "warnings",
        "merged_into",
        "expires_at",
        "created_at",
        "updated_at",
    ];
    expected.sort();
    assert_eq!(
        keys, expected,
        "the Cart of API.md, every field present (null when empty)"
    );
    assert_eq!(wire(&shown)["customer_id"], serde_json::Value::Null);
    assert_eq!(wire(&shown)["status"], "active");
    assert_eq!(wire(&shown)["currency"], "EUR");
    assert_eq!(wire(&shown)["lines"], json!([]));
    let id = shown.view.id.as_str();
    assert_eq!(
        w.store.cart(id).expires_at,
        "2026-07-01T12:00:00.000Z",
        "30 days after now"
    );
}

#[test]
fn a_cart_in_a_market_the_channel_does_not_sell_is_refused_naming_the_field() {
    let w = World::new();
    match refused(block_on(w.shop().create(Ok("US")))) {
        CartRefusal::Invalid(e) => assert_eq!(e.field, "market"),
        other => panic!("{other:?}"),
    }
    assert!(w.store.t.borrow().carts.is_empty());
}

#[test]
fn a_rate_limited_client_creates_no_cart() {
    let w = World::new();
    w.platform.allow.set(false);
    assert_eq!(
        refused(block_on(w.shop().create(Ok("FR")))),
        CartRefusal::RateLimited
    );
    assert!(w.store.t.borrow().carts.is_empty());
}

#[test]
fn adding_a_line_prices_it_from_the_catalog_in_one_round_trip_and_bumps_the_version() {
    let w = World::new();
    let id = w.new_cart();
    w.store.round_trips.set(0);
    let shown = ok(block_on(w.shop().add_line(&id, None, "TEE-M", 2)));
    assert_eq!(w.store.round_trips.get(), 1);
    assert_eq!(shown.version, 2);
    assert_eq!(
        wire(&shown)["lines"][0]["unit_price"],
        json!({"amount": "25.00", "currency": "EUR"})
    );
    assert_eq!(
        wire(&shown)["totals"]["subtotal"],
        json!({"amount": "50.00", "currency": "EUR"})
    );
}

#[test]
fn adding_the_same_sku_again_adds_to_its_line() {
    let w = World::new();
    let id = w.new_cart();
    ok(block_on(w.shop().add_line(&id, None, "MUG", 2)));
    let shown = ok(block_on(w.shop().add_line(&id, None, "MUG", 3)));
    assert_eq!(wire(&shown)["lines"].as_array().unwrap().len(), 1);
    assert_eq!(wire(&shown)["lines"][0]["quantity"], 5);
}

#[test]
fn adding_more_than_the_stock_is_refused_with_what_is_available_and_changes_nothing() {
    let w = World::new();
    let id = w.new_cart();
    ok(block_on(w.shop().add_line(&id, None, "TEE-M", 4)));
    assert_eq!(
        refused(block_on(w.shop().add_line(&id, None, "TEE-M", 2))),
        CartRefusal::InsufficientStock {
            sku: "TEE-M".into(),
            available: 5
        }
    );
    assert_eq!(w.store.lines(&id)[0].quantity, 4);
    assert_eq!(w.store.cart(&id).version, 2);
}

#[test]
fn a_sku_not_sold_in_the_carts_market_is_unknown() {
    let w = World::new();
    let id = w.new_cart();
    assert_eq!(
        refused(block_on(w.shop().add_line(&id, None, "HAT", 1))),
        CartRefusal::UnknownSku { sku: "HAT".into() }
    );
}

#[test]
fn another_channels_cart_is_not_found_for_reads_and_writes() {
    let w = World::new();
    let id = w.new_cart();
    w.store
        .t
        .borrow_mut()
        .carts
        .get_mut(&id)
        .unwrap()
        .channel_id = "app".into();
    assert_eq!(refused(block_on(w.shop().get(&id))), CartRefusal::NotFound);
    assert_eq!(
        refused(block_on(w.shop().add_line(&id, None, "MUG", 1))),
        CartRefusal::NotFound
    );
    assert_eq!(
        refused(block_on(w.shop().get("cart_missing"))),
        CartRefusal::NotFound
    );
}

#[test]
fn an_expired_cart_refuses_writes_as_expired() {
    let w = World::new();
    let id = w.new_cart();
    w.platform
        .now_ms
        .set(NOW_MS + 31.0 * 24.0 * 3600.0 * 1000.0);
    assert_eq!(
        refused(block_on(w.shop().add_line(&id, None, "MUG", 1))),
        CartRefusal::NotActive {
            status: CartStatus::Expired
        }
    );
    assert_eq!(
        refused(block_on(w.shop().add_code(&id, None, "WELCOME10"))),
        CartRefusal::NotActive {
            status: CartStatus::Expired
        }
    );
}

#[test]
fn if_match_on_an_old_version_is_refused_naming_the_current_one_and_a_matching_one_writes() {
    let w = World::new();
    let id = w.new_cart();
    ok(block_on(w.shop().add_line(&id, None, "MUG", 1)));
    assert_eq!(
        refused(block_on(w.shop().add_line(
            &id,
            Some(IfMatch::Version(1)),
            "MUG",
            1
        ))),
        CartRefusal::VersionMismatch { current: Some(2) }
    );
    assert_eq!(
        ok(block_on(w.shop().add_line(
            &id,
            Some(IfMatch::Version(2)),
            "MUG",
            1
        )))
        .version,
        3
    );
}

#[test]
fn changing_a_line_that_is_not_there_is_refused_and_zero_removes_one_that_is() {
    let w = World::new();
    let id = w.new_cart();
    assert_eq!(
        refused(block_on(w.shop().set_quantity(&id, None, "line_nope", 2))),
        CartRefusal::NoSuchLine
    );
    let shown = ok(block_on(w.shop().add_line(&id, None, "MUG", 1)));
    let line = wire(&shown)["lines"][0]["id"].as_str().unwrap().to_string();
    assert_eq!(
        refused(block_on(w.shop().set_quantity(&id, None, &line, 51))),
        CartRefusal::InsufficientStock {
            sku: "MUG".into(),
            available: 50
        }
    );
    let shown = ok(block_on(w.shop().set_quantity(&id, None, &line, 0)));
    assert_eq!(wire(&shown)["lines"], json!([]));
}

#[test]
fn a_code_that_applies_is_kept_and_discounts_the_cart() {
    let w = World::new();
    let id = w.new_cart();
    ok(block_on(w.shop().add_line(&id, None, "TEE-M", 2)));
    let shown = ok(block_on(w.shop().add_code(&id, None, "welcome10")));
    assert_eq!(wire(&shown)["discount_codes"][0]["code"], "WELCOME10");
    assert_eq!(
        wire(&shown)["totals"]["discount"],
        json!({"amount": "5.00", "currency": "EUR"})
    );
    assert_eq!(w.store.cart(&id).codes(), vec!["WELCOME10".to_string()]);
}

#[test]
fn a_rate_limited_code_attempt_is_refused_before_anything_is_read() {
    let w = World::new();
    let id = w.new_cart();
    ok(block_on(w.shop().add_line(&id, None, "TEE-M", 2)));
    let trips = w.store.round_trips.get();
    w.platform.allow.set(false);
    assert_eq!(
        refused(block_on(w.shop().add_code(&id, None, "WELCOME10"))),
        CartRefusal::RateLimited
    );
    assert_eq!(w.store.round_trips.get(), trips, "no round trip");
    assert!(w.store.cart(&id).codes().is_empty());
    assert_eq!(
        w.platform.asked.borrow().last().map(String::as_str),
        Some(format!("DiscountCode {{ cart: {id:?} }}").as_str()),
        "counted against this cart (and the client)"
    );
}

#[test]
fn a_code_that_does_not_exist_is_refused_and_not_kept() {
    let w = World::new();
    let id = w.new_cart();
    assert_eq!(
        refused(block_on(w.shop().add_code(&id, None, "NOPE"))),
        CartRefusal::DiscountNotApplicable {
            reason: "unknown_code".into(),
            message: "This code does not exist.".into()
        }
    );
    assert!(w.store.cart(&id).codes().is_empty());
}

#[test]
fn a_code_used_up_is_refused_with_the_reason_and_not_kept() {
    let w = World::new();
    w.store
        .t
        .borrow_mut()
        .discounts
        .push((discount("LAST", "50", Some(3)), 3));
    let id = w.new_cart();
    ok(block_on(w.shop().add_line(&id, None, "MUG", 1)));
    match refused(block_on(w.shop().add_code(&id, None, "LAST"))) {
        CartRefusal::DiscountNotApplicable { reason, .. } => {
            assert_eq!(reason, "usage_limit_reached")
        }
        other => panic!("{other:?}"),
    }
    assert!(w.store.cart(&id).codes().is_empty());
}

#[test]
fn a_read_then_write_that_loses_a_race_decides_again_and_keeps_the_change() {
    let w = World::new();
    let id = w.new_cart();
    ok(block_on(w.shop().add_line(&id, None, "TEE-M", 1)));
    w.store.races.set(1);
    let shown = ok(block_on(w.shop().add_code(&id, None, "WELCOME10")));
    assert_eq!(w.store.cart(&id).codes(), vec!["WELCOME10".to_string()]);
    assert_eq!(shown.version, 4, "the concurrent write and ours");
}

#[test]
fn with_if_match_a_lost_race_is_a_version_mismatch_not_a_retry() {
    let w = World::new();
    let id = w.new_cart();
    ok(block_on(w.shop().add_line(&id, None, "MUG", 1)));
    w.store.races.set(1);
    assert_eq!(
        refused(block_on(w.shop().add_code(
            &id,
            Some(IfMatch::Version(2)),
            "WELCOME10"
        ))),
        CartRefusal::VersionMismatch { current: Some(3) }
    );
    assert!(w.store.cart(&id).codes().is_empty());
}

#[test]
fn a_cart_that_keeps_losing_races_answers_busy_and_writes_nothing_of_its_own() {
    let w = World::new();
    let id = w.new_cart();
    ok(block_on(w.shop().add_line(&id, None, "MUG", 1)));
    w.store.races.set(10);
    assert_eq!(
        refused(block_on(w.shop().add_code(&id, None, "WELCOME10"))),
        CartRefusal::Busy
    );
    assert!(w.store.cart(&id).codes().is_empty());
}

#[test]
fn a_cart_holds_at_most_five_codes_and_removing_one_it_lacks_is_not_found() {
    let w = World::new();
    let id = w.new_cart();
    w.store
        .t
        .borrow_mut()
        .carts
        .get_mut(&id)
        .unwrap()
        .discount_codes = json!(["A", "B", "C", "D", "E"]).to_string();
    assert_eq!(
        refused(block_on(w.shop().add_code(&id, None, "WELCOME10"))),
        CartRefusal::TooManyCodes
    );
    assert_eq!(
        refused(block_on(w.shop().remove_code(&id, None, "ZZZ"))),
        CartRefusal::NoSuchCode
    );
    let shown = ok(block_on(w.shop().remove_code(&id, None, "c")));
    assert_eq!(w.store.cart(&id).codes().len(), 4, "{:?}", shown.view);
}

#[test]
fn an_address_outside_the_markets_countries_is_refused_naming_the_field() {
    let w = World::new();
    let id = w.new_cart();
    let u = CartUpdate {
        shipping_address: Some(Some(address("US"))),
        ..CartUpdate::default()
    };
    match refused(block_on(w.shop().update(&id, None, &u))) {
        CartRefusal::Invalid(e) => assert_eq!(e.field, "shipping_address.country"),
        other => panic!("{other:?}"),
    }
    assert_eq!(w.store.cart(&id).shipping_address, None);
}

#[test]
fn a_shipping_method_must_deliver_to_the_address_set_in_the_same_request() {
    let w = World::new();
    let id = w.new_cart();
    let u = CartUpdate {
        shipping_address: Some(Some(address("MC"))),
        shipping_method: Some(Some("colissimo".into())),
        ..CartUpdate::default()
    };
    match refused(block_on(w.shop().update(&id, None, &u))) {
        CartRefusal::Invalid(e) => {
            assert_eq!(e.field, "shipping_method");
            assert!(
                e.message.contains("does not deliver to MC"),
                "{}",
                e.message
            );
        }
        other => panic!("{other:?}"),
    }
    let u = CartUpdate {
        shipping_address: Some(Some(address("FR"))),
        ..u
    };
    let shown = ok(block_on(w.shop().update(&id, None, &u)));
    assert_eq!(wire(&shown)["shipping_method"]["id"], "colissimo");
    assert_eq!(
        wire(&shown)["billing_address"]["country"],
        "FR",
        "billing defaults to shipping"
    );
}

#[test]
fn shipping_methods_are_listed_with_their_price_for_this_cart() {
    let w = World::new();
    let id = w.new_cart();
    let methods = serde_json::to_value(block_on(w.shop().shipping_methods(&id)).unwrap()).unwrap();
    assert_eq!(
        methods,
        json!([{"id": "colissimo", "name": "Colissimo", "price": {"amount": "4.90", "currency": "EUR"}}])
    );
}

#[test]
fn attaching_a_cart_is_refused_when_it_belongs_to_another_customer() {
    let w = World::new();
    let id = w.new_cart();
    ok(block_on(w.shop().attach_customer(&id, None, "cus_a")));
    assert_eq!(w.store.cart(&id).customer_id.as_deref(), Some("cus_a"));
    assert_eq!(
        refused(block_on(w.shop().attach_customer(&id, None, "cus_b"))),
        CartRefusal::OtherCustomersCart
    );
    ok(block_on(w.shop().attach_customer(&id, None, "cus_a")));
}

#[test]
fn a_cart_whose_market_left_the_channel_cannot_be_shown_or_changed() {
    let mut w = World::new();
    let id = w.new_cart();
    w.channel.markets.clear();
    assert_eq!(
        refused(block_on(w.shop().get(&id))),
        CartRefusal::MarketGone
    );
    assert_eq!(
        refused(block_on(w.shop().add_code(&id, None, "WELCOME10"))),
        CartRefusal::MarketGone
    );
    assert!(w.store.cart(&id).codes().is_empty());
}

#[test]
fn if_match_star_accepts_any_version_so_a_lost_race_decides_again() {
    let w = World::new();
    let id = w.new_cart();
    ok(block_on(w.shop().add_line(&id, None, "MUG", 1)));
    w.store.races.set(1);
    ok(block_on(w.shop().add_code(
        &id,
        Some(IfMatch::Any),
        "WELCOME10",
    )));
    assert_eq!(w.store.cart(&id).codes(), vec!["WELCOME10".to_string()]);
}

#[test]
fn a_missing_market_field_is_refused_after_the_client_is_counted() {
    let w = World::new();
    let missing = comptoir::domain::fields::FieldError::new("market", "market is required");
    match refused(block_on(w.shop().create(Err(missing.clone())))) {
        CartRefusal::Invalid(e) => assert_eq!(e, missing),
        other => panic!("{other:?}"),
    }
    w.platform.allow.set(false);
    assert_eq!(
        refused(block_on(w.shop().create(Err(missing)))),
        CartRefusal::RateLimited
    );
}
