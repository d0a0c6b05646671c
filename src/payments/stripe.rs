//! The Stripe client behind `PaymentProvider`: a PaymentIntent per order, created before the
//! order is stored, with the order id as Stripe's `Idempotency-Key` so a repeated call gets the
//! same intent; and the cancel of an intent whose order was refused. Stripe's webhook
//! (signature in `auth::stripe_signature`, handling in `app::payments`) confirms the order.

use crate::app::ports::{
    within, PaymentIntent, PaymentProvider, RefundOrder, RefundOutcome, Settlements,
};
use crate::domain::order::Order;
use crate::platform::JsTimer;
use serde_json::Value;
use worker::{AbortController, Fetch, Headers, Method, Request, RequestInit};

pub struct Stripe<'a> {
    /// `https://api.stripe.com`, or a local stand-in (`STRIPE_API_BASE`) in tests.
    pub base: String,
    /// `STRIPE_SECRET_KEY`.
    pub secret: Option<String>,
    /// How long a cancel (sent after the response) may take.
    pub timeout_ms: f64,
    /// The request's context: a cancel runs after the response, through `wait_until`.
    pub ctx: &'a crate::http::server::Ctx,
}

impl<'a> Stripe<'a> {
    /// Stripe as the Worker's variables set it up (`STRIPE_API_BASE`, `STRIPE_SECRET_KEY`).
    pub fn from_ctx(ctx: &'a crate::http::server::Ctx, timeout_ms: f64) -> Stripe<'a> {
        Stripe {
            base: ctx
                .var("STRIPE_API_BASE")
                .unwrap_or_else(|| "https://api.stripe.com".into()),
            secret: ctx.var("STRIPE_SECRET_KEY"),
            timeout_ms,
            ctx,
        }
    }
}

impl PaymentProvider for Stripe<'_> {
    fn configured(&self) -> bool {
        self.secret.is_some()
    }

    async fn create_intent(&self, order: &Order) -> Result<PaymentIntent, String> {
        self.intent(&order.id, order.total_minor, &order.currency, &order.id)
            .await
    }

    fn cancel_intent(&self, intent_id: &str) {
        let Some(secret) = self.secret.clone() else {
            return;
        };
        let (base, id, timeout_ms) = (self.base.clone(), intent_id.to_string(), self.timeout_ms);
        let request_id = self.ctx.request_id.clone();
        self.ctx.worker.wait_until(async move {
            let path = format!("/v1/payment_intents/{id}/cancel");
            let cancel = async {
                let request = post(&base, &path, &secret, None, "")?;
                let response = Fetch::Request(request)
                    .send()
                    .await
                    .map_err(|e| format!("fetch: {e}"))?;
                match response.status_code() {
                    200..=299 => Ok(()),
                    status => Err(format!("Stripe answered {status}")),
                }
            };
            let outcome = within(&JsTimer, timeout_ms, cancel)
                .await
                .unwrap_or_else(|| Err(format!("no answer within {timeout_ms} ms")));
            if let Err(e) = outcome {
                worker::console_warn!(
                    "[{request_id}] canceling PaymentIntent {id} failed (it has no order and cannot be paid): {e}"
                );
            }
        });
    }
}

impl Stripe<'_> {
    /// A PaymentIntent of `amount` for order `order_id`, with `key` as Stripe's idempotency key.
    async fn intent(
        &self,
        order_id: &str,
        amount: i64,
        currency: &str,
        key: &str,
    ) -> Result<PaymentIntent, String> {
        let secret = self.secret.as_deref().ok_or("no STRIPE_SECRET_KEY")?;
        let form = format!(
            "amount={amount}&currency={}&metadata[order_id]={order_id}&automatic_payment_methods[enabled]=true",
            currency.to_ascii_lowercase(),
        );
        let request = post(&self.base, "/v1/payment_intents", secret, Some(key), &form)?;
        // The caller drops this future when its timeout runs out: the guard aborts the fetch.
        let controller = AbortController::default();
        let signal = controller.signal();
        let abort = AbortOnDrop(Some(controller));
        let sent = Fetch::Request(request).send_with_signal(&signal).await;
        let mut response = sent.map_err(|e| format!("fetch: {e}"))?;
        if !(200..300).contains(&response.status_code()) {
            return Err(format!("Stripe answered {}", response.status_code()));
        }
        let body: Value = response.json().await.map_err(|e| e.to_string())?;
        abort.disarm();
        match (body["id"].as_str(), body["client_secret"].as_str()) {
            (Some(id), Some(secret)) => Ok(PaymentIntent {
                id: id.to_string(),
                client_secret: secret.to_string(),
            }),
            _ => Err("Stripe's answer has no id or client_secret".into()),
        }
    }
}

impl Settlements for Stripe<'_> {
    async fn collect(
        &self,
        order: &Order,
        amount: i64,
        key: &str,
    ) -> Result<PaymentIntent, String> {
        self.intent(&order.id, amount, &order.currency, key).await
    }

    fn abandon(&self, intent_id: &str) {
        self.cancel_intent(intent_id);
    }

    async fn refund(&self, r: &RefundOrder<'_>) -> RefundOutcome {
        let Some(secret) = self.secret.as_deref() else {
            return RefundOutcome::Failed {
                reference: None,
                reason: "Stripe is not configured (no STRIPE_SECRET_KEY)".into(),
            };
        };
        let form = format!(
            "payment_intent={}&amount={}&metadata[refund_id]={}&metadata[order_id]={}",
            r.payment_reference, r.amount, r.refund_id, r.order_id,
        );
        let request = match post(
            &self.base,
            "/v1/refunds",
            secret,
            Some(&r.idempotency_key),
            &form,
        ) {
            Ok(request) => request,
            Err(cause) => return RefundOutcome::Unknown { cause },
        };
        // The caller drops this future at its timeout: the guard aborts the fetch.
        let controller = AbortController::default();
        let signal = controller.signal();
        let abort = AbortOnDrop(Some(controller));
        let mut response = match Fetch::Request(request).send_with_signal(&signal).await {
            Ok(response) => response,
            Err(e) => {
                return RefundOutcome::Unknown {
                    cause: format!("fetch: {e}"),
                }
            }
        };
        let status = response.status_code();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        abort.disarm();
        refund_outcome(status, &body)
    }
}

/// What Stripe's answer to `POST /v1/refunds` means: a Refund object by its status; a 4xx is
/// a refusal (its message shown on the refund); anything else says nothing certain.
fn refund_outcome(status: u16, body: &Value) -> RefundOutcome {
    let reference = body["id"].as_str().map(str::to_string);
    match (status, body["status"].as_str(), reference) {
        (200..=299, Some("succeeded"), Some(reference)) => RefundOutcome::Succeeded { reference },
        (200..=299, Some("failed" | "canceled"), reference) => RefundOutcome::Failed {
            reference,
            reason: body["failure_reason"]
                .as_str()
                .unwrap_or("refused by Stripe")
                .to_string(),
        },
        (200..=299, Some(_), Some(reference)) => RefundOutcome::Pending { reference },
        (400..=499, _, _) if status != 408 && status != 409 && status != 429 => {
            RefundOutcome::Failed {
                reference: None,
                reason: body["error"]["message"].as_str().map_or_else(
                    || format!("Stripe answered {status}"),
                    |m| m.chars().take(300).collect(),
                ),
            }
        }
        _ => RefundOutcome::Unknown {
            cause: format!("Stripe answered {status}"),
        },
    }
}

/// A form POST to Stripe's API.
fn post(
    base: &str,
    path: &str,
    secret: &str,
    idempotency_key: Option<&str>,
    form: &str,
) -> Result<Request, String> {
    let headers = Headers::new();
    let set = |name: &str, value: &str| headers.set(name, value).map_err(|e| e.to_string());
    set("Authorization", &format!("Bearer {secret}"))?;
    set("Content-Type", "application/x-www-form-urlencoded")?;
    if let Some(key) = idempotency_key {
        set("Idempotency-Key", key)?;
    }
    let mut init = RequestInit::new();
    init.with_method(Method::Post)
        .with_headers(headers)
        .with_body(Some(wasm_bindgen::JsValue::from_str(form)));
    let url = format!("{}{path}", base.trim_end_matches('/'));
    Request::new_with_init(&url, &init).map_err(|e| e.to_string())
}

/// Aborts its fetch when dropped before [`AbortOnDrop::disarm`]: JS does not cancel a fetch
/// whose promise nobody awaits any more.
struct AbortOnDrop(Option<AbortController>);

impl AbortOnDrop {
    fn disarm(mut self) {
        self.0 = None;
    }
}

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        if let Some(controller) = self.0.take() {
            controller.abort();
        }
    }
}
