//! `GET /admin/v1/inventory`: every SKU's stock, for the admin app's inventory screen.

use crate::domain::pagination::{encode_cursor, page_of};
use crate::domain::product::sku_prefix;
use crate::http::error::ApiError;
use crate::http::server::{page_request, query, Ctx, Reply};
use crate::store::inventory;

/// `GET /admin/v1/inventory?q=`: by SKU, with the cursor convention, each as
/// `GET /admin/v1/inventory/{sku}` shows it; `q` keeps the SKUs beginning with it (any case,
/// every character literal). One round trip.
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
    Reply::json(200, &page_of(rows, page.limit, |l| encode_cursor(&l.sku)))
}
