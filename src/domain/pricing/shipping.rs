//! Shipping methods and their rates: flat, free over a threshold, weight tiers; each limited
//! to markets and countries.

use serde::{Deserialize, Serialize};

/// How a shipping method prices a cart. Amounts are minor units of the market's currency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ShippingRate {
    Flat {
        amount: i64,
    },
    /// `amount`, or nothing once the merchandise subtotal (after discounts) reaches `threshold`.
    FreeOver {
        amount: i64,
        threshold: i64,
    },
    /// The first tier whose `up_to_grams` holds the cart's weight; heavier carts cannot use it.
    WeightTiers {
        tiers: Vec<WeightTier>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WeightTier {
    pub up_to_grams: i64,
    pub amount: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShippingMethod {
    pub id: String,
    pub name: String,
    /// Market codes; empty means every market.
    pub markets: Vec<String>,
    /// ISO country codes; empty means every country of the market.
    pub countries: Vec<String>,
    pub rate: ShippingRate,
}

/// Why a method cannot ship this cart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ShippingUnavailable {
    Market,
    Country,
    TooHeavy { max_grams: i64 },
}

impl ShippingMethod {
    /// The price for a cart in `market` shipping to `country` (if known), weighing
    /// `weight_grams`, whose merchandise after discounts is `merchandise`.
    pub fn price(
        &self,
        market: &str,
        country: Option<&str>,
        weight_grams: i64,
        merchandise: i128,
    ) -> Result<i128, ShippingUnavailable> {
        if !self.markets.is_empty() && !self.markets.iter().any(|m| m == market) {
            return Err(ShippingUnavailable::Market);
        }
        if let Some(country) = country {
            if !self.countries.is_empty() && !self.countries.iter().any(|c| c == country) {
                return Err(ShippingUnavailable::Country);
            }
        }
        Ok(match &self.rate {
            ShippingRate::Flat { amount } => i128::from(*amount),
            ShippingRate::FreeOver { amount, threshold } => {
                if merchandise >= i128::from(*threshold) {
                    0
                } else {
                    i128::from(*amount)
                }
            }
            ShippingRate::WeightTiers { tiers } => {
                let mut sorted: Vec<&WeightTier> = tiers.iter().collect();
                sorted.sort_by_key(|t| t.up_to_grams);
                match sorted.iter().find(|t| weight_grams <= t.up_to_grams) {
                    Some(t) => i128::from(t.amount),
                    None => {
                        return Err(ShippingUnavailable::TooHeavy {
                            max_grams: sorted.last().map_or(0, |t| t.up_to_grams),
                        })
                    }
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn method(rate: ShippingRate) -> ShippingMethod {
        ShippingMethod {
            id: "std".into(),
            name: "Standard".into(),
            markets: vec!["FR".into()],
            countries: vec!["FR".into(), "MC".into()],
            rate,
        }
    }

    #[test]
    fn free_over_a_threshold_is_free_from_the_threshold_on() {
        let m = method(ShippingRate::FreeOver {
            amount: 590,
            threshold: 5000,
        });
        assert_eq!(m.price("FR", Some("FR"), 0, 4999), Ok(590));
        assert_eq!(m.price("FR", Some("FR"), 0, 5000), Ok(0));
    }

    #[test]
    fn weight_tiers_pick_the_first_tier_that_holds_the_weight() {
        let m = method(ShippingRate::WeightTiers {
            tiers: vec![
                WeightTier {
                    up_to_grams: 5000,
                    amount: 1290,
                },
                WeightTier {
                    up_to_grams: 1000,
                    amount: 690,
                },
            ],
        });
        assert_eq!(m.price("FR", None, 1000, 0), Ok(690));
        assert_eq!(m.price("FR", None, 1001, 0), Ok(1290));
        assert_eq!(
            m.price("FR", None, 5001, 0),
            Err(ShippingUnavailable::TooHeavy { max_grams: 5000 })
        );
    }

    #[test]
    fn a_method_is_limited_to_its_markets_and_countries() {
        let m = method(ShippingRate::Flat { amount: 490 });
        assert_eq!(
            m.price("US", Some("US"), 0, 0),
            Err(ShippingUnavailable::Market)
        );
        assert_eq!(
            m.price("FR", Some("BE"), 0, 0),
            Err(ShippingUnavailable::Country)
        );
        assert_eq!(m.price("FR", None, 0, 0), Ok(490));
    }
}
