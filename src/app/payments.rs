//! Payment provider events (Stripe's webhook, its signature already verified): each event id
//! is handled once; `payment_intent.succeeded` confirms its order whatever the client did,
//! only when the order is a Stripe order holding that very PaymentIntent and the intent's
//! metadata, amount and currency match it. Anything else confirms nothing, is logged with
//! why, and is answered 200 like any handled event (Stripe would otherwise retry for days).

use crate::app::ports::{Clock, Ids, Log, OrderStore, Outbox, Receipt, StoreError};
use crate::domain::order::{apply, Action, Order, PaymentMethod};
use serde_json::Value;

/// What a provider event did (the answer is 200 whatever it did: the provider must not retry).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Handled {
    /// Seen before: nothing done.
    Duplicate,
    /// A type not acted on, an unknown order, a mismatch or a payment already recorded.
    Recorded,
    /// The order is now confirmed.
    Confirmed,
}

/// Handles one verified Stripe event (`id`, `type`, `data.object`).
///
/// # Errors
/// Storage failures, so the provider retries later.
pub async fn stripe_event<P: Clock + Ids + Log + Outbox>(
    store: &impl OrderStore,
    platform: &P,
    event_id: &str,
    kind: &str,
    intent: &Value,
) -> Result<Handled, StoreError> {
    let receipt = Receipt {
        event_id: event_id.into(),
        event_type: kind.into(),
        received_at: platform.now(),
    };
    let record = |why: Option<String>| async {
        if let Some(why) = why {
            platform.error(&why);
        }
        // Best effort: a lost receipt only means a redelivery is examined again.
        let _ = store.record(&receipt).await;
        Ok(Handled::Recorded)
    };
    if store.received(event_id).await? {
        return Ok(Handled::Duplicate);
    }
    if kind != "payment_intent.succeeded" {
        return record(None).await;
    }
    let order_id = intent["metadata"]["order_id"].as_str().unwrap_or("");
    let Some(order) = store.order(order_id).await? else {
        return record(Some(format!(
            "Stripe event {event_id} names no known order"
        )))
        .await;
    };
    if let Some(mismatch) = mismatch(&order, intent) {
        return record(Some(format!(
            "Stripe event {event_id} does not match order {order_id} ({mismatch}); not confirming"
        )))
        .await;
    }
    match apply(&order.state(), &Action::MarkPaid) {
        Ok(Some(t)) => {
            let change = order.change(&t, &receipt.received_at, &platform.id("evt"), None);
            match store.apply(&change, Some(&receipt)).await {
                Ok(()) => {
                    platform.publish();
                    Ok(Handled::Confirmed)
                }
                // Handled concurrently (a redelivery, or the order changed): nothing written.
                Err(StoreError::Refused(_)) => Ok(Handled::Recorded),
                Err(e) => Err(e),
            }
        }
        Ok(None) => record(None).await,
        Err(_) => {
            record(Some(format!(
                "payment for order {order_id} arrived in status {}: refund it",
                order.status.as_str()
            )))
            .await
        }
    }
}

/// Why `intent` may not pay `order`, if it may not: the order must be a Stripe order that holds
/// this PaymentIntent (an intent of another order, or one that no order holds, never confirms
/// it), for its exact amount and currency.
fn mismatch(order: &Order, intent: &Value) -> Option<&'static str> {
    if order.payment_method != PaymentMethod::Stripe {
        return Some("the order is not paid with Stripe");
    }
    let named = intent["id"].as_str();
    if named.is_none() || named != order.payment_reference.as_deref() {
        return Some("the order holds another PaymentIntent");
    }
    if intent["amount"].as_i64() != Some(order.total_minor) {
        return Some("amount");
    }
    let currency = intent["currency"].as_str().map(str::to_ascii_uppercase);
    if currency.as_deref() != Some(order.currency.as_str()) {
        return Some("currency");
    }
    None
}
