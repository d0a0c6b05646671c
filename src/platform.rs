//! The Workers implementations of the clock and randomness ports: the JS clock (`SystemTime`
//! panics on wasm32) and the JS crypto source; what a cron tick works with; and the writer of
//! Analytics Engine data points. A request's own (with its id in the log, its rate limits) is
//! `http::edge::Edge`.

use crate::app::forwarding::SecretSource;
use crate::app::ports::{Clock, Ids, Log, Timer};
use crate::http::server::{now_rfc3339, random_id};

pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> String {
        now_rfc3339()
    }

    fn now_ms(&self) -> f64 {
        js_sys::Date::now()
    }
}

/// Waits on a JS timer (`setTimeout`): the thread is never blocked.
pub struct JsTimer;

impl Timer for JsTimer {
    async fn sleep(&self, ms: f64) {
        worker::Delay::from(std::time::Duration::from_millis(ms.max(0.0) as u64)).await;
    }
}

pub struct RandomIds;

impl Ids for RandomIds {
    fn id(&self, prefix: &str) -> String {
        random_id(prefix)
    }
}

impl SecretSource for RandomIds {
    fn secret_bytes(&self) -> [u8; 24] {
        let mut bytes = [0u8; 24];
        getrandom::fill(&mut bytes).expect("the JS crypto source is always present on Workers");
        bytes
    }
}

/// The clock, ids and log of a cron tick (no request id: lines say `cron:`).
pub struct Cron;

impl Clock for Cron {
    fn now(&self) -> String {
        SystemClock.now()
    }

    fn now_ms(&self) -> f64 {
        SystemClock.now_ms()
    }
}

impl Ids for Cron {
    fn id(&self, prefix: &str) -> String {
        RandomIds.id(prefix)
    }
}

impl Log for Cron {
    fn warn(&self, message: &str) {
        worker::console_warn!("cron: {message}");
    }

    fn error(&self, message: &str) {
        worker::console_error!("cron: {message}");
    }
}

/// Writes `point` to the Workers Analytics Engine dataset bound as `METRICS` (see
/// [`crate::metrics`]). Without the binding (local development: Miniflare provides one only
/// when configured, and its simulator keeps nothing) this does nothing; a write never fails
/// the work it counts (the runtime sends data points after the invocation, unawaited).
pub fn write_metric(env: &worker::Env, point: &crate::metrics::DataPoint) {
    let Ok(dataset) = env.analytics_engine("METRICS") else {
        return;
    };
    let data = worker::AnalyticsEngineDataPointBuilder::new()
        .indexes([point.index])
        .blobs(point.blobs.iter().copied())
        .doubles(point.doubles.iter().copied())
        .build();
    if let Err(e) = dataset.write_data_point(&data) {
        worker::console_warn!("metrics: writing a {} data point failed: {e}", point.index);
    }
}
