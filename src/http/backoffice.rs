//! The back-office Worker's HTTP adapter: the admin API (`/admin/v1`).

use crate::http::error::ApiError;
use crate::http::routes::{match_backoffice, match_common};
use crate::http::server::{common, Ctx, Reply};
use worker::Request;

/// The back-office part of `schema/openapi.yaml`, made by `scripts/build.mjs`.
const OPENAPI: &str = include_str!("../../build/openapi/backoffice.json");

pub async fn handle(req: Request, ctx: Ctx) -> (Reply, Ctx) {
    let reply = route(&req, &ctx).await.unwrap_or_else(Reply::from);
    (reply, ctx)
}

async fn route(req: &Request, ctx: &Ctx) -> Result<Reply, ApiError> {
    let method = req.method().to_string();
    let path = req.path();
    if let Some(route) = match_common(&method, &path) {
        return common(route?, ctx, OPENAPI);
    }
    match match_backoffice(&method, &path)? {}
}
