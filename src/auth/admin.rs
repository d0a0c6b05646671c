//! Admin tokens: the back-office's bearer JWTs (`aud` = `comptoir-admin`) and their scopes.
//! Back-office only: the storefront bundle holds none of this.

use crate::auth::jwt::{AuthError, JwtVerifier, SignatureCheck};
use chrono::{DateTime, Utc};

pub use crate::auth::jwt::AuthError as AdminAuthError;

pub const ADMIN_AUDIENCE: &str = "comptoir-admin";

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
    /// Returns and exchanges only (a support desk); `orders:write` includes it.
    ReturnsWrite,
    /// Refunds only (a support desk); `orders:write` includes it.
    RefundsWrite,
    /// Setting a draft order's line price by hand (with a reason); no other scope includes it.
    PricingOverride,
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
            Scope::ReturnsWrite => "returns:write",
            Scope::RefundsWrite => "refunds:write",
            Scope::PricingOverride => "pricing:override",
        }
    }

    /// The broader scope that also grants this one, if any.
    fn within(self) -> Option<Scope> {
        match self {
            Scope::ReturnsWrite | Scope::RefundsWrite => Some(Scope::OrdersWrite),
            _ => None,
        }
    }
}

/// A verified admin: who, and with which rights.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Admin {
    pub subject: Option<String>,
    scopes: Vec<String>,
}

impl Admin {
    pub fn require(&self, scope: Scope) -> Result<(), AuthError> {
        let granted = |s: Scope| self.scopes.iter().any(|held| held == s.as_str());
        if granted(scope) || scope.within().is_some_and(granted) {
            Ok(())
        } else {
            Err(AuthError::MissingScope(scope.as_str()))
        }
    }
}

/// Verifies admin tokens: HS256 with `ADMIN_JWT_SECRET` and/or the `ADMIN_JWT_PUBLIC_KEYS`
/// JWK set, audience `comptoir-admin` required, `iss` checked against `ADMIN_JWT_ISSUER`.
pub struct AdminVerifier {
    inner: JwtVerifier,
}

impl AdminVerifier {
    pub fn new(
        secret: Option<&str>,
        issuer: Option<&str>,
        public_keys: Option<&str>,
    ) -> AdminVerifier {
        AdminVerifier {
            inner: JwtVerifier::new(secret, public_keys, Some(ADMIN_AUDIENCE), issuer),
        }
    }

    /// Problems with the configured JWK set, for the log.
    pub fn config_errors(&self) -> &[String] {
        &self.inner.config_errors
    }

    pub async fn verify(
        &self,
        token: &str,
        now: DateTime<Utc>,
        check: &impl SignatureCheck,
    ) -> Result<Admin, AuthError> {
        let v = self.inner.verify(token, now, check).await?;
        Ok(Admin {
            subject: v.subject,
            scopes: v.scope.split_whitespace().map(str::to_string).collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::jwt::{AuthError, LibraryCheck};
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;
    use chrono::Duration;
    use futures_util::FutureExt;
    use jwt_compact::alg::{Ed25519, Es256, Hs256, Hs256Key};
    use jwt_compact::Header;
    use jwt_compact::{AlgorithmExt, Claims};
    use serde::Serialize;

    /// The verifier, with the crypto crates' signature checks (ready at once: no waiting).
    trait Check {
        fn check(&self, token: &str, now: DateTime<Utc>) -> Result<Admin, AuthError>;
    }

    impl Check for AdminVerifier {
        fn check(&self, token: &str, now: DateTime<Utc>) -> Result<Admin, AuthError> {
            self.verify(token, now, &LibraryCheck)
                .now_or_never()
                .expect("the crypto crates never wait")
        }
    }

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
        AdminVerifier::new(Some(SECRET), None, None)
    }

    #[test]
    fn a_valid_token_carries_its_scopes() {
        let admin = verifier()
            .check(&good("catalog:write orders:read"), now())
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
    fn a_support_desk_scope_grants_returns_or_refunds_and_nothing_else_of_orders() {
        let desk = verifier()
            .check(&good("orders:read returns:write refunds:write"), now())
            .unwrap();
        assert!(desk.require(Scope::ReturnsWrite).is_ok());
        assert!(desk.require(Scope::RefundsWrite).is_ok());
        assert_eq!(
            desk.require(Scope::OrdersWrite),
            Err(AuthError::MissingScope("orders:write"))
        );
        let returns_only = verifier().check(&good("returns:write"), now()).unwrap();
        assert_eq!(
            returns_only.require(Scope::RefundsWrite),
            Err(AuthError::MissingScope("refunds:write"))
        );
        // orders:write keeps granting every order write, returns and refunds included.
        let full = verifier().check(&good("orders:write"), now()).unwrap();
        assert!(full.require(Scope::ReturnsWrite).is_ok());
        assert!(full.require(Scope::RefundsWrite).is_ok());
    }

    #[test]
    fn the_audience_may_be_a_list_that_includes_comptoir_admin() {
        let t = mint(
            Some(serde_json::json!(["other", "comptoir-admin"])),
            "catalog:write",
            Some(60),
            SECRET,
        );
        assert!(verifier().check(&t, now()).is_ok());
    }

    #[test]
    fn a_wrong_or_missing_audience_is_refused() {
        for aud in [
            Some("comptoir-storefront".into()),
            None,
            Some(serde_json::json!(["x"])),
        ] {
            let t = mint(aud, "catalog:write", Some(60), SECRET);
            assert_eq!(verifier().check(&t, now()), Err(AuthError::WrongAudience));
        }
    }

    #[test]
    fn expiry_is_required_and_has_sixty_seconds_of_leeway() {
        let t = mint(Some("comptoir-admin".into()), "", None, SECRET);
        assert_eq!(verifier().check(&t, now()), Err(AuthError::MissingExpiry));
        let t = mint(Some("comptoir-admin".into()), "", Some(-30), SECRET);
        assert!(
            verifier().check(&t, now()).is_ok(),
            "30 s past expiry is within leeway"
        );
        let t = mint(Some("comptoir-admin".into()), "", Some(-61), SECRET);
        assert_eq!(verifier().check(&t, now()), Err(AuthError::Expired));
    }

    #[test]
    fn a_token_signed_with_another_key_is_refused() {
        let t = mint(
            Some("comptoir-admin".into()),
            "catalog:write",
            Some(60),
            "another-secret-0123456789abcdef-xyz",
        );
        assert_eq!(verifier().check(&t, now()), Err(AuthError::BadSignature));
    }

    #[test]
    fn alg_none_and_unconfigured_algorithms_are_refused() {
        let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#);
        let body = URL_SAFE_NO_PAD
            .encode(r#"{"aud":"comptoir-admin","exp":1900000000,"scope":"catalog:write"}"#);
        for token in [format!("{header}.{body}."), format!("{header}.{body}")] {
            assert!(verifier().check(&token, now()).is_err(), "{token}");
        }
        let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"HS512","typ":"JWT"}"#);
        let t = format!("{header}.{body}.c2ln");
        assert_eq!(
            verifier().check(&t, now()),
            Err(AuthError::Algorithm("HS512".into()))
        );
    }

    #[test]
    fn garbage_is_malformed() {
        for t in ["", "abc", "a.b.c", "....", "eyJ.eyJ.sig"] {
            assert!(verifier().check(t, now()).is_err(), "{t:?}");
        }
    }

    #[test]
    fn without_a_strong_secret_nothing_verifies() {
        let weak = AdminVerifier::new(Some("short"), None, None);
        assert_eq!(
            weak.check(&good("catalog:write"), now()),
            Err(AuthError::NotConfigured)
        );
        let none = AdminVerifier::new(None, None, None);
        assert_eq!(
            none.check(&good("catalog:write"), now()),
            Err(AuthError::NotConfigured)
        );
    }

    #[test]
    fn the_issuer_is_checked_when_configured() {
        let strict = AdminVerifier::new(Some(SECRET), Some("https://idp.example"), None);
        assert_eq!(
            strict.check(&good("catalog:write"), now()),
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
        assert!(strict.check(&t, now()).is_ok());
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
        assert_eq!(verifier().check(&t, now()), Err(AuthError::NotYetValid));
    }

    fn jwk_with_kid(jwk: jwt_compact::jwk::JsonWebKey<'_>, kid: &str) -> serde_json::Value {
        let mut v = serde_json::to_value(&jwk).unwrap();
        v["kid"] = kid.into();
        v
    }

    fn claims() -> Claims<Out> {
        let mut c = Claims::new(Out {
            aud: Some("comptoir-admin".into()),
            iss: None,
            scope: "orders:read".into(),
        });
        c.expiration = Some(now() + Duration::seconds(600));
        c
    }

    #[test]
    fn eddsa_and_es256_tokens_verify_against_the_jwk_set_by_key_id() {
        let ed = ed25519_compact::KeyPair::from_seed(ed25519_compact::Seed::new([3; 32]));
        let ec = p256::ecdsa::SigningKey::from_slice(&[7; 32]).unwrap();
        let ec_pub = *ec.verifying_key();
        let set = serde_json::json!({"keys": [
            jwk_with_kid(jwt_compact::jwk::JsonWebKey::from(&ed.pk), "ed-1"),
            jwk_with_kid(jwt_compact::jwk::JsonWebKey::from(&ec_pub), "ec-1"),
        ]});
        let v = AdminVerifier::new(None, None, Some(&set.to_string()));
        assert!(v.config_errors().is_empty(), "{:?}", v.config_errors());
        let ed_token = Ed25519
            .token(&Header::empty().with_key_id("ed-1"), &claims(), &ed.sk)
            .unwrap();
        let ec_token = Es256
            .token(&Header::empty().with_key_id("ec-1"), &claims(), &ec)
            .unwrap();
        assert!(v
            .check(&ed_token, now())
            .unwrap()
            .require(Scope::OrdersRead)
            .is_ok());
        assert!(v.check(&ec_token, now()).is_ok());
        // Without a kid, every key of the algorithm is tried.
        let no_kid = Ed25519.token(&Header::empty(), &claims(), &ed.sk).unwrap();
        assert!(v.check(&no_kid, now()).is_ok());
        // A kid the set does not hold, or the wrong key under a kid, is refused.
        let unknown = Ed25519
            .token(&Header::empty().with_key_id("ed-2"), &claims(), &ed.sk)
            .unwrap();
        assert_eq!(v.check(&unknown, now()), Err(AuthError::UnknownKey));
        let other = ed25519_compact::KeyPair::from_seed(ed25519_compact::Seed::new([4; 32]));
        let forged = Ed25519
            .token(&Header::empty().with_key_id("ed-1"), &claims(), &other.sk)
            .unwrap();
        assert_eq!(v.check(&forged, now()), Err(AuthError::BadSignature));
    }

    #[test]
    fn an_hs256_token_signed_with_a_public_key_is_refused() {
        // Algorithm confusion: the attacker uses the published key bytes as an HMAC secret.
        let ed = ed25519_compact::KeyPair::from_seed(ed25519_compact::Seed::new([3; 32]));
        let set = serde_json::json!({"keys": [jwk_with_kid(jwt_compact::jwk::JsonWebKey::from(&ed.pk), "ed-1")]});
        let v = AdminVerifier::new(None, None, Some(&set.to_string()));
        let token = Hs256
            .token(
                &Header::empty().with_key_id("ed-1"),
                &claims(),
                &Hs256Key::new(ed.pk.as_ref()),
            )
            .unwrap();
        assert_eq!(v.check(&token, now()), Err(AuthError::NotConfigured));
    }

    #[test]
    fn a_key_the_platform_cannot_use_refuses_its_tokens_and_says_why() {
        let ec = p256::ecdsa::SigningKey::from_slice(&[7; 32]).unwrap();
        // Coordinates of the right length that are no point of P-256.
        let set = serde_json::json!({"keys": [{"kty": "EC", "crv": "P-256", "kid": "off",
            "x": URL_SAFE_NO_PAD.encode([1u8; 32]), "y": URL_SAFE_NO_PAD.encode([2u8; 32])}]});
        let v = AdminVerifier::new(None, None, Some(&set.to_string()));
        assert!(v.config_errors().is_empty(), "{:?}", v.config_errors());
        let token = Es256
            .token(&Header::empty().with_key_id("off"), &claims(), &ec)
            .unwrap();
        let refused = v.check(&token, now()).unwrap_err();
        assert!(matches!(refused, AuthError::KeyUnusable(_)), "{refused:?}");
        assert_eq!(refused.status(), 401);
    }

    #[test]
    fn weak_ed25519_keys_are_refused_as_the_crypto_crate_refuses_them() {
        // The y of every small-order point (0, 1, p - 1, the two of order 8) and p itself,
        // each with the sign bit clear and set.
        let hex = [
            "0000000000000000000000000000000000000000000000000000000000000000",
            "0100000000000000000000000000000000000000000000000000000000000000",
            "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
            "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
            "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
            "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        ];
        let keys: Vec<Vec<u8>> = hex
            .iter()
            .flat_map(|h| {
                let bytes: Vec<u8> = (0..32)
                    .map(|i| u8::from_str_radix(&h[2 * i..2 * i + 2], 16).unwrap())
                    .collect();
                let mut signed = bytes.clone();
                signed[31] |= 0x80;
                [bytes, signed]
            })
            .collect();
        for key in &keys {
            // The crate the tests verify with calls each of them weak or no key at all.
            let crate_refuses = ed25519_compact::PublicKey::from_slice(key)
                .map_err(|_| ())
                .and_then(|k| k.validate().map_err(|_| ()))
                .is_err();
            assert!(crate_refuses, "{key:02x?}");
            let set = serde_json::json!({"keys": [{"kty": "OKP", "crv": "Ed25519", "x": URL_SAFE_NO_PAD.encode(key)}]});
            let v = AdminVerifier::new(None, None, Some(&set.to_string()));
            assert_eq!(v.config_errors().len(), 1, "{key:02x?}");
            assert!(
                v.config_errors()[0].contains("weak"),
                "{:?}",
                v.config_errors()
            );
        }
        // A real key passes.
        let ed = ed25519_compact::KeyPair::from_seed(ed25519_compact::Seed::new([3; 32]));
        let set = serde_json::json!({"keys": [{"kty": "OKP", "crv": "Ed25519", "x": URL_SAFE_NO_PAD.encode(*ed.pk)}]});
        assert!(AdminVerifier::new(None, None, Some(&set.to_string()))
            .config_errors()
            .is_empty());
    }

    #[test]
    fn private_keys_and_unsupported_keys_in_the_set_are_reported_and_skipped() {
        let ed = ed25519_compact::KeyPair::from_seed(ed25519_compact::Seed::new([3; 32]));
        let set = serde_json::json!({"keys": [
            jwt_compact::jwk::JsonWebKey::from(&ed.sk),
            {"kty": "RSA", "n": "AQAB", "e": "AQAB"},
            {"kty": "oct", "k": "c2VjcmV0"},
        ]});
        let v = AdminVerifier::new(None, None, Some(&set.to_string()));
        assert_eq!(v.config_errors().len(), 3, "{:?}", v.config_errors());
        assert!(
            AdminVerifier::new(None, None, Some("not json")).config_errors()[0]
                .contains("not JSON")
        );
    }
}
