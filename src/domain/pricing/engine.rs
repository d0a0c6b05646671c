//! The pricing engine: one pure, deterministic function from a cart's lines, its market, its
//! discounts and its shipping method to every amount the shopper sees and pays.
//!
//! Order of work, each step exact in integer minor units:
//! 1. `subtotal = unit price × quantity` per line.
//! 2. Discounts: each candidate's conditions; then the best deal the rules allow (all
//!    combinable discounts together, or one exclusive discount alone, whichever saves more).
//!    Order-level amounts are spread over lines by largest remainder; no line goes negative.
//! 3. Shipping priced on the discounted merchandise, then any free-shipping discount.
//! 4. Tax per line (shipping at the standard rate), rounded per line or per rate total as the
//!    market says. Tax-inclusive: net + tax = gross exactly. Tax-exclusive: tax on top.

use crate::domain::market::{Market, RoundingMode, TaxClass, TaxRounding};
use crate::domain::money::{Currency, Money, MoneyError};
use crate::domain::pricing::arith::{allocate, percent_of, scaled_rate, tax_in_gross};
use crate::domain::pricing::discount::{
    Discount, DiscountValue, NotApplicable, Shopper, Stacking, Target, Usage,
};
use crate::domain::pricing::shipping::{ShippingMethod, ShippingUnavailable};
use std::collections::BTreeMap;

/// A cart line as pricing sees it: the catalog's unit price, never the client's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineInput {
    pub id: String,
    /// The line's place in the cart (order added). Lines are priced and returned in this
    /// order, whatever order they are passed in, and allocation ties go to the earlier line.
    pub position: u32,
    pub sku: String,
    pub product_id: String,
    /// Minor units of the market's currency.
    pub unit_price: i64,
    pub quantity: u32,
    pub tax_class: TaxClass,
    pub weight_grams: i64,
}

/// Everything one pricing needs. `discounts` are the automatic ones plus any whose code was
/// entered (others are ignored).
pub struct PricingRequest<'a> {
    pub market: &'a Market,
    pub lines: &'a [LineInput],
    /// Codes the shopper entered, upper-case, in the order entered.
    pub codes: &'a [String],
    pub discounts: &'a [Discount],
    /// Usage counts by discount id (absent: never used).
    pub usage: &'a BTreeMap<String, Usage>,
    pub shopper: &'a Shopper,
    /// Unix seconds.
    pub now: i64,
    pub shipping: Option<&'a ShippingMethod>,
    /// The shipping address's country, when known.
    pub country: Option<&'a str>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PricedLine {
    pub id: String,
    pub unit_price: Money,
    pub quantity: u32,
    pub subtotal: Money,
    pub discount: Money,
    pub tax: Money,
    pub total: Money,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PricedShipping {
    pub method_id: String,
    pub name: String,
    /// The method's price before any shipping discount.
    pub price: Money,
    pub discount: Money,
    pub tax: Money,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Totals {
    pub subtotal: Money,
    pub discount: Money,
    /// Shipping after any shipping discount (tax included in tax-inclusive markets).
    pub shipping: Money,
    pub tax: Money,
    pub total: Money,
}

/// A discount in the chosen deal and what it saved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppliedDiscount {
    pub id: String,
    pub code: Option<String>,
    pub title: String,
    pub amount: Money,
    pub explanation: String,
}

/// An entered code and whether it applies, with the reason when it does not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeResult {
    pub code: String,
    pub applicable: bool,
    pub message: String,
    /// `details.reason` when not applicable.
    pub reason: Option<&'static str>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PricingWarning {
    DiscountNotApplicable {
        code: String,
        reason: &'static str,
        message: String,
    },
    ShippingUnavailable {
        method_id: String,
        reason: &'static str,
        message: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PricedCart {
    pub currency: Currency,
    pub lines: Vec<PricedLine>,
    pub shipping: Option<PricedShipping>,
    pub totals: Totals,
    pub applied: Vec<AppliedDiscount>,
    pub codes: Vec<CodeResult>,
    pub warnings: Vec<PricingWarning>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PricingError {
    /// A tax rate of the market has more than 4 decimals or is missing for a class in use.
    BadTaxRate(TaxClass),
    /// An amount beyond what money can hold exactly.
    OutOfRange,
}

impl From<MoneyError> for PricingError {
    fn from(_: MoneyError) -> Self {
        PricingError::OutOfRange
    }
}

/// One evaluated deal: per-line discounts, the shipping discount, and who gave what.
struct Deal<'d> {
    line_discounts: Vec<i128>,
    shipping_discount: i128,
    shipping_price: Option<i128>,
    applied: Vec<(&'d Discount, i128)>,
    empty: Vec<&'d Discount>,
}

impl Deal<'_> {
    fn savings(&self) -> i128 {
        self.line_discounts.iter().sum::<i128>() + self.shipping_discount
    }
}

pub fn price(req: &PricingRequest<'_>) -> Result<PricedCart, PricingError> {
    let mut sorted: Vec<&LineInput> = req.lines.iter().collect();
    sorted.sort_by(|a, b| a.position.cmp(&b.position).then(a.id.cmp(&b.id)));
    let lines = sorted.as_slice();
    let currency = req.market.currency;
    let mode = req.market.rounding_mode;
    let money = |minor: i128| -> Result<Money, PricingError> {
        let minor = i64::try_from(minor).map_err(|_| PricingError::OutOfRange)?;
        Ok(Money::from_minor(minor, currency)?)
    };
    let fmt = |minor: i64| crate::domain::money::describe(minor, currency);

    let subtotals: Vec<i128> = lines
        .iter()
        .map(|l| i128::from(l.unit_price) * i128::from(l.quantity))
        .collect();
    let subtotal: i128 = subtotals.iter().sum();

    // 1. Which discounts may apply at all; entered codes that match none are reported.
    let mut codes: Vec<CodeResult> = Vec::new();
    let mut refusals: BTreeMap<&str, NotApplicable> = BTreeMap::new();
    let mut eligible: Vec<&Discount> = Vec::new();
    for d in req.discounts {
        if let Some(code) = &d.code {
            if !req.codes.contains(code) {
                continue; // a code discount applies only when entered
            }
        }
        let has_item = lines.iter().any(|l| d.items.matches(&l.sku, &l.product_id));
        let usage = req.usage.get(&d.id).copied().unwrap_or_default();
        match d.check(
            &req.market.code,
            req.now,
            subtotal,
            has_item,
            req.shopper,
            usage,
        ) {
            Ok(()) => eligible.push(d),
            Err(why) => {
                refusals.insert(&d.id, why);
            }
        }
    }
    eligible.sort_by(|a, b| a.priority.cmp(&b.priority).then(a.id.cmp(&b.id)));

    // 2. The best deal: all combinable together, or one exclusive alone.
    let combinable: Vec<&Discount> = eligible
        .iter()
        .copied()
        .filter(|d| d.stacking == Stacking::Combinable)
        .collect();
    let mut best = evaluate(req, lines, &subtotals, &combinable, mode);
    for exclusive in eligible
        .iter()
        .filter(|d| d.stacking == Stacking::Exclusive)
    {
        let option = evaluate(req, lines, &subtotals, &[*exclusive], mode);
        if option.savings() > best.savings() {
            best = option;
        }
    }
    let winner_name = best
        .applied
        .iter()
        .max_by_key(|(_, amount)| *amount)
        .map(|(d, _)| d.code.clone().unwrap_or_else(|| d.title.clone()));
    for d in &eligible {
        let in_deal = best.applied.iter().any(|(a, _)| a.id == d.id);
        if in_deal {
            continue;
        }
        let why = if best.empty.iter().any(|e| e.id == d.id) {
            NotApplicable::NothingToDiscount
        } else {
            NotApplicable::NotCombinable {
                with: winner_name
                    .clone()
                    .unwrap_or_else(|| "another offer".into()),
            }
        };
        refusals.insert(&d.id, why);
    }

    // Report every entered code, in the order entered.
    let mut warnings = Vec::new();
    for code in req.codes {
        let discount = req
            .discounts
            .iter()
            .find(|d| d.code.as_deref() == Some(code));
        let (applicable, message, reason) = match discount {
            None => {
                let why = NotApplicable::UnknownCode;
                (false, why.message(&fmt), Some(why.code()))
            }
            Some(d) => match refusals.get(d.id.as_str()) {
                Some(why) => (false, why.message(&fmt), Some(why.code())),
                None => (true, d.describe(&fmt), None),
            },
        };
        if let (false, Some(reason)) = (applicable, reason) {
            warnings.push(PricingWarning::DiscountNotApplicable {
                code: code.clone(),
                reason,
                message: message.clone(),
            });
        }
        codes.push(CodeResult {
            code: code.clone(),
            applicable,
            message,
            reason,
        });
    }

    // 3. Shipping.
    let mut shipping = None;
    if let (Some(method), None) = (req.shipping, best.shipping_price) {
        let merchandise = subtotal - best.line_discounts.iter().sum::<i128>();
        if let Err(why) = method.price(
            &req.market.code,
            req.country,
            total_weight(lines),
            merchandise,
        ) {
            let (reason, message) = match why {
                ShippingUnavailable::Market => (
                    "wrong_market",
                    "This shipping method is not available in this market.".to_string(),
                ),
                ShippingUnavailable::Country => (
                    "wrong_country",
                    "This shipping method does not deliver to this country.".to_string(),
                ),
                ShippingUnavailable::TooHeavy { max_grams } => (
                    "too_heavy",
                    format!("This shipping method carries up to {max_grams} g."),
                ),
            };
            warnings.push(PricingWarning::ShippingUnavailable {
                method_id: method.id.clone(),
                reason,
                message,
            });
        }
    }
    let shipping_net = best.shipping_price.map(|p| p - best.shipping_discount);

    // 4. Tax.
    let mut taxable: Vec<(i128, TaxClass)> = Vec::with_capacity(lines.len() + 1);
    for (i, line) in lines.iter().enumerate() {
        taxable.push((subtotals[i] - best.line_discounts[i], line.tax_class));
    }
    if let Some(net) = shipping_net {
        taxable.push((net, TaxClass::Standard));
    }
    let taxes = taxes_of(req.market, &taxable)?;

    let mut priced = Vec::with_capacity(lines.len());
    for (i, line) in lines.iter().enumerate() {
        let after = taxable[i].0;
        let tax = taxes[i];
        let total = if req.market.tax_inclusive {
            after
        } else {
            after + tax
        };
        priced.push(PricedLine {
            id: line.id.clone(),
            unit_price: money(i128::from(line.unit_price))?,
            quantity: line.quantity,
            subtotal: money(subtotals[i])?,
            discount: money(best.line_discounts[i])?,
            tax: money(tax)?,
            total: money(total)?,
        });
    }
    let shipping_tax = if shipping_net.is_some() {
        taxes[lines.len()]
    } else {
        0
    };
    if let (Some(method), Some(price)) = (req.shipping, best.shipping_price) {
        shipping = Some(PricedShipping {
            method_id: method.id.clone(),
            name: method.name.clone(),
            price: money(price)?,
            discount: money(best.shipping_discount)?,
            tax: money(shipping_tax)?,
        });
    }
    let discount_total: i128 = best.line_discounts.iter().sum();
    let tax_total: i128 = taxes.iter().sum();
    let shipping_total = shipping_net.unwrap_or(0);
    let mut grand = subtotal - discount_total + shipping_total;
    if !req.market.tax_inclusive {
        grand += tax_total;
    }
    let applied = best
        .applied
        .iter()
        .map(|(d, amount)| {
            Ok(AppliedDiscount {
                id: d.id.clone(),
                code: d.code.clone(),
                title: d.title.clone(),
                amount: money(*amount)?,
                explanation: d.describe(&fmt),
            })
        })
        .collect::<Result<Vec<_>, PricingError>>()?;
    Ok(PricedCart {
        currency,
        lines: priced,
        shipping,
        totals: Totals {
            subtotal: money(subtotal)?,
            discount: money(discount_total)?,
            shipping: money(shipping_total)?,
            tax: money(tax_total)?,
            total: money(grand)?,
        },
        applied,
        codes,
        warnings,
    })
}

fn total_weight(lines: &[&LineInput]) -> i64 {
    lines
        .iter()
        .map(|l| l.weight_grams.saturating_mul(i64::from(l.quantity)))
        .fold(0i64, i64::saturating_add)
}

/// Applies `discounts` in order on the remaining amounts, then prices shipping on what is left.
fn evaluate<'d>(
    req: &PricingRequest<'_>,
    lines: &[&LineInput],
    subtotals: &[i128],
    discounts: &[&'d Discount],
    mode: RoundingMode,
) -> Deal<'d> {
    let mut remaining: Vec<i128> = subtotals.to_vec();
    let mut applied: Vec<(&Discount, i128)> = Vec::new();
    let mut empty: Vec<&Discount> = Vec::new();
    let mut free_shipping: Vec<&Discount> = Vec::new();
    for d in discounts {
        if d.value == DiscountValue::FreeShipping {
            free_shipping.push(d);
            continue;
        }
        let parts = line_amounts(lines, &remaining, d, mode);
        let amount: i128 = parts.iter().sum();
        if amount == 0 {
            empty.push(d);
            continue;
        }
        for (r, p) in remaining.iter_mut().zip(&parts) {
            *r -= p;
        }
        applied.push((d, amount));
    }
    let line_discounts: Vec<i128> = subtotals
        .iter()
        .zip(&remaining)
        .map(|(s, r)| s - r)
        .collect();
    let merchandise: i128 = remaining.iter().sum();
    let shipping_price = req.shipping.and_then(|m| {
        m.price(
            &req.market.code,
            req.country,
            total_weight(lines),
            merchandise,
        )
        .ok()
    });
    let mut shipping_discount = 0;
    for d in free_shipping {
        match shipping_price {
            Some(price) if price - shipping_discount > 0 => {
                let amount = price - shipping_discount;
                shipping_discount += amount;
                applied.push((d, amount));
            }
            _ => empty.push(d),
        }
    }
    Deal {
        line_discounts,
        shipping_discount,
        shipping_price,
        applied,
        empty,
    }
}

/// What one discount takes off each line, given what is left of each line.
fn line_amounts(
    lines: &[&LineInput],
    remaining: &[i128],
    d: &Discount,
    mode: RoundingMode,
) -> Vec<i128> {
    let eligible: Vec<bool> = lines
        .iter()
        .map(|l| d.items.matches(&l.sku, &l.product_id))
        .collect();
    let mut parts = vec![0i128; lines.len()];
    match (&d.value, d.target) {
        (DiscountValue::Percentage { percent }, Target::Order) => {
            let rate = scaled_rate(*percent).unwrap_or(0);
            let base: i128 = remaining.iter().sum();
            parts = allocate(percent_of(base, rate, mode).min(base), remaining);
        }
        (DiscountValue::FixedAmount { amount }, Target::Order) => {
            let base: i128 = remaining.iter().sum();
            parts = allocate(i128::from(*amount).min(base), remaining);
        }
        (DiscountValue::Percentage { percent }, Target::Items) => {
            let rate = scaled_rate(*percent).unwrap_or(0);
            for i in 0..lines.len() {
                if eligible[i] {
                    parts[i] = percent_of(remaining[i], rate, mode).min(remaining[i]);
                }
            }
        }
        (DiscountValue::FixedAmount { amount }, Target::Items) => {
            for (i, line) in lines.iter().enumerate() {
                if eligible[i] {
                    parts[i] = (i128::from(*amount) * i128::from(line.quantity)).min(remaining[i]);
                }
            }
        }
        (DiscountValue::FixedPrice { unit_price }, _) => {
            for (i, line) in lines.iter().enumerate() {
                if eligible[i] {
                    let off = (i128::from(line.unit_price) - i128::from(*unit_price)).max(0);
                    parts[i] = (off * i128::from(line.quantity)).min(remaining[i]);
                }
            }
        }
        (DiscountValue::BuyXGetY { buy, get, percent }, _) => {
            let rate = scaled_rate(*percent).unwrap_or(0);
            // Every eligible unit, cheapest first (stable: earlier lines first on equal prices).
            let mut units: Vec<(i128, usize)> = Vec::new();
            for (i, line) in lines.iter().enumerate() {
                if eligible[i] {
                    units.extend(std::iter::repeat_n(
                        (i128::from(line.unit_price), i),
                        line.quantity as usize,
                    ));
                }
            }
            units.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(&b.1)));
            let group = i128::from(*buy) + i128::from(*get);
            let free = (units.len() as i128 / group) * i128::from(*get);
            for &(price, i) in units.iter().take(free as usize) {
                parts[i] += percent_of(price, rate, mode);
            }
            for i in 0..lines.len() {
                parts[i] = parts[i].min(remaining[i]);
            }
        }
        (DiscountValue::FreeShipping, _) => {}
    }
    parts
}

/// Tax of each taxable amount `(amount, scaled rate)`: per line, or rounded once per rate and
/// spread back over its lines by largest remainder.
fn compute_taxes(
    taxable: &[(i128, i128)],
    inclusive: bool,
    rounding: TaxRounding,
    mode: RoundingMode,
) -> Vec<i128> {
    let one = |amount: i128, rate: i128| {
        if inclusive {
            tax_in_gross(amount, rate, mode)
        } else {
            percent_of(amount, rate, mode)
        }
    };
    match rounding {
        TaxRounding::Line => taxable.iter().map(|&(a, r)| one(a, r)).collect(),
        TaxRounding::Total => {
            let mut taxes = vec![0i128; taxable.len()];
            let mut rates: Vec<i128> = taxable.iter().map(|&(_, r)| r).collect();
            rates.sort_unstable();
            rates.dedup();
            for rate in rates {
                let members: Vec<usize> = (0..taxable.len())
                    .filter(|&i| taxable[i].1 == rate)
                    .collect();
                let weights: Vec<i128> = members.iter().map(|&i| taxable[i].0).collect();
                let group_tax = one(weights.iter().sum(), rate);
                for (k, part) in allocate(group_tax, &weights).into_iter().enumerate() {
                    taxes[members[k]] = part;
                }
            }
            taxes
        }
    }
}

/// The tax of each `(amount, tax class)` by `market`'s rules (its rates, inclusive or not,
/// rounding per line or per rate): what a channel charged, taxed as a cart would be (an
/// imported order's lines, then its shipping at the standard rate).
pub fn taxes_of(market: &Market, amounts: &[(i128, TaxClass)]) -> Result<Vec<i128>, PricingError> {
    let mut taxable = Vec::with_capacity(amounts.len());
    for &(amount, class) in amounts {
        let rate = market
            .tax_rates
            .get(&class)
            .and_then(|r| scaled_rate(*r))
            .ok_or(PricingError::BadTaxRate(class))?;
        taxable.push((amount, rate));
    }
    Ok(compute_taxes(
        &taxable,
        market.tax_inclusive,
        market.tax_rounding,
        market.rounding_mode,
    ))
}
