//! The import plan (domain::import): idempotent answers, the channel's prices taxed by the
//! market, allocation in call order with backorders, and every bad field named.

mod support;

use comptoir::domain::import::{self, ImportRefusal, Known, KnownVariant};
use comptoir::domain::market::TaxClass;
use comptoir::domain::order::OrderStatus;
use comptoir::domain::stock::{Location, LocationKind, StockPicture};
use serde_json::{json, Value};
use support::{address, fr, NOW};

fn known(available: i64) -> Known {
    Known {
        markets: vec![fr()],
        channels: [("amazon-fr".to_string(), vec!["FR".to_string()])].into(),
        variants: [(
            "CHOC-70".to_string(),
            KnownVariant {
                title: "Chocolate — 100 g bar".into(),
                tax_class: TaxClass::Reduced,
            },
        )]
        .into(),
        existing: [(
            ("amazon-fr".to_string(), "OLD-1".to_string()),
            "ord_old".to_string(),
        )]
        .into(),
        picture: StockPicture {
            locations: vec![Location {
                id: "main".into(),
                kind: LocationKind::Warehouse,
                countries: vec![],
                priority: 100,
                pickup: false,
            }],
            available: [(("CHOC-70".to_string(), "main".to_string()), available)].into(),
            hot: vec![],
        },
    }
}

fn sale(id: &str, quantity: i64) -> Value {
    json!({"channel": "amazon-fr", "external_id": id, "market": "FR", "email": "b@example.fr",
           "placed_at": "2026-05-30T10:00:00Z", "paid": true,
           "lines": [{"sku": "choc-70", "quantity": quantity, "unit_price": {"amount": "3.80", "currency": "EUR"}}],
           "shipping": {"price": {"amount": "4.90", "currency": "EUR"}}, "shipping_address": address("FR")})
}

fn parse(orders: Vec<Value>) -> Vec<import::ImportedOrder> {
    let body = json!({ "orders": orders });
    import::parse(body.as_object().unwrap(), comptoir::app::ports::instant).unwrap()
}

fn plan(orders: Vec<Value>, known: &Known) -> Result<import::Plan, ImportRefusal> {
    let mut n = 0;
    import::plan(
        &parse(orders),
        known,
        &mut |p| {
            n += 1;
            format!("{p}_{n}")
        },
        NOW,
    )
}

#[test]
fn known_orders_answer_again_and_new_ones_are_taxed_as_the_market_says() {
    let p = plan(vec![sale("OLD-1", 1), sale("NEW-1", 2)], &known(10)).unwrap();
    assert_eq!(
        p.results
            .iter()
            .map(|r| (r.order_id.as_str(), r.created))
            .collect::<Vec<_>>(),
        vec![("ord_old", false), (p.orders[0].0.id.as_str(), true)]
    );
    let (order, events) = &p.orders[0];
    let view = order.view();
    // 7.60 at 5.5 % inclusive: 0.40; shipping 4.90 at 20 %: 0.82.
    assert_eq!(view["lines"][0]["tax"]["amount"], "0.40");
    assert_eq!(view["totals"]["tax"]["amount"], "1.22");
    assert_eq!(view["totals"]["total"]["amount"], "12.50");
    assert_eq!(
        (&view["source"], &view["channel"], &view["external_id"]),
        (&json!("import"), &json!("amazon-fr"), &json!("NEW-1"))
    );
    assert_eq!(order.status, OrderStatus::Confirmed);
    assert_eq!(order.created_at, "2026-05-30T10:00:00.000Z");
    assert_eq!(
        events
            .iter()
            .map(|e| (e.event_type.as_str(), e.sequence))
            .collect::<Vec<_>>(),
        vec![("order.placed", 1), ("order.confirmed", 2)]
    );
    assert!(p.oversold.is_empty());
    assert_eq!(
        (
            &events[0].data["status"],
            &events[1].data["status"],
            &events[1].data["payment_status"]
        ),
        (
            &json!("pending_payment"),
            &json!("confirmed"),
            &json!("paid")
        ),
        "placed, then paid through the state machine, as any order"
    );
}

#[test]
fn orders_of_one_call_share_the_stock_in_turn_and_the_rest_is_backordered() {
    let p = plan(vec![sale("A", 3), sale("B", 3)], &known(4)).unwrap();
    let backordered = |k: usize| p.orders[k].0.lines[0].backordered(OrderStatus::Confirmed);
    assert_eq!((backordered(0), backordered(1)), (0, 2));
    assert_eq!(p.results[1].warnings[0].code, "backordered");
    assert_eq!(p.reserve.iter().map(|m| -m.release).sum::<i64>(), 4);
    assert_eq!(p.oversold.len(), 1);
    assert_eq!(
        (p.oversold[0].sku.as_str(), p.oversold[0].quantity),
        ("CHOC-70", 2)
    );
}

#[test]
fn every_bad_field_is_named() {
    let field = |order: Value| match plan(vec![order], &known(10)) {
        Err(ImportRefusal::Field(e)) => e.field,
        Err(ImportRefusal::UnknownSku { field, .. }) => field,
        other => panic!("not a field refusal: {other:?}"),
    };
    let mut other = sale("X", 1);
    other["channel"] = json!("web");
    assert_eq!(field(other), "orders[0].channel");
    let mut usd = sale("X", 1);
    usd["shipping"]["price"]["currency"] = json!("USD");
    assert_eq!(field(usd), "orders[0].shipping.price.currency");
    let mut unknown = sale("X", 1);
    unknown["lines"][0]["sku"] = json!("NOPE");
    assert_eq!(field(unknown), "orders[0].lines[0].sku");
    let body = json!({"orders": [sale("X", 1), sale("X", 1)]});
    assert_eq!(
        import::parse(body.as_object().unwrap(), comptoir::app::ports::instant)
            .unwrap_err()
            .field,
        "orders[1].external_id"
    );
}
