//! Forwarding's model: destinations (a checked URL, the event types they take), the delivery
//! log's entries and filters, the pull feed's position, signing targets, what one attempt's
//! answer does to its delivery ([`outcome`]), and why an operation is refused.

use crate::app::ports::StoreError;
use crate::domain::events::EventType;
use crate::domain::fields::{FieldError, Fields};
use crate::domain::pagination::{decode_cursor, encode_cursor, PageParamError};
use crate::domain::webhook::{check_url, is_retryable, retry_delay};
use serde::Serialize;
use serde_json::Value;

/// How long a rotated-out secret keeps signing alongside the new one, so that receivers can
/// switch without losing a delivery.
pub const ROTATION_OVERLAP_MS: f64 = 24.0 * 3600.0 * 1000.0;

/// At most this many destinations are listed per page.
pub const DESTINATIONS_LISTED: usize = 100;

/// A pending delivery whose queued attempt is this late (its message was lost, or the queue
/// gave up on it) is handed to the queue again by the sweeper.
pub const OVERDUE_SECONDS: u32 = 15 * 60;

/// At most this many stranded deliveries are handed over per sweep or per replay-dead call;
/// the next sweep continues.
pub const HAND_OVER_LIMIT: usize = 500;

/// `last_error` of a delivery that went dead because its destination is disabled.
pub const DESTINATION_DISABLED: &str = "destination disabled";

// ---------------------------------------------------------------------------------------------
// Domain types
// ---------------------------------------------------------------------------------------------

/// A destination URL that passed [`check_url`], trimmed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DestinationUrl(pub(super) String);

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
pub struct EventTypes(pub(super) Vec<String>);

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
            .position(|e| *e != "*" && EventType::parse(e).is_none())
        {
            return Err(ForwardingRefusal::UnknownEventType { index });
        }
        Ok(EventTypes(events.iter().map(|e| e.to_string()).collect()))
    }
}

/// Which events of its types a destination takes. With `locations`, only those about orders
/// with an allocation at one of them (and `inventory.low` at one of them), so each warehouse's
/// system hears of its own orders; empty, every event.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct EventFilter {
    pub locations: Vec<String>,
    /// Only orders these channels sold (`data.channel`), so a marketplace connector hears only
    /// its own; events of no channel (stock) do not pass.
    pub channels: Vec<String>,
}

impl EventFilter {
    /// Reads `filter` (`{locations?: [...], channels?: [...]}`, each 1 to 50 ids, at least one
    /// of them; absent or null: none). Both given: an event passes both.
    ///
    /// # Errors
    /// The field at fault.
    pub fn parse(value: Option<&Value>) -> Result<EventFilter, FieldError> {
        let Some(Value::Object(f)) = value.filter(|v| !v.is_null()) else {
            return match value.filter(|v| !v.is_null()) {
                None => Ok(EventFilter::default()),
                Some(_) => Err(FieldError::new(
                    "filter",
                    "must be an object {locations?: [...], channels?: [...]}",
                )),
            };
        };
        let f = Fields::nested(f, "filter".into());
        f.only(&["locations", "channels"])?;
        let (locations, channels) = (
            f.opt_string_list("locations", 50)?,
            f.opt_string_list("channels", 50)?,
        );
        if locations.is_none() && channels.is_none() {
            return Err(FieldError::new(
                "filter",
                "name locations, channels or both (or send null for every event)",
            ));
        }
        for (name, list) in [("locations", &locations), ("channels", &channels)] {
            if list.as_ref().is_some_and(Vec::is_empty) {
                return Err(FieldError::new(
                    f.path(name),
                    format!("name at least one of {name}"),
                ));
            }
        }
        let (locations, channels) = (locations.unwrap_or_default(), channels.unwrap_or_default());
        for (i, c) in channels.iter().enumerate() {
            if !crate::domain::product::is_resource_id(c) {
                return Err(FieldError::new(
                    format!("filter.channels[{i}]"),
                    "must be a channel id",
                ));
            }
        }
        for (i, l) in locations.iter().enumerate() {
            if !crate::domain::stock::is_location_id(l) {
                return Err(FieldError::new(
                    format!("filter.locations[{i}]"),
                    "must be a location id",
                ));
            }
        }
        Ok(EventFilter {
            locations: locations.iter().map(|l| l.to_string()).collect(),
            channels: channels.iter().map(|c| c.to_string()).collect(),
        })
    }

    /// Whether an event whose `data` is this passes: an order with a line allocated at one of
    /// the locations (an emptied allocation still names its location: a cancel or a move away
    /// is heard there), a line an edit removed that was (`edit.before`), or stock
    /// (`inventory.low`) at one of them.
    pub fn matches(&self, data: &Value) -> bool {
        let channel_ok = self.channels.is_empty()
            || data["channel"]
                .as_str()
                .is_some_and(|c| self.channels.iter().any(|x| x == c));
        channel_ok && self.located(data)
    }

    fn located(&self, data: &Value) -> bool {
        if self.locations.is_empty() {
            return true;
        }
        let here = |l: &Value| {
            l.as_str()
                .is_some_and(|l| self.locations.iter().any(|x| x == l))
        };
        let allocated_here = |lines: &Value| {
            lines.as_array().is_some_and(|lines| {
                lines.iter().any(|line| {
                    line["allocations"]
                        .as_array()
                        .is_some_and(|a| a.iter().any(|a| here(&a["location"])))
                })
            })
        };
        here(&data["location"])
            || allocated_here(&data["lines"])
            || allocated_here(&data["edit"]["before"]["lines"])
    }

    /// `{locations?: [...], channels?: [...]}`, or null when it takes every event.
    pub fn view(&self) -> Value {
        let mut view = serde_json::Map::new();
        if !self.locations.is_empty() {
            view.insert("locations".into(), serde_json::json!(self.locations));
        }
        if !self.channels.is_empty() {
            view.insert("channels".into(), serde_json::json!(self.channels));
        }
        if view.is_empty() {
            Value::Null
        } else {
            Value::Object(view)
        }
    }
}

/// What `PUT /admin/v1/destinations/{id}` asks for, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DestinationSpec {
    pub url: DestinationUrl,
    pub events: EventTypes,
    pub enabled: bool,
    pub filter: EventFilter,
}

/// Why Comptoir disabled a destination by itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DisabledReason {
    /// It answered `410 Gone`.
    Gone,
    /// `DESTINATION_DISABLE_AFTER` deliveries in a row went dead.
    Failing,
}

impl DisabledReason {
    pub fn as_str(self) -> &'static str {
        match self {
            DisabledReason::Gone => "gone",
            DisabledReason::Failing => "failing",
        }
    }

    /// `None` for anything else (an unknown stored value shows as null).
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "gone" => Some(DisabledReason::Gone),
            "failing" => Some(DisabledReason::Failing),
            _ => None,
        }
    }
}

/// A destination as clients see it (its secrets are shown only when created or rotated).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Destination {
    pub id: String,
    pub url: String,
    pub events: Vec<String>,
    pub enabled: bool,
    /// Why Comptoir disabled it (`None` when enabled, or disabled by a person).
    pub disabled_reason: Option<DisabledReason>,
    pub filter: EventFilter,
    pub created_at: String,
    pub updated_at: String,
}

/// One page of destinations, ordered by id, after `after` (exclusive).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DestinationQuery {
    pub after: Option<String>,
    pub limit: usize,
}

impl Destination {
    /// Whether an event of this type is delivered here: enabled, and subscribed to the type or
    /// to `*`.
    pub fn receives(&self, event_type: &str) -> bool {
        self.enabled && self.events.iter().any(|e| e == "*" || e == event_type)
    }

    /// Whether this event is delivered here: [`Self::receives`] its type, and its `data`
    /// passes the destination's filter.
    pub fn wants(&self, event_type: &str, data: &Value) -> bool {
        self.receives(event_type) && self.filter.matches(data)
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
    pub destination_id: String,
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
    /// When the queued retry is due (pending only; `None` otherwise).
    pub due_at: Option<String>,
    /// What the attempt does to its destination's health.
    pub effect: DestinationEffect,
}

/// What an attempt's answer does to its destination, written in the same batch as the
/// delivery (the destination's run of dead deliveries is counted there).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DestinationEffect {
    /// Nothing (a retry is scheduled, or the attempt never reached the destination).
    None,
    /// Delivered: the run of dead deliveries starts again from zero.
    Healthy,
    /// Went dead: one more in the run; at `disable_after` in a row the destination is
    /// disabled as `failing`.
    Dead { disable_after: u32 },
    /// `410 Gone`: dead, and the destination is disabled as `gone` at once.
    Gone,
}

/// A receiver's answer to one POST: its status, and where a redirect pointed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub status: u16,
    /// The `Location` of a 3xx answer (never followed).
    pub location: Option<String>,
}

impl Answer {
    pub fn status(status: u16) -> Answer {
        Answer {
            status,
            location: None,
        }
    }
}

/// One delivery's turn in the queue: what becomes of its message, and what the attempt came to
/// (`None` when there was nothing to attempt: a duplicate message, a delivery gone).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempted {
    pub settle: Settle,
    pub outcome: Option<AttemptOutcome>,
}

/// What one attempt came to, for the operator's metrics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptOutcome {
    pub result: AttemptResult,
    /// The destination's answer (`None`: no answer, or not sent).
    pub status_code: Option<u16>,
    /// Attempts made so far, this one included (a delivery that goes dead unsent adds none).
    pub attempt: i64,
    pub destination_id: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptResult {
    Delivered,
    /// Not delivered; a retry is due.
    Failed,
    /// Not delivered, and never will be unless replayed.
    Dead,
}

impl AttemptResult {
    pub fn as_str(self) -> &'static str {
        match self {
            AttemptResult::Delivered => "delivered",
            AttemptResult::Failed => "failed",
            AttemptResult::Dead => "dead",
        }
    }
}

impl AttemptOutcome {
    /// The outcome of `record`, written for the delivery to `destination_id`.
    pub fn of(record: &AttemptRecord, destination_id: &str) -> AttemptOutcome {
        AttemptOutcome {
            result: match record.status {
                DeliveryStatus::Delivered => AttemptResult::Delivered,
                DeliveryStatus::Pending => AttemptResult::Failed,
                DeliveryStatus::Dead => AttemptResult::Dead,
            },
            status_code: record.status_code,
            attempt: record.attempts,
            destination_id: destination_id.to_string(),
        }
    }
}

/// What becomes of the queue message that asked for the work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Settle {
    /// Done (or nothing to do): acknowledge.
    Ack,
    /// Deliver the message again after this many seconds.
    RetryIn(u32),
}

/// How many attempts a delivery gets, how long the first retry waits (then ×3, up to 1 h),
/// how many dead deliveries in a row disable a destination, and whether loopback `http`
/// destinations are allowed (local development), checked again before every attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    pub max_attempts: u32,
    pub base_seconds: u32,
    pub disable_after: u32,
    pub allow_insecure_loopback: bool,
}

impl RetryPolicy {
    /// API.md's defaults.
    pub const DEFAULT: RetryPolicy = RetryPolicy {
        max_attempts: 8,
        base_seconds: 10,
        disable_after: 20,
        allow_insecure_loopback: false,
    };
}

/// What one attempt's answer does to its delivery: 2xx delivers; 5xx, 408, 429, timeouts and
/// network errors retry after [`retry_delay`] until `max_attempts`; a redirect (never
/// followed) and every other answer go dead at once, `410 Gone` disabling the destination.
/// `attempts` counts this attempt. The record's `due_at` is left for the caller (it knows the
/// time).
pub fn outcome(
    attempts: i64,
    answer: Result<Answer, String>,
    policy: RetryPolicy,
) -> (AttemptRecord, Settle) {
    let dead = DestinationEffect::Dead {
        disable_after: policy.disable_after,
    };
    let (status_code, error) = match &answer {
        Ok(a) => (Some(a.status), None),
        Err(e) => (None, Some(e.clone())),
    };
    let (status, settle, effect) = match status_code {
        Some(code) if (200..300).contains(&code) => (
            DeliveryStatus::Delivered,
            Settle::Ack,
            DestinationEffect::Healthy,
        ),
        Some(410) => (DeliveryStatus::Dead, Settle::Ack, DestinationEffect::Gone),
        Some(code) if !is_retryable(code) => (DeliveryStatus::Dead, Settle::Ack, dead),
        _ if attempts >= i64::from(policy.max_attempts) => {
            (DeliveryStatus::Dead, Settle::Ack, dead)
        }
        _ => (
            DeliveryStatus::Pending,
            Settle::RetryIn(retry_delay(policy.base_seconds, attempts as u32)),
            DestinationEffect::None,
        ),
    };
    let error = error.or_else(|| match &answer {
        Ok(a) if (300..400).contains(&a.status) => Some(format!(
            "the destination answered {} (a redirect to {}); redirects are not followed",
            a.status,
            // The receiver chose it: kept short in the log.
            a.location
                .as_deref()
                .map_or_else(|| "nowhere".to_string(), |l| l.chars().take(300).collect())
        )),
        Ok(a) if a.status == 410 => Some(format!(
            "the destination answered 410 Gone; it is disabled ({})",
            DisabledReason::Gone.as_str()
        )),
        Ok(a) if !(200..300).contains(&a.status) => {
            Some(format!("the destination answered {}", a.status))
        }
        _ => None,
    });
    let record = AttemptRecord {
        status,
        attempts,
        status_code,
        error,
        due_at: None,
        effect,
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
                let names: Vec<&str> = EventType::ALL.iter().map(|t| t.as_str()).collect();
                write!(f, "event types are {} or *", names.join(", "))
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
