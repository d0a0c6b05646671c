//! The after-sale side of `/admin/v1/orders`: edits, the retry of a refund, the timeline, and
//! the adapters every after-sale use case runs on (D1, this request's platform, Stripe).

use super::only_fields;
use crate::app::after_sale::{self, EditRequest, Services};
use crate::http::edge::Edge;
use crate::http::error::ApiError;
use crate::http::server::{Ctx, Reply};
use crate::payments::stripe::Stripe;
use crate::store::D1Store;
use serde_json::{json, Map, Value};

/// `POST /admin/v1/orders/{id}/refunds/{refund_id}/retry`.
pub async fn retry_refund(
    ctx: &Ctx,
    actor: &str,
    id: &str,
    refund_id: &str,
    body: &Map<String, Value>,
) -> Result<Reply, ApiError> {
    only_fields(body, &[])?;
    let a = Adapters::new(ctx)?;
    let order = after_sale::retry(&a.store, &a.services(), id, refund_id, actor).await?;
    Reply::json(200, &order.shown())
}

/// `GET /admin/v1/orders/{id}/timeline`.
pub async fn timeline(ctx: &Ctx, id: &str) -> Result<Reply, ApiError> {
    let store = D1Store { db: ctx.db()? };
    let entries = after_sale::timeline(&store, id).await?;
    let data: Vec<Value> = entries
        .iter()
        .map(|e| json!({"at": e.at, "kind": e.kind, "actor": e.actor, "summary": e.summary, "ref": e.reference}))
        .collect();
    Reply::json(200, &json!({ "data": data }))
}

/// The adapters an after-sale use case runs on: D1, this request's platform, and Stripe.
pub(super) struct Adapters<'a> {
    pub store: D1Store,
    edge: Edge<'a>,
    stripe: Stripe<'a>,
    timeout_ms: f64,
    low_stock_threshold: i64,
}

impl<'a> Adapters<'a> {
    pub fn new(ctx: &'a Ctx) -> Result<Adapters<'a>, ApiError> {
        let timeout_ms = ctx.settings().payment_timeout_ms;
        Ok(Adapters {
            store: D1Store { db: ctx.db()? },
            edge: Edge {
                ctx,
                client: String::new(),
            },
            stripe: Stripe::from_ctx(ctx, timeout_ms),
            timeout_ms,
            low_stock_threshold: ctx.settings().low_stock_threshold,
        })
    }

    pub fn services(&self) -> Services<'_, Edge<'a>, Stripe<'a>> {
        Services {
            platform: &self.edge,
            refunds: &self.stripe,
            timeout_ms: self.timeout_ms,
            low_stock_threshold: self.low_stock_threshold,
        }
    }
}

/// `POST /admin/v1/orders/{id}/edits`: `{changes: [...], dry_run?, note?}` → the order as it
/// would be (dry run) or is.
pub async fn edit(
    ctx: &Ctx,
    actor: &str,
    id: &str,
    body: &Map<String, Value>,
) -> Result<Reply, ApiError> {
    let (changes, dry_run, note) = crate::http::after_sale_body::edit(body)?;
    let request = EditRequest {
        changes,
        dry_run,
        note,
    };
    let a = Adapters::new(ctx)?;
    let order = after_sale::edit_order(&a.store, &a.services(), id, &request, actor).await?;
    Reply::json(200, &order.shown())
}

/// `POST /admin/v1/orders/{id}/allocations`: `{moves: [{line_id, from, to, quantity}]}` → the
/// order, its units moved between locations.
pub async fn move_allocations(
    ctx: &Ctx,
    actor: &str,
    id: &str,
    body: &Map<String, Value>,
) -> Result<Reply, ApiError> {
    let moves = crate::http::after_sale_body::moves(body)?;
    let a = Adapters::new(ctx)?;
    let order = after_sale::move_allocations(&a.store, &a.services(), id, &moves, actor).await?;
    Reply::json(200, &order.shown())
}
