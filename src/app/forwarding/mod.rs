//! Forwarding events to back-office systems: destinations (an endpoint, the event types it
//! takes, its signing secret), the delivery log with replay, the pull feed of events, what
//! one delivery attempt does to a delivery (delivered, retried later, or dead) and to its
//! destination (disabled when gone or failing), and the hand-over of deliveries the queue never
//! took (the sweeper).
//!
//! The rules live here; the D1 adapter (`store::forwarding`) only reads and writes, the HTTP
//! handlers only parse and render, and the queue consumer (`delivery`) only moves messages and
//! sends the signed POST. One exception, for the D1 round trip it saves: which destinations an
//! event fans out to is decided inside the store's single `INSERT … SELECT`, so
//! [`ForwardingStore::create_deliveries`] states the rule ([`Destination::receives`]) that its
//! implementations MUST follow.

use crate::app::ports::{Clock, StoreError};
use crate::domain::pagination::{
    encode_cursor, encode_time_cursor, page_of, time_cursor_position, Page, PageRequest,
};
use crate::domain::webhook::{check_url, new_secret, signature_header};

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

    /// At most `query.limit` destinations with an id after `query.after`, ordered by id.
    ///
    /// # Errors
    /// [`StoreError`] when the store fails or holds an unreadable row.
    async fn destinations(&self, query: &DestinationQuery) -> Result<Vec<Destination>, StoreError>;

    /// Creates the destination with `new_secret` as its signing secret, or, when it exists,
    /// updates its url, events, enabled, `disabled_reason` and `updated_at` and MUST leave its
    /// `created_at` and secrets alone (`new_secret` is then ignored). Saving it enabled MUST
    /// also start its run of dead deliveries again from zero.
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

    /// Puts the delivery back to pending with no attempts, not yet handed to the queue (it
    /// keeps its id, so the receiver sees the same `webhook-id`). Returns whether a delivery
    /// was changed.
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

    /// Puts every dead delivery of the destination back to pending with no attempts, not yet
    /// handed to the queue, in one write. Returns how many, and the ids of at most `limit`
    /// of the destination's pending deliveries not yet handed to the queue.
    ///
    /// # Errors
    /// [`StoreError`] when nothing was written.
    async fn reset_dead(
        &self,
        destination_id: &str,
        now: &str,
        limit: usize,
    ) -> Result<(u64, Vec<String>), StoreError>;

    /// Creates one pending delivery (no attempts, created at `now`, not yet handed to the
    /// queue) of the event for every destination that [`Destination::receives`] its type, and
    /// MUST create none for a pair of event and destination that already has one (the event
    /// message may come twice). Returns the ids of every pending delivery of the event not yet
    /// handed to the queue: those just created, and those an earlier fan-out created but
    /// could not hand over. Nothing when the event does not exist.
    ///
    /// # Errors
    /// [`StoreError`] when nothing was written.
    async fn create_deliveries(&self, event_id: &str, now: &str)
        -> Result<Vec<String>, StoreError>;

    /// Records that the queue took these deliveries' attempts, due at `due_at`: each pending
    /// one's due time becomes `due_at` unless it is already later.
    ///
    /// # Errors
    /// [`StoreError`] when nothing was written.
    async fn mark_handed(&self, delivery_ids: &[String], due_at: &str) -> Result<(), StoreError>;

    /// At most `limit` pending deliveries, oldest change first, that the queue does not hold:
    /// never handed over and unchanged since `unhanded_before`, or due before `overdue_before`
    /// (their message was lost or given up on).
    ///
    /// # Errors
    /// [`StoreError`] when the store fails.
    async fn stranded(
        &self,
        unhanded_before: &str,
        overdue_before: &str,
        limit: usize,
    ) -> Result<Vec<String>, StoreError>;

    /// The delivery with its event's payload and its destination, or `None`.
    ///
    /// # Errors
    /// [`StoreError`] when the store fails or holds an unreadable row.
    async fn attempt_context(
        &self,
        delivery_id: &str,
    ) -> Result<Option<AttemptContext>, StoreError>;

    /// Writes an attempt's result to the delivery (`updated_at` becomes `now`, `due_at` the
    /// record's) and, in the same atomic write, its [`DestinationEffect`] to the destination:
    /// `Healthy` sets its run of dead deliveries to zero; `Dead` adds one and, when the run
    /// reaches `disable_after`, disables an enabled destination with reason `failing`; `Gone`
    /// adds one and disables it with reason `gone`.
    ///
    /// # Errors
    /// [`StoreError`] when nothing was written.
    async fn record_attempt(
        &self,
        delivery_id: &str,
        destination_id: &str,
        record: &AttemptRecord,
        now: &str,
    ) -> Result<(), StoreError>;
}

/// The queue that carries delivery attempts to the consumer.
#[allow(async_fn_in_trait)]
pub trait DeliveryQueue {
    /// Queues one attempt per delivery id, due now. Implementations MUST take at least
    /// [`QUEUE_BATCH`] ids in one call.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the queue did not take them.
    async fn enqueue(&self, delivery_ids: Vec<String>) -> Result<(), StoreError>;

    /// Queues one attempt of the delivery, due in `delay_seconds`.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the queue did not take it.
    async fn enqueue_in(&self, delivery_id: &str, delay_seconds: u32) -> Result<(), StoreError>;
}

/// The most messages handed to the queue in one send (the Queues limit per batch).
pub const QUEUE_BATCH: usize = 100;

/// The HTTP client that POSTs a webhook.
#[allow(async_fn_in_trait)]
pub trait WebhookClient {
    /// Sends the webhook with its `webhook-*` headers, bounded by a timeout, and returns the
    /// receiver's answer. Implementations MUST NOT follow redirects: a 3xx is the answer,
    /// with its `Location`.
    ///
    /// # Errors
    /// A description of the network error or the timeout (it becomes the delivery's
    /// `last_error`).
    async fn post(&self, webhook: &SignedWebhook) -> Result<Answer, String>;
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
        filter: spec.filter,
        // Enabling clears the reason; a destination kept disabled keeps it.
        disabled_reason: if spec.enabled {
            None
        } else {
            existing.as_ref().and_then(|e| e.disabled_reason)
        },
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

/// Ordered by id, with the cursor convention.
///
/// # Errors
/// `Store` when the store fails.
pub async fn list_destinations(
    store: &impl ForwardingStore,
    page: &PageRequest,
) -> Result<Page<Destination>, ForwardingRefusal> {
    let limit = page.limit.min(DESTINATIONS_LISTED);
    let rows = store
        .destinations(&DestinationQuery {
            after: page.after.clone(),
            // One more than a page: it only says whether there is a next page.
            limit: limit + 1,
        })
        .await?;
    Ok(page_of(rows, limit, |d| encode_cursor(&d.id)))
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

/// Sets the same delivery back to pending (same `webhook-id`) and queues an attempt. Once the
/// reset is written the replay is accepted: when the queue does not take the attempt, the
/// sweeper hands it over ([`hand_over_stranded`]). Returns the delivery as it now stands.
///
/// # Errors
/// [`ForwardingRefusal::DeliveryNotFound`]; [`ForwardingRefusal::ReplayFailed`] when the reset
/// failed; `Store` when a read fails.
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
        // The reset is written: a failed hand-over is the sweeper's to finish.
        let _ = hand_over(store, queue, clock, vec![id.to_string()]).await;
    }
    store
        .delivery(id)
        .await?
        .ok_or_else(|| ForwardingRefusal::DeliveryVanished(id.to_string()))
}

/// Sets every dead delivery of the destination back to pending (same ids, same
/// `webhook-id`s) and queues the first [`HAND_OVER_LIMIT`] of them; the sweeper hands over
/// the rest, and any the queue did not take. Returns how many were replayed.
///
/// # Errors
/// [`ForwardingRefusal::DestinationNotFound`], or `Store` when the reset failed.
pub async fn replay_dead(
    store: &impl ForwardingStore,
    queue: &impl DeliveryQueue,
    clock: &impl Clock,
    destination_id: &str,
) -> Result<u64, ForwardingRefusal> {
    get_destination(store, destination_id).await?;
    let (replayed, first) = store
        .reset_dead(destination_id, &clock.now(), HAND_OVER_LIMIT)
        .await?;
    // The resets are written: a failed hand-over is the sweeper's to finish.
    let _ = hand_over(store, queue, clock, first).await;
    Ok(replayed)
}

/// The sweeper's half for deliveries: hands to the queue, oldest first and at most
/// [`HAND_OVER_LIMIT`] per call, every pending delivery the queue does not hold: written but
/// never handed over (a failed send) and unchanged for `grace_seconds`, or more than
/// [`OVERDUE_SECONDS`] past due (a lost message). Returns how many were handed over.
///
/// # Errors
/// `Store` when the store or the queue fails (the next sweep tries again).
pub async fn hand_over_stranded(
    store: &impl ForwardingStore,
    queue: &impl DeliveryQueue,
    clock: &impl Clock,
    grace_seconds: u32,
) -> Result<usize, ForwardingRefusal> {
    let now = clock.now_ms();
    let stranded = store
        .stranded(
            &rfc3339_millis(now - f64::from(grace_seconds) * 1000.0),
            &rfc3339_millis(now - f64::from(OVERDUE_SECONDS) * 1000.0),
            HAND_OVER_LIMIT,
        )
        .await?;
    let count = stranded.len();
    hand_over(store, queue, clock, stranded).await?;
    Ok(count)
}

/// Queues an attempt of each delivery, due now, in batches the queue takes, and records the
/// hand-over of those it took.
async fn hand_over(
    store: &impl ForwardingStore,
    queue: &impl DeliveryQueue,
    clock: &impl Clock,
    ids: Vec<String>,
) -> Result<(), StoreError> {
    let mut handed: Vec<String> = Vec::with_capacity(ids.len());
    let mut failure = None;
    for chunk in ids.chunks(QUEUE_BATCH) {
        match queue.enqueue(chunk.to_vec()).await {
            Ok(()) => handed.extend_from_slice(chunk),
            Err(e) => {
                failure = Some(e);
                break;
            }
        }
    }
    if !handed.is_empty() {
        store.mark_handed(&handed, &clock.now()).await?;
    }
    failure.map_or(Ok(()), Err)
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

/// Creates the event's deliveries (once per destination) and queues an attempt for each one
/// the queue does not hold yet. A redelivered event message creates nothing new, but hands
/// over what an earlier one could not (so a failed send strands nothing).
///
/// # Errors
/// `Store` when the store or the queue fails (the message is retried).
pub async fn fan_out(
    store: &impl ForwardingStore,
    queue: &impl DeliveryQueue,
    clock: &impl Clock,
    event_id: &str,
) -> Result<(), ForwardingRefusal> {
    let unhanded = store.create_deliveries(event_id, &clock.now()).await?;
    Ok(hand_over(store, queue, clock, unhanded).await?)
}

/// One attempt of a pending delivery: checks the destination's URL again, signs the event
/// afresh, POSTs it (never following a redirect) and records the [`outcome`], with its effect
/// on the destination in the same write; returns what becomes of the message and what the
/// attempt came to. A delivery that is no longer pending is left alone (a duplicate message);
/// one whose destination is disabled or gone, whose URL no longer passes the check, or whose
/// event is gone, goes dead unsent.
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
) -> Result<Attempted, ForwardingRefusal> {
    let nothing = Attempted {
        settle: Settle::Ack,
        outcome: None,
    };
    let Some(delivery) = store.attempt_context(delivery_id).await? else {
        return Ok(nothing);
    };
    if delivery.status != DeliveryStatus::Pending {
        return Ok(nothing); // delivered or dead meanwhile: a duplicate message
    }
    let (payload, target) = match (delivery.payload, delivery.target) {
        (Some(payload), Some(target)) => (payload, target),
        _ => {
            let why = "the destination or the event no longer exists";
            return dead_unsent(
                store,
                clock,
                &delivery.destination_id,
                delivery_id,
                delivery.attempts,
                why.into(),
            )
            .await;
        }
    };
    let refused = if target.enabled {
        check_url(&target.url, policy.allow_insecure_loopback)
            .err()
            .map(|why| format!("the destination URL {why} (checked before sending)"))
    } else {
        Some(DESTINATION_DISABLED.to_string())
    };
    if let Some(why) = refused {
        return dead_unsent(
            store,
            clock,
            &delivery.destination_id,
            delivery_id,
            delivery.attempts,
            why,
        )
        .await;
    }
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
    let (mut record, settle) = outcome(delivery.attempts + 1, answer, policy);
    if let Settle::RetryIn(seconds) = settle {
        record.due_at = Some(rfc3339_millis(clock.now_ms() + f64::from(seconds) * 1000.0));
    }
    store
        .record_attempt(delivery_id, &delivery.destination_id, &record, &clock.now())
        .await?;
    Ok(Attempted {
        settle,
        outcome: Some(AttemptOutcome::of(&record, &delivery.destination_id)),
    })
}

/// A delivery that goes dead without being sent: it does not count against the destination.
async fn dead_unsent(
    store: &impl ForwardingStore,
    clock: &impl Clock,
    destination_id: &str,
    delivery_id: &str,
    attempts: i64,
    why: String,
) -> Result<Attempted, ForwardingRefusal> {
    let record = AttemptRecord {
        status: DeliveryStatus::Dead,
        attempts,
        status_code: None,
        error: Some(why),
        due_at: None,
        effect: DestinationEffect::None,
    };
    store
        .record_attempt(delivery_id, destination_id, &record, &clock.now())
        .await?;
    Ok(Attempted {
        settle: Settle::Ack,
        outcome: Some(AttemptOutcome::of(&record, destination_id)),
    })
}

/// Milliseconds since the epoch as `2026-11-29T10:00:00.000Z` (JavaScript's `toISOString`).
fn rfc3339_millis(ms: f64) -> String {
    chrono::DateTime::from_timestamp_millis(ms as i64)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}
