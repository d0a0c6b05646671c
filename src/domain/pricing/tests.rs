//! Worked examples (done by hand in the comments), regressions of peers' public bugs, and
//! property tests of the pricing engine.

use super::*;
use crate::domain::market::{Market, RoundingMode, TaxClass, TaxRounding};
use crate::domain::money::Currency;
use proptest::prelude::*;
use rust_decimal::Decimal;
use std::collections::BTreeMap;

fn market(code: &str, currency: &str, inclusive: bool, rates: [&str; 3]) -> Market {
    Market {
        code: code.into(),
        currency: Currency::from_code(currency).unwrap(),
        countries: vec![code.into()],
        languages: vec![],
        tax_inclusive: inclusive,
        tax_rates: [
            (TaxClass::Standard, rates[0].parse().unwrap()),
            (TaxClass::Reduced, rates[1].parse().unwrap()),
            (TaxClass::Zero, rates[2].parse().unwrap()),
        ]
        .into(),
        rounding_mode: RoundingMode::HalfUp,
        tax_rounding: TaxRounding::Line,
    }
}

fn fr() -> Market {
    market("FR", "EUR", true, ["20", "5.5", "0"])
}

fn us() -> Market {
    market("US", "USD", false, ["8.875", "4", "0"])
}

fn line(id: &str, sku: &str, unit_price: i64, quantity: u32, tax_class: TaxClass) -> LineInput {
    LineInput {
        id: id.into(),
        // Equal positions fall back to id order, which the examples' ids follow.
        position: 0,
        sku: sku.into(),
        product_id: format!("prod_{}", sku.to_lowercase()),
        unit_price,
        quantity,
        tax_class,
        weight_grams: 100,
    }
}

fn discount(id: &str, code: Option<&str>, value: DiscountValue) -> Discount {
    Discount {
        id: id.into(),
        title: id.into(),
        code: code.map(str::to_string),
        value,
        target: Target::Order,
        items: ItemFilter::default(),
        conditions: Conditions::default(),
        limits: UsageLimits::default(),
        stacking: Stacking::Combinable,
        priority: 0,
    }
}

fn pct(p: &str) -> DiscountValue {
    DiscountValue::Percentage {
        percent: p.parse().unwrap(),
    }
}

fn flat(id: &str, amount: i64) -> ShippingMethod {
    ShippingMethod {
        id: id.into(),
        name: id.into(),
        markets: vec![],
        countries: vec![],
        rate: ShippingRate::Flat { amount },
    }
}

#[derive(Debug, Clone)]
struct Case {
    market: Market,
    lines: Vec<LineInput>,
    codes: Vec<String>,
    discounts: Vec<Discount>,
    usage: BTreeMap<String, Usage>,
    shopper: Shopper,
    shipping: Option<ShippingMethod>,
    now: i64,
}

impl Case {
    fn new(market: Market, lines: Vec<LineInput>) -> Case {
        Case {
            market,
            lines,
            codes: vec![],
            discounts: vec![],
            usage: BTreeMap::new(),
            shopper: Shopper::default(),
            shipping: None,
            now: 1_800_000_000,
        }
    }

    fn price(&self) -> PricedCart {
        price(&PricingRequest {
            market: &self.market,
            lines: &self.lines,
            codes: &self.codes,
            discounts: &self.discounts,
            usage: &self.usage,
            shopper: &self.shopper,
            now: self.now,
            shipping: self.shipping.as_ref(),
            country: None,
        })
        .unwrap()
    }
}

fn amt(m: &crate::domain::money::Money) -> String {
    m.amount_string()
}

#[test]
fn a_tax_inclusive_french_cart_worked_by_hand() {
    // Apron 39.00 × 2 (20 %) = 78.00; coffee 12.90 × 3 (5.5 %) = 38.70; gift card 50.00 (0 %).
    // Subtotal 166.70. WELCOME10 = 10 % of 166.70 = 16.67, spread by subtotal: exactly
    // 7.80 / 3.87 / 5.00. Lines after discount: 70.20 / 34.83 / 45.00.
    // Tax inside each: 70.20 × 20/120 = 11.70; 34.83 × 5.5/105.5 = 1.8157 -> 1.82; 0.
    // Shipping 4.90 at 20 %: 4.90 × 20/120 = 0.8167 -> 0.82.
    // Tax 11.70 + 1.82 + 0.82 = 14.34. Total 166.70 - 16.67 + 4.90 = 154.93 (tax included).
    let mut case = Case::new(
        fr(),
        vec![
            line("l1", "APRON-NAT", 3900, 2, TaxClass::Standard),
            line("l2", "COF-250", 1290, 3, TaxClass::Reduced),
            line("l3", "GIFT-50", 5000, 1, TaxClass::Zero),
        ],
    );
    case.codes = vec!["WELCOME10".into()];
    case.discounts = vec![discount("welcome", Some("WELCOME10"), pct("10"))];
    case.shipping = Some(flat("colissimo", 490));
    let cart = case.price();
    let per_line: Vec<[String; 4]> = cart
        .lines
        .iter()
        .map(|l| {
            [
                amt(&l.subtotal),
                amt(&l.discount),
                amt(&l.tax),
                amt(&l.total),
            ]
        })
        .collect();
    assert_eq!(
        per_line,
        vec![
            ["78.00", "7.80", "11.70", "70.20"].map(String::from),
            ["38.70", "3.87", "1.82", "34.83"].map(String::from),
            ["50.00", "5.00", "0.00", "45.00"].map(String::from),
        ]
    );
    let t = &cart.totals;
    assert_eq!(
        [
            amt(&t.subtotal),
            amt(&t.discount),
            amt(&t.shipping),
            amt(&t.tax),
            amt(&t.total)
        ],
        ["166.70", "16.67", "4.90", "14.34", "154.93"].map(String::from)
    );
    assert_eq!(amt(&cart.shipping.unwrap().tax), "0.82");
    assert_eq!(cart.applied[0].explanation, "10% off the order");
    assert!(cart.codes[0].applicable);
}

#[test]
fn a_tax_exclusive_us_cart_worked_by_hand() {
    // Knife 99.00 (8.875 %): tax 8.78625 -> 8.79. Coffee 14.50 × 2 = 29.00 (4 %): 1.16.
    // Chocolate 6.50 × 3 = 19.50 (4 %): 0.78. Shipping 7.95 (8.875 %): 0.7056 -> 0.71.
    // Subtotal 147.50, tax 11.44, total 147.50 + 7.95 + 11.44 = 166.89.
    let mut case = Case::new(
        us(),
        vec![
            line("l1", "KNIFE-20", 9900, 1, TaxClass::Standard),
            line("l2", "COF-250", 1450, 2, TaxClass::Reduced),
            line("l3", "CHOC-70", 650, 3, TaxClass::Reduced),
        ],
    );
    case.shipping = Some(flat("ups", 795));
    let cart = case.price();
    let taxes: Vec<String> = cart.lines.iter().map(|l| amt(&l.tax)).collect();
    assert_eq!(taxes, ["8.79", "1.16", "0.78"]);
    let totals: Vec<String> = cart.lines.iter().map(|l| amt(&l.total)).collect();
    assert_eq!(
        totals,
        ["107.79", "30.16", "20.28"],
        "tax-exclusive line totals include the tax"
    );
    let t = &cart.totals;
    assert_eq!(
        [
            amt(&t.subtotal),
            amt(&t.shipping),
            amt(&t.tax),
            amt(&t.total)
        ],
        ["147.50", "7.95", "11.44", "166.89"].map(String::from)
    );
}

#[test]
fn regression_vendure_2662_vat_is_rounded_on_the_line_not_per_unit_then_multiplied() {
    // 20 × £19.99 inclusive of 20 % VAT = £399.80. Per unit 3.3317 -> 3.33, × 20 = 66.60 (wrong).
    // On the line: 399.80 / 6 = 66.6333 -> 66.63, net 333.17, and 333.17 + 66.63 = 399.80.
    let uk = market("GB", "GBP", true, ["20", "5", "0"]);
    let cart = Case::new(uk, vec![line("l1", "TEE", 1999, 20, TaxClass::Standard)]).price();
    assert_eq!(amt(&cart.lines[0].tax), "66.63");
    assert_eq!(amt(&cart.totals.total), "399.80");
}

#[test]
fn regression_saleor_6720_large_quantities_do_not_multiply_a_per_unit_rounding_error() {
    // 100 × $0.99 at 8.875 %: per unit 0.0879 -> 0.09, × 100 = 9.00 (21 cents too many).
    // On the line: 99.00 × 8.875 % = 8.78625 -> 8.79.
    let cart = Case::new(us(), vec![line("l1", "CLIP", 99, 100, TaxClass::Standard)]).price();
    assert_eq!(amt(&cart.lines[0].tax), "8.79");
    assert_eq!(amt(&cart.totals.total), "107.79");
}

#[test]
fn regression_medusa_14817_every_amount_is_whole_minor_units_and_the_total_is_what_is_charged() {
    // Three $1.00 lines at 8.875 %: each tax 0.08875 -> 0.09. What the shopper sees (0.27) is
    // what is charged: totals are sums of rounded parts, never a sub-cent amount.
    let lines = (1..=3)
        .map(|i| {
            line(
                &format!("l{i}"),
                &format!("S{i}"),
                100,
                1,
                TaxClass::Standard,
            )
        })
        .collect();
    let cart = Case::new(us(), lines).price();
    assert_eq!(amt(&cart.totals.tax), "0.27");
    assert_eq!(amt(&cart.totals.total), "3.27");
    for l in &cart.lines {
        assert_eq!(l.tax.amount().scale(), 2);
    }
}

#[test]
fn tax_rounded_on_the_total_differs_from_per_line_and_still_sums() {
    // Same three lines, tax rounded once per rate: 3.00 × 8.875 % = 0.26625 -> 0.27 (equal
    // here); with 7 lines of $1.00: per line 7 × 0.09 = 0.63, on the total 0.62125 -> 0.62.
    let mut m = us();
    m.tax_rounding = TaxRounding::Total;
    let lines: Vec<LineInput> = (1..=7)
        .map(|i| {
            line(
                &format!("l{i}"),
                &format!("S{i}"),
                100,
                1,
                TaxClass::Standard,
            )
        })
        .collect();
    let cart = Case::new(m, lines.clone()).price();
    assert_eq!(amt(&cart.totals.tax), "0.62");
    let per_line: i64 = cart
        .lines
        .iter()
        .map(|l| l.tax.minor_units().unwrap())
        .sum();
    assert_eq!(per_line, 62, "line taxes add up to the rounded total");
    let by_line = Case::new(us(), lines).price();
    assert_eq!(amt(&by_line.totals.tax), "0.63");
}

#[test]
fn the_markets_rounding_mode_decides_exact_halves() {
    // 10.50 × 5 % = 0.525: half-up 0.53, half-even 0.52, half-down 0.52.
    for (mode, expected) in [
        (RoundingMode::HalfUp, "0.53"),
        (RoundingMode::HalfEven, "0.52"),
        (RoundingMode::HalfDown, "0.52"),
    ] {
        let mut m = market("XX", "EUR", false, ["5", "0", "0"]);
        m.rounding_mode = mode;
        let cart = Case::new(m, vec![line("l1", "A", 1050, 1, TaxClass::Standard)]).price();
        assert_eq!(amt(&cart.lines[0].tax), expected, "{mode:?}");
    }
}

#[test]
fn order_discounts_are_spread_by_largest_remainder_with_ties_to_the_earlier_line() {
    // 0.01 off two equal lines: the earlier line takes the cent.
    let mut case = Case::new(
        us(),
        vec![
            line("a", "A", 500, 1, TaxClass::Zero),
            line("b", "B", 500, 1, TaxClass::Zero),
        ],
    );
    case.discounts = vec![discount(
        "cent",
        None,
        DiscountValue::FixedAmount { amount: 1 },
    )];
    let cart = case.price();
    assert_eq!(amt(&cart.lines[0].discount), "0.01");
    assert_eq!(amt(&cart.lines[1].discount), "0.00");
    // "Earlier" is the cart position, not the id nor the order lines are passed in.
    case.lines = vec![
        LineInput {
            position: 1,
            ..line("a", "A", 500, 1, TaxClass::Zero)
        },
        LineInput {
            position: 0,
            ..line("z", "Z", 500, 1, TaxClass::Zero)
        },
    ];
    let cart = case.price();
    assert_eq!(
        (
            cart.lines[0].id.as_str(),
            amt(&cart.lines[0].discount).as_str()
        ),
        ("z", "0.01")
    );
    // 10.00 off 3 × 3.33 + 0.01 lines: parts sum to exactly 10.00.
    let mut case = Case::new(
        us(),
        vec![
            line("a", "A", 1000, 1, TaxClass::Zero),
            line("b", "B", 1000, 1, TaxClass::Zero),
            line("c", "C", 1000, 1, TaxClass::Zero),
        ],
    );
    case.discounts = vec![discount(
        "ten",
        None,
        DiscountValue::FixedAmount { amount: 1000 },
    )];
    let parts: Vec<String> = case
        .price()
        .lines
        .iter()
        .map(|l| amt(&l.discount))
        .collect();
    assert_eq!(parts, ["3.34", "3.33", "3.33"]);
}

#[test]
fn a_discount_larger_than_the_order_never_makes_anything_negative() {
    let mut case = Case::new(fr(), vec![line("a", "A", 1000, 1, TaxClass::Standard)]);
    case.discounts = vec![discount(
        "big",
        None,
        DiscountValue::FixedAmount { amount: 5000 },
    )];
    let cart = case.price();
    assert_eq!(amt(&cart.lines[0].discount), "10.00");
    assert_eq!(amt(&cart.totals.total), "0.00");
    assert_eq!(amt(&cart.totals.tax), "0.00");
}

#[test]
fn buy_two_get_one_free_gives_the_cheapest_unit() {
    // Units 12.90, 12.90, 4.29 eligible (coffee): one group of three, the 4.29 unit is free.
    let mut case = Case::new(
        fr(),
        vec![
            line("a", "COF-250", 1290, 2, TaxClass::Reduced),
            line("b", "COF-SAMPLE", 429, 1, TaxClass::Reduced),
        ],
    );
    let mut d = discount(
        "b2g1",
        None,
        DiscountValue::BuyXGetY {
            buy: 2,
            get: 1,
            percent: Decimal::ONE_HUNDRED,
        },
    );
    d.items = ItemFilter {
        skus: vec!["COF-250".into(), "COF-SAMPLE".into()],
        product_ids: vec![],
    };
    case.discounts = vec![d];
    let cart = case.price();
    assert_eq!(amt(&cart.lines[1].discount), "4.29");
    assert_eq!(amt(&cart.lines[0].discount), "0.00");
    assert_eq!(cart.applied[0].explanation, "Buy 2, get 1 free");
    // Two units only: no full group, nothing to take off.
    case.lines.pop();
    assert!(case.price().applied.is_empty());
}

#[test]
fn item_discounts_touch_only_eligible_lines() {
    let mut case = Case::new(
        us(),
        vec![
            line("a", "MUG-350", 2200, 2, TaxClass::Standard),
            line("b", "KNIFE-20", 9900, 1, TaxClass::Standard),
        ],
    );
    let mut d = discount("mugs", None, DiscountValue::FixedPrice { unit_price: 1500 });
    d.target = Target::Items;
    d.items.skus = vec!["MUG-350".into()];
    let mut e = discount("knife", None, pct("25"));
    e.target = Target::Items;
    e.items.skus = vec!["KNIFE-20".into()];
    case.discounts = vec![d, e];
    let cart = case.price();
    assert_eq!(
        amt(&cart.lines[0].discount),
        "14.00",
        "two mugs at 15.00 instead of 22.00"
    );
    assert_eq!(amt(&cart.lines[1].discount), "24.75");
}

#[test]
fn free_shipping_takes_off_the_shipping_price_and_is_explained() {
    let mut case = Case::new(fr(), vec![line("a", "A", 3000, 1, TaxClass::Standard)]);
    case.shipping = Some(flat("colissimo", 490));
    case.codes = vec!["SHIPFREE".into()];
    case.discounts = vec![discount(
        "ship",
        Some("SHIPFREE"),
        DiscountValue::FreeShipping,
    )];
    let cart = case.price();
    let s = cart.shipping.unwrap();
    assert_eq!(
        (amt(&s.price), amt(&s.discount), amt(&s.tax)),
        ("4.90".into(), "4.90".into(), "0.00".into())
    );
    assert_eq!(amt(&cart.totals.shipping), "0.00");
    assert_eq!(amt(&cart.totals.total), "30.00");
    assert_eq!(cart.codes[0].message, "Free shipping");
    // Without a shipping method yet, the code waits: nothing to take off.
    case.shipping = None;
    let cart = case.price();
    assert_eq!(cart.codes[0].reason, Some("nothing_to_discount"));
}

#[test]
fn the_best_deal_wins_between_an_exclusive_discount_and_the_combinable_ones() {
    let mut case = Case::new(us(), vec![line("a", "A", 10000, 1, TaxClass::Zero)]);
    let ten = discount("ten", Some("TEN"), pct("10"));
    let five = discount("five", None, DiscountValue::FixedAmount { amount: 500 });
    let mut vip = discount("vip", Some("VIP20"), pct("20"));
    vip.stacking = Stacking::Exclusive;
    case.discounts = vec![ten, five, vip];
    case.codes = vec!["TEN".into(), "VIP20".into()];
    // Combinable, same priority so by id: 5.00 off, then 10 % of 95.00 = 9.50, together 14.50;
    // exclusive VIP20 alone = 20.00: VIP20 wins.
    let cart = case.price();
    assert_eq!(amt(&cart.totals.discount), "20.00");
    assert_eq!(cart.codes[0].reason, Some("not_combinable"));
    assert_eq!(
        cart.codes[0].message,
        "This offer cannot be combined with VIP20, which saves you more."
    );
    assert!(cart.codes[1].applicable);
    // A 12 % exclusive (12.00) loses to the 14.50 combination.
    case.discounts[2].value = pct("12");
    let cart = case.price();
    assert_eq!(amt(&cart.totals.discount), "14.50");
    assert_eq!(cart.codes[1].reason, Some("not_combinable"));
}

#[test]
fn combinable_discounts_apply_in_priority_order_on_what_is_left() {
    // 100.00: 10.00 off first (priority 0), then 10 % of 90.00 = 9.00. Total off 19.00.
    let mut case = Case::new(us(), vec![line("a", "A", 10000, 1, TaxClass::Zero)]);
    let mut first = discount("fixed", None, DiscountValue::FixedAmount { amount: 1000 });
    first.priority = 0;
    let mut second = discount("pct", None, pct("10"));
    second.priority = 1;
    case.discounts = vec![second, first];
    assert_eq!(amt(&case.price().totals.discount), "19.00");
}

#[test]
fn an_entered_code_that_does_not_apply_says_why() {
    let mut case = Case::new(fr(), vec![line("a", "A", 2000, 1, TaxClass::Standard)]);
    let mut min = discount("min", Some("BIG50"), pct("10"));
    min.conditions.min_subtotal = Some(5000);
    let mut old = discount("old", Some("SUMMER"), pct("10"));
    old.conditions.ends_at = Some(case.now);
    let mut soon = discount("soon", Some("SOON"), pct("10"));
    soon.conditions.starts_at = Some(case.now + 1);
    let mut us_only = discount("us", Some("USONLY"), pct("10"));
    us_only.conditions.markets = vec!["US".into()];
    let mut used = discount("used", Some("LIMITED"), pct("10"));
    used.limits.total = Some(100);
    let mut once = discount("once", Some("ONCE"), pct("10"));
    once.limits.per_customer = Some(1);
    let mut first = discount("first", Some("FIRST"), pct("10"));
    first.conditions.first_order_only = true;
    let mut knives = discount("knives", Some("KNIVES"), pct("10"));
    knives.items.skus = vec!["KNIFE-20".into()];
    case.discounts = vec![min, old, soon, us_only, used, once, first, knives];
    case.usage.insert(
        "used".into(),
        Usage {
            total: 100,
            by_customer: 0,
        },
    );
    case.codes = [
        "BIG50", "SUMMER", "SOON", "USONLY", "LIMITED", "ONCE", "FIRST", "KNIVES", "NOPE",
    ]
    .map(String::from)
    .to_vec();
    let cart = case.price();
    let reasons: Vec<&str> = cart.codes.iter().map(|c| c.reason.unwrap()).collect();
    assert_eq!(
        reasons,
        [
            "minimum_subtotal",
            "expired",
            "not_started",
            "wrong_market",
            "usage_limit_reached",
            "sign_in_required",
            "sign_in_required",
            "no_eligible_items",
            "unknown_code"
        ]
    );
    assert_eq!(
        cart.codes[0].message,
        "Spend at least 50.00 EUR to use this offer."
    );
    assert_eq!(cart.warnings.len(), 9);
    assert_eq!(amt(&cart.totals.discount), "0.00");
    // Signed in, with one earlier order and one use of ONCE: other reasons.
    case.shopper = Shopper {
        customer_id: Some("cus_1".into()),
        previous_orders: Some(1),
    };
    case.usage.insert(
        "once".into(),
        Usage {
            total: 1,
            by_customer: 1,
        },
    );
    let cart = case.price();
    assert_eq!(cart.codes[5].reason, Some("customer_limit_reached"));
    assert_eq!(cart.codes[6].reason, Some("first_order_only"));
}

#[test]
fn automatic_discounts_apply_without_a_code_and_code_discounts_only_with_theirs() {
    let mut case = Case::new(us(), vec![line("a", "A", 10000, 1, TaxClass::Zero)]);
    case.discounts = vec![
        discount("auto", None, pct("5")),
        discount("coded", Some("SAVE"), pct("10")),
    ];
    assert_eq!(amt(&case.price().totals.discount), "5.00");
    case.codes = vec!["SAVE".into()];
    assert_eq!(amt(&case.price().totals.discount), "14.50");
}

#[test]
fn weight_tier_shipping_uses_the_cart_weight_and_warns_when_too_heavy() {
    let mut case = Case::new(fr(), vec![line("a", "A", 1000, 3, TaxClass::Standard)]); // 300 g
    case.shipping = Some(ShippingMethod {
        id: "tiers".into(),
        name: "Tiers".into(),
        markets: vec![],
        countries: vec![],
        rate: ShippingRate::WeightTiers {
            tiers: vec![
                WeightTier {
                    up_to_grams: 250,
                    amount: 300,
                },
                WeightTier {
                    up_to_grams: 1000,
                    amount: 600,
                },
            ],
        },
    });
    assert_eq!(amt(&case.price().totals.shipping), "6.00");
    case.lines[0].quantity = 20; // 2 kg
    let cart = case.price();
    assert!(cart.shipping.is_none());
    assert!(matches!(
        cart.warnings[0],
        PricingWarning::ShippingUnavailable {
            reason: "too_heavy",
            ..
        }
    ));
}

#[test]
fn zero_decimal_and_three_decimal_currencies_round_to_their_own_minor_unit() {
    let jp = market("JP", "JPY", true, ["10", "8", "0"]);
    let cart = Case::new(jp, vec![line("a", "A", 1980, 3, TaxClass::Reduced)]).price();
    // 5,940 yen inclusive of 8 %: 5940 × 8/108 = 440.
    assert_eq!(amt(&cart.lines[0].tax), "440");
    let kw = market("KW", "KWD", false, ["5", "0", "0"]);
    let cart = Case::new(kw, vec![line("a", "A", 12_345, 1, TaxClass::Standard)]).price();
    // 12.345 × 5 % = 0.61725 -> 0.617.
    assert_eq!(amt(&cart.lines[0].tax), "0.617");
    assert_eq!(amt(&cart.totals.total), "12.962");
}

// ---- properties -------------------------------------------------------------------------

fn arb_case() -> impl Strategy<Value = Case> {
    let lines = proptest::collection::vec((1i64..200_000, 1u32..=999, 0usize..3), 1..30);
    let value = prop_oneof![
        (0u32..=100).prop_map(|p| DiscountValue::Percentage {
            percent: Decimal::from(p)
        }),
        (0i64..500_000).prop_map(|a| DiscountValue::FixedAmount { amount: a }),
        (0i64..100_000).prop_map(|p| DiscountValue::FixedPrice { unit_price: p }),
        Just(DiscountValue::FreeShipping),
        (1u32..4, 1u32..3, 1u32..=100).prop_map(|(b, g, p)| DiscountValue::BuyXGetY {
            buy: b,
            get: g,
            percent: Decimal::from(p)
        }),
    ];
    let discounts =
        proptest::collection::vec((value, any::<bool>(), any::<bool>(), -3i32..3), 0..5);
    (
        lines,
        discounts,
        any::<bool>(),
        any::<bool>(),
        0usize..3,
        0i64..2_000,
    )
        .prop_map(
            |(lines, discounts, inclusive, total_rounding, mode, ship)| {
                let mut m = if inclusive { fr() } else { us() };
                if total_rounding {
                    m.tax_rounding = TaxRounding::Total;
                }
                m.rounding_mode = [
                    RoundingMode::HalfUp,
                    RoundingMode::HalfEven,
                    RoundingMode::HalfDown,
                ][mode];
                let classes = [TaxClass::Standard, TaxClass::Reduced, TaxClass::Zero];
                let lines = lines
                    .into_iter()
                    .enumerate()
                    .map(|(i, (p, q, c))| LineInput {
                        position: i as u32,
                        ..line(
                            &format!("l{i:02}"),
                            &format!("SKU{}", i % 7),
                            p,
                            q,
                            classes[c],
                        )
                    })
                    .collect();
                let mut case = Case::new(m, lines);
                case.discounts = discounts
                    .into_iter()
                    .enumerate()
                    .map(|(i, (value, items, exclusive, priority))| {
                        let mut d = discount(&format!("d{i}"), None, value);
                        if items {
                            d.target = Target::Items;
                            d.items.skus = vec!["SKU1".into(), "SKU3".into()];
                        }
                        if exclusive {
                            d.stacking = Stacking::Exclusive;
                        }
                        d.priority = priority;
                        d
                    })
                    .collect();
                case.shipping = Some(flat("ship", ship));
                case
            },
        )
}

fn minor(m: &crate::domain::money::Money) -> i64 {
    m.minor_units().unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn parts_always_sum_to_the_totals(case in arb_case()) {
        let cart = case.price();
        let t = &cart.totals;
        let sum = |f: fn(&engine::PricedLine) -> i64| cart.lines.iter().map(f).sum::<i64>();
        prop_assert_eq!(sum(|l| minor(&l.subtotal)), minor(&t.subtotal));
        prop_assert_eq!(sum(|l| minor(&l.discount)), minor(&t.discount));
        let ship_tax = cart.shipping.as_ref().map_or(0, |s| minor(&s.tax));
        prop_assert_eq!(sum(|l| minor(&l.tax)) + ship_tax, minor(&t.tax));
        let mut total = minor(&t.subtotal) - minor(&t.discount) + minor(&t.shipping);
        if !case.market.tax_inclusive {
            total += minor(&t.tax);
        }
        prop_assert_eq!(total, minor(&t.total));
        for l in &cart.lines {
            prop_assert_eq!(minor(&l.subtotal), minor(&l.unit_price) * i64::from(l.quantity));
            let mut line_total = minor(&l.subtotal) - minor(&l.discount);
            if !case.market.tax_inclusive {
                line_total += minor(&l.tax);
            }
            prop_assert_eq!(line_total, minor(&l.total));
        }
    }

    #[test]
    fn no_amount_is_ever_negative_and_inclusive_tax_stays_inside_the_gross(case in arb_case()) {
        let cart = case.price();
        for l in &cart.lines {
            for m in [&l.subtotal, &l.discount, &l.tax, &l.total] {
                prop_assert!(minor(m) >= 0);
            }
            prop_assert!(minor(&l.discount) <= minor(&l.subtotal));
            if case.market.tax_inclusive {
                prop_assert!(minor(&l.tax) <= minor(&l.total), "net + tax = gross with net >= 0");
            }
        }
        let t = &cart.totals;
        for m in [&t.subtotal, &t.discount, &t.shipping, &t.tax, &t.total] {
            prop_assert!(minor(m) >= 0);
        }
    }

    #[test]
    fn results_do_not_depend_on_the_order_lines_are_passed_in(case in arb_case(), seed in any::<u64>()) {
        let before = case.price();
        let mut shuffled = Case { lines: case.lines.clone(), ..case };
        // A deterministic shuffle from the seed.
        let n = shuffled.lines.len();
        let mut s = seed;
        for i in (1..n).rev() {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            shuffled.lines.swap(i, (s >> 33) as usize % (i + 1));
        }
        let after = shuffled.price();
        prop_assert_eq!(before, after);
    }

    #[test]
    fn results_do_not_depend_on_the_order_discounts_are_defined_in(case in arb_case(), seed in any::<u64>()) {
        let before = case.price();
        let mut shuffled = Case { discounts: case.discounts.clone(), ..case };
        let n = shuffled.discounts.len();
        let mut s = seed;
        for i in (1..n).rev() {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            shuffled.discounts.swap(i, (s >> 33) as usize % (i + 1));
        }
        prop_assert_eq!(before, shuffled.price());
    }
}
