//! Carts in D1. A mutation is one batch: guards (cart active, right channel, `If-Match`), the
//! change, the version bump, and the reads the response needs — one round trip, atomic, and
//! concurrent mutations serialise in D1 so none is lost. When a guard refuses, a diagnosis read
//! tells which rule did (the slow path only).

use crate::app::ports::{CartLoad, CartLookup, CartStore, CartWrite};
use crate::domain::admin_defs::{DiscountDef, ShippingDef};
use crate::domain::cart::{
    CartChange, CartData, CartPatch, CartRecord, Diagnosis, IfMatch, LineRecord, MAX_LINES,
};
use crate::domain::pricing::Usage;
use crate::store::d1::{decode, int, text, Db, StoreError};
use crate::store::D1Store;
use serde::Deserialize;
use std::collections::BTreeMap;
use wasm_bindgen::JsValue;
use worker::{D1PreparedStatement, D1Result};

/// How many statements [`reads`] adds to a batch (their results come last, in this number).
pub const READS: usize = 1;

impl CartStore for D1Store {
    async fn create(&self, cart: &CartRecord) -> Result<(), StoreError> {
        self.db.batch(vec![insert_cart(&self.db, cart)?]).await?;
        Ok(())
    }

    async fn load(&self, cart_id: &str, lookup: CartLookup<'_>) -> Result<CartLoad, StoreError> {
        let db = &self.db;
        let mut batch = reads(db, cart_id)?;
        let methods = format!("SELECT {SHIPPING_COLUMNS} FROM shipping_methods");
        batch.extend(match lookup {
            CartLookup::Nothing => None,
            CartLookup::Discount(code) => Some(db.statement(
                "SELECT d.definition, d.times_used, 0 AS by_customer FROM discounts d WHERE d.code = ?1 AND d.enabled = 1",
                &[text(code)],
            )?),
            CartLookup::ShippingMethod(id) => {
                Some(db.statement(&format!("{methods} WHERE id = ?1"), &[text(id)])?)
            }
            CartLookup::ShippingMethods => {
                Some(db.statement(&format!("{methods} WHERE enabled = 1 ORDER BY id"), &[])?)
            }
        });
        let mut results = db.batch(batch).await?;
        let extra = results.split_off(READS).into_iter().next();
        let mut loaded = CartLoad {
            cart: decode_reads(results)?,
            ..CartLoad::default()
        };
        match (lookup, extra) {
            (CartLookup::Discount(_), Some(rows)) => {
                loaded.discount = decode::<DiscountRow>(rows)?
                    .into_iter()
                    .next()
                    .map(DiscountRow::def)
                    .transpose()?;
            }
            (CartLookup::ShippingMethod(_) | CartLookup::ShippingMethods, Some(rows)) => {
                loaded.shipping_methods = decode::<ShippingRow>(rows)?
                    .into_iter()
                    .map(ShippingRow::def)
                    .collect::<Result<_, _>>()?;
            }
            _ => {}
        }
        Ok(loaded)
    }

    async fn write(&self, w: &CartWrite<'_>) -> Result<Option<CartData>, StoreError> {
        let db = &self.db;
        let statements = match &w.change {
            CartChange::AddLine {
                line_id,
                sku,
                quantity,
                hot_available,
            } => add_line(
                db,
                w.cart_id,
                line_id,
                sku,
                *quantity,
                *hot_available,
                w.now,
            )?,
            CartChange::SetQuantity {
                line_id,
                quantity,
                hot_available,
            } => set_quantity(db, w.cart_id, line_id, *quantity, *hot_available, w.now)?,
            CartChange::RemoveCode { code } => remove_code(db, w.cart_id, code)?,
            CartChange::Patch(p) => patch(db, w.cart_id, p)?.into_iter().collect(),
            CartChange::AttachCustomer { customer_id } => {
                let mut out = vec![owner_guard(db, w.cart_id, customer_id)?];
                out.extend(attach_customer(
                    db,
                    w.cart_id,
                    w.channel_id,
                    customer_id,
                    w.now,
                )?);
                out
            }
        };
        let guards = guards(db, w.cart_id, w.channel_id, w.now, w.expect)?;
        mutate(db, w.cart_id, guards, statements, w.now, w.expires_at).await
    }

    async fn diagnose(
        &self,
        cart_id: &str,
        line_id: Option<&str>,
        sku: Option<&str>,
    ) -> Result<Diagnosis, StoreError> {
        diagnose(&self.db, cart_id, line_id, sku).await
    }
}

/// SQL: the units of the SKU `sku` available to the cart `cart` (both SQL expressions): at
/// its pickup store when its shipping method has one; else at the locations serving its
/// shipping country; else, with no address yet, any country of its market.
fn available_to_cart(cart: &str, sku: &str) -> String {
    format!(
        "COALESCE((SELECT SUM(v.on_hand - v.reserved) FROM carts c \
           JOIN inventory_levels v ON v.sku = {sku} JOIN locations loc ON loc.id = v.location \
           LEFT JOIN shipping_methods m ON m.id = c.shipping_method_id \
           WHERE c.id = {cart} AND CASE WHEN m.location_id IS NOT NULL \
             THEN loc.id = m.location_id AND loc.pickup = 1 \
             ELSE loc.countries = '[]' OR EXISTS (SELECT 1 FROM json_each(loc.countries) lc WHERE lc.value IN \
               (SELECT value FROM json_each(CASE WHEN json_extract(c.shipping_address, '$.country') IS NOT NULL \
                  THEN json_array(json_extract(c.shipping_address, '$.country')) \
                  ELSE (SELECT countries FROM markets WHERE code = c.market) END))) END), 0)"
    )
}

/// Everything a cart is rendered from (cart, lines, discounts, shipping method, stock) in one
/// statement: one row of five JSON columns. Five separate SELECTs cost five statements' worth
/// of D1 work and five result sets to carry across to Wasm; this is the cart's hot path.
pub(super) fn reads(db: &Db, cart_id: &str) -> Result<Vec<D1PreparedStatement>, StoreError> {
    Ok(vec![db.statement(
        &format!("SELECT \
           (SELECT json_object('id', id, 'kind', kind, 'channel_id', channel_id, 'market', market, 'currency', currency, \
                'status', status, 'version', version, 'customer_id', customer_id, 'email', email, \
                'shipping_address', shipping_address, 'billing_address', billing_address, \
                'shipping_method_id', shipping_method_id, 'note', note, 'discount_codes', discount_codes, \
                'merged_into', merged_into, 'expires_at', expires_at, 'created_at', created_at, 'updated_at', updated_at) \
              FROM carts WHERE id = ?1) AS cart, \
           (SELECT json_group_array(json_object('id', id, 'sku', sku, 'quantity', quantity, 'position', position, \
                'unit_price_seen', unit_price_seen, 'price_override', price_override, 'price_reason', price_reason)) \
              FROM (SELECT * FROM cart_lines WHERE cart_id = ?1 ORDER BY position)) AS lines, \
           (SELECT json_group_array(json_object('definition', d.definition, 'times_used', d.times_used, \
                'by_customer', COALESCE(u.times_used, 0))) \
              FROM discounts d LEFT JOIN discount_customer_usage u ON u.discount_id = d.id \
                   AND u.customer_id = (SELECT customer_id FROM carts WHERE id = ?1) \
              WHERE d.enabled = 1 AND (d.code IS NULL OR d.code IN \
                   (SELECT value FROM json_each((SELECT discount_codes FROM carts WHERE id = ?1))))) AS discounts, \
           (SELECT json_group_array(json_object('id', id, 'name', name, 'countries', countries, 'rates', rates, \
                'enabled', enabled, 'location_id', location_id)) \
              FROM shipping_methods WHERE id = (SELECT shipping_method_id FROM carts WHERE id = ?1)) AS shipping, \
           (SELECT json_group_array(json_object('sku', l.sku, 'available', {})) \
              FROM cart_lines l WHERE l.cart_id = ?1) AS stock, \
           (SELECT json_group_array(json_object('sku', sku, 'generation', generation, 'split', json(split))) \
              FROM hot_skus WHERE mode = 'hot' AND sku IN (SELECT sku FROM cart_lines WHERE cart_id = ?1)) AS hot, \
           (SELECT {} FROM locations WHERE EXISTS (SELECT 1 FROM hot_skus WHERE mode = 'hot')) AS locations",
            available_to_cart("?1", "l.sku"), crate::store::levels::LOCATIONS_JSON),
        &[text(cart_id)],
    )?])
}

#[derive(Deserialize)]
struct ReadsRow {
    cart: Option<String>,
    lines: String,
    discounts: String,
    shipping: String,
    stock: String,
    hot: String,
    /// Only while some SKU is hot (a few rows): where its objects' units serve the cart.
    locations: String,
}

fn json<T: serde::de::DeserializeOwned>(what: &str, text: &str) -> Result<T, StoreError> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt(format!("cart {what}: {e}")))
}

#[derive(Deserialize)]
struct DiscountRow {
    definition: String,
    times_used: i64,
    by_customer: i64,
}

impl DiscountRow {
    fn def(self) -> Result<(DiscountDef, Usage), StoreError> {
        let def: DiscountDef = serde_json::from_str(&self.definition)
            .map_err(|e| StoreError::Corrupt(format!("discount definition: {e}")))?;
        let usage = Usage {
            total: self.times_used.max(0) as u32,
            by_customer: self.by_customer.max(0) as u32,
        };
        Ok((def, usage))
    }
}

/// The columns a [`ShippingRow`] reads.
pub(super) const SHIPPING_COLUMNS: &str = "id, name, countries, rates, enabled, location_id";

#[derive(Deserialize)]
pub(super) struct ShippingRow {
    id: String,
    name: String,
    countries: String,
    rates: String,
    enabled: i64,
    location_id: Option<String>,
}

impl ShippingRow {
    pub(super) fn def(self) -> Result<ShippingDef, StoreError> {
        let (id, name, countries, rates) = (&self.id, &self.name, &self.countries, &self.rates);
        crate::store::rows::shipping_def(
            id,
            name,
            countries,
            rates,
            self.enabled,
            self.location_id.as_deref(),
        )
    }
}

#[derive(Deserialize)]
struct StockRow {
    sku: String,
    available: i64,
}

/// Decodes the result of [`reads`]; `None` when the cart does not exist.
pub(super) fn decode_reads(results: Vec<D1Result>) -> Result<Option<CartData>, StoreError> {
    let Some(result) = results.into_iter().next() else {
        return Err(StoreError::Corrupt("cart reads returned no result".into()));
    };
    let Some(row) = decode::<ReadsRow>(result)?.into_iter().next() else {
        return Err(StoreError::Corrupt("cart reads returned no row".into()));
    };
    let Some(cart) = row.cart else {
        return Ok(None);
    };
    let discounts = json::<Vec<DiscountRow>>("discounts", &row.discounts)?
        .into_iter()
        .map(DiscountRow::def)
        .collect::<Result<Vec<_>, StoreError>>()?;
    let shipping = match json::<Vec<ShippingRow>>("shipping method", &row.shipping)?
        .into_iter()
        .next()
    {
        Some(row) => Some(row.def()?),
        None => None,
    };
    let stock: BTreeMap<String, i64> = json::<Vec<StockRow>>("stock", &row.stock)?
        .into_iter()
        .map(|s| (s.sku, s.available))
        .collect();
    Ok(Some(CartData {
        cart: json::<CartRecord>("row", &cart)?,
        lines: json::<Vec<LineRecord>>("lines", &row.lines)?,
        discounts,
        shipping,
        stock,
        // Which SKUs are hot and, for them, the locations: their availability is the objects'
        // at the locations that serve the cart (app::cart).
        picture: crate::domain::stock::StockPicture {
            hot: json("hot skus", &row.hot)?,
            locations: crate::store::levels::locations_of(&json("locations", &row.locations)?),
            ..Default::default()
        },
        market: None,
    }))
}

/// Guards every mutation starts with: the cart exists in this channel (a shopper's cart, not
/// a draft order), is active and not expired, and matches `If-Match` (or the version read, for read-then-write mutations).
fn guards(
    db: &Db,
    cart_id: &str,
    channel_id: &str,
    now: &str,
    version: Option<IfMatch>,
) -> Result<Vec<D1PreparedStatement>, StoreError> {
    // One statement for both rules (a refused batch is then diagnosed by a read that names
    // which one failed): the write guard aborts the batch when no such cart row exists.
    let version = match version {
        Some(IfMatch::Version(v)) => int(v),
        _ => wasm_bindgen::JsValue::NULL,
    };
    Ok(vec![db.statement(
        "INSERT INTO write_guards (ok) SELECT 0 WHERE NOT EXISTS (SELECT 1 FROM carts \
         WHERE id = ?1 AND channel_id = ?2 AND kind = 'cart' AND status = 'active' AND expires_at > ?3 \
         AND (?4 IS NULL OR version = ?4))",
        &[text(cart_id), text(channel_id), text(now), version],
    )?])
}

/// The version bump that ends every mutation (and renews the expiry).
fn bump(
    db: &Db,
    cart_id: &str,
    now: &str,
    expires_at: &str,
) -> Result<D1PreparedStatement, StoreError> {
    db.statement(
        "UPDATE carts SET version = version + 1, updated_at = ?2, expires_at = ?3 WHERE id = ?1",
        &[text(cart_id), text(now), text(expires_at)],
    )
}

/// Runs `statements` between the guards and the bump, and returns the cart after it.
async fn mutate(
    db: &Db,
    cart_id: &str,
    guards: Vec<D1PreparedStatement>,
    statements: Vec<D1PreparedStatement>,
    now: &str,
    expires_at: &str,
) -> Result<Option<CartData>, StoreError> {
    let mut batch = guards;
    batch.extend(statements);
    batch.push(bump(db, cart_id, now, expires_at)?);
    let read_at = batch.len();
    batch.extend(reads(db, cart_id)?);
    let results = db.batch(batch).await?;
    decode_reads(results.into_iter().skip(read_at).collect())
}

fn insert_cart(db: &Db, cart: &CartRecord) -> Result<D1PreparedStatement, StoreError> {
    db.statement(
        "INSERT INTO carts (id, channel_id, market, currency, status, version, discount_codes, expires_at, created_at, updated_at) \
         VALUES (?1, ?2, ?3, ?4, 'active', 1, '[]', ?5, ?6, ?6)",
        &[text(&cart.id), text(&cart.channel_id), text(&cart.market), text(&cart.currency), text(&cart.expires_at), text(&cart.created_at)],
    )
}

/// The SKU's current price in the cart's market, from D1 (NULL when not sold there: the
/// NOT NULL column then refuses the write).
const PRICE_IN_CART_MARKET: &str = "(SELECT p.amount_minor FROM prices p JOIN variants v ON v.sku = p.sku \
     JOIN products pr ON pr.id = v.product_id \
     WHERE p.sku = ?3 AND pr.status = 'published' AND p.market = (SELECT market FROM carts WHERE id = ?2))";

/// SQL: the units of `sku` the cart `cart` may hold (SQL expressions): a hot SKU's from its
/// objects (`hot`, a parameter; none given, -1, so the change is refused and the objects asked),
/// any other's from D1 ([`available_to_cart`]).
fn allowed_to_cart(cart: &str, sku: &str, hot: &str) -> String {
    format!(
        "CASE WHEN EXISTS (SELECT 1 FROM hot_skus WHERE sku = {sku} AND mode = 'hot') \
           THEN COALESCE(CAST({hot} AS INTEGER), -1) ELSE {} END",
        available_to_cart(cart, sku)
    )
}

fn hot_param(hot_available: Option<i64>) -> JsValue {
    hot_available.map_or(JsValue::NULL, int)
}

/// Adds `quantity` of `sku` (merging with an existing line), refusing in SQL a SKU not sold in
/// the cart's market, a line over 999 (CHECK), a cart over 250 lines, and more than the
/// available stock (a hot SKU's: [`allowed_to_cart`]).
fn add_line(
    db: &Db,
    cart_id: &str,
    line_id: &str,
    sku: &str,
    quantity: i64,
    hot_available: Option<i64>,
    now: &str,
) -> Result<Vec<D1PreparedStatement>, StoreError> {
    Ok(vec![
        db.statement(
            &format!(
                "INSERT INTO cart_lines (id, cart_id, sku, quantity, position, unit_price_seen, created_at, updated_at) \
                 VALUES (?1, ?2, ?3, ?4, COALESCE((SELECT MAX(position) + 1 FROM cart_lines WHERE cart_id = ?2), 0), \
                         {PRICE_IN_CART_MARKET}, ?5, ?5) \
                 ON CONFLICT (cart_id, sku) DO UPDATE SET quantity = quantity + excluded.quantity, \
                    unit_price_seen = excluded.unit_price_seen, updated_at = excluded.updated_at"
            ),
            &[text(line_id), text(cart_id), text(sku), int(quantity), text(now)],
        )?,
        // One guard for both limits (the diagnosis read says which one refused).
        db.statement(
            &format!("INSERT INTO write_guards (ok) SELECT 0 WHERE \
             (SELECT COUNT(*) FROM cart_lines WHERE cart_id = ?1) > ?3 \
             OR (SELECT quantity FROM cart_lines WHERE cart_id = ?1 AND sku = ?2) > {}",
                allowed_to_cart("?1", "?2", "?4")),
            &[text(cart_id), text(sku), int(MAX_LINES), hot_param(hot_available)],
        )?,
    ])
}

fn line_exists_guard(
    db: &Db,
    cart_id: &str,
    line_id: &str,
) -> Result<D1PreparedStatement, StoreError> {
    db.statement(
        "INSERT INTO write_guards (ok) SELECT 0 WHERE NOT EXISTS (SELECT 1 FROM cart_lines WHERE id = ?1 AND cart_id = ?2)",
        &[text(line_id), text(cart_id)],
    )
}

/// Sets a line's quantity (0 removes it); more than the available stock is refused. The line
/// takes the current price as the one the shopper has now seen.
fn set_quantity(
    db: &Db,
    cart_id: &str,
    line_id: &str,
    quantity: i64,
    hot_available: Option<i64>,
    now: &str,
) -> Result<Vec<D1PreparedStatement>, StoreError> {
    let mut out = vec![line_exists_guard(db, cart_id, line_id)?];
    if quantity == 0 {
        out.push(db.statement(
            "DELETE FROM cart_lines WHERE id = ?1 AND cart_id = ?2",
            &[text(line_id), text(cart_id)],
        )?);
        return Ok(out);
    }
    out.push(db.statement(
        "UPDATE cart_lines SET quantity = ?3, updated_at = ?4, unit_price_seen = COALESCE( \
            (SELECT p.amount_minor FROM prices p WHERE p.sku = cart_lines.sku \
               AND p.market = (SELECT market FROM carts WHERE id = ?2)), unit_price_seen) \
         WHERE id = ?1 AND cart_id = ?2",
        &[text(line_id), text(cart_id), int(quantity), text(now)],
    )?);
    out.push(db.statement(
        &format!("INSERT INTO write_guards (ok) SELECT 0 FROM cart_lines l WHERE l.id = ?1 AND l.cart_id = ?2 \
         AND l.quantity > {}", allowed_to_cart("?2", "l.sku", "?3")),
        &[text(line_id), text(cart_id), hot_param(hot_available)],
    )?);
    Ok(out)
}

/// Removes a code the cart holds (refused when it does not hold it).
fn remove_code(db: &Db, cart_id: &str, code: &str) -> Result<Vec<D1PreparedStatement>, StoreError> {
    Ok(vec![
        db.statement(
            "INSERT INTO write_guards (ok) SELECT 0 WHERE NOT EXISTS (SELECT 1 FROM json_each( \
                (SELECT discount_codes FROM carts WHERE id = ?1)) WHERE value = ?2)",
            &[text(cart_id), text(code)],
        )?,
        db.statement(
            "UPDATE carts SET discount_codes = (SELECT json_group_array(value) FROM json_each(discount_codes) \
             WHERE value <> ?2) WHERE id = ?1",
            &[text(cart_id), text(code)],
        )?,
    ])
}

/// Refuses attaching a cart that belongs to another customer.
fn owner_guard(
    db: &Db,
    cart_id: &str,
    customer_id: &str,
) -> Result<D1PreparedStatement, StoreError> {
    db.statement(
        "INSERT INTO write_guards (ok) SELECT 0 FROM carts WHERE id = ?1 AND customer_id IS NOT NULL AND customer_id <> ?2",
        &[text(cart_id), text(customer_id)],
    )
}

fn patch(db: &Db, cart_id: &str, p: &CartPatch) -> Result<Option<D1PreparedStatement>, StoreError> {
    let mut sets = Vec::new();
    let mut params = vec![text(cart_id)];
    let mut push = |column: &str, value: JsValue| {
        params.push(value);
        sets.push(format!("{column} = ?{}", params.len()));
    };
    let opt = |v: &Option<String>| v.as_deref().map_or(JsValue::NULL, text);
    if let Some(v) = &p.email {
        push("email", opt(v));
    }
    if let Some(v) = &p.shipping_address {
        push("shipping_address", opt(v));
    }
    if let Some(v) = &p.billing_address {
        push("billing_address", opt(v));
    }
    if let Some(v) = &p.shipping_method_id {
        push("shipping_method_id", opt(v));
    }
    if let Some(v) = &p.note {
        push("note", opt(v));
    }
    if let Some(v) = &p.discount_codes {
        push("discount_codes", text(v));
    }
    if let Some(v) = &p.customer_id {
        push("customer_id", text(v));
    }
    if sets.is_empty() {
        return Ok(None);
    }
    Ok(Some(db.statement(
        &format!("UPDATE carts SET {} WHERE id = ?1", sets.join(", ")),
        &params,
    )?))
}

/// Merges the customer's most recent other active cart of this channel and market into this
/// one (quantities summed, capped at 999), marks it merged, and attaches the customer.
fn attach_customer(
    db: &Db,
    cart_id: &str,
    channel_id: &str,
    customer_id: &str,
    now: &str,
) -> Result<Vec<D1PreparedStatement>, StoreError> {
    let older = "(SELECT o.id FROM carts o, carts c WHERE c.id = ?1 AND o.customer_id = ?3 AND o.id <> ?1 \
                  AND o.channel_id = ?2 AND o.kind = 'cart' AND o.market = c.market AND o.status = 'active' AND o.expires_at > ?4 \
                  ORDER BY o.updated_at DESC LIMIT 1)";
    let params = || {
        vec![
            text(cart_id),
            text(channel_id),
            text(customer_id),
            text(now),
        ]
    };
    Ok(vec![
        db.statement(
            &format!(
                "INSERT INTO cart_lines (id, cart_id, sku, quantity, position, unit_price_seen, created_at, updated_at) \
                 SELECT 'line_' || lower(hex(randomblob(16))), ?1, l.sku, l.quantity, \
                        COALESCE((SELECT MAX(position) FROM cart_lines WHERE cart_id = ?1), -1) + 1 + l.position, \
                        l.unit_price_seen, ?4, ?4 \
                 FROM cart_lines l WHERE l.cart_id = {older} \
                 ON CONFLICT (cart_id, sku) DO UPDATE SET quantity = MIN(999, quantity + excluded.quantity), updated_at = excluded.updated_at"
            ),
            &params(),
        )?,
        db.statement(
            &format!(
                "UPDATE carts SET discount_codes = (SELECT json_group_array(code) FROM ( \
                     SELECT value AS code FROM json_each((SELECT discount_codes FROM carts WHERE id = ?1)) \
                     UNION SELECT value FROM json_each((SELECT discount_codes FROM carts WHERE id = {older})))) \
                 WHERE id = ?1 AND {older} IS NOT NULL"
            ),
            &params(),
        )?,
        db.statement(
            &format!(
                "UPDATE carts SET status = 'merged', merged_into = ?1, version = version + 1, updated_at = ?4 \
                 WHERE id = {older}"
            ),
            &params(),
        )?,
        db.statement("UPDATE carts SET customer_id = ?2 WHERE id = ?1", &[text(cart_id), text(customer_id)])?,
    ])
}

/// One read, on the slow path only.
async fn diagnose(
    db: &Db,
    cart_id: &str,
    line_id: Option<&str>,
    sku: Option<&str>,
) -> Result<Diagnosis, StoreError> {
    let rows: Vec<Diagnosis> = db
        .all(db.statement(
            &format!("SELECT c.channel_id, c.customer_id, c.status, c.version, c.expires_at, \
                (SELECT 1 FROM prices p JOIN variants v ON v.sku = p.sku JOIN products pr ON pr.id = v.product_id \
                   WHERE p.sku = ?3 AND pr.status = 'published' AND p.market = c.market) AS sellable, \
                (SELECT quantity FROM cart_lines WHERE cart_id = ?1 AND (id = ?2 OR sku = ?3)) AS line_quantity, \
                (SELECT sku FROM cart_lines WHERE cart_id = ?1 AND (id = ?2 OR sku = ?3)) AS line_sku, \
                (SELECT COUNT(*) FROM cart_lines WHERE cart_id = ?1) AS line_count, \
                {} AS available, \
                (SELECT json_object('sku', sku, 'generation', generation, 'split', json(split)) FROM hot_skus \
                   WHERE mode = 'hot' AND sku = COALESCE(?3, (SELECT sku FROM cart_lines WHERE cart_id = ?1 AND id = ?2))) AS hot \
             FROM (SELECT 1) LEFT JOIN carts c ON c.id = ?1 AND c.kind = 'cart'",
            available_to_cart("?1", "COALESCE(?3, (SELECT sku FROM cart_lines WHERE cart_id = ?1 AND id = ?2))")),
            &[text(cart_id), text(line_id.unwrap_or("")), sku.map_or(JsValue::NULL, text)],
        )?)
        .await?;
    rows.into_iter()
        .next()
        .ok_or_else(|| StoreError::Corrupt("diagnosis returned no row".into()))
}
