//! The inventory's lists: every SKU's stock (`GET /admin/v1/inventory`) and the stock pictures
//! pushed (`GET /admin/v1/inventory/syncs`), for the admin app's inventory screen.

use crate::domain::pagination::{encode_cursor, encode_time_cursor, page_of, time_cursor_position};
use crate::domain::product::sku_prefix;
use crate::http::error::ApiError;
use crate::http::server::{page_request, query, Ctx, Reply};
use crate::store::inventory;

/// `GET /admin/v1/inventory?q=`: by SKU, with the cursor convention, each as
/// `GET /admin/v1/inventory/{sku}` shows it; `q` keeps the SKUs beginning with it (any case,
/// every character literal). One round trip; a hot SKU on the page adds its objects' calls and
/// one more.
pub async fn list(ctx: &Ctx, params: &[(String, String)]) -> Result<Reply, ApiError> {
    let page = page_request(params)?;
    let prefix = match query(params, "q") {
        None => None,
        Some(q) => Some(
            sku_prefix(q)
                .ok_or_else(|| ApiError::invalid_parameter("q", "q is 1 to 64 characters"))?,
        ),
    };
    let rows = inventory::page(
        &ctx.db()?,
        prefix.as_deref(),
        page.after.as_deref(),
        page.limit + 1,
    )
    .await?;
    // A hot SKU as GET shows it: its objects' reservations in flight, its mode. The row beyond
    // the page only says there is a next one: its objects are not asked.
    let mut shown = Vec::with_capacity(rows.len());
    for (i, (level, hot)) in rows.into_iter().enumerate() {
        let hot = hot.filter(|_| i < page.limit);
        shown.push(super::hot::with_objects(ctx, level, hot).await?);
    }
    Reply::json(
        200,
        &page_of(shown, page.limit, |l| {
            encode_cursor(l["sku"].as_str().unwrap_or(""))
        }),
    )
}

/// `GET /admin/v1/inventory/syncs`: the stock pictures pushed, newest first, with the cursor
/// convention.
pub async fn list_syncs(ctx: &Ctx, params: &[(String, String)]) -> Result<Reply, ApiError> {
    let page = page_request(params)?;
    let after = time_cursor_position(&page)?;
    let rows = inventory::syncs(&ctx.db()?, after, page.limit + 1).await?;
    Reply::json(
        200,
        &page_of(rows, page.limit, |r| {
            encode_time_cursor(&r.created_at, &r.id)
        }),
    )
}
