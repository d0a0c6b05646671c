//! The one error envelope of API.md: `{"error": {"code", "message", "details"?}}`.
//!
//! Every failure a client can see is an [`ApiError`]; its status and code are chosen here and
//! nowhere else, so the contract's table of codes lives in one place.

use serde_json::{json, Value};

#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub status: u16,
    pub code: &'static str,
    pub message: String,
    pub details: Option<Value>,
    /// Extra response headers the error needs (`Allow`, `Retry-After`).
    pub headers: Vec<(&'static str, String)>,
    /// Why it happened, for the log only (never in the body): a 5xx's cause.
    pub cause: Option<String>,
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
        self.cause = Some(cause.to_string());
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

/// A use case's failure: its refusal as that refusal maps, a storage failure as above, a bug
/// as 500 with its cause logged.
impl<R: Into<ApiError>> From<crate::app::Failure<R>> for ApiError {
    fn from(f: crate::app::Failure<R>) -> ApiError {
        match f {
            crate::app::Failure::Refused(r) => r.into(),
            crate::app::Failure::Store(e) => e.into(),
            crate::app::Failure::Bug(cause) => ApiError::internal().caused_by(cause),
        }
    }
}

fn version_mismatch(current: Option<i64>) -> ApiError {
    let e = ApiError::version_mismatch(
        "the cart changed since the version in If-Match; fetch it and retry",
    );
    match current {
        Some(v) => e.with_details(json!({ "current_version": v })),
        None => e,
    }
}

impl From<crate::domain::cart::CartRefusal> for ApiError {
    fn from(r: crate::domain::cart::CartRefusal) -> ApiError {
        use crate::domain::cart::{CartRefusal::*, MAX_CODES, MAX_LINES, MAX_QUANTITY};
        match r {
            NotFound => ApiError::not_found("no such cart"),
            NotActive { status } => {
                ApiError::cart_not_active(format!("this cart is {status}; it can no longer change"))
            }
            MarketGone => {
                ApiError::cart_not_active("this cart's market is no longer sold on this channel")
            }
            VersionMismatch { current } => version_mismatch(current),
            UnknownSku { sku } => ApiError::unknown_sku(&sku),
            LineOverMax { sku, in_cart } => ApiError::validation_failed(
                "quantity",
                format!(
                    "a line holds at most {MAX_QUANTITY}; this cart already has {in_cart} of {sku}"
                ),
            ),
            TooManyLines => ApiError::validation_failed(
                "sku",
                format!("a cart holds at most {MAX_LINES} lines"),
            ),
            InsufficientStock { sku, available } => ApiError::insufficient_stock(&sku, available),
            NoSuchLine => ApiError::not_found("this cart has no such line"),
            NoSuchCode => ApiError::not_found("this cart holds no such code"),
            TooManyCodes => ApiError::validation_failed(
                "code",
                format!("a cart holds at most {MAX_CODES} codes"),
            ),
            OtherCustomersCart => ApiError::forbidden("this cart belongs to another customer"),
            DiscountNotApplicable { reason, message } => {
                ApiError::discount_not_applicable(&reason, message)
            }
            Invalid(e) => e.into(),
            RateLimited => ApiError::rate_limited(60),
            Busy => ApiError::unavailable()
                .caused_by("a cart write kept losing races with concurrent writes"),
        }
    }
}

impl From<crate::domain::checkout::CheckoutRefusal> for ApiError {
    fn from(r: crate::domain::checkout::CheckoutRefusal) -> ApiError {
        use crate::domain::checkout::CheckoutRefusal::*;
        match r {
            NotFound => ApiError::not_found("no such cart"),
            NotActive { status } => ApiError::cart_not_active(format!(
                "this cart is {status}; it cannot be checked out"
            )),
            MarketGone => {
                ApiError::cart_not_active("this cart's market is no longer sold on this channel")
            }
            Incomplete { field, message } => ApiError::validation_failed(field, message),
            InsufficientStock { sku, available } => ApiError::insufficient_stock(&sku, available),
            UnknownSku { sku } => ApiError::unknown_sku(&sku),
            DiscountNotApplicable { reason, message } => {
                ApiError::discount_not_applicable(&reason, message)
            }
            CartChanged { cause } => ApiError::cart_not_active(
                "the cart changed while checking out; fetch it and try again",
            )
            .caused_by(cause),
            PaymentUnavailable { cause } => ApiError::unavailable().caused_by(cause),
            RateLimited => ApiError::rate_limited(60),
        }
    }
}

impl From<crate::app::orders::OrderRefusal> for ApiError {
    fn from(r: crate::app::orders::OrderRefusal) -> ApiError {
        use crate::app::orders::OrderRefusal::*;
        match r {
            NotFound => ApiError::not_found("no such order"),
            NoOrder { id } => ApiError::not_found(format!("no order {id}")),
            Illegal { from, action } => ApiError::illegal_transition(format!(
                "an order that is {} cannot be {action}",
                from.as_str()
            ))
            .with_details(json!({ "status": from.as_str(), "action": action })),
            BadLine { index, reason } => {
                ApiError::validation_failed(&format!("lines[{index}]"), reason)
            }
            Page(e) => e.into(),
            Busy => ApiError::unavailable()
                .caused_by("an order action kept losing races with concurrent changes"),
        }
    }
}

impl From<crate::app::idempotency::IdempotencyRefusal> for ApiError {
    fn from(r: crate::app::idempotency::IdempotencyRefusal) -> ApiError {
        use crate::app::idempotency::IdempotencyRefusal::*;
        match r {
            KeyReused => ApiError::idempotency_key_reused(
                "this Idempotency-Key was used with another request body",
            ),
            InProgress => ApiError::idempotency_in_progress(),
        }
    }
}

/// Forwarding's refusals: bad destinations are 422 naming the field, bad list parameters 400,
/// unknown ids 404; a failed replay is 503 and a broken invariant 500, their causes logged.
impl From<crate::app::forwarding::ForwardingRefusal> for ApiError {
    fn from(e: crate::app::forwarding::ForwardingRefusal) -> ApiError {
        use crate::app::forwarding::ForwardingRefusal as R;
        let message = e.to_string();
        match e {
            R::BadUrl(_) => ApiError::validation_failed("url", message),
            R::NoEventTypes => ApiError::validation_failed("events", message),
            R::UnknownEventType { index } => {
                ApiError::validation_failed(&format!("events[{index}]"), message)
            }
            R::DestinationNotFound(_) | R::DeliveryNotFound(_) => ApiError::not_found(message),
            R::BadStatusFilter => ApiError::invalid_parameter("status", message),
            R::BadCursor(e) => ApiError::from(e),
            R::BadFeedCursor => ApiError::invalid_parameter("after", message),
            R::ReplayFailed { .. } => ApiError::unavailable().caused_by(message),
            R::DeliveryVanished(_) | R::MalformedSecret => ApiError::internal().caused_by(message),
            R::Store(e) => ApiError::from(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_envelope_has_code_and_message_and_details_only_when_given() {
        assert_eq!(
            ApiError::not_found("no such product").body(),
            json!({"error": {"code": "not_found", "message": "no such product"}})
        );
        assert_eq!(
            ApiError::unknown_field("unit_price").body()["error"]["details"],
            json!({"field": "unit_price"})
        );
    }

    #[test]
    fn method_not_allowed_lists_the_allowed_methods_in_allow() {
        let e = ApiError::method_not_allowed(&["GET", "HEAD"]);
        assert_eq!(e.status, 405);
        assert_eq!(e.headers, vec![("Allow", "GET, HEAD".to_string())]);
    }

    #[test]
    fn a_storage_failure_is_503_or_500_and_keeps_its_cause_out_of_the_body() {
        use crate::app::ports::StoreError;
        let e = ApiError::from(StoreError::Unavailable("D1 batch: network lost".into()));
        assert_eq!((e.status, e.code), (503, "unavailable"));
        assert!(e
            .cause
            .as_deref()
            .is_some_and(|c| c.contains("network lost")));
        assert!(!e.body().to_string().contains("network"));
        assert_eq!(
            ApiError::from(StoreError::Corrupt("row".into())).status,
            500
        );
        assert_eq!(
            ApiError::from(StoreError::Refused("guard".into())).status,
            503
        );
    }

    #[test]
    fn an_internal_error_says_nothing_about_its_cause() {
        let body = ApiError::internal().body().to_string();
        assert!(!body.contains("D1") && !body.contains("panic") && !body.contains("sql"));
    }
}
