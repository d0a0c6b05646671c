//! `DraftStore` in D1: draft orders are cart rows of kind `draft` (see migration 0012). A read
//! is one batch; a write is one guarded batch that ends with the draft read back.

use crate::app::ports::{DraftContext, DraftQuery, DraftStore, DraftWrite, StoreError};
use crate::domain::cart::{CartRecord, LineRecord};
use crate::domain::market::Market;
use crate::store::carts::{decode_reads, reads, ShippingRow, SHIPPING_COLUMNS};
use crate::store::d1::{decode, int, json_text, text, Db};
use crate::store::rows::MarketRow;
use crate::store::D1Store;
use serde::Deserialize;
use serde_json::json;
use wasm_bindgen::JsValue;
use worker::D1PreparedStatement;

fn opt(v: Option<&str>) -> JsValue {
    v.map_or(JsValue::NULL, text)
}

/// What staff may change of a draft's row, in the order both writes bind it.
fn changeable(r: &CartRecord) -> [JsValue; 6] {
    [
        opt(r.email.as_deref()),
        opt(r.shipping_address.as_deref()),
        opt(r.billing_address.as_deref()),
        opt(r.shipping_method_id.as_deref()),
        opt(r.note.as_deref()),
        text(&r.discount_codes),
    ]
}

#[derive(Deserialize)]
struct FactsRow {
    channel_exists: i64,
    order_id: Option<String>,
}

#[derive(Deserialize)]
struct SoldMarketRow {
    code: String,
    currency: String,
    countries: String,
    languages: String,
    tax_inclusive: i64,
    tax_rates: String,
    rounding_mode: String,
    tax_rounding: String,
    sold: i64,
}

impl SoldMarketRow {
    fn market(self) -> Result<(Market, bool), StoreError> {
        let sold = self.sold == 1;
        let row = MarketRow {
            code: self.code,
            currency: self.currency,
            countries: self.countries,
            languages: self.languages,
            tax_inclusive: self.tax_inclusive,
            tax_rates: self.tax_rates,
            rounding_mode: self.rounding_mode,
            tax_rounding: self.tax_rounding,
        };
        Ok((Market::try_from(row)?, sold))
    }
}

impl DraftStore for D1Store {
    async fn draft_context(&self, q: &DraftQuery<'_>) -> Result<DraftContext, StoreError> {
        let db = &self.db;
        let id = q.draft.unwrap_or("");
        // The named channel, market and method, else the draft's own.
        let channel = "COALESCE(?2, (SELECT channel_id FROM carts WHERE id = ?1))";
        let mut batch = vec![
            db.statement(
                &format!(
                    "SELECT EXISTS (SELECT 1 FROM channels WHERE id = {channel}) AS channel_exists, \
                     (SELECT id FROM orders WHERE cart_id = ?1) AS order_id"
                ),
                &[text(id), opt(q.channel)],
            )?,
            db.statement(
                &format!(
                    "SELECT m.code, m.currency, m.countries, m.languages, m.tax_inclusive, m.tax_rates, \
                       m.rounding_mode, m.tax_rounding, EXISTS (SELECT 1 FROM channel_markets cm \
                       WHERE cm.market_code = m.code AND cm.channel_id = {channel}) AS sold \
                     FROM markets m WHERE m.code = COALESCE(?3, (SELECT market FROM carts WHERE id = ?1))"
                ),
                &[text(id), opt(q.channel), opt(q.market)],
            )?,
            db.statement(
                &format!(
                    "SELECT {SHIPPING_COLUMNS} FROM shipping_methods \
                     WHERE id = COALESCE(?2, (SELECT shipping_method_id FROM carts WHERE id = ?1))"
                ),
                &[text(id), opt(q.shipping_method)],
            )?,
        ];
        if q.draft.is_some() {
            batch.extend(reads(db, id)?);
        }
        let mut results = db.batch(batch).await?.into_iter();
        let mut next = || {
            results
                .next()
                .ok_or_else(|| StoreError::Corrupt("draft context: too few results".into()))
        };
        let facts = decode::<FactsRow>(next()?)?.into_iter().next();
        let market = decode::<SoldMarketRow>(next()?)?
            .into_iter()
            .next()
            .map(SoldMarketRow::market)
            .transpose()?;
        let shipping_method = decode::<ShippingRow>(next()?)?
            .into_iter()
            .next()
            .map(ShippingRow::def)
            .transpose()?;
        let draft = match q.draft {
            Some(_) => decode_reads(vec![next()?])?,
            None => None,
        };
        Ok(DraftContext {
            draft,
            channel_exists: facts.as_ref().is_some_and(|f| f.channel_exists == 1),
            market,
            shipping_method,
            order_id: facts.and_then(|f| f.order_id),
        })
    }

    async fn save_draft(
        &self,
        w: &DraftWrite<'_>,
    ) -> Result<Option<crate::domain::cart::CartData>, StoreError> {
        let db = &self.db;
        let r = w.record;
        let mut batch = match w.expect {
            None => vec![db.statement(
                "INSERT INTO carts (id, kind, channel_id, market, currency, status, version, email, \
                    shipping_address, billing_address, shipping_method_id, note, discount_codes, \
                    expires_at, created_at, updated_at) \
                 VALUES (?1, 'draft', ?2, ?3, ?4, 'active', 1, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?12)",
                &[
                    &[text(&r.id), text(&r.channel_id), text(&r.market), text(&r.currency)][..],
                    &changeable(r),
                    &[text(&r.expires_at), text(w.now)],
                ]
                .concat(),
            )?],
            Some(version) => vec![
                // Only an open draft, at the version read, is rewritten.
                db.statement(
                    "INSERT INTO write_guards (ok) SELECT 0 WHERE NOT EXISTS (SELECT 1 FROM carts \
                     WHERE id = ?1 AND kind = 'draft' AND status = 'active' AND version = ?2)",
                    &[text(&r.id), int(version)],
                )?,
                db.statement(
                    "UPDATE carts SET email = ?2, shipping_address = ?3, billing_address = ?4, \
                        shipping_method_id = ?5, note = ?6, discount_codes = ?7, \
                        version = version + 1, updated_at = ?8 \
                     WHERE id = ?1",
                    &[&[text(&r.id)][..], &changeable(r), &[text(w.now)]].concat(),
                )?,
            ],
        };
        if let Some(lines) = w.lines {
            if w.expect.is_some() {
                batch.push(
                    db.statement("DELETE FROM cart_lines WHERE cart_id = ?1", &[text(&r.id)])?,
                );
            }
            batch.push(insert_lines(db, &r.id, &r.market, lines, w.now)?);
        }
        let read_at = batch.len();
        batch.extend(reads(db, &r.id)?);
        let results = db.batch(batch).await?;
        decode_reads(results.into_iter().skip(read_at).collect())
    }

    async fn discard_draft(&self, id: &str) -> Result<(), StoreError> {
        let db = &self.db;
        let open = "id = ?1 AND kind = 'draft' AND status = 'active'";
        db.batch(vec![
            db.statement(
                &format!("INSERT INTO write_guards (ok) SELECT 0 WHERE NOT EXISTS (SELECT 1 FROM carts WHERE {open})"),
                &[text(id)],
            )?,
            db.statement("DELETE FROM cart_lines WHERE cart_id = ?1", &[text(id)])?,
            db.statement(&format!("DELETE FROM carts WHERE {open}"), &[text(id)])?,
        ])
        .await?;
        Ok(())
    }
}

/// The draft's lines, each at its SKU's published price in the market as the price seen (a
/// SKU no longer sold there leaves it NULL: the NOT NULL column refuses the batch).
fn insert_lines(
    db: &Db,
    draft_id: &str,
    market: &str,
    lines: &[LineRecord],
    now: &str,
) -> Result<D1PreparedStatement, StoreError> {
    let rows = json!(lines
        .iter()
        .map(|l| json!({
            "id": l.id, "sku": l.sku, "quantity": l.quantity, "position": l.position,
            "price_override": l.price_override, "price_reason": l.price_reason,
        }))
        .collect::<Vec<_>>());
    db.statement(
        "INSERT INTO cart_lines (id, cart_id, sku, quantity, position, unit_price_seen, \
            price_override, price_reason, created_at, updated_at) \
         SELECT json_extract(value, '$.id'), ?2, json_extract(value, '$.sku'), \
            json_extract(value, '$.quantity'), json_extract(value, '$.position'), \
            (SELECT p.amount_minor FROM prices p JOIN variants v ON v.sku = p.sku \
               JOIN products pr ON pr.id = v.product_id \
             WHERE p.sku = json_extract(value, '$.sku') AND pr.status = 'published' AND p.market = ?3), \
            json_extract(value, '$.price_override'), json_extract(value, '$.price_reason'), ?4, ?4 \
         FROM json_each(?1)",
        &[json_text(&rows), text(draft_id), text(market), text(now)],
    )
}

/// A draft in a list: what staff pick it by.
#[derive(Debug, Deserialize, serde::Serialize)]
pub struct DraftSummary {
    pub id: String,
    pub status: String,
    pub channel: String,
    pub market: String,
    pub email: Option<String>,
    pub line_count: i64,
    pub order_id: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

/// Drafts newest first, `open` or `completed` only when `status` says so, after the
/// (created_at, id) position: one read.
pub async fn list(
    db: &Db,
    status: Option<&str>,
    after: Option<(String, String)>,
    limit: usize,
) -> Result<Vec<DraftSummary>, StoreError> {
    let (at, id) = after.unwrap_or_else(|| ("9999".into(), String::new()));
    let stored = status.map(|s| if s == "open" { "active" } else { "checked_out" });
    db.all(db.statement(
        "SELECT c.id, CASE c.status WHEN 'active' THEN 'open' ELSE 'completed' END AS status, \
            c.channel_id AS channel, c.market, c.email, \
            (SELECT COUNT(*) FROM cart_lines l WHERE l.cart_id = c.id) AS line_count, \
            (SELECT o.id FROM orders o WHERE o.cart_id = c.id) AS order_id, \
            c.created_at, c.updated_at \
         FROM carts c WHERE c.kind = 'draft' AND (?1 IS NULL OR c.status = ?1) \
           AND (c.created_at < ?2 OR (c.created_at = ?2 AND (?3 = '' OR c.id < ?3))) \
         ORDER BY c.created_at DESC, c.id DESC LIMIT ?4",
        &[opt(stored), text(&at), text(&id), int(limit as i64)],
    )?)
    .await
}
