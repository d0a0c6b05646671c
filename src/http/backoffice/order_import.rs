//! `POST /admin/v1/orders/import`: orders other channels sold (marketplaces, social shops),
//! up to 100 per call, idempotent by (channel, external id) without an Idempotency-Key.

use crate::app::import::import_orders;
use crate::app::ports::instant;
use crate::domain::import;
use crate::http::edge::Edge;
use crate::http::error::ApiError;
use crate::http::server::{Ctx, Reply};
use crate::store::D1Store;
use serde_json::{json, Map, Value};

pub async fn import(ctx: &Ctx, body: &Map<String, Value>) -> Result<Reply, ApiError> {
    let orders = import::parse(body, instant)?;
    let edge = Edge {
        ctx,
        client: String::new(),
    };
    let store = D1Store { db: ctx.db()? };
    let results = import_orders(&store, &edge, &orders, ctx.settings().low_stock_threshold).await?;
    Reply::json(200, &json!({ "results": results }))
}
