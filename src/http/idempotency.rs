//! The idempotency middleware (`app::idempotency` decides): claim the key, replay a stored
//! answer or run once, then store the answer (below 500) or give the key up. Costs two D1
//! round trips (claim, store), only when the request sends `Idempotency-Key`.

use crate::app::idempotency::{self, body_hash, decide, keeps, Claim, Claimed, IdempotencyStore};
use crate::app::ports::iso_at;
use crate::domain::cart::CartData;
use crate::http::error::ApiError;
use crate::http::server::{header, now_rfc3339, random_id, Ctx, Reply};
use crate::store::D1Store;
use std::future::Future;
use worker::{Headers, Method, Request, RequestInit};

/// The key a request sends, checked: `None` without the header.
pub fn key_of(req: &Request) -> Result<Option<String>, ApiError> {
    match header(req, "Idempotency-Key") {
        None => Ok(None),
        Some(k) if idempotency::valid_key(&k) => Ok(Some(k)),
        Some(_) => Err(ApiError::invalid_parameter(
            "Idempotency-Key",
            "1 to 255 visible ASCII characters",
        )),
    }
}

/// A claim of `key` for a POST to `path` in `scope` (a channel, or an admin's subject).
pub fn claim(
    scope: &str,
    key: String,
    path: String,
    body_hash: String,
    lease_seconds: f64,
) -> Claim {
    Claim {
        channel: scope.to_string(),
        key,
        method: "POST".into(),
        path,
        body_hash,
        token: random_id("claim"),
        now: now_rfc3339(),
        lease_until: iso_at(js_sys::Date::now() + lease_seconds * 1000.0),
    }
}

/// Runs `run` once for the claim; with `cart`, the claim's round trip reads that cart too and
/// `run` gets it.
pub async fn once<F, Fut>(
    ctx: &Ctx,
    store: &D1Store,
    claim: &Claim,
    cart: Option<&str>,
    run: F,
) -> Result<Reply, ApiError>
where
    F: FnOnce(Option<CartData>) -> Fut,
    Fut: Future<Output = Result<Reply, ApiError>>,
{
    let (record, data) = store.claim(claim, cart).await?;
    match decide(record.as_ref(), &claim.token, &claim.body_hash)? {
        Claimed::Replay { status, body } => {
            return Ok(Reply {
                status,
                body,
                headers: vec![],
                cause: None,
            }
            .header("Idempotent-Replayed", "true"));
        }
        Claimed::Run => {}
    }
    let reply = run(data).await.unwrap_or_else(Reply::from);
    let stored = if keeps(reply.status) {
        let keep_until = iso_at(js_sys::Date::now() + idempotency::KEEP_SECONDS * 1000.0);
        store
            .finish(
                claim,
                reply.status,
                reply.body.as_deref().unwrap_or(""),
                &keep_until,
            )
            .await
    } else {
        store.release(claim).await
    };
    if let Err(e) = stored {
        worker::console_error!(
            "[{}] storing the idempotent response failed: {e}",
            ctx.request_id
        );
    }
    Ok(reply)
}

/// Replay semantics for any POST that sends `Idempotency-Key`: the body is read once to hash
/// it, and `run` gets a copy of the request carrying it.
pub async fn post<F, Fut>(
    req: &mut Request,
    ctx: &Ctx,
    scope: &str,
    key: String,
    lease_seconds: f64,
    run: F,
) -> Result<Reply, ApiError>
where
    F: FnOnce(Request) -> Fut,
    Fut: Future<Output = Result<Reply, ApiError>>,
{
    let bytes = req
        .bytes()
        .await
        .map_err(|_| ApiError::invalid_json("the request body could not be read"))?;
    let headers = Headers::new();
    for (k, v) in req.headers().entries() {
        let _ = headers.append(&k, &v);
    }
    let mut init = RequestInit::new();
    init.with_method(Method::Post)
        .with_headers(headers)
        .with_body(Some(js_sys::Uint8Array::from(bytes.as_slice()).into()));
    let url = req.url().map_err(|e| ApiError::internal().caused_by(e))?;
    let copy = Request::new_with_init(url.as_ref(), &init)
        .map_err(|e| ApiError::internal().caused_by(e))?;
    let claim = claim(scope, key, req.path(), body_hash(&bytes), lease_seconds);
    let store = D1Store { db: ctx.db()? };
    once(ctx, &store, &claim, None, |_| run(copy)).await
}
