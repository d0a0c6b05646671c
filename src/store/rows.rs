//! Row structs for D1 and their conversion to domain types. JSON columns hold arrays and maps
//! written by our own code; anything unreadable is reported as corrupt, never guessed.

use crate::domain::market::{Market, RoundingMode, TaxClass};
use crate::domain::money::Currency;
use crate::store::d1::StoreError;
use rust_decimal::Decimal;
use serde::Deserialize;
use std::collections::BTreeMap;

#[derive(Debug, Deserialize)]
pub struct MarketRow {
    pub code: String,
    pub currency: String,
    pub countries: String,
    pub languages: String,
    pub tax_inclusive: i64,
    pub tax_rates: String,
    pub rounding_mode: String,
    pub tax_rounding: String,
}

impl TryFrom<MarketRow> for Market {
    type Error = StoreError;

    fn try_from(row: MarketRow) -> Result<Market, StoreError> {
        let corrupt = |what: &str| StoreError::Corrupt(format!("market {}: {what}", row.code));
        let currency = Currency::from_code(&row.currency).ok_or_else(|| corrupt("currency"))?;
        let countries: Vec<String> =
            serde_json::from_str(&row.countries).map_err(|_| corrupt("countries"))?;
        let languages: Vec<String> =
            serde_json::from_str(&row.languages).map_err(|_| corrupt("languages"))?;
        let tax_rates: BTreeMap<TaxClass, Decimal> =
            serde_json::from_str(&row.tax_rates).map_err(|_| corrupt("tax_rates"))?;
        let rounding_mode: RoundingMode =
            serde_json::from_value(serde_json::Value::String(row.rounding_mode.clone()))
                .map_err(|_| corrupt("rounding_mode"))?;
        let tax_rounding =
            serde_json::from_value(serde_json::Value::String(row.tax_rounding.clone()))
                .map_err(|_| corrupt("tax_rounding"))?;
        Ok(Market {
            code: row.code,
            currency,
            countries,
            languages,
            tax_inclusive: row.tax_inclusive != 0,
            tax_rates,
            rounding_mode,
            tax_rounding,
        })
    }
}

#[cfg(feature = "storefront")]
#[derive(Debug, Deserialize)]
pub struct ChannelRow {
    pub id: String,
    pub name: String,
    /// What changes when the channel or one of its markets changes.
    pub version: String,
}

#[cfg(feature = "storefront")]
#[derive(Debug, Deserialize)]
pub struct OriginRow {
    pub origin: String,
}

/// A shipping method from its columns (`countries` and `rates` as the JSON they are stored as).
pub fn shipping_def(
    id: &str,
    name: &str,
    countries: &str,
    rates: &str,
    enabled: i64,
    location_id: Option<&str>,
) -> Result<crate::domain::admin_defs::ShippingDef, StoreError> {
    let corrupt = |e: serde_json::Error| StoreError::Corrupt(format!("shipping method {id}: {e}"));
    Ok(crate::domain::admin_defs::ShippingDef {
        id: id.to_string(),
        name: name.to_string(),
        countries: serde_json::from_str(countries).map_err(corrupt)?,
        rates: serde_json::from_str(rates).map_err(corrupt)?,
        enabled: enabled != 0,
        location_id: location_id.map(str::to_string),
    })
}
