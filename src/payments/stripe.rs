//! The Stripe client behind `PaymentProvider`: a PaymentIntent per order, created with the
//! order id as Stripe's `Idempotency-Key` so a retried checkout gets the same intent. Stripe's
//! webhook (signature in `auth::stripe_signature`, handling in `app::payments`) confirms it.

use crate::app::ports::{PaymentIntent, PaymentProvider};
use crate::domain::order::Order;
use serde_json::Value;
use worker::{Fetch, Headers, Method, Request, RequestInit};

pub struct Stripe {
    /// `https://api.stripe.com`, or a local stand-in (`STRIPE_API_BASE`) in tests.
    pub base: String,
    /// `STRIPE_SECRET_KEY`.
    pub secret: Option<String>,
}

impl PaymentProvider for Stripe {
    fn configured(&self) -> bool {
        self.secret.is_some()
    }

    async fn create_intent(&self, order: &Order) -> Result<PaymentIntent, String> {
        let secret = self.secret.as_deref().ok_or("no STRIPE_SECRET_KEY")?;
        let form = format!(
            "amount={}&currency={}&metadata[order_id]={}&metadata[order_number]={}&automatic_payment_methods[enabled]=true",
            order.total_minor,
            order.currency.to_ascii_lowercase(),
            order.id,
            order.number
        );
        let headers = Headers::new();
        let set = |name: &str, value: &str| headers.set(name, value).map_err(|e| e.to_string());
        set("Authorization", &format!("Bearer {secret}"))?;
        set("Content-Type", "application/x-www-form-urlencoded")?;
        set("Idempotency-Key", &order.id)?;
        let mut init = RequestInit::new();
        init.with_method(Method::Post)
            .with_headers(headers)
            .with_body(Some(wasm_bindgen::JsValue::from_str(&form)));
        let url = format!("{}/v1/payment_intents", self.base.trim_end_matches('/'));
        let request = Request::new_with_init(&url, &init).map_err(|e| e.to_string())?;
        let mut response = Fetch::Request(request)
            .send()
            .await
            .map_err(|e| format!("fetch: {e}"))?;
        if !(200..300).contains(&response.status_code()) {
            return Err(format!("Stripe answered {}", response.status_code()));
        }
        let body: Value = response.json().await.map_err(|e| e.to_string())?;
        match (body["id"].as_str(), body["client_secret"].as_str()) {
            (Some(id), Some(secret)) => Ok(PaymentIntent {
                id: id.to_string(),
                client_secret: secret.to_string(),
            }),
            _ => Err("Stripe's answer has no id or client_secret".into()),
        }
    }
}
