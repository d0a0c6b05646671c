//! Order use cases: reads for the shopper and the merchant, the back-office actions (each
//! decided by the pure state machine and applied as one guarded batch with its stock movements
//! and its event), and the expiry of unpaid orders.

use crate::app::ports::{Clock, Ids, Log, OrderFilter, OrderStore, StoreError};
use crate::app::{refuse, Failure};
use crate::domain::order::{apply, Action, Order, OrderStatus};
use crate::domain::pagination::{
    encode_time_cursor, page_of, time_cursor_position, Page, PageParamError, PageRequest,
};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrderRefusal {
    /// No such order, or not one the shopper may see (existence is not revealed).
    NotFound,
    /// No order with this id (the back office may know it).
    NoOrder { id: String },
    /// The state machine refuses this action in this status.
    Illegal {
        from: OrderStatus,
        action: &'static str,
    },
    /// `lines[index]` names no line of the order or a quantity it cannot take.
    BadLine { index: usize, reason: String },
    /// `lines[index]` of a return request cannot be returned (422 naming `lines`).
    ReturnLine { index: usize, reason: String },
    /// An amount the order cannot take (beyond what can be refunded or is owed).
    BadAmount { reason: String },
    /// A field that cannot apply to this order or return.
    BadField { field: &'static str, reason: String },
    /// The order cannot be edited now (its status, an unpaid card payment, refunds made).
    EditIllegal { from: OrderStatus, why: String },
    /// `changes[index]` cannot apply.
    BadChange { index: usize, reason: String },
    /// `moves[index]` cannot apply.
    BadMove { index: usize, reason: String },
    /// Not enough stock for what an edit adds.
    InsufficientStock { sku: String, available: i64 },
    /// No return with this id.
    NoReturn { id: String },
    /// No refund with this id.
    NoRefund { id: String },
    /// The return's state machine refuses this action in this status.
    ReturnIllegal {
        from: crate::domain::order::returns::ReturnStatus,
        action: &'static str,
    },
    /// A bad page request.
    Page(PageParamError),
    /// Concurrent changes kept winning; nothing was written; retry.
    Busy,
}

pub type OrderResult<T> = Result<T, Failure<OrderRefusal>>;

/// The order, if `may_see` grants it to the caller (an order token, the owning customer).
pub async fn order_for(
    store: &impl OrderStore,
    channel_id: &str,
    id: &str,
    may_see: impl Fn(&Order) -> bool,
) -> OrderResult<Order> {
    match store.order(id).await? {
        Some(o) if o.channel_id == channel_id && may_see(&o) => Ok(o),
        _ => refuse(OrderRefusal::NotFound),
    }
}

/// One order for the back office.
pub async fn order(store: &impl OrderStore, id: &str) -> OrderResult<Order> {
    match store.order(id).await? {
        Some(o) => Ok(o),
        None => refuse(OrderRefusal::NoOrder { id: id.into() }),
    }
}

/// A page of orders, newest first (one round trip).
pub async fn newest(
    store: &impl OrderStore,
    filter: &OrderFilter,
    page: &PageRequest,
) -> OrderResult<Page<Order>> {
    let (at, after_id) =
        time_cursor_position(page).map_err(|e| Failure::Refused(OrderRefusal::Page(e)))?;
    let found = store.newest(filter, &at, &after_id, page.limit + 1).await?;
    Ok(page_of(found, page.limit, |o| {
        encode_time_cursor(&o.created_at, &o.id)
    }))
}

/// Cancels unpaid orders past their deadline (`cancel_reason: payment_timeout`, stock
/// released, `order.canceled`), at most `limit`, each in its own batch. Returns how many.
pub async fn expire_overdue<P: Clock + Ids + Log>(
    store: &impl OrderStore,
    platform: &P,
    limit: usize,
) -> Result<usize, StoreError> {
    let now = platform.now();
    let mut expired = 0;
    for order in store.overdue(&now, limit).await? {
        if let Ok(Some(t)) = apply(&order.state(), &Action::Expire) {
            let change = order.change(&t, &now, &platform.id("evt"), None);
            match store.apply(&change, None).await {
                Ok(()) => expired += 1,
                // A concurrent payment or cancel changed it: the next tick sees the new state.
                Err(e) => platform.warn(&format!("expiring order {} skipped: {e}", order.id)),
            }
        }
    }
    Ok(expired)
}
