//! `GET /admin/v1/stats`: the counts an operator watches, in one D1 round trip.

use crate::domain::stats::start_of_day;
use crate::http::error::ApiError;
use crate::http::server::{now_rfc3339, Ctx, Reply};

pub async fn get(ctx: &Ctx) -> Result<Reply, ApiError> {
    let now = now_rfc3339();
    let threshold = ctx.settings().low_stock_threshold;
    let stats = crate::store::stats::read(&ctx.db()?, &start_of_day(&now), threshold).await?;
    Reply::json(200, &stats.view(&now))
}
