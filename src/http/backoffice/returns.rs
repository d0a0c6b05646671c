//! `/admin/v1/returns`: the staff's side of returns (list, read, open, approve, reject,
//! cancel, receive). Each step is one guarded batch on the return's order, with its event.

use super::after_sale::Adapters;
use super::{invalid, only_fields};
use crate::app::after_sale::{self, Actor};
use crate::app::ports::ReturnFilter;
use crate::domain::fields::Fields;
use crate::domain::order::returns::{Receipt, ReturnAction, ReturnStatus};
use crate::domain::order::{Order, ReturnView};
use crate::http::after_sale_body;
use crate::http::error::ApiError;
use crate::http::server::{page_request, query, Ctx, Reply};
use crate::store::D1Store;
use serde_json::{Map, Value};

/// The return `id` of `order`, as API.md shows it.
fn shown(order: &Order, id: &str, status: u16) -> Result<Reply, ApiError> {
    let ret = order
        .returns
        .iter()
        .find(|r| r.id == id)
        .ok_or_else(|| ApiError::not_found(format!("no return {id}")))?;
    Reply::json(status, &ReturnView::of(ret))
}

pub async fn list(ctx: &Ctx, params: &[(String, String)]) -> Result<Reply, ApiError> {
    let page = page_request(params)?;
    let status = match query(params, "status") {
        None => None,
        Some(s) => Some(ReturnStatus::parse(s).ok_or_else(|| {
            ApiError::invalid_parameter(
                "status",
                "status is one of requested, approved, received, rejected, canceled",
            )
        })?),
    };
    let filter = ReturnFilter {
        status,
        order_id: query(params, "order_id").map(str::to_string),
    };
    let store = D1Store { db: ctx.db()? };
    let page = after_sale::list_returns(&store, &filter, &page).await?;
    Reply::json(200, &page.views(ReturnView::of))
}

pub async fn get(ctx: &Ctx, id: &str) -> Result<Reply, ApiError> {
    let store = D1Store { db: ctx.db()? };
    let (order, _) = after_sale::find(&store, id).await?;
    shown(&order, id, 200)
}

/// `POST /admin/v1/returns`: opened by staff (no return window), 201.
pub async fn open(ctx: &Ctx, actor: &str, body: &Map<String, Value>) -> Result<Reply, ApiError> {
    let (lines, note) = after_sale_body::request(body, &["order_id"]).map_err(invalid)?;
    let order_id = Fields::new(body).string("order_id").map_err(invalid)?;
    let a = Adapters::new(ctx)?;
    let window = ctx.settings().return_window_days;
    let (order, id) = after_sale::request_return(
        &a.store,
        &a.services(),
        order_id,
        Actor::Staff(actor),
        &lines,
        note,
        window,
    )
    .await?;
    shown(&order, &id, 201)
}

/// approve, reject (`{reason}`) or cancel.
pub async fn step(
    ctx: &Ctx,
    actor: &str,
    id: &str,
    action: ReturnAction,
    body: &Map<String, Value>,
) -> Result<Reply, ApiError> {
    let reason = if action == ReturnAction::Reject {
        only_fields(body, &["reason"])?;
        let f = Fields::new(body);
        Some(
            after_sale_body::text(&f, "reason", 500)
                .map_err(invalid)?
                .ok_or_else(|| {
                    ApiError::validation_failed("reason", "say why the return is rejected")
                })?,
        )
    } else {
        only_fields(body, &[])?;
        None
    };
    let a = Adapters::new(ctx)?;
    let order = after_sale::step_return(&a.store, &a.services(), id, action, reason, actor).await?;
    shown(&order, id, 200)
}

/// `POST …/receive {lines: [{line_id, quantity, restock}], refund}`.
pub async fn receive(
    ctx: &Ctx,
    actor: &str,
    id: &str,
    body: &Map<String, Value>,
) -> Result<Reply, ApiError> {
    only_fields(body, &["lines", "refund"])?;
    let f = Fields::new(body);
    let receipts = f
        .objects("lines", 1, 250)
        .map_err(invalid)?
        .iter()
        .map(|l| {
            l.only(&["line_id", "quantity", "restock"])
                .map_err(invalid)?;
            Ok(Receipt {
                line_id: l.string("line_id").map_err(invalid)?.to_string(),
                quantity: l.int("quantity", 1..=999).map_err(invalid)?,
                restock: l.bool("restock").map_err(invalid)?,
            })
        })
        .collect::<Result<Vec<_>, ApiError>>()?;
    let refund = f.bool("refund").map_err(invalid)?;
    let a = Adapters::new(ctx)?;
    let order = after_sale::receive(&a.store, &a.services(), id, receipts, refund, actor).await?;
    shown(&order, id, 200)
}

/// `POST …/exchange {lines: [{sku, quantity}]}` → 201 the replacement order.
pub async fn exchange(
    ctx: &Ctx,
    actor: &str,
    id: &str,
    body: &Map<String, Value>,
) -> Result<Reply, ApiError> {
    only_fields(body, &["lines"])?;
    let wanted = Fields::new(body)
        .objects("lines", 1, 250)
        .map_err(invalid)?
        .iter()
        .map(|l| {
            l.only(&["sku", "quantity"]).map_err(invalid)?;
            Ok((
                l.string("sku").map_err(invalid)?.to_ascii_uppercase(),
                l.int("quantity", 1..=999).map_err(invalid)?,
            ))
        })
        .collect::<Result<Vec<_>, ApiError>>()?;
    let a = Adapters::new(ctx)?;
    let threshold = ctx.settings().low_stock_threshold;
    let order =
        after_sale::exchange(&a.store, &a.services(), id, &wanted, actor, threshold).await?;
    Reply::json(201, &order.shown())
}
