//! Pricing: every total Comptoir shows or charges comes from [`engine::price`], a pure and
//! deterministic function over exact integer minor units.

pub mod arith;
pub mod discount;
pub mod engine;
pub mod shipping;

pub use discount::{
    Conditions, Discount, DiscountValue, ItemFilter, NotApplicable, Shopper, Stacking, Target,
    Usage, UsageLimits,
};
pub use engine::{price, LineInput, PricedCart, PricingError, PricingRequest, PricingWarning};
pub use shipping::{ShippingMethod, ShippingRate, WeightTier};

#[cfg(test)]
mod tests;
