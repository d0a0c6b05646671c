//! Route tables: which path and method reach which handler, and the 404 / 405 answers for the
//! rest. Pure, so every route is tested natively; each Worker compiles only its own table.

use crate::http::error::ApiError;

/// What every Worker serves outside its API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Common {
    Health,
    OpenApi,
    /// `GET /__test/panic`: panics on purpose, served only when the `COMPTOIR_TEST_HOOKS`
    /// variable is `1` (the e2e harness), to prove a panic does not break later requests.
    TestPanic,
}

/// Splits a path into segments; `None` for an empty segment (`//`, trailing `/`).
fn segments(path: &str) -> Option<Vec<&str>> {
    let rest = path.strip_prefix('/')?;
    if rest.is_empty() {
        return Some(Vec::new());
    }
    let segs: Vec<&str> = rest.split('/').collect();
    (!segs.iter().any(|s| s.is_empty())).then_some(segs)
}

/// Answers 405 with `Allow` when the path exists under other methods.
fn only(method: &str, allowed: &'static [&'static str]) -> Result<(), ApiError> {
    if allowed.contains(&method) {
        Ok(())
    } else {
        Err(ApiError::method_not_allowed(allowed))
    }
}

fn not_found() -> ApiError {
    ApiError::not_found("no route matches this path")
}

pub fn match_common(method: &str, path: &str) -> Option<Result<Common, ApiError>> {
    let route = match path {
        "/health" => Common::Health,
        "/openapi.json" => Common::OpenApi,
        "/__test/panic" => Common::TestPanic,
        _ => return None,
    };
    Some(only(method, &["GET"]).map(|()| route))
}

#[cfg(feature = "storefront")]
pub use storefront::*;

#[cfg(feature = "storefront")]
mod storefront;

#[cfg(feature = "backoffice")]
pub use backoffice::*;

#[cfg(feature = "backoffice")]
mod backoffice;

#[cfg(feature = "backoffice")]
mod backoffice_access;

mod patterns;
pub use patterns::*;

/// Whether a request also refunds beyond its route's scope: receiving a return with
/// `refund: true` moves money, so a token needs `refunds:write` for it as well.
#[cfg(feature = "backoffice")]
pub fn refunds_too(route: &Backoffice, body: &serde_json::Map<String, serde_json::Value>) -> bool {
    matches!(route, Backoffice::ReceiveReturn { .. })
        && body.get("refund") == Some(&serde_json::Value::Bool(true))
}

/// Whether a draft's body sets a line's price by hand (the token then needs
/// `pricing:override`).
#[cfg(feature = "backoffice")]
pub fn overrides_price(
    route: &Backoffice,
    body: &serde_json::Map<String, serde_json::Value>,
) -> bool {
    matches!(
        route,
        Backoffice::CreateDraft | Backoffice::UpdateDraft { .. }
    ) && body
        .get("lines")
        .and_then(serde_json::Value::as_array)
        .is_some_and(|lines| {
            lines
                .iter()
                .any(|l| l.get("unit_price").is_some_and(|p| !p.is_null()))
        })
}

#[cfg(test)]
mod tests;
