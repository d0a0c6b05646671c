//! HTTP: routing, bodies, the error envelope, observability headers. The pure parts compile
//! natively; `server` and the per-Worker handlers are the thin wasm adapters.

pub mod after_sale_body;
pub mod body;
pub mod error;
pub mod observe;
pub mod query;
pub mod routes;

#[cfg(target_arch = "wasm32")]
pub mod edge;
#[cfg(target_arch = "wasm32")]
pub mod guard;
#[cfg(target_arch = "wasm32")]
pub mod idempotency;
#[cfg(target_arch = "wasm32")]
pub mod placed;
#[cfg(target_arch = "wasm32")]
pub mod reading;
#[cfg(target_arch = "wasm32")]
pub mod reply;
#[cfg(target_arch = "wasm32")]
pub mod server;
#[cfg(target_arch = "wasm32")]
pub mod trace;

#[cfg(all(target_arch = "wasm32", feature = "storefront"))]
pub mod storefront;

#[cfg(all(target_arch = "wasm32", feature = "backoffice"))]
pub mod backoffice;
