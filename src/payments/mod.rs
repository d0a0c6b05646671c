//! Payment provider adapters (wasm-only): each implements `app::ports::PaymentProvider`.

pub mod stripe;
