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
    decode_cursor, encode_cursor, encode_time_cursor, page_of, time_cursor_position, Page,
    PageParamError, PageRequest,
};
use crate::domain::webhook::{check_url, is_retryable, new_secret, retry_delay, signature_header};
use serde::Serialize;
use serde_json::Value;

/// The event types a destination may subscribe to (besides `*`, every type).
pub const EVENT_TYPES: &[&str] = &[
    "order.placed",
    "order.confirmed",
    "order.canceled",
    "order.fulfilled",
    "order.refunded",
    "inventory.low",
];

/// How long a rotated-out secret keeps signing alongside the new one, so that receivers can
/// switch without losing a delivery.
pub const ROTATION_OVERLAP_MS: f64 = 24.0 * 3600.0 * 1000.0;

/// At most this many destinations are listed (the list has no further pages).
pub const DESTINATIONS_LISTED: usize = 100;

// ---------------------------------------------------------------------------------------------
// Domain types
// ---------------------------------------------------------------------------------------------

/// A destination URL that passed [`check_url`], trimmed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DestinationUrl(String);

impl DestinationUrl {
    /// Public https only; `http` to loopback when `allow_insecure_loopback` (local development).
    ///
    /// # Errors
    /// [`ForwardingRefusal::BadUrl`] with the reason.
    pub fn parse(raw: &str, allow_insecure_loopback: bool) -> Result<Self, ForwardingRefusal> {
        let url = raw.trim();
        check_url(url, allow_insecure_loopback).map_err(ForwardingRefusal::BadUrl)?;
        Ok(DestinationUrl(url.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A non-empty list of known event types or `*`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventTypes(Vec<String>);

impl EventTypes {
    /// # Errors
    /// [`ForwardingRefusal::NoEventTypes`] for an empty list,
    /// [`ForwardingRefusal::UnknownEventType`] naming the first unknown entry.
    pub fn parse(events: &[&str]) -> Result<Self, ForwardingRefusal> {
        if events.is_empty() {
            return Err(ForwardingRefusal::NoEventTypes);
        }
        if let Some(index) = events
            .iter()
            .position(|e| *e != "*" && !EVENT_TYPES.contains(e))
        {
            return Err(ForwardingRefusal::UnknownEventType { index });
        }
        Ok(EventTypes(events.iter().map(|e| e.to_string()).collect()))
    }
}

/// What `PUT /admin/v1/destinations/{id}` asks for, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DestinationSpec {
    pub url: DestinationUrl,
    pub events: EventTypes,
    pub enabled: bool,
}

/// A destination as clients see it (its secrets are shown only when created or rotated).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Destination {
    pub id: String,
    pub url: String,
    pub events: Vec<String>,
    pub enabled: bool,
    pub created_at: String,
    pub updated_at: String,
}

impl Destination {
    /// Whether an event of this type is delivered here: enabled, and subscribed to the type or
    /// to `*`.
    pub fn receives(&self, event_type: &str) -> bool {
        self.enabled && self.events.iter().any(|e| e == "*" || e == event_type)
    }
}

/// A destination just written, with the secret to show once (`None` when it stays unseen).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SavedDestination {
    pub destination: Destination,
    pub secret: Option<String>,
    /// Created by this request (201) rather than updated (200).
    pub created: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DeliveryStatus {
    Pending,
    Delivered,
    Dead,
}

impl DeliveryStatus {
    /// # Errors
    /// [`ForwardingRefusal::BadStatusFilter`] for anything but the three statuses.
    pub fn parse(s: &str) -> Result<Self, ForwardingRefusal> {
        match s {
            "pending" => Ok(DeliveryStatus::Pending),
            "delivered" => Ok(DeliveryStatus::Delivered),
            "dead" => Ok(DeliveryStatus::Dead),
            _ => Err(ForwardingRefusal::BadStatusFilter),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Delivered => "delivered",
            DeliveryStatus::Dead => "dead",
        }
    }
}

/// One event sent (or to send) to one destination: the delivery log's entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Delivery {
    pub id: String,
    pub event_id: String,
    pub destination_id: String,
    pub status: DeliveryStatus,
    pub attempts: i64,
    pub last_status_code: Option<i64>,
    pub last_error: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

/// Which deliveries to list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeliveryFilter {
    pub status: Option<DeliveryStatus>,
    pub destination_id: Option<String>,
}

/// One page of deliveries to read: newest first, strictly before (`before_at`, `before_id`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryQuery {
    pub filter: DeliveryFilter,
    pub before_at: String,
    pub before_id: String,
    pub limit: usize,
}

/// Where the pull feed resumes: after the event with this sequence number (0: the start).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeedPosition(pub i64);

impl FeedPosition {
    /// The `after` parameter: absent or empty starts from the beginning.
    ///
    /// # Errors
    /// [`ForwardingRefusal::BadFeedCursor`] for a cursor this feed did not issue.
    pub fn parse(after: Option<&str>) -> Result<Self, ForwardingRefusal> {
        match after {
            None | Some("") => Ok(FeedPosition(0)),
            Some(c) => decode_cursor(c)
                .and_then(|k| k.strip_prefix("e:").and_then(|n| n.parse().ok()))
                .map(FeedPosition)
                .ok_or(ForwardingRefusal::BadFeedCursor),
        }
    }

    pub fn cursor(self) -> String {
        encode_cursor(&format!("e:{}", self.0))
    }
}

/// An outbox event in commit order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedEvent {
    pub seq: i64,
    pub payload: String,
}

/// One page of the feed; `next_cursor` always resumes (the last event's, or the same position).
#[derive(Debug, Clone, PartialEq)]
pub struct FeedPage {
    pub data: Vec<Value>,
    pub next_cursor: String,
}

/// What an attempt needs to know about a delivery, its event and its destination.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptContext {
    pub status: DeliveryStatus,
    pub attempts: i64,
    pub event_id: String,
    /// `None` when the event is gone.
    pub payload: Option<String>,
    /// `None` when the destination is gone.
    pub target: Option<Target>,
}

/// Where and how to sign.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub url: String,
    pub enabled: bool,
    pub secret: String,
    pub previous_secret: Option<String>,
    pub previous_expires_at: Option<String>,
}

impl Target {
    /// The current secret, and the previous one while its overlap window is open.
    pub fn signing_secrets(&self, now: &str) -> Vec<&str> {
        let mut secrets = vec![self.secret.as_str()];
        if let (Some(previous), Some(until)) = (&self.previous_secret, &self.previous_expires_at) {
            if until.as_str() > now {
                secrets.push(previous);
            }
        }
        secrets
    }
}

/// One webhook, signed per Standard Webhooks, ready to POST.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedWebhook {
    pub url: String,
    /// `webhook-id`: the event id, the same on every attempt and replay.
    pub id: String,
    /// `webhook-timestamp`, seconds.
    pub timestamp: i64,
    /// `webhook-signature`.
    pub signature: String,
    pub body: String,
}

/// What is written to a delivery after an attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptRecord {
    pub status: DeliveryStatus,
    pub attempts: i64,
    pub status_code: Option<u16>,
    pub error: Option<String>,
}

/// What becomes of the queue message that asked for the work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Settle {
    /// Done (or nothing to do): acknowledge.
    Ack,
    /// Deliver the message again after this many seconds.
    RetryIn(u32),
}

/// How many attempts a delivery gets and how long the first retry waits (then ×3, up to 1 h).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    pub max_attempts: u32,
    pub base_seconds: u32,
}

/// What one attempt's answer does to its delivery: 2xx delivers; 5xx, 408, 429, timeouts and
/// network errors retry after [`retry_delay`] until `max_attempts`; other answers go dead.
/// `attempts` counts this attempt.
pub fn outcome(
    attempts: i64,
    answer: Result<u16, String>,
    policy: RetryPolicy,
) -> (AttemptRecord, Settle) {
    let (status_code, error) = match answer {
        Ok(code) => (Some(code), None),
        Err(e) => (None, Some(e)),
    };
    let (status, settle) = match status_code {
        Some(code) if (200..300).contains(&code) => (DeliveryStatus::Delivered, Settle::Ack),
        Some(code) if !is_retryable(code) => (DeliveryStatus::Dead, Settle::Ack),
        _ if attempts >= i64::from(policy.max_attempts) => (DeliveryStatus::Dead, Settle::Ack),
        _ => (
            DeliveryStatus::Pending,
            Settle::RetryIn(retry_delay(policy.base_seconds, attempts as u32)),
        ),
    };
    let error = error.or_else(|| {
        status_code
            .filter(|c| !(200..300).contains(c))
            .map(|c| format!("the destination answered {c}"))
    });
    let record = AttemptRecord {
        status,
        attempts,
        status_code,
        error,
    };
    (record, settle)
}

// ---------------------------------------------------------------------------------------------
// Refusals
// ---------------------------------------------------------------------------------------------

/// Why a forwarding operation did not happen. `http::error` maps each to the envelope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ForwardingRefusal {
    /// The destination URL is not acceptable (the reason completes "the URL …").
    BadUrl(&'static str),
    NoEventTypes,
    UnknownEventType {
        index: usize,
    },
    DestinationNotFound(String),
    DeliveryNotFound(String),
    BadStatusFilter,
    BadCursor(PageParamError),
    BadFeedCursor,
    /// Resetting the delivery or queueing its attempt failed; retrying may succeed.
    ReplayFailed {
        id: String,
        cause: String,
    },
    /// The delivery disappeared in the middle of its replay.
    DeliveryVanished(String),
    /// The destination's stored secret cannot sign.
    MalformedSecret,
    /// The store failed (not a refusal of the request itself).
    Store(StoreError),
}

impl From<StoreError> for ForwardingRefusal {
    fn from(e: StoreError) -> Self {
        ForwardingRefusal::Store(e)
    }
}

impl std::fmt::Display for ForwardingRefusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ForwardingRefusal::BadUrl(why) => write!(f, "the URL {why}"),
            ForwardingRefusal::NoEventTypes => {
                write!(f, "subscribe to at least one event type, or [\"*\"]")
            }
            ForwardingRefusal::UnknownEventType { .. } => {
                write!(f, "event types are {} or *", EVENT_TYPES.join(", "))
            }
            ForwardingRefusal::DestinationNotFound(id) => write!(f, "no destination {id}"),
            ForwardingRefusal::DeliveryNotFound(id) => write!(f, "no delivery {id}"),
            ForwardingRefusal::BadStatusFilter => write!(f, "status is pending, delivered or dead"),
            ForwardingRefusal::BadCursor(e) => write!(f, "{}", e.message),
            ForwardingRefusal::BadFeedCursor => write!(f, "after is not a cursor this feed issued"),
            ForwardingRefusal::ReplayFailed { id, cause } => {
                write!(f, "replay of {id} failed: {cause}")
            }
            ForwardingRefusal::DeliveryVanished(id) => {
                write!(f, "delivery {id} vanished during its replay")
            }
            ForwardingRefusal::MalformedSecret => {
                write!(f, "the destination's secret is malformed")
            }
            ForwardingRefusal::Store(e) => write!(f, "{e}"),
        }
    }
}

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
