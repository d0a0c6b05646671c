//! Products as the back office writes them: handle, status, variants with SKU, tax class,
//! weight and a price per market. Parsing is strict and names the field at fault.

use crate::domain::fields::{FieldError, Fields};
use crate::domain::market::TaxClass;
use crate::domain::money::{Currency, Money};
use serde::Serialize;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

pub const PRODUCT_FIELDS: &[&str] = &["handle", "title", "description", "status", "variants"];
const VARIANT_FIELDS: &[&str] = &["sku", "title", "tax_class", "weight_grams", "prices"];
pub const MAX_VARIANTS: usize = 100;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProductStatus {
    Draft,
    Published,
}

impl ProductStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ProductStatus::Draft => "draft",
            ProductStatus::Published => "published",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Variant {
    pub sku: String,
    pub title: String,
    pub tax_class: TaxClass,
    pub weight_grams: i64,
    /// Market code -> price in that market's currency.
    pub prices: BTreeMap<String, Money>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Product {
    pub id: String,
    pub handle: String,
    pub title: String,
    pub description: String,
    pub status: ProductStatus,
    pub variants: Vec<Variant>,
}

/// Ids of products, channels, shipping methods, discounts: 1 to 64 of `A-Za-z0-9_-`.
pub fn is_resource_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// SKUs are case-insensitive: stored and compared upper-case. 1 to 64 of `A-Z0-9._-`,
/// starting with a letter or digit.
pub fn normalize_sku(raw: &str) -> Option<String> {
    let sku = raw.trim().to_ascii_uppercase();
    let ok = (1..=64).contains(&sku.len())
        && sku.starts_with(|c: char| c.is_ascii_alphanumeric())
        && sku.bytes().all(|b| {
            b.is_ascii_uppercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-')
        });
    ok.then_some(sku)
}

/// The beginning of a SKU to search by (`GET /admin/v1/inventory?q=`): trimmed and upper-cased
/// as SKUs are stored, 1 to 64 characters. Every character is literal, even one no SKU holds
/// (`%` finds nothing): the store matches it as a prefix, not as a pattern.
pub fn sku_prefix(raw: &str) -> Option<String> {
    let prefix = raw.trim().to_ascii_uppercase();
    (1..=64).contains(&prefix.chars().count()).then_some(prefix)
}

fn is_handle(h: &str) -> bool {
    (1..=100).contains(&h.len())
        && h.split('-').all(|part| {
            !part.is_empty()
                && part
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
}

fn text(fields: &Fields<'_>, name: &str, max: usize) -> Result<String, FieldError> {
    let value = fields.string(name)?.trim();
    if value.is_empty() || value.chars().count() > max {
        return Err(FieldError::new(
            fields.path(name),
            format!("must be 1 to {max} characters"),
        ));
    }
    Ok(value.to_string())
}

/// Parses one product body (`id` from the path or the import item). Market existence and
/// currencies are checked afterwards by [`check_prices`], once markets are loaded.
pub fn product_from_request(id: &str, body: &Fields<'_>) -> Result<Product, FieldError> {
    let handle = body.string("handle")?;
    if !is_handle(handle) {
        return Err(FieldError::new(
            body.path("handle"),
            "must be lower-case letters and digits in words joined by `-` (at most 100 characters)",
        ));
    }
    let title = text(body, "title", 200)?;
    let description = body.opt_string("description")?.unwrap_or("").to_string();
    if description.chars().count() > 10_000 {
        return Err(FieldError::new(
            body.path("description"),
            "must be at most 10000 characters",
        ));
    }
    let status = match body.string("status")? {
        "draft" => ProductStatus::Draft,
        "published" => ProductStatus::Published,
        _ => {
            return Err(FieldError::new(
                body.path("status"),
                "must be draft or published",
            ))
        }
    };
    let mut seen = BTreeSet::new();
    let mut variants = Vec::new();
    for v in body.objects("variants", 1, MAX_VARIANTS)? {
        v.only(VARIANT_FIELDS)?;
        let sku = normalize_sku(v.string("sku")?).ok_or_else(|| {
            FieldError::new(
                v.path("sku"),
                "must be 1 to 64 letters, digits, `.`, `_` or `-`",
            )
        })?;
        if !seen.insert(sku.clone()) {
            return Err(FieldError::new(
                v.path("sku"),
                format!("{sku} appears twice in this product"),
            ));
        }
        let tax_class = TaxClass::parse(v.string("tax_class")?).ok_or_else(|| {
            FieldError::new(v.path("tax_class"), "must be standard, reduced or zero")
        })?;
        let weight_grams = v.opt_int("weight_grams", 0..=1_000_000)?.unwrap_or(0);
        let mut prices = BTreeMap::new();
        if v.has("prices") {
            for (market, value, path) in v.entries("prices")? {
                prices.insert(market.to_string(), money(value, &path)?);
            }
        }
        variants.push(Variant {
            sku,
            title: text(&v, "title", 200)?,
            tax_class,
            weight_grams,
            prices,
        });
    }
    Ok(Product {
        id: id.to_string(),
        handle: handle.to_string(),
        title,
        description,
        status,
        variants,
    })
}

/// Parses a Money object at `path`, naming `path.amount` or `path.currency` when wrong.
pub fn money(value: &Value, path: &str) -> Result<Money, FieldError> {
    let map = value.as_object().ok_or_else(|| {
        FieldError::new(
            path,
            "must be a money object {\"amount\": \"12.30\", \"currency\": \"EUR\"}",
        )
    })?;
    let f = Fields::nested(map, path.to_string());
    f.only(&["amount", "currency"])?;
    let amount = f.string("amount")?;
    let currency = f.string("currency")?;
    let money = Money::parse(amount, currency).map_err(|e| {
        let field = if matches!(e, crate::domain::money::MoneyError::UnknownCurrency(_)) {
            "currency"
        } else {
            "amount"
        };
        FieldError::new(f.path(field), e.to_string())
    })?;
    if money.amount().is_sign_negative() {
        return Err(FieldError::new(f.path("amount"), "must not be negative"));
    }
    Ok(money)
}

/// Checks every price names an existing market in that market's currency. `prefix` is the
/// product's path (`""` for a single product, `products[3]` in an import).
pub fn check_prices(
    product: &Product,
    markets: &BTreeMap<String, Currency>,
    prefix: &str,
) -> Result<(), FieldError> {
    let join = |rest: String| {
        if prefix.is_empty() {
            rest
        } else {
            format!("{prefix}.{rest}")
        }
    };
    for (i, v) in product.variants.iter().enumerate() {
        for (market, price) in &v.prices {
            let path = join(format!("variants[{i}].prices.{market}"));
            let currency = markets.get(market).ok_or_else(|| {
                FieldError::new(path.clone(), format!("there is no market {market}"))
            })?;
            if price.currency() != *currency {
                return Err(FieldError::new(
                    format!("{path}.currency"),
                    format!("market {market} prices in {currency}"),
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(v: Value) -> Result<Product, FieldError> {
        let map = v.as_object().unwrap().clone();
        product_from_request("prod_1", &Fields::new(&map))
    }

    fn valid() -> Value {
        json!({
            "handle": "linen-apron", "title": "Linen Apron", "status": "published",
            "variants": [{"sku": "apron-nat", "title": "Natural", "tax_class": "standard",
                          "weight_grams": 320, "prices": {"FR": {"amount": "39.00", "currency": "EUR"}}}]
        })
    }

    #[test]
    fn a_sku_prefix_is_trimmed_and_upper_cased_and_keeps_every_character() {
        assert_eq!(sku_prefix(" cup-esp "), Some("CUP-ESP".into()));
        assert_eq!(
            sku_prefix("cup_%"),
            Some("CUP_%".into()),
            "wildcards are literal"
        );
        assert_eq!(
            sku_prefix("é"),
            Some("é".into()),
            "only ASCII letters change case"
        );
        assert_eq!(sku_prefix(&"a".repeat(64)), Some("A".repeat(64)));
    }

    #[test]
    fn a_sku_prefix_empty_or_longer_than_a_sku_is_refused() {
        for bad in ["", "   ", &"A".repeat(65), &"é".repeat(65)] {
            assert_eq!(sku_prefix(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn a_valid_product_parses_with_upper_case_skus() {
        let p = parse(valid()).unwrap();
        assert_eq!(p.variants[0].sku, "APRON-NAT");
        assert_eq!(p.variants[0].prices["FR"].minor_units().unwrap(), 3900);
        assert_eq!(p.description, "");
    }

    #[test]
    fn every_bad_field_is_named_with_its_path() {
        let cases: Vec<(Value, &str)> = vec![
            (json!({"handle": "Linen Apron"}), "handle"),
            (json!({"handle": "a--b"}), "handle"),
            (json!({"title": "  "}), "title"),
            (json!({"status": "live"}), "status"),
            (json!({"variants": []}), "variants"),
            (
                json!({"variants": [{"sku": "a b", "title": "x", "tax_class": "standard"}]}),
                "variants[0].sku",
            ),
            (
                json!({"variants": [{"sku": "A", "title": "x", "tax_class": "luxury"}]}),
                "variants[0].tax_class",
            ),
            (
                json!({"variants": [{"sku": "A", "title": "x", "tax_class": "zero", "weight_grams": 1.5}]}),
                "variants[0].weight_grams",
            ),
            (
                json!({"variants": [{"sku": "A", "title": "x", "tax_class": "zero", "weight_grams": -1}]}),
                "variants[0].weight_grams",
            ),
            (
                json!({"variants": [{"sku": "A", "title": "x", "tax_class": "zero"}, {"sku": "a", "title": "y", "tax_class": "zero"}]}),
                "variants[1].sku",
            ),
            (
                json!({"variants": [{"sku": "A", "title": "x", "tax_class": "zero", "prices": {"FR": {"amount": 39, "currency": "EUR"}}}]}),
                "variants[0].prices.FR.amount",
            ),
            (
                json!({"variants": [{"sku": "A", "title": "x", "tax_class": "zero", "prices": {"FR": {"amount": "3.999", "currency": "EUR"}}}]}),
                "variants[0].prices.FR.amount",
            ),
            (
                json!({"variants": [{"sku": "A", "title": "x", "tax_class": "zero", "prices": {"FR": {"amount": "-1.00", "currency": "EUR"}}}]}),
                "variants[0].prices.FR.amount",
            ),
            (
                json!({"variants": [{"sku": "A", "title": "x", "tax_class": "zero", "prices": {"FR": {"amount": "1.00", "currency": "EURO"}}}]}),
                "variants[0].prices.FR.currency",
            ),
            (
                json!({"variants": [{"sku": "A", "title": "x", "tax_class": "zero", "unit_price": "1"}]}),
                "variants[0].unit_price",
            ),
        ];
        for (patch, field) in cases {
            let mut v = valid();
            for (k, val) in patch.as_object().unwrap() {
                v[k] = val.clone();
            }
            assert_eq!(parse(v).unwrap_err().field, field);
        }
    }

    #[test]
    fn prices_must_name_a_known_market_in_its_currency() {
        let p = parse(valid()).unwrap();
        let eur = Currency::from_code("EUR").unwrap();
        let usd = Currency::from_code("USD").unwrap();
        assert!(check_prices(&p, &[("FR".to_string(), eur)].into(), "").is_ok());
        let e = check_prices(&p, &[("US".to_string(), usd)].into(), "products[2]").unwrap_err();
        assert_eq!(e.field, "products[2].variants[0].prices.FR");
        let e = check_prices(&p, &[("FR".to_string(), usd)].into(), "").unwrap_err();
        assert_eq!(e.field, "variants[0].prices.FR.currency");
    }
}
