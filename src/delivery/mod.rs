//! The queue consumer: fans each event out to the destinations subscribed to its type (one
//! delivery each, created once per event and destination), then attempts each delivery as a
//! signed HTTP POST. 2xx delivers; 5xx, 408, 429, timeouts and network errors retry with
//! growing delays through the queue's per-message delay; other 4xx and exhausted retries go
//! dead (kept, listed, replayable). Every message is settled on its own: one bad message never
//! fails the batch, and the handler never returns `Err` (that would redeliver the whole batch).

use crate::domain::webhook::{is_retryable, retry_delay, signature_header};
use crate::store::d1::{int, text, Db, Meter, StoreError};
use crate::store::outbox::QueueMessage;
use futures_util::future::{select, Either};
use serde::Deserialize;
use worker::{
    Env, Fetch, Headers, MessageBatch, MessageExt, Method, QueueRetryOptionsBuilder, Request,
    RequestInit,
};

const TIMEOUT_MS: u64 = 10_000;

fn db(env: &Env) -> Result<Db, String> {
    Ok(Db::new(
        env.d1("DB").map_err(|e| e.to_string())?,
        Meter::default(),
    ))
}

fn var(env: &Env, name: &str, default: u32) -> u32 {
    env.var(name)
        .ok()
        .and_then(|v| v.to_string().parse().ok())
        .unwrap_or(default)
}

fn now_iso() -> String {
    String::from(js_sys::Date::new_0().to_iso_string())
}

enum Settle {
    Ack,
    RetryIn(u32),
}

pub async fn consume(batch: MessageBatch<serde_json::Value>, env: Env) {
    for message in batch.raw_iter() {
        let settle = match serde_wasm_bindgen::from_value::<QueueMessage>(message.body()) {
            Err(e) => {
                worker::console_error!(
                    "queue: message {} is not a Comptoir message, dropped: {e}",
                    message.id()
                );
                Settle::Ack
            }
            Ok(m) => match (m.kind.as_str(), m.event_id, m.delivery_id) {
                ("event", Some(id), _) => fan_out(&env, &id).await.unwrap_or_else(|e| {
                    worker::console_error!("queue: fanning out {id} failed, retrying: {e}");
                    Settle::RetryIn(5)
                }),
                ("delivery", _, Some(id)) => attempt(&env, &id).await.unwrap_or_else(|e| {
                    worker::console_error!("queue: delivery {id} could not run, retrying: {e}");
                    Settle::RetryIn(5)
                }),
                (kind, _, _) => {
                    worker::console_error!("queue: unknown message kind `{kind}`, dropped");
                    Settle::Ack
                }
            },
        };
        match settle {
            Settle::Ack => message.ack(),
            Settle::RetryIn(seconds) => message.retry_with_options(
                &QueueRetryOptionsBuilder::new()
                    .with_delay_seconds(seconds)
                    .build(),
            ),
        }
    }
}

#[derive(Deserialize)]
struct IdRow {
    id: String,
}

/// Creates the event's deliveries (once per destination) and queues an attempt for each new
/// one. A redelivered event message creates nothing new.
async fn fan_out(env: &Env, event_id: &str) -> Result<Settle, String> {
    let db = db(env)?;
    let now = now_iso();
    let created: Vec<IdRow> = db
        .all(
            db.statement(
                "INSERT INTO deliveries (id, event_id, destination_id, status, attempts, created_at, updated_at) \
                 SELECT 'dlv_' || lower(hex(randomblob(16))), o.id, d.id, 'pending', 0, ?2, ?2 \
                 FROM outbox o JOIN destinations d ON d.enabled = 1 AND EXISTS \
                   (SELECT 1 FROM json_each(d.events) WHERE value = '*' OR value = o.type) \
                 WHERE o.id = ?1 \
                 ON CONFLICT (event_id, destination_id) DO NOTHING RETURNING id",
                &[text(event_id), text(&now)],
            )
            .map_err(|e| format!("{e:?}"))?,
        )
        .await
        .map_err(|e| format!("{e:?}"))?;
    if !created.is_empty() {
        enqueue(env, created.into_iter().map(|r| r.id).collect()).await?;
    }
    Ok(Settle::Ack)
}

pub async fn enqueue(env: &Env, delivery_ids: Vec<String>) -> Result<(), String> {
    let queue = env.queue("ORDER_EVENTS").map_err(|e| e.to_string())?;
    let messages: Vec<QueueMessage> = delivery_ids
        .into_iter()
        .map(|id| QueueMessage {
            kind: "delivery".into(),
            event_id: None,
            delivery_id: Some(id),
        })
        .collect();
    queue.send_batch(messages).await.map_err(|e| e.to_string())
}

#[derive(Deserialize)]
struct Attempt {
    status: String,
    attempts: i64,
    event_id: String,
    payload: Option<String>,
    url: Option<String>,
    enabled: Option<i64>,
    secret: Option<String>,
    previous_secret: Option<String>,
    previous_expires_at: Option<String>,
}

async fn attempt(env: &Env, delivery_id: &str) -> Result<Settle, String> {
    let db = db(env)?;
    let rows: Vec<Attempt> = db
        .all(
            db.statement(
                "SELECT dl.status, dl.attempts, dl.event_id, o.payload, d.url, d.enabled, d.secret, \
                        d.previous_secret, d.previous_expires_at \
                 FROM deliveries dl LEFT JOIN outbox o ON o.id = dl.event_id \
                 LEFT JOIN destinations d ON d.id = dl.destination_id WHERE dl.id = ?1",
                &[text(delivery_id)],
            )
            .map_err(|e| format!("{e:?}"))?,
        )
        .await
        .map_err(|e| format!("{e:?}"))?;
    let Some(a) = rows.into_iter().next() else {
        return Ok(Settle::Ack);
    };
    if a.status != "pending" {
        return Ok(Settle::Ack); // delivered or dead meanwhile: a duplicate message
    }
    let ready = match (a.payload, a.url, a.secret) {
        (Some(payload), Some(url), Some(secret)) if a.enabled == Some(1) => {
            Ok((payload, url, secret))
        }
        (Some(_), Some(_), Some(_)) => Err("the destination is disabled"),
        _ => Err("the destination or the event no longer exists"),
    };
    let (payload, url, secret) = match ready {
        Ok(found) => found,
        Err(why) => {
            record(&db, delivery_id, "dead", a.attempts, None, Some(why)).await?;
            return Ok(Settle::Ack);
        }
    };
    let now = now_iso();
    let timestamp = (js_sys::Date::now() / 1000.0) as i64;
    let mut secrets = vec![secret.as_str()];
    if let (Some(previous), Some(until)) = (&a.previous_secret, &a.previous_expires_at) {
        if until.as_str() > now.as_str() {
            secrets.push(previous);
        }
    }
    let signature = signature_header(&secrets, &a.event_id, timestamp, &payload)
        .ok_or("the destination's secret is malformed")?;
    let attempts = a.attempts + 1;
    let (status_code, error) = match post(&url, &a.event_id, timestamp, &signature, &payload).await
    {
        Ok(code) => (Some(code), None),
        Err(e) => (None, Some(e)),
    };
    let max = i64::from(var(env, "DELIVERY_MAX_ATTEMPTS", 8));
    let base = var(env, "DELIVERY_RETRY_BASE_SECONDS", 10);
    let (state, settle) = match status_code {
        Some(code) if (200..300).contains(&code) => ("delivered", Settle::Ack),
        Some(code) if !is_retryable(code) => ("dead", Settle::Ack),
        _ if attempts >= max => ("dead", Settle::Ack),
        _ => (
            "pending",
            Settle::RetryIn(retry_delay(base, attempts as u32)),
        ),
    };
    let error = error.or_else(|| {
        status_code
            .filter(|c| !(200..300).contains(c))
            .map(|c| format!("the destination answered {c}"))
    });
    record(
        &db,
        delivery_id,
        state,
        attempts,
        status_code,
        error.as_deref(),
    )
    .await?;
    Ok(settle)
}

async fn record(
    db: &Db,
    id: &str,
    status: &str,
    attempts: i64,
    code: Option<u16>,
    error: Option<&str>,
) -> Result<(), String> {
    db.batch(vec![db
        .statement(
            "UPDATE deliveries SET status = ?2, attempts = ?3, last_status_code = ?4, last_error = ?5, updated_at = ?6 WHERE id = ?1",
            &[
                text(id),
                text(status),
                int(attempts),
                code.map_or(wasm_bindgen::JsValue::NULL, |c| int(i64::from(c))),
                error.map_or(wasm_bindgen::JsValue::NULL, text),
                text(&now_iso()),
            ],
        )
        .map_err(|e| format!("{e:?}"))?])
        .await
        .map(|_| ())
        .map_err(|e: StoreError| format!("{e:?}"))
}

/// One signed POST, bounded by the timeout. `Err` for a network error or a timeout.
async fn post(
    url: &str,
    id: &str,
    timestamp: i64,
    signature: &str,
    body: &str,
) -> Result<u16, String> {
    let headers = Headers::new();
    for (k, v) in [
        ("Content-Type", "application/json"),
        ("User-Agent", "Comptoir-Webhooks/1"),
        ("webhook-id", id),
        ("webhook-timestamp", &timestamp.to_string()),
        ("webhook-signature", signature),
    ] {
        headers.set(k, v).map_err(|e| e.to_string())?;
    }
    let mut init = RequestInit::new();
    init.with_method(Method::Post)
        .with_headers(headers)
        .with_body(Some(wasm_bindgen::JsValue::from_str(body)));
    let request = Request::new_with_init(url, &init).map_err(|e| e.to_string())?;
    let fetch = Fetch::Request(request);
    let send = Box::pin(fetch.send());
    let timeout = Box::pin(worker::Delay::from(std::time::Duration::from_millis(
        TIMEOUT_MS,
    )));
    let outcome = select(send, timeout).await;
    match outcome {
        Either::Left((Ok(response), _)) => Ok(response.status_code()),
        Either::Left((Err(e), _)) => Err(format!("network error: {e}")),
        Either::Right(_) => Err(format!("no answer within {} s", TIMEOUT_MS / 1000)),
    }
}

/// The sweeper: events committed but not handed to the queue within the grace period.
pub async fn sweep(env: &Env) -> Result<usize, String> {
    let grace = var(env, "OUTBOX_SWEEP_AFTER_SECONDS", 60);
    let cutoff = String::from(
        js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(
            js_sys::Date::now() - f64::from(grace) * 1000.0,
        ))
        .to_iso_string(),
    );
    crate::store::outbox::publish(env, Some(&cutoff)).await
}

/// Puts a delivery back to pending (same delivery, same `webhook-id`) and queues an attempt.
pub async fn replay(db: &Db, env: &Env, id: &str) -> Result<bool, String> {
    let results = db
        .batch(vec![db
            .statement(
                "UPDATE deliveries SET status = 'pending', attempts = 0, updated_at = ?2 WHERE id = ?1",
                &[text(id), text(&now_iso())],
            )
            .map_err(|e| format!("{e:?}"))?])
        .await
        .map_err(|e| format!("{e:?}"))?;
    let changed = results
        .first()
        .and_then(|r| r.meta().ok().flatten())
        .and_then(|m| m.changes)
        .unwrap_or(0);
    if changed == 0 {
        return Ok(false);
    }
    enqueue(env, vec![id.to_string()]).await?;
    Ok(true)
}
