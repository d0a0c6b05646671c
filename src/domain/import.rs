//! Orders imported from the channels that sold them (API.md "Orders from every channel"): a
//! marketplace's or a social shop's sales enter Comptoir as orders like any other, priced as
//! the channel charged, taxed by the market's rules, allocated by the location rules. A sale
//! that already happened is never refused for stock: what no location holds is backordered
//! (the line's unallocated units) and reported as `inventory.oversold`. Pure: the use case
//! brings what the platform knows, and writes the plan in one guarded batch.

use crate::domain::cart::{address_from, is_email};
use crate::domain::events::{Envelope, EventType};
use crate::domain::fields::{FieldError, Fields};
use crate::domain::market::{Market, TaxClass};
use crate::domain::money::Money;
use crate::domain::order::{apply, Action, NewOrder, Order, OrderLine, OrderSource};
use crate::domain::order::{PaymentMethod, StockMove};
use crate::domain::pricing::engine::taxes_of;
use crate::domain::product::{is_resource_id, normalize_sku};
use crate::domain::stock::{Destination, StockPicture};
use serde::Serialize;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

/// Orders per call.
pub const MAX_ORDERS: usize = 100;
/// Lines per order.
pub const MAX_LINES: usize = 250;

#[derive(Debug, Clone, PartialEq)]
pub struct ImportedLine {
    pub sku: String,
    pub quantity: i64,
    pub unit_price: Money,
    /// The line's discount, in all (not per unit).
    pub discount: Option<Money>,
}

/// One order as the channel sent it, its shape checked.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportedOrder {
    pub channel: String,
    pub external_id: String,
    pub market: String,
    pub email: String,
    pub placed_at: String,
    pub lines: Vec<ImportedLine>,
    pub shipping_method: Option<String>,
    pub shipping_price: Money,
    pub shipping_address: Value,
    pub billing_address: Option<Value>,
    pub paid: bool,
    pub payment_reference: Option<String>,
}

/// Reads `{orders: [...]}`. `instant` reads a client's instant (RFC 3339) as stored.
///
/// # Errors
/// The field at fault (`orders[3].lines[0].quantity`); an unknown field is flagged so.
pub fn parse(
    body: &Map<String, Value>,
    instant: fn(&str) -> Option<String>,
) -> Result<Vec<ImportedOrder>, FieldError> {
    let top = Fields::new(body);
    top.only(&["orders"])?;
    let list = top.objects("orders", 1, MAX_ORDERS)?;
    let mut out: Vec<ImportedOrder> = Vec::with_capacity(list.len());
    for f in &list {
        f.only(&[
            "channel",
            "external_id",
            "market",
            "email",
            "placed_at",
            "lines",
            "shipping",
            "shipping_address",
            "billing_address",
            "paid",
            "payment_reference",
        ])?;
        let channel = f.string("channel")?.to_string();
        if !is_resource_id(&channel) {
            return Err(FieldError::new(f.path("channel"), "must be a channel id"));
        }
        let external_id = f.text("external_id", 128)?;
        if out
            .iter()
            .any(|o| o.channel == channel && o.external_id == external_id)
        {
            return Err(FieldError::new(
                f.path("external_id"),
                "this channel's order is already in this call",
            ));
        }
        let market = f.string("market")?.trim().to_ascii_uppercase();
        let email = f.string("email")?.trim().to_string();
        if !is_email(&email) {
            return Err(FieldError::new(f.path("email"), "must be an email address"));
        }
        let placed_at = instant(f.string("placed_at")?).ok_or_else(|| {
            FieldError::new(
                f.path("placed_at"),
                "must be an RFC 3339 instant such as 2026-11-29T09:30:00Z",
            )
        })?;
        let raw_lines = f.objects("lines", 1, MAX_LINES)?;
        let mut lines = Vec::with_capacity(raw_lines.len());
        for lf in &raw_lines {
            lf.only(&["sku", "quantity", "unit_price", "discount"])?;
            let sku = normalize_sku(lf.string("sku")?)
                .ok_or_else(|| FieldError::new(lf.path("sku"), "must be a SKU"))?;
            lines.push(ImportedLine {
                sku,
                quantity: lf.int("quantity", 1..=9999)?,
                unit_price: lf.money("unit_price")?,
                discount: lf.opt_money("discount")?,
            });
        }
        let shipping = f.object("shipping")?;
        shipping.only(&["method", "price"])?;
        let shipping_method = match shipping.opt_string("method")? {
            None => None,
            Some(m) if is_resource_id(m) => Some(m.to_string()),
            Some(_) => {
                return Err(FieldError::new(
                    shipping.path("method"),
                    "must be a shipping method id",
                ))
            }
        };
        let shipping_price = shipping.money("price")?;
        let shipping_address = f.value("shipping_address")?.clone();
        let billing_address = f.entries_value("billing_address").cloned();
        let payment_reference = match f.opt_string("payment_reference")? {
            None => None,
            Some(_) => Some(f.text("payment_reference", 255)?),
        };
        out.push(ImportedOrder {
            channel,
            external_id,
            market,
            email,
            placed_at,
            lines,
            shipping_method,
            shipping_price,
            shipping_address,
            billing_address,
            paid: f.bool("paid")?,
            payment_reference,
        });
    }
    Ok(out)
}

/// What the catalog says of a SKU.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownVariant {
    /// `Product — Variant`, as a checkout's line shows it.
    pub title: String,
    pub tax_class: TaxClass,
}

/// What the platform knows, read in one round trip before the plan.
#[derive(Debug, Clone, Default)]
pub struct Known {
    pub markets: Vec<Market>,
    /// Channel id → the market codes it sells in.
    pub channels: BTreeMap<String, Vec<String>>,
    pub variants: BTreeMap<String, KnownVariant>,
    /// (channel, external id) → the order already imported.
    pub existing: BTreeMap<(String, String), String>,
    pub picture: StockPicture,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImportRefusal {
    /// 422 `validation_failed` naming the field.
    Field(FieldError),
    /// 422 `unknown_sku`: the catalog has no such SKU.
    UnknownSku { field: String, sku: String },
    /// The market's own definition cannot price the order (a stored tax rate the engine cannot
    /// use): the platform's fault, not the caller's.
    Misconfigured { cause: String },
}

impl From<FieldError> for ImportRefusal {
    fn from(e: FieldError) -> ImportRefusal {
        ImportRefusal::Field(e)
    }
}

/// Something the merchant should know about an imported order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImportWarning {
    /// `backordered`.
    pub code: &'static str,
    /// The line concerned (its index in the order sent).
    pub line: Option<usize>,
    pub message: String,
}

/// The answer for one order of the call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImportResult {
    pub external_id: String,
    pub order_id: String,
    /// False when the order was imported before: the same order answers again.
    pub created: bool,
    pub warnings: Vec<ImportWarning>,
}

/// Units of a SKU sold beyond stock by one import call, and the lines that owe them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Oversold {
    /// Its `inventory.oversold` event.
    pub event_id: String,
    pub sku: String,
    pub quantity: i64,
    /// (order id, line id, units).
    pub lines: Vec<(String, String, i64)>,
}

impl Oversold {
    /// The `data` of its `inventory.oversold` event. It names no channel or location, so a
    /// destination filtered by either does not hear it.
    pub fn data(&self) -> Value {
        json!({
            "sku": self.sku,
            "backordered_quantity": self.quantity,
            "lines": self.lines.iter().map(|(order, line, q)| json!({
                "order_id": order, "line_id": line, "quantity": q,
            })).collect::<Vec<_>>(),
        })
    }
}

/// What one import call writes, in one guarded batch.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub results: Vec<ImportResult>,
    /// The new orders, allocated, with their events (`order.placed`, then `order.confirmed`
    /// for an order the channel was paid for).
    pub orders: Vec<(Order, Vec<Envelope>)>,
    /// The stock the new orders reserve.
    pub reserve: Vec<StockMove>,
    pub oversold: Vec<Oversold>,
}

/// Plans the call: the orders already imported answer again, every new one is checked against
/// what the platform knows, priced as the channel charged it, taxed by its market and
/// allocated from what the locations hold (orders of the call in turn).
///
/// # Errors
/// The first field at fault; nothing is written.
pub fn plan(
    orders: &[ImportedOrder],
    known: &Known,
    ids: &mut dyn FnMut(&str) -> String,
    now: &str,
) -> Result<Plan, ImportRefusal> {
    // What the locations hold, less what earlier orders of the call took.
    let mut stock = known.picture.clone();
    let mut plan = Plan {
        results: Vec::with_capacity(orders.len()),
        orders: Vec::new(),
        reserve: Vec::new(),
        oversold: Vec::new(),
    };
    for (i, o) in orders.iter().enumerate() {
        let key = (o.channel.clone(), o.external_id.clone());
        if let Some(id) = known.existing.get(&key) {
            plan.results.push(ImportResult {
                external_id: o.external_id.clone(),
                order_id: id.clone(),
                created: false,
                warnings: vec![],
            });
            continue;
        }
        let (mut order, country) = order_of(i, o, known, ids, now)?;
        let order_id = order.id.clone();
        // Each line gets what the locations serving its country have left (lines of one SKU
        // in turn), the rest is backordered.
        let destination = Destination::Ship(Some(&country));
        let (allocations, shortfalls) = stock.allocate_available(&order.wanted(), destination);
        let mut warnings = Vec::new();
        for short in shortfalls {
            warnings.push(ImportWarning {
                code: "backordered",
                line: order.lines.iter().position(|l| l.id == short.line_id),
                message: format!(
                    "{} of {} beyond what the locations serving {country} hold: backordered",
                    short.quantity, short.sku
                ),
            });
            let k = match plan.oversold.iter().position(|x| x.sku == short.sku) {
                Some(k) => k,
                None => {
                    plan.oversold.push(Oversold {
                        event_id: ids("evt"),
                        sku: short.sku.clone(),
                        quantity: 0,
                        lines: vec![],
                    });
                    plan.oversold.len() - 1
                }
            };
            plan.oversold[k].quantity += short.quantity;
            plan.oversold[k]
                .lines
                .push((order_id.clone(), short.line_id, short.quantity));
        }
        let reserve = order.hold(allocations);
        for m in &reserve {
            // A reservation is a negative release.
            if let Some(n) = stock
                .available
                .get_mut(&(m.sku.clone(), m.location.clone()))
            {
                *n += m.release;
            }
        }
        plan.reserve.extend(reserve);
        let mut events = vec![Envelope::new(
            &ids("evt"),
            EventType::OrderPlaced,
            1,
            now,
            order.view(),
        )];
        // Paid for on the channel: confirmed as mark-paid confirms any order.
        if o.paid {
            if let Ok(Some(t)) = apply(&order.state(), &Action::MarkPaid(None)) {
                let change = order.change(&t, now, &ids("evt"), None);
                events.extend(change.events);
                order = change.after;
            }
        }
        plan.results.push(ImportResult {
            external_id: o.external_id.clone(),
            order_id,
            created: true,
            warnings,
        });
        plan.orders.push((order, events));
    }
    Ok(plan)
}

/// The new order `o` (the `i`-th of the call) becomes: checked against what the platform knows,
/// priced as the channel charged it and taxed by its market, paid or not. Not yet allocated;
/// with its shipping country.
fn order_of(
    i: usize,
    o: &ImportedOrder,
    known: &Known,
    ids: &mut dyn FnMut(&str) -> String,
    now: &str,
) -> Result<(Order, String), ImportRefusal> {
    let at = |name: &str| format!("orders[{i}].{name}");
    let Some(sells) = known.channels.get(&o.channel) else {
        return Err(FieldError::new(at("channel"), format!("no channel {}", o.channel)).into());
    };
    let market = known
        .markets
        .iter()
        .find(|m| m.code == o.market && sells.contains(&m.code))
        .ok_or_else(|| {
            FieldError::new(
                at("market"),
                format!("channel {} sells in {}", o.channel, sells.join(", ")),
            )
        })?;
    let minor = |m: &Money, field: String| -> Result<i64, ImportRefusal> {
        if m.currency() != market.currency {
            return Err(FieldError::new(
                format!("{field}.currency"),
                format!("market {} sells in {}", market.code, market.currency),
            )
            .into());
        }
        m.minor_units()
            .map_err(|_| FieldError::new(format!("{field}.amount"), "is out of range").into())
    };
    let shipping = address_from(
        &o.shipping_address,
        &at("shipping_address"),
        &market.countries,
    )?;
    let billing = match &o.billing_address {
        Some(v) => address_from(v, &at("billing_address"), &market.countries)?,
        None => shipping.clone(),
    };
    let order_id = ids("ord");
    let mut lines = Vec::with_capacity(o.lines.len());
    let mut taxable = Vec::with_capacity(o.lines.len() + 1);
    for (j, l) in o.lines.iter().enumerate() {
        let field = format!("orders[{i}].lines[{j}]");
        let Some(variant) = known.variants.get(&l.sku) else {
            return Err(ImportRefusal::UnknownSku {
                field: format!("{field}.sku"),
                sku: l.sku.clone(),
            });
        };
        let unit = minor(&l.unit_price, format!("{field}.unit_price"))?;
        let discount = match &l.discount {
            Some(d) => minor(d, format!("{field}.discount"))?,
            None => 0,
        };
        let subtotal = unit
            .checked_mul(l.quantity)
            .filter(|s| *s < crate::domain::money::MAX_LINE_SUBTOTAL)
            .ok_or_else(|| {
                FieldError::new(format!("{field}.unit_price.amount"), "is out of range")
            })?;
        if discount > subtotal {
            return Err(FieldError::new(
                format!("{field}.discount"),
                "is more than the line's unit price × quantity",
            )
            .into());
        }
        taxable.push((i128::from(subtotal - discount), variant.tax_class));
        lines.push((
            OrderLine::new(
                ids("line"),
                l.sku.clone(),
                variant.title.clone(),
                l.quantity,
                unit,
            ),
            subtotal,
            discount,
        ));
    }
    let shipping_minor = minor(&o.shipping_price, at("shipping.price"))?;
    taxable.push((i128::from(shipping_minor), TaxClass::Standard));
    let taxes = taxes_of(market, &taxable).map_err(|e| ImportRefusal::Misconfigured {
        cause: format!(
            "market {}: its tax rates cannot be used: {e:?}",
            market.code
        ),
    })?;
    let tax_of = |k: usize| i64::try_from(taxes[k]).unwrap_or(0);
    let extra = |tax: i64| if market.tax_inclusive { 0 } else { tax };
    let lines: Vec<OrderLine> = lines
        .into_iter()
        .enumerate()
        .map(|(k, (line, subtotal, discount))| {
            let tax = tax_of(k);
            line.priced(subtotal, discount, tax, subtotal - discount + extra(tax))
        })
        .collect();
    let shipping_tax = tax_of(o.lines.len());
    let subtotal: i64 = lines.iter().map(|l| l.subtotal).sum();
    let discount: i64 = lines.iter().map(|l| l.discount).sum();
    let tax: i64 = lines.iter().map(|l| l.tax).sum::<i64>() + shipping_tax;
    let total = subtotal - discount + shipping_minor + extra(tax);
    let money_json = |minor: i64| {
        Money::from_minor(minor, market.currency)
            .ok()
            .and_then(|m| serde_json::to_value(m).ok())
            .unwrap_or(Value::Null)
    };
    let body = json!({
        "tax_inclusive": market.tax_inclusive,
        "email": o.email,
        "totals": {"subtotal": money_json(subtotal), "discount": money_json(discount),
                   "shipping": money_json(shipping_minor), "tax": money_json(tax), "total": money_json(total)},
        "shipping_address": shipping,
        "billing_address": billing,
        "shipping_method": o.shipping_method.as_ref().map(|m| json!({
            "id": m, "name": m, "price": money_json(shipping_minor),
        })),
        "discount_codes": [],
        "pickup_location": null,
    });
    let mut order = Order::place(
        NewOrder {
            id: order_id.clone(),
            channel_id: o.channel.clone(),
            source: OrderSource::Import,
            external_id: Some(o.external_id.clone()),
            cart_id: format!("import:{order_id}"),
            market: market.code.clone(),
            customer_id: None,
            payment_method: PaymentMethod::Manual,
            total_minor: total,
            currency: market.currency.code().to_string(),
            body,
            // Unpaid, it is never canceled for it: the channel collects, staff mark it paid.
            pay_by: crate::domain::order::exchange::NEVER.into(),
            lines,
        },
        &o.placed_at,
    );
    order.updated_at = now.to_string();
    order.payment_reference = o.payment_reference.clone();
    Ok((order, shipping.country))
}
