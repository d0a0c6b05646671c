//! Ports: what the use cases need from the outside world, as small traits. The D1, KV, Stripe
//! and clock adapters implement them on wasm32; the native tests implement them in memory.
//!
//! Workers futures are not `Send` (they hold JS values), so no port asks for `Send`.

use crate::domain::stock::StockPicture;

/// Why a storage call failed. Every variant maps to a client answer that reveals nothing
/// internal (see `http::error`); the cause is logged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreError {
    /// D1 or KV refused or timed out: 503, retry later.
    Unavailable(String),
    /// The database holds something the code cannot read: 500, a bug to fix.
    Corrupt(String),
    /// A constraint or write guard refused the batch: nothing was written. The use case knows
    /// what that means for its request (a concurrent change, a stock shortfall…).
    Refused(String),
}

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreError::Unavailable(c) => write!(f, "storage unavailable: {c}"),
            StoreError::Corrupt(c) => write!(f, "corrupt data: {c}"),
            StoreError::Refused(c) => write!(f, "write refused: {c}"),
        }
    }
}

/// The current time. Use cases never read a clock themselves.
pub trait Clock {
    /// Now, as RFC 3339 UTC with milliseconds (`2026-11-29T10:00:00.000Z`).
    fn now(&self) -> String;
    /// Now, in milliseconds since the Unix epoch.
    fn now_ms(&self) -> f64;
}

/// New identifiers: `prefix_` and 128 random bits in hex.
pub trait Ids {
    fn id(&self, prefix: &str) -> String;
}

/// Waiting, so that a use case can bound a call to an outside service.
#[allow(async_fn_in_trait)]
pub trait Timer {
    /// Resolves once `ms` milliseconds have passed. Implementations MUST NOT block the
    /// thread (on Workers: a JS timer).
    async fn sleep(&self, ms: f64);
}

/// `work`'s output, or `None` when `ms` pass first (the work is then dropped, which cancels
/// what it was waiting on where the adapter can, such as a fetch).
pub async fn within<T>(
    timer: &impl Timer,
    ms: f64,
    work: impl std::future::Future<Output = T>,
) -> Option<T> {
    use futures_util::future::{select, Either};
    let (work, deadline) = (std::pin::pin!(work), std::pin::pin!(timer.sleep(ms)));
    match select(work, deadline).await {
        Either::Left((out, _)) => Some(out),
        Either::Right(_) => None,
    }
}

/// The request's log. Lines carry the request id; causes go here, never to the client.
pub trait Log {
    fn warn(&self, message: &str);
    fn error(&self, message: &str);
}

/// RFC 3339 UTC with milliseconds for `ms` since the epoch (what `Clock::now` returns, and
/// what JS's `toISOString` gives). Written out rather than through chrono's formatter, which
/// would add about 10 KB to each Worker.
pub fn iso_at(ms: f64) -> String {
    let ms = ms as i64;
    let (days, in_day) = (ms.div_euclid(86_400_000), ms.rem_euclid(86_400_000));
    // Days to the civil date (Howard Hinnant's `civil_from_days`).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        in_day / 3_600_000,
        in_day / 60_000 % 60,
        in_day / 1000 % 60,
        in_day % 1000
    )
}

/// An instant a client wrote (`2026-11-29`, midnight UTC; or RFC 3339 such as
/// `2026-11-29T10:00:00+01:00`, `…T09:00:00.5Z`) as [`iso_at`] writes it, to compare with
/// stored timestamps; `None` when it is neither.
pub fn instant(s: &str) -> Option<String> {
    let s = s.trim();
    // A wall-clock instant is read only if writing it back gives it again (no hour 25, no
    // February 30).
    let exact = |local: String| ms_at(&local).filter(|ms| iso_at(*ms) == local);
    if s.len() == 10 {
        return exact(format!("{s}T00:00:00.000Z")).map(iso_at);
    }
    let (date_time, offset_minutes) = match s.strip_suffix('Z').or_else(|| s.strip_suffix('z')) {
        Some(rest) => (rest, 0),
        None => {
            // `±HH:MM`, exactly (any other byte there, even half a character, is refused).
            let at = s.len().checked_sub(6)?;
            let (rest, off) = (s.get(..at)?, s.get(at..)?.as_bytes());
            let sign = match off[0] {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let digits = |x: &[u8]| {
                x.iter()
                    .all(u8::is_ascii_digit)
                    .then(|| x.iter().fold(0, |n, d| n * 10 + i64::from(d - b'0')))
            };
            let (h, m) = (digits(&off[1..3])?, digits(&off[4..6])?);
            if off[3] != b':' || h > 23 || m > 59 {
                return None;
            }
            (rest, sign * (h * 60 + m))
        }
    };
    let (whole, fraction) = match date_time.split_once('.') {
        Some((w, f)) if !f.is_empty() && f.bytes().all(|b| b.is_ascii_digit()) => (w, f),
        Some(_) => return None,
        None => (date_time, "0"),
    };
    if whole.len() != 19 || !matches!(whole.as_bytes()[10], b'T' | b't' | b' ') {
        return None;
    }
    let millis: String = fraction.chars().chain("000".chars()).take(3).collect();
    let ms = exact(format!("{}T{}.{millis}Z", &whole[..10], &whole[11..]))?;
    Some(iso_at(ms - (offset_minutes * 60_000) as f64))
}

/// Milliseconds since the epoch of an instant written as [`iso_at`] writes it (`None` for
/// anything else): Howard Hinnant's `days_from_civil`.
pub fn ms_at(iso: &str) -> Option<f64> {
    let b = iso.as_bytes();
    if b.len() != 24 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[23] != b'Z' {
        return None;
    }
    let num = |from: usize, to: usize| iso.get(from..to)?.parse::<i64>().ok();
    let (y, m, d) = (num(0, 4)?, num(5, 7)?, num(8, 10)?);
    let (h, min, sec, ms) = (num(11, 13)?, num(14, 16)?, num(17, 19)?, num(20, 23)?);
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some((((days * 24 + h) * 60 + min) * 60 + sec) as f64 * 1000.0 + ms as f64)
}

#[cfg(test)]
mod tests {
    use super::{instant, iso_at, ms_at};

    #[test]
    fn instants_a_client_writes_compare_with_stored_timestamps() {
        assert_eq!(
            instant("2026-11-29").as_deref(),
            Some("2026-11-29T00:00:00.000Z")
        );
        assert_eq!(
            instant("2026-11-29T10:00:00+01:00").as_deref(),
            Some("2026-11-29T09:00:00.000Z")
        );
        assert_eq!(
            instant("2026-11-29T23:30:00-02:00").as_deref(),
            Some("2026-11-30T01:30:00.000Z"),
            "across midnight"
        );
        assert_eq!(
            instant("2026-11-29T09:00:00.5Z").as_deref(),
            Some("2026-11-29T09:00:00.500Z")
        );
        assert_eq!(
            instant("2026-11-29T09:00:00.123456Z").as_deref(),
            Some("2026-11-29T09:00:00.123Z")
        );
        for bad in [
            "",
            "yesterday",
            "2026-13-01",
            "2026-02-30",
            "2026-11-29T25:00:00Z",
            "2026-11-29T09:00:00",
            "2026-11-29T09:00:00+1:00",
            "2026-11-29T09:00:00.Z",
        ] {
            assert_eq!(instant(bad), None, "{bad}");
        }
    }

    #[test]
    fn instants_read_back_as_they_were_written() {
        let mut ms: i64 = -2_208_988_800_000;
        while ms < 10_413_792_000_000 {
            assert_eq!(ms_at(&iso_at(ms as f64)), Some(ms as f64));
            ms += 86_400_000 * 7 + 3_600_000 + 61_001;
        }
        assert_eq!(ms_at("2026-06-01T12:00:00Z"), None);
        assert_eq!(ms_at("not a time at all, really"), None);
    }

    #[test]
    fn instants_are_written_as_javascripts_to_iso_string_writes_them() {
        assert_eq!(iso_at(0.0), "1970-01-01T00:00:00.000Z");
        assert_eq!(iso_at(951_782_400_000.0), "2000-02-29T00:00:00.000Z");
        assert_eq!(iso_at(1_780_315_200_123.0), "2026-06-01T12:00:00.123Z");
        assert_eq!(iso_at(4_107_542_399_999.0), "2100-02-28T23:59:59.999Z");
    }

    #[test]
    fn every_day_for_four_centuries_matches_chrono() {
        let mut ms: i64 = -2_208_988_800_000; // 1900-01-01
        while ms < 10_413_792_000_000 {
            let expected = chrono::DateTime::from_timestamp_millis(ms)
                .unwrap()
                .format("%Y-%m-%dT%H:%M:%S%.3fZ")
                .to_string();
            assert_eq!(iso_at(ms as f64), expected);
            ms += 86_400_000 + 3_600_000 + 61_001;
        }
    }
}

/// The kinds of requests a client is limited on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit<'a> {
    /// Creating carts.
    Cart,
    /// Checking out.
    Checkout,
    /// Trying a discount code on this cart: limited per cart and per client, so codes cannot
    /// be guessed from many carts or by many clients on one cart.
    DiscountCode { cart: &'a str },
    /// A request with a missing or unknown publishable key.
    UnknownKey,
}

/// Per-client rate limits (the client is the adapter's business: its IP on Workers).
#[allow(async_fn_in_trait)]
pub trait RateLimiter {
    /// Whether the client may make one more request of this kind. Implementations MUST allow
    /// (and log) when the limiter fails at run time: a limiter outage never blocks a sale (a
    /// limiter missing from a production deployment is the production guard's business).
    async fn allows(&self, limit: Limit<'_>) -> bool;
}

/// Hands committed outbox events on for delivery.
pub trait Outbox {
    /// Called after a batch that wrote events committed. Implementations MUST NOT delay the
    /// response on it and MUST NOT lose an event when handing off fails: the outbox row is
    /// the durable copy, and a sweeper re-sends what was never handed off.
    fn publish(&self);
}

/// The published catalog.
#[allow(async_fn_in_trait)]
pub trait Catalog {
    /// The catalog snapshot of `market` (products, variants, prices), as published.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when it cannot be read; [`StoreError::Corrupt`] when what
    /// was read cannot be parsed.
    async fn snapshot(
        &self,
        market: &crate::domain::market::Market,
    ) -> Result<std::rc::Rc<crate::domain::catalog::CatalogSnapshot>, StoreError>;
}

use crate::domain::admin_defs::{DiscountDef, ShippingDef};
use crate::domain::cart::{CartChange, CartData, CartRecord, Diagnosis, IfMatch};
use crate::domain::order::returns::{Return, ReturnStatus};
use crate::domain::order::{Order, OrderChange, OrderStatus};
use crate::domain::pricing::Usage;

/// What a cart read brings along in the same round trip.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CartLookup<'a> {
    Nothing,
    /// The enabled discount with this (normalized) code, and how often it was used.
    Discount(&'a str),
    /// The shipping method with this id, enabled or not.
    ShippingMethod(&'a str),
    /// Every enabled shipping method.
    ShippingMethods,
}

/// A cart and what its [`CartLookup`] found.
#[derive(Default)]
pub struct CartLoad {
    /// `None` when no cart has that id.
    pub cart: Option<CartData>,
    pub discount: Option<(DiscountDef, Usage)>,
    pub shipping_methods: Vec<ShippingDef>,
}

/// One guarded cart write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CartWrite<'a> {
    pub cart_id: &'a str,
    pub channel_id: &'a str,
    pub now: &'a str,
    /// The expiry the write renews the cart to.
    pub expires_at: &'a str,
    /// `If-Match`, or the version a read-then-write decided on.
    pub expect: Option<IfMatch>,
    pub change: CartChange,
}

/// Carts.
#[allow(async_fn_in_trait)]
pub trait CartStore {
    /// Stores a new, empty cart.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when storage fails.
    async fn create(&self, cart: &CartRecord) -> Result<(), StoreError>;

    /// Reads a cart with everything it is priced from, and the lookup, in one round trip.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`]; [`StoreError::Corrupt`] for rows that cannot be read.
    async fn load(&self, cart_id: &str, lookup: CartLookup<'_>) -> Result<CartLoad, StoreError>;

    /// Applies `write` all or nothing, in one round trip: the guards (cart of this channel,
    /// active and unexpired, at `expect`), the change with its own guards, the version bump,
    /// and the read of the cart after it. Concurrent writes MUST serialise so none is lost.
    ///
    /// # Errors
    /// [`StoreError::Refused`] when a guard refused (nothing written: ask [`Self::diagnose`]
    /// why); [`StoreError::Unavailable`] when storage fails.
    async fn write(&self, write: &CartWrite<'_>) -> Result<Option<CartData>, StoreError>;

    /// What a refused write ran into: the cart's state, the line (by id or SKU) and the SKU's
    /// sellability and stock. One read.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when storage fails.
    async fn diagnose(
        &self,
        cart_id: &str,
        line_id: Option<&str>,
        sku: Option<&str>,
    ) -> Result<Diagnosis, StoreError>;
}

/// What the back office's order list asks for; every part optional.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OrderQuery {
    pub status: Option<OrderStatus>,
    pub payment_status: Option<crate::domain::order::PaymentStatus>,
    pub fulfillment_status: Option<crate::domain::order::FulfillmentStatus>,
    pub market: Option<String>,
    /// The channel that sold it, and where it was born.
    pub channel: Option<String>,
    pub source: Option<crate::domain::order::OrderSource>,
    /// Created strictly after / before these instants (as [`iso_at`] writes them).
    pub created_after: Option<String>,
    pub created_before: Option<String>,
    /// An order number (any case), or an email or its beginning (any case).
    pub q: Option<String>,
}

/// Which orders a list reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrderFilter {
    /// The back office's list.
    Staff(OrderQuery),
    /// One customer's orders in one channel (the storefront).
    Customer {
        customer_id: String,
        channel_id: String,
    },
}

/// The Durable Objects that hold hot SKUs' stock (src/domain/hot.rs): one call to one shard.
#[allow(async_fn_in_trait)]
pub trait HotObjects {
    async fn shard(
        &self,
        hot: &crate::domain::hot::HotSku,
        shard: usize,
        call: &crate::domain::hot::ShardCall,
    ) -> Result<crate::domain::hot::ShardState, StoreError>;

    /// The same call made after the response is sent, its answer unread (a settle: the
    /// shopper need not wait for it, and the alarm settles what never arrives).
    fn later(
        &self,
        hot: &crate::domain::hot::HotSku,
        shard: usize,
        call: crate::domain::hot::ShardCall,
    );
}

/// What a checkout writes in one guarded batch.
pub struct Placement<'a> {
    pub order: &'a Order,
    /// The cart is closed only if it is still at this version and active.
    pub cart_id: &'a str,
    pub cart_version: i64,
    /// Whether the cart is closed (a checkout); an exchange has none.
    pub close_cart: bool,
    /// The stock it reserves, per SKU and location (negative releases), as its lines'
    /// allocations say.
    pub reserve: Vec<crate::domain::order::StockMove>,
    /// Discounts whose usage counts go up (refused past their limits).
    pub discounts: Vec<String>,
    /// `inventory.low` fires for each SKU this order takes to this or below.
    pub low_stock_threshold: i64,
    /// What staff did (a draft completed), for the order's timeline.
    pub action: Option<crate::domain::order::AdminAction>,
    pub placed: crate::domain::events::Envelope,
    /// Each SKU of the order and the hot generation it was planned with (0: the normal path);
    /// the batch aborts if that no longer holds (the SKU changed mode meanwhile). Empty: no
    /// guard (an exchange, which D1 alone allocates).
    pub generations: Vec<(String, i64)>,
    /// The reservations in hot SKUs' objects this order holds: (reservation id, SKU).
    pub hot_holds: Vec<(String, String)>,
    /// The request's answer, stored under its idempotency claim in this same batch (one round
    /// trip fewer than storing it after); the order's `number` is filled in as given.
    pub answer: Option<KeptAnswer<'a>>,
}

/// An idempotent request's answer, kept by the write that makes it.
pub struct KeptAnswer<'a> {
    pub claim: &'a crate::app::idempotency::Claim,
    pub status: u16,
    /// JSON; its `order.number` is replaced by the number the store gives the order.
    pub body: String,
    pub keep_until: String,
}

/// How an order is found from what belongs to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderOf<'a> {
    /// The order a return (`ret_…`) belongs to.
    Return(&'a str),
    /// The order a refund (`ref_…`) belongs to.
    Refund(&'a str),
    /// The order holding the provider's refund (`re_…`).
    ProviderRefund(&'a str),
}

/// Which returns a list reads.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ReturnFilter {
    pub status: Option<ReturnStatus>,
    pub order_id: Option<String>,
}

/// One entry of an order's timeline, as stored: an event, an admin action or a delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimelineEntry {
    pub at: String,
    /// `event`, `admin_action` or `delivery`.
    pub kind: &'static str,
    pub actor: Option<String>,
    pub summary: String,
    pub reference: Option<String>,
}

/// A provider's event recorded as handled, so a redelivery is not handled twice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    pub event_id: String,
    pub event_type: String,
    pub received_at: String,
}

/// Orders.
#[allow(async_fn_in_trait)]
pub trait OrderStore {
    /// One order with its lines.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`]; [`StoreError::Corrupt`] for an unknown status.
    async fn order(&self, id: &str) -> Result<Option<Order>, StoreError>;

    /// Newest first, strictly after the position (`created_at`, `id`), at most `limit`.
    ///
    /// # Errors
    /// As [`Self::order`].
    async fn newest(
        &self,
        filter: &OrderFilter,
        at: &str,
        after_id: &str,
        limit: usize,
    ) -> Result<Vec<Order>, StoreError>;

    /// Unpaid orders whose payment deadline is at or before `now`, oldest deadline first.
    ///
    /// # Errors
    /// As [`Self::order`].
    async fn overdue(&self, now: &str, limit: usize) -> Result<Vec<Order>, StoreError>;

    /// Places an order, all or nothing: reserves the stock (never overselling), numbers the
    /// order per market, inserts it, counts discount usage, closes the cart, and writes
    /// `order.placed` (and `inventory.low` where due) to the outbox. Returns the number.
    ///
    /// # Errors
    /// [`StoreError::Refused`] when the cart changed, the stock or a discount's limit fell
    /// short: nothing written; [`StoreError::Unavailable`].
    async fn place(&self, placement: &Placement<'_>) -> Result<String, StoreError>;

    /// Where these SKUs' stock is: every location, and what each has available (on hand less
    /// reserved). One read.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`].
    async fn stock(&self, skus: &[String]) -> Result<StockPicture, StoreError>;

    /// Applies a decided change if the order is still as it was read, with its stock
    /// movements and its event, and the provider event's receipt if given, in one batch.
    ///
    /// # Errors
    /// [`StoreError::Refused`] when the order changed meanwhile (nothing written).
    async fn apply(
        &self,
        change: &OrderChange,
        receipt: Option<&Receipt>,
    ) -> Result<(), StoreError>;

    /// Whether this provider event was handled already.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`].
    async fn received(&self, event_id: &str) -> Result<bool, StoreError>;

    /// Records a provider event as handled (when handling it changed nothing).
    ///
    /// # Errors
    /// [`StoreError::Unavailable`].
    async fn record(&self, receipt: &Receipt) -> Result<(), StoreError>;

    /// Writes an exchange, all or nothing: the original order's change (its exchange credit,
    /// the return) and the placement of the replacement order. Returns the new order's number.
    ///
    /// # Errors
    /// [`StoreError::Refused`] when the original changed meanwhile or the stock fell short.
    async fn exchange(
        &self,
        change: &OrderChange,
        placement: &Placement<'_>,
    ) -> Result<String, StoreError>;

    /// The order a return or refund belongs to, with its lines, refunds and returns (one round
    /// trip).
    ///
    /// # Errors
    /// As [`Self::order`].
    async fn order_of(&self, of: OrderOf<'_>) -> Result<Option<Order>, StoreError>;

    /// Returns matching `filter`, newest first, strictly after (`created_at`, `id`).
    ///
    /// # Errors
    /// As [`Self::order`].
    async fn returns(
        &self,
        filter: &ReturnFilter,
        at: &str,
        after_id: &str,
        limit: usize,
    ) -> Result<Vec<Return>, StoreError>;

    /// What happened to an order, oldest first: its events, the admin actions on it and the
    /// deliveries of its events (one round trip).
    ///
    /// # Errors
    /// [`StoreError::Unavailable`].
    async fn timeline(&self, order_id: &str) -> Result<Vec<TimelineEntry>, StoreError>;
}

/// What an order edit is priced with: the market, today's catalog entries of the SKUs
/// involved, the discounts that may apply (automatic ones and those of the given codes), and
/// the SKUs' stock per location.
pub struct EditSources {
    pub market: crate::domain::market::Market,
    pub catalog: crate::domain::catalog::CatalogSnapshot,
    pub discounts: Vec<crate::domain::admin_defs::DiscountDef>,
    /// Where the SKUs' stock is, to allocate what an edit or an exchange adds.
    pub stock: StockPicture,
}

/// Reads what order edits are priced with.
#[allow(async_fn_in_trait)]
pub trait EditPricing {
    /// `None` when the market no longer exists. One round trip.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`]; [`StoreError::Corrupt`] for rows that cannot be read.
    async fn edit_sources(
        &self,
        market: &str,
        currency: &str,
        skus: &[String],
        codes: &[String],
    ) -> Result<Option<EditSources>, StoreError>;
}

/// What to ask a payment provider to give back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundOrder<'a> {
    pub refund_id: &'a str,
    pub order_id: &'a str,
    /// The payment the money came with (a Stripe PaymentIntent).
    pub payment_reference: &'a str,
    /// Minor units.
    pub amount: i64,
    pub currency: &'a str,
    /// Stable per attempt: a repeated call of one attempt makes one refund.
    pub idempotency_key: String,
}

/// What a provider answered a refund.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefundOutcome {
    Succeeded {
        reference: String,
    },
    /// Accepted; its webhook tells the end.
    Pending {
        reference: String,
    },
    /// Refused: the reason is shown on the refund.
    Failed {
        reference: Option<String>,
        reason: String,
    },
    /// No answer, or an answer that says nothing (a 5xx): the refund stays pending and can be
    /// retried with the same key.
    Unknown {
        cause: String,
    },
}

/// A payment provider after the sale (Stripe): it gives money back, and collects what an edit
/// left to pay.
#[allow(async_fn_in_trait)]
pub trait Settlements {
    /// Sends the refund. Implementations MUST send `idempotency_key` to the provider, and name
    /// the refund and the order in its metadata so that its webhooks find them.
    async fn refund(&self, r: &RefundOrder<'_>) -> RefundOutcome;

    /// Creates the intent to collect `amount` of `order`'s balance, naming the order in its
    /// metadata. Implementations MUST be idempotent on `key`.
    ///
    /// # Errors
    /// Why the provider could not be reached or refused, for the log.
    async fn collect(&self, order: &Order, amount: i64, key: &str)
        -> Result<PaymentIntent, String>;

    /// Cancels an intent no longer wanted (a balance changed again), best effort, without
    /// delaying the response.
    fn abandon(&self, intent_id: &str);
}

/// A payment provider's intent to collect an order's total.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentIntent {
    pub id: String,
    pub client_secret: String,
}

/// A card payment provider (Stripe).
#[allow(async_fn_in_trait)]
pub trait PaymentProvider {
    /// Whether the provider can be called at all (its secret is set).
    fn configured(&self) -> bool;

    /// Creates the intent to collect `order`'s total, before the order is stored (its number
    /// is not assigned yet), naming the order id in the intent's metadata. Implementations
    /// MUST be idempotent on the order id (a repeated call returns the same intent), and
    /// SHOULD abort the call when the future is dropped: the use case drops it at its timeout.
    ///
    /// # Errors
    /// Why the provider could not be reached or refused, for the log.
    async fn create_intent(&self, order: &Order) -> Result<PaymentIntent, String>;

    /// Cancels an intent that no order holds (the order was refused after the intent was
    /// created), best effort. Implementations MUST NOT delay the response on it, and log a
    /// failure: such an intent can never be paid, its client secret was never handed out.
    fn cancel_intent(&self, intent_id: &str);
}

/// Where imported orders are written (the back office).
#[allow(async_fn_in_trait)]
pub trait OrderImports {
    /// What an import call needs known, in one read: its channels and their markets, its
    /// markets, its SKUs' titles and tax classes, the orders already imported under its
    /// (channel, external id) pairs, and its SKUs' stock per location.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`]; [`StoreError::Corrupt`].
    async fn import_context(
        &self,
        orders: &[crate::domain::import::ImportedOrder],
    ) -> Result<crate::domain::import::Known, StoreError>;

    /// Writes a planned import, all or nothing, in one batch: the stock its orders reserve
    /// (never past what a location holds), their numbers, orders, lines and events,
    /// `inventory.oversold` per SKU sold beyond stock and `inventory.low` where due.
    ///
    /// # Errors
    /// [`StoreError::Refused`] when a parallel call imported one of its orders first or the
    /// stock moved (nothing written); [`StoreError::Unavailable`].
    async fn import(
        &self,
        plan: &crate::domain::import::Plan,
        low_stock_threshold: i64,
        now: &str,
    ) -> Result<(), StoreError>;
}

/// What a draft order's read or write needs known.
#[derive(Debug, Clone, Copy, Default)]
pub struct DraftQuery<'a> {
    /// The draft (`None` for a new one).
    pub draft: Option<&'a str>,
    /// The channel and market a new draft names (else the draft's).
    pub channel: Option<&'a str>,
    pub market: Option<&'a str>,
    /// The shipping method a write names (else the draft's).
    pub shipping_method: Option<&'a str>,
}

/// What [`DraftStore::draft_context`] read.
#[derive(Debug, Clone, Default)]
pub struct DraftContext {
    /// The draft as a cart (any cart row of that id: the use case checks its kind).
    pub draft: Option<crate::domain::cart::CartData>,
    pub channel_exists: bool,
    /// The market, and whether the channel sells it.
    pub market: Option<(crate::domain::market::Market, bool)>,
    pub shipping_method: Option<crate::domain::admin_defs::ShippingDef>,
    /// The order a completed draft became.
    pub order_id: Option<String>,
}

/// A draft's row as it is to be, and its lines when they change.
#[derive(Debug, Clone, Copy)]
pub struct DraftWrite<'a> {
    pub record: &'a crate::domain::cart::CartRecord,
    pub lines: Option<&'a [crate::domain::cart::LineRecord]>,
    /// `None` creates the draft; `Some(v)` rewrites it only while it is open at version `v`.
    pub expect: Option<i64>,
    pub now: &'a str,
}

/// Draft orders (staff-built carts; completing one is a checkout, through `OrderStore`).
#[allow(async_fn_in_trait)]
pub trait DraftStore {
    /// One read: the draft, whether the channel exists, the market and whether the channel
    /// sells it, the shipping method, and the order a completed draft became.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`]; [`StoreError::Corrupt`].
    async fn draft_context(&self, q: &DraftQuery<'_>) -> Result<DraftContext, StoreError>;

    /// One guarded batch: creates the draft or rewrites it (row, and lines when given, each at
    /// its SKU's catalog price as seen), bumping its version; answers it as read after.
    ///
    /// # Errors
    /// [`StoreError::Refused`] when the draft is no longer open at the version expected, or a
    /// SKU stopped being sold meanwhile (nothing written); [`StoreError::Unavailable`].
    async fn save_draft(
        &self,
        w: &DraftWrite<'_>,
    ) -> Result<Option<crate::domain::cart::CartData>, StoreError>;

    /// One guarded batch: deletes the draft `id` with its lines, only while it is open.
    ///
    /// # Errors
    /// [`StoreError::Refused`] when no open draft has that id (nothing deleted);
    /// [`StoreError::Unavailable`].
    async fn discard_draft(&self, id: &str) -> Result<(), StoreError>;
}
