//! The Workers implementations of the clock and randomness ports: the JS clock (`SystemTime`
//! panics on wasm32) and the JS crypto source.

use crate::app::forwarding::SecretSource;
use crate::app::ports::{Clock, Ids};
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
