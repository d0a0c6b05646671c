//! An order as the platform keeps it: typed statuses, its lines, and its view (the Order of
//! API.md). Orders are created here (`Order::place`) and changed only by applying a
//! [`Transition`] of the state machine (`Order::with`).

use super::ledger::{Ledger, Refund};
use super::returns::Return;
use super::{
    FulfillmentStatus, LineState, OrderState, OrderStatus, PaymentStatus, StockMove, Transition,
};
use crate::domain::events::{Envelope, EventType};
use crate::domain::money::{Currency, Money};
use crate::domain::stock::{self, Allocation, LineAllocation, Wanted};
use serde::Serialize;
use serde_json::Value;

/// How the shopper pays: by an offline arrangement the merchant confirms (`manual`), or by a
/// Stripe PaymentIntent confirmed by Stripe's webhook.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaymentMethod {
    Manual,
    Stripe,
}

impl PaymentMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            PaymentMethod::Manual => "manual",
            PaymentMethod::Stripe => "stripe",
        }
    }

    pub fn parse(s: &str) -> Option<PaymentMethod> {
        match s {
            "manual" => Some(PaymentMethod::Manual),
            "stripe" => Some(PaymentMethod::Stripe),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderLine {
    pub id: String,
    pub sku: String,
    pub title: String,
    pub quantity: i64,
    /// Amounts in the order currency's minor units.
    pub unit_price: i64,
    pub subtotal: i64,
    pub discount: i64,
    pub tax: i64,
    pub total: i64,
    pub fulfilled_quantity: i64,
    pub refunded_quantity: i64,
    /// Refunded units that were never shipped.
    pub refunded_unfulfilled: i64,
    /// Units received back from the customer.
    pub returned_quantity: i64,
    /// Money of refunds given for this line.
    pub refunded_amount: i64,
    /// When units of this line last shipped (a return window counts from it).
    pub last_fulfilled_at: Option<String>,
    /// The stock locations its units are taken from.
    pub allocations: Vec<LineAllocation>,
    /// Why staff set its price by hand (a draft order's override), else none.
    pub price_reason: Option<String>,
}

impl OrderLine {
    /// A line not yet priced, shipped, refunded or returned: `quantity` units at `unit_price`.
    pub fn new(
        id: String,
        sku: String,
        title: String,
        quantity: i64,
        unit_price: i64,
    ) -> OrderLine {
        OrderLine {
            id,
            sku,
            title,
            quantity,
            unit_price,
            subtotal: 0,
            discount: 0,
            tax: 0,
            total: 0,
            fulfilled_quantity: 0,
            refunded_quantity: 0,
            refunded_unfulfilled: 0,
            returned_quantity: 0,
            refunded_amount: 0,
            last_fulfilled_at: None,
            allocations: vec![],
            price_reason: None,
        }
    }

    /// Units sold that no stock location holds for it yet (an imported sale beyond stock):
    /// neither allocated, refunded before shipping, nor owed at all once the order is canceled.
    pub fn backordered(&self, status: super::OrderStatus) -> i64 {
        if status == super::OrderStatus::Canceled {
            return 0;
        }
        self.unallocated().max(0)
    }

    /// Units still owed that no allocation holds.
    fn unallocated(&self) -> i64 {
        self.quantity
            - self.refunded_unfulfilled
            - self.allocations.iter().map(|a| a.quantity).sum::<i64>()
    }

    /// Its amounts as priced.
    pub fn priced(mut self, subtotal: i64, discount: i64, tax: i64, total: i64) -> OrderLine {
        (self.subtotal, self.discount, self.tax, self.total) = (subtotal, discount, tax, total);
        self
    }
}

/// A card payment asked for what an edit left to pay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BalancePayment {
    /// The provider's intent (`pi_…`).
    pub intent_id: String,
    /// Minor units.
    pub amount: i64,
    /// What the shopper's browser confirms the payment with.
    pub client_secret: String,
}

/// Where an order was born: a storefront's checkout, an import from a channel that sold it
/// (a marketplace, a social shop), or a draft staff completed (phone, B2B, replacements).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderSource {
    Storefront,
    Import,
    Draft,
}

text_enum!(OrderSource { Storefront => "storefront", Import => "import", Draft => "draft" });

/// What an order is: a sale, or the replacement of returned goods.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderKind {
    Order,
    Exchange,
}

impl OrderKind {
    pub fn as_str(self) -> &'static str {
        match self {
            OrderKind::Order => "order",
            OrderKind::Exchange => "exchange",
        }
    }

    pub fn parse(s: &str) -> Option<OrderKind> {
        match s {
            "order" => Some(OrderKind::Order),
            "exchange" => Some(OrderKind::Exchange),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Order {
    pub id: String,
    /// `FR-000123`; given by the store when the order is written (per-market counter).
    pub number: String,
    pub channel_id: String,
    /// Where it was born; with `channel_id`, its attribution.
    pub source: OrderSource,
    /// The selling channel's own id for it (an import), unique per channel.
    pub external_id: Option<String>,
    pub cart_id: String,
    pub market: String,
    pub customer_id: Option<String>,
    pub status: OrderStatus,
    pub payment_status: PaymentStatus,
    pub fulfillment_status: FulfillmentStatus,
    pub payment_method: PaymentMethod,
    pub payment_reference: Option<String>,
    pub total_minor: i64,
    /// Money collected (minor units).
    pub paid_minor: i64,
    pub currency: String,
    pub shipping_refunded: bool,
    pub cancel_reason: Option<String>,
    /// What the order was placed with and shows as is: tax_inclusive, email, totals,
    /// addresses, shipping method, discount codes (a JSON document).
    pub body: String,
    /// Unpaid past this instant, the order expires.
    pub pay_by: String,
    /// The sequence of the last event this order emitted.
    pub last_sequence: i64,
    /// Grows by one with every change: the guard of the next one.
    pub version: i64,
    pub kind: OrderKind,
    /// The order whose return this one replaces.
    pub exchange_of: Option<String>,
    /// The card payment asked for the balance an edit left, until it is paid.
    pub balance_payment: Option<BalancePayment>,
    pub created_at: String,
    pub updated_at: String,
    pub lines: Vec<OrderLine>,
    pub refunds: Vec<Refund>,
    pub returns: Vec<Return>,
}

/// What a checkout places: everything but the number, which the store assigns.
pub struct NewOrder {
    pub id: String,
    pub channel_id: String,
    pub source: OrderSource,
    pub external_id: Option<String>,
    pub cart_id: String,
    pub market: String,
    pub customer_id: Option<String>,
    pub payment_method: PaymentMethod,
    pub total_minor: i64,
    pub currency: String,
    pub body: Value,
    pub pay_by: String,
    pub lines: Vec<OrderLine>,
}

impl Order {
    /// The state machine's first state: pending payment, nothing shipped, sequence 1 (the
    /// `order.placed` event).
    pub fn place(new: NewOrder, now: &str) -> Order {
        Order {
            id: new.id,
            number: String::new(),
            channel_id: new.channel_id,
            source: new.source,
            external_id: new.external_id,
            cart_id: new.cart_id,
            market: new.market,
            customer_id: new.customer_id,
            status: OrderStatus::PendingPayment,
            payment_status: PaymentStatus::Pending,
            fulfillment_status: FulfillmentStatus::Unfulfilled,
            payment_method: new.payment_method,
            payment_reference: None,
            total_minor: new.total_minor,
            paid_minor: 0,
            currency: new.currency,
            shipping_refunded: false,
            cancel_reason: None,
            body: new.body.to_string(),
            pay_by: new.pay_by,
            last_sequence: 1,
            version: 1,
            kind: OrderKind::Order,
            exchange_of: None,
            balance_payment: None,
            created_at: now.to_string(),
            updated_at: now.to_string(),
            lines: new.lines,
            refunds: vec![],
            returns: vec![],
        }
    }

    /// Where it goes, as placed: its pickup store (its shipping method had a `location_id`),
    /// and its shipping country.
    pub fn ships_to(&self) -> (Option<String>, Option<String>) {
        let body: Value = serde_json::from_str(&self.body).unwrap_or(Value::Null);
        let text = |v: &Value| v.as_str().map(str::to_string);
        (
            text(&body["pickup_location"]),
            text(&body["shipping_address"]["country"]),
        )
    }

    /// Takes `allocations` (of its lines' units to locations) into its lines, and returns the
    /// stock they reserve.
    pub fn hold(&mut self, allocations: Vec<Allocation>) -> Vec<StockMove> {
        let mut reserve = Vec::new();
        for a in allocations {
            if let Some(line) = self.lines.iter_mut().find(|l| l.id == a.line_id) {
                stock::assign(&mut line.allocations, &a.location, a.quantity);
                reserve.push(StockMove {
                    sku: line.sku.clone(),
                    location: a.location,
                    release: -a.quantity,
                    ship: 0,
                });
            }
        }
        reserve
    }

    /// What its lines want allocated: every unit not yet allocated.
    pub fn wanted(&self) -> Vec<Wanted> {
        self.lines
            .iter()
            .map(|l| Wanted {
                line_id: l.id.clone(),
                sku: l.sku.clone(),
                quantity: l.unallocated(),
            })
            .filter(|w| w.quantity > 0)
            .collect()
    }

    /// The figures of its money.
    pub fn ledger(&self) -> Ledger {
        Ledger {
            void: self.status == OrderStatus::Canceled,
            ..Ledger::of(self.total_minor, self.paid_minor, &self.refunds)
        }
    }

    /// What the shipping is worth: the total less its lines (shipping tax included when
    /// prices exclude tax).
    pub fn shipping_value(&self) -> i64 {
        (self.total_minor - self.lines.iter().map(|l| l.total).sum::<i64>()).max(0)
    }

    /// What the state machine decides from.
    pub fn state(&self) -> OrderState {
        OrderState {
            status: self.status,
            payment: self.payment_status,
            fulfillment: self.fulfillment_status,
            lines: self
                .lines
                .iter()
                .map(|l| LineState {
                    id: l.id.clone(),
                    sku: l.sku.clone(),
                    quantity: l.quantity,
                    fulfilled: l.fulfilled_quantity,
                    refunded: l.refunded_quantity,
                    refunded_unfulfilled: l.refunded_unfulfilled,
                    allocations: l.allocations.clone(),
                    total: l.total,
                    refunded_amount: l.refunded_amount,
                })
                .collect(),
            shipping_refunded: self.shipping_refunded,
            shipping_value: self.shipping_value(),
            ledger: self.ledger(),
        }
    }

    /// The order after a transition (for the response and the event), without re-reading.
    pub fn with(&self, t: &Transition, now: &str) -> Order {
        let mut after = self.clone();
        after.status = t.state.status;
        after.payment_status = t.state.payment;
        after.fulfillment_status = t.state.fulfillment;
        after.shipping_refunded = t.state.shipping_refunded;
        if let Some(r) = t.cancel_reason {
            after.cancel_reason = Some(r.into());
        }
        after.last_sequence += i64::from(t.event.is_some());
        after.version += 1;
        after.paid_minor = t.state.ledger.paid;
        // Nothing left to collect: the card payment asked for the balance is no longer wanted.
        if t.state.ledger.balance() <= 0 {
            after.balance_payment = None;
        }
        after.updated_at = now.into();
        for line in &mut after.lines {
            if let Some(s) = t.state.lines.iter().find(|s| s.id == line.id) {
                if s.fulfilled > line.fulfilled_quantity {
                    line.last_fulfilled_at = Some(now.into());
                }
                line.fulfilled_quantity = s.fulfilled;
                line.refunded_quantity = s.refunded;
                line.refunded_unfulfilled = s.refunded_unfulfilled;
                line.refunded_amount = s.refunded_amount;
                line.allocations = s.allocations.clone();
            }
        }
        after
    }

    /// A decided change: the order after `t`, its stock movements, and its event (whose `data`
    /// is the order after, plus `detail` under the event type's key). `event_id` is used only
    /// when the transition emits an event.
    pub fn change(
        &self,
        t: &Transition,
        now: &str,
        event_id: &str,
        detail: Option<Value>,
    ) -> OrderChange {
        let mut id = Some(event_id.to_string());
        self.change_with(
            t,
            now,
            &mut || id.take().unwrap_or_default(),
            detail,
            Records::default(),
        )
    }

    /// [`Order::change`] that also writes a refund, a return, stock put back and the admin
    /// action behind it; the order after shows them (and so does its event).
    /// `event_id` names each event written, in turn: the transition's, then `records.also`.
    pub fn change_with(
        &self,
        t: &Transition,
        now: &str,
        event_id: &mut dyn FnMut() -> String,
        detail: Option<Value>,
        records: Records,
    ) -> OrderChange {
        let mut after = self.with(t, now);
        after.last_sequence += records.also.len() as i64;
        if let Some(r) = &records.refund {
            match after.refunds.iter_mut().find(|x| x.id == r.id) {
                Some(x) => *x = r.clone(),
                None => after.refunds.push(r.clone()),
            }
        }
        if let Some(r) = &records.ret {
            match after.returns.iter_mut().find(|x| x.id == r.id) {
                Some(x) => *x = r.clone(),
                None => after.returns.push(r.clone()),
            }
        }
        for (line_id, q) in &records.returned {
            if let Some(l) = after.lines.iter_mut().find(|l| &l.id == line_id) {
                l.returned_quantity += q;
            }
        }
        let view = after.view();
        let mut sequence = self.last_sequence;
        let mut events = Vec::new();
        let all = t
            .event
            .map(|e| (e, detail))
            .into_iter()
            .chain(records.also.iter().map(|(e, d)| (*e, Some(d.clone()))));
        for (kind, detail) in all {
            let mut data = view.clone();
            if let (Some(key), Some(detail)) = (kind.detail_key(), detail) {
                data[key] = detail;
            }
            sequence += 1;
            events.push(Envelope::new(&event_id(), kind, sequence, now, data));
        }
        OrderChange {
            before: self.clone(),
            after,
            stock: t.stock.clone(),
            events,
            records,
        }
    }

    /// The Order of API.md (responses and event payloads).
    pub fn view(&self) -> Value {
        serde_json::to_value(self.shown()).unwrap_or(Value::Null)
    }

    /// The Order of API.md, typed. What the order was placed with (totals, addresses, method,
    /// codes) is shown as it was stored.
    pub fn shown(&self) -> OrderView<'_> {
        let currency = Currency::from_code(&self.currency);
        let money = |minor: i64| currency.and_then(|c| Money::from_minor(minor, c).ok());
        let mut body: Value = serde_json::from_str(&self.body).unwrap_or(Value::Null);
        let mut placed = |key: &str| body.get_mut(key).map(Value::take).unwrap_or(Value::Null);
        let ledger = self.ledger();
        OrderView {
            id: &self.id,
            number: &self.number,
            status: self.status.as_str(),
            payment_status: self.payment_status.as_str(),
            fulfillment_status: self.fulfillment_status.as_str(),
            channel: &self.channel_id,
            source: self.source.as_str(),
            external_id: self.external_id.as_deref(),
            market: &self.market,
            currency: &self.currency,
            tax_inclusive: placed("tax_inclusive"),
            email: placed("email"),
            customer_id: self.customer_id.as_deref(),
            lines: self
                .lines
                .iter()
                .map(|l| OrderLineView {
                    id: &l.id,
                    sku: &l.sku,
                    title: &l.title,
                    quantity: l.quantity,
                    unit_price: money(l.unit_price),
                    subtotal: money(l.subtotal),
                    discount: money(l.discount),
                    tax: money(l.tax),
                    total: money(l.total),
                    fulfilled_quantity: l.fulfilled_quantity,
                    refunded_quantity: l.refunded_quantity,
                    returned_quantity: l.returned_quantity,
                    refunded_amount: money(l.refunded_amount),
                    allocations: &l.allocations,
                    backordered_quantity: l.backordered(self.status),
                    price_reason: l.price_reason.as_deref(),
                })
                .collect(),
            totals: placed("totals"),
            shipping_address: placed("shipping_address"),
            billing_address: placed("billing_address"),
            shipping_method: placed("shipping_method"),
            discount_codes: placed("discount_codes"),
            payment_provider: self.payment_method.as_str(),
            cancel_reason: self.cancel_reason.as_deref(),
            kind: self.kind.as_str(),
            exchange_of: self.exchange_of.as_deref(),
            paid: money(ledger.paid),
            refunded: money(ledger.refunded),
            balance: money(ledger.balance()),
            balance_payment: self.balance_payment.as_ref().map(|b| BalancePaymentView {
                provider: self.payment_method.as_str(),
                amount: money(b.amount),
                client_secret: &b.client_secret,
            }),
            refunds: self
                .refunds
                .iter()
                .map(|r| RefundView::of(r, currency))
                .collect(),
            returns: self.returns.iter().map(ReturnView::of).collect(),
            created_at: &self.created_at,
            updated_at: &self.updated_at,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BalancePaymentView<'a> {
    pub provider: &'static str,
    pub amount: Option<Money>,
    pub client_secret: &'a str,
}

/// A refund as API.md shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RefundView<'a> {
    pub id: &'a str,
    pub kind: &'static str,
    pub status: &'static str,
    pub amount: Option<Money>,
    pub lines: Vec<RefundLineView<'a>>,
    pub include_shipping: bool,
    pub reason: Option<&'a str>,
    pub provider_reference: Option<&'a str>,
    pub failure_reason: Option<&'a str>,
    pub created_at: &'a str,
    pub updated_at: &'a str,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RefundLineView<'a> {
    pub line_id: &'a str,
    pub quantity: i64,
    pub amount: Option<Money>,
}

impl<'a> RefundView<'a> {
    pub fn of(r: &'a Refund, currency: Option<Currency>) -> RefundView<'a> {
        let money = |minor: i64| currency.and_then(|c| Money::from_minor(minor, c).ok());
        RefundView {
            id: &r.id,
            kind: r.kind.as_str(),
            status: r.status.as_str(),
            amount: money(r.amount),
            lines: r
                .lines
                .iter()
                .map(|l| RefundLineView {
                    line_id: &l.line_id,
                    quantity: l.quantity,
                    amount: money(l.amount),
                })
                .collect(),
            include_shipping: r.include_shipping,
            reason: r.reason.as_deref(),
            provider_reference: r.provider_reference.as_deref(),
            failure_reason: r.failure_reason.as_deref(),
            created_at: &r.created_at,
            updated_at: &r.updated_at,
        }
    }
}

/// A return as API.md shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReturnView<'a> {
    pub id: &'a str,
    pub order_id: &'a str,
    pub status: &'static str,
    pub lines: Vec<ReturnLineView<'a>>,
    pub note: Option<&'a str>,
    pub opened_by: &'static str,
    pub reject_reason: Option<&'a str>,
    pub exchange_order_id: Option<&'a str>,
    pub refund_ids: &'a [String],
    pub created_at: &'a str,
    pub updated_at: &'a str,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReturnLineView<'a> {
    pub line_id: &'a str,
    pub quantity: i64,
    pub reason: &'static str,
    pub received_quantity: i64,
    pub restocked_quantity: i64,
}

impl<'a> ReturnView<'a> {
    pub fn of(r: &'a Return) -> ReturnView<'a> {
        ReturnView {
            id: &r.id,
            order_id: &r.order_id,
            status: r.status.as_str(),
            lines: r
                .lines
                .iter()
                .map(|l| ReturnLineView {
                    line_id: &l.line_id,
                    quantity: l.quantity,
                    reason: l.reason.as_str(),
                    received_quantity: l.received,
                    restocked_quantity: l.restocked,
                })
                .collect(),
            note: r.note.as_deref(),
            opened_by: r.opened_by.as_str(),
            reject_reason: r.reject_reason.as_deref(),
            exchange_order_id: r.exchange_order_id.as_deref(),
            refund_ids: &r.refund_ids,
            created_at: &r.created_at,
            updated_at: &r.updated_at,
        }
    }
}

/// What applying a transition writes, as one guarded batch: the order as `after` (only if it is
/// still as `before` was read), the stock movements, the records, and the event in the outbox.
#[derive(Debug, Clone, PartialEq)]
pub struct OrderChange {
    pub before: Order,
    pub after: Order,
    pub stock: Vec<StockMove>,
    pub events: Vec<Envelope>,
    pub records: Records,
}

/// Records a change writes beside the order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Records {
    /// A refund, new or changed.
    pub refund: Option<Refund>,
    /// A return, new or changed.
    pub ret: Option<Return>,
    /// Units received back per line (order line id, units).
    pub returned: Vec<(String, i64)>,
    /// Units put back on hand: (SKU, location, units).
    pub restock: Vec<(String, String, i64)>,
    /// Who did it, for the timeline (an admin token's `sub`), with what.
    pub action: Option<AdminAction>,
    /// Events beside the transition's, each with its detail (a return received and refunded).
    pub also: Vec<(EventType, Value)>,
    /// The lines and totals changed (an edit): the store writes every line and the total.
    pub edited: bool,
    /// `inventory.low` fires at this available stock or below for what the change reserves
    /// (an edit, an allocation moved).
    pub low_stock_threshold: Option<i64>,
}

/// A back-office action on an order, for its timeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminAction {
    pub id: String,
    pub actor: String,
    pub action: String,
    pub summary: String,
    /// What it made or touched (`ref_…`, `ret_…`, `ord_…`).
    pub reference: Option<String>,
}

/// The Order of API.md.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OrderView<'a> {
    pub id: &'a str,
    pub number: &'a str,
    pub status: &'static str,
    pub payment_status: &'static str,
    pub fulfillment_status: &'static str,
    /// The channel that sold it.
    pub channel: &'a str,
    /// `storefront`, `import` or `draft`.
    pub source: &'static str,
    /// The channel's own id for it (imports).
    pub external_id: Option<&'a str>,
    pub market: &'a str,
    pub currency: &'a str,
    pub tax_inclusive: Value,
    pub email: Value,
    pub customer_id: Option<&'a str>,
    pub lines: Vec<OrderLineView<'a>>,
    pub totals: Value,
    pub shipping_address: Value,
    pub billing_address: Value,
    pub shipping_method: Value,
    pub discount_codes: Value,
    pub payment_provider: &'static str,
    pub cancel_reason: Option<&'a str>,
    pub kind: &'static str,
    pub exchange_of: Option<&'a str>,
    /// Money collected.
    pub paid: Option<Money>,
    /// Money of succeeded refunds.
    pub refunded: Option<Money>,
    /// Positive: the customer owes it; negative: owed to the customer.
    pub balance: Option<Money>,
    /// The card payment asked for the balance an edit left (its client secret confirms it).
    pub balance_payment: Option<BalancePaymentView<'a>>,
    pub refunds: Vec<RefundView<'a>>,
    pub returns: Vec<ReturnView<'a>>,
    pub created_at: &'a str,
    pub updated_at: &'a str,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OrderLineView<'a> {
    pub id: &'a str,
    pub sku: &'a str,
    pub title: &'a str,
    pub quantity: i64,
    pub unit_price: Option<Money>,
    pub subtotal: Option<Money>,
    pub discount: Option<Money>,
    pub tax: Option<Money>,
    pub total: Option<Money>,
    pub fulfilled_quantity: i64,
    pub refunded_quantity: i64,
    pub returned_quantity: i64,
    pub refunded_amount: Option<Money>,
    /// `[{location, quantity, fulfilled_quantity}]`: where its units are taken from.
    pub allocations: &'a [LineAllocation],
    /// Units sold that no location holds for it yet (an import beyond stock).
    pub backordered_quantity: i64,
    /// Why staff set its price by hand (a draft order's override).
    pub price_reason: Option<&'a str>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn an_order_shows_its_statuses_as_text_its_amounts_as_money_and_what_it_was_placed_with() {
        let line = OrderLine::new("line_1".into(), "MUG".into(), "Mug — Green".into(), 2, 1200)
            .priced(2400, 0, 400, 2400);
        let order = Order::place(
            NewOrder {
                id: "ord_1".into(),
                channel_id: "web".into(),
                source: OrderSource::Storefront,
                external_id: None,
                cart_id: "cart_1".into(),
                market: "FR".into(),
                customer_id: None,
                payment_method: PaymentMethod::Manual,
                total_minor: 2890,
                currency: "EUR".into(),
                body: json!({"tax_inclusive": true, "email": "a@b.fr", "totals": {"total": {"amount": "28.90", "currency": "EUR"}}}),
                pay_by: "2026-06-01T12:30:00.000Z".into(),
                lines: vec![line],
            },
            "2026-06-01T12:00:00.000Z",
        );
        let v = order.view();
        let mut keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        keys.sort();
        let mut expected = vec![
            "id",
            "number",
            "status",
            "payment_status",
            "fulfillment_status",
            "channel",
            "source",
            "external_id",
            "market",
            "currency",
            "tax_inclusive",
            "email",
            "customer_id",
            "lines",
            "totals",
            "shipping_address",
            "billing_address",
            "shipping_method",
            "discount_codes",
            "payment_provider",
            "cancel_reason",
            "kind",
            "exchange_of",
            "paid",
            "refunded",
            "balance",
            "balance_payment",
            "refunds",
            "returns",
            "created_at",
            "updated_at",
        ];
        expected.sort();
        assert_eq!(
            keys, expected,
            "the Order of API.md, every field present (null when empty)"
        );
        assert_eq!(
            (&v["status"], &v["payment_status"], &v["fulfillment_status"]),
            (
                &json!("pending_payment"),
                &json!("pending"),
                &json!("unfulfilled")
            )
        );
        assert_eq!(
            v["lines"][0]["unit_price"],
            json!({"amount": "12.00", "currency": "EUR"})
        );
        assert_eq!(v["totals"]["total"]["amount"], "28.90");
        assert_eq!(
            (&v["email"], &v["shipping_address"], &v["payment_provider"]),
            (&json!("a@b.fr"), &Value::Null, &json!("manual"))
        );
        assert_eq!(order.last_sequence, 1, "order.placed is its first event");
        assert_eq!(
            (&v["channel"], &v["source"], &v["external_id"]),
            (&json!("web"), &json!("storefront"), &Value::Null),
            "its attribution"
        );
        assert_eq!(
            v["lines"][0]["backordered_quantity"], 2,
            "no location holds its units yet"
        );
        let mut held = order.clone();
        held.hold(vec![Allocation {
            line_id: "line_1".into(),
            location: "main".into(),
            quantity: 2,
        }]);
        assert_eq!(held.view()["lines"][0]["backordered_quantity"], 0);
        held.status = crate::domain::order::OrderStatus::Canceled;
        held.lines[0].allocations.clear();
        assert_eq!(
            held.view()["lines"][0]["backordered_quantity"],
            0,
            "a canceled order owes nothing"
        );
        assert_eq!(v["lines"][0]["price_reason"], Value::Null);
    }
}
