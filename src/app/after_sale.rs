//! After the sale (API.md): every back-office action on an order, refunds that move money
//! through the payment provider, and returns. Each change is decided by the pure domain on the
//! order as read (with its refunds and returns) and written as one guarded batch with its
//! event and, for staff, the admin action for the timeline; a concurrent change makes it
//! decide again.
//!
//! A refund on a manual order is recorded `succeeded` at once (the money moved outside). On a
//! Stripe order it is recorded `pending` first, in the batch that decides it, and only then
//! sent to Stripe with the refund id and attempt as Stripe's idempotency key: a refund is
//! never sent that is not recorded, and a retry never refunds twice. Stripe's answer (or its
//! webhook, whichever comes first) settles it.

use crate::app::orders::{OrderRefusal, OrderResult};
use crate::app::ports::{
    within, Clock, EditPricing, Ids, Log, OrderOf, OrderStore, Outbox, RefundOrder, RefundOutcome,
    Settlements, StoreError, Timer,
};
use crate::app::{refuse, Failure};
use crate::domain::events::EventType;
use crate::domain::order::returns::{self, Opener, Receipt, Requested, Return, ReturnAction};
use crate::domain::order::{allocation, edit};
use crate::domain::order::{
    apply, unchanged, Action, AdminAction, Order, PaymentMethod, Records, Refund, RefundStatus,
    Refusal, Transition,
};
use crate::domain::order::{RefundKind, RefundView, ReturnView};
use crate::domain::stock::{Destination, Short};
use serde_json::{json, Value};

/// How often an action decides again after a concurrent change before answering 503.
const MAX_RETRIES: usize = 4;

/// What an action decided on the order as read.
pub struct Decision {
    pub t: Transition,
    /// The detail its event carries beside the Order.
    pub detail: Option<Value>,
    pub records: Records,
    /// Why the money goes back (a refund's `reason`).
    pub reason: Option<String>,
}

/// Who acts: a member of staff (an admin token's `sub`) or the shopper.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Actor<'a> {
    Staff(&'a str),
    Shopper,
}

/// The services an action may need beside the store.
pub struct Services<'a, P, R> {
    pub platform: &'a P,
    pub refunds: &'a R,
    /// How long the provider may take to answer a refund.
    pub timeout_ms: f64,
    /// `inventory.low` fires at this available stock or below (`LOW_STOCK_THRESHOLD`).
    pub low_stock_threshold: i64,
}

fn refusal(r: Refusal) -> Failure<OrderRefusal> {
    Failure::Refused(match r {
        Refusal::Illegal { from, action } => OrderRefusal::Illegal { from, action },
        Refusal::BadLine { index, reason } => OrderRefusal::BadLine { index, reason },
        Refusal::BadAmount { reason } => OrderRefusal::BadAmount { reason },
    })
}

/// The decision of a plain state-machine action.
pub fn decided(
    order: &Order,
    action: &Action,
    detail: Option<Value>,
) -> OrderResult<Option<Decision>> {
    match apply(&order.state(), action) {
        Ok(None) => Ok(None),
        Ok(Some(t)) => Ok(Some(Decision {
            t,
            detail,
            records: Records::default(),
            reason: None,
        })),
        Err(r) => Err(refusal(r)),
    }
}

/// Runs an action on the order `of` names: `decide` (given the id a refund it makes will
/// take) on the order as read, written under the order's guard, decided again after a
/// concurrent change. A refund it makes is recorded, then sent to the provider when the
/// order is paid by card. `summary` describes it on the timeline.
pub async fn act<S, P, R>(
    store: &S,
    services: &Services<'_, P, R>,
    of: Of<'_>,
    actor: Actor<'_>,
    summary: &str,
    decide: impl Fn(&Order, &str) -> OrderResult<Option<Decision>>,
) -> OrderResult<Order>
where
    S: OrderStore,
    P: Clock + Ids + Outbox + Log + Timer,
    R: Settlements,
{
    let platform = services.platform;
    let refund_id = platform.id("ref");
    for _ in 0..MAX_RETRIES {
        let order = load(store, of).await?;
        let Some(mut d) = decide(&order, &refund_id)? else {
            return Ok(order);
        };
        let now = platform.now();
        let card = order.payment_method == PaymentMethod::Stripe;
        if let Some(plan) = &d.t.refund {
            // Money goes back through the card's provider; nothing to send is done at once.
            let pending = card && plan.amount > 0;
            d.records.refund = Some(Refund {
                id: refund_id.clone(),
                kind: plan.kind,
                status: if pending {
                    RefundStatus::Pending
                } else {
                    RefundStatus::Succeeded
                },
                amount: plan.amount,
                credit: plan.credit,
                lines: plan.lines.clone(),
                include_shipping: plan.include_shipping,
                reason: d.reason.clone(),
                provider_reference: None,
                failure_reason: None,
                attempts: i64::from(pending),
                created_at: now.clone(),
                updated_at: now.clone(),
            });
        }
        // order.refunded (and refund.failed) carry the refund as their detail.
        if let Some(r) = &d.records.refund {
            let view = refund_detail(&order, r).unwrap_or(Value::Null);
            // A refund that succeeded now fires order.refunded, beside the event of what made it
            // (a cancel, a receipt).
            if r.status == RefundStatus::Succeeded && d.t.event != Some(EventType::OrderRefunded) {
                d.records.also.push((EventType::OrderRefunded, Value::Null));
            }
            if matches!(
                d.t.event,
                Some(EventType::OrderRefunded | EventType::RefundFailed)
            ) {
                d.detail = Some(view.clone());
            }
            for (kind, detail) in &mut d.records.also {
                if *kind == EventType::OrderRefunded {
                    *detail = view.clone();
                }
            }
        }
        if let Actor::Staff(sub) = actor {
            d.records.action = Some(AdminAction {
                id: platform.id("act"),
                actor: sub.to_string(),
                action: summary.split(':').next().unwrap_or(summary).to_string(),
                summary: summary.to_string(),
                reference: d
                    .records
                    .refund
                    .as_ref()
                    .map(|r| r.id.clone())
                    .or_else(|| d.records.ret.as_ref().map(|r| r.id.clone())),
            });
        }
        let refund = d.records.refund.clone();
        let change = order.change_with(&d.t, &now, &mut || platform.id("evt"), d.detail, d.records);
        match store.apply(&change, None).await {
            Ok(()) => {
                platform.publish();
                if let (Some(was), None) = (&order.balance_payment, &change.after.balance_payment) {
                    services.refunds.abandon(&was.intent_id);
                }
                return match refund {
                    Some(r) if r.status == RefundStatus::Pending => {
                        Ok(sent(store, services, change.after, &r).await)
                    }
                    _ => Ok(change.after),
                };
            }
            Err(StoreError::Refused(_)) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    refuse(OrderRefusal::Busy)
}

/// Which order an action is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Of<'a> {
    Order(&'a str),
    Return(&'a str),
    Refund(&'a str),
}

async fn load(store: &impl OrderStore, of: Of<'_>) -> OrderResult<Order> {
    let found = match of {
        Of::Order(id) => store.order(id).await?,
        Of::Return(id) => store.order_of(OrderOf::Return(id)).await?,
        Of::Refund(id) => store.order_of(OrderOf::Refund(id)).await?,
    };
    match (found, of) {
        (Some(o), _) => Ok(o),
        (None, Of::Order(id)) => refuse(OrderRefusal::NoOrder { id: id.into() }),
        (None, Of::Return(id)) => refuse(OrderRefusal::NoReturn { id: id.into() }),
        (None, Of::Refund(id)) => refuse(OrderRefusal::NoRefund { id: id.into() }),
    }
}

/// [`send`] once the refund is recorded: whatever happens next, the answer is the order with
/// its refund (`pending` if its outcome could not be recorded; the provider's webhook settles
/// it). An error here must not become a 5xx: a retry of the request's Idempotency-Key would
/// then make a second refund.
async fn sent<S, P, R>(
    store: &S,
    services: &Services<'_, P, R>,
    order: Order,
    refund: &Refund,
) -> Order
where
    S: OrderStore,
    P: Clock + Ids + Outbox + Log + Timer,
    R: Settlements,
{
    match send(store, services, &order, refund).await {
        Ok(after) => after,
        Err(e) => {
            services.platform.warn(&format!(
                "refund {} of order {}: its outcome is not recorded ({e:?}); it stays pending until the provider's webhook",
                refund.id, order.id
            ));
            order
        }
    }
}

/// Sends a pending refund to the provider and records what it answered.
async fn send<S, P, R>(
    store: &S,
    services: &Services<'_, P, R>,
    order: &Order,
    refund: &Refund,
) -> OrderResult<Order>
where
    S: OrderStore,
    P: Clock + Ids + Outbox + Log + Timer,
    R: Settlements,
{
    let Some(payment) = order.payment_reference.as_deref() else {
        let outcome = RefundOutcome::Failed {
            reference: None,
            reason: "the order holds no card payment to refund".into(),
        };
        return settle(store, services.platform, &refund.id, outcome).await;
    };
    let request = RefundOrder {
        refund_id: &refund.id,
        order_id: &order.id,
        payment_reference: payment,
        amount: refund.amount,
        currency: &order.currency,
        idempotency_key: format!("{}-{}", refund.id, refund.attempts),
    };
    let timeout = services.timeout_ms;
    let outcome = within(
        services.platform,
        timeout,
        services.refunds.refund(&request),
    )
    .await
    .unwrap_or_else(|| RefundOutcome::Unknown {
        cause: format!("no answer within {timeout} ms"),
    });
    settle(store, services.platform, &refund.id, outcome).await
}

/// Records what the provider said of refund `refund_id` (its answer or its webhook). A refund
/// already settled is left as it is: the answer and the webhook may both come, in any order.
pub async fn settle<S, P>(
    store: &S,
    platform: &P,
    refund_id: &str,
    outcome: RefundOutcome,
) -> OrderResult<Order>
where
    S: OrderStore,
    P: Clock + Ids + Outbox + Log,
{
    for _ in 0..MAX_RETRIES {
        let order = load(store, Of::Refund(refund_id)).await?;
        let Some(refund) = order.refunds.iter().find(|r| r.id == refund_id).cloned() else {
            return refuse(OrderRefusal::NoRefund {
                id: refund_id.into(),
            });
        };
        if refund.status != RefundStatus::Pending {
            return Ok(order);
        }
        let mut next = refund.clone();
        let action = match &outcome {
            RefundOutcome::Succeeded { reference } => {
                next.status = RefundStatus::Succeeded;
                next.provider_reference = Some(reference.clone());
                Some(Action::Settle {
                    amount: refund.amount,
                })
            }
            RefundOutcome::Failed { reference, reason } => {
                next.status = RefundStatus::Failed;
                next.provider_reference = reference.clone().or(next.provider_reference);
                next.failure_reason = Some(reason.clone());
                Some(Action::Fail {
                    amount: refund.amount,
                })
            }
            RefundOutcome::Pending { reference } => {
                if refund.provider_reference.as_deref() == Some(reference) {
                    return Ok(order);
                }
                next.provider_reference = Some(reference.clone());
                None
            }
            RefundOutcome::Unknown { cause } => {
                platform.warn(&format!(
                    "refund {refund_id} of order {}: the provider's answer is unknown ({cause}); it stays pending and can be retried",
                    order.id
                ));
                return Ok(order);
            }
        };
        let now = platform.now();
        next.updated_at = now.clone();
        let t = match action {
            Some(a) => apply(&order.state(), &a)
                .map_err(refusal)?
                .unwrap_or_else(|| unchanged(order.state(), None)),
            None => unchanged(order.state(), None),
        };
        let detail = refund_detail(&order, &next);
        let records = Records {
            refund: Some(next),
            ..Records::default()
        };
        let change = order.change_with(&t, &now, &mut || platform.id("evt"), detail, records);
        match store.apply(&change, None).await {
            Ok(()) => {
                platform.publish();
                return Ok(change.after);
            }
            Err(StoreError::Refused(_)) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    refuse(OrderRefusal::Busy)
}

/// Sends a failed refund again (a new attempt, so a new idempotency key), or a pending one
/// whose answer never came (the same key: the provider refunds once).
pub async fn retry<S, P, R>(
    store: &S,
    services: &Services<'_, P, R>,
    order_id: &str,
    refund_id: &str,
    actor: &str,
) -> OrderResult<Order>
where
    S: OrderStore,
    P: Clock + Ids + Outbox + Log + Timer,
    R: Settlements,
{
    let order = load(store, Of::Refund(refund_id)).await?;
    let Some(refund) = order
        .refunds
        .iter()
        .find(|r| r.id == refund_id && order.id == order_id)
        .cloned()
    else {
        return refuse(OrderRefusal::NoRefund {
            id: refund_id.into(),
        });
    };
    match refund.status {
        RefundStatus::Succeeded => return Ok(order),
        RefundStatus::Pending if order.payment_method == PaymentMethod::Stripe => {
            return send(store, services, &order, &refund).await
        }
        RefundStatus::Pending => return Ok(order),
        RefundStatus::Failed => {}
    }
    let summary = format!("refund retried: {refund_id}");
    let after = act(
        store,
        services,
        Of::Refund(refund_id),
        Actor::Staff(actor),
        &summary,
        |o, _| {
            let Some(r) = o.refunds.iter().find(|r| r.id == refund_id) else {
                return Ok(None);
            };
            if r.status != RefundStatus::Failed {
                return Ok(None);
            }
            let t = apply(&o.state(), &Action::Retry { amount: r.amount })
                .map_err(refusal)?
                .unwrap_or_else(|| unchanged(o.state(), None));
            let mut next = r.clone();
            next.status = RefundStatus::Pending;
            next.failure_reason = None;
            next.attempts += 1;
            Ok(Some(Decision {
                t,
                detail: None,
                records: Records {
                    refund: Some(next),
                    ..Records::default()
                },
                reason: None,
            }))
        },
    )
    .await?;
    match after.refunds.iter().find(|r| r.id == refund_id) {
        Some(r)
            if r.status == RefundStatus::Pending
                && after.payment_method == PaymentMethod::Stripe =>
        {
            let r = r.clone();
            Ok(sent(store, services, after, &r).await)
        }
        _ => Ok(after),
    }
}

/// The refund an action made, if it made one.
pub fn made<'a>(order: &'a Order, refund_id: &str) -> Option<&'a Refund> {
    order.refunds.iter().find(|r| r.id == refund_id)
}

/// A refund of `order`, as API.md shows it, for an event's detail.
fn refund_detail(order: &Order, r: &Refund) -> Option<Value> {
    let currency = crate::domain::money::Currency::from_code(&order.currency);
    serde_json::to_value(RefundView::of(r, currency)).ok()
}

/// A return's view as JSON, for an event's detail.
fn return_detail(r: &Return) -> Option<Value> {
    serde_json::to_value(ReturnView::of(r)).ok()
}

/// Opens a return on `order_id` (the caller checked the shopper may see it). A shopper's
/// return must come within `window_days` of each line's last fulfilment.
pub async fn request_return<S, P, R>(
    store: &S,
    services: &Services<'_, P, R>,
    order_id: &str,
    actor: Actor<'_>,
    lines: &[Requested],
    note: Option<String>,
    window_days: i64,
) -> OrderResult<(Order, String)>
where
    S: OrderStore,
    P: Clock + Ids + Outbox + Log + Timer,
    R: Settlements,
{
    let platform = services.platform;
    let return_id = platform.id("ret");
    let window_start = match actor {
        Actor::Shopper => Some(crate::app::ports::iso_at(
            platform.now_ms() - window_days as f64 * 86_400_000.0,
        )),
        Actor::Staff(_) => None,
    };
    let summary = format!("return opened: {return_id}");
    let order = act(
        store,
        services,
        Of::Order(order_id),
        actor,
        &summary,
        |o, _| {
            if o.returns.iter().any(|r| r.id == return_id) {
                return Ok(None);
            }
            let wanted =
                returns::request(o, &o.returns, lines, window_start.as_deref()).map_err(|b| {
                    Failure::Refused(OrderRefusal::ReturnLine {
                        index: b.index,
                        reason: b.reason,
                    })
                })?;
            let now = platform.now();
            let ret = Return {
                id: return_id.clone(),
                order_id: o.id.clone(),
                status: returns::ReturnStatus::Requested,
                lines: wanted,
                note: note.clone(),
                opened_by: match actor {
                    Actor::Shopper => Opener::Customer,
                    Actor::Staff(_) => Opener::Staff,
                },
                reject_reason: None,
                exchange_order_id: None,
                refund_ids: vec![],
                created_at: now.clone(),
                updated_at: now,
            };
            Ok(Some(Decision {
                t: unchanged(o.state(), Some(EventType::ReturnRequested)),
                detail: return_detail(&ret),
                records: Records {
                    ret: Some(ret),
                    ..Records::default()
                },
                reason: None,
            }))
        },
    )
    .await?;
    Ok((order, return_id))
}

/// Approves, rejects or cancels a return.
pub async fn step_return<S, P, R>(
    store: &S,
    services: &Services<'_, P, R>,
    return_id: &str,
    action: ReturnAction,
    reject_reason: Option<String>,
    actor: &str,
) -> OrderResult<Order>
where
    S: OrderStore,
    P: Clock + Ids + Outbox + Log + Timer,
    R: Settlements,
{
    let event = match action {
        ReturnAction::Approve => EventType::ReturnApproved,
        ReturnAction::Reject => EventType::ReturnRejected,
        _ => EventType::ReturnCanceled,
    };
    let summary = format!("return {}: {return_id}", action.name());
    act(
        store,
        services,
        Of::Return(return_id),
        Actor::Staff(actor),
        &summary,
        |o, _| {
            let ret = find_return(o, return_id)?;
            let Some(mut next) = returns::act(ret, &action).map_err(return_refusal)? else {
                return Ok(None);
            };
            next.updated_at = services.platform.now();
            if action == ReturnAction::Reject {
                next.reject_reason = reject_reason.clone();
            }
            Ok(Some(Decision {
                t: unchanged(o.state(), Some(event)),
                detail: return_detail(&next),
                records: Records {
                    ret: Some(next),
                    ..Records::default()
                },
                reason: None,
            }))
        },
    )
    .await
}

/// Receives units of an approved return: restocked units go back on hand, and with `refund`
/// the received units' paid value is refunded (shipping excluded), in the same batch.
pub async fn receive<S, P, R>(
    store: &S,
    services: &Services<'_, P, R>,
    return_id: &str,
    receipts: Vec<Receipt>,
    refund: bool,
    actor: &str,
) -> OrderResult<Order>
where
    S: OrderStore,
    P: Clock + Ids + Outbox + Log + Timer,
    R: Settlements,
{
    let summary = format!("return received: {return_id}");
    act(
        store,
        services,
        Of::Return(return_id),
        Actor::Staff(actor),
        &summary,
        |o, refund_id| {
            let ret = find_return(o, return_id)?;
            let Some(mut next) = returns::act(ret, &ReturnAction::Receive(receipts.clone()))
                .map_err(return_refusal)?
            else {
                return Ok(None);
            };
            if refund && ret.exchange_order_id.is_some() {
                return refuse(OrderRefusal::BadField {
                    field: "refund",
                    reason: "the value of this return was credited to its exchange order".into(),
                });
            }
            next.updated_at = services.platform.now();
            let mut restock = Vec::new();
            let mut returned = Vec::new();
            for r in &receipts {
                let Some(line) = o.lines.iter().find(|l| l.id == r.line_id) else {
                    continue;
                };
                returned.push((line.id.clone(), r.quantity));
                if r.restock {
                    restock.push((
                        line.sku.clone(),
                        crate::domain::stock::home(&line.allocations),
                        r.quantity,
                    ));
                }
            }
            let state = o.state();
            let settle = o.payment_method == PaymentMethod::Manual;
            let mut t = if refund {
                let action = Action::Refund {
                    lines: receipts
                        .iter()
                        .map(|r| (r.line_id.clone(), r.quantity))
                        .collect(),
                    include_shipping: false,
                    returned: true,
                    settle,
                };
                apply(&state, &action)
                    .map_err(refusal)?
                    .unwrap_or_else(|| unchanged(state.clone(), None))
            } else {
                unchanged(state, None)
            };
            if t.refund.is_some() {
                // order.refunded follows return.received when the refund succeeds at once.
                next.refund_ids.push(refund_id.to_string());
            }
            t.event = Some(EventType::ReturnReceived);
            let receipt_detail: Vec<Value> = receipts
                .iter()
                .map(
                    |r| json!({"line_id": r.line_id, "quantity": r.quantity, "restock": r.restock}),
                )
                .collect();
            let mut detail = return_detail(&next).unwrap_or(Value::Null);
            detail["receipt"] = json!(receipt_detail);
            Ok(Some(Decision {
                t,
                detail: Some(detail),
                records: Records {
                    ret: Some(next),
                    returned,
                    restock,
                    ..Records::default()
                },
                reason: Some(format!("return {return_id}")),
            }))
        },
    )
    .await
}

fn find_return<'a>(o: &'a Order, id: &str) -> OrderResult<&'a Return> {
    match o.returns.iter().find(|r| r.id == id) {
        Some(r) => Ok(r),
        None => refuse(OrderRefusal::NoReturn { id: id.into() }),
    }
}

fn return_refusal(r: returns::ReturnRefusal) -> Failure<OrderRefusal> {
    Failure::Refused(match r {
        returns::ReturnRefusal::Illegal { from, action } => {
            OrderRefusal::ReturnIllegal { from, action }
        }
        returns::ReturnRefusal::BadLine(b) => OrderRefusal::BadLine {
            index: b.index,
            reason: b.reason,
        },
    })
}

/// A page of returns, newest first (one round trip).
pub async fn list_returns(
    store: &impl OrderStore,
    filter: &crate::app::ports::ReturnFilter,
    page: &crate::domain::pagination::PageRequest,
) -> OrderResult<crate::domain::pagination::Page<Return>> {
    use crate::domain::pagination::{encode_time_cursor, page_of, time_cursor_position};
    let (at, after_id) =
        time_cursor_position(page).map_err(|e| Failure::Refused(OrderRefusal::Page(e)))?;
    let found = store
        .returns(filter, &at, &after_id, page.limit + 1)
        .await?;
    Ok(page_of(found, page.limit, |r| {
        encode_time_cursor(&r.created_at, &r.id)
    }))
}

/// One return, with the order it belongs to.
pub async fn find(store: &impl OrderStore, return_id: &str) -> OrderResult<(Order, Return)> {
    let order = load(store, Of::Return(return_id)).await?;
    let ret = find_return(&order, return_id)?.clone();
    Ok((order, ret))
}

/// What happened to an order, oldest first.
///
/// One round trip: every order has at least its `order.placed` event, so an empty timeline
/// means no such order.
pub async fn timeline(
    store: &impl OrderStore,
    order_id: &str,
) -> OrderResult<Vec<crate::app::ports::TimelineEntry>> {
    let entries = store.timeline(order_id).await?;
    if entries.is_empty() {
        return refuse(OrderRefusal::NoOrder {
            id: order_id.into(),
        });
    }
    Ok(entries)
}

/// What an edit asks.
pub struct EditRequest {
    pub changes: Vec<edit::Change>,
    pub dry_run: bool,
    pub note: Option<String>,
}

/// Edits an order before the lines touched ship: decided by `domain::order::edit` on the
/// order as read, written as one guarded batch that reserves and releases the stock (an
/// oversell aborts it: 422 `insufficient_stock`) with `order.edited`. A dry run writes
/// nothing and answers the order as it would be.
pub async fn edit_order<S, P, R>(
    store: &S,
    services: &Services<'_, P, R>,
    order_id: &str,
    request: &EditRequest,
    actor: &str,
) -> OrderResult<Order>
where
    S: OrderStore + EditPricing,
    P: Clock + Ids + Outbox + Log + Timer,
    R: Settlements,
{
    let platform = services.platform;
    for _ in 0..MAX_RETRIES {
        let order = load(store, Of::Order(order_id)).await?;
        let mut skus: Vec<String> = order.lines.iter().map(|l| l.sku.clone()).collect();
        for c in &request.changes {
            if let edit::Change::Add { sku, .. } = c {
                skus.push(sku.clone());
            }
        }
        let codes: Vec<String> = serde_json::from_str::<Value>(&order.body)
            .ok()
            .and_then(|b| b["discount_codes"].as_array().cloned())
            .unwrap_or_default()
            .iter()
            .filter_map(|c| c.as_str().map(str::to_string))
            .collect();
        let Some(sources) = store
            .edit_sources(&order.market, &order.currency, &skus, &codes)
            .await?
        else {
            return refuse(OrderRefusal::EditIllegal {
                from: order.status,
                why: format!("the market {} no longer exists", order.market),
            });
        };
        let discounts: Vec<_> = sources
            .discounts
            .iter()
            .filter_map(|d| d.for_market(&order.market))
            .collect();
        let created_secs =
            crate::app::ports::ms_at(&order.created_at).map_or(0, |ms| (ms / 1000.0) as i64);
        let pricing = edit::Pricing {
            market: &sources.market,
            catalog: &sources.catalog,
            discounts: &discounts,
            created_secs,
        };
        let edited = edit::edit(&order, &request.changes, &pricing, &mut || {
            platform.id("line")
        })
        .map_err(|e| {
            Failure::Refused(match e {
                edit::EditRefusal::Illegal { from, why } => OrderRefusal::EditIllegal { from, why },
                edit::EditRefusal::BadChange { index, reason } => {
                    OrderRefusal::BadChange { index, reason }
                }
                edit::EditRefusal::Unpriceable(reason) => OrderRefusal::BadField {
                    field: "changes",
                    reason,
                },
            })
        })?;
        // What the edit adds is allocated as checkout would, for where the order goes.
        let (pickup, country) = order.ships_to();
        let destination = Destination::of(pickup.as_deref(), country.as_deref(), &[]);
        let edited = edited
            .allocate(&sources.stock, destination)
            .map_err(short_of_stock)?;
        let now = platform.now();
        let mut base = edited.order;
        // A payment asked for the old balance is no longer the right one.
        base.balance_payment = None;
        let mut t = unchanged(base.state(), Some(EventType::OrderEdited));
        t.stock = edited.stock.clone();
        let changes: Vec<Value> = request.changes.iter().map(edit::Change::view).collect();
        let mut records = Records {
            edited: true,
            low_stock_threshold: Some(services.low_stock_threshold),
            action: Some(AdminAction {
                id: platform.id("act"),
                actor: actor.to_string(),
                action: "edit".into(),
                summary: format!("edit: {} change(s)", request.changes.len()),
                reference: None,
            }),
            ..Records::default()
        };
        if request.dry_run {
            records.action = None;
        }
        let mut change = base.change_with(&t, &now, &mut || platform.id("evt"), None, records);
        if let Some(e) = change.events.first_mut() {
            e.data["edit"] = json!({
                "before": order.view(),
                "after": change.after.view(),
                "changes": changes,
                "note": request.note,
            });
        }
        change.before = order.clone();
        if request.dry_run {
            return Ok(change.after);
        }
        match store.apply(&change, None).await {
            Ok(()) => {
                platform.publish();
                if let Some(was) = &order.balance_payment {
                    services.refunds.abandon(&was.intent_id);
                }
                return collect_balance(store, services, change.after).await;
            }
            Err(StoreError::Refused(cause)) => {
                // The stock or the order changed meanwhile: read and decide again (a true
                // shortfall is then refused by the allocation).
                platform.warn(&format!(
                    "edit of order {order_id} refused ({cause}); deciding again"
                ));
                continue;
            }
            Err(e) => return Err(e.into()),
        }
    }
    refuse(OrderRefusal::Busy)
}

/// Moves units not yet shipped between stock locations (`POST …/allocations`): checked against
/// the stock where they go, written as one guarded batch with `order.edited` (its `edit`
/// names the moves), so a location's system hears of the order.
pub async fn move_allocations<S, P, R>(
    store: &S,
    services: &Services<'_, P, R>,
    order_id: &str,
    moves: &[allocation::Move],
    actor: &str,
) -> OrderResult<Order>
where
    S: OrderStore,
    P: Clock + Ids + Outbox + Log + Timer,
    R: Settlements,
{
    let platform = services.platform;
    for _ in 0..MAX_RETRIES {
        let order = load(store, Of::Order(order_id)).await?;
        let skus: Vec<String> = order.lines.iter().map(|l| l.sku.clone()).collect();
        let picture = store.stock(&skus).await?;
        let (base, stock) = allocation::moved(&order, moves, &picture).map_err(|r| {
            Failure::Refused(match r {
                allocation::MoveRefusal::Illegal { from } => OrderRefusal::Illegal {
                    from,
                    action: "reallocated",
                },
                allocation::MoveRefusal::Bad { index, reason } => {
                    OrderRefusal::BadMove { index, reason }
                }
                allocation::MoveRefusal::Short { sku, available } => {
                    OrderRefusal::InsufficientStock { sku, available }
                }
            })
        })?;
        let mut t = unchanged(base.state(), Some(EventType::OrderEdited));
        t.stock = stock;
        let records = Records {
            action: Some(AdminAction {
                id: platform.id("act"),
                actor: actor.to_string(),
                action: "allocations".into(),
                summary: format!("allocation moved: {} move(s)", moves.len()),
                reference: None,
            }),
            low_stock_threshold: Some(services.low_stock_threshold),
            ..Records::default()
        };
        let now = platform.now();
        let mut change = base.change_with(&t, &now, &mut || platform.id("evt"), None, records);
        if let Some(e) = change.events.first_mut() {
            e.data["edit"] = json!({
                "before": order.view(),
                "after": change.after.view(),
                "changes": moves.iter().map(allocation::Move::view).collect::<Vec<_>>(),
                "note": null,
            });
        }
        change.before = order;
        match store.apply(&change, None).await {
            Ok(()) => {
                platform.publish();
                return Ok(change.after);
            }
            Err(StoreError::Refused(cause)) => platform.warn(&format!(
                "allocation move of order {order_id} refused ({cause}); deciding again"
            )),
            Err(e) => return Err(e.into()),
        }
    }
    refuse(OrderRefusal::Busy)
}

/// Replaces an approved return's goods: a new order (`kind: "exchange"`) of `wanted` at
/// today's prices, credited with the returned lines' paid value, which the original order
/// records as an `exchange` refund (no money moves). One batch: the original's change, the
/// return, the new order and its reservation. Answers the new order.
pub async fn exchange<S, P, R>(
    store: &S,
    services: &Services<'_, P, R>,
    return_id: &str,
    wanted: &[(String, i64)],
    actor: &str,
    low_stock_threshold: i64,
) -> OrderResult<Order>
where
    S: OrderStore + EditPricing,
    P: Clock + Ids + Outbox + Log + Timer,
    R: Settlements,
{
    use crate::domain::order::exchange as swap;
    let platform = services.platform;
    for _ in 0..MAX_RETRIES {
        let original = load(store, Of::Return(return_id)).await?;
        let ret = find_return(&original, return_id)?.clone();
        // Exchanged once; and units refunded on receipt already gave their value back.
        if ret.status != returns::ReturnStatus::Approved
            || ret.exchange_order_id.is_some()
            || !ret.refund_ids.is_empty()
        {
            return refuse(OrderRefusal::ReturnIllegal {
                from: ret.status,
                action: "exchange",
            });
        }
        let skus: Vec<String> = wanted.iter().map(|(s, _)| s.clone()).collect();
        let Some(sources) = store
            .edit_sources(&original.market, &original.currency, &skus, &[])
            .await?
        else {
            return refuse(OrderRefusal::EditIllegal {
                from: original.status,
                why: format!("the market {} no longer exists", original.market),
            });
        };
        let now = platform.now();
        let pricing = edit::Pricing {
            market: &sources.market,
            catalog: &sources.catalog,
            discounts: &[],
            created_secs: (platform.now_ms() / 1000.0) as i64,
        };
        // The original gives the returned units' value to the replacement: a refund of kind
        // exchange, settled at once (the credit is the new order's payment).
        let action = Action::Refund {
            lines: ret
                .lines
                .iter()
                .map(|l| (l.line_id.clone(), l.quantity))
                .collect(),
            include_shipping: false,
            returned: true,
            settle: true,
        };
        let mut t = apply(&original.state(), &action)
            .map_err(refusal)?
            .unwrap_or_else(|| unchanged(original.state(), None));
        let credit = t.refund.as_ref().map_or(0, |p| p.amount);
        let replacement = swap::replacement(
            &original,
            &ret,
            wanted,
            &pricing,
            credit,
            &mut |prefix| platform.id(prefix),
            &now,
        )
        .map_err(|b| {
            Failure::Refused(OrderRefusal::BadLine {
                index: b.index,
                reason: b.reason,
            })
        })?;
        let refund_id = platform.id("ref");
        let plan = t.refund.take();
        let refund = plan.map(|p| Refund {
            id: refund_id.clone(),
            kind: RefundKind::Exchange,
            status: RefundStatus::Succeeded,
            amount: p.amount,
            credit: p.credit,
            lines: p.lines,
            include_shipping: false,
            reason: Some(format!("exchange of return {return_id}")),
            provider_reference: Some(replacement.id.clone()),
            failure_reason: None,
            attempts: 0,
            created_at: now.clone(),
            updated_at: now.clone(),
        });
        let mut next = ret.clone();
        next.exchange_order_id = Some(replacement.id.clone());
        next.updated_at = now.clone();
        if refund.is_some() {
            next.refund_ids.push(refund_id.clone());
        }
        let detail = refund.as_ref().and_then(|r| refund_detail(&original, r));
        let records = Records {
            refund,
            ret: Some(next),
            action: Some(AdminAction {
                id: platform.id("act"),
                actor: actor.to_string(),
                action: "exchange".into(),
                summary: format!("return exchanged: {return_id} for {}", replacement.id),
                reference: Some(replacement.id.clone()),
            }),
            ..Records::default()
        };
        let change = original.change_with(&t, &now, &mut || platform.id("evt"), detail, records);
        let mut replacement = replacement;
        let (pickup, country) = original.ships_to();
        let destination = Destination::of(pickup.as_deref(), country.as_deref(), &[]);
        let allocations = sources
            .stock
            .allocate(&replacement.wanted(), destination)
            .map_err(short_of_stock)?;
        let reserve = replacement.hold(allocations);
        let placed = crate::domain::events::Envelope::new(
            &platform.id("evt"),
            EventType::OrderPlaced,
            1,
            &now,
            replacement.view(),
        );
        let placement = crate::app::ports::Placement {
            order: &replacement,
            cart_id: &replacement.cart_id,
            cart_version: 0,
            close_cart: false,
            reserve: reserve.clone(),
            discounts: vec![],
            low_stock_threshold,
            // The exchange's own change records what staff did.
            action: None,
            placed,
            generations: vec![],
            hot_holds: vec![],
            answer: None,
        };
        match store.exchange(&change, &placement).await {
            Ok(number) => {
                platform.publish();
                let mut order = replacement.clone();
                order.number = number;
                // What the credit does not cover is asked of the card, as after an edit.
                return collect_balance(store, services, order).await;
            }
            Err(StoreError::Refused(cause)) => {
                platform.warn(&format!(
                    "exchange of return {return_id} refused ({cause}); deciding again"
                ));
            }
            Err(e) => return Err(e.into()),
        }
    }
    refuse(OrderRefusal::Busy)
}

/// After an edit of a card order left something to pay: asks the provider for a payment of the
/// balance (its client secret shows on the order as `balance_payment`), and records it in a
/// guarded batch. The edit stands whatever the provider does: when it fails, the balance can
/// still be collected with `mark-paid`.
async fn collect_balance<S, P, R>(
    store: &S,
    services: &Services<'_, P, R>,
    order: Order,
) -> OrderResult<Order>
where
    S: OrderStore,
    P: Clock + Ids + Outbox + Log + Timer,
    R: Settlements,
{
    let balance = order.ledger().balance();
    if order.payment_method != PaymentMethod::Stripe || balance <= 0 {
        return Ok(order);
    }
    let platform = services.platform;
    let key = format!("{}-balance-{}", order.id, order.version);
    let timeout = services.timeout_ms;
    let asked = within(
        platform,
        timeout,
        services.refunds.collect(&order, balance, &key),
    )
    .await;
    let intent = match asked {
        Some(Ok(intent)) => intent,
        Some(Err(cause)) => {
            platform.warn(&format!(
                "order {}: no payment asked for its balance ({cause}); collect it with mark-paid",
                order.id
            ));
            return Ok(order);
        }
        None => {
            platform.warn(&format!("order {}: the provider did not answer within {timeout} ms; collect the balance with mark-paid", order.id));
            return Ok(order);
        }
    };
    let mut after = order.clone();
    after.balance_payment = Some(crate::domain::order::BalancePayment {
        intent_id: intent.id,
        amount: balance,
        client_secret: intent.client_secret,
    });
    let t = unchanged(order.state(), None);
    let mut change = order.change(&t, &platform.now(), "", None);
    change.after.balance_payment = after.balance_payment.clone();
    match store.apply(&change, None).await {
        Ok(()) => Ok(change.after),
        // The order changed meanwhile: the intent is not recorded (nothing can pay it).
        Err(StoreError::Refused(_)) => {
            services.refunds.abandon(
                &after
                    .balance_payment
                    .as_ref()
                    .map(|b| b.intent_id.clone())
                    .unwrap_or_default(),
            );
            Ok(load(store, Of::Order(&order.id)).await?)
        }
        Err(e) => Err(e.into()),
    }
}

/// The refusal of an allocation the stock cannot cover.
fn short_of_stock(short: Short) -> Failure<OrderRefusal> {
    Failure::Refused(OrderRefusal::InsufficientStock {
        sku: short.sku,
        available: short.available.max(0),
    })
}
