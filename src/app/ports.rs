//! Ports: what the use cases need from the outside world, as small traits. The D1, KV, Stripe
//! and clock adapters implement them on wasm32; the native tests implement them in memory.
//!
//! Workers futures are not `Send` (they hold JS values), so no port asks for `Send`.

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
