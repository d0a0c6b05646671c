//! Products, variants and prices in D1. Writes of one product or of a 1,000-product import
//! take the same path: the rows travel as JSON parameters through `json_each`, so a whole
//! import is a handful of statements in one batch (one round trip, all or nothing), well
//! within D1's limits on bound parameters and queries per invocation.

use crate::domain::market::TaxClass;
use crate::domain::money::{Currency, Money};
use crate::domain::product::{Product, ProductStatus, Variant};
use crate::store::d1::{decode, int, json_param, text, Db, StoreError};
use serde::Deserialize;
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};
use wasm_bindgen::JsValue;
use worker::D1PreparedStatement;

/// What a write must know before it runs: markets (for prices) and who owns the ids, handles
/// and SKUs it touches.
pub struct WriteContext {
    pub markets: BTreeMap<String, Currency>,
    /// Existing product ids -> created_at.
    pub existing: BTreeMap<String, String>,
    /// Handle -> owning product id, for the handles written.
    pub handle_owners: BTreeMap<String, String>,
    /// SKU -> owning product id, for the SKUs written.
    pub sku_owners: BTreeMap<String, String>,
}

#[derive(Deserialize)]
struct MarketCurrency {
    code: String,
    currency: String,
}

#[derive(Deserialize)]
struct Pair {
    key: String,
    value: String,
}

/// One round trip.
pub async fn write_context(db: &Db, products: &[Product]) -> Result<WriteContext, StoreError> {
    let ids = json!(products.iter().map(|p| &p.id).collect::<Vec<_>>());
    let handles = json!(products.iter().map(|p| &p.handle).collect::<Vec<_>>());
    let skus = json!(products
        .iter()
        .flat_map(|p| p.variants.iter().map(|v| &v.sku))
        .collect::<Vec<_>>());
    let results = db
        .batch(vec![
            db.statement("SELECT code, currency FROM markets", &[])?,
            db.statement(
                "SELECT id AS key, created_at AS value FROM products WHERE id IN (SELECT value FROM json_each(?1))",
                &[json_param(&ids)],
            )?,
            db.statement(
                "SELECT handle AS key, id AS value FROM products WHERE handle IN (SELECT value FROM json_each(?1))",
                &[json_param(&handles)],
            )?,
            db.statement(
                "SELECT sku AS key, product_id AS value FROM variants WHERE sku IN (SELECT value FROM json_each(?1))",
                &[json_param(&skus)],
            )?,
        ])
        .await?;
    let mut r = results.into_iter();
    let (Some(markets), Some(existing), Some(handles), Some(skus)) =
        (r.next(), r.next(), r.next(), r.next())
    else {
        return Err(StoreError::Corrupt(
            "product context batch returned too few results".into(),
        ));
    };
    let pairs = |rows: Vec<Pair>| rows.into_iter().map(|p| (p.key, p.value)).collect();
    Ok(WriteContext {
        markets: decode::<MarketCurrency>(markets)?
            .into_iter()
            .filter_map(|m| Currency::from_code(&m.currency).map(|c| (m.code, c)))
            .collect(),
        existing: pairs(decode(existing)?),
        handle_owners: pairs(decode(handles)?),
        sku_owners: pairs(decode(skus)?),
    })
}

/// Rows per statement chunk: keeps each JSON parameter well under D1's 2 MB value limit.
const CHUNK_BYTES: usize = 900_000;

/// The statements that upsert `products` whole (variants not listed are removed, prices
/// replaced, a stock row created for new SKUs). A SKU that belongs to another product by the
/// time the batch runs aborts it through the write guard.
pub fn upsert(
    db: &Db,
    products: &[Product],
    now: &str,
) -> Result<Vec<D1PreparedStatement>, StoreError> {
    let mut statements = Vec::new();
    let mut chunk: Vec<&Product> = Vec::new();
    let mut size = 0;
    for p in products {
        let approx = 200 + p.title.len() + p.description.len() + p.variants.len() * 200;
        if size + approx > CHUNK_BYTES && !chunk.is_empty() {
            statements.extend(upsert_chunk(db, &chunk, now)?);
            chunk.clear();
            size = 0;
        }
        size += approx;
        chunk.push(p);
    }
    if !chunk.is_empty() {
        statements.extend(upsert_chunk(db, &chunk, now)?);
    }
    Ok(statements)
}

fn upsert_chunk(
    db: &Db,
    products: &[&Product],
    now: &str,
) -> Result<Vec<D1PreparedStatement>, StoreError> {
    let rows = json!(products
        .iter()
        .map(|p| json!({"id": p.id, "handle": p.handle, "title": p.title, "description": p.description, "status": p.status.as_str()}))
        .collect::<Vec<_>>());
    let mut variants = Vec::new();
    let mut prices = Vec::new();
    for p in products {
        for (position, v) in p.variants.iter().enumerate() {
            variants.push(json!({
                "sku": v.sku, "product_id": p.id, "title": v.title,
                "tax_class": tax_class_str(v.tax_class), "weight_grams": v.weight_grams, "position": position,
            }));
            for (market, price) in &v.prices {
                let minor = price
                    .minor_units()
                    .map_err(|e| StoreError::Corrupt(e.to_string()))?;
                prices.push(json!({"sku": v.sku, "market": market, "currency": price.currency().code(), "amount_minor": minor}));
            }
        }
    }
    let (rows, variants, prices) = (
        json_param(&rows),
        json_param(&json!(variants)),
        json_param(&json!(prices)),
    );
    Ok(vec![
        db.statement(
            "INSERT INTO products (id, handle, title, description, status, created_at, updated_at) \
             SELECT json_extract(value, '$.id'), json_extract(value, '$.handle'), json_extract(value, '$.title'), \
                    json_extract(value, '$.description'), json_extract(value, '$.status'), ?2, ?2 \
             FROM json_each(?1) WHERE true \
             ON CONFLICT (id) DO UPDATE SET handle = excluded.handle, title = excluded.title, \
                description = excluded.description, status = excluded.status, updated_at = excluded.updated_at",
            &[rows.clone(), text(now)],
        )?,
        db.statement(
            "DELETE FROM prices WHERE sku IN (SELECT sku FROM variants WHERE product_id IN \
                (SELECT json_extract(value, '$.id') FROM json_each(?1)))",
            std::slice::from_ref(&rows),
        )?,
        db.statement(
            "DELETE FROM variants WHERE product_id IN (SELECT json_extract(value, '$.id') FROM json_each(?1)) \
               AND sku NOT IN (SELECT json_extract(value, '$.sku') FROM json_each(?2))",
            &[rows, variants.clone()],
        )?,
        db.statement(
            "INSERT INTO write_guards (ok) SELECT 0 FROM json_each(?1) v \
             JOIN variants x ON x.sku = json_extract(v.value, '$.sku') \
             WHERE x.product_id <> json_extract(v.value, '$.product_id') LIMIT 1",
            std::slice::from_ref(&variants),
        )?,
        db.statement(
            "INSERT INTO variants (sku, product_id, title, tax_class, weight_grams, position) \
             SELECT json_extract(value, '$.sku'), json_extract(value, '$.product_id'), json_extract(value, '$.title'), \
                    json_extract(value, '$.tax_class'), json_extract(value, '$.weight_grams'), json_extract(value, '$.position') \
             FROM json_each(?1) WHERE true \
             ON CONFLICT (sku) DO UPDATE SET title = excluded.title, tax_class = excluded.tax_class, \
                weight_grams = excluded.weight_grams, position = excluded.position",
            std::slice::from_ref(&variants),
        )?,
        db.statement(
            "INSERT INTO prices (sku, market, currency, amount_minor) \
             SELECT json_extract(value, '$.sku'), json_extract(value, '$.market'), json_extract(value, '$.currency'), \
                    json_extract(value, '$.amount_minor') FROM json_each(?1)",
            &[prices],
        )?,
        db.statement(
            "INSERT INTO inventory_levels (sku, location, on_hand, reserved, updated_at) \
             SELECT json_extract(value, '$.sku'), 'main', 0, 0, ?2 FROM json_each(?1) WHERE true \
             ON CONFLICT (sku, location) DO NOTHING",
            &[variants, text(now)],
        )?,
    ])
}

fn tax_class_str(c: TaxClass) -> &'static str {
    match c {
        TaxClass::Standard => "standard",
        TaxClass::Reduced => "reduced",
        TaxClass::Zero => "zero",
    }
}

/// A stored product with its timestamps.
pub struct StoredProduct {
    pub product: Product,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Deserialize)]
struct ProductRow {
    id: String,
    handle: String,
    title: String,
    description: String,
    status: String,
    created_at: String,
    updated_at: String,
}

#[derive(Deserialize)]
struct VariantPriceRow {
    product_id: String,
    sku: String,
    title: String,
    tax_class: String,
    weight_grams: i64,
    market: Option<String>,
    currency: Option<String>,
    amount_minor: Option<i64>,
}

/// The columns of [`ProductRow`].
const PRODUCT_COLUMNS: &str = "id, handle, title, description, status, created_at, updated_at";
/// The columns of [`VariantPriceRow`] over `variants v LEFT JOIN prices p`, in product order.
const VARIANT_COLUMNS: &str =
    "v.product_id, v.sku, v.title, v.tax_class, v.weight_grams, p.market, p.currency, p.amount_minor";
const VARIANT_ORDER: &str = "v.product_id, v.position, v.sku, p.market";

/// One round trip.
pub async fn get(db: &Db, id: &str) -> Result<Option<StoredProduct>, StoreError> {
    let results = db
        .batch(vec![
            db.statement(
                &format!("SELECT {PRODUCT_COLUMNS} FROM products WHERE id = ?1"),
                &[text(id)],
            )?,
            db.statement(
                &format!(
                    "SELECT {VARIANT_COLUMNS} FROM variants v LEFT JOIN prices p ON p.sku = v.sku \
                     WHERE v.product_id = ?1 ORDER BY {VARIANT_ORDER}"
                ),
                &[text(id)],
            )?,
        ])
        .await?;
    Ok(assemble(results)?.into_iter().next())
}

/// A page of products by id, after `after`, at most `limit`: those in `status` (`draft` or
/// `published`) if given, and those whose title, handle or a SKU contains `q` (any case) if
/// given. One round trip.
pub async fn page(
    db: &Db,
    q: Option<&str>,
    status: Option<&str>,
    after: Option<&str>,
    limit: usize,
) -> Result<Vec<StoredProduct>, StoreError> {
    let pattern = q.map(|q| format!("%{}%", crate::store::d1::like_literal(q)));
    let chosen = "SELECT id FROM products pr WHERE pr.id > ?1 AND (?2 IS NULL OR pr.status = ?2) \
        AND (?3 IS NULL OR pr.title LIKE ?3 ESCAPE '\\' OR pr.handle LIKE ?3 ESCAPE '\\' \
             OR EXISTS (SELECT 1 FROM variants x WHERE x.product_id = pr.id AND x.sku LIKE ?3 ESCAPE '\\')) \
        ORDER BY pr.id LIMIT ?4";
    let params = [
        text(after.unwrap_or("")),
        status.map_or(JsValue::NULL, text),
        pattern.as_deref().map_or(JsValue::NULL, text),
        int(limit as i64),
    ];
    let results = db
        .batch(vec![
            db.statement(
                &format!(
                    "SELECT {PRODUCT_COLUMNS} FROM products WHERE id IN ({chosen}) ORDER BY id"
                ),
                &params,
            )?,
            db.statement(
                &format!(
                    "SELECT {VARIANT_COLUMNS} FROM variants v LEFT JOIN prices p ON p.sku = v.sku \
                     WHERE v.product_id IN ({chosen}) ORDER BY {VARIANT_ORDER}"
                ),
                &params,
            )?,
        ])
        .await?;
    assemble(results)
}

/// Products from the results of a products statement and its variants statement (ordered by
/// product), in the products' order.
fn assemble(results: Vec<worker::D1Result>) -> Result<Vec<StoredProduct>, StoreError> {
    let mut r = results.into_iter();
    let (Some(products), Some(variants)) = (r.next(), r.next()) else {
        return Err(StoreError::Corrupt(
            "product batch returned too few results".into(),
        ));
    };
    let mut by_product: BTreeMap<String, Vec<Variant>> = BTreeMap::new();
    for v in decode::<VariantPriceRow>(variants)? {
        let corrupt = |what: &str| StoreError::Corrupt(format!("product {}: {what}", v.product_id));
        let list = by_product.entry(v.product_id.clone()).or_default();
        if list.last().map(|l| l.sku != v.sku).unwrap_or(true) {
            list.push(Variant {
                sku: v.sku.clone(),
                title: v.title.clone(),
                tax_class: TaxClass::parse(&v.tax_class).ok_or_else(|| corrupt("tax class"))?,
                weight_grams: v.weight_grams,
                prices: BTreeMap::new(),
            });
        }
        if let (Some(market), Some(currency), Some(minor)) = (v.market, v.currency, v.amount_minor)
        {
            let currency = Currency::from_code(&currency).ok_or_else(|| corrupt("currency"))?;
            let price = Money::from_minor(minor, currency).map_err(|_| corrupt("price"))?;
            if let Some(last) = list.last_mut() {
                last.prices.insert(market, price);
            }
        }
    }
    Ok(decode::<ProductRow>(products)?
        .into_iter()
        .map(|row| {
            let status = match row.status.as_str() {
                "published" => ProductStatus::Published,
                _ => ProductStatus::Draft,
            };
            StoredProduct {
                product: Product {
                    variants: by_product.remove(&row.id).unwrap_or_default(),
                    id: row.id,
                    handle: row.handle,
                    title: row.title,
                    description: row.description,
                    status,
                },
                created_at: row.created_at,
                updated_at: row.updated_at,
            }
        })
        .collect())
}

/// SKUs of `products` owned by some other product in `ctx`, as (product index, variant index).
pub fn foreign_skus(products: &[Product], ctx: &WriteContext) -> Vec<(usize, usize, String)> {
    let mut out = Vec::new();
    for (i, p) in products.iter().enumerate() {
        for (j, v) in p.variants.iter().enumerate() {
            if let Some(owner) = ctx.sku_owners.get(&v.sku) {
                if owner != &p.id {
                    out.push((i, j, owner.clone()));
                }
            }
        }
    }
    out
}

/// Distinct markets, for invalidating their snapshots.
pub fn all_markets(ctx: &WriteContext) -> BTreeSet<String> {
    ctx.markets.keys().cloned().collect()
}
