//! `/admin/v1/orders`: reads, the timeline, and the back-office actions (mark-paid, cancel,
//! fulfillments, refunds and their retry). Each action is decided by the pure state machine and
//! applied as one guarded batch with its stock movements, its refund, the admin action and its
//! outbox event (`app::after_sale`).

use super::{invalid, only_fields};
use crate::app::after_sale::{self, decided, Actor, Decision, Of};
use crate::app::orders::{self, OrderRefusal};
use crate::app::Failure;
use crate::domain::fields::{FieldError, Fields};
use crate::domain::money::Money;
use crate::domain::order::{Action, Order, PaymentMethod};
use crate::http::error::ApiError;
use crate::http::server::{Ctx, Reply};
use crate::store::D1Store;
use serde_json::{json, Map, Value};

pub async fn get(ctx: &Ctx, id: &str) -> Result<Reply, ApiError> {
    let order = orders::order(&D1Store { db: ctx.db()? }, id).await?;
    Reply::json(200, &order.shown())
}

fn line_quantities(
    body: &Map<String, Value>,
    required: bool,
) -> Result<Vec<(String, i64)>, ApiError> {
    let f = Fields::new(body);
    if !required && !f.has("lines") {
        return Ok(vec![]);
    }
    let items = f
        .objects("lines", if required { 1 } else { 0 }, 250)
        .map_err(invalid)?;
    items
        .iter()
        .map(|l| {
            l.only(&["line_id", "quantity"]).map_err(invalid)?;
            Ok((
                l.string("line_id").map_err(invalid)?.to_string(),
                l.int("quantity", 1..=999).map_err(invalid)?,
            ))
        })
        .collect()
}

/// The money of `body[name]` (`{amount, currency}`) in minor units, if present.
pub(super) fn money_field(
    body: &Map<String, Value>,
    name: &str,
) -> Result<Option<(i64, String)>, ApiError> {
    let bad = |why: &str| ApiError::validation_failed(name, why.to_string());
    match body.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(m)) => {
            let f = Fields::nested(m, name.into());
            f.only(&["amount", "currency"]).map_err(invalid)?;
            let (amount, currency) = (
                f.string("amount").map_err(invalid)?,
                f.string("currency").map_err(invalid)?,
            );
            let money = Money::parse(amount, currency)
                .map_err(|_| bad("must be {amount: decimal string, currency: ISO 4217 code}"))?;
            let minor = money.minor_units().map_err(|_| bad("is out of range"))?;
            Ok(Some((minor, currency.to_string())))
        }
        Some(_) => Err(bad("must be {amount, currency}")),
    }
}

/// `minor` units of `order`'s currency as API.md's Money.
pub(super) fn minor_money(order: &Order, minor: i64) -> Value {
    crate::domain::money::Currency::from_code(&order.currency)
        .and_then(|c| Money::from_minor(minor, c).ok())
        .and_then(|m| serde_json::to_value(m).ok())
        .unwrap_or(Value::Null)
}

/// Refuses money in another currency than the order's.
fn same_currency(order: &Order, currency: &str) -> Result<(), Failure<OrderRefusal>> {
    if order.currency == currency {
        return Ok(());
    }
    Err(Failure::Refused(OrderRefusal::BadField {
        field: "amount",
        reason: format!("the order is in {}", order.currency),
    }))
}

pub async fn mark_paid(
    ctx: &Ctx,
    actor: &str,
    id: &str,
    body: &Map<String, Value>,
) -> Result<Reply, ApiError> {
    only_fields(body, &["amount"])?;
    let amount = money_field(body, "amount")?;
    let summary = match &amount {
        Some((minor, currency)) => format!("mark-paid: {minor} (minor units) {currency}"),
        None => "mark-paid: the balance".into(),
    };
    run(ctx, actor, Of::Order(id), &summary, |o, _| {
        if let Some((_, currency)) = &amount {
            same_currency(o, currency)?;
        }
        // order.paid (money collected after confirmation) carries what was collected.
        let collected = amount.as_ref().map_or(o.ledger().balance(), |a| a.0);
        let detail = json!({ "amount": minor_money(o, collected), "provider_reference": null });
        decided(
            o,
            &Action::MarkPaid(amount.as_ref().map(|a| a.0)),
            Some(detail),
        )
    })
    .await
}

pub async fn cancel(
    ctx: &Ctx,
    actor: &str,
    id: &str,
    body: &Map<String, Value>,
) -> Result<Reply, ApiError> {
    only_fields(body, &["reason"])?;
    let reason = optional_reason(body)?;
    // The merchant's words travel with the order.canceled event (the order keeps
    // cancel_reason: canceled_by_merchant), and with the refund of what was paid.
    run(ctx, actor, Of::Order(id), "cancel", |o, _| {
        let settle = o.payment_method == PaymentMethod::Manual;
        let mut d = decided(
            o,
            &Action::Cancel { settle },
            Some(json!({ "reason": reason })),
        )?;
        if let Some(d) = d.as_mut() {
            d.reason = Some(reason.clone().unwrap_or_else(|| "order canceled".into()));
        }
        Ok(d)
    })
    .await
}
/// An optional free-text `reason`: a string of at most 500 characters, or absent / null.
fn optional_reason(body: &Map<String, Value>) -> Result<Option<String>, ApiError> {
    let reason = Fields::new(body)
        .opt_string("reason")
        .map_err(invalid)?
        .map(str::to_string);
    if reason.as_ref().is_some_and(|r| r.chars().count() > 500) {
        return Err(ApiError::validation_failed(
            "reason",
            "must be at most 500 characters",
        ));
    }
    Ok(reason)
}

pub async fn fulfill(
    ctx: &Ctx,
    actor: &str,
    id: &str,
    body: &Map<String, Value>,
) -> Result<Reply, ApiError> {
    only_fields(body, &["lines", "tracking", "location"])?;
    let location = match body.get("location") {
        None | Some(Value::Null) => None,
        Some(Value::String(l)) if crate::domain::stock::is_location_id(l) => Some(l.clone()),
        Some(_) => {
            return Err(ApiError::validation_failed(
                "location",
                "must be the id of the location the units ship from",
            ))
        }
    };
    let lines = line_quantities(body, true)?;
    let tracking = match body.get("tracking") {
        None | Some(Value::Null) => None,
        Some(Value::Object(t)) => {
            let f = Fields::nested(t, "tracking".into());
            f.only(&["carrier", "number", "url"]).map_err(invalid)?;
            for name in ["carrier", "number", "url"] {
                if let Some(v) = f.opt_string(name).map_err(invalid)? {
                    if v.chars().count() > 500 {
                        return Err(invalid(FieldError::new(
                            f.path(name),
                            "must be at most 500 characters",
                        )));
                    }
                }
            }
            Some(Value::Object(t.clone()))
        }
        Some(_) => {
            return Err(ApiError::validation_failed(
                "tracking",
                "must be an object {carrier, number, url}",
            ))
        }
    };
    let detail = json!({ "lines": lines.iter().map(|(l, q)| json!({"line_id": l, "quantity": q})).collect::<Vec<_>>(), "tracking": tracking, "location": location });
    let action = Action::Fulfill(lines, location);
    run(ctx, actor, Of::Order(id), "fulfill", |o, _| {
        decided(o, &action, Some(detail.clone()))
    })
    .await
}

/// A refund of lines and/or shipping, or of an amount (goodwill, or what an edit left owed).
pub async fn refund(
    ctx: &Ctx,
    actor: &str,
    id: &str,
    body: &Map<String, Value>,
) -> Result<Reply, ApiError> {
    only_fields(body, &["lines", "include_shipping", "reason", "amount"])?;
    let amount = money_field(body, "amount")?;
    let lines = line_quantities(body, false)?;
    let f = Fields::new(body);
    let include_shipping = f
        .opt_bool("include_shipping")
        .map_err(invalid)?
        .unwrap_or(false);
    if amount.is_some() && (!lines.is_empty() || include_shipping) {
        return Err(ApiError::validation_failed(
            "amount",
            "a refund is of lines and shipping, or of an amount: not both",
        ));
    }
    let reason = optional_reason(body)?;
    let summary = match &amount {
        Some((minor, currency)) => format!("refund: {minor} (minor units) {currency}"),
        None => "refund: lines".into(),
    };
    run(ctx, actor, Of::Order(id), &summary, |o, _| {
        let settle = o.payment_method == PaymentMethod::Manual;
        let action = match &amount {
            Some((minor, currency)) => {
                same_currency(o, currency)?;
                Action::RefundAmount {
                    amount: *minor,
                    settle,
                }
            }
            None => Action::Refund {
                lines: lines.clone(),
                include_shipping,
                returned: false,
                settle,
            },
        };
        let mut d = decided(o, &action, None)?;
        if let Some(d) = d.as_mut() {
            d.reason = reason.clone();
        }
        Ok(d)
    })
    .await
}

/// One action through `app::after_sale::act`, answering the order bare.
async fn run(
    ctx: &Ctx,
    actor: &str,
    of: Of<'_>,
    summary: &str,
    decide: impl Fn(&Order, &str) -> Result<Option<Decision>, Failure<OrderRefusal>>,
) -> Result<Reply, ApiError> {
    let a = super::after_sale::Adapters::new(ctx)?;
    let order = after_sale::act(
        &a.store,
        &a.services(),
        of,
        Actor::Staff(actor),
        summary,
        decide,
    )
    .await?;
    Reply::json(200, &order.shown())
}
