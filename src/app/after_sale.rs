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
    within, Clock, Ids, Log, OrderOf, OrderStore, Outbox, RefundOrder, RefundOutcome, Refunds,
    StoreError, Timer,
};
use crate::app::{refuse, Failure};
use crate::domain::events::EventType;
use crate::domain::order::returns::{self, Opener, Receipt, Requested, Return, ReturnAction};
use crate::domain::order::{
    apply, unchanged, Action, AdminAction, Order, PaymentMethod, Records, Refund, RefundStatus,
    Refusal, Transition,
};
use crate::domain::order::{RefundView, ReturnView};
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
    R: Refunds,
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
            let view = serde_json::to_value(RefundView::of(
                r,
                crate::domain::money::Currency::from_code(&order.currency),
            ))
            .unwrap_or(Value::Null);
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
                return match refund {
                    Some(r) if r.status == RefundStatus::Pending => {
                        send(store, services, &change.after, &r).await
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
    R: Refunds,
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
        let detail = serde_json::to_value(RefundView::of(
            &next,
            crate::domain::money::Currency::from_code(&order.currency),
        ))
        .ok();
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
    R: Refunds,
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
            send(store, services, &after, &r).await
        }
        _ => Ok(after),
    }
}

/// The refund an action made, if it made one.
pub fn made<'a>(order: &'a Order, refund_id: &str) -> Option<&'a Refund> {
    order.refunds.iter().find(|r| r.id == refund_id)
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
    R: Refunds,
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
    R: Refunds,
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
    R: Refunds,
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
                    restock.push((line.sku.clone(), r.quantity));
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
pub async fn timeline(
    store: &impl OrderStore,
    order_id: &str,
) -> OrderResult<Vec<crate::app::ports::TimelineEntry>> {
    if store.order(order_id).await?.is_none() {
        return refuse(OrderRefusal::NoOrder {
            id: order_id.into(),
        });
    }
    Ok(store.timeline(order_id).await?)
}
