//! The one JSON log line of each request: what it says (route pattern, who it acts for, D1
//! round trips, duration) and the request being polled, so that the panic hook can still write
//! the line of a request that panicked.

use crate::http::observe::{RequestLine, Worker};
use crate::store::d1::Meter;
use js_sys::Date;
use std::cell::RefCell;
use std::rc::Rc;

#[cfg(feature = "storefront")]
const WORKER: Worker = Worker::Storefront;
#[cfg(feature = "storefront")]
use crate::http::routes::storefront_pattern as route_pattern;

#[cfg(not(feature = "storefront"))]
const WORKER: Worker = Worker::Backoffice;
#[cfg(not(feature = "storefront"))]
use crate::http::routes::backoffice_pattern as route_pattern;

/// One request as its log line tells it.
pub struct Trace {
    request_id: String,
    route: &'static str,
    method: String,
    started: f64,
    meter: Meter,
    principal: RefCell<Option<String>>,
}

thread_local! {
    /// The request whose future is being polled. A Worker isolate serves concurrent requests
    /// on one thread, one poll at a time, so during a poll this names the request that runs
    /// (and, if it panics, the one that panicked).
    static RUNNING: RefCell<Option<Rc<Trace>>> = const { RefCell::new(None) };
}

/// Unsets [`RUNNING`] when a poll ends.
struct Running;

impl Drop for Running {
    fn drop(&mut self) {
        RUNNING.with(|r| r.borrow_mut().take());
    }
}

impl Trace {
    pub fn new(
        request_id: &str,
        method: &str,
        path: &str,
        started: f64,
        meter: Meter,
    ) -> Rc<Trace> {
        Rc::new(Trace {
            request_id: request_id.to_string(),
            route: route_pattern(method, path),
            method: method.to_string(),
            started,
            meter,
            principal: RefCell::new(None),
        })
    }

    /// Names who the request acts for (a channel id, or a loggable admin subject).
    pub fn acting_for(&self, principal: &str) {
        *self.principal.borrow_mut() = Some(principal.to_string());
    }

    /// Polls `work` with this request marked as running, so a panic in it can still be logged.
    pub async fn running<T>(self: &Rc<Self>, work: impl std::future::Future<Output = T>) -> T {
        let mut work = std::pin::pin!(work);
        std::future::poll_fn(|cx| {
            RUNNING.with(|r| *r.borrow_mut() = Some(self.clone()));
            let _running = Running;
            work.as_mut().poll(cx)
        })
        .await
    }

    /// Writes the request's one log line: one JSON object on one line, to `console.log`.
    pub fn log(&self, status: u16, duration_ms: f64) {
        let principal = self.principal.borrow();
        let line = RequestLine {
            request_id: &self.request_id,
            worker: WORKER,
            route: self.route,
            method: &self.method,
            status,
            d1_round_trips: self.meter.round_trips(),
            duration_ms,
            principal: principal.as_deref(),
        };
        worker::console_log!("{}", line.to_json());
    }
}

/// From the panic hook: the log line of the request that panicked, as the 500 the entry module
/// answers for it (`scripts/worker-entry.mjs`). Nothing when no request was running (a queue
/// batch or a cron tick).
pub fn log_panicked_request() {
    let running = RUNNING.with(|r| r.borrow_mut().take());
    if let Some(trace) = running {
        trace.log(500, Date::now() - trace.started);
    }
}
