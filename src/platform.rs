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

/// Token signatures checked by the platform's WebCrypto (Ed25519, and ECDSA on P-256 with
/// SHA-256), so the wasm carries no elliptic-curve code of its own.
pub struct WebCrypto;

#[wasm_bindgen::prelude::wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = ["crypto", "subtle"], js_name = importKey, catch)]
    fn import_key(
        format: &str,
        key: &js_sys::Uint8Array,
        algorithm: &js_sys::Object,
        extractable: bool,
        usages: &js_sys::Array,
    ) -> Result<js_sys::Promise, wasm_bindgen::JsValue>;

    #[wasm_bindgen(js_namespace = ["crypto", "subtle"], js_name = verify, catch)]
    fn subtle_verify(
        algorithm: &js_sys::Object,
        key: &wasm_bindgen::JsValue,
        signature: &js_sys::Uint8Array,
        data: &js_sys::Uint8Array,
    ) -> Result<js_sys::Promise, wasm_bindgen::JsValue>;
}

impl crate::auth::jwt::SignatureCheck for WebCrypto {
    async fn verify(
        &self,
        alg: crate::auth::jwt::PublicAlg,
        key: &[u8],
        message: &[u8],
        signature: &[u8],
    ) -> Result<bool, String> {
        use crate::auth::jwt::PublicAlg;
        use worker::wasm_bindgen_futures::JsFuture;
        let object = |pairs: &[(&str, &str)]| {
            let o = js_sys::Object::new();
            for (name, value) in pairs {
                // Setting a property of a fresh plain object cannot fail.
                let _ = js_sys::Reflect::set(&o, &(*name).into(), &(*value).into());
            }
            o
        };
        let (import, check) = match alg {
            PublicAlg::EdDsa => (
                object(&[("name", "Ed25519")]),
                object(&[("name", "Ed25519")]),
            ),
            PublicAlg::Es256 => (
                object(&[("name", "ECDSA"), ("namedCurve", "P-256")]),
                object(&[("name", "ECDSA"), ("hash", "SHA-256")]),
            ),
        };
        let crypto_key = imported_key(alg, key, &import).await?;
        let verified = subtle_verify(
            &check,
            &crypto_key,
            &js_sys::Uint8Array::from(signature),
            &js_sys::Uint8Array::from(message),
        );
        let answer = match verified {
            Ok(promise) => JsFuture::from(promise).await,
            Err(e) => Err(e),
        };
        // A signature WebCrypto cannot even read (not a point, not canonical) is not a valid one.
        Ok(answer.ok().and_then(|v| v.as_bool()) == Some(true))
    }
}

/// A key of a JWK set as WebCrypto imported it, or why it would not: kept for the isolate's
/// life, so a token costs one verification, not an import and a verification.
type Imported = Result<wasm_bindgen::JsValue, String>;

thread_local! {
    static IMPORTED: std::cell::RefCell<Vec<(crate::auth::jwt::PublicAlg, Vec<u8>, Imported)>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

/// `key` (raw) imported for verifying with `alg`, from the isolate's keys when imported before.
async fn imported_key(
    alg: crate::auth::jwt::PublicAlg,
    key: &[u8],
    import: &js_sys::Object,
) -> Imported {
    use worker::wasm_bindgen_futures::JsFuture;
    let known = IMPORTED.with(|keys| {
        keys.borrow()
            .iter()
            .find(|(a, k, _)| *a == alg && k == key)
            .map(|(_, _, imported)| imported.clone())
    });
    if let Some(imported) = known {
        return imported;
    }
    let usages = js_sys::Array::of1(&"verify".into());
    // Copies (`from`), not views of the wasm memory.
    let imported = match import_key(
        "raw",
        &js_sys::Uint8Array::from(key),
        import,
        false,
        &usages,
    ) {
        Ok(promise) => JsFuture::from(promise).await,
        Err(e) => Err(e),
    }
    .map_err(|e| format!("WebCrypto refused the key: {}", js_message(e)));
    IMPORTED.with(|keys| {
        let mut keys = keys.borrow_mut();
        // A set holds a few keys; a bound all the same, should many sets pass through.
        if keys.len() >= 64 {
            keys.clear();
        }
        keys.push((alg, key.to_vec(), imported.clone()));
    });
    imported
}

/// A thrown JS value's message (an `Error`'s, without its stack), for the log.
fn js_message(e: wasm_bindgen::JsValue) -> String {
    use wasm_bindgen::JsCast;
    match e.dyn_into::<js_sys::Error>() {
        Ok(error) => String::from(error.message()),
        Err(other) => other
            .as_string()
            .unwrap_or_else(|| "a non-Error value".into()),
    }
}
