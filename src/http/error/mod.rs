//! The one error envelope of API.md: `{"error": {"code", "message", "details"?}}`.
//!
//! Every failure a client can see is an [`ApiError`]; its status and code are chosen here and
//! nowhere else, so the contract's table of codes lives in one place: the constructors below,
//! and one `From` per use case's refusal in [`refusals`].

use serde_json::{json, Value};

mod refusals;

#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub status: u16,
    pub code: &'static str,
    pub message: String,
    pub details: Option<Value>,
    /// Extra response headers the error needs (`Allow`, `Retry-After`).
    pub headers: Vec<(&'static str, String)>,
    /// Why it happened, for the log only (never in the body): a 5xx's cause.
    pub cause: Option<Box<String>>,
}

impl ApiError {
    fn new(status: u16, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
            details: None,
            headers: Vec::new(),
            cause: None,
        }
    }

    /// Keeps `cause` for the log; the client never sees it.
    pub fn caused_by(mut self, cause: impl std::fmt::Display) -> ApiError {
        self.cause = Some(Box::new(cause.to_string()));
        self
    }

    pub fn with_details(mut self, details: Value) -> ApiError {
        self.details = Some(details);
        self
    }

    pub fn invalid_json(message: impl Into<String>) -> ApiError {
        ApiError::new(400, "invalid_json", message)
    }

    pub fn invalid_parameter(field: &str, message: impl Into<String>) -> ApiError {
        ApiError::new(400, "invalid_parameter", message).with_details(json!({ "field": field }))
    }

    pub fn unauthorized(message: impl Into<String>) -> ApiError {
        ApiError::new(401, "unauthorized", message)
    }

    pub fn forbidden(message: impl Into<String>) -> ApiError {
        ApiError::new(403, "forbidden", message)
    }

    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(404, "not_found", message)
    }

    pub fn method_not_allowed(allowed: &[&str]) -> ApiError {
        let allow = allowed.join(", ");
        let mut e = ApiError::new(
            405,
            "method_not_allowed",
            format!("this route accepts {allow}"),
        );
        e.headers.push(("Allow", allow));
        e
    }

    pub fn payload_too_large(limit: usize) -> ApiError {
        ApiError::new(
            413,
            "payload_too_large",
            format!("request body exceeds {limit} bytes"),
        )
        .with_details(json!({ "limit": limit }))
    }

    pub fn unsupported_media_type() -> ApiError {
        ApiError::new(
            415,
            "unsupported_media_type",
            "request body must be sent as Content-Type: application/json",
        )
    }

    pub fn validation_failed(field: &str, message: impl Into<String>) -> ApiError {
        ApiError::new(422, "validation_failed", message).with_details(json!({ "field": field }))
    }

    pub fn unknown_field(field: &str) -> ApiError {
        ApiError::new(
            422,
            "unknown_field",
            format!("unknown field `{field}`: it is not part of this request"),
        )
        .with_details(json!({ "field": field }))
    }

    pub fn version_mismatch(message: impl Into<String>) -> ApiError {
        ApiError::new(412, "version_mismatch", message)
    }

    pub fn cart_not_active(message: impl Into<String>) -> ApiError {
        ApiError::new(409, "cart_not_active", message)
    }

    pub fn unknown_sku(sku: &str) -> ApiError {
        ApiError::new(
            422,
            "unknown_sku",
            format!("`{sku}` is not a SKU sold in this cart's market"),
        )
        .with_details(json!({ "sku": sku, "field": "sku" }))
    }

    pub fn insufficient_stock(sku: &str, available: i64) -> ApiError {
        ApiError::new(
            422,
            "insufficient_stock",
            format!("only {available} of {sku} available"),
        )
        .with_details(json!({ "sku": sku, "available": available }))
    }

    pub fn discount_not_applicable(reason: &str, message: impl Into<String>) -> ApiError {
        ApiError::new(422, "discount_not_applicable", message)
            .with_details(json!({ "reason": reason, "field": "code" }))
    }

    pub fn rate_limited(retry_after_seconds: u32) -> ApiError {
        let mut e = ApiError::new(
            429,
            "rate_limited",
            "too many requests from this client; retry later",
        );
        e.headers
            .push(("Retry-After", retry_after_seconds.to_string()));
        e
    }

    pub fn idempotency_key_required(message: impl Into<String>) -> ApiError {
        ApiError::new(428, "idempotency_key_required", message)
    }

    pub fn idempotency_key_reused(message: impl Into<String>) -> ApiError {
        ApiError::new(422, "idempotency_key_reused", message)
    }

    pub fn idempotency_in_progress() -> ApiError {
        let mut e = ApiError::new(
            409,
            "idempotency_in_progress",
            "a request with this Idempotency-Key is still running; retry shortly",
        );
        e.headers.push(("Retry-After", "1".into()));
        e
    }

    pub fn invalid_signature(message: impl Into<String>) -> ApiError {
        ApiError::new(400, "invalid_signature", message)
    }

    pub fn illegal_transition(message: impl Into<String>) -> ApiError {
        ApiError::new(409, "illegal_transition", message)
    }

    /// A bug or an unexpected state. The cause goes to the log, never to the client.
    pub fn internal() -> ApiError {
        ApiError::new(
            500,
            "internal",
            "an internal error occurred; it has been logged",
        )
    }

    /// A dependency (D1, KV, queue) failed or timed out; retrying later may succeed.
    pub fn unavailable() -> ApiError {
        let mut e = ApiError::new(
            503,
            "unavailable",
            "a storage dependency is unavailable; retry shortly",
        );
        e.headers.push(("Retry-After", "1".into()));
        e
    }

    /// The deployment is misconfigured (the production guard): nothing is served until it is
    /// fixed; `GET /health` names the problems.
    pub fn misconfigured() -> ApiError {
        ApiError::new(
            503,
            "unavailable",
            "this deployment is misconfigured and serves nothing until it is fixed; GET /health names the problems",
        )
    }

    /// The payment provider failed or did not answer in time: nothing was kept (no order, no
    /// reservation), so the same request, under the same Idempotency-Key, may succeed later.
    pub fn payment_provider_unavailable() -> ApiError {
        let mut e = ApiError::new(
            503,
            "unavailable",
            "the payment provider is unavailable; nothing was placed, retry with the same Idempotency-Key",
        );
        e.headers.push(("Retry-After", "5".into()));
        e
    }

    /// The JSON body of the envelope.
    pub fn body(&self) -> Value {
        let mut error = json!({ "code": self.code, "message": self.message });
        if let Some(details) = &self.details {
            error["details"] = details.clone();
        }
        json!({ "error": error })
    }
}

/// A field that is unknown is 422 `unknown_field`; one that is invalid, 422 `validation_failed`,
/// both naming it in `details.field`.
/// A bad `limit` or `cursor`: 400 `invalid_parameter` naming it.
impl From<crate::domain::pagination::PageParamError> for ApiError {
    fn from(e: crate::domain::pagination::PageParamError) -> ApiError {
        ApiError::invalid_parameter(e.field, e.message)
    }
}

impl From<crate::domain::fields::FieldError> for ApiError {
    fn from(e: crate::domain::fields::FieldError) -> ApiError {
        if e.unknown {
            ApiError::unknown_field(&e.field)
        } else {
            ApiError::validation_failed(&e.field, e.message)
        }
    }
}

/// A storage failure: 503 (retry) when D1 or KV failed or a write raced another one, 500 when
/// the data cannot be read. The cause goes to the log with the request id.
impl From<crate::app::ports::StoreError> for ApiError {
    fn from(e: crate::app::ports::StoreError) -> ApiError {
        use crate::app::ports::StoreError;
        match &e {
            StoreError::Corrupt(_) => ApiError::internal(),
            // A refusal the use case did not expect: a write raced another; nothing was written.
            StoreError::Unavailable(_) | StoreError::Refused(_) => ApiError::unavailable(),
        }
        .caused_by(e)
    }
}

#[cfg(test)]
mod tests;
