//! Forwarding events to back-office systems: destinations (an endpoint, the event types it
//! takes, its signing secret), the delivery log with replay, the pull feed of events, and what
//! one delivery attempt does to a delivery (delivered, retried later, or dead).
//!
//! The rules live here; the D1 adapter (`store::forwarding`) only reads and writes, the HTTP
//! handlers only parse and render, and the queue consumer (`delivery`) only moves messages and
//! sends the signed POST. One exception, for the D1 round trip it saves: which destinations an
//! event fans out to is decided inside the store's single `INSERT … SELECT`, so
//! [`ForwardingStore::create_deliveries`] states the rule ([`Destination::receives`]) that its
//! implementations MUST follow.

use crate::app::ports::{Clock, StoreError};
use crate::domain::pagination::{
    encode_time_cursor, page_of, time_cursor_position, Page, PageRequest,
};
use crate::domain::webhook::{new_secret, signature_header};

mod model;
pub use model::*;

// ---------------------------------------------------------------------------------------------
// Ports
// ---------------------------------------------------------------------------------------------

/// Destinations, deliveries and the outbox, as the forwarding use cases need them. Each method
/// is one round trip to the database; writes are atomic.
#[allow(async_fn_in_trait)]
pub trait ForwardingStore {
    /// The destination with this id, or `None`.
    ///
    /// # Errors
    /// [`StoreError`] when the store fails or holds an unreadable row.
    async fn destination(&self, id: &str) -> Result<Option<Destination>, StoreError>;

    /// The first [`DESTINATIONS_LISTED`] destinations, ordered by id.
    ///
    /// # Errors
    /// [`StoreError`] when the store fails or holds an unreadable row.
    async fn destinations(&self) -> Result<Vec<Destination>, StoreError>;

    /// Creates the destination with `new_secret` as its signing secret, or, when it exists,
    /// updates its url, events, enabled and `updated_at` and MUST leave its `created_at` and
    /// secrets alone (`new_secret` is then ignored).
    ///
    /// # Errors
    /// [`StoreError`] when nothing was written.
    async fn save_destination(
        &self,
        destination: &Destination,
        new_secret: Option<&str>,
    ) -> Result<(), StoreError>;

    /// Removes the destination (nothing when it does not exist).
    ///
    /// # Errors
    /// [`StoreError`] when nothing was written.
    async fn delete_destination(&self, id: &str) -> Result<(), StoreError>;

    /// Makes `secret` the destination's signing secret; the current one MUST become the
    /// previous secret, honoured until `previous_until`; `updated_at` becomes `now`.
    ///
    /// # Errors
    /// [`StoreError`] when nothing was written.
    async fn rotate_secret(
        &self,
        id: &str,
        secret: &str,
        previous_until: &str,
        now: &str,
    ) -> Result<(), StoreError>;

    /// At most `query.limit` deliveries matching the filter, created strictly before
    /// (`before_at`, `before_id`), newest first (by `created_at`, then id, descending).
    ///
    /// # Errors
    /// [`StoreError`] when the store fails or holds an unreadable row.
    async fn deliveries(&self, query: &DeliveryQuery) -> Result<Vec<Delivery>, StoreError>;

    /// The delivery with this id, or `None`.
    ///
    /// # Errors
    /// [`StoreError`] when the store fails or holds an unreadable row.
    async fn delivery(&self, id: &str) -> Result<Option<Delivery>, StoreError>;

    /// Puts the delivery back to pending with no attempts (it keeps its id, so the receiver
    /// sees the same `webhook-id`). Returns whether a delivery was changed.
    ///
    /// # Errors
    /// [`StoreError`] when nothing was written.
    async fn reset_delivery(&self, id: &str, now: &str) -> Result<bool, StoreError>;

    /// At most `limit` outbox events after `after`, in commit order.
    ///
    /// # Errors
    /// [`StoreError`] when the store fails.
    async fn events_after(
        &self,
        after: FeedPosition,
        limit: usize,
    ) -> Result<Vec<FeedEvent>, StoreError>;

    /// Creates one pending delivery (no attempts, created at `now`) of the event for every
    /// destination that [`Destination::receives`] its type, and MUST create none for a pair of
    /// event and destination that already has one (the event message may come twice).
    /// Returns the ids of the deliveries created; nothing when the event does not exist.
    ///
    /// # Errors
    /// [`StoreError`] when nothing was written.
    async fn create_deliveries(&self, event_id: &str, now: &str)
        -> Result<Vec<String>, StoreError>;

    /// The delivery with its event's payload and its destination, or `None`.
    ///
    /// # Errors
    /// [`StoreError`] when the store fails or holds an unreadable row.
    async fn attempt_context(
        &self,
        delivery_id: &str,
    ) -> Result<Option<AttemptContext>, StoreError>;

    /// Writes an attempt's result to the delivery (`updated_at` becomes `now`).
    ///
    /// # Errors
    /// [`StoreError`] when nothing was written.
    async fn record_attempt(
        &self,
        delivery_id: &str,
        record: &AttemptRecord,
        now: &str,
    ) -> Result<(), StoreError>;
}

/// The queue that carries delivery attempts to the consumer.
#[allow(async_fn_in_trait)]
pub trait DeliveryQueue {
    /// Queues one attempt per delivery id.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the queue did not take them.
    async fn enqueue(&self, delivery_ids: Vec<String>) -> Result<(), StoreError>;
}

/// The HTTP client that POSTs a webhook.
#[allow(async_fn_in_trait)]
pub trait WebhookClient {
    /// Sends the webhook with its `webhook-*` headers, bounded by a timeout, and returns the
    /// receiver's status code.
    ///
    /// # Errors
    /// A description of the network error or the timeout (it becomes the delivery's
    /// `last_error`).
    async fn post(&self, webhook: &SignedWebhook) -> Result<u16, String>;
}

/// Randomness for signing secrets. Implementations MUST use a cryptographic source.
pub trait SecretSource {
    fn secret_bytes(&self) -> [u8; 24];
}

// ---------------------------------------------------------------------------------------------
// Use cases
// ---------------------------------------------------------------------------------------------

/// Creates or updates a destination. A new one gets a signing secret, shown this once; an
/// update keeps its secret and its `created_at`.
///
/// # Errors
/// [`ForwardingRefusal::Store`] when the store fails.
pub async fn put_destination(
    store: &impl ForwardingStore,
    clock: &impl Clock,
    secrets: &impl SecretSource,
    id: &str,
    spec: DestinationSpec,
) -> Result<SavedDestination, ForwardingRefusal> {
    let existing = store.destination(id).await?;
    let now = clock.now();
    let secret = existing
        .is_none()
        .then(|| new_secret(secrets.secret_bytes()));
    let destination = Destination {
        id: id.to_string(),
        url: spec.url.0,
        events: spec.events.0,
        enabled: spec.enabled,
        created_at: existing
            .as_ref()
            .map_or_else(|| now.clone(), |e| e.created_at.clone()),
        updated_at: now,
    };
    store
        .save_destination(&destination, secret.as_deref())
        .await?;
    Ok(SavedDestination {
        destination,
        created: existing.is_none(),
        secret,
    })
}

/// # Errors
/// [`ForwardingRefusal::DestinationNotFound`], or `Store` when the store fails.
pub async fn get_destination(
    store: &impl ForwardingStore,
    id: &str,
) -> Result<Destination, ForwardingRefusal> {
    store
        .destination(id)
        .await?
        .ok_or_else(|| ForwardingRefusal::DestinationNotFound(id.to_string()))
}

/// # Errors
/// `Store` when the store fails.
pub async fn list_destinations(
    store: &impl ForwardingStore,
) -> Result<Vec<Destination>, ForwardingRefusal> {
    Ok(store.destinations().await?)
}

/// # Errors
/// [`ForwardingRefusal::DestinationNotFound`], or `Store` when the store fails.
pub async fn delete_destination(
    store: &impl ForwardingStore,
    id: &str,
) -> Result<(), ForwardingRefusal> {
    get_destination(store, id).await?;
    Ok(store.delete_destination(id).await?)
}

/// A new secret, shown this once; the previous one still signs, alongside, for
/// [`ROTATION_OVERLAP_MS`], so receivers can switch without losing a delivery.
///
/// # Errors
/// [`ForwardingRefusal::DestinationNotFound`], or `Store` when the store fails.
pub async fn rotate_secret(
    store: &impl ForwardingStore,
    clock: &impl Clock,
    secrets: &impl SecretSource,
    id: &str,
) -> Result<SavedDestination, ForwardingRefusal> {
    let destination = get_destination(store, id).await?;
    let fresh = new_secret(secrets.secret_bytes());
    let now = clock.now();
    let until = rfc3339_millis(clock.now_ms() + ROTATION_OVERLAP_MS);
    store.rotate_secret(id, &fresh, &until, &now).await?;
    Ok(SavedDestination {
        destination: Destination {
            updated_at: now,
            ..destination
        },
        secret: Some(fresh),
        created: false,
    })
}

/// Newest first, with the cursor convention.
///
/// # Errors
/// [`ForwardingRefusal::BadCursor`], or `Store` when the store fails.
pub async fn list_deliveries(
    store: &impl ForwardingStore,
    filter: DeliveryFilter,
    page: &PageRequest,
) -> Result<Page<Delivery>, ForwardingRefusal> {
    let (before_at, before_id) =
        time_cursor_position(page).map_err(ForwardingRefusal::BadCursor)?;
    let rows = store
        .deliveries(&DeliveryQuery {
            filter,
            before_at,
            before_id,
            // One more than a page: it only says whether there is a next page.
            limit: page.limit + 1,
        })
        .await?;
    Ok(page_of(rows, page.limit, |d| {
        encode_time_cursor(&d.created_at, &d.id)
    }))
}

/// # Errors
/// [`ForwardingRefusal::DeliveryNotFound`], or `Store` when the store fails.
pub async fn get_delivery(
    store: &impl ForwardingStore,
    id: &str,
) -> Result<Delivery, ForwardingRefusal> {
    store
        .delivery(id)
        .await?
        .ok_or_else(|| ForwardingRefusal::DeliveryNotFound(id.to_string()))
}

/// Sets the same delivery back to pending (same `webhook-id`) and queues an attempt. Returns
/// the delivery as it now stands.
///
/// # Errors
/// [`ForwardingRefusal::DeliveryNotFound`]; [`ForwardingRefusal::ReplayFailed`] when the reset
/// or the queue failed; `Store` when a read fails.
pub async fn replay(
    store: &impl ForwardingStore,
    queue: &impl DeliveryQueue,
    clock: &impl Clock,
    id: &str,
) -> Result<Delivery, ForwardingRefusal> {
    get_delivery(store, id).await?;
    let failed = |e: StoreError| ForwardingRefusal::ReplayFailed {
        id: id.to_string(),
        cause: e.to_string(),
    };
    if store
        .reset_delivery(id, &clock.now())
        .await
        .map_err(failed)?
    {
        queue.enqueue(vec![id.to_string()]).await.map_err(failed)?;
    }
    store
        .delivery(id)
        .await?
        .ok_or_else(|| ForwardingRefusal::DeliveryVanished(id.to_string()))
}

/// The pull feed: events in commit order after `after`.
///
/// # Errors
/// `Store` when the store fails.
pub async fn events(
    store: &impl ForwardingStore,
    after: FeedPosition,
    limit: usize,
) -> Result<FeedPage, ForwardingRefusal> {
    let rows = store.events_after(after, limit).await?;
    let last = rows.last().map_or(after, |r| FeedPosition(r.seq));
    Ok(FeedPage {
        // An unreadable payload is skipped, not fatal: the cursor still moves past it.
        data: rows
            .iter()
            .filter_map(|r| serde_json::from_str(&r.payload).ok())
            .collect(),
        next_cursor: last.cursor(),
    })
}

/// Creates the event's deliveries (once per destination) and queues an attempt for each new
/// one. A redelivered event message creates nothing new.
///
/// # Errors
/// `Store` when the store or the queue fails (the message is retried).
pub async fn fan_out(
    store: &impl ForwardingStore,
    queue: &impl DeliveryQueue,
    clock: &impl Clock,
    event_id: &str,
) -> Result<(), ForwardingRefusal> {
    let created = store.create_deliveries(event_id, &clock.now()).await?;
    if !created.is_empty() {
        queue.enqueue(created).await?;
    }
    Ok(())
}

/// One attempt of a pending delivery: signs the event afresh, POSTs it and records the
/// [`outcome`]. A delivery that is no longer pending is left alone (a duplicate message); one
/// whose destination is disabled or gone, or whose event is gone, goes dead unsent.
///
/// # Errors
/// [`ForwardingRefusal::MalformedSecret`], or `Store` when the store fails (the message is
/// retried).
pub async fn attempt_delivery(
    store: &impl ForwardingStore,
    client: &impl WebhookClient,
    clock: &impl Clock,
    policy: RetryPolicy,
    delivery_id: &str,
) -> Result<Settle, ForwardingRefusal> {
    let Some(delivery) = store.attempt_context(delivery_id).await? else {
        return Ok(Settle::Ack);
    };
    if delivery.status != DeliveryStatus::Pending {
        return Ok(Settle::Ack); // delivered or dead meanwhile: a duplicate message
    }
    let (payload, target) = match (delivery.payload, delivery.target) {
        (Some(payload), Some(target)) if target.enabled => (payload, target),
        (payload, target) => {
            let why = if payload.is_some() && target.is_some() {
                "the destination is disabled"
            } else {
                "the destination or the event no longer exists"
            };
            let record = AttemptRecord {
                status: DeliveryStatus::Dead,
                attempts: delivery.attempts,
                status_code: None,
                error: Some(why.to_string()),
            };
            store
                .record_attempt(delivery_id, &record, &clock.now())
                .await?;
            return Ok(Settle::Ack);
        }
    };
    let now = clock.now();
    let timestamp = (clock.now_ms() / 1000.0) as i64;
    let signature = signature_header(
        &target.signing_secrets(&now),
        &delivery.event_id,
        timestamp,
        &payload,
    )
    .ok_or(ForwardingRefusal::MalformedSecret)?;
    let webhook = SignedWebhook {
        url: target.url,
        id: delivery.event_id,
        timestamp,
        signature,
        body: payload,
    };
    let answer = client.post(&webhook).await;
    let (record, settle) = outcome(delivery.attempts + 1, answer, policy);
    store
        .record_attempt(delivery_id, &record, &clock.now())
        .await?;
    Ok(settle)
}

/// Milliseconds since the epoch as `2026-11-29T10:00:00.000Z` (JavaScript's `toISOString`).
fn rfc3339_millis(ms: f64) -> String {
    chrono::DateTime::from_timestamp_millis(ms as i64)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}
