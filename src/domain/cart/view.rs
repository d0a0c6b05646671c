//! The cart as API.md shows it, typed: what `render` builds, what checkout reads its order from
//! (titles, totals, addresses, shipping method, warnings), and what the HTTP layer serialises.

use super::Address;
use crate::domain::money::{Currency, Money};
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CartView {
    pub id: String,
    pub version: i64,
    pub market: String,
    pub currency: Currency,
    pub tax_inclusive: bool,
    /// As [`super::CartStatus::at`] says (`expired` past the expiry).
    pub status: super::CartStatus,
    pub customer_id: Option<String>,
    pub email: Option<String>,
    pub shipping_address: Option<Address>,
    /// The billing address, or the shipping address when none was given.
    pub billing_address: Option<Address>,
    pub shipping_method: Option<ShippingView>,
    pub note: Option<String>,
    pub discount_codes: Vec<CodeView>,
    pub lines: Vec<LineView>,
    pub totals: TotalsView,
    pub warnings: Vec<Warning>,
    pub merged_into: Option<String>,
    pub expires_at: String,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LineView {
    pub id: String,
    pub sku: String,
    pub product_id: String,
    /// `Product — Variant`, or the SKU when it is no longer sold.
    pub title: String,
    pub quantity: u32,
    pub unit_price: Money,
    pub subtotal: Money,
    pub discount: Money,
    pub tax: Money,
    pub total: Money,
    /// Why staff set this line's price by hand (a draft order's line); a cart's lines have none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub price_reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ShippingView {
    pub id: String,
    pub name: String,
    pub price: Money,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CodeView {
    pub code: String,
    pub applicable: bool,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TotalsView {
    pub subtotal: Money,
    pub discount: Money,
    pub shipping: Money,
    pub tax: Money,
    pub total: Money,
}

/// Why a cart cannot be checked out as it is, or what changed under the shopper.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WarningCode {
    PriceChanged,
    SkuUnavailable,
    OutOfStock,
    InsufficientStock,
    ShippingMethodUnavailable,
    DiscountNotApplicable,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Warning {
    pub code: WarningCode,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line_id: Option<String>,
    pub message: String,
}
