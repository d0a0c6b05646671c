//! Destinations (back-office endpoints and their signing secrets), the delivery log with replay,
//! and the pull feed of events for systems that cannot receive webhooks: the HTTP side only.
//! Each handler parses, makes one `app::forwarding` call and renders; the rules live there.

use super::{check_id, only_fields};
use crate::app::forwarding::{
    self as fwd, DeliveryFilter, DeliveryStatus, Destination, DestinationSpec, DestinationUrl,
    DisabledReason, EventFilter, EventTypes, FeedPosition, SavedDestination,
};
use crate::delivery::Queue;
use crate::domain::fields::Fields;
use crate::domain::pagination::PageRequest;
use crate::domain::product::is_resource_id;
use crate::http::error::ApiError;
use crate::http::server::{page_request, query, Ctx, Reply};
use crate::platform::{RandomIds, SystemClock};
use crate::store::forwarding::D1Forwarding;
use serde_json::{json, Map, Value};

fn store(ctx: &Ctx) -> Result<D1Forwarding, ApiError> {
    Ok(D1Forwarding::new(ctx.db()?))
}

/// A destination as API.md shows it; `secret` only when created or rotated.
fn view(d: &Destination, secret: Option<&str>) -> Value {
    let mut v = json!({
        "id": d.id, "url": d.url, "events": d.events, "enabled": d.enabled,
        "disabled_reason": d.disabled_reason.map(DisabledReason::as_str),
        "filter": d.filter.view(),
        "created_at": d.created_at, "updated_at": d.updated_at,
    });
    if let Some(s) = secret {
        v["secret"] = json!(s);
    }
    v
}

fn saved(status: u16, saved: &SavedDestination) -> Result<Reply, ApiError> {
    Reply::json(status, &view(&saved.destination, saved.secret.as_deref()))
}

fn destination_id(id: &str) -> Result<(), ApiError> {
    check_id(id, is_resource_id(id), "destination")
}

pub async fn put_destination(
    ctx: &Ctx,
    id: &str,
    body: &Map<String, Value>,
) -> Result<Reply, ApiError> {
    destination_id(id)?;
    only_fields(body, &["url", "events", "enabled", "filter"])?;
    let f = Fields::new(body);
    let insecure = ctx.var("ALLOW_INSECURE_DESTINATIONS").as_deref() == Some("true");
    let spec = DestinationSpec {
        url: DestinationUrl::parse(f.string("url")?, insecure)?,
        events: EventTypes::parse(&f.string_list("events", 20)?)?,
        enabled: f.opt_bool("enabled")?.unwrap_or(true),
        filter: EventFilter::parse(body.get("filter"))?,
    };
    let put = fwd::put_destination(&store(ctx)?, &SystemClock, &RandomIds, id, spec).await?;
    saved(if put.created { 201 } else { 200 }, &put)
}

pub async fn get_destination(ctx: &Ctx, id: &str) -> Result<Reply, ApiError> {
    destination_id(id)?;
    let destination = fwd::get_destination(&store(ctx)?, id).await?;
    Reply::json(200, &view(&destination, None))
}

/// Ordered by id, with the cursor convention.
pub async fn list_destinations(ctx: &Ctx, params: &[(String, String)]) -> Result<Reply, ApiError> {
    let page = fwd::list_destinations(&store(ctx)?, &page_request(params)?).await?;
    Reply::json(200, &page.views(|d| view(d, None)))
}

pub async fn delete_destination(ctx: &Ctx, id: &str) -> Result<Reply, ApiError> {
    destination_id(id)?;
    fwd::delete_destination(&store(ctx)?, id).await?;
    Ok(Reply::empty(204))
}

pub async fn rotate_secret(
    ctx: &Ctx,
    id: &str,
    body: &Map<String, Value>,
) -> Result<Reply, ApiError> {
    destination_id(id)?;
    only_fields(body, &[])?;
    let rotated = fwd::rotate_secret(&store(ctx)?, &SystemClock, &RandomIds, id).await?;
    saved(200, &rotated)
}

pub async fn list_deliveries(ctx: &Ctx, params: &[(String, String)]) -> Result<Reply, ApiError> {
    let page = page_request(params)?;
    let filter = DeliveryFilter {
        status: query(params, "status")
            .map(DeliveryStatus::parse)
            .transpose()?,
        destination_id: query(params, "destination_id").map(str::to_string),
    };
    Reply::json(
        200,
        &fwd::list_deliveries(&store(ctx)?, filter, &page).await?,
    )
}

pub async fn get_delivery(ctx: &Ctx, id: &str) -> Result<Reply, ApiError> {
    Reply::json(200, &fwd::get_delivery(&store(ctx)?, id).await?)
}

/// Sets the same delivery back to pending (same `webhook-id`) and queues an attempt: 202.
pub async fn replay(ctx: &Ctx, id: &str, body: &Map<String, Value>) -> Result<Reply, ApiError> {
    only_fields(body, &[])?;
    let delivery = fwd::replay(&store(ctx)?, &Queue(&ctx.env), &SystemClock, id).await?;
    Reply::json(202, &delivery)
}

/// Sets every dead delivery of the destination back to pending (same `webhook-id`s): 202
/// `{"replayed": N}`.
pub async fn replay_dead(
    ctx: &Ctx,
    id: &str,
    body: &Map<String, Value>,
) -> Result<Reply, ApiError> {
    destination_id(id)?;
    only_fields(body, &[])?;
    let replayed = fwd::replay_dead(&store(ctx)?, &Queue(&ctx.env), &SystemClock, id).await?;
    Reply::json(202, &json!({ "replayed": replayed }))
}

/// The pull feed: every event in commit order from the start; `next_cursor` always resumes.
pub async fn events(ctx: &Ctx, params: &[(String, String)]) -> Result<Reply, ApiError> {
    let page = PageRequest::parse(query(params, "limit"), None)?;
    let after = FeedPosition::parse(query(params, "after"))?;
    let feed = fwd::events(&store(ctx)?, after, page.limit).await?;
    Reply::json(
        200,
        &json!({ "data": feed.data, "next_cursor": feed.next_cursor }),
    )
}
