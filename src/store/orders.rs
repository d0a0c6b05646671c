//! Orders in D1: their rows, their view (the Order of API.md), and the batches that change
//! them — each with its stock movements and its outbox event, all or nothing.

use crate::app::ports::{
    OrderFilter, OrderOf, OrderStore, Placement, Receipt, ReturnFilter, TimelineEntry,
};
use crate::domain::events::Envelope;
use crate::domain::order::returns::Return;
use crate::domain::order::{
    BalancePayment, FulfillmentStatus, Order, OrderChange, OrderKind, OrderLine, OrderSource,
    OrderStatus, PaymentMethod, PaymentStatus, Refund,
};
use crate::domain::stock::StockPicture;
use crate::store::after_sale;
use crate::store::d1::{decode, int, text, Db, StoreError};
use crate::store::{levels, D1Store};
use serde::Deserialize;
use serde_json::json;
use worker::D1PreparedStatement;

#[derive(Debug, Clone, Deserialize)]
struct OrderRow {
    pub id: String,
    pub number: String,
    pub channel_id: String,
    pub source: String,
    pub external_id: Option<String>,
    pub cart_id: String,
    pub market: String,
    pub customer_id: Option<String>,
    pub status: String,
    pub payment_status: String,
    pub fulfillment_status: String,
    pub payment_provider: String,
    pub payment_reference: Option<String>,
    pub total_minor: i64,
    pub paid_minor: i64,
    pub currency: String,
    pub shipping_refunded: i64,
    pub cancel_reason: Option<String>,
    pub body: String,
    pub pay_by: String,
    pub last_sequence: i64,
    pub version: i64,
    pub kind: String,
    pub exchange_of: Option<String>,
    pub balance_intent: Option<String>,
    pub balance_intent_amount: Option<i64>,
    pub balance_client_secret: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Debug, Clone, Deserialize)]
struct LineRow {
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
    returned_quantity: i64,
    refunded_minor: i64,
    last_fulfilled_at: Option<String>,
    allocations: String,
    price_reason: Option<String>,
}

impl From<LineRow> for OrderLine {
    fn from(l: LineRow) -> OrderLine {
        OrderLine {
            id: l.id,
            sku: l.sku,
            title: l.title,
            quantity: l.quantity,
            unit_price: l.unit_price,
            subtotal: l.subtotal,
            discount: l.discount,
            tax: l.tax,
            total: l.total,
            fulfilled_quantity: l.fulfilled_quantity,
            refunded_quantity: l.refunded_quantity,
            refunded_unfulfilled: l.refunded_unfulfilled,
            returned_quantity: l.returned_quantity,
            refunded_amount: l.refunded_minor,
            last_fulfilled_at: l.last_fulfilled_at,
            // Written only by this code; unreadable allocations show as none.
            allocations: crate::domain::stock::allocations_from(
                &serde_json::from_str(&l.allocations).unwrap_or_default(),
            ),
            price_reason: l.price_reason,
        }
    }
}

impl OrderRow {
    /// The typed order; a status the code does not know is corrupt data.
    fn into_order(
        self,
        lines: Vec<OrderLine>,
        refunds: Vec<Refund>,
        returns: Vec<Return>,
    ) -> Result<Order, StoreError> {
        let corrupt = |w: &str| StoreError::Corrupt(format!("order {}: {w}", self.id));
        Ok(Order {
            status: OrderStatus::parse(&self.status).ok_or_else(|| corrupt("status"))?,
            payment_status: PaymentStatus::parse(&self.payment_status)
                .ok_or_else(|| corrupt("payment status"))?,
            fulfillment_status: FulfillmentStatus::parse(&self.fulfillment_status)
                .ok_or_else(|| corrupt("fulfillment"))?,
            payment_method: PaymentMethod::parse(&self.payment_provider)
                .ok_or_else(|| corrupt("payment provider"))?,
            shipping_refunded: self.shipping_refunded != 0,
            kind: OrderKind::parse(&self.kind).ok_or_else(|| corrupt("kind"))?,
            source: OrderSource::parse(&self.source).ok_or_else(|| corrupt("source"))?,
            external_id: self.external_id,
            exchange_of: self.exchange_of,
            balance_payment: match (
                self.balance_intent,
                self.balance_intent_amount,
                self.balance_client_secret,
            ) {
                (Some(intent_id), Some(amount), Some(client_secret)) => Some(BalancePayment {
                    intent_id,
                    amount,
                    client_secret,
                }),
                _ => None,
            },
            paid_minor: self.paid_minor,
            version: self.version,
            refunds,
            returns,
            id: self.id,
            number: self.number,
            channel_id: self.channel_id,
            cart_id: self.cart_id,
            market: self.market,
            customer_id: self.customer_id,
            payment_reference: self.payment_reference,
            total_minor: self.total_minor,
            currency: self.currency,
            cancel_reason: self.cancel_reason,
            body: self.body,
            pay_by: self.pay_by,
            last_sequence: self.last_sequence,
            created_at: self.created_at,
            updated_at: self.updated_at,
            lines,
        })
    }
}

/// The columns of an order line row, read the same way for one order and for a page of them.
const LINE_COLUMNS: &str =
    "order_id, id, sku, title, quantity, unit_price, subtotal, discount, tax, total, \
     fulfilled_quantity, refunded_quantity, refunded_unfulfilled, returned_quantity, refunded_minor, last_fulfilled_at, allocations, price_reason";

const COLUMNS: &str = "id, number, channel_id, source, external_id, cart_id, market, customer_id, status, payment_status, fulfillment_status, \
     payment_provider, payment_reference, total_minor, paid_minor, currency, shipping_refunded, cancel_reason, body, pay_by, \
     last_sequence, version, kind, exchange_of, balance_intent, balance_intent_amount, balance_client_secret, \
     created_at, updated_at";

fn select_order(
    db: &Db,
    where_sql: &str,
    params: &[wasm_bindgen::JsValue],
) -> Result<D1PreparedStatement, StoreError> {
    db.statement(
        &format!("SELECT {COLUMNS} FROM orders WHERE {where_sql}"),
        params,
    )
}

fn select_lines(
    db: &Db,
    order_id_sql: &str,
    params: &[wasm_bindgen::JsValue],
) -> Result<D1PreparedStatement, StoreError> {
    db.statement(
        &format!(
            "SELECT {LINE_COLUMNS} FROM order_lines WHERE order_id = {order_id_sql} ORDER BY position"
        ),
        params,
    )
}

impl OrderStore for D1Store {
    async fn order(&self, id: &str) -> Result<Option<Order>, StoreError> {
        get(&self.db, id).await
    }

    async fn newest(
        &self,
        filter: &OrderFilter,
        at: &str,
        after_id: &str,
        limit: usize,
    ) -> Result<Vec<Order>, StoreError> {
        newest(&self.db, filter, at, after_id, limit).await
    }

    async fn overdue(&self, now: &str, limit: usize) -> Result<Vec<Order>, StoreError> {
        list(
            &self.db,
            "status = ?3 AND pay_by <= ?1",
            "pay_by LIMIT ?2",
            &[
                text(now),
                int(limit as i64),
                text(OrderStatus::PendingPayment.as_str()),
            ],
        )
        .await
    }

    async fn place(&self, placement: &Placement<'_>) -> Result<String, StoreError> {
        self.place_order(placement).await
    }

    async fn stock(&self, skus: &[String]) -> Result<StockPicture, StoreError> {
        self.stock_picture(skus).await
    }

    async fn apply(
        &self,
        change: &OrderChange,
        receipt: Option<&Receipt>,
    ) -> Result<(), StoreError> {
        let mut statements = match receipt {
            Some(r) => vec![receipt_statement(&self.db, r)?],
            None => vec![],
        };
        statements.extend(transition(&self.db, change)?);
        self.db.batch(statements).await?;
        Ok(())
    }

    async fn received(&self, event_id: &str) -> Result<bool, StoreError> {
        let seen: Vec<serde_json::Value> = self
            .db
            .all(self.db.statement(
                "SELECT id FROM payment_events WHERE id = ?1",
                &[text(event_id)],
            )?)
            .await?;
        Ok(!seen.is_empty())
    }

    async fn record(&self, receipt: &Receipt) -> Result<(), StoreError> {
        self.db
            .batch(vec![receipt_statement(&self.db, receipt)?])
            .await?;
        Ok(())
    }

    async fn exchange(
        &self,
        change: &OrderChange,
        placement: &Placement<'_>,
    ) -> Result<String, StoreError> {
        let mut statements = transition(&self.db, change)?;
        statements.extend(crate::store::checkout::place_statements(
            &self.db, placement,
        )?);
        crate::store::checkout::number_placed(self.db.batch(statements).await?)
    }

    async fn order_of(&self, of: OrderOf<'_>) -> Result<Option<Order>, StoreError> {
        let (sql, id) = match of {
            OrderOf::Return(id) => ("(SELECT order_id FROM returns WHERE id = ?1)", id),
            OrderOf::Refund(id) => ("(SELECT order_id FROM refunds WHERE id = ?1)", id),
            OrderOf::ProviderRefund(id) => (
                "(SELECT order_id FROM refunds WHERE provider_reference = ?1 LIMIT 1)",
                id,
            ),
        };
        one(&self.db, sql, &[text(id)]).await
    }

    async fn returns(
        &self,
        filter: &ReturnFilter,
        at: &str,
        after_id: &str,
        limit: usize,
    ) -> Result<Vec<Return>, StoreError> {
        after_sale::list_returns(&self.db, filter, at, after_id, limit).await
    }

    async fn timeline(&self, order_id: &str) -> Result<Vec<TimelineEntry>, StoreError> {
        after_sale::timeline(&self.db, order_id).await
    }
}

fn receipt_statement(db: &Db, r: &Receipt) -> Result<D1PreparedStatement, StoreError> {
    db.statement(
        "INSERT INTO payment_events (id, type, received_at) VALUES (?1, ?2, ?3)",
        &[text(&r.event_id), text(&r.event_type), text(&r.received_at)],
    )
}

/// One round trip.
async fn get(db: &Db, id: &str) -> Result<Option<Order>, StoreError> {
    one(db, "?1", &[text(id)]).await
}

/// The order whose id `id_sql` selects (`?1`, or a subquery), with its lines, refunds and
/// returns: one round trip.
async fn one(
    db: &Db,
    id_sql: &str,
    params: &[wasm_bindgen::JsValue],
) -> Result<Option<Order>, StoreError> {
    let results = db
        .batch(vec![
            select_order(db, &format!("id = {id_sql}"), params)?,
            select_lines(db, id_sql, params)?,
            after_sale::select_refunds(db, id_sql, params)?,
            after_sale::select_returns(db, id_sql, params)?,
        ])
        .await?;
    let mut r = results.into_iter();
    let (Some(order), Some(lines)) = (r.next(), r.next()) else {
        return Err(StoreError::Corrupt(
            "order batch returned too few results".into(),
        ));
    };
    let Some(row) = decode::<OrderRow>(order)?.into_iter().next() else {
        return Ok(None);
    };
    let lines = decode::<LineRow>(lines)?
        .into_iter()
        .map(OrderLine::from)
        .collect();
    let (refunds, returns) = after_sale::decode_after_sale(r.next(), r.next())?;
    Ok(Some(
        row.into_order(
            lines,
            refunds
                .into_iter()
                .map(|r| r.into_refund())
                .collect::<Result<_, _>>()?,
            returns
                .into_iter()
                .map(|r| r.into_return())
                .collect::<Result<_, _>>()?,
        )?,
    ))
}

/// Statements that apply a decided change: the order row (guarded on the version read), its
/// lines, the stock, its refund, return and admin action, and its events in the outbox, to run
/// as one batch.
fn transition(db: &Db, change: &OrderChange) -> Result<Vec<D1PreparedStatement>, StoreError> {
    let (before, r) = (&change.before, &change.after);
    let lines = json!(r
        .lines
        .iter()
        .map(|l| json!({"id": l.id, "f": l.fulfilled_quantity, "r": l.refunded_quantity, "u": l.refunded_unfulfilled,
                        "ret": l.returned_quantity, "m": l.refunded_amount, "at": l.last_fulfilled_at,
                        "al": l.allocations}))
        .collect::<Vec<_>>());
    let now = &r.updated_at;
    let mut out = vec![
        // Guard: the order is still as read (no concurrent change).
        db.statement(
            "INSERT INTO write_guards (ok) SELECT 0 WHERE NOT EXISTS (SELECT 1 FROM orders \
             WHERE id = ?1 AND version = ?2 AND last_sequence = ?3)",
            &[text(&r.id), int(before.version), int(before.last_sequence)],
        )?,
        db.statement(
            "UPDATE orders SET status = ?2, payment_status = ?3, fulfillment_status = ?4, shipping_refunded = ?5, \
                cancel_reason = ?6, last_sequence = ?7, updated_at = ?8, version = ?9, paid_minor = ?10, \
                balance_intent = ?11, balance_intent_amount = ?12, balance_client_secret = ?13 WHERE id = ?1",
            &[
                text(&r.id),
                text(r.status.as_str()),
                text(r.payment_status.as_str()),
                text(r.fulfillment_status.as_str()),
                int(i64::from(r.shipping_refunded)),
                r.cancel_reason.as_deref().map_or(wasm_bindgen::JsValue::NULL, text),
                int(r.last_sequence),
                text(now),
                int(r.version),
                int(r.paid_minor),
                r.balance_payment.as_ref().map_or(wasm_bindgen::JsValue::NULL, |b| text(&b.intent_id)),
                r.balance_payment.as_ref().map_or(wasm_bindgen::JsValue::NULL, |b| int(b.amount)),
                r.balance_payment.as_ref().map_or(wasm_bindgen::JsValue::NULL, |b| text(&b.client_secret)),
            ],
        )?,
        db.statement(
            "UPDATE order_lines SET \
               fulfilled_quantity = (SELECT json_extract(value, '$.f') FROM json_each(?1) WHERE json_extract(value, '$.id') = order_lines.id), \
               refunded_quantity = (SELECT json_extract(value, '$.r') FROM json_each(?1) WHERE json_extract(value, '$.id') = order_lines.id), \
               refunded_unfulfilled = (SELECT json_extract(value, '$.u') FROM json_each(?1) WHERE json_extract(value, '$.id') = order_lines.id), \
               returned_quantity = (SELECT json_extract(value, '$.ret') FROM json_each(?1) WHERE json_extract(value, '$.id') = order_lines.id), \
               refunded_minor = (SELECT json_extract(value, '$.m') FROM json_each(?1) WHERE json_extract(value, '$.id') = order_lines.id), \
               last_fulfilled_at = (SELECT json_extract(value, '$.at') FROM json_each(?1) WHERE json_extract(value, '$.id') = order_lines.id), \
               allocations = (SELECT json(json_extract(value, '$.al')) FROM json_each(?1) WHERE json_extract(value, '$.id') = order_lines.id) \
             WHERE order_id = ?2 AND id IN (SELECT json_extract(value, '$.id') FROM json_each(?1))",
            &[crate::store::d1::json_text(&lines), text(&r.id)],
        )?,
    ];
    if change.records.edited {
        out.extend(edited_lines(db, r)?);
    }
    out.extend(levels::apply(db, &change.stock, now)?);
    if let Some(threshold) = change.records.low_stock_threshold {
        out.extend(levels::low_after_moves(db, &change.stock, threshold, now)?);
    }
    let records = &change.records;
    if !records.restock.is_empty() {
        let reason = match &records.ret {
            Some(ret) => format!("returned: {}", ret.id),
            None => format!("returned: order {}", r.id),
        };
        let ids: Vec<String> = records
            .restock
            .iter()
            .enumerate()
            .map(|(i, _)| format!("adj_{}_{}_{i}", r.id, r.version))
            .collect();
        out.extend(after_sale::restock(
            db,
            &records.restock,
            &reason,
            now,
            &ids,
        )?);
    }
    if let Some(refund) = &records.refund {
        out.push(after_sale::upsert_refund(db, &r.id, refund)?);
        out.push(after_sale::refunds_within_paid(db, &r.id)?);
    }
    if let Some(ret) = &records.ret {
        out.push(after_sale::upsert_return(db, ret)?);
    }
    if let Some(action) = &records.action {
        out.push(after_sale::admin_action(db, &r.id, action, now)?);
    }
    for event in &change.events {
        out.push(outbox(db, event, &r.id)?);
    }
    Ok(out)
}

/// An edit's lines and totals: lines gone are deleted, every other line written whole (new
/// ones inserted) in the order's line order, and the order's total and totals.
fn edited_lines(db: &Db, r: &Order) -> Result<Vec<D1PreparedStatement>, StoreError> {
    let lines = json!(r
        .lines
        .iter()
        .enumerate()
        .map(|(i, l)| json!({"id": l.id, "position": i, "sku": l.sku, "title": l.title, "quantity": l.quantity,
                              "unit_price": l.unit_price, "subtotal": l.subtotal, "discount": l.discount,
                              "tax": l.tax, "total": l.total, "al": l.allocations}))
        .collect::<Vec<_>>());
    let lines = crate::store::d1::json_text(&lines);
    Ok(vec![
        db.statement(
            "UPDATE orders SET total_minor = ?2, body = ?3 WHERE id = ?1",
            &[text(&r.id), int(r.total_minor), text(&r.body)],
        )?,
        db.statement(
            "DELETE FROM order_lines WHERE order_id = ?1 AND id NOT IN \
               (SELECT json_extract(value, '$.id') FROM json_each(?2))",
            &[text(&r.id), lines.clone()],
        )?,
        db.statement(
            "INSERT INTO order_lines (id, order_id, position, sku, title, quantity, unit_price, subtotal, discount, tax, total, allocations) \
             SELECT json_extract(value, '$.id'), ?1, json_extract(value, '$.position'), json_extract(value, '$.sku'), \
                    json_extract(value, '$.title'), json_extract(value, '$.quantity'), json_extract(value, '$.unit_price'), \
                    json_extract(value, '$.subtotal'), json_extract(value, '$.discount'), json_extract(value, '$.tax'), \
                    json_extract(value, '$.total'), json(json_extract(value, '$.al')) \
             FROM json_each(?2) WHERE true \
             ON CONFLICT (id) DO UPDATE SET position = excluded.position, quantity = excluded.quantity, \
               unit_price = excluded.unit_price, subtotal = excluded.subtotal, discount = excluded.discount, \
               tax = excluded.tax, total = excluded.total, allocations = excluded.allocations",
            &[text(&r.id), lines],
        )?,
    ])
}

/// The event, in the outbox, in the batch of the change that caused it.
fn outbox(db: &Db, event: &Envelope, aggregate: &str) -> Result<D1PreparedStatement, StoreError> {
    db.statement(
        "INSERT INTO outbox (id, type, aggregate, sequence, payload, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        &[
            text(&event.id),
            text(event.event_type.as_str()),
            text(aggregate),
            int(event.sequence),
            text(&event.to_json().to_string()),
            text(&event.created_at),
        ],
    )
}

/// Orders matching `filter` (SQL over `orders`, `?n` parameters), in `order_by` order, with
/// their lines: one round trip of two statements sharing the filter.
async fn list(
    db: &Db,
    filter: &str,
    order_by: &str,
    params: &[wasm_bindgen::JsValue],
) -> Result<Vec<Order>, StoreError> {
    let page = format!("(SELECT id FROM orders WHERE {filter} ORDER BY {order_by})");
    let ids = format!("SELECT id FROM orders WHERE {filter} ORDER BY {order_by}");
    let results = db
        .batch(vec![
            select_order(db, &format!("id IN {page} ORDER BY {order_by}"), params)?,
            db.statement(
                &format!(
                    "SELECT {LINE_COLUMNS} FROM order_lines WHERE order_id IN {page} ORDER BY position"
                ),
                params,
            )?,
            after_sale::select_refunds(db, &ids, params)?,
            after_sale::select_returns(db, &ids, params)?,
        ])
        .await?;
    let mut r = results.into_iter();
    let rows: Vec<OrderRow> = r.next().map(decode).transpose()?.unwrap_or_default();
    let mut lines: Vec<LineRow> = r.next().map(decode).transpose()?.unwrap_or_default();
    let (mut refunds, mut returns) = after_sale::decode_after_sale(r.next(), r.next())?;
    rows.into_iter()
        .map(|row| {
            let (mine, rest) = lines.drain(..).partition(|l| l.order_id == row.id);
            lines = rest;
            let (my_refunds, rest): (Vec<_>, Vec<_>) =
                refunds.drain(..).partition(|x| x.order_id == row.id);
            refunds = rest;
            let (my_returns, rest): (Vec<_>, Vec<_>) =
                returns.drain(..).partition(|x| x.order_id == row.id);
            returns = rest;
            row.into_order(
                mine.into_iter().map(OrderLine::from).collect(),
                my_refunds
                    .into_iter()
                    .map(|x| x.into_refund())
                    .collect::<Result<_, _>>()?,
                my_returns
                    .into_iter()
                    .map(|x| x.into_return())
                    .collect::<Result<_, _>>()?,
            )
        })
        .collect()
}

/// Newest first, from the position (`created_at`, `id`) of a time cursor, `limit` rows.
async fn newest(
    db: &Db,
    filter: &OrderFilter,
    at: &str,
    after_id: &str,
    limit: usize,
) -> Result<Vec<Order>, StoreError> {
    const PAGE: &str = "(created_at < ?2 OR (created_at = ?2 AND id < ?3))";
    const ORDER: &str = "created_at DESC, id DESC LIMIT ?4";
    let position = [text(at), text(after_id), int(limit as i64)];
    match filter {
        OrderFilter::Staff(q) => {
            // Only the filters given are written, each as a plain comparison, so SQLite can
            // walk an index (status, market, number, email) instead of every order.
            let mut params = vec![text(at), text(after_id), int(limit as i64)];
            let mut conditions =
                vec!["(created_at < ?1 OR (created_at = ?1 AND id < ?2))".to_string()];
            let mut add = |condition: &str, value: &str| {
                params.push(text(value));
                conditions.push(condition.replace('#', &format!("?{}", params.len())));
            };
            if let Some(v) = q.status {
                add("status = #", v.as_str());
            }
            if let Some(v) = q.payment_status {
                add("payment_status = #", v.as_str());
            }
            if let Some(v) = q.fulfillment_status {
                add("fulfillment_status = #", v.as_str());
            }
            if let Some(v) = &q.market {
                add("market = #", v);
            }
            if let Some(v) = &q.channel {
                add("channel_id = #", v);
            }
            if let Some(v) = q.source {
                add("source = #", v.as_str());
            }
            if let Some(v) = &q.created_after {
                add("created_at > #", v);
            }
            if let Some(v) = &q.created_before {
                add("created_at < #", v);
            }
            if let Some(v) = &q.q {
                // An order number (any case), or an email or its beginning: a range over the
                // email index (emails are stored with ASCII letters lower-cased, as here).
                let email = v.to_ascii_lowercase();
                params.push(text(&v.to_ascii_uppercase()));
                params.push(text(&email));
                params.push(text(&format!("{email}\u{10FFFF}")));
                let n = params.len();
                conditions.push(format!(
                    "(number = ?{} OR (email >= ?{} AND email < ?{n}))",
                    n - 2,
                    n - 1
                ));
            }
            list(
                db,
                &conditions.join(" AND "),
                "created_at DESC, id DESC LIMIT ?3",
                &params,
            )
            .await
        }
        OrderFilter::Customer {
            customer_id,
            channel_id,
        } => {
            let mut params = vec![text(customer_id)];
            params.extend(position);
            params.push(text(channel_id));
            list(
                db,
                &format!("customer_id = ?1 AND channel_id = ?5 AND {PAGE}"),
                ORDER,
                &params,
            )
            .await
        }
    }
}
