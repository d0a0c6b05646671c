//! Worker entry points: build the adapters from `Env` and delegate. One set per feature.

use worker::{event, Context, Env, Request, Response};

#[event(start)]
fn start() {
    // Panic messages reach the log; keep whatever hook was installed before ours. The request
    // that panicked still gets its log line (the entry module answers it 500).
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        console_error_panic_hook::hook(info);
        crate::http::trace::log_panicked_request();
        previous(info);
    }));
}

#[cfg(feature = "storefront")]
#[event(fetch)]
async fn fetch(req: Request, env: Env, ctx: Context) -> worker::Result<Response> {
    crate::http::server::serve(req, env, ctx, crate::http::storefront::handle).await
}

#[cfg(feature = "backoffice")]
#[event(fetch)]
async fn fetch(req: Request, env: Env, ctx: Context) -> worker::Result<Response> {
    crate::http::server::serve(req, env, ctx, crate::http::backoffice::handle).await
}

#[cfg(feature = "backoffice")]
mod jobs {
    use crate::http::server::now_rfc3339;
    use crate::store::d1::{Db, Meter};
    use crate::store::purge::Expired;
    use worker::{event, Env, MessageBatch, ScheduleContext, ScheduledEvent};

    /// Every cron tick refreshes each market's catalog snapshot in KV, so storefronts never
    /// wait on a rebuild and a change made outside the admin API shows within a tick.
    #[event(scheduled)]
    async fn scheduled(_event: ScheduledEvent, env: Env, _ctx: ScheduleContext) {
        if let Err(e) = refresh_snapshots(&env).await {
            worker::console_error!("cron: snapshot refresh failed: {e}");
        }
        for what in [Expired::Carts, Expired::IdempotencyKeys] {
            if let Err(e) = purge(&env, what).await {
                worker::console_error!("cron: purging {what:?} failed: {e}");
            }
        }
        if let Err(e) = expire_orders(&env).await {
            worker::console_error!("cron: unpaid order expiry failed: {e}");
        }
        if let Err(e) = reconcile_hot(&env).await {
            worker::console_error!("cron: hot SKUs' reconciliation failed: {e}");
        }
        // Events the expiry just wrote, then anything committed but never handed off.
        if let Err(e) = crate::store::outbox::publish(&env, None).await {
            worker::console_error!("cron: publishing events failed: {e}");
        }
        if let Err(e) = crate::delivery::sweep(&env).await {
            worker::console_error!("cron: outbox sweep failed: {e}");
        }
    }

    /// Splits again the hot SKUs whose objects drifted from D1 (`store::hot::reconcile`).
    async fn reconcile_hot(env: &Env) -> Result<(), String> {
        let db = Db::new(env.d1("DB").map_err(|e| e.to_string())?, Meter::default());
        let now_ms = worker::Date::now().as_millis() as f64;
        let done = crate::store::hot::reconcile(env, &db, now_ms, || {
            crate::http::server::random_id("adj")
        })
        .await
        .map_err(|e| e.to_string())?;
        for sku in done {
            worker::console_log!("cron: hot SKU {sku} split again from D1's numbers");
        }
        Ok(())
    }

    /// Cancels unpaid orders past their deadline (`app::orders::expire_overdue`): at most 100
    /// per tick, each in its own batch.
    async fn expire_orders(env: &Env) -> Result<(), String> {
        let store = crate::store::D1Store {
            db: Db::new(env.d1("DB").map_err(|e| e.to_string())?, Meter::default()),
        };
        crate::app::orders::expire_overdue(&store, &crate::platform::Cron, 100)
            .await
            .map_err(|e| e.to_string())?;
        Ok(())
    }

    /// Deletes expired carts in bounded batches (at most 10 x 500 per tick), so one tick never
    /// runs long; the next tick continues.
    /// Deletes what has expired in bounded batches (at most 10 x 500 rows per tick), so one
    /// tick never runs long; the next tick continues.
    async fn purge(env: &Env, what: Expired) -> Result<(), String> {
        let db = Db::new(env.d1("DB").map_err(|e| e.to_string())?, Meter::default());
        let now = now_rfc3339();
        for _ in 0..10 {
            let purged = crate::store::purge::purge(&db, what, &now, 500)
                .await
                .map_err(|e| format!("{e:?}"))?;
            if purged < 500 {
                break;
            }
        }
        Ok(())
    }

    async fn refresh_snapshots(env: &Env) -> Result<(), String> {
        let db = Db::new(env.d1("DB").map_err(|e| e.to_string())?, Meter::default());
        let kv = env.kv("CATALOG").map_err(|e| e.to_string())?;
        let markets = crate::store::markets::all(&db)
            .await
            .map_err(|e| format!("{e:?}"))?;
        for market in markets {
            let snapshot = crate::store::catalog::rebuild(&db, &market, now_rfc3339())
                .await
                .map_err(|e| format!("{e:?}"))?;
            crate::store::catalog::publish(&kv, &snapshot).await;
        }
        Ok(())
    }

    /// The order-events consumer: see `delivery`. Never returns `Err`.
    #[event(queue)]
    async fn queue(
        batch: MessageBatch<serde_json::Value>,
        env: Env,
        _ctx: worker::Context,
    ) -> worker::Result<()> {
        crate::delivery::consume(batch, env).await;
        Ok(())
    }
}
