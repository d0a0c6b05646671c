//! The back-office Worker's HTTP adapter: the admin API (`/admin/v1`). Every route checks the
//! admin JWT and its scope before it reads a body; handlers live in one file per resource.

mod after_sale;
mod channels;
mod drafts;
mod forwarding;
mod hot;
mod inventory;
mod inventory_list;
mod locations;
mod markets;
mod offers;
mod order_import;
mod order_list;
mod orders;
mod products;
mod returns;
mod stats;

use crate::app::idempotency;
use crate::auth::admin::{Admin, AdminVerifier, Scope};
use crate::auth::jwt::AuthError;
use crate::domain::fields::{FieldError, Fields};
use crate::http::body::{check_declared_length, BACKOFFICE_BODY_LIMIT, IMPORT_BODY_LIMIT};
use crate::http::edge::Edge;
use crate::http::error::ApiError;
use crate::http::reading::json_body;
use crate::http::routes::{match_backoffice, match_common, Backoffice};
use crate::http::server::{bearer, common, header, now_chrono, query_params, Ctx, Reply};
use crate::store::D1Store;
use serde_json::{Map, Value};
use worker::Request;

/// The back-office part of `schema/openapi.yaml`, made by `scripts/build.mjs`.
const OPENAPI: &str = include_str!("../../../build/openapi/backoffice.json");

pub async fn handle(mut req: Request, ctx: Ctx) -> (Reply, Ctx) {
    let reply = route(&mut req, &ctx).await.unwrap_or_else(Reply::from);
    (reply, ctx)
}

async fn route(req: &mut Request, ctx: &Ctx) -> Result<Reply, ApiError> {
    let method = crate::http::server::request_method(req);
    let path = req.path();
    if let Some(route) = match_common(&method, &path) {
        check_declared_length(
            header(req, "Content-Length").as_deref(),
            BACKOFFICE_BODY_LIMIT,
        )?;
        return common(route?, ctx, OPENAPI);
    }
    let route = match_backoffice(&method, &path)?;
    let limit = match route {
        Backoffice::ImportProducts | Backoffice::SyncInventory => IMPORT_BODY_LIMIT,
        _ => BACKOFFICE_BODY_LIMIT,
    };
    check_declared_length(header(req, "Content-Length").as_deref(), limit)?;
    let (admin, token) = authenticate(req, ctx).await?;
    if let Some(sub) = &admin.subject {
        ctx.acting_for(sub);
    }
    require(&admin, route.scope())?;
    // Every PUT and POST of the admin API takes a JSON object body, checked before any key is
    // claimed (a refused body is not stored as the key's answer; checkout works the same way).
    let body = if matches!(method.as_str(), "PUT" | "POST" | "PATCH") {
        json_body(req, limit, route.body_optional()).await?
    } else {
        Map::new()
    };
    // Receiving a return with `refund: true` refunds too: a returns-only token may not.
    if crate::http::routes::refunds_too(&route, &body) {
        require(&admin, Scope::RefundsWrite)?;
    }
    // A draft's price set by hand needs its own scope.
    if crate::http::routes::overrides_price(&route, &body) {
        require(&admin, Scope::PricingOverride)?;
    }
    // Every admin POST honours Idempotency-Key, scoped to the token's subject (or the token).
    let key = match method.as_str() {
        "POST" => crate::http::idempotency::key_of(req)?,
        _ => None,
    };
    // Who acts, for the timeline: the token's subject, or a digest of a token without one.
    let actor = match &admin.subject {
        Some(sub) => sub.clone(),
        None => format!("token:{}", &idempotency::digest(token.as_bytes())[..12]),
    };
    let scope = match &admin.subject {
        Some(sub) => format!("admin:{sub}"),
        None => format!("admin-token:{}", idempotency::digest(token.as_bytes())),
    };
    // A sync keeps its key in its own batch: one round trip, not three.
    if route == Backoffice::SyncInventory {
        return inventory::sync(ctx, &body, key, &scope, &actor).await;
    }
    // Completing a draft is a checkout: its key's claim reads the draft too.
    if let Backoffice::CompleteDraft { id } = route {
        return drafts::complete(req, ctx, id, &body, key, &scope, &actor).await;
    }
    let Some(key) = key else {
        return serve(route, req, ctx, &body, &actor).await;
    };
    let edge = Edge::new(req, ctx);
    let lease = ctx.settings().lease_seconds;
    let hash = idempotency::object_hash(&body);
    let claim = idempotency::Claim::new(&edge, &scope, key, req.path(), hash, lease);
    let store = D1Store { db: ctx.db()? };
    crate::http::idempotency::once(&store, &edge, &claim, None, |_| {
        serve(route, req, ctx, &body, &actor)
    })
    .await
}

/// Runs the handler of an authorised request.
async fn serve(
    route: Backoffice<'_>,
    req: &Request,
    ctx: &Ctx,
    body: &Map<String, Value>,
    actor: &str,
) -> Result<Reply, ApiError> {
    use crate::domain::order::returns::ReturnAction;
    match route {
        Backoffice::PutDestination { id } => forwarding::put_destination(ctx, id, body).await,
        Backoffice::GetDestination { id } => forwarding::get_destination(ctx, id).await,
        Backoffice::DeleteDestination { id } => forwarding::delete_destination(ctx, id).await,
        Backoffice::ListDestinations => {
            forwarding::list_destinations(ctx, &crate::http::server::query_params(req)).await
        }
        Backoffice::RotateSecret { id } => forwarding::rotate_secret(ctx, id, body).await,
        Backoffice::ReplayDead { id } => forwarding::replay_dead(ctx, id, body).await,
        Backoffice::ListDeliveries => {
            forwarding::list_deliveries(ctx, &crate::http::server::query_params(req)).await
        }
        Backoffice::GetDelivery { id } => forwarding::get_delivery(ctx, id).await,
        Backoffice::ReplayDelivery { id } => forwarding::replay(ctx, id, body).await,
        Backoffice::Events => {
            forwarding::events(ctx, &crate::http::server::query_params(req)).await
        }
        Backoffice::ListOrders => order_list::list(ctx, &query_params(req)).await,
        Backoffice::ImportOrders => order_import::import(ctx, body).await,
        Backoffice::CreateDraft => drafts::create(ctx, body).await,
        Backoffice::GetDraft { id } => drafts::get(ctx, id).await,
        Backoffice::UpdateDraft { id } => drafts::update(req, ctx, id, body).await,
        Backoffice::DiscardDraft { id } => drafts::discard(ctx, id).await,
        Backoffice::ListDrafts => drafts::list(ctx, &query_params(req)).await,
        // Handled before the generic Idempotency-Key layer (see `route`).
        Backoffice::CompleteDraft { .. } => {
            Err(ApiError::internal().caused_by("draft completion is routed before serve"))
        }
        Backoffice::GetOrder { id } => orders::get(ctx, id).await,
        Backoffice::MarkPaid { id } => orders::mark_paid(ctx, actor, id, body).await,
        Backoffice::CancelOrder { id } => orders::cancel(ctx, actor, id, body).await,
        Backoffice::FulfillOrder { id } => orders::fulfill(ctx, actor, id, body).await,
        Backoffice::RefundOrder { id } => orders::refund(ctx, actor, id, body).await,
        Backoffice::RetryRefund { id, refund_id } => {
            after_sale::retry_refund(ctx, actor, id, refund_id, body).await
        }
        Backoffice::OrderTimeline { id } => after_sale::timeline(ctx, id).await,
        Backoffice::EditOrder { id } => after_sale::edit(ctx, actor, id, body).await,
        Backoffice::ListReturns => {
            returns::list(ctx, &crate::http::server::query_params(req)).await
        }
        Backoffice::OpenReturn => returns::open(ctx, actor, body).await,
        Backoffice::GetReturn { id } => returns::get(ctx, id).await,
        Backoffice::ApproveReturn { id } => {
            returns::step(ctx, actor, id, ReturnAction::Approve, body).await
        }
        Backoffice::RejectReturn { id } => {
            returns::step(ctx, actor, id, ReturnAction::Reject, body).await
        }
        Backoffice::CancelReturn { id } => {
            returns::step(ctx, actor, id, ReturnAction::Cancel, body).await
        }
        Backoffice::ReceiveReturn { id } => returns::receive(ctx, actor, id, body).await,
        Backoffice::ExchangeReturn { id } => returns::exchange(ctx, actor, id, body).await,
        Backoffice::PutLocation { id } => locations::put(ctx, id, body).await,
        Backoffice::ListLocations => {
            locations::list(ctx, &crate::http::server::query_params(req)).await
        }
        Backoffice::PutMarket { code } => markets::put(ctx, code, body).await,
        Backoffice::GetMarket { code } => markets::get(ctx, code).await,
        Backoffice::PutProduct { id } => products::put(ctx, id, body).await,
        Backoffice::GetProduct { id } => products::get(ctx, id).await,
        Backoffice::ListProducts => products::list(ctx, &query_params(req)).await,
        Backoffice::ListMarkets => markets::list(ctx, &query_params(req)).await,
        Backoffice::ListChannels => channels::list(ctx, &query_params(req)).await,
        Backoffice::ListShippingMethods => offers::list_shipping(ctx, &query_params(req)).await,
        Backoffice::ListDiscounts => offers::list_discounts(ctx, &query_params(req)).await,
        Backoffice::ImportProducts => products::import(ctx, body).await,
        Backoffice::PutChannel { id } => channels::put(ctx, id, body).await,
        Backoffice::GetChannel { id } => channels::get(ctx, id).await,
        Backoffice::RotateChannelKey { id } => channels::rotate_key(ctx, id, body).await,
        Backoffice::PutShippingMethod { id } => offers::put_shipping(ctx, id, body).await,
        Backoffice::GetShippingMethod { id } => offers::get_shipping(ctx, id).await,
        Backoffice::PutDiscount { id } => offers::put_discount(ctx, id, body).await,
        Backoffice::GetDiscount { id } => offers::get_discount(ctx, id).await,
        Backoffice::GetInventory { sku } => inventory::get(ctx, sku).await,
        Backoffice::ListInventory => inventory_list::list(ctx, &query_params(req)).await,
        Backoffice::PutInventory { sku } => {
            inventory::put(ctx, sku, body, &crate::http::server::query_params(req)).await
        }
        Backoffice::MoveAllocations { id } => {
            after_sale::move_allocations(ctx, actor, id, body).await
        }
        // Handled before the generic Idempotency-Key layer (see `route`).
        Backoffice::SyncInventory => inventory::sync(ctx, body, None, actor, actor).await,
        Backoffice::ListSyncs => inventory_list::list_syncs(ctx, &query_params(req)).await,
        Backoffice::PutInventoryAt { sku, location } => {
            inventory::put_at(ctx, sku, location, body).await
        }
        Backoffice::PutInventoryMode { sku } => hot::put_mode(ctx, sku, body, actor).await,
        Backoffice::AdjustInventory { sku } => {
            inventory::adjust(ctx, sku, body, &crate::http::server::query_params(req)).await
        }
        Backoffice::Stats => stats::get(ctx).await,
        Backoffice::ListAdjustments { sku } => {
            inventory::list_adjustments(ctx, sku, &crate::http::server::query_params(req)).await
        }
    }
}

/// The admin behind the bearer token, and the token.
async fn authenticate(req: &Request, ctx: &Ctx) -> Result<(Admin, String), ApiError> {
    let token = bearer(req).ok_or_else(|| {
        ApiError::unauthorized("send an admin token as Authorization: Bearer <JWT>")
    })?;
    let verifier = AdminVerifier::new(
        ctx.var("ADMIN_JWT_SECRET").as_deref(),
        ctx.var("ADMIN_JWT_ISSUER").as_deref(),
        ctx.var("ADMIN_JWT_PUBLIC_KEYS").as_deref(),
    );
    for problem in verifier.config_errors() {
        worker::console_error!("[{}] ADMIN_JWT_PUBLIC_KEYS: {problem}", ctx.request_id);
    }
    let verified = verifier
        .verify(&token, now_chrono(), &crate::platform::WebCrypto)
        .await;
    let admin = verified.map_err(|e| {
        match e {
            AuthError::NotConfigured => worker::console_error!(
                "[{}] ADMIN_JWT_SECRET is missing or shorter than 32 bytes",
                ctx.request_id
            ),
            AuthError::KeyUnusable(problem) => {
                worker::console_error!("[{}] ADMIN_JWT_PUBLIC_KEYS: {problem}", ctx.request_id)
            }
            _ => {}
        }
        ApiError::unauthorized("the admin token is not valid")
    })?;
    Ok((admin, token))
}

fn require(admin: &Admin, scope: Scope) -> Result<(), ApiError> {
    admin.require(scope).map_err(|_| {
        ApiError::forbidden(format!("this route needs the `{}` scope", scope.as_str()))
    })
}

/// Refuses the first field the route does not accept (422 `unknown_field`).
fn only_fields(body: &Map<String, Value>, allowed: &[&str]) -> Result<(), ApiError> {
    match Fields::new(body).unknown(allowed) {
        Some(field) => Err(ApiError::unknown_field(&field)),
        None => Ok(()),
    }
}

fn invalid(e: FieldError) -> ApiError {
    ApiError::from(e)
}

/// A path id that is not a valid resource id is a bad parameter.
fn check_id(id: &str, valid: bool, what: &str) -> Result<(), ApiError> {
    if valid {
        Ok(())
    } else {
        Err(ApiError::invalid_parameter(
            "id",
            format!("`{id}` is not a valid {what} id (1 to 64 of A-Z a-z 0-9 _ -)"),
        ))
    }
}
