//! The production guard's HTTP side (`app::guard` holds the rules): with problems, `GET /health`
//! answers 503 `{"status":"misconfigured","problems":[…]}` and every other request 503
//! `unavailable`, before any route runs.

use crate::app::guard::{problems, Needs};
use crate::http::error::ApiError;
use crate::http::server::{Ctx, Reply};

#[cfg(feature = "storefront")]
const NEEDS: Needs = Needs {
    checked: crate::app::guard::STOREFRONT_SECRETS,
    secrets: &[&["ORDER_TOKEN_SECRET"]],
    rate_limiters: &crate::http::edge::RATE_LIMITERS,
};

#[cfg(not(feature = "storefront"))]
const NEEDS: Needs = Needs {
    checked: crate::app::guard::BACKOFFICE_SECRETS,
    secrets: &[&["ADMIN_JWT_SECRET", "ADMIN_JWT_PUBLIC_KEYS"]],
    rate_limiters: &[],
};

thread_local! {
    /// This isolate's problems, found by its first request: variables, secrets and bindings
    /// are fixed for an isolate's life (a change is a new deployment, hence new isolates), so
    /// no request after the first pays for the check.
    static PROBLEMS: std::cell::OnceCell<Vec<String>> = const { std::cell::OnceCell::new() };
}

/// The answer to a request this deployment must not serve, or `None` to serve it.
pub fn refusal(method: &str, path: &str, ctx: &Ctx) -> Option<Reply> {
    let problems = PROBLEMS.with(|p| {
        p.get_or_init(|| {
            problems(
                |name| ctx.var(name),
                |binding| ctx.env.rate_limiter(binding).is_ok(),
                NEEDS,
            )
        })
        .clone()
    });
    if problems.is_empty() {
        return None;
    }
    let reply = if method == "GET" && path == "/health" {
        Reply::json(
            503,
            &serde_json::json!({ "status": "misconfigured", "problems": problems }),
        )
    } else {
        Err(ApiError::misconfigured())
    };
    let mut reply = reply.unwrap_or_else(Reply::from);
    // Logged with every refused request, so the operator sees why (names only, no values).
    reply.cause = Some(format!(
        "misconfigured, serving nothing: {}",
        problems.join("; ")
    ));
    Some(reply)
}
