//! Order tokens: what a guest gets at checkout to look the order up later. An HS256 JWT
//! signed with `ORDER_TOKEN_SECRET`, audience `comptoir-order`, subject the order id.

use crate::auth::jwt::JwtVerifier;
use chrono::{DateTime, Duration, Utc};
use jwt_compact::alg::{Hs256, Hs256Key};
use jwt_compact::{AlgorithmExt, Claims, Header};
use serde::Serialize;

const AUDIENCE: &str = "comptoir-order";
/// A guest can look the order up for this long.
const VALIDITY_DAYS: i64 = 365;

#[derive(Serialize)]
struct OrderClaims<'a> {
    aud: &'a str,
    sub: &'a str,
}

/// The shortest secret that signs order tokens (the production guard's rule for every secret).
pub use crate::app::guard::MIN_SECRET_BYTES;

/// `None` when the secret is missing or shorter than [`MIN_SECRET_BYTES`].
pub fn issue(order_id: &str, secret: &str, now: DateTime<Utc>) -> Option<String> {
    if secret.len() < MIN_SECRET_BYTES {
        return None;
    }
    let mut claims = Claims::new(OrderClaims {
        aud: AUDIENCE,
        sub: order_id,
    });
    claims.issued_at = Some(now);
    claims.expiration = Some(now + Duration::days(VALIDITY_DAYS));
    Hs256
        .token(&Header::empty(), &claims, &Hs256Key::new(secret.as_bytes()))
        .ok()
}

/// Whether `token` is a valid order token for `order_id`.
pub fn grants(token: &str, order_id: &str, secret: &str, now: DateTime<Utc>) -> bool {
    JwtVerifier::new(Some(secret), None, Some(AUDIENCE), None)
        .verify_shared_secret(token, now)
        .is_ok_and(|v| v.subject.as_deref() == Some(order_id))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "order-token-secret-0123456789abcdef-xyz";

    #[test]
    fn a_token_opens_its_own_order_only() {
        let now = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let t = issue("ord_1", SECRET, now).unwrap();
        assert!(grants(&t, "ord_1", SECRET, now));
        assert!(!grants(&t, "ord_2", SECRET, now));
        assert!(!grants(
            &t,
            "ord_1",
            "another-secret-0123456789abcdef-abcdef",
            now
        ));
        assert!(!grants("garbage", "ord_1", SECRET, now));
        assert!(!grants(&t, "ord_1", SECRET, now + Duration::days(400)));
        assert!(issue("ord_1", "short", now).is_none());
    }
}
