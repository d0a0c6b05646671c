//! The request pipeline both Workers share: request id, the D1 session and its bookmark,
//! dispatch, the error envelope, `X-Request-Id` and `Server-Timing` on every response, and one
//! JSON log line per request (written by [`Trace`], also for a request that panics). The
//! response a handler builds is a [`Reply`] (reply.rs).

use crate::http::error::ApiError;
use crate::http::observe::{accepted_request_id, session_start, Timing, BOOKMARK_HEADER};
pub use crate::http::reply::Reply;
use crate::http::trace::Trace;
use crate::store::d1::{Db, Meter};
use js_sys::Date;
use std::cell::RefCell;
use std::rc::Rc;
use worker::kv::KvStore;
use worker::{D1DatabaseSession, Env, Request, Response};

/// What a handler knows about the request it serves.
pub struct Ctx {
    pub env: Env,
    /// For work that runs after the response (handing events to the queue).
    pub worker: worker::Context,
    pub meter: Meter,
    pub request_id: String,
    /// What the request's log line says; shared with the panic hook while it runs.
    trace: Rc<Trace>,
    /// Where the request's D1 session starts: the client's bookmark, or a constraint.
    session_start: String,
    /// The request's D1 session, opened by its first `db()`; every `Db` of the request
    /// shares it, so each query sees the ones before.
    session: RefCell<Option<Rc<D1DatabaseSession>>>,
}

impl Ctx {
    /// Names who the request acts for in its log line: the storefront's channel id, or the
    /// back office's admin token subject (written as `observe::loggable_sub` says).
    pub fn acting_for(&self, principal: &str) {
        self.trace.acting_for(principal);
    }

    /// Hands committed outbox events to the queue after the response is sent; a failure leaves
    /// them for the cron sweeper (nothing is lost: the outbox row is the durable copy).
    pub fn publish_events(&self) {
        let env = self.env.clone();
        self.worker.wait_until(async move {
            if let Err(e) = crate::store::outbox::publish(&env, None).await {
                worker::console_warn!(
                    "outbox: handing events to the queue failed, the sweeper will: {e}"
                );
            }
        });
    }

    /// D1, through the request's session (read replicas; read-your-writes by bookmark).
    pub fn db(&self) -> Result<Db, ApiError> {
        if let Some(session) = self.session.borrow().as_ref() {
            return Ok(Db::in_session(session.clone(), self.meter.clone()));
        }
        let d1 = self.env.d1("DB").map_err(|e| {
            worker::console_error!("[{}] D1 binding `DB` missing: {e}", self.request_id);
            ApiError::internal()
        })?;
        let session = Rc::new(d1.with_session(Some(&self.session_start)).map_err(|e| {
            worker::console_error!("[{}] D1 session: {e}", self.request_id);
            ApiError::unavailable()
        })?);
        *self.session.borrow_mut() = Some(session.clone());
        Ok(Db::in_session(session, self.meter.clone()))
    }

    /// The latest bookmark of the request's session, else the one the client sent.
    fn bookmark(&self) -> Option<String> {
        let latest = self
            .session
            .borrow()
            .as_ref()
            .and_then(|s| s.get_bookmark().ok().flatten());
        latest.or_else(|| Some(self.session_start.clone()).filter(|s| !s.starts_with("first-")))
    }

    pub fn kv(&self) -> Result<KvStore, ApiError> {
        self.env.kv("CATALOG").map_err(|e| {
            worker::console_error!("[{}] KV binding `CATALOG` missing: {e}", self.request_id);
            ApiError::internal()
        })
    }

    /// A plain-text variable, `None` when unset or empty.
    pub fn var(&self, name: &str) -> Option<String> {
        self.env
            .var(name)
            .ok()
            .map(|v| v.to_string())
            .filter(|v| !v.is_empty())
    }

    /// The deployment's settings for the use cases (`app::Settings`).
    pub fn settings(&self) -> crate::app::Settings {
        crate::app::Settings::from_vars(|name| self.var(name))
    }

    /// How long this isolate may reuse what it read from KV (`ISOLATE_CACHE_SECONDS`, see
    /// [`crate::memo`]), in milliseconds.
    pub fn memo_window_ms(&self) -> f64 {
        let var = self.var("ISOLATE_CACHE_SECONDS");
        crate::memo::window_ms(var.as_deref()).unwrap_or_else(|default| {
            thread_local!(static WARNED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) });
            if !WARNED.with(|w| w.replace(true)) {
                worker::console_warn!(
                    "ISOLATE_CACHE_SECONDS is not a whole number of seconds, using {} ms",
                    default
                );
            }
            default
        })
    }
}

/// The current time as RFC 3339 UTC, from the JS clock (`SystemTime` panics on wasm32).
pub fn now_rfc3339() -> String {
    String::from(Date::new_0().to_iso_string())
}

/// `prefix_` and 128 random bits in hex: ids that cannot be guessed or enumerated.
pub fn random_id(prefix: &str) -> String {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).expect("the JS crypto source is always present on Workers");
    let mut id = String::with_capacity(prefix.len() + 33);
    id.push_str(prefix);
    id.push('_');
    for b in bytes {
        id.push_str(&format!("{b:02x}"));
    }
    id
}

/// Runs one request through `handler` and stamps the shared headers on whatever it answers.
pub async fn serve<F, Fut>(
    req: Request,
    env: Env,
    worker: worker::Context,
    handler: F,
) -> worker::Result<Response>
where
    F: FnOnce(Request, Ctx) -> Fut,
    Fut: std::future::Future<Output = (Reply, Ctx)>,
{
    let started = Date::now();
    let request_id =
        accepted_request_id(req.headers().get("X-Request-Id").ok().flatten().as_deref())
            .map(str::to_string)
            .unwrap_or_else(|| random_id("req"));
    let (method, path) = (request_method(&req), req.path());
    let meter = Meter::default();
    let trace = Trace::new(&request_id, &method, &path, started, meter.clone());
    let sent = req.headers().get(BOOKMARK_HEADER).ok().flatten();
    let start = session_start(&method, sent.as_deref());
    let ctx = Ctx {
        env,
        worker,
        meter,
        request_id,
        trace: trace.clone(),
        session_start: start.clone().unwrap_or_default(),
        session: RefCell::new(None),
    };
    let (reply, ctx) = match crate::http::guard::refusal(&method, &path, &ctx) {
        Some(refused) => (refused, ctx),
        None if start.is_none() => (
            Reply::from(ApiError::invalid_parameter(
                BOOKMARK_HEADER,
                "send back the X-Comptoir-Bookmark of an earlier response, as it was",
            )),
            ctx,
        ),
        None => trace.running(handler(req, ctx)).await,
    };
    match (&reply.cause, reply.status) {
        (Some(cause), 500..) => {
            worker::console_error!("[{}] answered {}: {cause}", ctx.request_id, reply.status)
        }
        (None, 500..) => worker::console_error!("[{}] answered {}", ctx.request_id, reply.status),
        (Some(cause), _) => worker::console_warn!("[{}] {cause}", ctx.request_id),
        (None, _) => {}
    }
    let timing = Timing {
        d1_round_trips: ctx.meter.round_trips(),
        d1_ms: ctx.meter.ms(),
        total_ms: Date::now() - started,
    };
    trace.log(reply.status, timing.total_ms);
    let builder = Response::builder()
        .with_status(reply.status)
        .with_header("X-Request-Id", &ctx.request_id)?
        .with_header("Server-Timing", &timing.header_value())?;
    let builder = match ctx.bookmark() {
        Some(bookmark) => builder.with_header(BOOKMARK_HEADER, &bookmark)?,
        None => builder,
    };
    let builder = reply
        .headers
        .iter()
        .try_fold(builder, |b, (name, value)| b.with_header(name, value))?;
    Ok(match reply.body {
        Some(body) => builder
            .with_header("Content-Type", "application/json; charset=utf-8")?
            .fixed(body.into_bytes()),
        None => builder.empty(),
    })
}

/// The request's method exactly as sent. workers-rs maps methods it does not know (such as
/// `QUERY`) to GET, which would let them reach GET handlers instead of answering 405.
pub fn request_method(req: &Request) -> String {
    req.inner().method().to_ascii_uppercase()
}

/// The token of `Authorization: Bearer <token>`.
pub fn bearer(req: &Request) -> Option<String> {
    header(req, "Authorization")
        .and_then(|h| h.strip_prefix("Bearer ").map(|t| t.trim().to_string()))
}

/// Now, for token validation (passed in: jwt-compact's clock feature would panic on wasm32).
pub fn now_chrono() -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp_millis(Date::now() as i64).unwrap_or_default()
}

/// A request header's value, if present and readable.
pub fn header(req: &Request, name: &str) -> Option<String> {
    req.headers().get(name).ok().flatten()
}

/// Reads query parameters; the first occurrence of a name wins.
pub fn query_params(req: &Request) -> Vec<(String, String)> {
    crate::http::query::pairs(&req.inner().url())
}

/// `?limit=&cursor=` as a page request; a bad one is 400 `invalid_parameter`.
pub fn page_request(
    params: &[(String, String)],
) -> Result<crate::domain::pagination::PageRequest, ApiError> {
    Ok(crate::domain::pagination::PageRequest::parse(
        query(params, "limit"),
        query(params, "cursor"),
    )?)
}

pub fn query<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// `GET /health`, `GET /openapi.json` and the test-only panic hook, for either Worker.
pub fn common(
    route: crate::http::routes::Common,
    ctx: &Ctx,
    openapi: &'static str,
) -> Result<Reply, ApiError> {
    use crate::http::routes::Common;
    match route {
        Common::Health => Reply::json(200, &serde_json::json!({ "status": "ok" })),
        Common::OpenApi => Ok(Reply {
            status: 200,
            body: Some(openapi.to_string()),
            headers: Vec::new(),
            cause: None,
            kept: false,
        }),
        Common::TestPanic => {
            if ctx.var("COMPTOIR_TEST_HOOKS").as_deref() == Some("1") {
                panic!("deliberate panic from the test hook");
            }
            Err(ApiError::not_found("no route matches this path"))
        }
    }
}
