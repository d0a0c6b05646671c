//! Payment provider events (Stripe's webhook, its signature already verified): each event id
//! is handled once; `payment_intent.succeeded` confirms its order whatever the client did,
//! when the intent names the order and its amount, currency and id match it.

use crate::app::ports::{Clock, Ids, Log, OrderStore, Outbox, Receipt, StoreError};
use crate::domain::order::{apply, Action};
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
    let matches = intent["amount"].as_i64() == Some(order.total_minor)
        && intent["currency"]
            .as_str()
            .map(str::to_ascii_uppercase)
            .as_deref()
            == Some(order.currency.as_str())
        && order
            .payment_reference
            .as_deref()
            .is_none_or(|r| intent["id"].as_str() == Some(r));
    if !matches {
        return record(Some(format!(
            "Stripe event {event_id} does not match order {order_id} (amount, currency or intent); not confirming"
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
