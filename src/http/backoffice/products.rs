//! `PUT` / `GET /admin/v1/products/{id}` and `POST /admin/v1/products/import`.

use super::{check_id, invalid, only_fields};
use crate::domain::fields::{FieldError, Fields};
use crate::domain::pagination::{encode_cursor, page_of};
use crate::domain::product::{
    check_prices, is_resource_id, product_from_request, Product, PRODUCT_FIELDS,
};
use crate::http::error::ApiError;
use crate::http::server::{now_rfc3339, page_request, query, Ctx, Reply};
use crate::store::cache;
use crate::store::d1::StoreError;
use crate::store::products::{self, WriteContext};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

/// At most this many products per import call.
pub const MAX_IMPORT: usize = 1000;
/// At most this many item errors listed in one 422.
const MAX_LISTED_ERRORS: usize = 100;

pub async fn put(ctx: &Ctx, id: &str, body: &Map<String, Value>) -> Result<Reply, ApiError> {
    check_id(id, is_resource_id(id), "product")?;
    only_fields(body, PRODUCT_FIELDS)?;
    let product = product_from_request(id, &Fields::new(body)).map_err(invalid)?;
    let db = ctx.db()?;
    let products = [product];
    let wctx = products::write_context(&db, &products).await?;
    if let Some(e) = conflicts(&products, &wctx, |_| String::new())
        .into_iter()
        .next()
    {
        return Err(invalid(e.1));
    }
    let now = now_rfc3339();
    write(ctx, &db, &products, &wctx, &now).await?;
    let created_at = wctx
        .existing
        .get(id)
        .cloned()
        .unwrap_or_else(|| now.clone());
    let status = if wctx.existing.contains_key(id) {
        200
    } else {
        201
    };
    Reply::json(status, &view(&products[0], &created_at, &now))
}

/// `GET /admin/v1/products?q=&status=`: by id, with the cursor convention; `q` finds a text in
/// the title, the handle or a SKU (any case), `status` is `draft` or `published`.
pub async fn list(ctx: &Ctx, params: &[(String, String)]) -> Result<Reply, ApiError> {
    let page = page_request(params)?;
    let status = match query(params, "status") {
        None => None,
        Some(s @ ("draft" | "published")) => Some(s),
        Some(_) => {
            return Err(ApiError::invalid_parameter(
                "status",
                "status is draft or published",
            ))
        }
    };
    let q = match query(params, "q").map(str::trim) {
        None => None,
        Some(q) if !q.is_empty() && q.chars().count() <= 100 => Some(q),
        Some(_) => return Err(ApiError::invalid_parameter("q", "q is 1 to 100 characters")),
    };
    let rows = products::page(&ctx.db()?, q, status, page.after.as_deref(), page.limit + 1).await?;
    let page = page_of(rows, page.limit, |p| encode_cursor(&p.product.id));
    Reply::json(
        200,
        &page.views(|p| view(&p.product, &p.created_at, &p.updated_at)),
    )
}

pub async fn get(ctx: &Ctx, id: &str) -> Result<Reply, ApiError> {
    check_id(id, is_resource_id(id), "product")?;
    let stored = products::get(&ctx.db()?, id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no product {id}")))?;
    Reply::json(
        200,
        &view(&stored.product, &stored.created_at, &stored.updated_at),
    )
}

/// Bulk upsert for PIM/ERP sync: every item is validated, and either all are written in one
/// batch or none is. A 422 lists each bad item with its index, id and field.
pub async fn import(ctx: &Ctx, body: &Map<String, Value>) -> Result<Reply, ApiError> {
    only_fields(body, &["products"])?;
    let fields = Fields::new(body);
    let items = fields.objects("products", 1, MAX_IMPORT).map_err(invalid)?;
    let mut parsed = Vec::with_capacity(items.len());
    let mut errors: Vec<(usize, Option<String>, FieldError)> = Vec::new();
    let mut seen_ids: BTreeMap<String, usize> = BTreeMap::new();
    for (i, item) in items.iter().enumerate() {
        let mut allowed = PRODUCT_FIELDS.to_vec();
        allowed.push("id");
        if let Some(field) = item.unknown(&allowed) {
            errors.push((i, None, FieldError::unknown(field)));
            continue;
        }
        let id = match item.string("id") {
            Ok(id) if is_resource_id(id) => id.to_string(),
            Ok(_) => {
                errors.push((
                    i,
                    None,
                    FieldError::new(item.path("id"), "must be 1 to 64 of A-Z a-z 0-9 _ -"),
                ));
                continue;
            }
            Err(e) => {
                errors.push((i, None, e));
                continue;
            }
        };
        if let Some(first) = seen_ids.insert(id.clone(), i) {
            errors.push((
                i,
                Some(id.clone()),
                FieldError::new(item.path("id"), format!("duplicates products[{first}]")),
            ));
            continue;
        }
        match product_from_request(&id, item) {
            Ok(p) => parsed.push((i, p)),
            Err(e) => errors.push((i, Some(id), e)),
        }
    }
    // Handles and SKUs must be unique across the import too.
    let mut handles: BTreeMap<&str, usize> = BTreeMap::new();
    let mut skus: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, p) in &parsed {
        if let Some(first) = handles.insert(&p.handle, *i) {
            errors.push((
                *i,
                Some(p.id.clone()),
                FieldError::new(
                    format!("products[{i}].handle"),
                    format!("also used by products[{first}]"),
                ),
            ));
        }
        for (j, v) in p.variants.iter().enumerate() {
            if let Some(first) = skus.insert(&v.sku, *i) {
                if first != *i {
                    errors.push((
                        *i,
                        Some(p.id.clone()),
                        FieldError::new(
                            format!("products[{i}].variants[{j}].sku"),
                            format!("also used by products[{first}]"),
                        ),
                    ));
                }
            }
        }
    }
    if !errors.is_empty() {
        return Err(item_errors(errors));
    }
    let index: Vec<usize> = parsed.iter().map(|(i, _)| *i).collect();
    let products: Vec<Product> = parsed.into_iter().map(|(_, p)| p).collect();
    let db = ctx.db()?;
    let wctx = products::write_context(&db, &products).await?;
    let errors: Vec<(usize, Option<String>, FieldError)> =
        conflicts(&products, &wctx, |k| format!("products[{}]", index[k]))
            .into_iter()
            .map(|(k, e)| (index[k], Some(products[k].id.clone()), e))
            .collect();
    if !errors.is_empty() {
        return Err(item_errors(errors));
    }
    let now = now_rfc3339();
    write(ctx, &db, &products, &wctx, &now).await?;
    let updated = products
        .iter()
        .filter(|p| wctx.existing.contains_key(&p.id))
        .count();
    Reply::json(
        200,
        &json!({ "imported": products.len(), "created": products.len() - updated, "updated": updated }),
    )
}

/// Checks what needs the database: prices name existing markets in their currencies, and
/// handles and SKUs are not another product's. Returns (product index, error).
fn conflicts(
    products: &[Product],
    wctx: &WriteContext,
    prefix: impl Fn(usize) -> String,
) -> Vec<(usize, FieldError)> {
    let join = |k: usize, rest: String| {
        let p = prefix(k);
        if p.is_empty() {
            rest
        } else {
            format!("{p}.{rest}")
        }
    };
    let mut out = Vec::new();
    for (k, p) in products.iter().enumerate() {
        if let Err(e) = check_prices(p, &wctx.markets, &prefix(k)) {
            out.push((k, e));
        }
        if let Some(owner) = wctx.handle_owners.get(&p.handle) {
            if owner != &p.id {
                out.push((
                    k,
                    FieldError::new(
                        join(k, "handle".into()),
                        format!("handle `{}` belongs to product {owner}", p.handle),
                    ),
                ));
            }
        }
    }
    for (k, j, owner) in products::foreign_skus(products, wctx) {
        out.push((
            k,
            FieldError::new(
                join(k, format!("variants[{j}].sku")),
                format!(
                    "SKU {} belongs to product {owner}",
                    products[k].variants[j].sku
                ),
            ),
        ));
    }
    out
}

fn item_errors(mut errors: Vec<(usize, Option<String>, FieldError)>) -> ApiError {
    errors.sort_by_key(|(i, _, _)| *i);
    let first = errors[0].2.clone();
    let count = errors.len();
    let listed: Vec<Value> = errors
        .into_iter()
        .take(MAX_LISTED_ERRORS)
        .map(|(i, id, e)| json!({ "index": i, "id": id, "field": e.field, "message": e.message }))
        .collect();
    ApiError::validation_failed(
        &first.field,
        format!(
            "{count} product(s) are invalid; nothing was imported. First: {}",
            first.message
        ),
    )
    .with_details(json!({ "field": first.field, "errors": listed, "error_count": count }))
}

async fn write(
    ctx: &Ctx,
    db: &crate::store::d1::Db,
    products: &[Product],
    wctx: &WriteContext,
    now: &str,
) -> Result<(), ApiError> {
    let statements = products::upsert(db, products, now)?;
    match db.batch(statements).await {
        Ok(_) => {}
        Err(StoreError::Refused(cause)) => {
            worker::console_warn!("[{}] product write refused: {cause}", ctx.request_id);
            return Err(ApiError::validation_failed(
                "variants",
                "a handle or SKU was taken by another product while this request ran; nothing was written, retry",
            ));
        }
        Err(e) => return Err(ApiError::from(e)),
    }
    cache::catalog_changed(&ctx.kv()?, products::all_markets(wctx)).await;
    Ok(())
}

fn view(p: &Product, created_at: &str, updated_at: &str) -> Value {
    json!({
        "id": p.id,
        "handle": p.handle,
        "title": p.title,
        "description": p.description,
        "status": p.status,
        "variants": p.variants,
        "created_at": created_at,
        "updated_at": updated_at,
    })
}
