//! The request-scoped adapters of the small ports: the JS clock and timer, random ids, the log
//! (with the request id), the outbox hand-off after the response, and the Workers rate limiters
//! keyed by the client's IP. A missing or failing limiter allows (and says so in the log).

use crate::app::ports::{
    Clock, HotObjects, Ids, Limit, Log, Outbox, RateLimiter, StoreError, Timer,
};
use crate::domain::hot::{HotSku, ShardCall, ShardState};
use crate::http::server::Ctx;
use crate::platform::{JsTimer, RandomIds, SystemClock};

pub struct Edge<'a> {
    pub ctx: &'a Ctx,
    /// `CF-Connecting-IP`, what rate limits count per.
    pub client: String,
}

impl<'a> Edge<'a> {
    pub fn new(req: &worker::Request, ctx: &'a Ctx) -> Edge<'a> {
        let client = crate::http::server::header(req, "CF-Connecting-IP");
        Edge {
            ctx,
            client: client.unwrap_or_else(|| "unknown".into()),
        }
    }
}

impl Clock for Edge<'_> {
    fn now(&self) -> String {
        SystemClock.now()
    }

    fn now_ms(&self) -> f64 {
        SystemClock.now_ms()
    }
}

impl Timer for Edge<'_> {
    async fn sleep(&self, ms: f64) {
        JsTimer.sleep(ms).await;
    }
}

impl Ids for Edge<'_> {
    fn id(&self, prefix: &str) -> String {
        RandomIds.id(prefix)
    }
}

impl Log for Edge<'_> {
    fn warn(&self, message: &str) {
        worker::console_warn!("[{}] {message}", self.ctx.request_id);
    }

    fn error(&self, message: &str) {
        worker::console_error!("[{}] {message}", self.ctx.request_id);
    }
}

impl HotObjects for Edge<'_> {
    async fn shard(
        &self,
        hot: &HotSku,
        shard: usize,
        call: &ShardCall,
    ) -> Result<ShardState, StoreError> {
        crate::store::hot::EnvObjects(&self.ctx.env)
            .shard(hot, shard, call)
            .await
    }

    fn later(&self, hot: &HotSku, shard: usize, call: ShardCall) {
        let (env, hot) = (self.ctx.env.clone(), hot.clone());
        self.ctx.worker.wait_until(async move {
            if let Err(e) = crate::store::hot::call(&env, &hot, shard, &call).await {
                worker::console_warn!(
                    "hot stock: a call after the response failed, the alarm will settle it: {e}"
                );
            }
        });
    }
}

impl Outbox for Edge<'_> {
    fn publish(&self) {
        self.ctx.publish_events();
    }
}

impl RateLimiter for Edge<'_> {
    async fn allows(&self, limit: Limit<'_>) -> bool {
        match limit {
            Limit::Cart => {
                self.counts("CART_RATE_LIMITER", format!("cart:{}", self.client))
                    .await
            }
            Limit::Checkout => {
                self.counts("CHECKOUT_RATE_LIMITER", format!("checkout:{}", self.client))
                    .await
            }
            // Per client first: a client over its limit does not use up the cart's.
            Limit::DiscountCode { cart } => {
                self.counts("CODE_CLIENT_RATE_LIMITER", format!("code:{}", self.client))
                    .await
                    && self
                        .counts("CODE_CART_RATE_LIMITER", format!("code-cart:{cart}"))
                        .await
            }
            Limit::UnknownKey => {
                self.counts("UNKNOWN_KEY_RATE_LIMITER", format!("key:{}", self.client))
                    .await
            }
        }
    }
}

/// The rate-limiting bindings each limit uses (the production guard checks they exist).
pub const RATE_LIMITERS: [&str; 5] = [
    "CART_RATE_LIMITER",
    "CHECKOUT_RATE_LIMITER",
    "CODE_CLIENT_RATE_LIMITER",
    "CODE_CART_RATE_LIMITER",
    "UNKNOWN_KEY_RATE_LIMITER",
];

impl Edge<'_> {
    /// Counts one request against `key` on the binding: whether it is within the limit. A
    /// missing binding (local development) or a failing one allows, and says so in the log.
    async fn counts(&self, binding: &str, key: String) -> bool {
        let Ok(limiter) = self.ctx.env.rate_limiter(binding) else {
            self.warn(&format!(
                "rate limiter {binding} is not bound; not limiting"
            ));
            return true;
        };
        match limiter.limit(key).await {
            Ok(outcome) => outcome.success,
            Err(e) => {
                self.warn(&format!("rate limiter {binding} failed, allowing: {e}"));
                true
            }
        }
    }
}
