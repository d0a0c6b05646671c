//! Admin tokens: verifying the back-office's bearer JWTs and their scopes.
//!
//! Pure: the current time comes in as an argument, so every rule (algorithm, signature,
//! audience, issuer, expiry with 60 s leeway, not-before, scope) is tested natively.

use chrono::{DateTime, Duration, Utc};
use jwt_compact::alg::{Hs256, Hs256Key};
use jwt_compact::{AlgorithmExt, Claims, TimeOptions, UntrustedToken};
use serde::Deserialize;

pub const ADMIN_AUDIENCE: &str = "comptoir-admin";
const LEEWAY_SECONDS: i64 = 60;

/// A right an admin token can carry (`scope` claim, space-separated).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    CatalogRead,
    CatalogWrite,
    InventoryRead,
    InventoryWrite,
    OrdersRead,
    OrdersWrite,
    DestinationsRead,
    DestinationsWrite,
    EventsRead,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::CatalogRead => "catalog:read",
            Scope::CatalogWrite => "catalog:write",
            Scope::InventoryRead => "inventory:read",
            Scope::InventoryWrite => "inventory:write",
            Scope::OrdersRead => "orders:read",
            Scope::OrdersWrite => "orders:write",
            Scope::DestinationsRead => "destinations:read",
            Scope::DestinationsWrite => "destinations:write",
            Scope::EventsRead => "events:read",
        }
    }
}

/// How the back-office verifies admin tokens (from `ADMIN_JWT_SECRET`, `ADMIN_JWT_ISSUER`).
pub struct AdminVerifier {
    hs256_secret: Option<Vec<u8>>,
    issuer: Option<String>,
}

/// Why a token was refused. The client only ever learns "401" or "403"; the variant is for logs
/// and tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthError {
    /// No usable verification key is configured: a deployment mistake, refused closed.
    NotConfigured,
    Malformed,
    /// `alg` other than the configured ones (`none` included).
    Algorithm(String),
    BadSignature,
    Expired,
    NotYetValid,
    MissingExpiry,
    WrongAudience,
    WrongIssuer,
    /// Valid token without the scope the route needs: 403.
    MissingScope(&'static str),
}

impl AuthError {
    /// 403 for a valid token lacking a scope, 401 for everything else.
    pub fn status(&self) -> u16 {
        match self {
            AuthError::MissingScope(_) => 403,
            _ => 401,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
enum Audience {
    One(String),
    Many(Vec<String>),
}

#[derive(Debug, Clone, Deserialize)]
struct AdminClaims {
    aud: Option<Audience>,
    iss: Option<String>,
    sub: Option<String>,
    #[serde(default)]
    scope: String,
}

/// A verified admin: who, and with which rights.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Admin {
    pub subject: Option<String>,
    scopes: Vec<String>,
}

impl Admin {
    pub fn require(&self, scope: Scope) -> Result<(), AuthError> {
        if self.scopes.iter().any(|s| s == scope.as_str()) {
            Ok(())
        } else {
            Err(AuthError::MissingScope(scope.as_str()))
        }
    }
}

impl AdminVerifier {
    /// `secret`: the HS256 secret (its UTF-8 bytes are the key); `issuer`: checked when set.
    pub fn new(secret: Option<&str>, issuer: Option<&str>) -> AdminVerifier {
        AdminVerifier {
            // An empty or short secret would make forgery easy: treat it as not configured.
            hs256_secret: secret
                .filter(|s| s.len() >= 32)
                .map(|s| s.as_bytes().to_vec()),
            issuer: issuer.filter(|s| !s.is_empty()).map(str::to_string),
        }
    }

    /// Verifies `Authorization: Bearer <token>`'s token at time `now`.
    pub fn verify(&self, token: &str, now: DateTime<Utc>) -> Result<Admin, AuthError> {
        let untrusted = UntrustedToken::new(token).map_err(|_| AuthError::Malformed)?;
        let alg = untrusted.algorithm().to_string();
        let token = match (alg.as_str(), &self.hs256_secret) {
            ("HS256", Some(secret)) => Hs256
                .validator::<AdminClaims>(&Hs256Key::new(secret))
                .validate(&untrusted)
                .map_err(|e| match e {
                    jwt_compact::ValidationError::InvalidSignature
                    | jwt_compact::ValidationError::InvalidSignatureLen { .. }
                    | jwt_compact::ValidationError::MalformedSignature(_) => {
                        AuthError::BadSignature
                    }
                    _ => AuthError::Malformed,
                })?,
            (_, None) if alg == "HS256" => return Err(AuthError::NotConfigured),
            _ => return Err(AuthError::Algorithm(alg)),
        };
        let claims: &Claims<AdminClaims> = token.claims();
        check_time(claims, now)?;
        let custom = &claims.custom;
        let audience_ok = match &custom.aud {
            Some(Audience::One(a)) => a == ADMIN_AUDIENCE,
            Some(Audience::Many(list)) => list.iter().any(|a| a == ADMIN_AUDIENCE),
            None => false,
        };
        if !audience_ok {
            return Err(AuthError::WrongAudience);
        }
        if let Some(expected) = &self.issuer {
            if custom.iss.as_deref() != Some(expected.as_str()) {
                return Err(AuthError::WrongIssuer);
            }
        }
        Ok(Admin {
            subject: custom.sub.clone(),
            scopes: custom
                .scope
                .split_whitespace()
                .map(str::to_string)
                .collect(),
        })
    }
}

fn check_time<T>(claims: &Claims<T>, now: DateTime<Utc>) -> Result<(), AuthError> {
    let options = TimeOptions::new(Duration::seconds(LEEWAY_SECONDS), move || now);
    claims.validate_expiration(&options).map_err(|e| match e {
        jwt_compact::ValidationError::NoClaim(_) => AuthError::MissingExpiry,
        _ => AuthError::Expired,
    })?;
    if claims.not_before.is_some() {
        claims
            .validate_maturity(&options)
            .map_err(|_| AuthError::NotYetValid)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;
    use jwt_compact::Header;
    use serde::Serialize;

    const SECRET: &str = "test-admin-secret-0123456789abcdef-long-enough";

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000, 0).unwrap()
    }

    #[derive(Serialize)]
    struct Out {
        #[serde(skip_serializing_if = "Option::is_none")]
        aud: Option<serde_json::Value>,
        #[serde(skip_serializing_if = "Option::is_none")]
        iss: Option<String>,
        scope: String,
    }

    fn mint(
        aud: Option<serde_json::Value>,
        scope: &str,
        exp_in: Option<i64>,
        secret: &str,
    ) -> String {
        let mut claims = Claims::new(Out {
            aud,
            iss: None,
            scope: scope.into(),
        });
        claims.expiration = exp_in.map(|s| now() + Duration::seconds(s));
        Hs256
            .token(&Header::empty(), &claims, &Hs256Key::new(secret.as_bytes()))
            .unwrap()
    }

    fn good(scope: &str) -> String {
        mint(Some("comptoir-admin".into()), scope, Some(600), SECRET)
    }

    fn verifier() -> AdminVerifier {
        AdminVerifier::new(Some(SECRET), None)
    }

    #[test]
    fn a_valid_token_carries_its_scopes() {
        let admin = verifier()
            .verify(&good("catalog:write orders:read"), now())
            .unwrap();
        assert!(admin.require(Scope::CatalogWrite).is_ok());
        assert!(admin.require(Scope::OrdersRead).is_ok());
        assert_eq!(
            admin.require(Scope::OrdersWrite),
            Err(AuthError::MissingScope("orders:write"))
        );
        assert_eq!(AuthError::MissingScope("x").status(), 403);
    }

    #[test]
    fn the_audience_may_be_a_list_that_includes_comptoir_admin() {
        let t = mint(
            Some(serde_json::json!(["other", "comptoir-admin"])),
            "catalog:write",
            Some(60),
            SECRET,
        );
        assert!(verifier().verify(&t, now()).is_ok());
    }

    #[test]
    fn a_wrong_or_missing_audience_is_refused() {
        for aud in [
            Some("comptoir-storefront".into()),
            None,
            Some(serde_json::json!(["x"])),
        ] {
            let t = mint(aud, "catalog:write", Some(60), SECRET);
            assert_eq!(verifier().verify(&t, now()), Err(AuthError::WrongAudience));
        }
    }

    #[test]
    fn expiry_is_required_and_has_sixty_seconds_of_leeway() {
        let t = mint(Some("comptoir-admin".into()), "", None, SECRET);
        assert_eq!(verifier().verify(&t, now()), Err(AuthError::MissingExpiry));
        let t = mint(Some("comptoir-admin".into()), "", Some(-30), SECRET);
        assert!(
            verifier().verify(&t, now()).is_ok(),
            "30 s past expiry is within leeway"
        );
        let t = mint(Some("comptoir-admin".into()), "", Some(-61), SECRET);
        assert_eq!(verifier().verify(&t, now()), Err(AuthError::Expired));
    }

    #[test]
    fn a_token_signed_with_another_key_is_refused() {
        let t = mint(
            Some("comptoir-admin".into()),
            "catalog:write",
            Some(60),
            "another-secret-0123456789abcdef-xyz",
        );
        assert_eq!(verifier().verify(&t, now()), Err(AuthError::BadSignature));
    }

    #[test]
    fn alg_none_and_unconfigured_algorithms_are_refused() {
        let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#);
        let body = URL_SAFE_NO_PAD
            .encode(r#"{"aud":"comptoir-admin","exp":1900000000,"scope":"catalog:write"}"#);
        for token in [format!("{header}.{body}."), format!("{header}.{body}")] {
            assert!(verifier().verify(&token, now()).is_err(), "{token}");
        }
        let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"HS512","typ":"JWT"}"#);
        let t = format!("{header}.{body}.c2ln");
        assert_eq!(
            verifier().verify(&t, now()),
            Err(AuthError::Algorithm("HS512".into()))
        );
    }

    #[test]
    fn garbage_is_malformed() {
        for t in ["", "abc", "a.b.c", "....", "eyJ.eyJ.sig"] {
            assert!(verifier().verify(t, now()).is_err(), "{t:?}");
        }
    }

    #[test]
    fn without_a_strong_secret_nothing_verifies() {
        let weak = AdminVerifier::new(Some("short"), None);
        assert_eq!(
            weak.verify(&good("catalog:write"), now()),
            Err(AuthError::NotConfigured)
        );
        let none = AdminVerifier::new(None, None);
        assert_eq!(
            none.verify(&good("catalog:write"), now()),
            Err(AuthError::NotConfigured)
        );
    }

    #[test]
    fn the_issuer_is_checked_when_configured() {
        let strict = AdminVerifier::new(Some(SECRET), Some("https://idp.example"));
        assert_eq!(
            strict.verify(&good("catalog:write"), now()),
            Err(AuthError::WrongIssuer)
        );
        let mut claims = Claims::new(Out {
            aud: Some("comptoir-admin".into()),
            iss: Some("https://idp.example".into()),
            scope: "catalog:write".into(),
        });
        claims.expiration = Some(now() + Duration::seconds(60));
        let t = Hs256
            .token(&Header::empty(), &claims, &Hs256Key::new(SECRET.as_bytes()))
            .unwrap();
        assert!(strict.verify(&t, now()).is_ok());
    }

    #[test]
    fn a_token_used_before_its_not_before_time_is_refused() {
        let mut claims = Claims::new(Out {
            aud: Some("comptoir-admin".into()),
            iss: None,
            scope: String::new(),
        });
        claims.expiration = Some(now() + Duration::seconds(600));
        claims.not_before = Some(now() + Duration::seconds(120));
        let t = Hs256
            .token(&Header::empty(), &claims, &Hs256Key::new(SECRET.as_bytes()))
            .unwrap();
        assert_eq!(verifier().verify(&t, now()), Err(AuthError::NotYetValid));
    }
}
