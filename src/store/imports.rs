//! `OrderImports` in D1: what an import call needs known, read in one batch, and the planned
//! import written in one guarded batch of set-based statements (ten or so, however many
//! orders: D1 counts every statement against the invocation's 1,000 queries).

use crate::app::ports::{OrderImports, StoreError};
use crate::domain::events::EventType;
use crate::domain::import::{ImportedOrder, Known, KnownVariant, Plan};
use crate::domain::market::{Market, TaxClass};
use crate::store::d1::{decode, json_text, text, Db};
use crate::store::rows::MarketRow;
use crate::store::{levels, D1Store};
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use wasm_bindgen::JsValue;

#[derive(Deserialize)]
struct ChannelRow {
    id: String,
    markets: String,
}

#[derive(Deserialize)]
struct VariantRow {
    sku: String,
    product_title: String,
    title: String,
    tax_class: String,
}

#[derive(Deserialize)]
struct ExistingRow {
    id: String,
    channel_id: String,
    external_id: String,
}

impl OrderImports for D1Store {
    async fn import_context(&self, orders: &[ImportedOrder]) -> Result<Known, StoreError> {
        let db = &self.db;
        let set = |items: Vec<&str>| {
            let mut items = items;
            items.sort_unstable();
            items.dedup();
            json_text(&json!(items))
        };
        let channels = set(orders.iter().map(|o| o.channel.as_str()).collect());
        let markets = set(orders.iter().map(|o| o.market.as_str()).collect());
        let skus = set(orders
            .iter()
            .flat_map(|o| o.lines.iter().map(|l| l.sku.as_str()))
            .collect());
        let pairs = json_text(&json!(orders
            .iter()
            .map(|o| json!([o.channel, o.external_id]))
            .collect::<Vec<_>>()));
        let results = db
            .batch(vec![
                db.statement(
                    "SELECT c.id, json_group_array(m.market_code) FILTER (WHERE m.market_code IS NOT NULL) AS markets \
                     FROM channels c LEFT JOIN channel_markets m ON m.channel_id = c.id \
                     WHERE c.id IN (SELECT value FROM json_each(?1)) GROUP BY c.id",
                    &[channels],
                )?,
                db.statement(
                    &format!(
                        "SELECT {} FROM markets WHERE code IN (SELECT value FROM json_each(?1))",
                        crate::store::markets::COLUMNS
                    ),
                    &[markets],
                )?,
                db.statement(
                    "SELECT v.sku, p.title AS product_title, v.title, v.tax_class \
                     FROM variants v JOIN products p ON p.id = v.product_id \
                     WHERE v.sku IN (SELECT value FROM json_each(?1))",
                    std::slice::from_ref(&skus),
                )?,
                db.statement(
                    "SELECT id, channel_id, external_id FROM orders WHERE external_id IS NOT NULL AND \
                       (channel_id, external_id) IN (SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]') FROM json_each(?1))",
                    &[pairs],
                )?,
                levels::picture(db, "SELECT value FROM json_each(?1)", skus)?,
            ])
            .await?;
        let mut r = results.into_iter();
        let mut next = || {
            r.next()
                .ok_or_else(|| StoreError::Corrupt("import context: too few results".into()))
        };
        let channels = decode::<ChannelRow>(next()?)?
            .into_iter()
            .map(|c| (c.id, serde_json::from_str(&c.markets).unwrap_or_default()))
            .collect();
        let markets = decode::<MarketRow>(next()?)?
            .into_iter()
            .map(Market::try_from)
            .collect::<Result<Vec<_>, _>>()?;
        let variants = decode::<VariantRow>(next()?)?
            .into_iter()
            .map(|v| {
                let class = TaxClass::parse(&v.tax_class).ok_or_else(|| {
                    StoreError::Corrupt(format!("variant {}: tax class {}", v.sku, v.tax_class))
                })?;
                Ok((
                    v.sku,
                    KnownVariant {
                        title: crate::domain::catalog::line_title(&v.product_title, &v.title),
                        tax_class: class,
                    },
                ))
            })
            .collect::<Result<BTreeMap<_, _>, StoreError>>()?;
        let existing = decode::<ExistingRow>(next()?)?
            .into_iter()
            .map(|e| ((e.channel_id, e.external_id), e.id))
            .collect();
        let picture = levels::decode_picture(next()?)?;
        Ok(Known {
            markets,
            channels,
            variants,
            existing,
            picture,
        })
    }

    async fn import(&self, plan: &Plan, threshold: i64, now: &str) -> Result<(), StoreError> {
        self.db
            .batch(import_statements(&self.db, plan, threshold, now)?)
            .await?;
        Ok(())
    }
}

/// `items` as JSON arrays bound as parameters, each under D1's limit (`params`).
fn chunks(items: &[Value]) -> Vec<JsValue> {
    crate::params::json_arrays(items, crate::params::PARAM_BYTES)
        .iter()
        .map(|a| text(a))
        .collect()
}

fn import_statements(
    db: &Db,
    plan: &Plan,
    threshold: i64,
    now: &str,
) -> Result<Vec<worker::D1PreparedStatement>, StoreError> {
    // Numbers per market: the counter goes up by the call's orders of that market, and each
    // order takes its place counted back from the new last number.
    let mut left: BTreeMap<&str, i64> = BTreeMap::new();
    for (o, _) in &plan.orders {
        *left.entry(&o.market).or_default() += 1;
    }
    let counts = json_text(&json!(left));
    let mut orders = Vec::with_capacity(plan.orders.len());
    let mut events = Vec::new();
    for (o, envelopes) in &plan.orders {
        let back = left.get_mut(o.market.as_str()).map_or(0, |n| {
            *n -= 1;
            *n
        });
        orders.push(json!({
            "id": o.id, "back": back, "channel": o.channel_id, "source": o.source.as_str(),
            "external_id": o.external_id, "cart_id": o.cart_id, "market": o.market,
            "status": o.status.as_str(), "payment_status": o.payment_status.as_str(),
            "fulfillment_status": o.fulfillment_status.as_str(), "provider": o.payment_method.as_str(),
            "reference": o.payment_reference, "total": o.total_minor, "paid": o.paid_minor,
            "currency": o.currency, "body": o.body, "pay_by": o.pay_by, "sequence": o.last_sequence,
            "version": o.version, "created_at": o.created_at, "updated_at": o.updated_at,
            "lines": crate::store::checkout::line_rows(&o.lines),
        }));
        for e in envelopes {
            events.push(json!({
                "id": e.id, "type": e.event_type.as_str(), "aggregate": o.id, "sequence": e.sequence,
                "payload": e.to_json(),
            }));
        }
    }
    let mut out = levels::apply(db, &plan.reserve, now)?;
    out.push(db.statement(
        "INSERT INTO order_counters (market, last) SELECT key, value FROM json_each(?1) WHERE true \
         ON CONFLICT (market) DO UPDATE SET last = last + excluded.last",
        &[counts],
    )?);
    for orders in chunks(&orders) {
        out.extend([
            // A second import of one (channel, external id) fails the unique index: the batch
            // aborts, and the use case answers the order imported first.
            db.statement(
                "INSERT INTO orders (id, number, channel_id, source, external_id, cart_id, market, status, payment_status, \
                    fulfillment_status, payment_provider, payment_reference, total_minor, paid_minor, currency, body, pay_by, \
                    last_sequence, version, created_at, updated_at, email) \
                 SELECT json_extract(o.value, '$.id'), \
                    printf('%s-%06d', json_extract(o.value, '$.market'), c.last - json_extract(o.value, '$.back')), \
                    json_extract(o.value, '$.channel'), json_extract(o.value, '$.source'), json_extract(o.value, '$.external_id'), \
                    json_extract(o.value, '$.cart_id'), json_extract(o.value, '$.market'), json_extract(o.value, '$.status'), \
                    json_extract(o.value, '$.payment_status'), json_extract(o.value, '$.fulfillment_status'), \
                    json_extract(o.value, '$.provider'), json_extract(o.value, '$.reference'), json_extract(o.value, '$.total'), \
                    json_extract(o.value, '$.paid'), json_extract(o.value, '$.currency'), json_extract(o.value, '$.body'), \
                    json_extract(o.value, '$.pay_by'), json_extract(o.value, '$.sequence'), json_extract(o.value, '$.version'), \
                    json_extract(o.value, '$.created_at'), json_extract(o.value, '$.updated_at'), \
                    lower(json_extract(json_extract(o.value, '$.body'), '$.email')) \
                 FROM json_each(?1) o JOIN order_counters c ON c.market = json_extract(o.value, '$.market')",
                std::slice::from_ref(&orders),
            )?,
            db.statement(
                &format!(
                    "INSERT INTO order_lines {} \
                     SELECT {} FROM json_each(?1) o, json_each(o.value, '$.lines') l",
                    crate::store::checkout::LINE_INSERT_COLUMNS,
                    crate::store::checkout::line_values("l.value", "json_extract(o.value, '$.id')"),
                ),
                &[orders],
            )?,
        ]);
    }
    for events in chunks(&events) {
        out.push(db.statement(
            "INSERT INTO outbox (id, type, aggregate, sequence, payload, created_at) \
             SELECT json_extract(value, '$.id'), json_extract(value, '$.type'), json_extract(value, '$.aggregate'), \
               json_extract(value, '$.sequence'), \
               json_set(json_extract(value, '$.payload'), '$.data.number', \
                 (SELECT number FROM orders WHERE id = json_extract(value, '$.aggregate'))), ?2 \
             FROM json_each(?1)",
            &[events, text(now)],
        )?);
    }
    if !plan.oversold.is_empty() {
        let oversold = json_text(&json!(plan
            .oversold
            .iter()
            .map(|x| json!({"id": x.event_id, "sku": x.sku, "data": x.data()}))
            .collect::<Vec<_>>()));
        out.extend([
            db.statement(
                "INSERT INTO aggregate_sequences (aggregate, last) \
                 SELECT 'sku:' || json_extract(value, '$.sku'), 1 FROM json_each(?1) WHERE true \
                 ON CONFLICT (aggregate) DO UPDATE SET last = last + 1",
                std::slice::from_ref(&oversold),
            )?,
            db.statement(
                "INSERT INTO outbox (id, type, aggregate, sequence, payload, created_at) \
                 SELECT json_extract(x.value, '$.id'), ?3, json_extract(x.value, '$.sku'), s.last, \
                   json_object('id', json_extract(x.value, '$.id'), 'type', ?3, 'version', 1, 'created_at', ?2, \
                     'sequence', s.last, 'data', json(json_extract(x.value, '$.data'))), ?2 \
                 FROM json_each(?1) x JOIN aggregate_sequences s ON s.aggregate = 'sku:' || json_extract(x.value, '$.sku')",
                &[oversold, text(now), text(EventType::InventoryOversold.as_str())],
            )?,
        ]);
    }
    out.extend(levels::low_after_moves(db, &plan.reserve, threshold, now)?);
    Ok(out)
}
