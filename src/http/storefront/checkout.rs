//! Checkout, order lookup and the Stripe webhook.
//!
//! Checkout is three D1 round trips: (1) claim the Idempotency-Key and read the cart, (2) one
//! guarded batch that reserves stock (the inventory CHECK makes an oversell abort it), numbers
//! and inserts the order, counts discount usage, closes the cart and writes `order.placed`
//! (and any `inventory.low`) to the outbox, (3) store the response for replays.

use super::carts::rate_limit;
use super::{header, snapshot};
use crate::auth::jwt::JwtVerifier;
use crate::auth::{order_token, stripe_signature};
use crate::domain::cart::{self, CartData};
use crate::domain::channel::Channel;
use crate::domain::fields::Fields;
use crate::domain::order::{Action, OrderState};
use crate::domain::pagination::time_cursor_position;
use crate::http::error::ApiError;
use crate::http::server::{now_rfc3339, page_request, random_id, Ctx, Reply};
use crate::store::carts;
use crate::store::d1::{decode, int, json_text, text, Db, StoreError};
use crate::store::idempotency::{self, Scope};
use crate::store::orders::{self, LineRow, Order, OrderRow};
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};
use worker::{Fetch, Headers, Method, Request, RequestInit};

const DEFAULT_UNPAID_TTL_SECONDS: i64 = 1800;
const DEFAULT_LOW_STOCK: i64 = 5;
const IDEMPOTENCY_HOURS: f64 = 24.0;
/// How long a claim stays `in_flight` before a retry may take the key over: a request whose
/// Worker died (or whose D1 went away) before it stored or released its claim must not lock
/// its key for a day. Longer than any request can run; `IDEMPOTENCY_LEASE_SECONDS` overrides.
const DEFAULT_LEASE_SECONDS: f64 = 60.0;

/// How long a stored answer is replayed.
fn keep() -> String {
    iso_in(IDEMPOTENCY_HOURS * 3600.0)
}

fn lease(ctx: &Ctx) -> String {
    let seconds = ctx
        .var("IDEMPOTENCY_LEASE_SECONDS")
        .and_then(|v| v.parse::<f64>().ok())
        .filter(|v| *v > 0.0 && *v <= IDEMPOTENCY_HOURS * 3600.0)
        .unwrap_or(DEFAULT_LEASE_SECONDS);
    iso_in(seconds)
}

fn now_chrono() -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp_millis(js_sys::Date::now() as i64).unwrap_or_default()
}

fn iso_in(seconds: f64) -> String {
    String::from(
        js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(
            js_sys::Date::now() + seconds * 1000.0,
        ))
        .to_iso_string(),
    )
}

/// Equal JSON gives equal text: object keys sorted at every depth.
fn canonical(v: &Value) -> String {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            let parts: Vec<String> = keys
                .iter()
                .map(|k| format!("{}:{}", Value::from(k.as_str()), canonical(&m[*k])))
                .collect();
            format!("{{{}}}", parts.join(","))
        }
        Value::Array(a) => format!(
            "[{}]",
            a.iter().map(canonical).collect::<Vec<_>>().join(",")
        ),
        other => other.to_string(),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// What a claimed key says: `None` when this request holds the claim and runs; the stored
/// answer to replay; 422 for another body under the same key; 409 while the first runs.
fn prior_answer(
    record: Option<idempotency::Record>,
    token: &str,
    body_hash: &str,
) -> Result<Option<Reply>, ApiError> {
    match record {
        Some(r) if r.state == "in_flight" && r.response_body.as_deref() == Some(token) => Ok(None),
        Some(r) if r.body_hash != body_hash => Err(ApiError::idempotency_key_reused(
            "this Idempotency-Key was used with another request body",
        )),
        Some(r) if r.state == "done" => Ok(Some(
            Reply {
                status: r.response_status.unwrap_or(200) as u16,
                body: r.response_body,
                headers: vec![],
                cause: None,
            }
            .header("Idempotent-Replayed", "true"),
        )),
        _ => Err(ApiError::idempotency_in_progress()),
    }
}

/// What a failed checkout step answers; 4xx are stored for replays, 5xx release the key.
struct Failure(ApiError);

pub async fn checkout(
    req: &Request,
    ctx: &Ctx,
    channel: &Channel,
    cart_id: &str,
    path: &str,
    body: &Map<String, Value>,
) -> Result<Reply, ApiError> {
    let key = header(req, "Idempotency-Key").ok_or_else(|| {
        ApiError::idempotency_key_required(
            "checkout needs an Idempotency-Key header (a unique value per checkout attempt)",
        )
    })?;
    if key.is_empty() || key.len() > 255 || !key.bytes().all(|b| (0x21..0x7f).contains(&b)) {
        return Err(ApiError::invalid_parameter(
            "Idempotency-Key",
            "1 to 255 visible ASCII characters",
        ));
    }
    rate_limit(req, ctx, "CHECKOUT_RATE_LIMITER", "checkout").await?;
    if let Some(field) = Fields::new(body).unknown(&["payment_provider"]) {
        return Err(ApiError::unknown_field(&field));
    }
    let provider = match body.get("payment_provider").and_then(Value::as_str) {
        Some(p @ ("manual" | "stripe")) => p.to_string(),
        _ => {
            return Err(ApiError::validation_failed(
                "payment_provider",
                "must be manual or stripe",
            ))
        }
    };
    let body_hash = hex(&Sha256::digest(
        canonical(&Value::Object(body.clone())).as_bytes(),
    ));
    let scope = Scope {
        channel: &channel.id,
        key: &key,
        method: "POST",
        path,
    };
    let token = random_id("claim");
    let db = ctx.db()?;
    let now = now_rfc3339();

    // Round trip 1: claim the key and read the cart.
    let mut batch = idempotency::claim(&db, &scope, &body_hash, &token, &now, &lease(ctx))?;
    batch.extend(carts::reads(&db, cart_id)?);
    let mut results = db.batch(batch).await?.into_iter();
    let _ = results.next();
    let record = idempotency::decode_record(results.next().ok_or_else(ApiError::internal)?)?;
    if let Some(answer) = prior_answer(record, &token, &body_hash)? {
        return Ok(answer);
    }
    let data = carts::decode_reads(results.collect())?;

    let outcome = place(ctx, &db, channel, cart_id, &provider, data, &now).await;
    // Round trip 3: remember the answer (below 500) or give the key up.
    let (statement, result) = match outcome {
        Ok((status, value)) => {
            let body = value.to_string();
            (
                idempotency::finish(&db, &scope, &token, status, &body, &keep()),
                Ok(Reply {
                    status,
                    body: Some(body),
                    headers: vec![],
                    cause: None,
                }),
            )
        }
        Err(Failure(e)) if e.status < 500 => {
            let body = e.body().to_string();
            (
                idempotency::finish(&db, &scope, &token, e.status, &body, &keep()),
                Err(e),
            )
        }
        Err(Failure(e)) => (idempotency::release(&db, &scope, &token), Err(e)),
    };
    let statement = statement?;
    if let Err(e) = db.batch(vec![statement]).await {
        worker::console_error!(
            "[{}] storing the idempotent response failed: {e:?}",
            ctx.request_id
        );
    }
    result
}

/// Replay semantics for a POST that sends `Idempotency-Key`: the first response (below 500)
/// is stored and replayed for the same key and body; another body is 422; a duplicate in
/// flight is 409. Costs two more D1 round trips (claim, store), only when the header is sent.
pub async fn idempotent_post<F, Fut>(
    req: &mut Request,
    ctx: &Ctx,
    channel: &Channel,
    run: F,
) -> Result<Reply, ApiError>
where
    F: FnOnce(Request) -> Fut,
    Fut: std::future::Future<Output = Result<Reply, ApiError>>,
{
    let key = header(req, "Idempotency-Key").unwrap_or_default();
    if key.is_empty() || key.len() > 255 || !key.bytes().all(|b| (0x21..0x7f).contains(&b)) {
        return Err(ApiError::invalid_parameter(
            "Idempotency-Key",
            "1 to 255 visible ASCII characters",
        ));
    }
    // Read the body once to hash it; the handler gets a copy of the request carrying it.
    let bytes = req
        .bytes()
        .await
        .map_err(|_| ApiError::invalid_json("the request body could not be read"))?;
    let mut init = RequestInit::new();
    let headers = Headers::new();
    for (k, v) in req.headers().entries() {
        let _ = headers.append(&k, &v);
    }
    init.with_method(Method::Post)
        .with_headers(headers)
        .with_body(Some(js_sys::Uint8Array::from(bytes.as_slice()).into()));
    let copy = Request::new_with_init(req.url().map_err(|_| ApiError::internal())?.as_ref(), &init)
        .map_err(|_| ApiError::internal())?;
    let hashed = match serde_json::from_slice::<Value>(&bytes) {
        Ok(v) => canonical(&v).into_bytes(),
        Err(_) => bytes,
    };
    let body_hash = hex(&Sha256::digest(&hashed));
    let path = req.path();
    let scope = Scope {
        channel: &channel.id,
        key: &key,
        method: "POST",
        path: &path,
    };
    let token = random_id("claim");
    let db = ctx.db()?;
    let results = db
        .batch(idempotency::claim(
            &db,
            &scope,
            &body_hash,
            &token,
            &now_rfc3339(),
            &lease(ctx),
        )?)
        .await?;
    let record =
        idempotency::decode_record(results.into_iter().nth(1).ok_or_else(ApiError::internal)?)?;
    if let Some(answer) = prior_answer(record, &token, &body_hash)? {
        return Ok(answer);
    }
    let reply = run(copy).await.unwrap_or_else(Reply::from);
    let statement = if reply.status < 500 {
        idempotency::finish(
            &db,
            &scope,
            &token,
            reply.status,
            reply.body.as_deref().unwrap_or(""),
            &keep(),
        )
    } else {
        idempotency::release(&db, &scope, &token)
    }?;
    if let Err(e) = db.batch(vec![statement]).await {
        worker::console_error!(
            "[{}] storing the idempotent response failed: {e:?}",
            ctx.request_id
        );
    }
    Ok(reply)
}

fn fail(e: ApiError) -> Failure {
    Failure(e)
}

async fn place(
    ctx: &Ctx,
    db: &Db,
    channel: &Channel,
    cart_id: &str,
    provider: &str,
    data: Option<CartData>,
    now: &str,
) -> Result<(u16, Value), Failure> {
    let data = data
        .filter(|d| d.cart.channel_id == channel.id)
        .ok_or_else(|| fail(ApiError::not_found("no such cart")))?;
    let status = data.cart.status_at(now).to_string();
    if status != "active" {
        return Err(fail(ApiError::cart_not_active(format!(
            "this cart is {status}; it cannot be checked out"
        ))));
    }
    let market = channel.market(&data.cart.market).ok_or_else(|| {
        fail(ApiError::cart_not_active(
            "this cart's market is no longer sold on this channel",
        ))
    })?;
    let snap = snapshot(ctx, market).await.map_err(fail)?;
    let now_secs = (js_sys::Date::now() / 1000.0) as i64;
    let rendered = cart::render(&data, market, &snap, now_secs, now)
        .map_err(|_| fail(ApiError::internal()))?;
    validate(&data, &rendered).map_err(fail)?;
    if provider == "stripe" && ctx.var("STRIPE_SECRET_KEY").is_none() {
        worker::console_error!(
            "[{}] stripe checkout without STRIPE_SECRET_KEY",
            ctx.request_id
        );
        return Err(fail(ApiError::unavailable()));
    }

    let priced = &rendered.priced;
    let order_id = random_id("ord");
    let view = &rendered.view;
    let order_body = json!({
        "tax_inclusive": market.tax_inclusive,
        "email": data.cart.email,
        "totals": view["totals"],
        "shipping_address": view["shipping_address"],
        "billing_address": view["billing_address"],
        "shipping_method": view["shipping_method"],
        "discount_codes": priced.applied.iter().filter_map(|a| a.code.clone()).collect::<Vec<_>>(),
    });
    let lines: Vec<LineRow> = priced
        .lines
        .iter()
        .map(|l| {
            let record = data.lines.iter().find(|r| r.id == l.id);
            let title = view["lines"]
                .as_array()
                .and_then(|ls| ls.iter().find(|v| v["id"] == l.id.as_str()))
                .and_then(|v| v["title"].as_str())
                .unwrap_or("")
                .to_string();
            LineRow {
                id: random_id("line"),
                sku: record.map(|r| r.sku.clone()).unwrap_or_default(),
                title,
                quantity: i64::from(l.quantity),
                unit_price: l.unit_price.minor_units().unwrap_or(0),
                subtotal: l.subtotal.minor_units().unwrap_or(0),
                discount: l.discount.minor_units().unwrap_or(0),
                tax: l.tax.minor_units().unwrap_or(0),
                total: l.total.minor_units().unwrap_or(0),
                fulfilled_quantity: 0,
                refunded_quantity: 0,
                refunded_unfulfilled: 0,
            }
        })
        .collect();
    let ttl = ctx
        .var("UNPAID_ORDER_TTL_SECONDS")
        .and_then(|v| v.parse::<f64>().ok())
        .filter(|v| *v > 0.0)
        .unwrap_or(DEFAULT_UNPAID_TTL_SECONDS as f64);
    let mut order = Order {
        row: OrderRow {
            id: order_id.clone(),
            number: String::new(),
            channel_id: channel.id.clone(),
            cart_id: cart_id.to_string(),
            market: market.code.clone(),
            customer_id: data.cart.customer_id.clone(),
            status: "pending_payment".into(),
            payment_status: "pending".into(),
            fulfillment_status: "unfulfilled".into(),
            payment_provider: provider.to_string(),
            payment_reference: None,
            total_minor: priced.totals.total.minor_units().unwrap_or(0),
            currency: market.currency.code().to_string(),
            shipping_refunded: 0,
            cancel_reason: None,
            body: order_body.to_string(),
            pay_by: iso_in(ttl),
            last_sequence: 1,
            created_at: now.to_string(),
            updated_at: now.to_string(),
        },
        lines,
    };
    let applied: Vec<String> = priced.applied.iter().map(|a| a.id.clone()).collect();
    let threshold = ctx
        .var("LOW_STOCK_THRESHOLD")
        .and_then(|v| v.parse::<i64>().ok())
        .unwrap_or(DEFAULT_LOW_STOCK);

    // Round trip 2: everything that placing the order changes, or nothing.
    let statements = place_statements(db, &data, &order, &applied, threshold, now)
        .map_err(|e| fail(ApiError::from(e)))?;
    let results = match db.batch(statements).await {
        Ok(r) => r,
        Err(StoreError::Refused(cause)) => {
            return Err(fail(
                explain_refusal(ctx, db, &data, &applied, &cause).await,
            ))
        }
        Err(e) => return Err(fail(ApiError::from(e))),
    };
    #[derive(serde::Deserialize)]
    struct Num {
        number: String,
    }
    order.row.number = results
        .into_iter()
        .last()
        .map(decode::<Num>)
        .transpose()
        .map_err(|e| fail(ApiError::from(e)))?
        .and_then(|r| r.into_iter().next())
        .map(|n| n.number)
        .ok_or_else(|| fail(ApiError::internal()))?;

    let payment = if provider == "stripe" {
        match create_payment_intent(ctx, &order).await {
            Ok((intent, secret)) => {
                order.row.payment_reference = Some(intent.clone());
                if let Err(e) = db
                    .batch(vec![db
                        .statement(
                            "UPDATE orders SET payment_reference = ?2 WHERE id = ?1",
                            &[text(&order.row.id), text(&intent)],
                        )
                        .map_err(|e| fail(ApiError::from(e)))?])
                    .await
                {
                    worker::console_error!(
                        "[{}] storing the PaymentIntent id failed: {e:?}",
                        ctx.request_id
                    );
                }
                json!({"provider": "stripe", "status": "requires_payment_method", "client_secret": secret})
            }
            Err(cause) => {
                // Undo: cancel the order so its stock is released, then let the client retry.
                worker::console_error!("[{}] Stripe PaymentIntent failed: {cause}", ctx.request_id);
                if let Ok(state) = order.state() {
                    if let Ok(Some(t)) = crate::domain::order::apply(&state, &Action::Cancel) {
                        if let Ok(s) =
                            orders::transition(db, &order, &t, &random_id("evt"), &now_rfc3339())
                        {
                            let _ = db.batch(s).await;
                        }
                    }
                }
                return Err(fail(ApiError::unavailable()));
            }
        }
    } else {
        json!({"provider": "manual", "status": "pending"})
    };
    let token = order_token::issue(
        &order.row.id,
        &ctx.var("ORDER_TOKEN_SECRET").unwrap_or_default(),
        now_chrono(),
    )
    .ok_or_else(|| {
        worker::console_error!(
            "[{}] ORDER_TOKEN_SECRET is missing or shorter than 32 bytes",
            ctx.request_id
        );
        fail(ApiError::internal())
    })?;
    ctx.publish_events();
    Ok((
        201,
        json!({ "order": order.view(), "order_token": token, "payment": payment }),
    ))
}

/// Server-side checks of everything the order needs.
fn validate(data: &CartData, rendered: &cart::Rendered) -> Result<(), ApiError> {
    if data.lines.is_empty() {
        return Err(ApiError::validation_failed("lines", "the cart is empty"));
    }
    if rendered.blocking {
        for line in &data.lines {
            let available = data.stock.get(&line.sku).copied().unwrap_or(0);
            if available < line.quantity {
                return Err(ApiError::insufficient_stock(&line.sku, available.max(0)));
            }
        }
        if let Some(w) = rendered.view["warnings"]
            .as_array()
            .and_then(|ws| ws.iter().find(|w| w["code"] == "sku_unavailable"))
        {
            let sku = data
                .lines
                .iter()
                .find(|l| w["line_id"] == l.id.as_str())
                .map(|l| l.sku.as_str())
                .unwrap_or("");
            return Err(ApiError::unknown_sku(sku));
        }
    }
    if data.cart.email.is_none() {
        return Err(ApiError::validation_failed(
            "email",
            "an email address is needed to place the order",
        ));
    }
    if data.cart.shipping_address.is_none() {
        return Err(ApiError::validation_failed(
            "shipping_address",
            "a shipping address is needed to place the order",
        ));
    }
    if data.cart.shipping_method_id.is_none() {
        return Err(ApiError::validation_failed(
            "shipping_method",
            "choose a shipping method",
        ));
    }
    if rendered.priced.shipping.is_none() {
        return Err(ApiError::validation_failed(
            "shipping_method",
            "the chosen shipping method cannot ship this cart",
        ));
    }
    if let Some(c) = rendered.priced.codes.iter().find(|c| !c.applicable) {
        return Err(ApiError::discount_not_applicable(
            c.reason.unwrap_or("not_applicable"),
            format!("{}: {}", c.code, c.message),
        ));
    }
    Ok(())
}

fn place_statements(
    db: &Db,
    data: &CartData,
    order: &Order,
    applied: &[String],
    threshold: i64,
    now: &str,
) -> Result<Vec<worker::D1PreparedStatement>, StoreError> {
    let r = &order.row;
    let qty = json!(data
        .lines
        .iter()
        .map(|l| json!({"sku": l.sku, "q": l.quantity}))
        .collect::<Vec<_>>());
    let lines = json!(order.lines.iter().enumerate().map(|(i, l)| json!({
        "id": l.id, "position": i, "sku": l.sku, "title": l.title, "quantity": l.quantity, "unit_price": l.unit_price,
        "subtotal": l.subtotal, "discount": l.discount, "tax": l.tax, "total": l.total,
    })).collect::<Vec<_>>());
    let placed_id = random_id("evt");
    let placed = orders::envelope(&placed_id, "order.placed", 1, now, order.view());
    let ids = json!(applied);
    let mut out = vec![
        db.statement(
            "INSERT INTO write_guards (ok) SELECT 0 WHERE NOT EXISTS (SELECT 1 FROM carts WHERE id = ?1 AND version = ?2 AND status = 'active')",
            &[text(&data.cart.id), int(data.cart.version)],
        )?,
        db.statement(
            "INSERT INTO write_guards (ok) SELECT 0 WHERE (SELECT COUNT(*) FROM inventory WHERE sku IN \
               (SELECT json_extract(value, '$.sku') FROM json_each(?1))) < json_array_length(?1)",
            &[json_text(&qty)],
        )?,
        // The reservation: the CHECK (reserved <= on_hand) aborts the batch rather than oversell.
        db.statement(
            "UPDATE inventory SET reserved = reserved + (SELECT json_extract(value, '$.q') FROM json_each(?1) \
               WHERE json_extract(value, '$.sku') = inventory.sku), updated_at = ?2 \
             WHERE sku IN (SELECT json_extract(value, '$.sku') FROM json_each(?1))",
            &[json_text(&qty), text(now)],
        )?,
        db.statement(
            "INSERT INTO order_counters (market, last) VALUES (?1, 1) ON CONFLICT (market) DO UPDATE SET last = last + 1",
            &[text(&r.market)],
        )?,
        db.statement(
            "INSERT INTO orders (id, number, channel_id, cart_id, market, customer_id, status, payment_status, \
                fulfillment_status, payment_provider, total_minor, currency, body, pay_by, last_sequence, created_at, updated_at) \
             VALUES (?1, printf('%s-%06d', ?4, (SELECT last FROM order_counters WHERE market = ?4)), ?2, ?3, ?4, ?5, \
                'pending_payment', 'pending', 'unfulfilled', ?6, ?7, ?8, ?9, ?10, 1, ?11, ?11)",
            &[
                text(&r.id), text(&r.channel_id), text(&r.cart_id), text(&r.market),
                r.customer_id.as_deref().map_or(wasm_bindgen::JsValue::NULL, text),
                text(&r.payment_provider), int(r.total_minor), text(&r.currency), text(&r.body), text(&r.pay_by), text(now),
            ],
        )?,
        db.statement(
            "INSERT INTO order_lines (id, order_id, position, sku, title, quantity, unit_price, subtotal, discount, tax, total) \
             SELECT json_extract(value, '$.id'), ?2, json_extract(value, '$.position'), json_extract(value, '$.sku'), \
               json_extract(value, '$.title'), json_extract(value, '$.quantity'), json_extract(value, '$.unit_price'), \
               json_extract(value, '$.subtotal'), json_extract(value, '$.discount'), json_extract(value, '$.tax'), \
               json_extract(value, '$.total') FROM json_each(?1)",
            &[json_text(&lines), text(&r.id)],
        )?,
        db.statement(
            "UPDATE carts SET status = 'checked_out', version = version + 1, updated_at = ?2 WHERE id = ?1",
            &[text(&data.cart.id), text(now)],
        )?,
        db.statement(
            "INSERT INTO outbox (id, type, aggregate, sequence, payload, created_at) \
             VALUES (?1, 'order.placed', ?2, 1, json_set(?3, '$.data.number', (SELECT number FROM orders WHERE id = ?2)), ?4)",
            &[text(&placed_id), text(&r.id), text(&placed.to_string()), text(now)],
        )?,
        // inventory.low for each SKU this order takes to the threshold or below.
        db.statement(
            "INSERT INTO aggregate_sequences (aggregate, last) \
             SELECT 'sku:' || i.sku, 1 FROM inventory i JOIN json_each(?1) q ON json_extract(q.value, '$.sku') = i.sku \
             WHERE i.on_hand - i.reserved <= ?2 AND i.on_hand - i.reserved + json_extract(q.value, '$.q') > ?2 \
             ON CONFLICT (aggregate) DO UPDATE SET last = last + 1",
            &[json_text(&qty), int(threshold)],
        )?,
        db.statement(
            "INSERT INTO outbox (id, type, aggregate, sequence, payload, created_at) \
             SELECT x.id, 'inventory.low', x.sku, x.seq, json_object('id', x.id, 'type', 'inventory.low', 'version', 1, \
                'created_at', ?3, 'sequence', x.seq, 'data', json_object('sku', x.sku, 'on_hand', x.on_hand, \
                'reserved', x.reserved, 'available', x.on_hand - x.reserved, 'threshold', ?2)), ?3 \
             FROM (SELECT 'evt_' || lower(hex(randomblob(16))) AS id, i.sku, i.on_hand, i.reserved, s.last AS seq \
                   FROM inventory i JOIN json_each(?1) q ON json_extract(q.value, '$.sku') = i.sku \
                   JOIN aggregate_sequences s ON s.aggregate = 'sku:' || i.sku \
                   WHERE i.on_hand - i.reserved <= ?2 AND i.on_hand - i.reserved + json_extract(q.value, '$.q') > ?2) x",
            &[json_text(&qty), int(threshold), text(now)],
        )?,
    ];
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
    out.push(db.statement("SELECT number FROM orders WHERE id = ?1", &[text(&r.id)])?);
    Ok(out)
}

/// Finds which guard refused the order batch.
async fn explain_refusal(
    ctx: &Ctx,
    db: &Db,
    data: &CartData,
    applied: &[String],
    cause: &str,
) -> ApiError {
    #[derive(serde::Deserialize)]
    struct Row {
        sku: String,
        available: Option<i64>,
    }
    let skus = json!(data.lines.iter().map(|l| &l.sku).collect::<Vec<_>>());
    let rows: Vec<Row> = match db.statement(
        "SELECT value AS sku, (SELECT on_hand - reserved FROM inventory WHERE sku = value) AS available FROM json_each(?1)",
        &[json_text(&skus)],
    ) {
        Ok(s) => db.all(s).await.unwrap_or_default(),
        Err(_) => vec![],
    };
    for line in &data.lines {
        let available = rows
            .iter()
            .find(|r| r.sku == line.sku)
            .and_then(|r| r.available)
            .unwrap_or(0);
        if available < line.quantity {
            return ApiError::insufficient_stock(&line.sku, available.max(0));
        }
    }
    if !applied.is_empty() {
        return ApiError::discount_not_applicable(
            "usage_limit_reached",
            "a discount of this cart was used up meanwhile; review the cart",
        );
    }
    worker::console_warn!(
        "[{}] checkout refused ({cause}); the cart changed meanwhile",
        ctx.request_id
    );
    ApiError::cart_not_active("the cart changed while checking out; fetch it and try again")
}

/// Creates the PaymentIntent for the order's total (idempotent on the order id).
async fn create_payment_intent(ctx: &Ctx, order: &Order) -> Result<(String, String), String> {
    let base = ctx
        .var("STRIPE_API_BASE")
        .unwrap_or_else(|| "https://api.stripe.com".into());
    let secret = ctx.var("STRIPE_SECRET_KEY").ok_or("no STRIPE_SECRET_KEY")?;
    let form = format!(
        "amount={}&currency={}&metadata[order_id]={}&metadata[order_number]={}&automatic_payment_methods[enabled]=true",
        order.row.total_minor,
        order.row.currency.to_ascii_lowercase(),
        order.row.id,
        order.row.number
    );
    let headers = Headers::new();
    headers
        .set("Authorization", &format!("Bearer {secret}"))
        .map_err(|e| e.to_string())?;
    headers
        .set("Content-Type", "application/x-www-form-urlencoded")
        .map_err(|e| e.to_string())?;
    headers
        .set("Idempotency-Key", &order.row.id)
        .map_err(|e| e.to_string())?;
    let mut init = RequestInit::new();
    init.with_method(Method::Post)
        .with_headers(headers)
        .with_body(Some(wasm_bindgen::JsValue::from_str(&form)));
    let request = Request::new_with_init(
        &format!("{}/v1/payment_intents", base.trim_end_matches('/')),
        &init,
    )
    .map_err(|e| e.to_string())?;
    let mut response = Fetch::Request(request)
        .send()
        .await
        .map_err(|e| format!("fetch: {e}"))?;
    if !(200..300).contains(&response.status_code()) {
        return Err(format!("Stripe answered {}", response.status_code()));
    }
    let body: Value = response.json().await.map_err(|e| e.to_string())?;
    match (body["id"].as_str(), body["client_secret"].as_str()) {
        (Some(id), Some(secret)) => Ok((id.to_string(), secret.to_string())),
        _ => Err("Stripe's answer has no id or client_secret".into()),
    }
}

/// `GET /v1/orders/{id}`: with the order token or the owning customer's token; anything else
/// is 404 (existence is not revealed).
pub async fn get_order(
    req: &Request,
    ctx: &Ctx,
    channel: &Channel,
    id: &str,
) -> Result<Reply, ApiError> {
    let token = header(req, "Authorization")
        .and_then(|h| h.strip_prefix("Bearer ").map(|t| t.trim().to_string()))
        .ok_or_else(|| {
            ApiError::unauthorized(
                "send the order token or the customer's token as Authorization: Bearer …",
            )
        })?;
    let hidden = || ApiError::not_found("no such order");
    let order = orders::get(&ctx.db()?, id).await?.ok_or_else(hidden)?;
    if order.row.channel_id != channel.id {
        return Err(hidden());
    }
    let secret = ctx.var("ORDER_TOKEN_SECRET").unwrap_or_default();
    let granted = order_token::grants(&token, id, &secret, now_chrono())
        || customer_subject(&token, ctx)
            .is_some_and(|sub| order.row.customer_id.as_deref() == Some(sub.as_str()));
    if !granted {
        return Err(hidden());
    }
    Reply::json(200, &order.view())
}

fn customer_verifier(ctx: &Ctx) -> JwtVerifier {
    JwtVerifier::new(
        ctx.var("CUSTOMER_JWT_SECRET").as_deref(),
        ctx.var("CUSTOMER_JWT_PUBLIC_KEYS").as_deref(),
        ctx.var("CUSTOMER_JWT_AUDIENCE").as_deref(),
        ctx.var("CUSTOMER_JWT_ISSUER").as_deref(),
    )
}

fn customer_subject(token: &str, ctx: &Ctx) -> Option<String> {
    customer_verifier(ctx)
        .verify(token, now_chrono())
        .ok()
        .and_then(|v| v.subject)
}

/// `GET /v1/customers/me/orders`: the signed-in customer's orders in this channel, newest first.
pub async fn my_orders(
    req: &Request,
    ctx: &Ctx,
    channel: &Channel,
    params: &[(String, String)],
) -> Result<Reply, ApiError> {
    let token = header(req, "Authorization")
        .and_then(|h| h.strip_prefix("Bearer ").map(|t| t.trim().to_string()))
        .ok_or_else(|| {
            ApiError::unauthorized("send the customer's token as Authorization: Bearer <JWT>")
        })?;
    let customer = customer_subject(&token, ctx)
        .ok_or_else(|| ApiError::unauthorized("the customer token is not valid"))?;
    let page = page_request(params)?;
    let (at, after_id) = time_cursor_position(&page)?;
    let found = orders::list(
        &ctx.db()?,
        "customer_id = ?1 AND channel_id = ?2 AND (created_at < ?3 OR (created_at = ?3 AND id < ?4))",
        "created_at DESC, id DESC LIMIT ?5",
        &[text(&customer), text(&channel.id), text(&at), text(&after_id), int(page.limit as i64 + 1)],
    )
    .await
    ?;
    Reply::json(200, &orders::page_view(found, page.limit))
}

/// `POST /v1/payments/stripe/webhook`: verified with `Stripe-Signature`; each event id is
/// handled once; `payment_intent.succeeded` confirms its order (whatever the client did).
pub async fn stripe_webhook(req: &mut Request, ctx: &Ctx) -> Result<Reply, ApiError> {
    let payload = req
        .bytes()
        .await
        .map_err(|_| ApiError::invalid_json("the request body could not be read"))?;
    let now = (js_sys::Date::now() / 1000.0) as i64;
    let secret = ctx.var("STRIPE_WEBHOOK_SECRET").unwrap_or_default();
    stripe_signature::verify(
        header(req, "Stripe-Signature").as_deref(),
        &payload,
        &secret,
        now,
    )
    .map_err(|e| {
        if e == stripe_signature::SignatureError::NotConfigured {
            worker::console_error!("[{}] STRIPE_WEBHOOK_SECRET is not set", ctx.request_id);
        }
        ApiError::invalid_signature("the Stripe-Signature header does not verify")
    })?;
    let event: Value = serde_json::from_slice(&payload)
        .map_err(|_| ApiError::invalid_json("the event is not JSON"))?;
    let (Some(event_id), Some(kind)) = (event["id"].as_str(), event["type"].as_str()) else {
        return Err(ApiError::validation_failed(
            "id",
            "a Stripe event has an id and a type",
        ));
    };
    let db = ctx.db()?;
    let received = || Reply::json(200, &json!({ "received": true }));
    let record = db.statement(
        "INSERT INTO payment_events (id, type, received_at) VALUES (?1, ?2, ?3)",
        &[text(event_id), text(kind), text(&now_rfc3339())],
    )?;
    let seen: Vec<Value> = db
        .all(db.statement(
            "SELECT id FROM payment_events WHERE id = ?1",
            &[text(event_id)],
        )?)
        .await?;
    if !seen.is_empty() {
        return received();
    }
    if kind != "payment_intent.succeeded" {
        let _ = db.batch(vec![record]).await;
        return received();
    }
    let intent = &event["data"]["object"];
    let order_id = intent["metadata"]["order_id"].as_str().unwrap_or("");
    let Some(order) = orders::get(&db, order_id).await? else {
        worker::console_error!(
            "[{}] Stripe event {event_id} names no known order",
            ctx.request_id
        );
        let _ = db.batch(vec![record]).await;
        return received();
    };
    let amount_ok = intent["amount"].as_i64() == Some(order.row.total_minor)
        && intent["currency"]
            .as_str()
            .map(str::to_ascii_uppercase)
            .as_deref()
            == Some(order.row.currency.as_str())
        && order
            .row
            .payment_reference
            .as_deref()
            .is_none_or(|r| intent["id"].as_str() == Some(r));
    if !amount_ok {
        worker::console_error!("[{}] Stripe event {event_id} does not match order {order_id} (amount, currency or intent); not confirming", ctx.request_id);
        let _ = db.batch(vec![record]).await;
        return received();
    }
    let state: OrderState = order.state()?;
    match crate::domain::order::apply(&state, &Action::MarkPaid) {
        Ok(Some(t)) => {
            let mut statements = vec![record];
            statements.extend(orders::transition(
                &db,
                &order,
                &t,
                &random_id("evt"),
                &now_rfc3339(),
            )?);
            match db.batch(statements).await {
                Ok(_) => {
                    ctx.publish_events();
                    received()
                }
                Err(StoreError::Refused(_)) => received(),
                Err(e) => Err(ApiError::from(e)),
            }
        }
        Ok(None) => {
            let _ = db.batch(vec![record]).await;
            received()
        }
        Err(_) => {
            worker::console_error!(
                "[{}] payment for order {order_id} arrived in status {}: refund it",
                ctx.request_id,
                order.row.status
            );
            let _ = db.batch(vec![record]).await;
            received()
        }
    }
}
