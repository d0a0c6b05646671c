//! D1 and KV adapters: SQL, row structs, caches. Wasm-only.

pub mod catalog;
#[cfg(feature = "storefront")]
pub mod channels;
pub mod d1;
pub mod kv;
pub mod rows;
