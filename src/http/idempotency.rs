//! The Idempotency-Key middleware: `app::idempotency::once` around a handler, the stored
//! answer sent back with `Idempotent-Replayed: true`. Costs two D1 round trips (claim, store),
//! only when the request sends the header; a checkout's (and a draft's completion) store is
//! part of its placement's batch instead.

use crate::app::idempotency::{self, body_hash, Claim, Once};
use crate::domain::cart::CartData;
use crate::http::edge::Edge;
use crate::http::error::ApiError;
use crate::http::reading::read_body;
use crate::http::server::{header, Ctx, Reply};
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

/// Runs `run` once for the claim; with `cart`, the claim's round trip reads that cart too and
/// `run` gets it.
pub async fn once<F, Fut>(
    store: &D1Store,
    edge: &Edge<'_>,
    claim: &Claim,
    cart: Option<&str>,
    run: F,
) -> Result<Reply, ApiError>
where
    F: FnOnce(Option<CartData>) -> Fut,
    Fut: Future<Output = Result<Reply, ApiError>>,
{
    let ran = idempotency::once(
        store,
        edge,
        claim,
        cart,
        |data| async { run(data).await.unwrap_or_else(Reply::from) },
        |reply: &Reply| (reply.status, reply.body.as_deref(), reply.kept),
    )
    .await?;
    Ok(match ran {
        Once::Ran(reply) => reply,
        Once::Replayed { status, body } => Reply {
            status,
            body,
            headers: vec![],
            cause: None,
            kept: true,
        }
        .header("Idempotent-Replayed", "true"),
    })
}

/// Replay semantics for any POST that sends `Idempotency-Key`: the body (at most `limit` bytes)
/// is read once to hash it, and `run` gets a copy of the request carrying it.
pub async fn post<F, Fut>(
    req: &mut Request,
    ctx: &Ctx,
    scope: &str,
    key: String,
    lease_seconds: f64,
    limit: usize,
    run: F,
) -> Result<Reply, ApiError>
where
    F: FnOnce(Request) -> Fut,
    Fut: Future<Output = Result<Reply, ApiError>>,
{
    let bytes = read_body(req, limit).await?;
    let headers = Headers::new();
    for (k, v) in req.headers().entries() {
        let _ = headers.append(&k, &v);
    }
    let mut init = RequestInit::new();
    init.with_method(Method::Post)
        .with_headers(headers)
        .with_body(Some(js_sys::Uint8Array::from(bytes.as_slice()).into()));
    // The URL as the runtime gives it (parsing it would bring the `url` crate into the bundle).
    let url = req.inner().url();
    let copy =
        Request::new_with_init(&url, &init).map_err(|e| ApiError::internal().caused_by(e))?;
    let edge = Edge::new(req, ctx);
    let claim = Claim::new(
        &edge,
        scope,
        key,
        req.path(),
        body_hash(&bytes),
        lease_seconds,
    );
    once(&D1Store { db: ctx.db()? }, &edge, &claim, None, |_| {
        run(copy)
    })
    .await
}
