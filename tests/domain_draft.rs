//! Draft orders (domain::draft): the body read field by field, a price set by hand kept with
//! its reason and priced as the line's price, and every field checked against the market.

mod support;

use comptoir::domain::cart::{self, CartData, WarningCode};
use comptoir::domain::draft::{self, DraftFacts, DraftRefusal};
use serde_json::{json, Map, Value};
use support::{address, colissimo, fr, snapshot, NOW};

fn body(v: Value) -> Map<String, Value> {
    v.as_object().unwrap().clone()
}

fn new_draft(lines: Value) -> Map<String, Value> {
    body(json!({
        "channel": "phone", "market": "fr", "email": "buyer@b2b.example", "lines": lines,
        "shipping_method": "colissimo", "shipping_address": address("FR"),
    }))
}

/// What the FR market knows: its catalog and Colissimo.
struct Known {
    market: comptoir::domain::market::Market,
    snapshot: comptoir::domain::catalog::CatalogSnapshot,
    method: comptoir::domain::admin_defs::ShippingDef,
}

impl Known {
    fn new() -> Known {
        Known {
            market: fr(),
            snapshot: snapshot(),
            method: colissimo(),
        }
    }

    fn facts(&self) -> DraftFacts<'_> {
        DraftFacts {
            market: &self.market,
            shipping_method: Some(&self.method),
            snapshot: &self.snapshot,
        }
    }
}

fn field(r: Result<impl std::fmt::Debug, DraftRefusal>) -> String {
    match r.unwrap_err() {
        DraftRefusal::Field(e) => e.field,
        DraftRefusal::UnknownSku { field, .. } => format!("unknown_sku {field}"),
        other => format!("{other:?}"),
    }
}

#[test]
fn a_price_set_by_hand_needs_a_reason_and_says_so() {
    let ok = draft::parse(
        &new_draft(json!([{"sku": "tee-m", "quantity": 2, "unit_price": {"amount": "20.00", "currency": "EUR"}, "price_reason": "B2B"}])),
        false,
    )
    .unwrap();
    assert!(ok.lines.as_ref().unwrap()[0].unit_price.is_some());
    assert_eq!(ok.market.as_deref(), Some("FR"));
    assert_eq!(ok.lines.as_ref().unwrap()[0].sku, "TEE-M");
    let plain = draft::parse(&new_draft(json!([{"sku": "MUG", "quantity": 1}])), false).unwrap();
    assert!(plain.lines.as_ref().unwrap()[0].unit_price.is_none());
    for (lines, at) in [
        (
            json!([{"sku": "MUG", "quantity": 1, "unit_price": {"amount": "1.00", "currency": "EUR"}}]),
            "lines[0].price_reason",
        ),
        (
            json!([{"sku": "MUG", "quantity": 1, "price_reason": "why"}]),
            "lines[0].price_reason",
        ),
        (json!([{"sku": "MUG", "quantity": 0}]), "lines[0].quantity"),
        (
            json!([{"sku": "MUG", "quantity": 1}, {"sku": "mug", "quantity": 1}]),
            "lines[1].sku",
        ),
        (
            json!([{"sku": "MUG", "quantity": 1, "price": 3}]),
            "lines[0].price",
        ),
        (json!([]), "lines"),
    ] {
        assert_eq!(
            draft::parse(&new_draft(lines), false).unwrap_err().field,
            at
        );
    }
    // A patch changes what it names; its channel and market are fixed; `null` clears the
    // optional fields and means nothing for the others.
    let patch = draft::parse(&body(json!({"note": null, "billing_address": null})), true).unwrap();
    assert_eq!(patch.note, Some(None));
    assert_eq!(patch.billing_address, Some(None));
    assert_eq!(patch.lines, None);
    assert_eq!(
        draft::parse(&body(json!({"market": "US"})), true)
            .unwrap_err()
            .field,
        "market"
    );
    // Elsewhere `null` is as if the field were left out (API.md conventions).
    let nothing = draft::parse(
        &body(json!({"email": null, "lines": null, "discount_codes": null})),
        true,
    )
    .unwrap();
    assert_eq!(nothing, draft::DraftInput::default());
    let line = draft::parse(
        &body(json!({"lines": [{"sku": "MUG", "quantity": 1, "unit_price": null}]})),
        true,
    )
    .unwrap();
    assert_eq!(line.lines.unwrap()[0].unit_price, None);
}

#[test]
fn a_draft_is_priced_as_a_cart_with_its_price_set_by_hand() {
    let known = Known::new();
    let (market, snap, facts) = (&known.market, &known.snapshot, known.facts());
    let input = draft::parse(
        &new_draft(json!([
            {"sku": "TEE-M", "quantity": 2, "unit_price": {"amount": "20.00", "currency": "EUR"}, "price_reason": "B2B contract"},
            {"sku": "MUG", "quantity": 1},
        ])),
        false,
    )
    .unwrap();
    let mut n = 0;
    let (record, lines) = draft::decide(&input, None, &facts, ("draft_1", NOW), || {
        n += 1;
        format!("line_{n}")
    })
    .unwrap();
    assert_eq!(record.kind, cart::CartKind::Draft);
    assert_eq!(record.expires_at, draft::NEVER_EXPIRES);
    let lines = lines.unwrap();
    assert_eq!(
        lines
            .iter()
            .map(|l| (l.unit_price_seen, l.price_override))
            .collect::<Vec<_>>(),
        [(2500, Some(2000)), (1200, None)]
    );
    let data = CartData {
        cart: record,
        lines,
        discounts: vec![],
        shipping: Some(known.method.clone()),
        stock: [("TEE-M".to_string(), 10), ("MUG".to_string(), 10)].into(),
        picture: Default::default(),
        market: None,
    };
    let rendered = cart::render(&data, market, snap, 0, NOW).unwrap();
    let view = draft::view(&data, rendered.view, None);
    let v = serde_json::to_value(&view).unwrap();
    assert_eq!(v["status"], "open");
    assert_eq!(v["lines"][0]["unit_price"]["amount"], "20.00");
    assert_eq!(v["lines"][0]["price_reason"], "B2B contract");
    assert!(v["lines"][1].get("price_reason").is_none());
    // 40.00 + 12.00 + 4.90 shipping.
    assert_eq!(v["totals"]["total"]["amount"], "56.90");
    assert!(
        !view
            .warnings
            .iter()
            .any(|w| w.code == WarningCode::PriceChanged),
        "a price set by hand is no price change"
    );
}

#[test]
fn every_field_is_checked_against_the_draft_market() {
    let known = Known::new();
    let facts = known.facts();
    let decide = |v: Value| {
        let input = draft::parse(&v.as_object().unwrap().clone(), false)?;
        draft::decide(&input, None, &facts, ("draft_1", NOW), || "line".into())
    };
    let base = json!({
        "channel": "phone", "market": "FR", "email": "b@b.example", "lines": [{"sku": "MUG", "quantity": 1}],
        "shipping_method": "colissimo", "shipping_address": address("FR"),
    });
    assert!(decide(base.clone()).is_ok());
    for (patch, at) in [
        (
            json!({"lines": [{"sku": "NOPE", "quantity": 1}]}),
            "unknown_sku lines[0].sku",
        ),
        (
            json!({"lines": [{"sku": "MUG", "quantity": 1, "unit_price": {"amount": "1.00", "currency": "USD"}, "price_reason": "x"}]}),
            "lines[0].unit_price.currency",
        ),
        (
            json!({"shipping_address": address("US")}),
            "shipping_address.country",
        ),
        (json!({"shipping_method": "express"}), "shipping_method"),
        (
            json!({"shipping_address": address("MC")}),
            "shipping_method",
        ),
        (
            json!({"discount_codes": ["not a code"]}),
            "discount_codes[0]",
        ),
        // A price set by hand must leave the order priceable.
        (
            json!({"lines": [{"sku": "MUG", "quantity": 999, "unit_price": {"amount": "90000000000.00", "currency": "EUR"}, "price_reason": "x"}]}),
            "lines[0].unit_price.amount",
        ),
    ] {
        let mut v = base.clone();
        for (k, val) in patch.as_object().unwrap() {
            v[k] = val.clone();
        }
        assert_eq!(field(decide(v)), at);
    }
}
