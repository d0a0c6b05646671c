//! Order edits (API.md "After the sale"): lines added, their quantity changed or removed before
//! they ship. Existing lines keep their unit prices, added lines take today's catalog price,
//! the order's discount codes are evaluated again as of the order's creation, the shipping
//! stays as placed; the stock to reserve or release and the new totals follow. Pure: the use
//! case brings the market, the catalog and the discounts.

use super::{Order, OrderLine, OrderStatus, PaymentMethod, StockMove};
use crate::domain::cart::find_sku;
use crate::domain::catalog::CatalogSnapshot;
use crate::domain::market::Market;
use crate::domain::money::Money;
use crate::domain::pricing::{price, Discount, LineInput, PricingRequest, Shopper};
use crate::domain::stock::{self, Destination, Short, StockPicture, Wanted};
use serde_json::{json, Value};

/// One change of an edit, as the client sent it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    Add { sku: String, quantity: i64 },
    SetQuantity { line_id: String, quantity: i64 },
    Remove { line_id: String },
}

impl Change {
    pub fn view(&self) -> Value {
        match self {
            Change::Add { sku, quantity } => json!({"op": "add", "sku": sku, "quantity": quantity}),
            Change::SetQuantity { line_id, quantity } => {
                json!({"op": "set_quantity", "line_id": line_id, "quantity": quantity})
            }
            Change::Remove { line_id } => json!({"op": "remove", "line_id": line_id}),
        }
    }
}

/// What the edit is priced with.
pub struct Pricing<'a> {
    pub market: &'a Market,
    /// Today's catalog of the order's market.
    pub catalog: &'a CatalogSnapshot,
    /// The automatic discounts and those of the order's codes, as defined now.
    pub discounts: &'a [Discount],
    /// The order's creation, in Unix seconds: discounts are judged as of then.
    pub created_secs: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EditRefusal {
    /// The order's status (or an unpaid card payment, or refunds made) forbids edits: 409.
    Illegal { from: OrderStatus, why: String },
    /// `changes[index]` cannot apply: 422.
    BadChange { index: usize, reason: String },
    /// The edit cannot be priced (a SKU of the order is no longer sold, or a tax rate is
    /// missing): 422 naming `changes`.
    Unpriceable(String),
}

/// The order after the edit (lines, totals, total), and the stock it moves: a negative
/// `release` reserves. Units it adds are `wanted` until [`Edited::allocate`] places them.
#[derive(Debug, Clone, PartialEq)]
pub struct Edited {
    pub order: Order,
    pub stock: Vec<StockMove>,
    pub wanted: Vec<Wanted>,
}

impl Edited {
    /// Allocates the units the edit adds by checkout's rules (`stock::allocate`) and reserves
    /// them; refused when the eligible locations cannot cover them.
    pub fn allocate(
        mut self,
        picture: &StockPicture,
        destination: Destination<'_>,
    ) -> Result<Edited, Short> {
        // What the same edit releases is available to what it adds (the batch nets them).
        let mut picture = picture.clone();
        for m in self.stock.iter().filter(|m| m.release > 0) {
            *picture
                .available
                .entry((m.sku.clone(), m.location.clone()))
                .or_default() += m.release;
        }
        let allocations = picture.allocate(&self.wanted, destination)?;
        self.stock.extend(self.order.hold(allocations));
        self.wanted.clear();
        Ok(self)
    }
}

/// Applies `changes` to `order`. `new_line_id` names added lines.
pub fn edit(
    order: &Order,
    changes: &[Change],
    pricing: &Pricing<'_>,
    new_line_id: &mut dyn FnMut() -> String,
) -> Result<Edited, EditRefusal> {
    let illegal = |why: &str| EditRefusal::Illegal {
        from: order.status,
        why: why.to_string(),
    };
    match order.status {
        OrderStatus::PendingPayment if order.payment_method == PaymentMethod::Stripe => {
            return Err(illegal(
                "an unpaid card order cannot be edited: its payment is for the placed total",
            ))
        }
        OrderStatus::PendingPayment | OrderStatus::Confirmed => {}
        _ => return Err(illegal("only orders not yet fulfilled can be edited")),
    }
    if !order.refunds.is_empty() {
        return Err(illegal("an order with refunds cannot be edited"));
    }
    if changes.is_empty() {
        return Err(EditRefusal::BadChange {
            index: 0,
            reason: "an edit makes at least one change".into(),
        });
    }
    let mut lines: Vec<OrderLine> = order.lines.clone();
    let mut touched: Vec<String> = Vec::new();
    for (index, change) in changes.iter().enumerate() {
        let bad = |reason: &str| EditRefusal::BadChange {
            index,
            reason: reason.to_string(),
        };
        match change {
            Change::Add { sku, quantity } => {
                let Some((product, variant)) = find_sku(pricing.catalog, sku) else {
                    return Err(bad(&format!(
                        "{sku} is not sold in market {}",
                        pricing.market.code
                    )));
                };
                let unit_price = variant.price.minor_units().map_err(|_| bad("bad price"))?;
                let id = new_line_id();
                touched.push(id.clone());
                lines.push(OrderLine::new(
                    id,
                    variant.sku.clone(),
                    crate::domain::catalog::line_title(&product.title, &variant.title),
                    *quantity,
                    unit_price,
                ));
            }
            Change::SetQuantity { line_id, .. } | Change::Remove { line_id } => {
                if touched.contains(line_id) {
                    return Err(bad("names a line already changed in this edit"));
                }
                let Some(line) = lines.iter_mut().find(|l| &l.id == line_id) else {
                    return Err(bad(&format!("the order has no line {line_id}")));
                };
                if line.fulfilled_quantity > 0 {
                    return Err(bad("this line has shipped: it can no longer be edited"));
                }
                touched.push(line_id.clone());
                match change {
                    Change::SetQuantity { quantity, .. } => line.quantity = *quantity,
                    _ => line.quantity = 0,
                }
            }
        }
    }
    lines.retain(|l| l.quantity > 0);
    if lines.is_empty() {
        return Err(EditRefusal::BadChange {
            index: changes.len() - 1,
            reason: "an order keeps at least one line (cancel it instead)".into(),
        });
    }
    let priced = reprice(order, &mut lines, pricing)?;
    let mut after = order.clone();
    after.lines = lines;
    after.total_minor = priced.total;
    after.body = priced.body;
    // Removing the last unshipped line leaves everything shipped.
    after.fulfillment_status = super::fulfillment_of(&after.state().lines);
    if after.status == OrderStatus::Confirmed
        && after.fulfillment_status == super::FulfillmentStatus::Fulfilled
    {
        after.status = OrderStatus::Fulfilled;
    }
    let (stock, wanted) = stock_moves(order, &mut after);
    Ok(Edited {
        stock,
        wanted,
        order: after,
    })
}

struct Repriced {
    total: i64,
    body: String,
}

/// Prices `lines` (amounts written into them) and the order's totals: shipping as placed.
fn reprice(
    order: &Order,
    lines: &mut [OrderLine],
    pricing: &Pricing<'_>,
) -> Result<Repriced, EditRefusal> {
    let mut inputs = Vec::with_capacity(lines.len());
    for (position, line) in lines.iter().enumerate() {
        let Some((product, variant)) = find_sku(pricing.catalog, &line.sku) else {
            return Err(EditRefusal::Unpriceable(format!(
                "{} is no longer sold in market {}: the order cannot be priced again",
                line.sku, pricing.market.code
            )));
        };
        inputs.push(LineInput {
            id: line.id.clone(),
            position: position as u32,
            sku: line.sku.clone(),
            product_id: product.id.clone(),
            unit_price: line.unit_price,
            quantity: line.quantity as u32,
            tax_class: variant.tax_class,
            weight_grams: variant.weight_grams,
        });
    }
    let mut body: Value = serde_json::from_str(&order.body).unwrap_or_else(|_| json!({}));
    let codes: Vec<String> = body["discount_codes"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|c| c.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    let shopper = Shopper {
        customer_id: order.customer_id.clone(),
        // As of its creation, this order was the customer's next one.
        previous_orders: order.customer_id.as_ref().map(|_| 0),
    };
    let priced = price(&PricingRequest {
        market: pricing.market,
        lines: &inputs,
        codes: &codes,
        discounts: pricing.discounts,
        usage: &std::collections::BTreeMap::new(),
        shopper: &shopper,
        now: pricing.created_secs,
        shipping: None,
        country: None,
    })
    .map_err(|e| EditRefusal::Unpriceable(format!("pricing failed: {e:?}")))?;
    let minor = |m: &Money| m.minor_units().unwrap_or(0);
    for (line, p) in lines.iter_mut().zip(&priced.lines) {
        line.subtotal = minor(&p.subtotal);
        line.discount = minor(&p.discount);
        line.tax = minor(&p.tax);
        line.total = minor(&p.total);
    }
    // The shipping as placed: its price and its tax.
    let placed_lines_tax: i64 = order.lines.iter().map(|l| l.tax).sum();
    let placed_tax = money_minor(&body["totals"]["tax"]).unwrap_or(placed_lines_tax);
    let shipping_tax = (placed_tax - placed_lines_tax).max(0);
    let shipping_value = order.shipping_value();
    let lines_total: i64 = lines.iter().map(|l| l.total).sum();
    let total = lines_total + shipping_value;
    let currency = pricing.market.currency;
    let money = |minor: i64| {
        Money::from_minor(minor, currency)
            .ok()
            .and_then(|m| serde_json::to_value(m).ok())
            .unwrap_or(Value::Null)
    };
    let t = &priced.totals;
    body["totals"] = json!({
        "subtotal": money(minor(&t.subtotal)),
        "discount": money(minor(&t.discount)),
        "shipping": body["totals"]["shipping"].clone(),
        "tax": money(minor(&t.tax) + shipping_tax),
        "total": money(total),
    });
    body["discount_codes"] = json!(priced
        .applied
        .iter()
        .filter_map(|a| a.code.clone())
        .collect::<Vec<_>>());
    Ok(Repriced {
        total,
        body: body.to_string(),
    })
}

fn money_minor(v: &Value) -> Option<i64> {
    let (amount, currency) = (v["amount"].as_str()?, v["currency"].as_str()?);
    Money::parse(amount, currency).ok()?.minor_units().ok()
}

/// Per line, the units an edit releases (from its allocations, the last first) and those it
/// adds (to allocate); the lines after lose what they release.
fn stock_moves(before: &Order, after: &mut Order) -> (Vec<StockMove>, Vec<Wanted>) {
    let mut stock = Vec::new();
    let mut wanted = Vec::new();
    for old in &before.lines {
        let released = match after.lines.iter_mut().find(|l| l.id == old.id) {
            Some(line) => stock::release(&mut line.allocations, old.quantity - line.quantity),
            None => {
                let mut gone = old.allocations.clone();
                stock::release(&mut gone, old.quantity - old.fulfilled_quantity)
            }
        };
        stock.extend(released.into_iter().map(|(location, n)| StockMove {
            sku: old.sku.clone(),
            location,
            release: n,
            ship: 0,
        }));
    }
    for line in &after.lines {
        let had = before
            .lines
            .iter()
            .find(|l| l.id == line.id)
            .map_or(0, |l| l.quantity);
        if line.quantity > had {
            wanted.push(Wanted {
                line_id: line.id.clone(),
                sku: line.sku.clone(),
                quantity: line.quantity - had,
            });
        }
    }
    (stock, wanted)
}
