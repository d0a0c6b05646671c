//! D1 and KV adapters: every SQL statement, row structs, caches. Wasm-only. [`D1Store`]
//! implements the storage ports of `app::ports` (one file per port).

#[cfg(feature = "backoffice")]
pub mod admin_defs;
pub mod after_sale;
#[cfg(feature = "backoffice")]
pub mod cache;
pub mod carts;
pub mod catalog;
#[cfg(feature = "backoffice")]
pub mod channel_admin;
#[cfg(feature = "storefront")]
pub mod channels;
pub mod checkout;
pub mod d1;
#[cfg(feature = "backoffice")]
pub mod drafts;
#[cfg(feature = "backoffice")]
pub mod forwarding;
pub mod hot;
pub mod idempotency;
#[cfg(feature = "backoffice")]
pub mod imports;
#[cfg(feature = "backoffice")]
pub mod inventory;
pub mod kv;
pub mod levels;
#[cfg(feature = "backoffice")]
pub mod locations;
#[cfg(feature = "backoffice")]
pub mod markets;
pub mod orders;
pub mod outbox;
#[cfg(feature = "backoffice")]
pub mod products;
#[cfg(feature = "backoffice")]
pub mod purge;
pub mod rows;
#[cfg(feature = "backoffice")]
pub mod stats;

/// The D1 adapter of the storage ports: `CartStore` (carts.rs), `OrderStore` (orders.rs,
/// checkout.rs), `IdempotencyStore` (idempotency.rs).
pub struct D1Store {
    pub db: d1::Db,
}
