//! The storefront Worker's HTTP adapter: publishable key, CORS, the catalog routes, and the
//! adapters every handler hands to its use case ([`Adapters`]). Handlers parse, call one use
//! case, and shape the reply; nothing more.

use crate::app::ports::{Limit, RateLimiter};
use crate::app::Settings;
use crate::auth::jwt::{AuthError, JwtVerifier};
use crate::domain::channel::{is_publishable_key_shape, normalize_origin, Channel};
use crate::domain::market::Market;
use crate::domain::pagination::paginate;
use crate::http::body::{check_declared_length, STOREFRONT_BODY_LIMIT};
use crate::http::edge::Edge;
use crate::http::error::ApiError;
use crate::http::routes::{match_common, match_storefront, Storefront};
use crate::http::server::bearer;
use crate::http::server::{common, header, page_request, query, query_params, Ctx, Reply};
use crate::payments::stripe::Stripe;
use crate::store::catalog::KvCatalog;
use crate::store::{channels, D1Store};
use worker::Request;

mod carts;
mod checkout;
mod orders;

/// The adapters of a storefront request's ports.
pub struct Adapters<'a> {
    pub store: D1Store,
    pub catalog: KvCatalog,
    /// Clock, ids, log, outbox hand-off and rate limits, for this request.
    pub edge: Edge<'a>,
    pub settings: Settings,
}

impl<'a> Adapters<'a> {
    pub fn new(req: &Request, ctx: &'a Ctx) -> Result<Adapters<'a>, ApiError> {
        Ok(Adapters {
            store: D1Store { db: ctx.db()? },
            catalog: catalog(ctx)?,
            edge: Edge::new(req, ctx),
            settings: ctx.settings(),
        })
    }

    /// The payment provider (only checkout needs it).
    pub fn payments(&self) -> Stripe<'a> {
        Stripe::from_ctx(self.edge.ctx, self.settings.payment_timeout_ms)
    }
}

fn catalog(ctx: &Ctx) -> Result<KvCatalog, ApiError> {
    Ok(KvCatalog {
        db: ctx.db()?,
        kv: ctx.kv()?,
        memo_ms: ctx.memo_window_ms(),
    })
}

/// The storefront's part of `schema/openapi.yaml`, made by `scripts/build.mjs`.
const OPENAPI: &str = include_str!("../../../build/openapi/storefront.json");

const CORS_METHODS: &str = "GET, POST, PATCH, DELETE, OPTIONS";
const CORS_REQUEST_HEADERS: &str =
    "Content-Type, Authorization, X-Publishable-Key, If-Match, Idempotency-Key, X-Request-Id, X-Comptoir-Bookmark";
const CORS_EXPOSED_HEADERS: &str =
    "ETag, X-Request-Id, Server-Timing, Retry-After, Idempotent-Replayed, X-Comptoir-Bookmark";

pub async fn handle(mut req: Request, ctx: Ctx) -> (Reply, Ctx) {
    let reply = route(&mut req, &ctx).await.unwrap_or_else(Reply::from);
    (reply, ctx)
}

async fn route(req: &mut Request, ctx: &Ctx) -> Result<Reply, ApiError> {
    let method = crate::http::server::request_method(req);
    let path = req.path();
    // The body limit holds for every request, whatever its route, before anything is read.
    check_declared_length(
        header(req, "Content-Length").as_deref(),
        STOREFRONT_BODY_LIMIT,
    )?;
    if let Some(route) = match_common(&method, &path) {
        return common(route?, ctx, OPENAPI);
    }
    let route = match_storefront(&method, &path)?;
    let origin = header(req, "Origin");
    if route == Storefront::Preflight {
        return preflight(ctx, origin.as_deref()).await;
    }
    if route == Storefront::StripeWebhook {
        return orders::stripe_webhook(req, ctx).await;
    }
    let channel = authenticate(req, ctx).await?;
    ctx.acting_for(&channel.id);
    // Any POST that sends an Idempotency-Key gets replay semantics (checkout claims its own,
    // with the cart read in the same round trip).
    let key = match route {
        Storefront::Checkout { .. } => Ok(None),
        _ if method == "POST" => crate::http::idempotency::key_of(req),
        _ => Ok(None),
    };
    let reply = match key {
        Err(e) => Err(e),
        Ok(Some(key)) => {
            let (channel, lease) = (&channel, ctx.settings().lease_seconds);
            let answers_cart = route.answers_cart();
            crate::http::idempotency::post(
                req,
                ctx,
                &channel.id,
                key,
                lease,
                STOREFRONT_BODY_LIMIT,
                |mut copy| async move { dispatch(route, &mut copy, ctx, channel).await },
            )
            .await
            .map(|reply| match answers_cart {
                true => carts::with_replayed_etag(reply),
                false => reply,
            })
        }
        Ok(None) => dispatch(route, req, ctx, &channel).await,
    };
    let reply = reply.unwrap_or_else(Reply::from);
    Ok(with_cors(reply, &channel, origin.as_deref()))
}

async fn dispatch(
    route: Storefront<'_>,
    req: &mut Request,
    ctx: &Ctx,
    channel: &Channel,
) -> Result<Reply, ApiError> {
    let params = query_params(req);
    match route {
        Storefront::Preflight => unreachable!("answered before authentication"),
        Storefront::Markets => {
            let page = page_request(&params)?;
            let mut markets: Vec<&Market> = channel.markets.iter().collect();
            markets.sort_by(|a, b| a.code.cmp(&b.code));
            let page = paginate(&markets, |m| m.code.as_str(), &page);
            Reply::json(
                200,
                &serde_json::json!({
                    "data": page.data.iter().map(|m| m.view()).collect::<Vec<_>>(),
                    "next_cursor": page.next_cursor,
                }),
            )
        }
        Storefront::Products => {
            let market = market_param(channel, &params)?;
            let page = page_request(&params)?;
            let snapshot = snapshot(ctx, market).await?;
            Reply::json(200, &snapshot.page(&page))
        }
        Storefront::Product { handle } => {
            let market = market_param(channel, &params)?;
            let snapshot = snapshot(ctx, market).await?;
            let product = snapshot.product_by_handle(handle).ok_or_else(|| {
                ApiError::not_found(format!(
                    "no published product `{handle}` in market {}",
                    market.code
                ))
            })?;
            Reply::json(200, &product.view())
        }
        Storefront::Checkout { cart } => checkout::checkout(req, ctx, channel, cart).await,
        Storefront::GetOrder { id } => orders::get(req, ctx, channel, id).await,
        Storefront::RequestReturn { id } => orders::request_return(req, ctx, channel, id).await,
        Storefront::MyOrders => orders::mine(req, ctx, channel, &params).await,
        cart_route => carts::dispatch(cart_route, req, ctx, channel).await,
    }
}

async fn snapshot(
    ctx: &Ctx,
    market: &Market,
) -> Result<std::rc::Rc<crate::domain::catalog::CatalogSnapshot>, ApiError> {
    use crate::app::ports::Catalog;
    let catalog = KvCatalog {
        db: ctx.db()?,
        kv: ctx.kv()?,
        memo_ms: ctx.memo_window_ms(),
    };
    Ok(catalog.snapshot(market).await?)
}

/// Resolves the channel from `X-Publishable-Key`: 401 when missing, malformed or unknown.
async fn authenticate(req: &Request, ctx: &Ctx) -> Result<Channel, ApiError> {
    let refused = match header(req, "X-Publishable-Key") {
        None => {
            ApiError::unauthorized("send the sales channel's publishable key in X-Publishable-Key")
        }
        Some(key) if is_publishable_key_shape(&key) => {
            match channels::channel_by_key(&ctx.db()?, &ctx.kv()?, &key, ctx.memo_window_ms())
                .await?
            {
                Some(channel) => return Ok(channel),
                None => ApiError::unauthorized("the publishable key is not valid"),
            }
        }
        Some(_) => ApiError::unauthorized("the publishable key is not valid"),
    };
    // Made-up keys are counted per client: guessing them is a flood like any other.
    if Edge::new(req, ctx).allows(Limit::UnknownKey).await {
        Err(refused)
    } else {
        Err(ApiError::rate_limited(60))
    }
}

/// The `market` query parameter: required, and one of the channel's markets.
fn market_param<'c>(
    channel: &'c Channel,
    params: &[(String, String)],
) -> Result<&'c Market, ApiError> {
    let code = query(params, "market").ok_or_else(|| {
        ApiError::invalid_parameter(
            "market",
            "the market query parameter is required (e.g. ?market=FR)",
        )
    })?;
    channel.market(code).ok_or_else(|| {
        let codes: Vec<&str> = channel.markets.iter().map(|m| m.code.as_str()).collect();
        ApiError::invalid_parameter(
            "market",
            format!(
                "market `{code}` is not sold on this channel; use one of {}",
                codes.join(", ")
            ),
        )
    })
}

/// A CORS preflight carries no publishable key, so it is granted when any channel allows the
/// origin; the real request is then held to its own channel's list.
async fn preflight(ctx: &Ctx, origin: Option<&str>) -> Result<Reply, ApiError> {
    let reply = Reply::empty(204).header("Vary", "Origin");
    let Some(origin) = origin.and_then(normalize_origin) else {
        return Ok(reply);
    };
    let allowed = channels::origin_is_allowed(&ctx.db()?, &origin).await?;
    if !allowed {
        return Ok(reply);
    }
    Ok(reply
        .header("Access-Control-Allow-Origin", origin)
        .header("Access-Control-Allow-Methods", CORS_METHODS)
        .header("Access-Control-Allow-Headers", CORS_REQUEST_HEADERS)
        .header("Access-Control-Max-Age", "600"))
}

fn with_cors(reply: Reply, channel: &Channel, origin: Option<&str>) -> Reply {
    let reply = reply.header("Vary", "Origin");
    match origin.and_then(normalize_origin) {
        Some(origin) if channel.allows_origin(&origin) => reply
            .header("Access-Control-Allow-Origin", origin)
            .header("Access-Control-Expose-Headers", CORS_EXPOSED_HEADERS),
        _ => reply,
    }
}

/// The verifier of customer tokens, as configured.
fn customer_verifier(ctx: &Ctx) -> JwtVerifier {
    JwtVerifier::new(
        ctx.var("CUSTOMER_JWT_SECRET").as_deref(),
        ctx.var("CUSTOMER_JWT_PUBLIC_KEYS").as_deref(),
        ctx.var("CUSTOMER_JWT_AUDIENCE").as_deref(),
        ctx.var("CUSTOMER_JWT_ISSUER").as_deref(),
    )
}

/// The customer of a valid customer token (its `sub`); `missing` is the message when no
/// bearer token is sent.
pub async fn customer(req: &worker::Request, ctx: &Ctx, missing: &str) -> Result<String, ApiError> {
    let token = bearer(req).ok_or_else(|| ApiError::unauthorized(missing))?;
    verified_customer(ctx, &token)
        .await
        .ok_or_else(|| ApiError::unauthorized("the customer token is not valid"))
}

/// The customer (`sub`) of `token` when it is a valid customer token.
pub async fn verified_customer(ctx: &Ctx, token: &str) -> Option<String> {
    let verifier = customer_verifier(ctx);
    for problem in &verifier.config_errors {
        worker::console_error!("[{}] CUSTOMER_JWT_PUBLIC_KEYS: {problem}", ctx.request_id);
    }
    let verified = verifier
        .verify(
            token,
            crate::http::server::now_chrono(),
            &crate::platform::WebCrypto,
        )
        .await;
    if let Err(AuthError::KeyUnusable(problem)) = &verified {
        worker::console_error!("[{}] CUSTOMER_JWT_PUBLIC_KEYS: {problem}", ctx.request_id);
    }
    verified.ok().and_then(|v| v.subject)
}
