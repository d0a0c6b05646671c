//! Native benchmark of the pricing engine: a 20-line and a 100-line cart with 5 active
//! discounts and a shipping method. Prints the median time per pricing over timed batches.
//! Run with `cargo bench --bench pricing` (also part of `npm run bench`).

use comptoir::domain::market::{Market, RoundingMode, TaxClass, TaxRounding};
use comptoir::domain::money::Currency;
use comptoir::domain::pricing::*;
use rust_decimal::Decimal;
use std::collections::BTreeMap;
use std::hint::black_box;
use std::time::Instant;

fn market() -> Market {
    Market {
        code: "FR".into(),
        currency: Currency::from_code("EUR").unwrap(),
        countries: vec!["FR".into()],
        languages: vec!["fr".into()],
        tax_inclusive: true,
        tax_rates: [
            (TaxClass::Standard, Decimal::new(20, 0)),
            (TaxClass::Reduced, Decimal::new(55, 1)),
            (TaxClass::Zero, Decimal::ZERO),
        ]
        .into(),
        rounding_mode: RoundingMode::HalfUp,
        tax_rounding: TaxRounding::Line,
    }
}

fn lines(n: usize) -> Vec<LineInput> {
    let classes = [TaxClass::Standard, TaxClass::Reduced, TaxClass::Zero];
    (0..n)
        .map(|i| LineInput {
            id: format!("line_{i:032x}"),
            position: i as u32,
            sku: format!("SKU-{}", i % 40),
            product_id: format!("prod_{}", i % 25),
            unit_price: 990 + (i as i64 * 137) % 9000,
            quantity: 1 + (i as u32 % 4),
            tax_class: classes[i % 3],
            weight_grams: 250,
        })
        .collect()
}

fn discounts() -> Vec<Discount> {
    let base = |id: &str, code: Option<&str>, value: DiscountValue| Discount {
        id: id.into(),
        title: id.into(),
        code: code.map(str::to_string),
        value,
        target: Target::Order,
        items: ItemFilter::default(),
        conditions: Conditions {
            min_subtotal: Some(2000),
            ..Conditions::default()
        },
        limits: UsageLimits::default(),
        stacking: Stacking::Combinable,
        priority: 0,
    };
    let mut items = base("items", None, DiscountValue::FixedAmount { amount: 100 });
    items.target = Target::Items;
    items.items.skus = (0..10).map(|i| format!("SKU-{i}")).collect();
    let mut bxgy = base(
        "bxgy",
        None,
        DiscountValue::BuyXGetY {
            buy: 2,
            get: 1,
            percent: Decimal::ONE_HUNDRED,
        },
    );
    bxgy.items.product_ids = vec!["prod_3".into(), "prod_4".into()];
    let mut vip = base(
        "vip",
        Some("VIP5"),
        DiscountValue::Percentage {
            percent: Decimal::new(5, 0),
        },
    );
    vip.stacking = Stacking::Exclusive;
    vec![
        base(
            "welcome",
            Some("WELCOME10"),
            DiscountValue::Percentage {
                percent: Decimal::new(10, 0),
            },
        ),
        items,
        bxgy,
        base("ship", Some("SHIPFREE"), DiscountValue::FreeShipping),
        vip,
    ]
}

fn bench(name: &str, n: usize) {
    let market = market();
    let lines = lines(n);
    let discounts = discounts();
    let codes: Vec<String> = ["WELCOME10", "SHIPFREE", "VIP5"].map(String::from).to_vec();
    let usage = BTreeMap::new();
    let shopper = Shopper::default();
    let shipping = ShippingMethod {
        id: "std".into(),
        name: "Standard".into(),
        markets: vec![],
        countries: vec![],
        rate: ShippingRate::WeightTiers {
            tiers: vec![
                WeightTier {
                    up_to_grams: 10_000,
                    amount: 490,
                },
                WeightTier {
                    up_to_grams: 200_000,
                    amount: 1290,
                },
            ],
        },
    };
    let request = PricingRequest {
        market: &market,
        lines: &lines,
        codes: &codes,
        discounts: &discounts,
        usage: &usage,
        shopper: &shopper,
        now: 1_800_000_000,
        shipping: Some(&shipping),
        country: Some("FR"),
    };
    let priced = price(&request).expect("the benchmark cart prices");
    assert_eq!(priced.lines.len(), n);
    let applied: Vec<&str> = priced.applied.iter().map(|a| a.id.as_str()).collect();
    assert_eq!(
        applied.len(),
        4,
        "the four combinable discounts apply: {applied:?} {:?}",
        priced.codes
    );
    // Warm up, then time batches and keep the median per pricing.
    let batch = 200;
    for _ in 0..batch {
        black_box(price(black_box(&request)).unwrap());
    }
    let mut samples: Vec<f64> = (0..60)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..batch {
                black_box(price(black_box(&request)).unwrap());
            }
            start.elapsed().as_nanos() as f64 / batch as f64
        })
        .collect();
    samples.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let median_us = samples[samples.len() / 2] / 1000.0;
    let p90_us = samples[samples.len() * 9 / 10] / 1000.0;
    println!("pricing/{name}: median {median_us:.1} µs, p90 {p90_us:.1} µs per cart ({n} lines, 5 discounts)");
}

fn main() {
    bench("20-lines", 20);
    bench("100-lines", 100);
}
