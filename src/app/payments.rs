//! Payment provider events (Stripe's webhook, its signature already verified): each event id
//! is handled once; `payment_intent.succeeded` confirms its order whatever the client did,
//! only when the order is a Stripe order holding that very PaymentIntent and the intent's
//! metadata, amount and currency match it. Anything else confirms nothing, is logged with
//! why, and is answered 200 like any handled event (Stripe would otherwise retry for days).

use crate::app::after_sale;
use crate::app::ports::{
    Clock, Ids, Log, OrderOf, OrderStore, Outbox, Receipt, RefundOutcome, StoreError,
};
use crate::app::Failure;
use crate::domain::order::{apply, Action, Order, OrderStatus, PaymentMethod};
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
    if kind.starts_with("refund.") || kind == "charge.refunded" {
        // A charge lists its refunds; a refund event is the refund itself.
        let refunds: Vec<&Value> = match kind {
            "charge.refunded" => intent["refunds"]["data"]
                .as_array()
                .map(|a| a.iter().collect())
                .unwrap_or_default(),
            _ => vec![intent],
        };
        for refund in refunds {
            refund_event(store, platform, event_id, refund).await?;
        }
        return record(None).await;
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
    if let Some(asked) = order
        .balance_payment
        .as_ref()
        .filter(|b| intent["id"].as_str() == Some(b.intent_id.as_str()))
    {
        return balance_paid(store, platform, &order, asked.amount, intent, &receipt).await;
    }
    if let Some(mismatch) = mismatch(&order, intent) {
        return record(Some(format!(
            "Stripe event {event_id} does not match order {order_id} ({mismatch}); not confirming"
        )))
        .await;
    }
    // The intent pays the order's placed total, once: an order already confirmed (and maybe
    // edited since, with a balance to collect another way) takes nothing from it.
    if order.status != OrderStatus::PendingPayment {
        return record(None).await;
    }
    match apply(&order.state(), &Action::MarkPaid(None)) {
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

/// Settles the refund a Stripe Refund object names (`metadata.refund_id`), if it is ours: the
/// order must hold the PaymentIntent it refunds, for the amount recorded. Anything else is
/// logged and left alone.
async fn refund_event<P: Clock + Ids + Log + Outbox>(
    store: &impl OrderStore,
    platform: &P,
    event_id: &str,
    object: &Value,
) -> Result<(), StoreError> {
    let Some(refund_id) = object["metadata"]["refund_id"].as_str() else {
        return Ok(());
    };
    let Some(order) = store.order_of(OrderOf::Refund(refund_id)).await? else {
        platform.warn(&format!("Stripe event {event_id} names no known refund"));
        return Ok(());
    };
    let Some(refund) = order.refunds.iter().find(|r| r.id == refund_id) else {
        return Ok(());
    };
    let reference = object["id"].as_str().unwrap_or("");
    let intent = object["payment_intent"].as_str();
    let same_refund = refund
        .provider_reference
        .as_deref()
        .is_none_or(|r| r == reference);
    if order.payment_reference.as_deref() != intent
        || object["amount"].as_i64() != Some(refund.amount)
        || !same_refund
        || reference.is_empty()
    {
        platform.error(&format!(
            "Stripe event {event_id} does not match refund {refund_id} of order {}; not settling",
            order.id
        ));
        return Ok(());
    }
    let outcome = match object["status"].as_str() {
        Some("succeeded") => RefundOutcome::Succeeded {
            reference: reference.into(),
        },
        Some("failed" | "canceled") => RefundOutcome::Failed {
            reference: Some(reference.into()),
            reason: object["failure_reason"]
                .as_str()
                .unwrap_or("refused by Stripe")
                .to_string(),
        },
        _ => RefundOutcome::Pending {
            reference: reference.into(),
        },
    };
    match after_sale::settle(store, platform, refund_id, outcome).await {
        Ok(_) => Ok(()),
        Err(Failure::Store(e)) => Err(e),
        Err(e) => {
            platform.warn(&format!(
                "Stripe event {event_id}: refund {refund_id} not settled ({e:?})"
            ));
            Ok(())
        }
    }
}

/// The payment asked for an edit's balance succeeded: it is recorded as paid (for its amount,
/// in the order's currency, never beyond the balance), in one batch with the event's receipt.
async fn balance_paid<P: Clock + Ids + Log + Outbox>(
    store: &impl OrderStore,
    platform: &P,
    order: &Order,
    amount: i64,
    intent: &Value,
    receipt: &Receipt,
) -> Result<Handled, StoreError> {
    let currency = intent["currency"].as_str().map(str::to_ascii_uppercase);
    if intent["amount"].as_i64() != Some(amount) || currency.as_deref() != Some(&order.currency) {
        platform.error(&format!(
            "Stripe event {} does not match the balance asked of order {}; not recording it",
            receipt.event_id, order.id
        ));
        let _ = store.record(receipt).await;
        return Ok(Handled::Recorded);
    }
    // The order may change meanwhile (a fulfilment): decide again on it as it is then. Lost
    // races to the end answer an error, so that Stripe sends the event again.
    let mut order = order.clone();
    for _ in 0..3 {
        let Ok(Some(t)) = apply(&order.state(), &Action::MarkPaid(Some(amount))) else {
            break;
        };
        let money = crate::domain::money::Currency::from_code(&order.currency)
            .and_then(|c| crate::domain::money::Money::from_minor(amount, c).ok());
        let detail = serde_json::json!({ "amount": money, "provider_reference": intent["id"] });
        let mut change = order.change(&t, &receipt.received_at, &platform.id("evt"), Some(detail));
        change.after.balance_payment = None;
        match store.apply(&change, Some(receipt)).await {
            Ok(()) => {
                platform.publish();
                return Ok(Handled::Confirmed);
            }
            Err(StoreError::Refused(_)) => match store.order(&order.id).await? {
                Some(now)
                    if now
                        .balance_payment
                        .as_ref()
                        .is_some_and(|b| intent["id"].as_str() == Some(b.intent_id.as_str())) =>
                {
                    order = now
                }
                // Recorded meanwhile (a redelivery of the event), or no longer asked.
                _ if store.received(&receipt.event_id).await? => return Ok(Handled::Duplicate),
                _ => {
                    platform.error(&format!(
                        "order {}: a payment of {amount} arrived for a balance no longer asked: refund it",
                        order.id
                    ));
                    let _ = store.record(receipt).await;
                    return Ok(Handled::Recorded);
                }
            },
            Err(e) => return Err(e),
        }
    }
    match apply(&order.state(), &Action::MarkPaid(Some(amount))) {
        Ok(Some(_)) => Err(StoreError::Unavailable(format!(
            "order {} kept changing while its balance payment was recorded",
            order.id
        ))),
        _ => {
            platform.error(&format!(
                "order {}: a payment of {amount} arrived for a balance no longer owed: refund it",
                order.id
            ));
            let _ = store.record(receipt).await;
            Ok(Handled::Recorded)
        }
    }
}
