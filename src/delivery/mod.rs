//! The queue consumer and the webhook HTTP client: the delivery adapter. It decodes each queue
//! message, runs the forwarding use case it names (`app::forwarding::fan_out` for an event,
//! `attempt_delivery` for a delivery) over the D1 store, the queue and this HTTP client, and
//! settles the message as the use case says (writing what each attempt came to as a
//! `delivery` data point, `metrics`). A delivery's scheduled retry is a new message
//! with the retry's delay (so `DELIVERY_MAX_ATTEMPTS` never depends on the consumer's
//! `max_retries`, which only bounds how often a message whose work failed is tried again);
//! when that send fails, the message itself is retried with the same delay. Every message is
//! settled on its own: one bad message never fails the batch, and the handler never returns
//! `Err` (that would redeliver the whole batch). Whatever the queue loses, the sweeper hands
//! over again (`app::forwarding::hand_over_stranded`).

use crate::app::forwarding::{
    attempt_delivery, fan_out, hand_over_stranded, Answer, DeliveryQueue, RetryPolicy, Settle,
    SignedWebhook, WebhookClient,
};
use crate::app::ports::StoreError;
use crate::platform::SystemClock;
use crate::store::d1::{Db, Meter};
use crate::store::forwarding::D1Forwarding;
use crate::store::outbox::QueueMessage;
use futures_util::future::{select, Either};
use worker::{
    Env, Fetch, Headers, MessageBatch, MessageBuilder, MessageExt, Method,
    QueueRetryOptionsBuilder, Request, RequestInit, RequestRedirect,
};

const TIMEOUT_MS: u64 = 10_000;

fn store(env: &Env) -> Result<D1Forwarding, String> {
    Ok(D1Forwarding::new(Db::new(
        env.d1("DB").map_err(|e| e.to_string())?,
        Meter::default(),
    )))
}

fn var(env: &Env, name: &str, default: u32) -> u32 {
    env.var(name)
        .ok()
        .and_then(|v| v.to_string().parse().ok())
        .unwrap_or(default)
}

/// The delivery settings of API.md, from the Worker's variables.
fn policy(env: &Env) -> RetryPolicy {
    let d = RetryPolicy::DEFAULT;
    RetryPolicy {
        max_attempts: var(env, "DELIVERY_MAX_ATTEMPTS", d.max_attempts).max(1),
        base_seconds: var(env, "DELIVERY_RETRY_BASE_SECONDS", d.base_seconds),
        disable_after: var(env, "DESTINATION_DISABLE_AFTER", d.disable_after).max(1),
        allow_insecure_loopback: env
            .var("ALLOW_INSECURE_DESTINATIONS")
            .is_ok_and(|v| v.to_string() == "true"),
    }
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
                ("event", Some(id), _) => event(&env, &id).await.unwrap_or_else(|e| {
                    worker::console_error!("queue: fanning out {id} failed, retrying: {e}");
                    Settle::RetryIn(5)
                }),
                ("delivery", _, Some(id)) => match delivery(&env, &id).await {
                    // The scheduled retry travels as a new message; the queue's own retry
                    // is the fallback when that send fails.
                    Ok(Settle::RetryIn(seconds)) => {
                        match Queue(&env).enqueue_in(&id, seconds).await {
                            Ok(()) => Settle::Ack,
                            Err(e) => {
                                worker::console_error!("queue: scheduling the retry of {id} failed, retrying the message: {e}");
                                Settle::RetryIn(seconds)
                            }
                        }
                    }
                    Ok(Settle::Ack) => Settle::Ack,
                    Err(e) => {
                        worker::console_error!("queue: delivery {id} could not run, retrying: {e}");
                        Settle::RetryIn(5)
                    }
                },
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

/// Creates the event's deliveries and queues an attempt for each new one.
async fn event(env: &Env, event_id: &str) -> Result<Settle, String> {
    fan_out(&store(env)?, &Queue(env), &SystemClock, event_id)
        .await
        .map_err(|e| e.to_string())?;
    Ok(Settle::Ack)
}

/// One attempt of one delivery.
async fn delivery(env: &Env, delivery_id: &str) -> Result<Settle, String> {
    let attempted = attempt_delivery(&store(env)?, &Http, &SystemClock, policy(env), delivery_id)
        .await
        .map_err(|e| e.to_string())?;
    if let Some(outcome) = &attempted.outcome {
        crate::platform::write_metric(env, &crate::metrics::delivery(outcome));
    }
    Ok(attempted.settle)
}

/// The `ORDER_EVENTS` queue, carrying delivery attempts.
pub struct Queue<'a>(pub &'a Env);

impl DeliveryQueue for Queue<'_> {
    async fn enqueue(&self, delivery_ids: Vec<String>) -> Result<(), StoreError> {
        let unavailable = |e: worker::Error| StoreError::Unavailable(format!("queue: {e}"));
        let queue = self.0.queue("ORDER_EVENTS").map_err(unavailable)?;
        let messages: Vec<QueueMessage> = delivery_ids
            .into_iter()
            .map(|id| QueueMessage {
                kind: "delivery".into(),
                event_id: None,
                delivery_id: Some(id),
            })
            .collect();
        queue.send_batch(messages).await.map_err(unavailable)
    }

    async fn enqueue_in(&self, delivery_id: &str, delay_seconds: u32) -> Result<(), StoreError> {
        let unavailable = |e: worker::Error| StoreError::Unavailable(format!("queue: {e}"));
        let queue = self.0.queue("ORDER_EVENTS").map_err(unavailable)?;
        let message = QueueMessage {
            kind: "delivery".into(),
            event_id: None,
            delivery_id: Some(delivery_id.to_string()),
        };
        queue
            .send(
                MessageBuilder::new(message)
                    .delay_seconds(delay_seconds)
                    .build(),
            )
            .await
            .map_err(unavailable)
    }
}

/// The Workers `fetch` as the webhook client: one signed POST, bounded by the timeout, never
/// following a redirect (`redirect: "manual"`: a 3xx is the answer, and goes dead).
struct Http;

impl WebhookClient for Http {
    async fn post(&self, webhook: &SignedWebhook) -> Result<Answer, String> {
        let headers = Headers::new();
        for (k, v) in [
            ("Content-Type", "application/json"),
            ("User-Agent", "Comptoir-Webhooks/1"),
            ("webhook-id", &webhook.id),
            ("webhook-timestamp", &webhook.timestamp.to_string()),
            ("webhook-signature", &webhook.signature),
        ] {
            headers.set(k, v).map_err(|e| e.to_string())?;
        }
        let mut init = RequestInit::new();
        init.with_method(Method::Post)
            .with_redirect(RequestRedirect::Manual)
            .with_headers(headers)
            .with_body(Some(wasm_bindgen::JsValue::from_str(&webhook.body)));
        let request = Request::new_with_init(&webhook.url, &init).map_err(|e| e.to_string())?;
        let fetch = Fetch::Request(request);
        let send = Box::pin(fetch.send());
        let timeout = Box::pin(worker::Delay::from(std::time::Duration::from_millis(
            TIMEOUT_MS,
        )));
        let outcome = select(send, timeout).await;
        match outcome {
            Either::Left((Ok(response), _)) => Ok(Answer {
                status: response.status_code(),
                location: response.headers().get("Location").ok().flatten(),
            }),
            Either::Left((Err(e), _)) => Err(format!("network error: {e}")),
            Either::Right(_) => Err(format!("no answer within {} s", TIMEOUT_MS / 1000)),
        }
    }
}

/// The sweeper: events committed but not handed to the queue within the grace period, then
/// deliveries written but never handed to the queue (a failed send) or long past due (a lost
/// message). Returns how many events and deliveries it handed over.
pub async fn sweep(env: &Env) -> Result<(usize, usize), String> {
    let grace = var(env, "OUTBOX_SWEEP_AFTER_SECONDS", 60);
    let cutoff = String::from(
        js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(
            js_sys::Date::now() - f64::from(grace) * 1000.0,
        ))
        .to_iso_string(),
    );
    let events = crate::store::outbox::publish(env, Some(&cutoff)).await;
    // Deliveries are swept even when the events' half failed: they do not depend on it.
    let deliveries = hand_over_stranded(&store(env)?, &Queue(env), &SystemClock, grace)
        .await
        .map_err(|e| e.to_string());
    Ok((events?, deliveries?))
}
