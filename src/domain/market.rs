//! Markets: where and how the merchant sells (currency, countries, languages, tax regime).

use crate::domain::fields::{FieldError, Fields};
use crate::domain::money::Currency;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// How amounts are rounded to the currency's minor unit in this market.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum RoundingMode {
    #[default]
    HalfUp,
    HalfEven,
    HalfDown,
}

/// Where tax is rounded to the minor unit: on each line, or once on the cart's total
/// (commercetools' `taxRoundingTarget`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum TaxRounding {
    #[default]
    Line,
    Total,
}

/// The tax class of a variant; each market has a rate per class.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaxClass {
    Standard,
    Reduced,
    Zero,
}

impl TaxClass {
    pub fn parse(s: &str) -> Option<TaxClass> {
        match s {
            "standard" => Some(TaxClass::Standard),
            "reduced" => Some(TaxClass::Reduced),
            "zero" => Some(TaxClass::Zero),
            _ => None,
        }
    }
}

/// A market as the domain knows it. Tax rates are percentages (`20` for 20 %), exact decimals.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Market {
    pub code: String,
    pub currency: Currency,
    pub countries: Vec<String>,
    pub languages: Vec<String>,
    pub tax_inclusive: bool,
    pub tax_rates: BTreeMap<TaxClass, Decimal>,
    pub rounding_mode: RoundingMode,
    #[serde(default)]
    pub tax_rounding: TaxRounding,
}

/// What a storefront sees of a market (`GET /v1/markets`): no tax internals.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MarketView<'a> {
    pub code: &'a str,
    pub currency: Currency,
    pub countries: &'a [String],
    pub tax_inclusive: bool,
    pub languages: &'a [String],
}

impl Market {
    pub fn view(&self) -> MarketView<'_> {
        MarketView {
            code: &self.code,
            currency: self.currency,
            countries: &self.countries,
            tax_inclusive: self.tax_inclusive,
            languages: &self.languages,
        }
    }
}

/// Fields `PUT /admin/v1/markets/{code}` accepts.
pub const MARKET_FIELDS: &[&str] = &[
    "currency",
    "countries",
    "languages",
    "tax_inclusive",
    "tax_rates",
    "rounding_mode",
    "tax_rounding",
];

/// Whether `code` can name a market: 2 to 16 of `A-Z`, `0-9`, `_`, `-`, starting with a letter.
pub fn is_market_code(code: &str) -> bool {
    (2..=16).contains(&code.len())
        && code.starts_with(|c: char| c.is_ascii_uppercase())
        && code
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

/// Builds a market from an admin request body (unknown fields already refused).
pub fn market_from_request(code: &str, body: &Fields<'_>) -> Result<Market, FieldError> {
    let currency_code = body.string("currency")?;
    let currency = Currency::from_code(currency_code).ok_or_else(|| {
        FieldError::new(
            "currency",
            format!("`{currency_code}` is not a supported ISO 4217 currency"),
        )
    })?;
    let countries = body.string_list("countries", 250)?;
    if countries.is_empty() {
        return Err(FieldError::new(
            "countries",
            "a market sells to at least one country",
        ));
    }
    for (i, c) in countries.iter().enumerate() {
        if c.len() != 2 || !c.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(FieldError::new(
                format!("countries[{i}]"),
                "must be an ISO 3166-1 alpha-2 code such as FR",
            ));
        }
        if countries[..i].contains(c) {
            return Err(FieldError::new(
                format!("countries[{i}]"),
                format!("{c} is listed twice"),
            ));
        }
    }
    let languages = body.opt_string_list("languages", 50)?.unwrap_or_default();
    for (i, l) in languages.iter().enumerate() {
        if !(2..=35).contains(&l.len())
            || !l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        {
            return Err(FieldError::new(
                format!("languages[{i}]"),
                "must be a BCP 47 language tag such as fr or en-US",
            ));
        }
    }
    let tax_inclusive = body.bool("tax_inclusive")?;
    let rates = body.object("tax_rates")?;
    rates.only(&["standard", "reduced", "zero"])?;
    let mut tax_rates = BTreeMap::new();
    for (class, name) in [
        (TaxClass::Standard, "standard"),
        (TaxClass::Reduced, "reduced"),
        (TaxClass::Zero, "zero"),
    ] {
        tax_rates.insert(
            class,
            parse_rate(rates.string(name).map_err(|e| {
                if e.message == "must be a string" {
                    FieldError::new(
                        e.field,
                        "must be a decimal string such as \"20\" or \"5.5\"",
                    )
                } else {
                    e
                }
            })?)
            .ok_or_else(|| {
                FieldError::new(
                    rates.path(name),
                    "must be a percentage from 0 to 100 with at most 4 decimals, as a string",
                )
            })?,
        );
    }
    let rounding_mode = match body.opt_string("rounding_mode")? {
        None | Some("half_up") => RoundingMode::HalfUp,
        Some("half_even") => RoundingMode::HalfEven,
        Some("half_down") => RoundingMode::HalfDown,
        Some(_) => {
            return Err(FieldError::new(
                "rounding_mode",
                "must be half_up, half_even or half_down",
            ))
        }
    };
    let tax_rounding = match body.opt_string("tax_rounding")? {
        None | Some("line") => TaxRounding::Line,
        Some("total") => TaxRounding::Total,
        Some(_) => return Err(FieldError::new("tax_rounding", "must be line or total")),
    };
    Ok(Market {
        code: code.to_string(),
        currency,
        countries: countries.into_iter().map(str::to_string).collect(),
        languages: languages.into_iter().map(str::to_string).collect(),
        tax_inclusive,
        tax_rates,
        rounding_mode,
        tax_rounding,
    })
}

/// A tax rate percentage: a plain decimal string in 0..=100 with at most 4 decimals.
fn parse_rate(raw: &str) -> Option<Decimal> {
    let plain = !raw.is_empty()
        && raw.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        && raw.bytes().filter(|&b| b == b'.').count() <= 1
        && !raw.starts_with('.')
        && !raw.ends_with('.');
    let rate: Decimal = raw.parse().ok().filter(|_| plain)?;
    (rate.scale() <= 4 && rate <= Decimal::ONE_HUNDRED).then(|| rate.normalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_storefront_sees_code_currency_countries_tax_mode_and_languages_only() {
        let market = Market {
            code: "FR".into(),
            currency: Currency::from_code("EUR").unwrap(),
            countries: vec!["FR".into(), "MC".into()],
            languages: vec!["fr".into()],
            tax_inclusive: true,
            tax_rates: [(TaxClass::Standard, Decimal::new(20, 0))].into(),
            rounding_mode: RoundingMode::HalfUp,
            tax_rounding: TaxRounding::Line,
        };
        let json = serde_json::to_value(market.view()).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "code": "FR", "currency": "EUR", "countries": ["FR", "MC"],
                "tax_inclusive": true, "languages": ["fr"]
            })
        );
    }

    fn body(v: serde_json::Value) -> serde_json::Map<String, serde_json::Value> {
        v.as_object().unwrap().clone()
    }

    fn valid() -> serde_json::Value {
        serde_json::json!({
            "currency": "EUR", "countries": ["FR", "MC"], "languages": ["fr"],
            "tax_inclusive": true,
            "tax_rates": {"standard": "20", "reduced": "5.5", "zero": "0"}
        })
    }

    #[test]
    fn a_complete_request_builds_the_market_with_defaults_for_rounding() {
        let m = body(valid());
        let market = market_from_request("FR", &Fields::new(&m)).unwrap();
        assert_eq!(market.tax_rates[&TaxClass::Reduced], Decimal::new(55, 1));
        assert_eq!(market.rounding_mode, RoundingMode::HalfUp);
        assert_eq!(market.tax_rounding, TaxRounding::Line);
    }

    #[test]
    fn each_invalid_field_is_named() {
        let cases = [
            ("currency", serde_json::json!("EURO"), "currency"),
            ("countries", serde_json::json!([]), "countries"),
            ("countries", serde_json::json!(["FR", "fr"]), "countries[1]"),
            ("countries", serde_json::json!(["FR", "FR"]), "countries[1]"),
            ("languages", serde_json::json!(["f r"]), "languages[0]"),
            ("tax_inclusive", serde_json::json!("yes"), "tax_inclusive"),
            (
                "tax_rates",
                serde_json::json!({"standard": 20, "reduced": "5.5", "zero": "0"}),
                "tax_rates.standard",
            ),
            (
                "tax_rates",
                serde_json::json!({"standard": "120", "reduced": "5.5", "zero": "0"}),
                "tax_rates.standard",
            ),
            (
                "tax_rates",
                serde_json::json!({"standard": "-1", "reduced": "5.5", "zero": "0"}),
                "tax_rates.standard",
            ),
            (
                "tax_rates",
                serde_json::json!({"standard": "1e1", "reduced": "5.5", "zero": "0"}),
                "tax_rates.standard",
            ),
            (
                "tax_rates",
                serde_json::json!({"standard": "20", "zero": "0"}),
                "tax_rates.reduced",
            ),
            (
                "tax_rates",
                serde_json::json!({"standard": "20", "reduced": "5", "zero": "0", "luxury": "30"}),
                "tax_rates.luxury",
            ),
            ("rounding_mode", serde_json::json!("up"), "rounding_mode"),
            ("tax_rounding", serde_json::json!("order"), "tax_rounding"),
        ];
        for (key, value, field) in cases {
            let mut v = valid();
            v[key] = value;
            let m = body(v);
            let err = market_from_request("FR", &Fields::new(&m)).unwrap_err();
            assert_eq!(err.field, field, "{key}");
        }
    }

    #[test]
    fn market_codes_are_upper_case_letters_digits_dash_underscore() {
        for ok in ["FR", "US", "EU-WEST", "B2B_DE", "UK2"] {
            assert!(is_market_code(ok), "{ok}");
        }
        for bad in ["", "F", "fr", "2FR", "FR/1", "ABCDEFGHIJKLMNOPQ", "F R"] {
            assert!(!is_market_code(bad), "{bad}");
        }
    }

    #[test]
    fn tax_rates_round_trip_exactly_through_json() {
        let rates: BTreeMap<TaxClass, Decimal> =
            serde_json::from_str(r#"{"standard":"8.875","reduced":"4","zero":"0"}"#).unwrap();
        assert_eq!(rates[&TaxClass::Standard], Decimal::new(8875, 3));
        assert_eq!(
            serde_json::to_string(&rates).unwrap(),
            r#"{"standard":"8.875","reduced":"4","zero":"0"}"#
        );
    }
}
