//! Placing an order in D1: one guarded batch that reserves the stock (the inventory CHECK
//! makes an oversell abort it), numbers and inserts the order and its lines, counts discount
//! usage (refused past a limit), closes the cart (only if still at the version priced), and
//! writes `order.placed` and any `inventory.low` to the outbox. All or nothing.

use crate::app::ports::{Placement, StoreError};
use crate::domain::order::OrderLine;
use crate::domain::stock::StockPicture;
use crate::store::d1::{decode, int, json_text, text, Db};
use crate::store::{levels, D1Store};
use serde_json::{json, Value};

impl D1Store {
    /// `OrderStore::place`: one round trip.
    pub(super) async fn place_order(&self, p: &Placement<'_>) -> Result<String, StoreError> {
        let results = self.db.batch(place_statements(&self.db, p)?).await?;
        number_placed(results)
    }

    /// `OrderStore::stock`: one read.
    pub(super) async fn stock_picture(&self, skus: &[String]) -> Result<StockPicture, StoreError> {
        let result = self
            .db
            .batch(vec![levels::picture(
                &self.db,
                "SELECT value FROM json_each(?1)",
                json_text(&json!(skus)),
            )?])
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| StoreError::Corrupt("stock picture: no result".into()))?;
        levels::decode_picture(result)
    }
}

/// The number the last statement of [`place_statements`] read back.
pub(super) fn number_placed(results: Vec<worker::D1Result>) -> Result<String, StoreError> {
    #[derive(serde::Deserialize)]
    struct Num {
        number: String,
    }
    results
        .into_iter()
        .last()
        .map(decode::<Num>)
        .transpose()?
        .and_then(|r| r.into_iter().next())
        .map(|n| n.number)
        .ok_or_else(|| StoreError::Corrupt("the placed order has no number".into()))
}

/// New order lines as JSON rows, read back by [`line_values`].
pub(super) fn line_rows(lines: &[OrderLine]) -> Value {
    json!(lines.iter().enumerate().map(|(i, l)| json!({
        "id": l.id, "position": i, "sku": l.sku, "title": l.title, "quantity": l.quantity, "unit_price": l.unit_price,
        "subtotal": l.subtotal, "discount": l.discount, "tax": l.tax, "total": l.total,
        "allocations": l.allocations, "price_reason": l.price_reason,
    })).collect::<Vec<_>>())
}

/// The columns [`line_values`] fills.
pub(super) const LINE_INSERT_COLUMNS: &str =
    "(id, order_id, position, sku, title, quantity, unit_price, \
    subtotal, discount, tax, total, allocations, price_reason)";

/// The values of a new order line from `line`, one row of [`line_rows`] (a JSON value in SQL),
/// for the order `order_id` (SQL).
pub(super) fn line_values(line: &str, order_id: &str) -> String {
    let field = |name: &str| format!("json_extract({line}, '$.{name}')");
    format!(
        "{}, {order_id}, {}, {}, {}, {}, {}, {}, {}, {}, {}, json({}), {}",
        field("id"),
        field("position"),
        field("sku"),
        field("title"),
        field("quantity"),
        field("unit_price"),
        field("subtotal"),
        field("discount"),
        field("tax"),
        field("total"),
        field("allocations"),
        field("price_reason"),
    )
}

pub(super) fn place_statements(
    db: &Db,
    p: &Placement<'_>,
) -> Result<Vec<worker::D1PreparedStatement>, StoreError> {
    let (r, now, applied, threshold) = (
        p.order,
        p.order.created_at.as_str(),
        &p.discounts,
        p.low_stock_threshold,
    );
    let lines = line_rows(&r.lines);
    let placed = &p.placed;
    let ids = json!(applied);
    let mut out = Vec::new();
    if p.close_cart {
        out.push(db.statement(
            "INSERT INTO write_guards (ok) SELECT 0 WHERE NOT EXISTS (SELECT 1 FROM carts WHERE id = ?1 AND version = ?2 AND status = 'active')",
            &[text(p.cart_id), int(p.cart_version)],
        )?);
    }
    // The reservation, per location: a CHECK (reserved <= on_hand) aborts the batch rather
    // than oversell.
    out.extend(levels::apply(db, &p.reserve, now)?);
    out.extend([
        db.statement(
            "INSERT INTO order_counters (market, last) VALUES (?1, 1) ON CONFLICT (market) DO UPDATE SET last = last + 1",
            &[text(&r.market)],
        )?,
        db.statement(
            "INSERT INTO orders (id, number, channel_id, cart_id, market, customer_id, status, payment_status, \
                fulfillment_status, payment_provider, payment_reference, total_minor, currency, body, pay_by, last_sequence, \
                created_at, updated_at, paid_minor, kind, exchange_of, email, source, external_id) \
             VALUES (?1, printf('%s-%06d', ?4, (SELECT last FROM order_counters WHERE market = ?4)), ?2, ?3, ?4, ?5, \
                ?12, ?13, ?14, ?6, ?16, ?7, ?8, ?9, ?10, ?15, ?11, ?11, ?17, ?18, ?19, lower(json_extract(?9, '$.email')), ?20, ?21)",
            &[
                text(&r.id), text(&r.channel_id), text(&r.cart_id), text(&r.market),
                r.customer_id.as_deref().map_or(wasm_bindgen::JsValue::NULL, text),
                text(r.payment_method.as_str()), int(r.total_minor), text(&r.currency), text(&r.body), text(&r.pay_by), text(now),
                text(r.status.as_str()), text(r.payment_status.as_str()), text(r.fulfillment_status.as_str()),
                int(r.last_sequence),
                r.payment_reference.as_deref().map_or(wasm_bindgen::JsValue::NULL, text),
                int(r.paid_minor), text(r.kind.as_str()),
                r.exchange_of.as_deref().map_or(wasm_bindgen::JsValue::NULL, text),
                text(r.source.as_str()),
                r.external_id.as_deref().map_or(wasm_bindgen::JsValue::NULL, text),
            ],
        )?,
        db.statement(
            &format!(
                "INSERT INTO order_lines {LINE_INSERT_COLUMNS} SELECT {} FROM json_each(?1)",
                line_values("value", "?2")
            ),
            &[json_text(&lines), text(&r.id)],
        )?,
        // Closes the cart (an exchange has none: the id matches no cart).
        db.statement(
            "UPDATE carts SET status = 'checked_out', version = version + 1, updated_at = ?2 WHERE id = ?1",
            &[text(p.cart_id), text(now)],
        )?,
        db.statement(
            "INSERT INTO outbox (id, type, aggregate, sequence, payload, created_at) \
             VALUES (?1, ?5, ?2, ?6, json_set(?3, '$.data.number', (SELECT number FROM orders WHERE id = ?2)), ?4)",
            &[
                text(&placed.id),
                text(&r.id),
                text(&placed.to_json().to_string()),
                text(now),
                text(placed.event_type.as_str()),
                int(placed.sequence),
            ],
        )?,
    ]);
    out.extend(levels::low_after_moves(db, &p.reserve, threshold, now)?);
    if !p.generations.is_empty() {
        // Each SKU still in the mode it was planned in (0: normal): a switch meanwhile aborts.
        let planned = json!(p
            .generations
            .iter()
            .map(|(s, g)| json!([s, g]))
            .collect::<Vec<_>>());
        out.push(db.statement(
            "INSERT INTO write_guards (ok) SELECT 0 FROM json_each(?1) e              WHERE COALESCE((SELECT generation FROM hot_skus h WHERE h.sku = json_extract(e.value, '$[0]')                  AND h.mode = 'hot'), 0) != json_extract(e.value, '$[1]')",
            &[json_text(&planned)],
        )?);
    }
    if !p.hot_holds.is_empty() {
        let holds = json!(p
            .hot_holds
            .iter()
            .map(|(id, sku)| json!([id, sku]))
            .collect::<Vec<_>>());
        out.push(db.statement(
            "INSERT INTO hot_holds (reservation, sku, order_id, created_at)              SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), ?2, ?3 FROM json_each(?1)",
            &[json_text(&holds), text(&r.id), text(now)],
        )?);
    }
    if let Some(action) = &p.action {
        out.push(crate::store::after_sale::admin_action(
            db, &r.id, action, now,
        )?);
    }
    if !applied.is_empty() {
        out.push(db.statement(
            "UPDATE discounts SET times_used = times_used + 1 WHERE id IN (SELECT value FROM json_each(?1))",
            &[json_text(&ids)],
        )?);
        out.push(db.statement(
            "INSERT INTO write_guards (ok) SELECT 0 FROM discounts WHERE id IN (SELECT value FROM json_each(?1)) \
             AND usage_limit IS NOT NULL AND times_used > usage_limit",
            &[json_text(&ids)],
        )?);
        if let Some(customer) = &r.customer_id {
            out.push(db.statement(
                "INSERT INTO discount_customer_usage (discount_id, customer_id, times_used) \
                 SELECT value, ?2, 1 FROM json_each(?1) WHERE true \
                 ON CONFLICT (discount_id, customer_id) DO UPDATE SET times_used = times_used + 1",
                &[json_text(&ids), text(customer)],
            )?);
            out.push(db.statement(
                "INSERT INTO write_guards (ok) SELECT 0 FROM discounts d JOIN discount_customer_usage u \
                   ON u.discount_id = d.id AND u.customer_id = ?2 \
                 WHERE d.id IN (SELECT value FROM json_each(?1)) AND d.usage_limit_per_customer IS NOT NULL \
                   AND u.times_used > d.usage_limit_per_customer",
                &[json_text(&ids), text(customer)],
            )?);
        }
    }
    if let Some(answer) = &p.answer {
        out.push(crate::store::idempotency::finish_placed(db, answer, &r.id)?);
    }
    out.push(db.statement("SELECT number FROM orders WHERE id = ?1", &[text(&r.id)])?);
    Ok(out)
}
