//! Discounts: what they take off, which items they target, when they apply, how they stack,
//! and why one does not apply (so the storefront can tell the shopper).

use crate::domain::pricing::arith::scaled_rate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// What a discount takes off. Amounts are minor units of the market's currency; percentages
/// have at most 4 decimals.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum DiscountValue {
    /// A percentage of the target (the order, or each eligible line).
    Percentage { percent: Decimal },
    /// An amount off: once off the order, or off each eligible unit.
    FixedAmount { amount: i64 },
    /// Eligible units sold at this unit price (never raised).
    FixedPrice { unit_price: i64 },
    /// The shipping price.
    FreeShipping,
    /// For every `buy + get` eligible units, the `get` cheapest are `percent` off (100 = free).
    BuyXGetY {
        buy: u32,
        get: u32,
        percent: Decimal,
    },
}

/// Where a value lands: spread over the whole order, or on eligible lines only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Target {
    #[default]
    Order,
    Items,
}

/// Which items a discount concerns; both lists empty means every item. SKUs upper-case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct ItemFilter {
    #[serde(default)]
    pub skus: Vec<String>,
    #[serde(default)]
    pub product_ids: Vec<String>,
}

impl ItemFilter {
    pub fn matches(&self, sku: &str, product_id: &str) -> bool {
        (self.skus.is_empty() && self.product_ids.is_empty())
            || self.skus.iter().any(|s| s == sku)
            || self.product_ids.iter().any(|p| p == product_id)
    }
}

/// How a discount combines with others.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Stacking {
    /// Applies alone; chosen only when it beats every combination the shopper could get.
    Exclusive,
    /// Applies together with other combinable discounts, in priority order.
    #[default]
    Combinable,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Conditions {
    /// Merchandise subtotal before discounts, minor units.
    pub min_subtotal: Option<i64>,
    /// Market codes; empty means every market.
    #[serde(default)]
    pub markets: Vec<String>,
    /// Unix seconds; the discount applies from `starts_at` (inclusive) to `ends_at` (exclusive).
    pub starts_at: Option<i64>,
    pub ends_at: Option<i64>,
    /// Only for a signed-in customer's first order.
    #[serde(default)]
    pub first_order_only: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct UsageLimits {
    pub total: Option<u32>,
    pub per_customer: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Discount {
    pub id: String,
    /// Shown to the shopper ("Welcome offer").
    pub title: String,
    /// Upper-case code, or `None` for an automatic discount.
    pub code: Option<String>,
    pub value: DiscountValue,
    #[serde(default)]
    pub target: Target,
    /// For `Target::Items` and buy-X-get-Y: the eligible items. For an order-level value: the
    /// cart must hold at least one such item.
    #[serde(default)]
    pub items: ItemFilter,
    #[serde(default)]
    pub conditions: Conditions,
    #[serde(default)]
    pub limits: UsageLimits,
    #[serde(default)]
    pub stacking: Stacking,
    /// Lower applies first among combinable discounts, and wins ties between options.
    #[serde(default)]
    pub priority: i32,
}

/// How often a discount has been used, as the store counts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Usage {
    pub total: u32,
    pub by_customer: u32,
}

/// What pricing knows about the shopper.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Shopper {
    pub customer_id: Option<String>,
    /// Orders the signed-in customer placed before; `None` for a guest.
    pub previous_orders: Option<u32>,
}

/// Why a discount does not apply. `code()` is the stable `details.reason` of the API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotApplicable {
    UnknownCode,
    NotStarted,
    Expired,
    WrongMarket,
    MinimumSubtotal {
        minimum: i64,
    },
    NoEligibleItems,
    FirstOrderOnly,
    SignInRequired,
    UsageLimitReached,
    CustomerLimitReached,
    /// Beaten by a better deal it cannot combine with.
    NotCombinable {
        with: String,
    },
    /// Conditions hold but there is nothing to take off (no shipping yet, too few units…).
    NothingToDiscount,
    InvalidValue,
}

impl NotApplicable {
    pub fn code(&self) -> &'static str {
        match self {
            NotApplicable::UnknownCode => "unknown_code",
            NotApplicable::NotStarted => "not_started",
            NotApplicable::Expired => "expired",
            NotApplicable::WrongMarket => "wrong_market",
            NotApplicable::MinimumSubtotal { .. } => "minimum_subtotal",
            NotApplicable::NoEligibleItems => "no_eligible_items",
            NotApplicable::FirstOrderOnly => "first_order_only",
            NotApplicable::SignInRequired => "sign_in_required",
            NotApplicable::UsageLimitReached => "usage_limit_reached",
            NotApplicable::CustomerLimitReached => "customer_limit_reached",
            NotApplicable::NotCombinable { .. } => "not_combinable",
            NotApplicable::NothingToDiscount => "nothing_to_discount",
            NotApplicable::InvalidValue => "invalid_value",
        }
    }

    /// A sentence for the shopper; `format_money` renders an amount of the cart's currency.
    pub fn message(&self, format_money: &dyn Fn(i64) -> String) -> String {
        match self {
            NotApplicable::UnknownCode => "This code does not exist.".into(),
            NotApplicable::NotStarted => "This offer has not started yet.".into(),
            NotApplicable::Expired => "This offer has ended.".into(),
            NotApplicable::WrongMarket => "This offer is not available in this market.".into(),
            NotApplicable::MinimumSubtotal { minimum } => {
                format!(
                    "Spend at least {} to use this offer.",
                    format_money(*minimum)
                )
            }
            NotApplicable::NoEligibleItems => {
                "No item in the cart is eligible for this offer.".into()
            }
            NotApplicable::FirstOrderOnly => "This offer is for a first order only.".into(),
            NotApplicable::SignInRequired => "Sign in to use this offer.".into(),
            NotApplicable::UsageLimitReached => "This offer has been fully redeemed.".into(),
            NotApplicable::CustomerLimitReached => "You have already used this offer.".into(),
            NotApplicable::NotCombinable { with } => {
                format!("This offer cannot be combined with {with}, which saves you more.")
            }
            NotApplicable::NothingToDiscount => {
                "There is nothing in the cart for this offer to take off yet.".into()
            }
            NotApplicable::InvalidValue => "This offer is misconfigured.".into(),
        }
    }
}

impl Discount {
    /// The conditions that do not depend on the other discounts: dates, market, minimum,
    /// eligible items, first order, usage limits.
    pub fn check(
        &self,
        market: &str,
        now: i64,
        subtotal: i128,
        has_eligible_item: bool,
        shopper: &Shopper,
        usage: Usage,
    ) -> Result<(), NotApplicable> {
        if !self.value_is_valid() {
            return Err(NotApplicable::InvalidValue);
        }
        let c = &self.conditions;
        if c.starts_at.is_some_and(|s| now < s) {
            return Err(NotApplicable::NotStarted);
        }
        if c.ends_at.is_some_and(|e| now >= e) {
            return Err(NotApplicable::Expired);
        }
        if !c.markets.is_empty() && !c.markets.iter().any(|m| m == market) {
            return Err(NotApplicable::WrongMarket);
        }
        if let Some(limit) = self.limits.total {
            if usage.total >= limit {
                return Err(NotApplicable::UsageLimitReached);
            }
        }
        if let Some(limit) = self.limits.per_customer {
            if shopper.customer_id.is_none() {
                return Err(NotApplicable::SignInRequired);
            }
            if usage.by_customer >= limit {
                return Err(NotApplicable::CustomerLimitReached);
            }
        }
        if c.first_order_only {
            match shopper.previous_orders {
                None => return Err(NotApplicable::SignInRequired),
                Some(n) if n > 0 => return Err(NotApplicable::FirstOrderOnly),
                Some(_) => {}
            }
        }
        if let Some(min) = c.min_subtotal {
            if subtotal < i128::from(min) {
                return Err(NotApplicable::MinimumSubtotal { minimum: min });
            }
        }
        if !has_eligible_item && self.value != DiscountValue::FreeShipping {
            return Err(NotApplicable::NoEligibleItems);
        }
        Ok(())
    }

    fn value_is_valid(&self) -> bool {
        let pct_ok = |p: &Decimal| scaled_rate(*p).is_some_and(|r| r <= 100 * 10_000);
        match &self.value {
            DiscountValue::Percentage { percent } => pct_ok(percent),
            DiscountValue::FixedAmount { amount } => *amount >= 0,
            DiscountValue::FixedPrice { unit_price } => *unit_price >= 0,
            DiscountValue::FreeShipping => true,
            DiscountValue::BuyXGetY { buy, get, percent } => {
                *buy >= 1 && *get >= 1 && pct_ok(percent)
            }
        }
    }

    /// A short description of what it gives ("10% off the order").
    pub fn describe(&self, format_money: &dyn Fn(i64) -> String) -> String {
        let scope = match self.target {
            Target::Order => "the order",
            Target::Items => "eligible items",
        };
        match &self.value {
            DiscountValue::Percentage { percent } => {
                format!("{}% off {scope}", percent.normalize())
            }
            DiscountValue::FixedAmount { amount } => match self.target {
                Target::Order => format!("{} off the order", format_money(*amount)),
                Target::Items => format!("{} off each eligible item", format_money(*amount)),
            },
            DiscountValue::FixedPrice { unit_price } => {
                format!("Eligible items at {} each", format_money(*unit_price))
            }
            DiscountValue::FreeShipping => "Free shipping".into(),
            DiscountValue::BuyXGetY { buy, get, percent } => {
                if *percent == Decimal::ONE_HUNDRED {
                    format!("Buy {buy}, get {get} free")
                } else {
                    format!("Buy {buy}, get {get} at {}% off", percent.normalize())
                }
            }
        }
    }
}
