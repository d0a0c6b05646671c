//! The pure core: money, markets, channels, catalog. No I/O, no clock, no randomness, no
//! `worker` types; it compiles and tests natively.

/// `as_str`, `parse` and `ALL` (every variant, in order) for a fieldless enum, from its
/// variants' wire names. (Declared before the modules below, so it is in scope in all of them.)
macro_rules! text_enum {
    ($t:ty { $($v:ident => $s:literal),* $(,)? }) => {
        impl $t {
            #[allow(dead_code)]
            pub const ALL: &'static [Self] = &[$(Self::$v),*];
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$v => $s),* }
            }
            pub fn parse(s: &str) -> Option<Self> {
                match s { $($s => Some(Self::$v),)* _ => None }
            }
        }
    };
}

pub mod admin_defs;
pub mod cart;
pub mod catalog;
pub mod channel;
pub mod checkout;
pub mod draft;
pub mod events;
pub mod fields;
pub mod hot;
pub mod import;
pub mod market;
pub mod money;
pub mod order;
pub mod pagination;
pub mod pricing;
pub mod product;
pub mod stats;
pub mod stock;
pub mod webhook;
