//! The forwarding use cases over in-memory fakes of their ports: destinations, secret rotation,
//! replay, the events feed, fan-out, and what each attempt's answer does to a delivery.

use comptoir::app::forwarding::*;
use comptoir::app::ports::{Clock, StoreError};
use comptoir::domain::events::EventType;
use comptoir::domain::pagination::PageRequest;
use serde_json::json;
use std::cell::{Cell, RefCell};
use std::future::Future;
use std::task::{Context, Poll, Waker};

/// The fakes never wait, so every use case is ready at its first poll.
fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("the fakes are synchronous"),
    }
}

// ---------------------------------------------------------------------------------------------
// Fakes
// ---------------------------------------------------------------------------------------------

const T0: f64 = 1_795_946_400_000.0; // 2026-11-29T10:00:00.000Z
const HOUR: f64 = 3_600_000.0;

struct FakeClock(Cell<f64>);

impl FakeClock {
    fn at(ms: f64) -> FakeClock {
        FakeClock(Cell::new(ms))
    }
}

impl Clock for FakeClock {
    fn now(&self) -> String {
        chrono::DateTime::from_timestamp_millis(self.0.get() as i64)
            .unwrap()
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
    }
    fn now_ms(&self) -> f64 {
        self.0.get()
    }
}

/// Secrets from a counter: each one differs from the last.
struct CountingSecrets(Cell<u8>);

impl SecretSource for CountingSecrets {
    fn secret_bytes(&self) -> [u8; 24] {
        self.0.set(self.0.get() + 1);
        [self.0.get(); 24]
    }
}

#[derive(Clone)]
struct StoredDestination {
    destination: Destination,
    dead_in_a_row: u32,
    secret: String,
    previous_secret: Option<String>,
    previous_expires_at: Option<String>,
}

struct Event {
    id: String,
    kind: String,
    payload: String,
}

#[derive(Default)]
struct FakeStore {
    destinations: RefCell<Vec<StoredDestination>>,
    deliveries: RefCell<Vec<Delivery>>,
    /// Each delivery's `due_at` (absent: never handed to the queue).
    due: RefCell<std::collections::HashMap<String, String>>,
    events: RefCell<Vec<Event>>,
}

impl FakeStore {
    fn stored(&self, id: &str) -> Option<StoredDestination> {
        self.destinations
            .borrow()
            .iter()
            .find(|d| d.destination.id == id)
            .cloned()
    }

    fn delivery_now(&self, id: &str) -> Delivery {
        self.deliveries
            .borrow()
            .iter()
            .find(|d| d.id == id)
            .cloned()
            .unwrap()
    }

    fn add_event(&self, id: &str, kind: &str) {
        self.events.borrow_mut().push(Event {
            id: id.into(),
            kind: kind.into(),
            payload: format!(r#"{{"id":"{id}","type":"{kind}"}}"#),
        });
    }

    fn add_delivery(
        &self,
        id: &str,
        event_id: &str,
        destination_id: &str,
        status: DeliveryStatus,
        attempts: i64,
    ) {
        self.deliveries.borrow_mut().push(Delivery {
            id: id.into(),
            event_id: event_id.into(),
            destination_id: destination_id.into(),
            status,
            attempts,
            last_status_code: None,
            last_error: None,
            created_at: "2026-11-29T09:00:00.000Z".into(),
            updated_at: "2026-11-29T09:00:00.000Z".into(),
        });
    }
}

impl ForwardingStore for FakeStore {
    async fn destination(&self, id: &str) -> Result<Option<Destination>, StoreError> {
        Ok(self.stored(id).map(|d| d.destination))
    }

    async fn destinations(&self, q: &DestinationQuery) -> Result<Vec<Destination>, StoreError> {
        let mut all: Vec<Destination> = self
            .destinations
            .borrow()
            .iter()
            .map(|d| d.destination.clone())
            .filter(|d| q.after.as_ref().is_none_or(|after| &d.id > after))
            .collect();
        all.sort_by(|a, b| a.id.cmp(&b.id));
        all.truncate(q.limit);
        Ok(all)
    }

    async fn save_destination(
        &self,
        d: &Destination,
        new_secret: Option<&str>,
    ) -> Result<(), StoreError> {
        let mut all = self.destinations.borrow_mut();
        match all.iter_mut().find(|s| s.destination.id == d.id) {
            Some(s) => {
                s.destination = Destination {
                    created_at: s.destination.created_at.clone(),
                    ..d.clone()
                };
                if d.enabled {
                    s.dead_in_a_row = 0;
                }
            }
            None => all.push(StoredDestination {
                destination: d.clone(),
                dead_in_a_row: 0,
                secret: new_secret.unwrap_or("").into(),
                previous_secret: None,
                previous_expires_at: None,
            }),
        }
        Ok(())
    }

    async fn delete_destination(&self, id: &str) -> Result<(), StoreError> {
        self.destinations
            .borrow_mut()
            .retain(|d| d.destination.id != id);
        Ok(())
    }

    async fn rotate_secret(
        &self,
        id: &str,
        secret: &str,
        previous_until: &str,
        now: &str,
    ) -> Result<(), StoreError> {
        if let Some(s) = self
            .destinations
            .borrow_mut()
            .iter_mut()
            .find(|s| s.destination.id == id)
        {
            s.previous_secret = Some(std::mem::replace(&mut s.secret, secret.into()));
            s.previous_expires_at = Some(previous_until.into());
            s.destination.updated_at = now.into();
        }
        Ok(())
    }

    async fn deliveries(&self, q: &DeliveryQuery) -> Result<Vec<Delivery>, StoreError> {
        let mut found: Vec<Delivery> = self
            .deliveries
            .borrow()
            .iter()
            .filter(|d| q.filter.status.is_none_or(|s| d.status == s))
            .filter(|d| {
                q.filter
                    .destination_id
                    .as_ref()
                    .is_none_or(|id| &d.destination_id == id)
            })
            .filter(|d| (&d.created_at, &d.id) < (&q.before_at, &q.before_id))
            .cloned()
            .collect();
        found.sort_by(|a, b| (&b.created_at, &b.id).cmp(&(&a.created_at, &a.id)));
        found.truncate(q.limit);
        Ok(found)
    }

    async fn delivery(&self, id: &str) -> Result<Option<Delivery>, StoreError> {
        Ok(self
            .deliveries
            .borrow()
            .iter()
            .find(|d| d.id == id)
            .cloned())
    }

    async fn reset_delivery(&self, id: &str, now: &str) -> Result<bool, StoreError> {
        let mut all = self.deliveries.borrow_mut();
        let Some(d) = all.iter_mut().find(|d| d.id == id) else {
            return Ok(false);
        };
        d.status = DeliveryStatus::Pending;
        d.attempts = 0;
        d.updated_at = now.into();
        self.due.borrow_mut().remove(id);
        Ok(true)
    }

    async fn reset_dead(
        &self,
        destination_id: &str,
        now: &str,
        limit: usize,
    ) -> Result<(u64, Vec<String>), StoreError> {
        let mut replayed = 0;
        for d in self.deliveries.borrow_mut().iter_mut() {
            if d.destination_id == destination_id && d.status == DeliveryStatus::Dead {
                d.status = DeliveryStatus::Pending;
                d.attempts = 0;
                d.updated_at = now.into();
                self.due.borrow_mut().remove(&d.id);
                replayed += 1;
            }
        }
        let unhanded = self
            .deliveries
            .borrow()
            .iter()
            .filter(|d| d.destination_id == destination_id && d.status == DeliveryStatus::Pending)
            .filter(|d| !self.due.borrow().contains_key(&d.id))
            .map(|d| d.id.clone())
            .take(limit)
            .collect();
        Ok((replayed, unhanded))
    }

    async fn mark_handed(&self, ids: &[String], due_at: &str) -> Result<(), StoreError> {
        for d in self.deliveries.borrow().iter() {
            if ids.contains(&d.id) && d.status == DeliveryStatus::Pending {
                let mut due = self.due.borrow_mut();
                if due.get(&d.id).is_none_or(|at| at.as_str() < due_at) {
                    due.insert(d.id.clone(), due_at.into());
                }
            }
        }
        Ok(())
    }

    async fn stranded(
        &self,
        unhanded_before: &str,
        overdue_before: &str,
        limit: usize,
    ) -> Result<Vec<String>, StoreError> {
        let due = self.due.borrow();
        let mut found: Vec<Delivery> = self
            .deliveries
            .borrow()
            .iter()
            .filter(|d| d.status == DeliveryStatus::Pending)
            .filter(|d| match due.get(&d.id) {
                None => d.updated_at.as_str() <= unhanded_before,
                Some(at) => at.as_str() <= overdue_before,
            })
            .cloned()
            .collect();
        found.sort_by(|a, b| (&a.updated_at, &a.id).cmp(&(&b.updated_at, &b.id)));
        Ok(found.into_iter().take(limit).map(|d| d.id).collect())
    }

    async fn events_after(
        &self,
        after: FeedPosition,
        limit: usize,
    ) -> Result<Vec<FeedEvent>, StoreError> {
        Ok(self
            .events
            .borrow()
            .iter()
            .enumerate()
            .map(|(i, e)| FeedEvent {
                seq: i as i64 + 1,
                payload: e.payload.clone(),
            })
            .filter(|e| e.seq > after.0)
            .take(limit)
            .collect())
    }

    async fn create_deliveries(
        &self,
        event_id: &str,
        now: &str,
    ) -> Result<Vec<String>, StoreError> {
        let events = self.events.borrow();
        let Some(event) = events.iter().find(|e| e.id == event_id) else {
            return Ok(vec![]);
        };
        for d in self.destinations.borrow().iter().map(|d| &d.destination) {
            let exists = self
                .deliveries
                .borrow()
                .iter()
                .any(|x| x.event_id == event_id && x.destination_id == d.id);
            if d.wants(&event.kind, &serde_json::Value::Null) && !exists {
                let id = format!("dlv_{}_{}", event_id, d.id);
                self.add_delivery(&id, event_id, &d.id, DeliveryStatus::Pending, 0);
                let mut all = self.deliveries.borrow_mut();
                let created = all.last_mut().unwrap();
                created.created_at = now.into();
                created.updated_at = now.into();
            }
        }
        let unhanded: Vec<String> = self
            .deliveries
            .borrow()
            .iter()
            .filter(|d| d.event_id == event_id && d.status == DeliveryStatus::Pending)
            .filter(|d| !self.due.borrow().contains_key(&d.id))
            .map(|d| d.id.clone())
            .collect();
        Ok(unhanded)
    }

    async fn attempt_context(
        &self,
        delivery_id: &str,
    ) -> Result<Option<AttemptContext>, StoreError> {
        let Some(d) = self
            .deliveries
            .borrow()
            .iter()
            .find(|d| d.id == delivery_id)
            .cloned()
        else {
            return Ok(None);
        };
        let payload = self
            .events
            .borrow()
            .iter()
            .find(|e| e.id == d.event_id)
            .map(|e| e.payload.clone());
        let target = self.stored(&d.destination_id).map(|s| Target {
            url: s.destination.url,
            enabled: s.destination.enabled,
            secret: s.secret,
            previous_secret: s.previous_secret,
            previous_expires_at: s.previous_expires_at,
        });
        Ok(Some(AttemptContext {
            destination_id: d.destination_id,
            status: d.status,
            attempts: d.attempts,
            event_id: d.event_id,
            payload,
            target,
        }))
    }

    async fn record_attempt(
        &self,
        delivery_id: &str,
        destination_id: &str,
        r: &AttemptRecord,
        now: &str,
    ) -> Result<(), StoreError> {
        let mut all = self.deliveries.borrow_mut();
        let d = all.iter_mut().find(|d| d.id == delivery_id).unwrap();
        d.status = r.status;
        d.attempts = r.attempts;
        d.last_status_code = r.status_code.map(i64::from);
        d.last_error = r.error.clone();
        d.updated_at = now.into();
        match &r.due_at {
            Some(at) => self.due.borrow_mut().insert(delivery_id.into(), at.clone()),
            None => self.due.borrow_mut().remove(delivery_id),
        };
        let mut destinations = self.destinations.borrow_mut();
        let Some(s) = destinations
            .iter_mut()
            .find(|s| s.destination.id == destination_id)
        else {
            return Ok(());
        };
        let mut disable = |reason| {
            if s.destination.enabled {
                s.destination.enabled = false;
                s.destination.disabled_reason = Some(reason);
                s.destination.updated_at = now.into();
            }
        };
        match r.effect {
            DestinationEffect::None => {}
            DestinationEffect::Healthy => s.dead_in_a_row = 0,
            DestinationEffect::Dead { disable_after } => {
                s.dead_in_a_row += 1;
                if s.dead_in_a_row >= disable_after {
                    disable(DisabledReason::Failing);
                }
            }
            DestinationEffect::Gone => {
                s.dead_in_a_row += 1;
                disable(DisabledReason::Gone);
            }
        }
        Ok(())
    }
}

/// A queue that keeps what it took, or refuses everything while `down`.
#[derive(Default)]
struct FakeQueue(RefCell<Vec<String>>, Cell<bool>);

impl FakeQueue {
    fn down() -> FakeQueue {
        FakeQueue(RefCell::default(), Cell::new(true))
    }
}

impl DeliveryQueue for FakeQueue {
    async fn enqueue(&self, delivery_ids: Vec<String>) -> Result<(), StoreError> {
        if self.1.get() {
            return Err(StoreError::Unavailable("queue: send failed".into()));
        }
        assert!(
            delivery_ids.len() <= QUEUE_BATCH,
            "one send takes at most QUEUE_BATCH"
        );
        self.0.borrow_mut().extend(delivery_ids);
        Ok(())
    }

    async fn enqueue_in(&self, delivery_id: &str, _delay: u32) -> Result<(), StoreError> {
        self.enqueue(vec![delivery_id.into()]).await
    }
}

/// A receiver that answers the given status (or fails to answer) and keeps what it got.
struct FakeReceiver {
    answer: Result<Answer, String>,
    got: RefCell<Vec<SignedWebhook>>,
}

impl FakeReceiver {
    fn answering(answer: Result<u16, String>) -> FakeReceiver {
        FakeReceiver::answer(answer.map(Answer::status))
    }

    fn answer(answer: Result<Answer, String>) -> FakeReceiver {
        FakeReceiver {
            answer,
            got: RefCell::new(vec![]),
        }
    }
}

impl WebhookClient for FakeReceiver {
    async fn post(&self, webhook: &SignedWebhook) -> Result<Answer, String> {
        self.got.borrow_mut().push(webhook.clone());
        self.answer.clone()
    }
}

const POLICY: RetryPolicy = RetryPolicy {
    max_attempts: 3,
    base_seconds: 10,
    disable_after: 3,
    allow_insecure_loopback: false,
};

fn spec(url: &str, events: &[&str]) -> DestinationSpec {
    DestinationSpec {
        url: DestinationUrl::parse(url, false).unwrap(),
        events: EventTypes::parse(events).unwrap(),
        enabled: true,
        filter: EventFilter::default(),
    }
}

fn put(store: &FakeStore, clock: &FakeClock, id: &str, spec: DestinationSpec) -> SavedDestination {
    block_on(put_destination(
        store,
        clock,
        &CountingSecrets(Cell::new(0)),
        id,
        spec,
    ))
    .unwrap()
}

/// A store with destination `erp` subscribed to `events` and an `order.confirmed` event.
fn store_with_event(events: &[&str]) -> FakeStore {
    let store = FakeStore::default();
    put(
        &store,
        &FakeClock::at(T0),
        "erp",
        spec("https://erp.example.com/hook", events),
    );
    store.add_event("evt_1", "order.confirmed");
    store
}

/// A store with destination `erp` (order.confirmed), an event and one pending delivery of it.
fn one_pending_delivery() -> FakeStore {
    let store = store_with_event(&["order.confirmed"]);
    store.add_delivery("dlv_1", "evt_1", "erp", DeliveryStatus::Pending, 0);
    store
}

fn attempt(store: &FakeStore, receiver: &FakeReceiver, attempts_before: i64) -> (Settle, Delivery) {
    let settle = attempted(store, receiver, attempts_before).settle;
    (settle, store.delivery_now("dlv_1"))
}

fn attempted(store: &FakeStore, receiver: &FakeReceiver, attempts_before: i64) -> Attempted {
    store.deliveries.borrow_mut()[0].attempts = attempts_before;
    block_on(attempt_delivery(
        store,
        receiver,
        &FakeClock::at(T0),
        POLICY,
        "dlv_1",
    ))
    .unwrap()
}

// ---------------------------------------------------------------------------------------------
// Destinations
// ---------------------------------------------------------------------------------------------

#[test]
fn a_destination_url_must_be_public_https() {
    for bad in [
        "http://erp.example.com/hook",
        "https://10.0.0.1/hook",
        "ftp://erp.example.com/",
    ] {
        assert!(
            matches!(
                DestinationUrl::parse(bad, false),
                Err(ForwardingRefusal::BadUrl(_))
            ),
            "{bad}"
        );
    }
    assert_eq!(
        DestinationUrl::parse("  https://erp.example.com/hook ", false)
            .unwrap()
            .as_str(),
        "https://erp.example.com/hook"
    );
    assert!(
        DestinationUrl::parse("http://127.0.0.1:9000/hook", true).is_ok(),
        "loopback when local development allows it"
    );
}

#[test]
fn a_destination_subscribes_to_at_least_one_known_event_type_or_star() {
    assert_eq!(EventTypes::parse(&[]), Err(ForwardingRefusal::NoEventTypes));
    assert_eq!(
        EventTypes::parse(&["order.confirmed", "order.shipped"]),
        Err(ForwardingRefusal::UnknownEventType { index: 1 })
    );
    assert!(EventTypes::parse(&["*"]).is_ok());
    let every: Vec<&str> = EventType::ALL.iter().map(|t| t.as_str()).collect();
    assert!(EventTypes::parse(&every).is_ok());
}

#[test]
fn a_new_destination_shows_its_secret_once_and_an_update_keeps_secret_and_creation_time() {
    let store = FakeStore::default();
    let created = put(
        &store,
        &FakeClock::at(T0),
        "erp",
        spec("https://erp.example.com/hook", &["*"]),
    );
    assert!(created.created);
    let secret = created.secret.clone().unwrap();
    assert!(secret.starts_with("whsec_"));
    assert_eq!(store.stored("erp").unwrap().secret, secret);

    let updated = put(
        &store,
        &FakeClock::at(T0 + HOUR),
        "erp",
        spec("https://erp.example.com/v2", &["order.placed"]),
    );
    assert!(!updated.created);
    assert_eq!(updated.secret, None);
    assert_eq!(updated.destination.created_at, "2026-11-29T10:00:00.000Z");
    assert_eq!(updated.destination.updated_at, "2026-11-29T11:00:00.000Z");
    assert_eq!(store.stored("erp").unwrap().secret, secret);
    assert_eq!(
        block_on(get_destination(&store, "erp")).unwrap().url,
        "https://erp.example.com/v2"
    );
}

#[test]
fn reading_deleting_or_rotating_an_unknown_destination_is_not_found() {
    let store = FakeStore::default();
    let not_found = Err(ForwardingRefusal::DestinationNotFound("nope".into()));
    assert_eq!(block_on(get_destination(&store, "nope")), not_found);
    assert_eq!(
        block_on(delete_destination(&store, "nope")),
        Err(ForwardingRefusal::DestinationNotFound("nope".into()))
    );
    let rotated = block_on(rotate_secret(
        &store,
        &FakeClock::at(T0),
        &CountingSecrets(Cell::new(9)),
        "nope",
    ));
    assert_eq!(rotated.map(|s| s.destination), not_found);
}

#[test]
fn destinations_are_listed_by_id_and_a_deleted_one_is_gone() {
    let store = FakeStore::default();
    for id in ["wms", "erp", "crm"] {
        put(
            &store,
            &FakeClock::at(T0),
            id,
            spec("https://erp.example.com/hook", &["*"]),
        );
    }
    block_on(delete_destination(&store, "erp")).unwrap();
    let all = PageRequest::parse(None, None).unwrap();
    let ids: Vec<String> = block_on(list_destinations(&store, &all))
        .unwrap()
        .data
        .into_iter()
        .map(|d| d.id)
        .collect();
    assert_eq!(ids, ["crm", "wms"]);
}

#[test]
fn destinations_page_with_a_cursor() {
    let store = FakeStore::default();
    for id in ["wms", "erp", "crm", "pim", "oms"] {
        put(
            &store,
            &FakeClock::at(T0),
            id,
            spec("https://erp.example.com/hook", &["*"]),
        );
    }
    let mut seen = vec![];
    let mut cursor: Option<String> = None;
    loop {
        let page = PageRequest::parse(Some("2"), cursor.as_deref()).unwrap();
        let got = block_on(list_destinations(&store, &page)).unwrap();
        assert!(got.data.len() <= 2);
        seen.extend(got.data.into_iter().map(|d| d.id));
        match got.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    assert_eq!(seen, ["crm", "erp", "oms", "pim", "wms"]);
}

#[test]
fn a_rotated_secret_keeps_signing_alongside_the_new_one_for_24_hours() {
    let store = one_pending_delivery();
    let old = store.stored("erp").unwrap().secret;
    let rotated = block_on(rotate_secret(
        &store,
        &FakeClock::at(T0),
        &CountingSecrets(Cell::new(7)),
        "erp",
    ))
    .unwrap();
    let fresh = rotated.secret.clone().unwrap();
    assert_ne!(fresh, old);
    assert_eq!(rotated.destination.updated_at, "2026-11-29T10:00:00.000Z");
    let stored = store.stored("erp").unwrap();
    assert_eq!(
        (stored.secret.as_str(), stored.previous_secret.as_deref()),
        (fresh.as_str(), Some(old.as_str()))
    );
    assert_eq!(
        stored.previous_expires_at.as_deref(),
        Some("2026-11-30T10:00:00.000Z")
    );

    let signatures_at = |ms: f64| {
        let receiver = FakeReceiver::answering(Ok(500));
        store.deliveries.borrow_mut()[0].status = DeliveryStatus::Pending;
        block_on(attempt_delivery(
            &store,
            &receiver,
            &FakeClock::at(ms),
            POLICY,
            "dlv_1",
        ))
        .unwrap();
        let sent = receiver.got.borrow()[0].clone();
        sent.signature.split(' ').count()
    };
    assert_eq!(
        signatures_at(T0 + 23.0 * HOUR),
        2,
        "both secrets sign within the window"
    );
    assert_eq!(
        signatures_at(T0 + 25.0 * HOUR),
        1,
        "only the new one after it"
    );
}

// ---------------------------------------------------------------------------------------------
// Deliveries, replay, feed
// ---------------------------------------------------------------------------------------------

#[test]
fn replaying_a_dead_delivery_sets_the_same_delivery_back_to_pending_and_queues_it() {
    let store = one_pending_delivery();
    store.deliveries.borrow_mut()[0].status = DeliveryStatus::Dead;
    store.deliveries.borrow_mut()[0].attempts = 3;
    let queue = FakeQueue::default();
    let replayed = block_on(replay(&store, &queue, &FakeClock::at(T0), "dlv_1")).unwrap();
    assert_eq!(
        (replayed.id.as_str(), replayed.status, replayed.attempts),
        ("dlv_1", DeliveryStatus::Pending, 0)
    );
    assert_eq!(replayed.updated_at, "2026-11-29T10:00:00.000Z");
    assert_eq!(*queue.0.borrow(), ["dlv_1"]);
}

#[test]
fn replaying_an_unknown_delivery_is_not_found_and_queues_nothing() {
    let store = FakeStore::default();
    let queue = FakeQueue::default();
    let refused = block_on(replay(&store, &queue, &FakeClock::at(T0), "dlv_x"));
    assert_eq!(
        refused,
        Err(ForwardingRefusal::DeliveryNotFound("dlv_x".into()))
    );
    assert!(queue.0.borrow().is_empty());
}

#[test]
fn deliveries_list_newest_first_by_status_and_page_with_a_cursor() {
    let store = FakeStore::default();
    for (i, status) in [
        DeliveryStatus::Dead,
        DeliveryStatus::Delivered,
        DeliveryStatus::Dead,
        DeliveryStatus::Dead,
    ]
    .into_iter()
    .enumerate()
    {
        store.add_delivery(&format!("dlv_{i}"), "evt_1", "erp", status, 1);
        store.deliveries.borrow_mut()[i].created_at = format!("2026-11-29T10:00:0{i}.000Z");
    }
    let dead = DeliveryFilter {
        status: Some(DeliveryStatus::Dead),
        destination_id: None,
    };
    let first = PageRequest::parse(Some("2"), None).unwrap();
    let page = block_on(list_deliveries(&store, dead.clone(), &first)).unwrap();
    let ids: Vec<&str> = page.data.iter().map(|d| d.id.as_str()).collect();
    assert_eq!(ids, ["dlv_3", "dlv_2"]);
    let next = PageRequest::parse(Some("2"), page.next_cursor.as_deref()).unwrap();
    let page = block_on(list_deliveries(&store, dead, &next)).unwrap();
    let ids: Vec<&str> = page.data.iter().map(|d| d.id.as_str()).collect();
    assert_eq!((ids, page.next_cursor), (vec!["dlv_0"], None));
    assert_eq!(
        DeliveryStatus::parse("failed"),
        Err(ForwardingRefusal::BadStatusFilter)
    );
}

#[test]
fn the_feed_resumes_after_its_cursor_and_stays_put_when_nothing_is_new() {
    let store = FakeStore::default();
    for i in 1..=3 {
        store.add_event(&format!("evt_{i}"), "order.placed");
    }
    let first = block_on(events(&store, FeedPosition::parse(None).unwrap(), 2)).unwrap();
    assert_eq!(first.data.len(), 2);
    let after = FeedPosition::parse(Some(&first.next_cursor)).unwrap();
    let rest = block_on(events(&store, after, 2)).unwrap();
    assert_eq!(
        rest.data,
        [serde_json::json!({"id": "evt_3", "type": "order.placed"})]
    );
    let end = FeedPosition::parse(Some(&rest.next_cursor)).unwrap();
    let nothing = block_on(events(&store, end, 2)).unwrap();
    assert!(nothing.data.is_empty());
    assert_eq!(nothing.next_cursor, rest.next_cursor);
    assert_eq!(
        FeedPosition::parse(Some("e:2")),
        Err(ForwardingRefusal::BadFeedCursor)
    );
}

// ---------------------------------------------------------------------------------------------
// Fan-out
// ---------------------------------------------------------------------------------------------

#[test]
fn an_event_fans_out_to_subscribed_and_wildcard_destinations_and_not_to_disabled_ones() {
    let store = FakeStore::default();
    let clock = FakeClock::at(T0);
    put(
        &store,
        &clock,
        "erp",
        spec("https://erp.example.com/hook", &["order.confirmed"]),
    );
    put(
        &store,
        &clock,
        "all",
        spec("https://all.example.com/hook", &["*"]),
    );
    put(
        &store,
        &clock,
        "wms",
        spec("https://wms.example.com/hook", &["inventory.low"]),
    );
    put(
        &store,
        &clock,
        "off",
        DestinationSpec {
            enabled: false,
            ..spec("https://off.example.com/hook", &["*"])
        },
    );
    store.add_event("evt_1", "order.confirmed");
    let queue = FakeQueue::default();
    block_on(fan_out(&store, &queue, &clock, "evt_1")).unwrap();
    assert_eq!(*queue.0.borrow(), ["dlv_evt_1_erp", "dlv_evt_1_all"]);
    let delivered_to: Vec<String> = store
        .deliveries
        .borrow()
        .iter()
        .map(|d| d.destination_id.clone())
        .collect();
    assert_eq!(delivered_to, ["erp", "all"]);
    assert!(store
        .deliveries
        .borrow()
        .iter()
        .all(|d| d.status == DeliveryStatus::Pending && d.attempts == 0));
}

#[test]
fn a_redelivered_event_creates_and_queues_nothing_new() {
    let store = one_pending_delivery();
    store.deliveries.borrow_mut().clear();
    let queue = FakeQueue::default();
    block_on(fan_out(&store, &queue, &FakeClock::at(T0), "evt_1")).unwrap();
    block_on(fan_out(&store, &queue, &FakeClock::at(T0), "evt_1")).unwrap();
    assert_eq!(queue.0.borrow().len(), 1);
    assert_eq!(store.deliveries.borrow().len(), 1);
}

#[test]
fn the_subscription_rule_is_enabled_and_the_type_or_star() {
    let d = |events: &[&str], enabled: bool| Destination {
        id: "d".into(),
        url: "https://x.example.com/".into(),
        events: events.iter().map(|e| e.to_string()).collect(),
        enabled,
        disabled_reason: None,
        filter: EventFilter::default(),
        created_at: String::new(),
        updated_at: String::new(),
    };
    assert!(d(&["order.placed"], true).receives("order.placed"));
    assert!(d(&["*"], true).receives("inventory.low"));
    assert!(!d(&["order.placed"], true).receives("order.canceled"));
    assert!(!d(&["*"], false).receives("order.placed"));
}

/// An enabled destination of every event type, with `filter`.
fn filtered(id: &str, filter: serde_json::Value) -> Destination {
    Destination {
        id: id.into(),
        url: format!("https://{id}.example.com/"),
        events: vec!["*".into()],
        enabled: true,
        disabled_reason: None,
        filter: EventFilter::parse(Some(&filter)).unwrap(),
        created_at: String::new(),
        updated_at: String::new(),
    }
}

#[test]
fn a_location_filter_passes_orders_allocated_there_and_stock_there_only() {
    let wms = filtered("wms-lyon", json!({"locations": ["lyon", "nj"]}));
    let order = |locations: &[&str]| {
        json!({"lines": [
            {"sku": "A", "allocations": []},
            {"sku": "B", "allocations": locations.iter().map(|l| json!({"location": l, "quantity": 1})).collect::<Vec<_>>()}
        ]})
    };
    assert!(
        wms.wants("order.placed", &order(&["main", "lyon"])),
        "a split order with a part at Lyon"
    );
    assert!(!wms.wants("order.placed", &order(&["main"])));
    assert!(
        !wms.wants("order.placed", &order(&[])),
        "nothing allocated anywhere"
    );
    let mut edited = order(&["main"]);
    edited["edit"] = json!({"before": order(&["lyon"])});
    assert!(
        wms.wants("order.edited", &edited),
        "an edit that took a line away from Lyon is heard at Lyon"
    );
    assert!(wms.wants("inventory.low", &json!({"sku": "A", "location": "nj"})));
    assert!(
        !wms.wants("inventory.low", &json!({"sku": "A", "location": null})),
        "the total is no one location's"
    );
    let everyone = Destination {
        filter: EventFilter::default(),
        ..wms.clone()
    };
    assert!(everyone.wants("order.placed", &order(&[])));
    assert_eq!(everyone.filter.view(), serde_json::Value::Null);
    for (bad, field) in [
        (json!({"locations": []}), "filter.locations"),
        (json!({"locations": ["no place"]}), "filter.locations[0]"),
        (json!({"channels": []}), "filter.channels"),
        (json!({"channels": ["no place"]}), "filter.channels[0]"),
        (json!({"stores": ["lyon"]}), "filter.stores"),
        (json!({}), "filter"),
        (json!(["lyon"]), "filter"),
    ] {
        assert_eq!(
            EventFilter::parse(Some(&bad)).unwrap_err().field,
            field,
            "{bad}"
        );
    }
    assert_eq!(
        EventFilter::parse(Some(&serde_json::Value::Null)).unwrap(),
        EventFilter::default()
    );
}

#[test]
fn a_channel_filter_passes_only_that_channels_orders_and_with_locations_both_must_hold() {
    let connector = filtered("amazon", json!({"channels": ["amazon-fr"]}));
    let order = |channel: &str, location: &str| json!({"channel": channel, "lines": [{"sku": "A", "allocations": [{"location": location, "quantity": 1}]}]});
    assert!(connector.wants("order.placed", &order("amazon-fr", "main")));
    assert!(!connector.wants("order.placed", &order("web", "main")));
    assert!(
        !connector.wants("inventory.low", &json!({"sku": "A", "location": "main"})),
        "stock events belong to no channel"
    );
    assert_eq!(connector.filter.view(), json!({"channels": ["amazon-fr"]}));
    let both = EventFilter::parse(Some(
        &json!({"channels": ["amazon-fr"], "locations": ["lyon"]}),
    ))
    .unwrap();
    assert!(both.matches(&order("amazon-fr", "lyon")));
    assert!(!both.matches(&order("amazon-fr", "main")));
    assert!(!both.matches(&order("web", "lyon")));
    assert_eq!(
        both.view(),
        json!({"locations": ["lyon"], "channels": ["amazon-fr"]})
    );
}

// ---------------------------------------------------------------------------------------------
// Attempts
// ---------------------------------------------------------------------------------------------

#[test]
fn an_attempt_posts_the_event_signed_with_its_id_as_webhook_id() {
    let store = one_pending_delivery();
    let receiver = FakeReceiver::answering(Ok(204));
    attempt(&store, &receiver, 0);
    let sent = receiver.got.borrow()[0].clone();
    assert_eq!(
        (sent.url.as_str(), sent.id.as_str()),
        ("https://erp.example.com/hook", "evt_1")
    );
    assert_eq!(sent.timestamp, (T0 / 1000.0) as i64);
    assert_eq!(sent.body, r#"{"id":"evt_1","type":"order.confirmed"}"#);
    let secret = store.stored("erp").unwrap().secret;
    let expected = comptoir::domain::webhook::signature_header(
        &[&secret],
        "evt_1",
        sent.timestamp,
        &sent.body,
    );
    assert_eq!(Some(sent.signature), expected);
}

#[test]
fn a_2xx_answer_delivers() {
    let store = one_pending_delivery();
    let (settle, d) = attempt(&store, &FakeReceiver::answering(Ok(200)), 0);
    assert_eq!(settle, Settle::Ack);
    assert_eq!(
        (d.status, d.attempts, d.last_status_code, d.last_error),
        (DeliveryStatus::Delivered, 1, Some(200), None)
    );
}

#[test]
fn a_5xx_answer_retries_with_a_delay_that_triples() {
    let store = one_pending_delivery();
    let (settle, d) = attempt(&store, &FakeReceiver::answering(Ok(503)), 0);
    assert_eq!(settle, Settle::RetryIn(10));
    assert_eq!(
        (d.status, d.attempts, d.last_status_code),
        (DeliveryStatus::Pending, 1, Some(503))
    );
    assert_eq!(
        d.last_error.as_deref(),
        Some("the destination answered 503")
    );
    let (settle, _) = attempt(&store, &FakeReceiver::answering(Ok(429)), 1);
    assert_eq!(settle, Settle::RetryIn(30));
}

#[test]
fn a_network_error_retries_and_is_kept_as_the_last_error() {
    let store = one_pending_delivery();
    let (settle, d) = attempt(
        &store,
        &FakeReceiver::answering(Err("no answer within 10 s".into())),
        0,
    );
    assert_eq!(settle, Settle::RetryIn(10));
    assert_eq!(
        (d.status, d.last_status_code, d.last_error.as_deref()),
        (DeliveryStatus::Pending, None, Some("no answer within 10 s"))
    );
}

#[test]
fn the_last_allowed_attempt_that_fails_goes_dead() {
    let store = one_pending_delivery();
    let (settle, d) = attempt(&store, &FakeReceiver::answering(Ok(500)), 2);
    assert_eq!(settle, Settle::Ack);
    assert_eq!((d.status, d.attempts), (DeliveryStatus::Dead, 3));
}

#[test]
fn a_4xx_other_than_408_and_429_goes_dead_at_once() {
    let store = one_pending_delivery();
    let (settle, d) = attempt(&store, &FakeReceiver::answering(Ok(404)), 0);
    assert_eq!(settle, Settle::Ack);
    assert_eq!(
        (d.status, d.attempts, d.last_status_code),
        (DeliveryStatus::Dead, 1, Some(404))
    );
    assert_eq!(
        d.last_error.as_deref(),
        Some("the destination answered 404")
    );
}

/// One pending delivery to `erp`, which has been switched off.
fn one_pending_delivery_to_a_disabled_destination() -> FakeStore {
    let store = one_pending_delivery();
    put(
        &store,
        &FakeClock::at(T0),
        "erp",
        DestinationSpec {
            enabled: false,
            ..spec("https://erp.example.com/hook", &["*"])
        },
    );
    store
}

#[test]
fn a_delivery_to_a_disabled_destination_goes_dead_unsent() {
    let store = one_pending_delivery_to_a_disabled_destination();
    let receiver = FakeReceiver::answering(Ok(200));
    let (settle, d) = attempt(&store, &receiver, 1);
    assert_eq!(settle, Settle::Ack);
    assert!(receiver.got.borrow().is_empty());
    assert_eq!(
        (d.status, d.attempts, d.last_error.as_deref()),
        (DeliveryStatus::Dead, 1, Some("destination disabled"))
    );
}

#[test]
fn a_delivery_whose_destination_is_gone_goes_dead_unsent() {
    let store = one_pending_delivery();
    block_on(delete_destination(&store, "erp")).unwrap();
    let receiver = FakeReceiver::answering(Ok(200));
    let (_, d) = attempt(&store, &receiver, 0);
    assert!(receiver.got.borrow().is_empty());
    assert_eq!(
        (d.status, d.last_error.as_deref()),
        (
            DeliveryStatus::Dead,
            Some("the destination or the event no longer exists")
        )
    );
}

#[test]
fn a_delivery_already_delivered_is_not_sent_again() {
    let store = one_pending_delivery();
    store.deliveries.borrow_mut()[0].status = DeliveryStatus::Delivered;
    let receiver = FakeReceiver::answering(Ok(200));
    let (settle, d) = attempt(&store, &receiver, 1);
    assert_eq!(settle, Settle::Ack);
    assert!(receiver.got.borrow().is_empty());
    assert_eq!((d.status, d.attempts), (DeliveryStatus::Delivered, 1));
}

#[test]
fn each_attempt_says_what_it_came_to_for_the_metrics() {
    let came_to = |answer: Result<u16, String>, attempts_before| {
        let store = one_pending_delivery();
        attempted(&store, &FakeReceiver::answering(answer), attempts_before)
            .outcome
            .map(|o| (o.result, o.status_code, o.attempt, o.destination_id))
    };
    let erp = || "erp".to_string();
    use AttemptResult::*;
    assert_eq!(came_to(Ok(200), 0), Some((Delivered, Some(200), 1, erp())));
    assert_eq!(came_to(Ok(503), 0), Some((Failed, Some(503), 1, erp())));
    assert_eq!(
        came_to(Err("no answer".into()), 1),
        Some((Failed, None, 2, erp()))
    );
    assert_eq!(came_to(Ok(500), 2), Some((Dead, Some(500), 3, erp())));
    assert_eq!(came_to(Ok(404), 0), Some((Dead, Some(404), 1, erp())));

    // Dead unsent: no attempt counted, no answer.
    let store = one_pending_delivery_to_a_disabled_destination();
    let outcome = attempted(&store, &FakeReceiver::answering(Ok(200)), 1).outcome;
    assert_eq!(
        outcome.map(|o| (o.result, o.status_code, o.attempt)),
        Some((Dead, None, 1))
    );
    // Nothing to attempt: nothing to count.
    let store = one_pending_delivery();
    store.deliveries.borrow_mut()[0].status = DeliveryStatus::Delivered;
    assert_eq!(
        attempted(&store, &FakeReceiver::answering(Ok(200)), 1).outcome,
        None
    );
}

// ---------------------------------------------------------------------------------------------
// Nothing stranded (API.md Hardening rules)
// ---------------------------------------------------------------------------------------------

#[test]
fn a_fan_out_whose_queue_send_failed_hands_its_deliveries_over_when_the_message_comes_again() {
    let store = store_with_event(&["*"]);
    let clock = FakeClock::at(T0);
    // The send fails after the deliveries are written: the message is retried.
    assert!(block_on(fan_out(&store, &FakeQueue::down(), &clock, "evt_1")).is_err());
    assert_eq!(store.deliveries.borrow().len(), 1);
    // The retried message creates nothing new, but hands over the delivery left behind.
    let queue = FakeQueue::default();
    block_on(fan_out(&store, &queue, &clock, "evt_1")).unwrap();
    assert_eq!(*queue.0.borrow(), ["dlv_evt_1_erp"]);
    assert_eq!(store.deliveries.borrow().len(), 1);
    // And once handed over, a third copy of the message queues nothing.
    let again = FakeQueue::default();
    block_on(fan_out(&store, &again, &clock, "evt_1")).unwrap();
    assert!(again.0.borrow().is_empty());
}

#[test]
fn the_sweeper_hands_over_deliveries_never_queued_and_long_overdue_and_leaves_the_rest() {
    let store = store_with_event(&["*"]);
    let at = |minutes: f64| FakeClock::at(T0 + minutes * 60_000.0);
    for (id, status) in [
        ("dlv_never", DeliveryStatus::Pending), // written, never handed over
        ("dlv_fresh", DeliveryStatus::Pending), // written just now: fan-out may still send it
        ("dlv_queued", DeliveryStatus::Pending), // handed over, due soon
        ("dlv_lost", DeliveryStatus::Pending),  // handed over, 20 minutes past due
        ("dlv_done", DeliveryStatus::Delivered),
        ("dlv_dead", DeliveryStatus::Dead),
    ] {
        store.add_delivery(id, "evt_1", "erp", status, 0);
    }
    let now = at(30.0);
    for d in store.deliveries.borrow_mut().iter_mut() {
        d.updated_at = if d.id == "dlv_fresh" {
            now.now()
        } else {
            at(0.0).now()
        };
    }
    store
        .due
        .borrow_mut()
        .insert("dlv_queued".into(), at(31.0).now());
    store
        .due
        .borrow_mut()
        .insert("dlv_lost".into(), at(10.0).now());
    let queue = FakeQueue::default();
    let handed = block_on(hand_over_stranded(&store, &queue, &now, 60)).unwrap();
    assert_eq!(handed, 2);
    assert_eq!(
        *queue.0.borrow(),
        ["dlv_lost", "dlv_never"],
        "oldest change first, then by id"
    );
    // Handed over now: the next sweep leaves them to the queue.
    let next = FakeQueue::default();
    assert_eq!(
        block_on(hand_over_stranded(&store, &next, &at(30.5), 60)).unwrap(),
        0
    );
    // A sweep whose send fails leaves them for the next one.
    store.due.borrow_mut().remove("dlv_never");
    assert!(block_on(hand_over_stranded(
        &store,
        &FakeQueue::down(),
        &at(32.0),
        60
    ))
    .is_err());
    let later = FakeQueue::default();
    block_on(hand_over_stranded(&store, &later, &at(33.0), 60)).unwrap();
    assert!(later.0.borrow().contains(&"dlv_never".to_string()));
}

#[test]
fn a_replay_whose_queue_send_fails_is_accepted_and_left_to_the_sweeper() {
    let store = one_pending_delivery();
    store.deliveries.borrow_mut()[0].status = DeliveryStatus::Dead;
    let replayed = block_on(replay(
        &store,
        &FakeQueue::down(),
        &FakeClock::at(T0),
        "dlv_1",
    ))
    .unwrap();
    assert_eq!(replayed.status, DeliveryStatus::Pending);
    let queue = FakeQueue::default();
    let later = FakeClock::at(T0 + 120_000.0);
    assert_eq!(
        block_on(hand_over_stranded(&store, &queue, &later, 60)).unwrap(),
        1
    );
    assert_eq!(*queue.0.borrow(), ["dlv_1"]);
}

#[test]
fn replay_dead_sets_every_dead_delivery_of_the_destination_back_to_pending_in_queue_sized_sends() {
    let store = store_with_event(&["*"]);
    put(
        &store,
        &FakeClock::at(T0),
        "crm",
        spec("https://crm.example.com/hook", &["*"]),
    );
    for i in 0..150 {
        store.add_delivery(
            &format!("dlv_{i:03}"),
            "evt_1",
            "erp",
            DeliveryStatus::Dead,
            8,
        );
    }
    store.add_delivery("dlv_ok", "evt_1", "erp", DeliveryStatus::Delivered, 1);
    store.add_delivery("dlv_crm", "evt_1", "crm", DeliveryStatus::Dead, 8);
    let queue = FakeQueue::default();
    let n = block_on(replay_dead(&store, &queue, &FakeClock::at(T0), "erp")).unwrap();
    assert_eq!(n, 150);
    assert_eq!(
        queue.0.borrow().len(),
        150,
        "all queued, in sends of at most 100"
    );
    let statuses: Vec<(String, DeliveryStatus, i64)> = store
        .deliveries
        .borrow()
        .iter()
        .map(|d| (d.id.clone(), d.status, d.attempts))
        .collect();
    assert!(statuses
        .iter()
        .filter(|(id, _, _)| id.starts_with("dlv_0") || id.starts_with("dlv_1"))
        .all(|(_, s, a)| *s == DeliveryStatus::Pending && *a == 0));
    assert!(
        statuses.contains(&("dlv_crm".into(), DeliveryStatus::Dead, 8)),
        "other destinations untouched"
    );
    assert!(statuses.contains(&("dlv_ok".into(), DeliveryStatus::Delivered, 1)));
    assert_eq!(
        block_on(replay_dead(&store, &queue, &FakeClock::at(T0), "nope")),
        Err(ForwardingRefusal::DestinationNotFound("nope".into()))
    );
}

// ---------------------------------------------------------------------------------------------
// Redirects and failing destinations (API.md Hardening rules)
// ---------------------------------------------------------------------------------------------

#[test]
fn a_redirect_is_not_followed_and_goes_dead_at_once_naming_it() {
    let store = one_pending_delivery();
    let receiver = FakeReceiver::answer(Ok(Answer {
        status: 307,
        location: Some("https://attacker.example/steal".into()),
    }));
    let (settle, d) = attempt(&store, &receiver, 0);
    assert_eq!(settle, Settle::Ack);
    assert_eq!(
        receiver.got.borrow().len(),
        1,
        "one POST, to the destination only"
    );
    assert_eq!(
        (d.status, d.attempts, d.last_status_code),
        (DeliveryStatus::Dead, 1, Some(307))
    );
    let error = d.last_error.unwrap();
    assert!(
        error.contains("redirect") && error.contains("https://attacker.example/steal"),
        "{error}"
    );
}

#[test]
fn a_410_gone_disables_the_destination_and_its_next_delivery_goes_dead_unsent() {
    let store = one_pending_delivery();
    let (_, d) = attempt(&store, &FakeReceiver::answering(Ok(410)), 0);
    assert_eq!(
        (d.status, d.last_status_code),
        (DeliveryStatus::Dead, Some(410))
    );
    let erp = block_on(get_destination(&store, "erp")).unwrap();
    assert_eq!(
        (erp.enabled, erp.disabled_reason),
        (false, Some(DisabledReason::Gone))
    );
    // The next one is not sent.
    store.add_delivery("dlv_2", "evt_1", "erp", DeliveryStatus::Pending, 0);
    let receiver = FakeReceiver::answering(Ok(200));
    block_on(attempt_delivery(
        &store,
        &receiver,
        &FakeClock::at(T0),
        POLICY,
        "dlv_2",
    ))
    .unwrap();
    assert!(receiver.got.borrow().is_empty());
    let d2 = store.delivery_now("dlv_2");
    assert_eq!(
        (d2.status, d2.last_error.as_deref()),
        (DeliveryStatus::Dead, Some("destination disabled"))
    );
    // Enabling it by PUT clears the reason.
    put(
        &store,
        &FakeClock::at(T0),
        "erp",
        spec("https://erp.example.com/hook", &["order.confirmed"]),
    );
    let erp = block_on(get_destination(&store, "erp")).unwrap();
    assert_eq!((erp.enabled, erp.disabled_reason), (true, None));
}

#[test]
fn disable_after_dead_deliveries_in_a_row_disables_as_failing_and_a_success_resets_the_run() {
    let store = one_pending_delivery();
    let run = |answer: u16, n: usize| {
        for i in 0..n {
            let id = format!("dlv_{answer}_{i}_{}", store.deliveries.borrow().len());
            store.add_delivery(&id, "evt_1", "erp", DeliveryStatus::Pending, 0);
            block_on(attempt_delivery(
                &store,
                &FakeReceiver::answering(Ok(answer)),
                &FakeClock::at(T0),
                POLICY,
                &id,
            ))
            .unwrap();
        }
    };
    let erp = || block_on(get_destination(&store, "erp")).unwrap();
    run(400, 2);
    run(200, 1); // the run starts again
    run(400, 2);
    assert!(
        erp().enabled,
        "two in a row, then two: under the limit of three"
    );
    // A retryable failure is not a dead delivery until its attempts are spent.
    store.add_delivery("dlv_retry", "evt_1", "erp", DeliveryStatus::Pending, 0);
    attempt_on(&store, "dlv_retry", 503, 0);
    assert!(erp().enabled);
    attempt_on(&store, "dlv_retry", 503, 2); // the last attempt: dead, third in a row
    let disabled = erp();
    assert_eq!(
        (disabled.enabled, disabled.disabled_reason),
        (false, Some(DisabledReason::Failing))
    );
    // Disabled by hand, the reason stays null; enabled again, the run starts from zero.
    put(
        &store,
        &FakeClock::at(T0),
        "erp",
        DestinationSpec {
            enabled: false,
            ..spec("https://erp.example.com/hook", &["*"])
        },
    );
    assert_eq!(
        erp().disabled_reason,
        Some(DisabledReason::Failing),
        "kept while it stays disabled"
    );
    put(
        &store,
        &FakeClock::at(T0),
        "erp",
        spec("https://erp.example.com/hook", &["*"]),
    );
    assert_eq!((erp().enabled, erp().disabled_reason), (true, None));
    run(400, 2);
    assert!(erp().enabled);
}

fn attempt_on(store: &FakeStore, id: &str, answer: u16, attempts_before: i64) {
    store
        .deliveries
        .borrow_mut()
        .iter_mut()
        .find(|d| d.id == id)
        .unwrap()
        .attempts = attempts_before;
    block_on(attempt_delivery(
        store,
        &FakeReceiver::answering(Ok(answer)),
        &FakeClock::at(T0),
        POLICY,
        id,
    ))
    .unwrap();
}

#[test]
fn the_url_is_checked_again_before_every_attempt() {
    let store = one_pending_delivery();
    // Stored before the rule caught this spelling (or written around the API).
    store.destinations.borrow_mut()[0].destination.url = "https://167772161/hook".into();
    let receiver = FakeReceiver::answering(Ok(200));
    let (settle, d) = attempt(&store, &receiver, 0);
    assert_eq!(settle, Settle::Ack);
    assert!(receiver.got.borrow().is_empty(), "nothing sent to 10.0.0.1");
    assert_eq!(d.status, DeliveryStatus::Dead);
    assert!(d.last_error.unwrap().contains("private"));
}

#[test]
fn a_scheduled_retry_records_when_it_is_due() {
    let store = one_pending_delivery();
    let (settle, _) = attempt(&store, &FakeReceiver::answering(Ok(503)), 0);
    assert_eq!(settle, Settle::RetryIn(10));
    assert_eq!(
        store.due.borrow().get("dlv_1").map(String::as_str),
        Some("2026-11-29T10:00:10.000Z")
    );
}
