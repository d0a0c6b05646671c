//! Orders in D1: their rows, their view (the Order of API.md), and the batches that change
//! them — each with its stock movements and its outbox event, all or nothing.

use crate::domain::money::{Currency, Money};
use crate::domain::order::{
    FulfillmentStatus, LineState, OrderState, OrderStatus, PaymentStatus, Transition,
};
use crate::store::d1::{decode, int, text, Db, StoreError};
use serde::Deserialize;
use serde_json::{json, Value};
use worker::D1PreparedStatement;

// Every column is read by one Worker or the other; each bundle sees only its half.
#[cfg_attr(not(feature = "storefront"), allow(dead_code))]
#[derive(Debug, Clone, Deserialize)]
pub struct OrderRow {
    pub id: String,
    pub number: String,
    pub channel_id: String,
    pub cart_id: String,
    pub market: String,
    pub customer_id: Option<String>,
    pub status: String,
    pub payment_status: String,
    pub fulfillment_status: String,
    pub payment_provider: String,
    pub payment_reference: Option<String>,
    pub total_minor: i64,
    pub currency: String,
    pub shipping_refunded: i64,
    pub cancel_reason: Option<String>,
    pub body: String,
    pub pay_by: String,
    pub last_sequence: i64,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct LineRow {
    pub id: String,
    pub sku: String,
    pub title: String,
    pub quantity: i64,
    pub unit_price: i64,
    pub subtotal: i64,
    pub discount: i64,
    pub tax: i64,
    pub total: i64,
    pub fulfilled_quantity: i64,
    pub refunded_quantity: i64,
    pub refunded_unfulfilled: i64,
}

pub struct Order {
    pub row: OrderRow,
    pub lines: Vec<LineRow>,
}

const COLUMNS: &str = "id, number, channel_id, cart_id, market, customer_id, status, payment_status, fulfillment_status, \
     payment_provider, payment_reference, total_minor, currency, shipping_refunded, cancel_reason, body, pay_by, \
     last_sequence, created_at, updated_at";

pub fn select_order(
    db: &Db,
    where_sql: &str,
    params: &[wasm_bindgen::JsValue],
) -> Result<D1PreparedStatement, StoreError> {
    db.statement(
        &format!("SELECT {COLUMNS} FROM orders WHERE {where_sql}"),
        params,
    )
}

pub fn select_lines(
    db: &Db,
    order_id_sql: &str,
    params: &[wasm_bindgen::JsValue],
) -> Result<D1PreparedStatement, StoreError> {
    db.statement(
        &format!(
            "SELECT id, sku, title, quantity, unit_price, subtotal, discount, tax, total, fulfilled_quantity, \
             refunded_quantity, refunded_unfulfilled FROM order_lines WHERE order_id = {order_id_sql} ORDER BY position"
        ),
        params,
    )
}

/// One round trip.
pub async fn get(db: &Db, id: &str) -> Result<Option<Order>, StoreError> {
    let results = db
        .batch(vec![
            select_order(db, "id = ?1", &[text(id)])?,
            select_lines(db, "?1", &[text(id)])?,
        ])
        .await?;
    decode_order(results.into_iter())
}

pub fn decode_order(
    mut r: impl Iterator<Item = worker::D1Result>,
) -> Result<Option<Order>, StoreError> {
    let (Some(order), Some(lines)) = (r.next(), r.next()) else {
        return Err(StoreError::Corrupt(
            "order batch returned too few results".into(),
        ));
    };
    let Some(row) = decode::<OrderRow>(order)?.into_iter().next() else {
        return Ok(None);
    };
    Ok(Some(Order {
        row,
        lines: decode(lines)?,
    }))
}

impl Order {
    pub fn state(&self) -> Result<OrderState, StoreError> {
        let corrupt = |w: &str| StoreError::Corrupt(format!("order {}: {w}", self.row.id));
        Ok(OrderState {
            status: OrderStatus::parse(&self.row.status).ok_or_else(|| corrupt("status"))?,
            payment: PaymentStatus::parse(&self.row.payment_status)
                .ok_or_else(|| corrupt("payment status"))?,
            fulfillment: FulfillmentStatus::parse(&self.row.fulfillment_status)
                .ok_or_else(|| corrupt("fulfillment"))?,
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
                })
                .collect(),
            shipping_refunded: self.row.shipping_refunded != 0,
        })
    }

    /// The order after a transition (for the response and the event), without re-reading.
    pub fn with(&self, t: &Transition, now: &str) -> Order {
        let mut row = self.row.clone();
        row.status = t.state.status.as_str().into();
        row.payment_status = t.state.payment.as_str().into();
        row.fulfillment_status = t.state.fulfillment.as_str().into();
        row.shipping_refunded = i64::from(t.state.shipping_refunded);
        if let Some(r) = t.cancel_reason {
            row.cancel_reason = Some(r.into());
        }
        row.last_sequence += i64::from(t.event.is_some());
        row.updated_at = now.into();
        let lines = self
            .lines
            .iter()
            .map(|l| {
                let s = t.state.lines.iter().find(|s| s.id == l.id);
                LineRow {
                    fulfilled_quantity: s.map_or(l.fulfilled_quantity, |s| s.fulfilled),
                    refunded_quantity: s.map_or(l.refunded_quantity, |s| s.refunded),
                    refunded_unfulfilled: s
                        .map_or(l.refunded_unfulfilled, |s| s.refunded_unfulfilled),
                    ..l.clone()
                }
            })
            .collect();
        Order { row, lines }
    }

    /// The Order of API.md.
    pub fn view(&self) -> Value {
        let currency = Currency::from_code(&self.row.currency);
        let money = |minor: i64| match currency.and_then(|c| Money::from_minor(minor, c).ok()) {
            Some(m) => json!(m),
            None => Value::Null,
        };
        let body: Value = serde_json::from_str(&self.row.body).unwrap_or(Value::Null);
        let r = &self.row;
        json!({
            "id": r.id,
            "number": r.number,
            "status": r.status,
            "payment_status": r.payment_status,
            "fulfillment_status": r.fulfillment_status,
            "market": r.market,
            "currency": r.currency,
            "tax_inclusive": body["tax_inclusive"],
            "email": body["email"],
            "customer_id": r.customer_id,
            "lines": self.lines.iter().map(|l| json!({
                "id": l.id, "sku": l.sku, "title": l.title, "quantity": l.quantity,
                "unit_price": money(l.unit_price), "subtotal": money(l.subtotal), "discount": money(l.discount),
                "tax": money(l.tax), "total": money(l.total),
                "fulfilled_quantity": l.fulfilled_quantity, "refunded_quantity": l.refunded_quantity,
            })).collect::<Vec<_>>(),
            "totals": body["totals"],
            "shipping_address": body["shipping_address"],
            "billing_address": body["billing_address"],
            "shipping_method": body["shipping_method"],
            "discount_codes": body["discount_codes"],
            "payment_provider": r.payment_provider,
            "cancel_reason": r.cancel_reason,
            "created_at": r.created_at,
            "updated_at": r.updated_at,
        })
    }
}

/// The event envelope of API.md.
pub fn envelope(id: &str, event_type: &str, sequence: i64, created_at: &str, data: Value) -> Value {
    json!({ "id": id, "type": event_type, "version": 1, "created_at": created_at, "sequence": sequence, "data": data })
}

/// Statements that apply a transition: the order row (guarded on the state read), its lines,
/// the stock, and the event in the outbox — to run as one batch.
pub fn transition(
    db: &Db,
    before: &Order,
    t: &Transition,
    event_id: &str,
    now: &str,
) -> Result<Vec<D1PreparedStatement>, StoreError> {
    let after = before.with(t, now);
    let lines = json!(after
        .lines
        .iter()
        .map(|l| json!({"id": l.id, "f": l.fulfilled_quantity, "r": l.refunded_quantity, "u": l.refunded_unfulfilled}))
        .collect::<Vec<_>>());
    let stock = json!(t
        .stock
        .iter()
        .map(|m| json!({"sku": m.sku, "release": m.release, "ship": m.ship}))
        .collect::<Vec<_>>());
    let r = &after.row;
    let mut out = vec![
        // Guard: the order is still as read (no concurrent transition).
        db.statement(
            "INSERT INTO write_guards (ok) SELECT 0 WHERE NOT EXISTS (SELECT 1 FROM orders \
             WHERE id = ?1 AND updated_at = ?2 AND last_sequence = ?3)",
            &[text(&r.id), text(&before.row.updated_at), int(before.row.last_sequence)],
        )?,
        db.statement(
            "UPDATE orders SET status = ?2, payment_status = ?3, fulfillment_status = ?4, shipping_refunded = ?5, \
                cancel_reason = ?6, last_sequence = ?7, updated_at = ?8 WHERE id = ?1",
            &[
                text(&r.id),
                text(&r.status),
                text(&r.payment_status),
                text(&r.fulfillment_status),
                int(r.shipping_refunded),
                r.cancel_reason.as_deref().map_or(wasm_bindgen::JsValue::NULL, text),
                int(r.last_sequence),
                text(now),
            ],
        )?,
        db.statement(
            "UPDATE order_lines SET \
               fulfilled_quantity = (SELECT json_extract(value, '$.f') FROM json_each(?1) WHERE json_extract(value, '$.id') = order_lines.id), \
               refunded_quantity = (SELECT json_extract(value, '$.r') FROM json_each(?1) WHERE json_extract(value, '$.id') = order_lines.id), \
               refunded_unfulfilled = (SELECT json_extract(value, '$.u') FROM json_each(?1) WHERE json_extract(value, '$.id') = order_lines.id) \
             WHERE order_id = ?2",
            &[crate::store::d1::json_text(&lines), text(&r.id)],
        )?,
    ];
    if !t.stock.is_empty() {
        out.push(db.statement(
            "UPDATE inventory SET \
               reserved = reserved - (SELECT SUM(json_extract(value, '$.release') + json_extract(value, '$.ship')) FROM json_each(?1) WHERE json_extract(value, '$.sku') = inventory.sku), \
               on_hand = on_hand - (SELECT SUM(json_extract(value, '$.ship')) FROM json_each(?1) WHERE json_extract(value, '$.sku') = inventory.sku), \
               updated_at = ?2 \
             WHERE sku IN (SELECT json_extract(value, '$.sku') FROM json_each(?1))",
            &[crate::store::d1::json_text(&stock), text(now)],
        )?);
    }
    if let Some(event) = t.event {
        out.push(outbox(
            db,
            event_id,
            event.as_str(),
            &r.id,
            r.last_sequence,
            &envelope(event_id, event.as_str(), r.last_sequence, now, after.view()),
            now,
        )?);
    }
    Ok(out)
}

pub fn outbox(
    db: &Db,
    id: &str,
    event_type: &str,
    aggregate: &str,
    sequence: i64,
    payload: &Value,
    now: &str,
) -> Result<D1PreparedStatement, StoreError> {
    db.statement(
        "INSERT INTO outbox (id, type, aggregate, sequence, payload, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        &[text(id), text(event_type), text(aggregate), int(sequence), text(&payload.to_string()), text(now)],
    )
}

/// Orders matching `filter` (SQL over `orders`, `?n` parameters), in `order_by` order, with
/// their lines: one round trip of two statements sharing the filter.
pub async fn list(
    db: &Db,
    filter: &str,
    order_by: &str,
    params: &[wasm_bindgen::JsValue],
) -> Result<Vec<Order>, StoreError> {
    let page = format!("(SELECT id FROM orders WHERE {filter} ORDER BY {order_by})");
    let results = db
        .batch(vec![
            select_order(db, &format!("id IN {page} ORDER BY {order_by}"), params)?,
            db.statement(
                &format!(
                    "SELECT order_id, id, sku, title, quantity, unit_price, subtotal, discount, tax, total, \
                     fulfilled_quantity, refunded_quantity, refunded_unfulfilled FROM order_lines \
                     WHERE order_id IN {page} ORDER BY position"
                ),
                params,
            )?,
        ])
        .await?;
    #[derive(Deserialize)]
    struct Keyed {
        order_id: String,
        id: String,
        sku: String,
        title: String,
        quantity: i64,
        unit_price: i64,
        subtotal: i64,
        discount: i64,
        tax: i64,
        total: i64,
        fulfilled_quantity: i64,
        refunded_quantity: i64,
        refunded_unfulfilled: i64,
    }
    let mut r = results.into_iter();
    let rows: Vec<OrderRow> = r.next().map(decode).transpose()?.unwrap_or_default();
    let lines: Vec<Keyed> = r.next().map(decode).transpose()?.unwrap_or_default();
    Ok(rows
        .into_iter()
        .map(|row| {
            let ls = lines
                .iter()
                .filter(|k| k.order_id == row.id)
                .map(|k| LineRow {
                    id: k.id.clone(),
                    sku: k.sku.clone(),
                    title: k.title.clone(),
                    quantity: k.quantity,
                    unit_price: k.unit_price,
                    subtotal: k.subtotal,
                    discount: k.discount,
                    tax: k.tax,
                    total: k.total,
                    fulfilled_quantity: k.fulfilled_quantity,
                    refunded_quantity: k.refunded_quantity,
                    refunded_unfulfilled: k.refunded_unfulfilled,
                })
                .collect();
            Order { row, lines: ls }
        })
        .collect())
}

/// Unpaid orders past their payment deadline (at most `limit`), with their lines.
#[cfg(feature = "backoffice")]
pub async fn overdue(db: &Db, now: &str, limit: i64) -> Result<Vec<Order>, StoreError> {
    list(
        db,
        "status = 'pending_payment' AND pay_by <= ?1",
        "pay_by LIMIT ?2",
        &[text(now), int(limit)],
    )
    .await
}

/// A page of orders listed newest first (fetched with `limit + 1` rows), as the list routes
/// answer it: `{data, next_cursor}` with a time-ordered cursor.
pub fn page_view(found: Vec<Order>, limit: usize) -> Value {
    let page = crate::domain::pagination::page_of(found, limit, |o| {
        crate::domain::pagination::encode_time_cursor(&o.row.created_at, &o.row.id)
    });
    let data: Vec<Value> = page.data.iter().map(Order::view).collect();
    json!({ "data": data, "next_cursor": page.next_cursor })
}
