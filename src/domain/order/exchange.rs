//! Exchanges (API.md "After the sale"): an approved return's goods replaced by a new order
//! (`kind: "exchange"`) priced at today's catalog prices in the original market, credited with
//! the returned lines' paid value. The difference is the new order's balance: collected like
//! any order's, or given back.

use super::edit::Pricing;
use super::ledger::next_share;
use super::returns::Return;
use super::{NewOrder, Order, OrderKind, OrderLine, OrderStatus, PaymentStatus};
use crate::domain::cart::find_sku;
use crate::domain::money::Money;
use crate::domain::pricing::{price, LineInput, PricingRequest, Shopper};
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// An exchange order is never canceled for want of payment: the credit it holds is the
/// customer's.
pub const NEVER: &str = "9999-12-31T23:59:59.999Z";

/// Why the replacement cannot be made: `lines[index]`, or the order as a whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadLine {
    pub index: usize,
    pub reason: String,
}

/// What the returned lines of `ret` are worth: each line's share for the units returned, after
/// those already refunded.
pub fn credit(original: &Order, ret: &Return) -> i64 {
    ret.lines
        .iter()
        .filter_map(|r| {
            let l = original.lines.iter().find(|l| l.id == r.line_id)?;
            Some(next_share(
                l.total,
                l.quantity,
                l.refunded_quantity,
                r.quantity,
            ))
        })
        .sum()
}

/// The replacement order of `ret` for `wanted` (SKU, units), credited with `credit`, placed
/// `now`: confirmed when the credit covers it, else waiting for the rest.
pub fn replacement(
    original: &Order,
    ret: &Return,
    wanted: &[(String, i64)],
    pricing: &Pricing<'_>,
    credit: i64,
    ids: &mut dyn FnMut(&str) -> String,
    now: &str,
) -> Result<Order, BadLine> {
    if wanted.is_empty() {
        return Err(BadLine {
            index: 0,
            reason: "an exchange names at least one SKU".into(),
        });
    }
    let mut inputs = Vec::with_capacity(wanted.len());
    let mut lines = Vec::with_capacity(wanted.len());
    for (index, (sku, quantity)) in wanted.iter().enumerate() {
        if wanted[..index].iter().any(|(other, _)| other == sku) {
            return Err(BadLine {
                index,
                reason: format!("{sku} is named twice: give its whole quantity once"),
            });
        }
        let Some((product, variant)) = find_sku(pricing.catalog, sku) else {
            return Err(BadLine {
                index,
                reason: format!("{sku} is not sold in market {}", original.market),
            });
        };
        let unit_price = variant.price.minor_units().unwrap_or(0);
        let id = ids("line");
        inputs.push(LineInput {
            id: id.clone(),
            position: index as u32,
            sku: variant.sku.clone(),
            product_id: product.id.clone(),
            unit_price,
            quantity: *quantity as u32,
            tax_class: variant.tax_class,
            weight_grams: variant.weight_grams,
        });
        lines.push(OrderLine::new(
            id,
            variant.sku.clone(),
            crate::domain::catalog::line_title(&product.title, &variant.title),
            *quantity,
            unit_price,
        ));
    }
    let priced = price(&PricingRequest {
        market: pricing.market,
        lines: &inputs,
        codes: &[],
        discounts: &[],
        usage: &BTreeMap::new(),
        shopper: &Shopper {
            customer_id: original.customer_id.clone(),
            previous_orders: None,
        },
        now: pricing.created_secs,
        shipping: None,
        country: None,
    })
    .map_err(|e| BadLine {
        index: 0,
        reason: format!("the replacement cannot be priced: {e:?}"),
    })?;
    let minor = |m: &Money| m.minor_units().unwrap_or(0);
    for (line, p) in lines.iter_mut().zip(&priced.lines) {
        line.subtotal = minor(&p.subtotal);
        line.discount = minor(&p.discount);
        line.tax = minor(&p.tax);
        line.total = minor(&p.total);
    }
    let total = minor(&priced.totals.total);
    let placed: Value = serde_json::from_str(&original.body).unwrap_or_else(|_| json!({}));
    let money = |m: &Money| serde_json::to_value(m).unwrap_or(Value::Null);
    let t = &priced.totals;
    let body = json!({
        "tax_inclusive": placed["tax_inclusive"],
        "email": placed["email"],
        "totals": {"subtotal": money(&t.subtotal), "discount": money(&t.discount), "shipping": money(&t.shipping),
                   "tax": money(&t.tax), "total": money(&t.total)},
        "shipping_address": placed["shipping_address"],
        "billing_address": placed["billing_address"],
        "shipping_method": placed["shipping_method"].as_object().map(|m| json!({
            "id": m.get("id"), "name": m.get("name"), "price": money(&t.shipping),
        })),
        "discount_codes": [],
    });
    let mut order = Order::place(
        NewOrder {
            id: ids("ord"),
            channel_id: original.channel_id.clone(),
            // Attributed as the sale it replaces.
            source: original.source,
            external_id: None,
            cart_id: format!("exchange:{}", ret.id),
            market: original.market.clone(),
            customer_id: original.customer_id.clone(),
            payment_method: original.payment_method,
            total_minor: total,
            currency: original.currency.clone(),
            body,
            pay_by: NEVER.into(),
            lines,
        },
        now,
    );
    order.kind = OrderKind::Exchange;
    order.exchange_of = Some(original.id.clone());
    // Money for it was paid with the original's payment (a refund of the difference goes
    // back through it).
    order.payment_reference = original.payment_reference.clone();
    order.paid_minor = credit;
    if credit >= total {
        order.status = OrderStatus::Confirmed;
        order.payment_status = PaymentStatus::Paid;
    }
    Ok(order)
}
