//! Shipping methods and discounts as the back office defines them: amounts per market (each in
//! that market's currency), parsed strictly from admin bodies, stored as JSON, and turned into
//! the pricing engine's per-market types when a cart is priced.

use crate::domain::fields::{FieldError, Fields};
use crate::domain::money::{Currency, Money};
use crate::domain::pricing::arith::scaled_rate;
use crate::domain::pricing::{
    Conditions, Discount, DiscountValue, ItemFilter, ShippingMethod, ShippingRate, Stacking,
    Target, UsageLimits, WeightTier,
};
use crate::domain::product::{money, normalize_sku};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// Market code -> currency, to check amounts against.
pub type Markets = BTreeMap<String, Currency>;

fn market_money(
    value: &Value,
    path: &str,
    market: &str,
    markets: &Markets,
) -> Result<i64, FieldError> {
    let currency = markets
        .get(market)
        .ok_or_else(|| FieldError::new(path, format!("there is no market {market}")))?;
    let m = money(value, path)?;
    if m.currency() != *currency {
        return Err(FieldError::new(
            format!("{path}.currency"),
            format!("market {market} prices in {currency}"),
        ));
    }
    m.minor_units()
        .map_err(|e| FieldError::new(format!("{path}.amount"), e.to_string()))
}

fn per_market(
    f: &Fields<'_>,
    name: &str,
    markets: &Markets,
) -> Result<BTreeMap<String, i64>, FieldError> {
    let mut out = BTreeMap::new();
    for (market, value, path) in f.entries(name)? {
        out.insert(
            market.to_string(),
            market_money(value, &path, market, markets)?,
        );
    }
    if out.is_empty() {
        return Err(FieldError::new(
            f.path(name),
            "give an amount for at least one market",
        ));
    }
    Ok(out)
}

fn money_json(minor: i64, market: &str, markets: &Markets) -> Value {
    match markets
        .get(market)
        .and_then(|c| Money::from_minor(minor, *c).ok())
    {
        Some(m) => json!(m),
        None => json!({ "amount_minor": minor }),
    }
}

fn title(f: &Fields<'_>, name: &str) -> Result<String, FieldError> {
    let t = f.string(name)?.trim().to_string();
    if t.is_empty() || t.chars().count() > 100 {
        return Err(FieldError::new(f.path(name), "must be 1 to 100 characters"));
    }
    Ok(t)
}

fn countries(f: &Fields<'_>) -> Result<Vec<String>, FieldError> {
    let list = f.opt_string_list("countries", 250)?.unwrap_or_default();
    for (i, c) in list.iter().enumerate() {
        if c.len() != 2 || !c.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(FieldError::new(
                format!("countries[{i}]"),
                "must be an ISO 3166-1 alpha-2 code",
            ));
        }
    }
    Ok(list.into_iter().map(str::to_string).collect())
}

// ---- shipping ----------------------------------------------------------------------------

pub const SHIPPING_FIELDS: &[&str] = &["name", "countries", "rates", "enabled", "location_id"];

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShippingDef {
    pub id: String,
    pub name: String,
    pub countries: Vec<String>,
    pub rates: BTreeMap<String, ShippingRate>,
    pub enabled: bool,
    /// A pickup method: the store (a location with `pickup`) the shopper collects from, whose
    /// stock alone serves its orders.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location_id: Option<String>,
}

impl ShippingDef {
    /// The method as pricing sees it in `market`; `None` when it has no rate there or is off.
    pub fn for_market(&self, market: &str) -> Option<ShippingMethod> {
        let rate = self.rates.get(market).filter(|_| self.enabled)?;
        Some(ShippingMethod {
            id: self.id.clone(),
            name: self.name.clone(),
            markets: vec![market.to_string()],
            countries: self.countries.clone(),
            rate: rate.clone(),
        })
    }

    /// Checks that method `id` (its definition `def`, as read for that id) may be chosen for a
    /// cart or a draft in `market` shipping to `country`: offered there, and delivering there.
    pub fn check_choice(
        id: &str,
        def: Option<&ShippingDef>,
        market: &str,
        country: Option<&str>,
    ) -> Result<(), crate::domain::fields::FieldError> {
        use crate::domain::fields::FieldError;
        let offered = def
            .filter(|d| d.id == id)
            .and_then(|d| d.for_market(market));
        let Some(method) = offered else {
            return Err(FieldError::new(
                "shipping_method",
                format!("shipping method `{id}` is not offered in market {market}"),
            ));
        };
        match country {
            Some(c) if !method.countries.is_empty() && !method.countries.iter().any(|m| m == c) => {
                Err(FieldError::new(
                    "shipping_method",
                    format!("shipping method `{id}` does not deliver to {c}"),
                ))
            }
            _ => Ok(()),
        }
    }

    /// The admin API's view (amounts as money objects).
    pub fn view(&self, markets: &Markets) -> Value {
        let rates: BTreeMap<&String, Value> = self
            .rates
            .iter()
            .map(|(m, r)| {
                let v = match r {
                    ShippingRate::Flat { amount } => json!({"type": "flat", "amount": money_json(*amount, m, markets)}),
                    ShippingRate::FreeOver { amount, threshold } => json!({"type": "free_over",
                        "amount": money_json(*amount, m, markets), "threshold": money_json(*threshold, m, markets)}),
                    ShippingRate::WeightTiers { tiers } => json!({"type": "weight_tiers", "tiers": tiers.iter()
                        .map(|t| json!({"up_to_grams": t.up_to_grams, "amount": money_json(t.amount, m, markets)}))
                        .collect::<Vec<_>>()}),
                };
                (m, v)
            })
            .collect();
        json!({"id": self.id, "name": self.name, "countries": self.countries, "rates": rates, "enabled": self.enabled,
               "location_id": self.location_id})
    }
}

pub fn shipping_from_request(
    id: &str,
    f: &Fields<'_>,
    markets: &Markets,
) -> Result<ShippingDef, FieldError> {
    let name = title(f, "name")?;
    let countries = countries(f)?;
    let mut rates = BTreeMap::new();
    let entries = f.entries("rates")?;
    if entries.is_empty() {
        return Err(FieldError::new(
            "rates",
            "give a rate for at least one market",
        ));
    }
    for (market, value, path) in entries {
        let obj = value
            .as_object()
            .ok_or_else(|| FieldError::new(path.clone(), "must be an object with a type"))?;
        let r = Fields::nested(obj, path.clone());
        let money = |f: &Fields, name: &str| {
            market_money(
                f.entries_value(name).unwrap_or(&Value::Null),
                &f.path(name),
                market,
                markets,
            )
        };
        let rate = match r.string("type")? {
            "flat" => {
                r.only(&["type", "amount"])?;
                ShippingRate::Flat {
                    amount: money(&r, "amount")?,
                }
            }
            "free_over" => {
                r.only(&["type", "amount", "threshold"])?;
                ShippingRate::FreeOver {
                    amount: money(&r, "amount")?,
                    threshold: money(&r, "threshold")?,
                }
            }
            "weight_tiers" => {
                r.only(&["type", "tiers"])?;
                let mut tiers = Vec::new();
                for t in r.objects("tiers", 1, 20)? {
                    t.only(&["up_to_grams", "amount"])?;
                    let up_to_grams = t.int("up_to_grams", 1..=10_000_000)?;
                    if tiers
                        .iter()
                        .any(|x: &WeightTier| x.up_to_grams == up_to_grams)
                    {
                        return Err(FieldError::new(
                            t.path("up_to_grams"),
                            "two tiers have the same limit",
                        ));
                    }
                    let amount = money(&t, "amount")?;
                    tiers.push(WeightTier {
                        up_to_grams,
                        amount,
                    });
                }
                tiers.sort_by_key(|t| t.up_to_grams);
                ShippingRate::WeightTiers { tiers }
            }
            _ => {
                return Err(FieldError::new(
                    r.path("type"),
                    "must be flat, free_over or weight_tiers",
                ))
            }
        };
        rates.insert(market.to_string(), rate);
    }
    Ok(ShippingDef {
        id: id.to_string(),
        name,
        countries,
        rates,
        enabled: f.opt_bool("enabled")?.unwrap_or(true),
        location_id: match f.opt_string("location_id")? {
            None => None,
            Some(l) if crate::domain::stock::is_location_id(l) => Some(l.to_string()),
            Some(_) => {
                return Err(FieldError::new(
                    "location_id",
                    "must be the id of a pickup location",
                ))
            }
        },
    })
}

// ---- discounts ---------------------------------------------------------------------------

pub const DISCOUNT_FIELDS: &[&str] = &[
    "title",
    "code",
    "kind",
    "value",
    "target",
    "items",
    "conditions",
    "starts_at",
    "ends_at",
    "usage_limit",
    "usage_limit_per_customer",
    "stacking",
    "priority",
    "enabled",
];

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum DefValue {
    Percentage {
        percent: Decimal,
    },
    FixedAmount {
        amounts: BTreeMap<String, i64>,
    },
    FixedPrice {
        unit_prices: BTreeMap<String, i64>,
    },
    FreeShipping,
    BuyXGetY {
        buy: u32,
        get: u32,
        percent: Decimal,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DiscountDef {
    pub id: String,
    pub title: String,
    pub code: Option<String>,
    pub value: DefValue,
    pub target: Target,
    pub items: ItemFilter,
    pub min_subtotal: BTreeMap<String, i64>,
    pub markets: Vec<String>,
    pub first_order_only: bool,
    /// Unix seconds.
    pub starts_at: Option<i64>,
    pub ends_at: Option<i64>,
    pub usage_limit: Option<u32>,
    pub usage_limit_per_customer: Option<u32>,
    pub stacking: Stacking,
    pub priority: i32,
    pub enabled: bool,
}

/// Discount codes: 1 to 32 of A-Z 0-9 `-` `_`, compared upper-case.
pub fn normalize_code(raw: &str) -> Option<String> {
    let code = raw.trim().to_ascii_uppercase();
    ((1..=32).contains(&code.len())
        && code
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-' || b == b'_'))
    .then_some(code)
}

fn percent(v: &Value, path: &str) -> Result<Decimal, FieldError> {
    let s = v
        .as_str()
        .ok_or_else(|| FieldError::new(path, "must be a decimal string such as \"10\""))?;
    let ok = !s.is_empty()
        && s.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        && !s.starts_with('.')
        && !s.ends_with('.');
    let d: Decimal = s
        .parse()
        .ok()
        .filter(|_| ok)
        .ok_or_else(|| FieldError::new(path, "must be a decimal string such as \"10\""))?;
    if d.is_zero() || d > Decimal::ONE_HUNDRED || scaled_rate(d).is_none() {
        return Err(FieldError::new(
            path,
            "must be more than 0 and at most 100, with at most 4 decimals",
        ));
    }
    Ok(d.normalize())
}

fn timestamp(f: &Fields<'_>, name: &str) -> Result<Option<i64>, FieldError> {
    match f.opt_string(name)? {
        None => Ok(None),
        Some(s) => chrono::DateTime::parse_from_rfc3339(s)
            .map(|d| Some(d.timestamp()))
            .map_err(|_| {
                FieldError::new(
                    f.path(name),
                    "must be an RFC 3339 timestamp such as 2026-12-01T00:00:00Z",
                )
            }),
    }
}

pub fn discount_from_request(
    id: &str,
    f: &Fields<'_>,
    markets: &Markets,
) -> Result<DiscountDef, FieldError> {
    let title = title(f, "title")?;
    let code = match f.opt_string("code")? {
        None => None,
        Some(raw) => Some(
            normalize_code(raw)
                .ok_or_else(|| FieldError::new("code", "must be 1 to 32 of A-Z, 0-9, - and _"))?,
        ),
    };
    let value_json = f.entries_value("value");
    let value = match f.string("kind")? {
        "percentage" => DefValue::Percentage {
            percent: percent(value_json.unwrap_or(&Value::Null), "value")?,
        },
        "fixed_amount" => DefValue::FixedAmount {
            amounts: per_market(f, "value", markets)?,
        },
        "fixed_price" => DefValue::FixedPrice {
            unit_prices: per_market(f, "value", markets)?,
        },
        "free_shipping" => {
            if value_json.is_some() {
                return Err(FieldError::new("value", "free_shipping takes no value"));
            }
            DefValue::FreeShipping
        }
        "buy_x_get_y" => {
            let v = f.object("value")?;
            v.only(&["buy", "get", "percent"])?;
            DefValue::BuyXGetY {
                buy: v.int("buy", 1..=100)? as u32,
                get: v.int("get", 1..=100)? as u32,
                percent: match v.entries_value("percent") {
                    None => Decimal::ONE_HUNDRED,
                    Some(p) => percent(p, "value.percent")?,
                },
            }
        }
        _ => {
            return Err(FieldError::new(
                "kind",
                "must be percentage, fixed_amount, fixed_price, free_shipping or buy_x_get_y",
            ))
        }
    };
    let target = match f.opt_string("target")? {
        None | Some("order") => Target::Order,
        Some("items") => Target::Items,
        Some(_) => return Err(FieldError::new("target", "must be order or items")),
    };
    if matches!(
        value,
        DefValue::FixedPrice { .. } | DefValue::BuyXGetY { .. }
    ) && f.opt_string("target")? == Some("order")
    {
        return Err(FieldError::new(
            "target",
            "fixed_price and buy_x_get_y apply to items",
        ));
    }
    let mut items = ItemFilter::default();
    if f.has("items") {
        let i = f.object("items")?;
        i.only(&["skus", "product_ids"])?;
        for (k, sku) in i
            .opt_string_list("skus", 500)?
            .unwrap_or_default()
            .iter()
            .enumerate()
        {
            items.skus.push(normalize_sku(sku).ok_or_else(|| {
                FieldError::new(format!("items.skus[{k}]"), "is not a valid SKU")
            })?);
        }
        items.product_ids = i
            .opt_string_list("product_ids", 500)?
            .unwrap_or_default()
            .into_iter()
            .map(str::to_string)
            .collect();
    }
    if target == Target::Items && items.skus.is_empty() && items.product_ids.is_empty() {
        return Err(FieldError::new(
            "items",
            "an items discount names the SKUs or products it applies to",
        ));
    }
    let (mut min_subtotal, mut cond_markets, mut first_order_only) =
        (BTreeMap::new(), Vec::new(), false);
    if f.has("conditions") {
        let c = f.object("conditions")?;
        c.only(&["min_subtotal", "markets", "first_order_only"])?;
        // `{}` (as GET shows a discount without one) is no minimum, like an absent one.
        if c.has("min_subtotal") && !c.entries("min_subtotal")?.is_empty() {
            min_subtotal = per_market(&c, "min_subtotal", markets)?;
        }
        for (k, m) in c
            .opt_string_list("markets", 50)?
            .unwrap_or_default()
            .iter()
            .enumerate()
        {
            if !markets.contains_key(*m) {
                return Err(FieldError::new(
                    format!("conditions.markets[{k}]"),
                    format!("there is no market {m}"),
                ));
            }
            cond_markets.push(m.to_string());
        }
        first_order_only = c.opt_bool("first_order_only")?.unwrap_or(false);
    }
    let starts_at = timestamp(f, "starts_at")?;
    let ends_at = timestamp(f, "ends_at")?;
    if let (Some(s), Some(e)) = (starts_at, ends_at) {
        if e <= s {
            return Err(FieldError::new("ends_at", "must be after starts_at"));
        }
    }
    let stacking = match f.opt_string("stacking")? {
        None | Some("combinable") => Stacking::Combinable,
        Some("exclusive") => Stacking::Exclusive,
        Some(_) => {
            return Err(FieldError::new(
                "stacking",
                "must be combinable or exclusive",
            ))
        }
    };
    Ok(DiscountDef {
        id: id.to_string(),
        title,
        code,
        value,
        target,
        items,
        min_subtotal,
        markets: cond_markets,
        first_order_only,
        starts_at,
        ends_at,
        usage_limit: f
            .opt_int("usage_limit", 0..=1_000_000_000)?
            .map(|n| n as u32),
        usage_limit_per_customer: f
            .opt_int("usage_limit_per_customer", 0..=1_000_000)?
            .map(|n| n as u32),
        stacking,
        priority: f.opt_int("priority", -1000..=1000)?.unwrap_or(0) as i32,
        enabled: f.opt_bool("enabled")?.unwrap_or(true),
    })
}

impl DiscountDef {
    /// The discount as pricing sees it in `market`. A discount with amounts for other markets
    /// only is limited to those, so pricing reports `wrong_market`.
    pub fn for_market(&self, market: &str) -> Option<Discount> {
        if !self.enabled {
            return None;
        }
        let mut markets = self.markets.clone();
        let value = match &self.value {
            DefValue::Percentage { percent } => DiscountValue::Percentage { percent: *percent },
            DefValue::FreeShipping => DiscountValue::FreeShipping,
            DefValue::BuyXGetY { buy, get, percent } => DiscountValue::BuyXGetY {
                buy: *buy,
                get: *get,
                percent: *percent,
            },
            DefValue::FixedAmount { amounts: m } | DefValue::FixedPrice { unit_prices: m } => {
                let only: Vec<String> = m
                    .keys()
                    .filter(|k| markets.is_empty() || markets.contains(k))
                    .cloned()
                    .collect();
                markets = if only.is_empty() {
                    vec![String::from("\u{0}none")]
                } else {
                    only
                };
                let amount = m.get(market).copied().unwrap_or(0);
                match self.value {
                    DefValue::FixedAmount { .. } => DiscountValue::FixedAmount { amount },
                    _ => DiscountValue::FixedPrice { unit_price: amount },
                }
            }
        };
        Some(Discount {
            id: self.id.clone(),
            title: self.title.clone(),
            code: self.code.clone(),
            value,
            target: self.target,
            items: self.items.clone(),
            conditions: Conditions {
                min_subtotal: self.min_subtotal.get(market).copied(),
                markets,
                starts_at: self.starts_at,
                ends_at: self.ends_at,
                first_order_only: self.first_order_only,
            },
            limits: UsageLimits {
                total: self.usage_limit,
                per_customer: self.usage_limit_per_customer,
            },
            stacking: self.stacking,
            priority: self.priority,
        })
    }

    pub fn view(&self, markets: &Markets) -> Value {
        let amounts = |m: &BTreeMap<String, i64>| -> Value {
            m.iter()
                .map(|(k, v)| (k.clone(), money_json(*v, k, markets)))
                .collect::<serde_json::Map<_, _>>()
                .into()
        };
        let (kind, value) = match &self.value {
            DefValue::Percentage { percent } => ("percentage", json!(percent.to_string())),
            DefValue::FixedAmount { amounts: m } => ("fixed_amount", amounts(m)),
            DefValue::FixedPrice { unit_prices: m } => ("fixed_price", amounts(m)),
            DefValue::FreeShipping => ("free_shipping", Value::Null),
            DefValue::BuyXGetY { buy, get, percent } => (
                "buy_x_get_y",
                json!({"buy": buy, "get": get, "percent": percent.to_string()}),
            ),
        };
        let ts = |t: Option<i64>| {
            t.and_then(|s| chrono::DateTime::from_timestamp(s, 0))
                .map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        };
        json!({
            "id": self.id, "title": self.title, "code": self.code, "kind": kind, "value": value,
            "target": self.target, "items": self.items,
            "conditions": {"min_subtotal": amounts(&self.min_subtotal), "markets": self.markets, "first_order_only": self.first_order_only},
            "starts_at": ts(self.starts_at), "ends_at": ts(self.ends_at),
            "usage_limit": self.usage_limit, "usage_limit_per_customer": self.usage_limit_per_customer,
            "stacking": self.stacking, "priority": self.priority, "enabled": self.enabled,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn markets() -> Markets {
        [
            ("FR".to_string(), Currency::from_code("EUR").unwrap()),
            ("US".to_string(), Currency::from_code("USD").unwrap()),
        ]
        .into()
    }

    fn fields(v: &Value) -> serde_json::Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn shipping_rates_are_per_market_in_its_currency() {
        let body = fields(
            &json!({"name": "Colissimo", "countries": ["FR", "MC"], "rates": {
            "FR": {"type": "free_over", "amount": {"amount": "4.90", "currency": "EUR"}, "threshold": {"amount": "50.00", "currency": "EUR"}},
            "US": {"type": "weight_tiers", "tiers": [{"up_to_grams": 5000, "amount": {"amount": "12.00", "currency": "USD"}},
                                                     {"up_to_grams": 1000, "amount": {"amount": "6.00", "currency": "USD"}}]}}}),
        );
        let def = shipping_from_request("colissimo", &Fields::new(&body), &markets()).unwrap();
        assert_eq!(
            def.for_market("FR").unwrap().rate,
            ShippingRate::FreeOver {
                amount: 490,
                threshold: 5000
            }
        );
        match &def.for_market("US").unwrap().rate {
            ShippingRate::WeightTiers { tiers } => assert_eq!(tiers[0].up_to_grams, 1000),
            other => panic!("{other:?}"),
        }
        assert!(def.for_market("JP").is_none());
        assert_eq!(
            def.view(&markets())["rates"]["FR"]["threshold"],
            json!({"amount": "50.00", "currency": "EUR"})
        );
    }

    #[test]
    fn a_shipping_method_is_chosen_only_where_it_is_offered_and_delivers() {
        let body = fields(
            &json!({"name": "Colissimo", "countries": ["FR", "MC"], "rates": {
            "FR": {"type": "flat", "amount": {"amount": "4.90", "currency": "EUR"}}}}),
        );
        let mut def = shipping_from_request("colissimo", &Fields::new(&body), &markets()).unwrap();
        let choose = |def: Option<&ShippingDef>, id: &str, market: &str, country: Option<&str>| {
            ShippingDef::check_choice(id, def, market, country).map_err(|e| e.message)
        };
        assert_eq!(choose(Some(&def), "colissimo", "FR", Some("MC")), Ok(()));
        assert_eq!(
            choose(Some(&def), "colissimo", "FR", None),
            Ok(()),
            "no address yet"
        );
        let not_offered =
            Err("shipping method `colissimo` is not offered in market US".to_string());
        assert_eq!(
            choose(Some(&def), "colissimo", "US", Some("US")),
            not_offered
        );
        assert_eq!(
            choose(Some(&def), "colissimo", "FR", Some("BE")),
            Err("shipping method `colissimo` does not deliver to BE".to_string())
        );
        assert!(
            choose(None, "colissimo", "FR", Some("FR")).is_err(),
            "no such method"
        );
        assert!(
            choose(Some(&def), "express", "FR", Some("FR")).is_err(),
            "another id"
        );
        def.enabled = false;
        assert!(
            choose(Some(&def), "colissimo", "FR", Some("FR")).is_err(),
            "switched off"
        );
    }

    #[test]
    fn shipping_errors_name_the_rate_field() {
        for (rates, field) in [
            (
                json!({"FR": {"type": "flat", "amount": {"amount": "4.90", "currency": "USD"}}}),
                "rates.FR.amount.currency",
            ),
            (
                json!({"DE": {"type": "flat", "amount": {"amount": "4.90", "currency": "EUR"}}}),
                "rates.DE.amount",
            ),
            (json!({"FR": {"type": "teleport"}}), "rates.FR.type"),
            (
                json!({"FR": {"type": "flat", "amount": {"amount": "4.90", "currency": "EUR"}, "extra": 1}}),
                "rates.FR.extra",
            ),
            (json!({}), "rates"),
        ] {
            let body = fields(&json!({"name": "x", "rates": rates}));
            assert_eq!(
                shipping_from_request("x", &Fields::new(&body), &markets())
                    .unwrap_err()
                    .field,
                field
            );
        }
    }

    #[test]
    fn a_coded_percentage_discount_becomes_the_engines_discount() {
        let body = fields(
            &json!({"title": "Welcome", "code": "welcome10", "kind": "percentage", "value": "10",
            "conditions": {"min_subtotal": {"FR": {"amount": "20.00", "currency": "EUR"}}},
            "starts_at": "2026-01-01T00:00:00Z", "usage_limit_per_customer": 1}),
        );
        let def = discount_from_request("welcome", &Fields::new(&body), &markets()).unwrap();
        assert_eq!(def.code.as_deref(), Some("WELCOME10"));
        let d = def.for_market("FR").unwrap();
        assert_eq!(
            d.value,
            DiscountValue::Percentage {
                percent: Decimal::new(10, 0)
            }
        );
        assert_eq!(d.conditions.min_subtotal, Some(2000));
        assert_eq!(d.conditions.starts_at, Some(1_767_225_600));
        assert_eq!(d.limits.per_customer, Some(1));
        assert_eq!(def.for_market("US").unwrap().conditions.min_subtotal, None);
        assert_eq!(def.view(&markets())["starts_at"], "2026-01-01T00:00:00Z");
    }

    #[test]
    fn a_discount_as_the_api_shows_it_is_accepted_back_unchanged() {
        // An admin screen switches a discount off by sending back what GET showed: a discount
        // with no minimum shows `min_subtotal: {}`, which means no minimum on the way in too.
        for body in [
            json!({"title": "Welcome", "code": "WELCOME10", "kind": "percentage", "value": "10"}),
            json!({"title": "Min", "kind": "percentage", "value": "5",
                "conditions": {"min_subtotal": {"FR": {"amount": "20.00", "currency": "EUR"}}}}),
        ] {
            let def = discount_from_request("d", &Fields::new(&fields(&body)), &markets()).unwrap();
            let mut shown = def.view(&markets());
            let view = shown.as_object_mut().unwrap();
            for k in ["id", "created_at", "updated_at"] {
                view.remove(k);
            }
            let again = discount_from_request("d", &Fields::new(view), &markets()).unwrap();
            assert_eq!(again.view(&markets()), def.view(&markets()));
        }
    }

    #[test]
    fn a_fixed_amount_without_an_amount_for_a_market_is_limited_to_the_others() {
        let body = fields(
            &json!({"title": "5 off", "kind": "fixed_amount", "value": {"FR": {"amount": "5.00", "currency": "EUR"}}}),
        );
        let def = discount_from_request("five", &Fields::new(&body), &markets()).unwrap();
        assert_eq!(
            def.for_market("FR").unwrap().value,
            DiscountValue::FixedAmount { amount: 500 }
        );
        assert_eq!(
            def.for_market("US").unwrap().conditions.markets,
            vec!["FR".to_string()]
        );
    }

    #[test]
    fn discount_errors_name_the_field() {
        for (patch, field) in [
            (json!({"kind": "percentage", "value": "0"}), "value"),
            (json!({"kind": "percentage", "value": "101"}), "value"),
            (json!({"kind": "percentage", "value": 10}), "value"),
            (json!({"kind": "gift"}), "kind"),
            (json!({"kind": "free_shipping", "value": "10"}), "value"),
            (
                json!({"kind": "buy_x_get_y", "value": {"buy": 0, "get": 1}, "target": "items", "items": {"skus": ["A"]}}),
                "value.buy",
            ),
            (
                json!({"kind": "percentage", "value": "10", "target": "items"}),
                "items",
            ),
            (
                json!({"kind": "percentage", "value": "10", "code": "no spaces"}),
                "code",
            ),
            (
                json!({"kind": "percentage", "value": "10", "starts_at": "yesterday"}),
                "starts_at",
            ),
            (
                json!({"kind": "percentage", "value": "10", "starts_at": "2026-02-01T00:00:00Z", "ends_at": "2026-01-01T00:00:00Z"}),
                "ends_at",
            ),
            (
                json!({"kind": "percentage", "value": "10", "conditions": {"markets": ["DE"]}}),
                "conditions.markets[0]",
            ),
            (
                json!({"kind": "percentage", "value": "10", "conditions": {"max": 1}}),
                "conditions.max",
            ),
            (
                json!({"kind": "percentage", "value": "10", "stacking": "sometimes"}),
                "stacking",
            ),
        ] {
            let mut v = json!({"title": "T"});
            for (k, val) in patch.as_object().unwrap() {
                v[k] = val.clone();
            }
            let body = fields(&v);
            assert_eq!(
                discount_from_request("d", &Fields::new(&body), &markets())
                    .unwrap_err()
                    .field,
                field,
                "{v}"
            );
        }
    }
}
