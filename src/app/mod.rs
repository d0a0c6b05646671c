//! Use cases: one function per operation, over the ports of [`ports`]. A use case loads what it
//! needs, lets the pure domain decide, and hands the decision to a store that writes it as one
//! guarded D1 batch. No `worker` types here: it compiles and tests natively, with in-memory
//! fakes of the ports (`tests/app_*.rs`).

pub mod after_sale;
pub mod cart;
pub mod channels;
pub mod checkout;
pub mod drafts;
pub mod forwarding;
pub mod guard;
pub mod hot;
pub mod idempotency;
pub mod import;
pub mod orders;
pub mod payments;
pub mod ports;

use crate::domain::order::PaymentMethod;
use ports::StoreError;

/// How a use case fails: a rule refused the request (`R`, typed per use case), storage failed,
/// or something that should not happen did (a bug: logged, 500).
#[derive(Debug, Clone, PartialEq)]
pub enum Failure<R> {
    Refused(R),
    Store(StoreError),
    Bug(String),
}

impl<R> From<StoreError> for Failure<R> {
    fn from(e: StoreError) -> Self {
        Failure::Store(e)
    }
}

/// Refuses with `r`.
pub fn refuse<T, R>(r: R) -> Result<T, Failure<R>> {
    Err(Failure::Refused(r))
}

/// Deployment settings the use cases read (from the Worker's variables).
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// A cart lives this long after its last change (`CART_TTL_SECONDS`).
    pub cart_ttl_seconds: i64,
    /// An unpaid order expires after this (`UNPAID_ORDER_TTL_SECONDS`).
    pub unpaid_order_ttl_seconds: f64,
    /// `inventory.low` fires at this available stock or below (`LOW_STOCK_THRESHOLD`).
    pub low_stock_threshold: i64,
    /// How long an idempotency claim holds (`IDEMPOTENCY_LEASE_SECONDS`); a checkout that waits
    /// on the payment provider holds longer ([`Settings::checkout_lease_seconds`]).
    pub lease_seconds: f64,
    /// How long checkout waits for the payment provider (`PAYMENT_PROVIDER_TIMEOUT_MS`).
    pub payment_timeout_ms: f64,
    /// A shopper may ask to return a line this many days after it shipped
    /// (`RETURN_WINDOW_DAYS`).
    pub return_window_days: i64,
    /// A hot SKU's reservation that no order holds is released after this
    /// (`HOT_RESERVATION_TTL_SECONDS`).
    pub hot_reservation_ttl_seconds: f64,
}

/// What a checkout may spend besides waiting on the payment provider (its D1 round trips and
/// the catalog read), with room to spare: its lease covers the provider's timeout plus this.
pub const LEASE_MARGIN_SECONDS: f64 = 30.0;
/// `PAYMENT_PROVIDER_TIMEOUT_MS` unless set.
pub const DEFAULT_PAYMENT_TIMEOUT_MS: f64 = 10_000.0;
/// The longest `PAYMENT_PROVIDER_TIMEOUT_MS` accepted (a shopper waits that long at worst).
pub const MAX_PAYMENT_TIMEOUT_MS: f64 = 60_000.0;

impl Default for Settings {
    fn default() -> Self {
        Settings {
            cart_ttl_seconds: 30 * 24 * 3600,
            unpaid_order_ttl_seconds: 1800.0,
            low_stock_threshold: 5,
            lease_seconds: idempotency::DEFAULT_LEASE_SECONDS,
            payment_timeout_ms: DEFAULT_PAYMENT_TIMEOUT_MS,
            return_window_days: 30,
            hot_reservation_ttl_seconds: 600.0,
        }
    }
}

impl Settings {
    /// Reads each setting with `var`; an unset, unparsable or out-of-range value keeps the
    /// default.
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Settings {
        let d = Settings::default();
        Settings {
            cart_ttl_seconds: var("CART_TTL_SECONDS")
                .and_then(|v| v.parse::<i64>().ok())
                .filter(|v| *v > 0)
                .unwrap_or(d.cart_ttl_seconds),
            unpaid_order_ttl_seconds: var("UNPAID_ORDER_TTL_SECONDS")
                .and_then(|v| v.parse::<f64>().ok())
                .filter(|v| *v > 0.0)
                .unwrap_or(d.unpaid_order_ttl_seconds),
            low_stock_threshold: var("LOW_STOCK_THRESHOLD")
                .and_then(|v| v.parse::<i64>().ok())
                .unwrap_or(d.low_stock_threshold),
            lease_seconds: var("IDEMPOTENCY_LEASE_SECONDS")
                .and_then(|v| v.parse::<f64>().ok())
                .filter(|v| *v > 0.0 && *v <= idempotency::KEEP_SECONDS)
                .unwrap_or(d.lease_seconds),
            payment_timeout_ms: var("PAYMENT_PROVIDER_TIMEOUT_MS")
                .and_then(|v| v.parse::<f64>().ok())
                .filter(|v| *v > 0.0 && *v <= MAX_PAYMENT_TIMEOUT_MS)
                .unwrap_or(d.payment_timeout_ms),
            return_window_days: var("RETURN_WINDOW_DAYS")
                .and_then(|v| v.parse::<i64>().ok())
                .filter(|v| (0..=3650).contains(v))
                .unwrap_or(d.return_window_days),
            hot_reservation_ttl_seconds: var("HOT_RESERVATION_TTL_SECONDS")
                .and_then(|v| v.parse::<f64>().ok())
                .filter(|v| *v > 0.0 && *v <= 86_400.0)
                .unwrap_or(d.hot_reservation_ttl_seconds),
        }
    }

    /// The lease of a checkout's claim: a checkout that waits on the payment provider holds its
    /// key at least for the provider's timeout and [`LEASE_MARGIN_SECONDS`]. A lease that
    /// lapsed while the first request still waits would let a retry of the key run beside it.
    pub fn checkout_lease_seconds(&self, method: PaymentMethod) -> f64 {
        match method {
            PaymentMethod::Manual => self.lease_seconds,
            PaymentMethod::Stripe => self
                .lease_seconds
                .max(self.payment_timeout_ms / 1000.0 + LEASE_MARGIN_SECONDS),
        }
    }
}
