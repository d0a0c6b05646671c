//! Markets: where and how the merchant sells (currency, countries, languages, tax regime).

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
