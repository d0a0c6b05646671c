//! The Workers implementations of the clock and randomness ports: the JS clock (`SystemTime`
//! panics on wasm32) and the JS crypto source; and what a cron tick works with. A request's
//! own (with its id in the log, its rate limits) is `http::edge::Edge`.

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
