//! Token verification: the shared JWT rules, and the admin tokens' audience and scopes.

#[cfg(any(feature = "backoffice", not(target_arch = "wasm32")))]
pub mod admin;
pub mod jwt;
pub mod order_token;
pub mod stripe_signature;
