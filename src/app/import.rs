//! Importing the orders other channels sold (API.md "Orders from every channel"): one read of
//! what the platform knows, the plan (domain::import), one guarded batch. A batch refused
//! because a parallel call imported one of the orders first, or because stock moved, is
//! planned again from a fresh read: the orders imported meanwhile then answer as they are.

use crate::app::ports::{Clock, Ids, OrderImports, Outbox, StoreError};
use crate::app::Failure;
use crate::domain::import::{self, ImportRefusal, ImportResult, ImportedOrder};

/// Plans made before giving up on a database that keeps changing under the call.
const MAX_PLANS: u32 = 5;

/// Imports `orders`: the results in the order sent (two D1 round trips when nothing races).
pub async fn import_orders<S, P>(
    store: &S,
    platform: &P,
    orders: &[ImportedOrder],
    low_stock_threshold: i64,
) -> Result<Vec<ImportResult>, Failure<ImportRefusal>>
where
    S: OrderImports,
    P: Clock + Ids + Outbox,
{
    let mut attempt = 1;
    loop {
        let known = store.import_context(orders).await?;
        let now = platform.now();
        let plan =
            import::plan(orders, &known, &mut |prefix| platform.id(prefix), &now).map_err(|r| {
                match r {
                    ImportRefusal::Misconfigured { cause } => Failure::Bug(cause),
                    r => Failure::Refused(r),
                }
            })?;
        if plan.orders.is_empty() {
            return Ok(plan.results);
        }
        match store.import(&plan, low_stock_threshold, &now).await {
            Ok(()) => {
                platform.publish();
                return Ok(plan.results);
            }
            Err(StoreError::Refused(_)) if attempt < MAX_PLANS => attempt += 1,
            Err(e) => return Err(e.into()),
        }
    }
}
