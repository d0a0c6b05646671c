//! `GET /admin/v1/orders`: the back office's order list, newest first, with its filters.

use crate::app::orders;
use crate::app::ports::{instant, OrderFilter, OrderQuery};
use crate::domain::order::{FulfillmentStatus, Order, OrderSource, OrderStatus, PaymentStatus};
use crate::http::error::ApiError;
use crate::http::server::{page_request, query, Ctx, Reply};
use crate::store::D1Store;

/// `GET /admin/v1/orders?status=&payment_status=&fulfillment_status=&market=&channel=&source=
/// &created_after=&created_before=&q=`: newest first, with the cursor convention.
pub async fn list(ctx: &Ctx, params: &[(String, String)]) -> Result<Reply, ApiError> {
    let page = page_request(params)?;
    let store = D1Store { db: ctx.db()? };
    let query = order_query(params)?;
    let page = orders::newest(&store, &OrderFilter::Staff(query), &page).await?;
    Reply::json(200, &page.views(Order::shown))
}

/// The filters of the order list, each checked (400 `invalid_parameter` naming it).
fn order_query(params: &[(String, String)]) -> Result<OrderQuery, ApiError> {
    fn one_of<T>(
        params: &[(String, String)],
        name: &str,
        parse: fn(&str) -> Option<T>,
        names: &str,
    ) -> Result<Option<T>, ApiError> {
        match query(params, name) {
            None => Ok(None),
            Some(v) => parse(v).map(Some).ok_or_else(|| {
                ApiError::invalid_parameter(name, format!("{name} is one of {names}"))
            }),
        }
    }
    let time = |name: &str| match query(params, name) {
        None => Ok(None),
        Some(v) => instant(v).map(Some).ok_or_else(|| {
            ApiError::invalid_parameter(
                name,
                format!("{name} is a date (2026-11-29) or an RFC 3339 instant"),
            )
        }),
    };
    let text = |name: &str, max: usize| match query(params, name).map(str::trim) {
        None => Ok(None),
        Some(v) if !v.is_empty() && v.chars().count() <= max => Ok(Some(v.to_string())),
        Some(_) => Err(ApiError::invalid_parameter(
            name,
            format!("{name} is 1 to {max} characters"),
        )),
    };
    Ok(OrderQuery {
        status: one_of(
            params,
            "status",
            OrderStatus::parse,
            "pending_payment, confirmed, fulfilled, canceled, refunded",
        )?,
        payment_status: one_of(
            params,
            "payment_status",
            PaymentStatus::parse,
            "pending, paid, partially_refunded, refunded, voided",
        )?,
        fulfillment_status: one_of(
            params,
            "fulfillment_status",
            FulfillmentStatus::parse,
            "unfulfilled, partially_fulfilled, fulfilled",
        )?,
        // Market codes are upper case: `fr` finds FR's orders.
        market: text("market", 16)?.map(|m| m.to_ascii_uppercase()),
        channel: text("channel", 64)?,
        source: one_of(
            params,
            "source",
            OrderSource::parse,
            "storefront, import, draft",
        )?,
        created_after: time("created_after")?,
        created_before: time("created_before")?,
        q: text("q", 254)?,
    })
}
