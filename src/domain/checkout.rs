//! Checkout rules: what a cart needs before it becomes an order, the order it becomes, and
//! why the guarded batch that places it refused (stock or a discount's limit ran out meanwhile).

use crate::domain::cart::{CartData, Rendered, WarningCode};
use crate::domain::order::{NewOrder, OrderLine, PaymentMethod};
use serde_json::{json, Value};

/// Every reason a checkout is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckoutRefusal {
    /// No such cart in this channel.
    NotFound,
    /// The cart is checked out, merged or expired.
    NotActive {
        status: crate::domain::cart::CartStatus,
    },
    /// The cart's market is no longer sold on its channel.
    MarketGone,
    /// A required part of the order is missing or cannot be used: `field` says which.
    Incomplete {
        field: &'static str,
        message: &'static str,
    },
    InsufficientStock {
        sku: String,
        available: i64,
    },
    UnknownSku {
        sku: String,
    },
    DiscountNotApplicable {
        reason: String,
        message: String,
    },
    /// The cart changed between its read and the order's batch; `cause` is for the log.
    CartChanged {
        cause: String,
    },
    /// The payment provider is not configured or failed; nothing was kept. Retry later.
    PaymentUnavailable {
        cause: String,
    },
    /// The client sent too many checkouts.
    RateLimited,
}

/// Server-side checks of everything the order needs, in the order a shopper fixes them.
pub fn validate(data: &CartData, rendered: &Rendered) -> Result<(), CheckoutRefusal> {
    use CheckoutRefusal::*;
    if data.lines.is_empty() {
        return Err(Incomplete {
            field: "lines",
            message: "the cart is empty",
        });
    }
    if rendered.blocking {
        for line in &data.lines {
            let available = data.stock.get(&line.sku).copied().unwrap_or(0);
            if available < line.quantity {
                return Err(InsufficientStock {
                    sku: line.sku.clone(),
                    available: available.max(0),
                });
            }
        }
        let unsold = rendered
            .view
            .warnings
            .iter()
            .find(|w| w.code == WarningCode::SkuUnavailable);
        if let Some(w) = unsold {
            let sku = data
                .lines
                .iter()
                .find(|l| w.line_id.as_deref() == Some(l.id.as_str()));
            return Err(UnknownSku {
                sku: sku.map(|l| l.sku.clone()).unwrap_or_default(),
            });
        }
    }
    if data.cart.email.is_none() {
        return Err(Incomplete {
            field: "email",
            message: "an email address is needed to place the order",
        });
    }
    if data.cart.shipping_address.is_none() {
        return Err(Incomplete {
            field: "shipping_address",
            message: "a shipping address is needed to place the order",
        });
    }
    if data.cart.shipping_method_id.is_none() {
        return Err(Incomplete {
            field: "shipping_method",
            message: "choose a shipping method",
        });
    }
    if rendered.priced.shipping.is_none() {
        return Err(Incomplete {
            field: "shipping_method",
            message: "the chosen shipping method cannot ship this cart",
        });
    }
    if let Some(c) = rendered.priced.codes.iter().find(|c| !c.applicable) {
        return Err(DiscountNotApplicable {
            reason: c.reason.unwrap_or("not_applicable").into(),
            message: format!("{}: {}", c.code, c.message),
        });
    }
    Ok(())
}

/// Identity and terms of the order a checkout places.
pub struct Terms {
    pub order_id: String,
    pub channel_id: String,
    /// A storefront's checkout, or a draft staff completed.
    pub source: crate::domain::order::OrderSource,
    pub tax_inclusive: bool,
    pub currency: String,
    pub payment_method: PaymentMethod,
    pub pay_by: String,
}

/// The order a validated, priced cart becomes: its lines at the prices just computed (never
/// the client's), totals, addresses, shipping method and codes as shown. `line_id` names each
/// new order line.
pub fn new_order(
    data: &CartData,
    rendered: &Rendered,
    terms: Terms,
    mut line_id: impl FnMut() -> String,
) -> NewOrder {
    let (priced, view) = (&rendered.priced, &rendered.view);
    let minor = |m: &crate::domain::money::Money| m.minor_units().unwrap_or(0);
    let lines = view
        .lines
        .iter()
        .map(|l| {
            let mut line = OrderLine::new(
                line_id(),
                l.sku.clone(),
                l.title.clone(),
                i64::from(l.quantity),
                minor(&l.unit_price),
            )
            .priced(
                minor(&l.subtotal),
                minor(&l.discount),
                minor(&l.tax),
                minor(&l.total),
            );
            line.price_reason = l.price_reason.clone();
            line
        })
        .collect();
    let body: Value = json!({
        "tax_inclusive": terms.tax_inclusive,
        "email": data.cart.email,
        "totals": view.totals,
        "shipping_address": view.shipping_address,
        "billing_address": view.billing_address,
        "shipping_method": view.shipping_method,
        "discount_codes": priced.applied.iter().filter_map(|a| a.code.clone()).collect::<Vec<_>>(),
        // Not shown: the store a pickup order is collected from (its stock alone serves it).
        "pickup_location": data.shipping.as_ref().and_then(|s| s.location_id.clone()),
    });
    NewOrder {
        id: terms.order_id,
        channel_id: terms.channel_id,
        source: terms.source,
        external_id: None,
        cart_id: data.cart.id.clone(),
        market: data.cart.market.clone(),
        customer_id: data.cart.customer_id.clone(),
        payment_method: terms.payment_method,
        total_minor: minor(&priced.totals.total),
        currency: terms.currency,
        body,
        pay_by: terms.pay_by,
        lines,
    }
}

/// Why the order's batch was refused, from the stock read after it: a line short of stock
/// first, then a discount used up meanwhile, else the cart itself changed.
pub fn conflict(
    data: &CartData,
    available: &[(String, i64)],
    discounts_applied: bool,
    cause: &str,
) -> CheckoutRefusal {
    for line in &data.lines {
        let left = available
            .iter()
            .find(|(sku, _)| *sku == line.sku)
            .map_or(0, |(_, a)| *a);
        if left < line.quantity {
            return CheckoutRefusal::InsufficientStock {
                sku: line.sku.clone(),
                available: left.max(0),
            };
        }
    }
    if discounts_applied {
        return CheckoutRefusal::DiscountNotApplicable {
            reason: "usage_limit_reached".into(),
            message: "a discount of this cart was used up meanwhile; review the cart".into(),
        };
    }
    CheckoutRefusal::CartChanged {
        cause: cause.to_string(),
    }
}
