//! Settlements, returns and admin actions in D1: their rows, the statements that read them with
//! their order, and those that write them in the order's guarded batch.

use crate::app::ports::{ReturnFilter, TimelineEntry};
use crate::domain::order::returns::{Opener, Return, ReturnLine, ReturnReason, ReturnStatus};
use crate::domain::order::{AdminAction, Refund, RefundKind, RefundLine, RefundStatus};
use crate::store::d1::{decode, int, json_text, text, Db, StoreError};
use serde::Deserialize;
use serde_json::json;
use wasm_bindgen::JsValue;
use worker::D1PreparedStatement;

#[derive(Debug, Clone, Deserialize)]
pub(super) struct RefundRow {
    pub order_id: String,
    id: String,
    kind: String,
    status: String,
    amount_minor: i64,
    credit_minor: i64,
    lines: String,
    include_shipping: i64,
    reason: Option<String>,
    provider_reference: Option<String>,
    failure_reason: Option<String>,
    attempts: i64,
    created_at: String,
    updated_at: String,
}

#[derive(Debug, Clone, Deserialize)]
pub(super) struct ReturnRow {
    pub order_id: String,
    id: String,
    status: String,
    lines: String,
    note: Option<String>,
    opened_by: String,
    reject_reason: Option<String>,
    exchange_order_id: Option<String>,
    refund_ids: String,
    created_at: String,
    updated_at: String,
}

const REFUND_COLUMNS: &str =
    "order_id, id, kind, status, amount_minor, credit_minor, lines, include_shipping, reason, \
     provider_reference, failure_reason, attempts, created_at, updated_at";
const RETURN_COLUMNS: &str =
    "order_id, id, status, lines, note, opened_by, reject_reason, exchange_order_id, refund_ids, \
     created_at, updated_at";

/// The refunds of the orders `order_ids_sql` selects (an SQL expression such as `?1` or a
/// subquery in parentheses), oldest first.
pub(super) fn select_refunds(
    db: &Db,
    order_ids_sql: &str,
    params: &[JsValue],
) -> Result<D1PreparedStatement, StoreError> {
    db.statement(
        &format!("SELECT {REFUND_COLUMNS} FROM refunds WHERE order_id IN ({order_ids_sql}) ORDER BY created_at, id"),
        params,
    )
}

/// The returns of the orders `order_ids_sql` selects, oldest first.
pub(super) fn select_returns(
    db: &Db,
    order_ids_sql: &str,
    params: &[JsValue],
) -> Result<D1PreparedStatement, StoreError> {
    db.statement(
        &format!("SELECT {RETURN_COLUMNS} FROM returns WHERE order_id IN ({order_ids_sql}) ORDER BY created_at, id"),
        params,
    )
}

impl RefundRow {
    pub(super) fn into_refund(self) -> Result<Refund, StoreError> {
        let corrupt = |w: &str| StoreError::Corrupt(format!("refund {}: {w}", self.id));
        #[derive(Deserialize)]
        struct L {
            line_id: String,
            quantity: i64,
            amount: i64,
        }
        let lines: Vec<L> = serde_json::from_str(&self.lines).map_err(|_| corrupt("lines"))?;
        Ok(Refund {
            kind: RefundKind::parse(&self.kind).ok_or_else(|| corrupt("kind"))?,
            status: RefundStatus::parse(&self.status).ok_or_else(|| corrupt("status"))?,
            lines: lines
                .into_iter()
                .map(|l| RefundLine {
                    line_id: l.line_id,
                    quantity: l.quantity,
                    amount: l.amount,
                })
                .collect(),
            id: self.id,
            amount: self.amount_minor,
            credit: self.credit_minor,
            include_shipping: self.include_shipping != 0,
            reason: self.reason,
            provider_reference: self.provider_reference,
            failure_reason: self.failure_reason,
            attempts: self.attempts,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

impl ReturnRow {
    pub(super) fn into_return(self) -> Result<Return, StoreError> {
        let corrupt = |w: &str| StoreError::Corrupt(format!("return {}: {w}", self.id));
        #[derive(Deserialize)]
        struct L {
            line_id: String,
            quantity: i64,
            reason: String,
            received: i64,
            restocked: i64,
        }
        let lines: Vec<L> = serde_json::from_str(&self.lines).map_err(|_| corrupt("lines"))?;
        let lines = lines
            .into_iter()
            .map(|l| {
                Ok(ReturnLine {
                    reason: ReturnReason::parse(&l.reason).ok_or_else(|| corrupt("reason"))?,
                    line_id: l.line_id,
                    quantity: l.quantity,
                    received: l.received,
                    restocked: l.restocked,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        Ok(Return {
            status: ReturnStatus::parse(&self.status).ok_or_else(|| corrupt("status"))?,
            opened_by: Opener::parse(&self.opened_by).ok_or_else(|| corrupt("opened_by"))?,
            refund_ids: serde_json::from_str(&self.refund_ids)
                .map_err(|_| corrupt("refund_ids"))?,
            lines,
            id: self.id,
            order_id: self.order_id,
            note: self.note,
            reject_reason: self.reject_reason,
            exchange_order_id: self.exchange_order_id,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

fn opt(v: Option<&str>) -> JsValue {
    v.map_or(JsValue::NULL, text)
}

/// Inserts a refund, or updates its status, provider reference, failure and attempts.
pub(super) fn upsert_refund(
    db: &Db,
    order_id: &str,
    r: &Refund,
) -> Result<D1PreparedStatement, StoreError> {
    let lines = json!(r
        .lines
        .iter()
        .map(|l| json!({"line_id": l.line_id, "quantity": l.quantity, "amount": l.amount}))
        .collect::<Vec<_>>());
    db.statement(
        "INSERT INTO refunds (id, order_id, kind, status, amount_minor, credit_minor, lines, include_shipping, reason, \
           provider_reference, failure_reason, attempts, created_at, updated_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14) \
         ON CONFLICT (id) DO UPDATE SET status = excluded.status, provider_reference = excluded.provider_reference, \
           failure_reason = excluded.failure_reason, attempts = excluded.attempts, updated_at = excluded.updated_at",
        &[
            text(&r.id),
            text(order_id),
            text(r.kind.as_str()),
            text(r.status.as_str()),
            int(r.amount),
            int(r.credit),
            text(&lines.to_string()),
            int(i64::from(r.include_shipping)),
            opt(r.reason.as_deref()),
            opt(r.provider_reference.as_deref()),
            opt(r.failure_reason.as_deref()),
            int(r.attempts),
            text(&r.created_at),
            text(&r.updated_at),
        ],
    )
}

/// Refuses the batch if the order's refunds take more than it was paid.
pub(super) fn refunds_within_paid(
    db: &Db,
    order_id: &str,
) -> Result<D1PreparedStatement, StoreError> {
    db.statement(
        "INSERT INTO write_guards (ok) SELECT 0 WHERE \
           (SELECT COALESCE(SUM(amount_minor), 0) FROM refunds WHERE order_id = ?1) > \
           (SELECT paid_minor FROM orders WHERE id = ?1)",
        &[text(order_id)],
    )
}

/// Inserts a return, or updates its status, lines, reasons, exchange and refunds.
pub(super) fn upsert_return(db: &Db, r: &Return) -> Result<D1PreparedStatement, StoreError> {
    let lines =
        json!(r
        .lines
        .iter()
        .map(|l| json!({"line_id": l.line_id, "quantity": l.quantity, "reason": l.reason.as_str(),
                        "received": l.received, "restocked": l.restocked}))
        .collect::<Vec<_>>());
    db.statement(
        "INSERT INTO returns (id, order_id, status, lines, note, opened_by, reject_reason, exchange_order_id, refund_ids, \
           created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11) \
         ON CONFLICT (id) DO UPDATE SET status = excluded.status, lines = excluded.lines, \
           reject_reason = excluded.reject_reason, exchange_order_id = excluded.exchange_order_id, \
           refund_ids = excluded.refund_ids, updated_at = excluded.updated_at",
        &[
            text(&r.id),
            text(&r.order_id),
            text(r.status.as_str()),
            text(&lines.to_string()),
            opt(r.note.as_deref()),
            text(r.opened_by.as_str()),
            opt(r.reject_reason.as_deref()),
            opt(r.exchange_order_id.as_deref()),
            text(&json!(r.refund_ids).to_string()),
            text(&r.created_at),
            text(&r.updated_at),
        ],
    )
}

/// Puts returned units back on hand, with an adjustment each in the stock's audit trail.
pub(super) fn restock(
    db: &Db,
    units: &[(String, String, i64)],
    reason: &str,
    now: &str,
    ids: &[String],
) -> Result<Vec<D1PreparedStatement>, StoreError> {
    let moves = json!(units
        .iter()
        .zip(ids)
        .map(|((sku, location, q), id)| json!({"sku": sku, "location": location, "q": q, "id": id}))
        .collect::<Vec<_>>());
    Ok(vec![
        // A location that no longer holds the SKU gets its level back.
        db.statement(
            "INSERT OR IGNORE INTO inventory_levels (sku, location, on_hand, reserved, updated_at) \
             SELECT json_extract(value, '$.sku'), json_extract(value, '$.location'), 0, 0, ?2 FROM json_each(?1) \
             WHERE json_extract(value, '$.sku') IN (SELECT sku FROM inventory) \
               AND json_extract(value, '$.location') IN (SELECT id FROM locations)",
            &[json_text(&moves), text(now)],
        )?,
        db.statement(
            "UPDATE inventory_levels SET \
               on_hand = on_hand + (SELECT SUM(json_extract(value, '$.q')) FROM json_each(?1) \
                 WHERE json_extract(value, '$.sku') = inventory_levels.sku AND json_extract(value, '$.location') = inventory_levels.location), \
               updated_at = ?2 \
             WHERE (sku, location) IN (SELECT json_extract(value, '$.sku'), json_extract(value, '$.location') FROM json_each(?1))",
            &[json_text(&moves), text(now)],
        )?,
        db.statement(
            "INSERT INTO inventory_adjustments (id, sku, location, delta, on_hand, reason, created_at) \
             SELECT json_extract(q.value, '$.id'), v.sku, v.location, json_extract(q.value, '$.q'), v.on_hand, ?2, ?3 \
             FROM json_each(?1) q JOIN inventory_levels v ON v.sku = json_extract(q.value, '$.sku') \
               AND v.location = json_extract(q.value, '$.location')",
            &[json_text(&moves), text(reason), text(now)],
        )?,
    ])
}

pub(super) fn admin_action(
    db: &Db,
    order_id: &str,
    a: &AdminAction,
    at: &str,
) -> Result<D1PreparedStatement, StoreError> {
    db.statement(
        "INSERT INTO admin_actions (id, order_id, actor, action, summary, reference, at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        &[
            text(&a.id),
            text(order_id),
            text(&a.actor),
            text(&a.action),
            text(&a.summary),
            opt(a.reference.as_deref()),
            text(at),
        ],
    )
}

/// Returns matching `filter`, newest first, from (`at`, `after_id`): one read.
pub(super) async fn list_returns(
    db: &Db,
    filter: &ReturnFilter,
    at: &str,
    after_id: &str,
    limit: usize,
) -> Result<Vec<Return>, StoreError> {
    let rows: Vec<ReturnRow> = db
        .all(db.statement(
            &format!(
                "SELECT {RETURN_COLUMNS} FROM returns WHERE (?1 IS NULL OR status = ?1) AND (?2 IS NULL OR order_id = ?2) \
                 AND (created_at < ?3 OR (created_at = ?3 AND id < ?4)) ORDER BY created_at DESC, id DESC LIMIT ?5"
            ),
            &[
                opt(filter.status.map(ReturnStatus::as_str)),
                opt(filter.order_id.as_deref()),
                text(at),
                text(after_id),
                int(limit as i64),
            ],
        )?)
        .await?;
    rows.into_iter().map(ReturnRow::into_return).collect()
}

/// An order's events, admin actions and deliveries, oldest first: one round trip.
pub(super) async fn timeline(db: &Db, order_id: &str) -> Result<Vec<TimelineEntry>, StoreError> {
    #[derive(Deserialize)]
    struct Row {
        at: String,
        kind: String,
        actor: Option<String>,
        summary: String,
        reference: Option<String>,
    }
    let rows: Vec<Row> = db
        .all(db.statement(
            "SELECT created_at AS at, 'event' AS kind, NULL AS actor, type AS summary, id AS reference, 0 AS o \
               FROM outbox WHERE aggregate = ?1 \
             UNION ALL SELECT at, 'admin_action', actor, summary, reference, 1 FROM admin_actions WHERE order_id = ?1 \
             UNION ALL SELECT d.updated_at, 'delivery', NULL, \
                 o.type || ' to ' || d.destination_id || ': ' || d.status || \
                 CASE WHEN d.attempts > 0 THEN ' after ' || d.attempts || ' attempt(s)' ELSE '' END || \
                 CASE WHEN d.last_error IS NOT NULL THEN ' (' || d.last_error || ')' ELSE '' END, d.id, 2 \
               FROM deliveries d JOIN outbox o ON o.id = d.event_id WHERE o.aggregate = ?1 \
             ORDER BY 1, 6, 5 LIMIT 1000",
            &[text(order_id)],
        )?)
        .await?;
    Ok(rows
        .into_iter()
        .map(|r| TimelineEntry {
            at: r.at,
            kind: match r.kind.as_str() {
                "event" => "event",
                "admin_action" => "admin_action",
                _ => "delivery",
            },
            actor: r.actor,
            summary: r.summary,
            reference: r.reference,
        })
        .collect())
}

/// The refunds and returns of a batch of rows, grouped per order.
pub(super) fn decode_after_sale(
    refunds: Option<worker::D1Result>,
    returns: Option<worker::D1Result>,
) -> Result<(Vec<RefundRow>, Vec<ReturnRow>), StoreError> {
    Ok((
        refunds
            .map(decode::<RefundRow>)
            .transpose()?
            .unwrap_or_default(),
        returns
            .map(decode::<ReturnRow>)
            .transpose()?
            .unwrap_or_default(),
    ))
}

/// `EditPricing`: the market, the catalog entries of `skus`, the discounts of `codes` and the
/// automatic ones, and where the stock of `skus` is: one round trip.
#[cfg(feature = "backoffice")]
impl crate::app::ports::EditPricing for crate::store::D1Store {
    async fn edit_sources(
        &self,
        market: &str,
        currency: &str,
        skus: &[String],
        codes: &[String],
    ) -> Result<Option<crate::app::ports::EditSources>, StoreError> {
        use crate::domain::admin_defs::DiscountDef;
        use crate::domain::catalog::{CatalogRow, CatalogSnapshot};
        use crate::domain::market::Market;
        let db = &self.db;
        let mut results = db
            .batch(vec![
                db.statement(
                    &format!(
                        "SELECT {} FROM markets WHERE code = ?1",
                        crate::store::markets::COLUMNS
                    ),
                    &[text(market)],
                )?,
                crate::store::catalog::rows_of(db, market, currency, Some(skus))?,
                db.statement(
                    "SELECT definition FROM discounts WHERE enabled = 1 AND \
                       (code IS NULL OR code IN (SELECT value FROM json_each(?1)))",
                    &[json_text(&json!(codes))],
                )?,
                crate::store::levels::picture(
                    db,
                    "SELECT value FROM json_each(?1)",
                    json_text(&json!(skus)),
                )?,
            ])
            .await?
            .into_iter();
        #[derive(Deserialize)]
        struct Definition {
            definition: String,
        }
        let markets: Vec<crate::store::rows::MarketRow> =
            results.next().map(decode).transpose()?.unwrap_or_default();
        let Some(row) = markets.into_iter().next() else {
            return Ok(None);
        };
        let market = Market::try_from(row)?;
        let rows: Vec<CatalogRow> = results.next().map(decode).transpose()?.unwrap_or_default();
        let defs: Vec<Definition> = results.next().map(decode).transpose()?.unwrap_or_default();
        let stock = results
            .next()
            .map(crate::store::levels::decode_picture)
            .transpose()?
            .unwrap_or_default();
        let catalog = CatalogSnapshot::build(&market.code, market.currency, String::new(), rows)
            .map_err(|e| StoreError::Corrupt(format!("catalog row {}: {}", e.sku, e.reason)))?;
        let discounts = defs
            .into_iter()
            .map(|d| {
                serde_json::from_str::<DiscountDef>(&d.definition)
                    .map_err(|e| StoreError::Corrupt(format!("discount definition: {e}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Some(crate::app::ports::EditSources {
            market,
            catalog,
            discounts,
            stock,
        }))
    }
}
