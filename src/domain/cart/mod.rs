//! Carts: what a cart holds, how its input is validated, and how it is shown — every amount
//! repriced by the pricing engine from current catalog prices, with typed warnings.

use crate::domain::admin_defs::{DiscountDef, ShippingDef};
use crate::domain::catalog::{CatalogSnapshot, CatalogVariant};
use crate::domain::fields::{FieldError, Fields};
use crate::domain::market::{Market, TaxClass};
use crate::domain::money::describe;
use crate::domain::pricing::{
    self, LineInput, PricingError, PricingRequest, PricingWarning, Shopper, Usage,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

mod refusal;
mod view;
pub use refusal::{precondition, refusal, CartOp, CartRefusal, Diagnosis};
pub use view::{CartView, CodeView, LineView, ShippingView, TotalsView, Warning, WarningCode};

pub const MAX_QUANTITY: i64 = 999;
pub const MAX_LINES: i64 = 250;
/// Discount codes one cart may hold.
pub const MAX_CODES: usize = 5;

/// Fields of the cart row a write may set (already validated); `None` leaves a field alone.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CartPatch {
    pub email: Option<Option<String>>,
    pub shipping_address: Option<Option<String>>,
    pub billing_address: Option<Option<String>>,
    pub shipping_method_id: Option<Option<String>>,
    pub note: Option<Option<String>>,
    pub discount_codes: Option<String>,
    pub customer_id: Option<String>,
}

/// One cart write: the guards every write checks (this channel's cart, active, at the version
/// expected), the change, and the version bump that renews the expiry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CartChange {
    /// Adds `quantity` of `sku` (merging with its line); refused for a SKU not sold in the
    /// cart's market, a line over [`MAX_QUANTITY`], more than [`MAX_LINES`] lines, or more than
    /// the available stock.
    AddLine {
        line_id: String,
        sku: String,
        quantity: i64,
        /// A hot SKU's stock is what its objects have: the check goes by this number. Without
        /// it a hot SKU's change is refused, and its objects are asked (the diagnosis names it).
        hot_available: Option<i64>,
    },
    /// Sets a line's quantity (0 removes it); refused for a missing line or over the stock
    /// (a hot SKU's as for [`CartChange::AddLine`]).
    SetQuantity {
        line_id: String,
        quantity: i64,
        hot_available: Option<i64>,
    },
    /// Removes a code the cart holds; refused when it holds none such.
    RemoveCode {
        code: String,
    },
    Patch(CartPatch),
    /// Attaches the customer and merges their latest other active cart of this market;
    /// refused for another customer's cart.
    AttachCustomer {
        customer_id: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Address {
    pub first_name: String,
    pub last_name: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub company: Option<String>,
    pub line1: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub line2: Option<String>,
    pub city: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub state: Option<String>,
    pub postal_code: String,
    pub country: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub phone: Option<String>,
}

const ADDRESS_FIELDS: &[&str] = &[
    "first_name",
    "last_name",
    "company",
    "line1",
    "line2",
    "city",
    "state",
    "postal_code",
    "country",
    "phone",
];

/// Parses an address at `path`; its country must be one of the market's.
pub fn address_from(
    value: &Value,
    path: &str,
    countries: &[String],
) -> Result<Address, FieldError> {
    let map = value
        .as_object()
        .ok_or_else(|| FieldError::new(path, "must be an address object"))?;
    let f = Fields::nested(map, path.to_string());
    f.only(ADDRESS_FIELDS)?;
    let country = f.string("country")?;
    if country.len() != 2 || !country.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(FieldError::new(
            f.path("country"),
            "must be an ISO 3166-1 alpha-2 code such as FR",
        ));
    }
    if !countries.iter().any(|c| c == country) {
        return Err(FieldError::new(
            f.path("country"),
            format!("this market delivers to {}", countries.join(", ")),
        ));
    }
    let phone = f.opt_text("phone", 30)?;
    if let Some(p) = &phone {
        if !p
            .bytes()
            .all(|b| b.is_ascii_digit() || b" +-().".contains(&b))
        {
            return Err(FieldError::new(
                f.path("phone"),
                "may hold digits, spaces and + - ( ) . only",
            ));
        }
    }
    Ok(Address {
        first_name: f.text("first_name", 100)?,
        last_name: f.text("last_name", 100)?,
        company: f.opt_text("company", 100)?,
        line1: f.text("line1", 200)?,
        line2: f.opt_text("line2", 200)?,
        city: f.text("city", 100)?,
        state: f.opt_text("state", 100)?,
        postal_code: f.text("postal_code", 20)?,
        country: country.to_string(),
        phone,
    })
}

/// A plausible email address: one `@`, a dotted domain, no spaces, at most 254 characters.
pub fn is_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    s.len() <= 254
        && !local.is_empty()
        && local.len() <= 64
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains("..")
        && s.chars().all(|c| !c.is_whitespace() && !c.is_control())
}

/// An `If-Match` precondition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IfMatch {
    Any,
    Version(i64),
}

/// Parses `If-Match`: `*`, `"3"`, `W/"3"` or `3`. Anything else cannot match any version.
pub fn parse_if_match(header: Option<&str>) -> Option<Result<IfMatch, ()>> {
    let raw = header?.trim();
    if raw == "*" {
        return Some(Ok(IfMatch::Any));
    }
    let v = raw.strip_prefix("W/").unwrap_or(raw);
    let v = v
        .strip_prefix('"')
        .and_then(|x| x.strip_suffix('"'))
        .unwrap_or(v);
    Some(
        v.parse::<i64>()
            .ok()
            .filter(|n| *n >= 1)
            .map(IfMatch::Version)
            .ok_or(()),
    )
}

/// What a cart row is: a shopper's cart, or a draft order staff build (never shown to the
/// storefront, never expiring, completed through the same checkout).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CartKind {
    #[default]
    Cart,
    Draft,
}

/// A cart as stored.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct CartRecord {
    pub id: String,
    #[serde(default)]
    pub kind: CartKind,
    pub channel_id: String,
    pub market: String,
    pub currency: String,
    pub status: CartStatus,
    pub version: i64,
    pub customer_id: Option<String>,
    pub email: Option<String>,
    pub shipping_address: Option<String>,
    pub billing_address: Option<String>,
    pub shipping_method_id: Option<String>,
    pub note: Option<String>,
    pub discount_codes: String,
    pub merged_into: Option<String>,
    pub expires_at: String,
    pub created_at: String,
    pub updated_at: String,
}

impl CartRecord {
    /// A new, empty, active cart of `kind` at version 1 (its currency and expiry still to set).
    pub fn new(id: &str, kind: CartKind, channel_id: &str, market: &str, now: &str) -> CartRecord {
        CartRecord {
            id: id.to_string(),
            kind,
            channel_id: channel_id.to_string(),
            market: market.to_string(),
            currency: String::new(),
            status: CartStatus::Active,
            version: 1,
            customer_id: None,
            email: None,
            shipping_address: None,
            billing_address: None,
            shipping_method_id: None,
            note: None,
            discount_codes: "[]".into(),
            merged_into: None,
            expires_at: String::new(),
            created_at: now.to_string(),
            updated_at: now.to_string(),
        }
    }

    pub fn codes(&self) -> Vec<String> {
        serde_json::from_str(&self.discount_codes).unwrap_or_default()
    }

    pub fn shipping(&self) -> Option<Address> {
        self.shipping_address
            .as_deref()
            .and_then(|s| serde_json::from_str(s).ok())
    }

    pub fn billing(&self) -> Option<Address> {
        self.billing_address
            .as_deref()
            .and_then(|s| serde_json::from_str(s).ok())
    }

    /// `active` carts past their expiry show (and act) as `expired`.
    pub fn status_at(&self, now: &str) -> CartStatus {
        self.status.at(&self.expires_at, now)
    }
}

/// Where a cart is in its life. Stored: `active`, `checked_out`, `merged` (into the customer's
/// newer cart on sign-in); `expired` is what an active cart past its expiry shows and acts as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CartStatus {
    /// The only status in which a cart can change and be checked out.
    Active,
    CheckedOut,
    Merged,
    Expired,
}

impl CartStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            CartStatus::Active => "active",
            CartStatus::CheckedOut => "checked_out",
            CartStatus::Merged => "merged",
            CartStatus::Expired => "expired",
        }
    }

    /// The one rule of a cart's status: an active cart past its expiry is expired.
    pub fn at(self, expires_at: &str, now: &str) -> CartStatus {
        match self {
            CartStatus::Active if expires_at <= now => CartStatus::Expired,
            other => other,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct LineRecord {
    pub id: String,
    pub sku: String,
    pub quantity: i64,
    pub position: i64,
    pub unit_price_seen: i64,
    /// A price staff set by hand (a draft's line), used instead of the catalog's.
    #[serde(default)]
    pub price_override: Option<i64>,
    /// Why staff set it.
    #[serde(default)]
    pub price_reason: Option<String>,
}

/// Everything a cart is shown from.
#[derive(Debug, Clone)]
pub struct CartData {
    pub cart: CartRecord,
    pub lines: Vec<LineRecord>,
    /// Discounts that may apply (automatic ones and those of the cart's codes), with usage.
    pub discounts: Vec<(DiscountDef, Usage)>,
    pub shipping: Option<ShippingDef>,
    /// Available stock (on_hand - reserved) per SKU of the cart, at the locations serving its
    /// destination.
    pub stock: BTreeMap<String, i64>,
    /// Its SKUs' stock per location, to allocate at checkout (read with the checkout's claim
    /// only; empty otherwise).
    pub picture: crate::domain::stock::StockPicture,
    /// A draft's market as its channel sells it (read with the claim of a draft's completion:
    /// staff have no channel at hand, a storefront knows its own); `None` otherwise.
    pub market: Option<Market>,
}

/// Finds a SKU's product and variant in the snapshot.
pub fn find_sku<'s>(
    snapshot: &'s CatalogSnapshot,
    sku: &str,
) -> Option<(
    &'s crate::domain::catalog::CatalogProduct,
    &'s CatalogVariant,
)> {
    snapshot
        .products
        .iter()
        .find_map(|p| p.variants.iter().find(|v| v.sku == sku).map(|v| (p, v)))
}

fn warning(code: WarningCode, line_id: Option<&str>, message: String) -> Warning {
    Warning {
        code,
        line_id: line_id.map(str::to_string),
        message,
    }
}

/// The result of pricing a cart: its API view and the engine's output (checkout uses both).
pub struct Rendered {
    pub view: CartView,
    pub priced: pricing::PricedCart,
    /// Whether any line is unsellable or short of stock (checkout refuses such carts).
    pub blocking: bool,
}

/// Prices and renders a cart as API.md shows it.
pub fn render(
    data: &CartData,
    market: &Market,
    snapshot: &CatalogSnapshot,
    now_secs: i64,
    now: &str,
) -> Result<Rendered, PricingError> {
    let cart = &data.cart;
    let mut warnings = Vec::new();
    let mut blocking = false;
    let mut inputs = Vec::with_capacity(data.lines.len());
    let mut meta: BTreeMap<&str, (String, String)> = BTreeMap::new();
    let fmt = |minor: i64| describe(minor, market.currency);
    for line in &data.lines {
        let found = find_sku(snapshot, &line.sku);
        let (price, tax_class, weight, product_id, title) = match found {
            Some((p, v)) => {
                let catalog = v.price.minor_units().unwrap_or(0);
                let price = line.price_override.unwrap_or(catalog);
                if line.price_override.is_none() && price != line.unit_price_seen {
                    warnings.push(warning(
                        WarningCode::PriceChanged,
                        Some(&line.id),
                        format!(
                            "The price of {} changed from {} to {}.",
                            line.sku,
                            fmt(line.unit_price_seen),
                            fmt(price)
                        ),
                    ));
                }
                (
                    price,
                    v.tax_class,
                    v.weight_grams,
                    p.id.clone(),
                    crate::domain::catalog::line_title(&p.title, &v.title),
                )
            }
            None => {
                blocking = true;
                warnings.push(warning(
                    WarningCode::SkuUnavailable,
                    Some(&line.id),
                    format!(
                        "{} is no longer sold in this market; remove it to check out.",
                        line.sku
                    ),
                ));
                (
                    line.price_override.unwrap_or(line.unit_price_seen),
                    TaxClass::Standard,
                    0,
                    String::new(),
                    line.sku.clone(),
                )
            }
        };
        let available = data.stock.get(&line.sku).copied().unwrap_or(0);
        if available <= 0 {
            blocking = true;
            warnings.push(warning(
                WarningCode::OutOfStock,
                Some(&line.id),
                format!("{} is out of stock.", line.sku),
            ));
        } else if available < line.quantity {
            blocking = true;
            warnings.push(warning(
                WarningCode::InsufficientStock,
                Some(&line.id),
                format!(
                    "Only {available} of {} left; lower the quantity to check out.",
                    line.sku
                ),
            ));
        }
        meta.insert(&line.id, (product_id.clone(), title));
        inputs.push(LineInput {
            id: line.id.clone(),
            position: line.position as u32,
            sku: line.sku.clone(),
            product_id,
            unit_price: price,
            quantity: line.quantity as u32,
            tax_class,
            weight_grams: weight,
        });
    }
    let codes = cart.codes();
    let discounts: Vec<_> = data
        .discounts
        .iter()
        .filter_map(|(d, _)| d.for_market(&cart.market))
        .collect();
    let usage: BTreeMap<String, Usage> = data
        .discounts
        .iter()
        .map(|(d, u)| (d.id.clone(), *u))
        .collect();
    let shopper = Shopper {
        customer_id: cart.customer_id.clone(),
        previous_orders: None,
    };
    let shipping_method = data
        .shipping
        .as_ref()
        .and_then(|s| s.for_market(&cart.market));
    let address = cart.shipping();
    if data.shipping.is_some() && shipping_method.is_none() {
        warnings.push(warning(
            WarningCode::ShippingMethodUnavailable,
            None,
            "The chosen shipping method is no longer offered here.".into(),
        ));
    }
    let priced = pricing::price(&PricingRequest {
        market,
        lines: &inputs,
        codes: &codes,
        discounts: &discounts,
        usage: &usage,
        shopper: &shopper,
        now: now_secs,
        shipping: shipping_method.as_ref(),
        country: address.as_ref().map(|a| a.country.as_str()),
    })?;
    for w in &priced.warnings {
        match w {
            PricingWarning::DiscountNotApplicable { code, message, .. } => warnings.push(warning(
                WarningCode::DiscountNotApplicable,
                None,
                format!("{code}: {message}"),
            )),
            PricingWarning::ShippingUnavailable { message, .. } => warnings.push(warning(
                WarningCode::ShippingMethodUnavailable,
                None,
                message.clone(),
            )),
        }
    }
    let lines: Vec<LineView> = priced
        .lines
        .iter()
        .map(|l| {
            let (product_id, title) = meta.get(l.id.as_str()).cloned().unwrap_or_default();
            let record = data.lines.iter().find(|r| r.id == l.id);
            LineView {
                id: l.id.clone(),
                sku: record.map(|r| r.sku.clone()).unwrap_or_default(),
                price_reason: record.and_then(|r| r.price_reason.clone()),
                product_id,
                title,
                quantity: l.quantity,
                unit_price: l.unit_price,
                subtotal: l.subtotal,
                discount: l.discount,
                tax: l.tax,
                total: l.total,
            }
        })
        .collect();
    let shipping = priced.shipping.as_ref().map(|s| ShippingView {
        id: s.method_id.clone(),
        name: s.name.clone(),
        price: s.price,
    });
    let billing = cart.billing().or_else(|| address.clone());
    let t = &priced.totals;
    let view = CartView {
        id: cart.id.clone(),
        version: cart.version,
        market: cart.market.clone(),
        currency: market.currency,
        tax_inclusive: market.tax_inclusive,
        status: cart.status_at(now),
        customer_id: cart.customer_id.clone(),
        email: cart.email.clone(),
        shipping_address: address,
        billing_address: billing,
        shipping_method: shipping,
        note: cart.note.clone(),
        discount_codes: priced
            .codes
            .iter()
            .map(|c| CodeView {
                code: c.code.clone(),
                applicable: c.applicable,
                message: c.message.clone(),
            })
            .collect(),
        lines,
        totals: TotalsView {
            subtotal: t.subtotal,
            discount: t.discount,
            shipping: t.shipping,
            tax: t.tax,
            total: t.total,
        },
        warnings,
        merged_into: cart.merged_into.clone(),
        expires_at: cart.expires_at.clone(),
        created_at: cart.created_at.clone(),
        updated_at: cart.updated_at.clone(),
    };
    Ok(Rendered {
        view,
        priced,
        blocking,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_cart_status_is_written_as_it_is_stored_and_shown() {
        for s in [
            CartStatus::Active,
            CartStatus::CheckedOut,
            CartStatus::Merged,
            CartStatus::Expired,
        ] {
            assert_eq!(serde_json::to_value(s).unwrap(), json!(s.as_str()));
            assert_eq!(
                serde_json::from_value::<CartStatus>(json!(s.as_str())).unwrap(),
                s
            );
        }
        let now = "2026-06-01T00:00:00.000Z";
        assert_eq!(
            CartStatus::Active.at("2026-06-01T00:00:00.000Z", now),
            CartStatus::Expired
        );
        assert_eq!(
            CartStatus::Active.at("2026-06-01T00:00:00.001Z", now),
            CartStatus::Active
        );
        assert_eq!(
            CartStatus::CheckedOut.at("2000-01-01T00:00:00.000Z", now),
            CartStatus::CheckedOut
        );
    }

    #[test]
    fn emails_need_one_at_and_a_dotted_domain() {
        for ok in ["a@b.co", "jean.dupont+shop@example.fr"] {
            assert!(is_email(ok), "{ok}");
        }
        for bad in [
            "", "a", "a@b", "@b.co", "a@@b.co", "a b@c.co", "a@b..co", "a@.b.co", "a@b.co.",
        ] {
            assert!(!is_email(bad), "{bad}");
        }
    }

    #[test]
    fn if_match_accepts_star_quoted_weak_and_bare_versions() {
        assert_eq!(parse_if_match(None), None);
        assert_eq!(parse_if_match(Some("*")), Some(Ok(IfMatch::Any)));
        assert_eq!(parse_if_match(Some("\"3\"")), Some(Ok(IfMatch::Version(3))));
        assert_eq!(
            parse_if_match(Some("W/\"3\"")),
            Some(Ok(IfMatch::Version(3)))
        );
        assert_eq!(parse_if_match(Some("3")), Some(Ok(IfMatch::Version(3))));
        assert_eq!(parse_if_match(Some("\"abc\"")), Some(Err(())));
        assert_eq!(parse_if_match(Some("0")), Some(Err(())));
    }

    #[test]
    fn addresses_are_validated_field_by_field_against_the_market() {
        let fr = vec!["FR".to_string(), "MC".to_string()];
        let good = json!({"first_name": "Jeanne", "last_name": "Martin", "line1": "3 rue de la Paix",
                          "city": "Paris", "postal_code": "75002", "country": "FR", "phone": "+33 1 23 45 67 89"});
        let a = address_from(&good, "shipping_address", &fr).unwrap();
        assert_eq!(a.country, "FR");
        assert_eq!(a.company, None);
        for (patch, field) in [
            (json!({"country": "US"}), "shipping_address.country"),
            (json!({"country": "fr"}), "shipping_address.country"),
            (json!({"first_name": ""}), "shipping_address.first_name"),
            (
                json!({"postal_code": "x".repeat(21)}),
                "shipping_address.postal_code",
            ),
            (json!({"phone": "call me"}), "shipping_address.phone"),
            (json!({"floor": 3}), "shipping_address.floor"),
        ] {
            let mut v = good.clone();
            for (k, val) in patch.as_object().unwrap() {
                v[k] = val.clone();
            }
            assert_eq!(
                address_from(&v, "shipping_address", &fr).unwrap_err().field,
                field
            );
        }
    }
}
