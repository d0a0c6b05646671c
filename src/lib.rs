//! Comptoir: headless commerce at the edge.
//!
//! One crate, two Workers chosen by cargo feature: `storefront` (catalog, carts, checkout) and
//! `backoffice` (admin API, event forwarding, cron). `domain` is pure and tests natively; the
//! adapters (`http::server`, `store`, `entry`) exist only on wasm32.

pub mod app;
pub mod auth;
pub mod domain;
pub mod http;
pub mod memo;
pub mod metrics;
pub mod params;

#[cfg(all(target_arch = "wasm32", feature = "backoffice"))]
mod delivery;
#[cfg(target_arch = "wasm32")]
mod entry;
#[cfg(target_arch = "wasm32")]
mod payments;
#[cfg(target_arch = "wasm32")]
pub mod platform;
#[cfg(target_arch = "wasm32")]
mod store;

#[cfg(all(target_arch = "wasm32", feature = "storefront", feature = "backoffice"))]
compile_error!("build one Worker at a time: enable `storefront` or `backoffice`, not both");

#[cfg(all(
    target_arch = "wasm32",
    not(feature = "storefront"),
    not(feature = "backoffice")
))]
compile_error!("enable the `storefront` or the `backoffice` feature to build a Worker");
