//! The pure core: money, markets, channels, catalog. No I/O, no clock, no randomness, no
//! `worker` types; it compiles and tests natively.

pub mod admin_defs;
pub mod cart;
pub mod catalog;
pub mod channel;
pub mod checkout;
pub mod events;
pub mod fields;
pub mod market;
pub mod money;
pub mod order;
pub mod pagination;
pub mod pricing;
pub mod product;
pub mod webhook;
