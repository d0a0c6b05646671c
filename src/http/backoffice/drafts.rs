//! Draft orders (`/admin/v1/draft-orders`): staff build an order priced like a cart, then
//! complete it as a checkout. The rules live in `app::drafts`, `domain::draft` and
//! `app::checkout`; a price set by hand already passed `pricing:override` in the router.

use crate::app::checkout::{Keep, PlacedBy, Till};
use crate::app::drafts::Desk;
use crate::app::idempotency::{object_hash, Claim};
use crate::domain::cart::parse_if_match;
use crate::domain::channel::Channel;
use crate::domain::checkout::CheckoutRefusal;
use crate::domain::draft::{self, DraftRefusal, DraftView};
use crate::domain::pagination::{encode_time_cursor, page_of, time_cursor_position};
use crate::http::edge::Edge;
use crate::http::error::ApiError;
use crate::http::server::{header, page_request, query, Ctx, Reply};
use crate::payments::stripe::Stripe;
use crate::store::catalog::KvCatalog;
use crate::store::D1Store;
use serde_json::{Map, Value};
use worker::Request;

struct Adapters<'a> {
    store: D1Store,
    catalog: KvCatalog,
    edge: Edge<'a>,
}

impl<'a> Adapters<'a> {
    fn new(ctx: &'a Ctx) -> Result<Adapters<'a>, ApiError> {
        Ok(Adapters {
            store: D1Store { db: ctx.db()? },
            catalog: KvCatalog {
                db: ctx.db()?,
                kv: ctx.kv()?,
                memo_ms: ctx.memo_window_ms(),
            },
            edge: Edge {
                ctx,
                client: String::new(),
            },
        })
    }

    fn desk(&self) -> Desk<'_, D1Store, KvCatalog, Edge<'a>> {
        Desk {
            store: &self.store,
            catalog: &self.catalog,
            platform: &self.edge,
        }
    }
}

fn reply(view: &DraftView, status: u16) -> Result<Reply, ApiError> {
    Ok(Reply::json(status, view)?.header("ETag", format!("\"{}\"", view.version)))
}

/// `POST /admin/v1/draft-orders` → 201 with the draft.
pub async fn create(ctx: &Ctx, body: &Map<String, Value>) -> Result<Reply, ApiError> {
    let input = draft::parse(body, false).map_err(DraftRefusal::from)?;
    let a = Adapters::new(ctx)?;
    reply(&a.desk().create(&input).await?, 201)
}

/// `GET /admin/v1/draft-orders/{id}`.
pub async fn get(ctx: &Ctx, id: &str) -> Result<Reply, ApiError> {
    let a = Adapters::new(ctx)?;
    reply(&a.desk().get(id).await?, 200)
}

/// `DELETE /admin/v1/draft-orders/{id}` → 204.
pub async fn discard(ctx: &Ctx, id: &str) -> Result<Reply, ApiError> {
    let a = Adapters::new(ctx)?;
    a.desk().discard(id).await?;
    Ok(Reply::empty(204))
}

/// `PATCH /admin/v1/draft-orders/{id}`, honouring `If-Match`.
pub async fn update(
    req: &Request,
    ctx: &Ctx,
    id: &str,
    body: &Map<String, Value>,
) -> Result<Reply, ApiError> {
    let if_match = match parse_if_match(header(req, "If-Match").as_deref()) {
        None => None,
        Some(Ok(m)) => Some(m),
        Some(Err(())) => {
            return Err(ApiError::version_mismatch(
                "If-Match names no version of this draft order (send \"<version>\" or *)",
            ))
        }
    };
    // Refused only after If-Match is checked: a stale version is 412 whatever the body.
    let input = draft::parse(body, true);
    let a = Adapters::new(ctx)?;
    reply(&a.desk().update(id, if_match, input).await?, 200)
}

/// `POST /admin/v1/draft-orders/{id}/complete` `{payment_provider}`: placed exactly as a
/// checkout (the key's claim reads the draft, its stock and its market in the same round trip;
/// the till places it in one guarded batch, which keeps the answer for replays): two D1
/// round trips.
pub async fn complete(
    req: &Request,
    ctx: &Ctx,
    id: &str,
    body: &Map<String, Value>,
    key: Option<String>,
    scope: &str,
    actor: &str,
) -> Result<Reply, ApiError> {
    let key = key.ok_or_else(|| {
        ApiError::idempotency_key_required(
            "completing a draft order needs an Idempotency-Key header (one per attempt)",
        )
    })?;
    let method = crate::http::placed::payment_method(body)?;
    let secret = crate::http::placed::token_secret(ctx)?;
    let a = Adapters::new(ctx)?;
    let settings = ctx.settings();
    let claim = Claim::new(
        &a.edge,
        scope,
        key,
        req.path(),
        object_hash(body),
        settings.checkout_lease_seconds(method),
    );
    let payments = Stripe::from_ctx(ctx, settings.payment_timeout_ms);
    // The answer is kept by the placement's own write, as a checkout's.
    let body = |placed: &crate::app::checkout::Placed| crate::http::placed::body(&secret, placed);
    crate::http::idempotency::once(&a.store, &a.edge, &claim, Some(id), |data| async {
        // The draft's channel, as far as completing needs it: its id and the draft's market.
        let channel = Channel {
            id: data
                .as_ref()
                .map(|d| d.cart.channel_id.clone())
                .unwrap_or_default(),
            name: String::new(),
            markets: data
                .as_ref()
                .and_then(|d| d.market.clone())
                .into_iter()
                .collect(),
            allowed_origins: vec![],
        };
        let till = Till {
            store: &a.store,
            catalog: &a.catalog,
            platform: &a.edge,
            payments: &payments,
            channel: &channel,
            settings: &settings,
            by: PlacedBy::Staff { actor },
        };
        let keep = Keep {
            claim: &claim,
            body: &body,
        };
        let placed = till
            .place_kept(data, method, Some(keep))
            .await
            .map_err(|e| match e {
                crate::app::Failure::Refused(r) => refusal(r),
                other => ApiError::from(other),
            })?;
        crate::http::placed::answer(ctx, &secret, placed, method)
    })
    .await
}

/// A checkout's refusal, said of a draft.
fn refusal(r: CheckoutRefusal) -> ApiError {
    match r {
        CheckoutRefusal::NotFound => DraftRefusal::NotFound.into(),
        CheckoutRefusal::NotActive { .. } => DraftRefusal::Completed.into(),
        CheckoutRefusal::MarketGone => DraftRefusal::MarketGone.into(),
        other => other.into(),
    }
}

/// `GET /admin/v1/draft-orders?status=open|completed`: newest first, cursor pages.
pub async fn list(ctx: &Ctx, params: &[(String, String)]) -> Result<Reply, ApiError> {
    let page = page_request(params)?;
    let status = match query(params, "status") {
        None => None,
        Some(s @ ("open" | "completed")) => Some(s),
        Some(_) => {
            return Err(ApiError::invalid_parameter(
                "status",
                "must be open or completed",
            ))
        }
    };
    let after = match page.after {
        None => None,
        Some(_) => Some(time_cursor_position(&page)?),
    };
    let rows = crate::store::drafts::list(&ctx.db()?, status, after, page.limit + 1).await?;
    Reply::json(
        200,
        &page_of(rows, page.limit, |r| {
            encode_time_cursor(&r.created_at, &r.id)
        }),
    )
}
