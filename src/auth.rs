//! Admin tokens: verifying the back-office's bearer JWTs and their scopes.
//!
//! Pure: the current time comes in as an argument, so every rule (algorithm, signature,
//! audience, issuer, expiry with 60 s leeway, not-before, scope) is tested natively.

use chrono::{DateTime, Duration, Utc};
use jwt_compact::alg::{Ed25519, Es256, Hs256, Hs256Key};
use jwt_compact::jwk::JsonWebKey;
use jwt_compact::{Algorithm, AlgorithmExt, Claims, TimeOptions, Token, UntrustedToken};
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

/// A public key of the identity provider, from the `ADMIN_JWT_PUBLIC_KEYS` JWK set.
enum PublicKey {
    Ed25519(<Ed25519 as Algorithm>::VerifyingKey),
    Es256(<Es256 as Algorithm>::VerifyingKey),
}

struct KeyEntry {
    kid: Option<String>,
    key: PublicKey,
}

/// How the back-office verifies admin tokens: HS256 with `ADMIN_JWT_SECRET`, and/or EdDSA
/// (Ed25519) and ES256 with the JWK set in `ADMIN_JWT_PUBLIC_KEYS` (several keys at once, so
/// the identity provider can rotate them); `iss` checked against `ADMIN_JWT_ISSUER` when set.
pub struct AdminVerifier {
    hs256_secret: Option<Vec<u8>>,
    public_keys: Vec<KeyEntry>,
    issuer: Option<String>,
    /// Keys of the JWK set that could not be used, for the log (never for the client).
    pub config_errors: Vec<String>,
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
    /// The token names a key id the JWK set does not hold (or no key fits its algorithm).
    UnknownKey,
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
    /// `secret`: the HS256 secret (its UTF-8 bytes are the key); `issuer`: checked when set;
    /// `public_keys`: a JWK set (`{"keys": [...]}`) of Ed25519 (`OKP`) and P-256 (`EC`) keys.
    pub fn new(
        secret: Option<&str>,
        issuer: Option<&str>,
        public_keys: Option<&str>,
    ) -> AdminVerifier {
        let mut config_errors = Vec::new();
        let public_keys = public_keys
            .filter(|s| !s.trim().is_empty())
            .map(|json| parse_jwk_set(json, &mut config_errors))
            .unwrap_or_default();
        AdminVerifier {
            // An empty or short secret would make forgery easy: treat it as not configured.
            hs256_secret: secret
                .filter(|s| s.len() >= 32)
                .map(|s| s.as_bytes().to_vec()),
            public_keys,
            issuer: issuer.filter(|s| !s.is_empty()).map(str::to_string),
            config_errors,
        }
    }

    /// Verifies `Authorization: Bearer <token>`'s token at time `now`.
    pub fn verify(&self, token: &str, now: DateTime<Utc>) -> Result<Admin, AuthError> {
        let untrusted = UntrustedToken::new(token).map_err(|_| AuthError::Malformed)?;
        let alg = untrusted.algorithm().to_string();
        let kid = untrusted.header().key_id.clone();
        // Each algorithm is checked only with keys made for it: an HS256 token is never checked
        // against a public key's bytes (algorithm confusion), nor an EdDSA token against an
        // EC key.
        let token = match alg.as_str() {
            "HS256" => {
                let secret = self.hs256_secret.as_ref().ok_or(AuthError::NotConfigured)?;
                Hs256
                    .validator::<AdminClaims>(&Hs256Key::new(secret))
                    .validate(&untrusted)
                    .map_err(signature_error)?
            }
            "EdDSA" | "ES256" => {
                if self.public_keys.is_empty() {
                    return Err(AuthError::NotConfigured);
                }
                let mut last = AuthError::UnknownKey;
                let mut verified = None;
                for entry in self
                    .public_keys
                    .iter()
                    .filter(|e| kid.is_none() || e.kid == kid)
                {
                    let result = match (&entry.key, alg.as_str()) {
                        (PublicKey::Ed25519(k), "EdDSA") => {
                            Ed25519.validator::<AdminClaims>(k).validate(&untrusted)
                        }
                        (PublicKey::Es256(k), "ES256") => {
                            Es256.validator::<AdminClaims>(k).validate(&untrusted)
                        }
                        _ => continue,
                    };
                    match result {
                        Ok(t) => {
                            verified = Some(t);
                            break;
                        }
                        Err(e) => last = signature_error(e),
                    }
                }
                verified.ok_or(last)?
            }
            _ => return Err(AuthError::Algorithm(alg)),
        };
        self.check_claims(&token, now)
    }

    fn check_claims(
        &self,
        token: &Token<AdminClaims>,
        now: DateTime<Utc>,
    ) -> Result<Admin, AuthError> {
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

fn signature_error(e: jwt_compact::ValidationError) -> AuthError {
    match e {
        jwt_compact::ValidationError::InvalidSignature
        | jwt_compact::ValidationError::InvalidSignatureLen { .. }
        | jwt_compact::ValidationError::MalformedSignature(_) => AuthError::BadSignature,
        _ => AuthError::Malformed,
    }
}

/// Reads the usable keys of a JWK set; anything else is reported in `errors` and skipped.
fn parse_jwk_set(json: &str, errors: &mut Vec<String>) -> Vec<KeyEntry> {
    let set: serde_json::Value = match serde_json::from_str(json) {
        Ok(v) => v,
        Err(e) => {
            errors.push(format!("ADMIN_JWT_PUBLIC_KEYS is not JSON: {e}"));
            return Vec::new();
        }
    };
    let Some(keys) = set.get("keys").and_then(|k| k.as_array()) else {
        errors.push("ADMIN_JWT_PUBLIC_KEYS has no `keys` array".into());
        return Vec::new();
    };
    let mut out = Vec::new();
    for (i, raw) in keys.iter().enumerate() {
        let kid = raw.get("kid").and_then(|k| k.as_str()).map(str::to_string);
        let declared = raw.get("alg").and_then(|a| a.as_str());
        let jwk: JsonWebKey<'_> = match serde_json::from_value(raw.clone()) {
            Ok(k) => k,
            Err(e) => {
                errors.push(format!("key {i}: not a JWK: {e}"));
                continue;
            }
        };
        let key = match (&jwk, declared) {
            (
                JsonWebKey::KeyPair {
                    curve,
                    secret: None,
                    ..
                },
                None | Some("EdDSA"),
            ) if curve == "Ed25519" => <Ed25519 as Algorithm>::VerifyingKey::try_from(&jwk)
                .map(PublicKey::Ed25519)
                .map_err(|e| e.to_string()),
            (
                JsonWebKey::EllipticCurve {
                    curve,
                    secret: None,
                    ..
                },
                None | Some("ES256"),
            ) if curve == "P-256" => <Es256 as Algorithm>::VerifyingKey::try_from(&jwk)
                .map(PublicKey::Es256)
                .map_err(|e| e.to_string()),
            (
                JsonWebKey::KeyPair {
                    secret: Some(_), ..
                }
                | JsonWebKey::EllipticCurve {
                    secret: Some(_), ..
                },
                _,
            ) => Err("holds a private part; publish public keys only".to_string()),
            _ => Err(
                "only Ed25519 (OKP, EdDSA) and P-256 (EC, ES256) public keys are accepted"
                    .to_string(),
            ),
        };
        match key {
            Ok(key) => out.push(KeyEntry { kid, key }),
            Err(e) => errors.push(format!("key {i}: {e}")),
        }
    }
    out
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
        AdminVerifier::new(Some(SECRET), None, None)
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
        let weak = AdminVerifier::new(Some("short"), None, None);
        assert_eq!(
            weak.verify(&good("catalog:write"), now()),
            Err(AuthError::NotConfigured)
        );
        let none = AdminVerifier::new(None, None, None);
        assert_eq!(
            none.verify(&good("catalog:write"), now()),
            Err(AuthError::NotConfigured)
        );
    }

    #[test]
    fn the_issuer_is_checked_when_configured() {
        let strict = AdminVerifier::new(Some(SECRET), Some("https://idp.example"), None);
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
        assert!(v.config_errors.is_empty(), "{:?}", v.config_errors);
        let ed_token = Ed25519
            .token(&Header::empty().with_key_id("ed-1"), &claims(), &ed.sk)
            .unwrap();
        let ec_token = Es256
            .token(&Header::empty().with_key_id("ec-1"), &claims(), &ec)
            .unwrap();
        assert!(v
            .verify(&ed_token, now())
            .unwrap()
            .require(Scope::OrdersRead)
            .is_ok());
        assert!(v.verify(&ec_token, now()).is_ok());
        // Without a kid, every key of the algorithm is tried.
        let no_kid = Ed25519.token(&Header::empty(), &claims(), &ed.sk).unwrap();
        assert!(v.verify(&no_kid, now()).is_ok());
        // A kid the set does not hold, or the wrong key under a kid, is refused.
        let unknown = Ed25519
            .token(&Header::empty().with_key_id("ed-2"), &claims(), &ed.sk)
            .unwrap();
        assert_eq!(v.verify(&unknown, now()), Err(AuthError::UnknownKey));
        let other = ed25519_compact::KeyPair::from_seed(ed25519_compact::Seed::new([4; 32]));
        let forged = Ed25519
            .token(&Header::empty().with_key_id("ed-1"), &claims(), &other.sk)
            .unwrap();
        assert_eq!(v.verify(&forged, now()), Err(AuthError::BadSignature));
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
        assert_eq!(v.verify(&token, now()), Err(AuthError::NotConfigured));
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
        assert_eq!(v.config_errors.len(), 3, "{:?}", v.config_errors);
        assert!(
            AdminVerifier::new(None, None, Some("not json")).config_errors[0].contains("not JSON")
        );
    }
}
