//! Each use case's typed refusal becomes the envelope here, through one `From` each.

use super::ApiError;
use serde_json::json;

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
            NotActive { status } => ApiError::cart_not_active(format!(
                "this cart is {}; it can no longer change",
                status.as_str()
            )),
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
                "this cart is {}; it cannot be checked out",
                status.as_str()
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
            PaymentUnavailable { cause } => {
                ApiError::payment_provider_unavailable().caused_by(cause)
            }
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
            ReturnLine { index, reason } => {
                ApiError::validation_failed("lines", format!("lines[{index}]: {reason}"))
                    .with_details(json!({ "field": "lines", "index": index }))
            }
            BadAmount { reason } => ApiError::validation_failed("amount", reason),
            EditIllegal { from, why } => ApiError::illegal_transition(why)
                .with_details(json!({ "status": from.as_str(), "action": "edit" })),
            BadChange { index, reason } => {
                ApiError::validation_failed(&format!("changes[{index}]"), reason)
            }
            BadMove { index, reason } => {
                ApiError::validation_failed(&format!("moves[{index}]"), reason)
            }
            InsufficientStock { sku, available } => ApiError::insufficient_stock(&sku, available),
            BadField { field, reason } => ApiError::validation_failed(field, reason),
            NoReturn { id } => ApiError::not_found(format!("no return {id}")),
            NoRefund { id } => ApiError::not_found(format!("no refund {id}")),
            ReturnIllegal { from, action } => ApiError::illegal_transition(format!(
                "a return that is {} cannot be {action}",
                from.as_str()
            ))
            .with_details(json!({ "status": from.as_str(), "action": action })),
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

impl From<crate::domain::import::ImportRefusal> for ApiError {
    fn from(r: crate::domain::import::ImportRefusal) -> ApiError {
        use crate::domain::import::ImportRefusal;
        match r {
            ImportRefusal::Field(e) => e.into(),
            ImportRefusal::UnknownSku { field, sku } => ApiError::new(
                422,
                "unknown_sku",
                format!("`{sku}` is not a SKU of the catalog"),
            )
            .with_details(json!({ "sku": sku, "field": field })),
            // The use case reports it as a bug (500, its cause logged); never shown.
            ImportRefusal::Misconfigured { cause } => ApiError::internal().caused_by(cause),
        }
    }
}

impl From<crate::domain::draft::DraftRefusal> for ApiError {
    fn from(r: crate::domain::draft::DraftRefusal) -> ApiError {
        use crate::domain::draft::DraftRefusal;
        match r {
            DraftRefusal::Field(e) => e.into(),
            DraftRefusal::UnknownSku { field, sku } => ApiError::new(
                422,
                "unknown_sku",
                format!("`{sku}` is not sold in this draft's market"),
            )
            .with_details(json!({ "sku": sku, "field": field })),
            DraftRefusal::NotFound => ApiError::not_found("no such draft order"),
            DraftRefusal::Completed => {
                ApiError::cart_not_active("this draft order is completed; it cannot change")
                    .with_details(json!({ "status": "completed" }))
            }
            DraftRefusal::MarketGone => ApiError::cart_not_active(
                "this draft order's market is no longer sold on its channel",
            ),
            DraftRefusal::VersionMismatch { current } => ApiError::version_mismatch(
                "the draft order changed since the version in If-Match; fetch it and retry",
            )
            .with_details(json!({ "current_version": current })),
        }
    }
}
