//! Bearer JWT verification shared by admin tokens (back-office) and customer tokens
//! (storefront): algorithm, signature (HS256 secret or an EdDSA / ES256 JWK set), expiry with
//! 60 s leeway, not-before, audience and issuer.
//!
//! Pure: the current time comes in as an argument, so every rule is tested natively.

use chrono::{DateTime, Duration, Utc};
use jwt_compact::alg::{Ed25519, Es256, Hs256, Hs256Key};
use jwt_compact::jwk::JsonWebKey;
use jwt_compact::{Algorithm, AlgorithmExt, Claims, TimeOptions, Token, UntrustedToken};
use serde::Deserialize;

const LEEWAY_SECONDS: i64 = 60;

/// A public key of the identity provider, from the `ADMIN_JWT_PUBLIC_KEYS` JWK set.
enum PublicKey {
    Ed25519(<Ed25519 as Algorithm>::VerifyingKey),
    Es256(<Es256 as Algorithm>::VerifyingKey),
}

struct KeyEntry {
    kid: Option<String>,
    key: PublicKey,
}

/// Verifies tokens: HS256 with a shared secret, and/or EdDSA (Ed25519) and ES256 with a JWK set
/// (several keys at once, so the identity provider can rotate them); the audience is checked
/// when one is expected, the issuer when one is configured.
pub struct JwtVerifier {
    hs256_secret: Option<Vec<u8>>,
    public_keys: Vec<KeyEntry>,
    audience: Option<String>,
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
    /// No `sub` where one is required (customer tokens).
    MissingSubject,
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
struct TokenClaims {
    aud: Option<Audience>,
    iss: Option<String>,
    sub: Option<String>,
    #[serde(default)]
    scope: String,
}

/// What a verified token says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub subject: Option<String>,
    /// The `scope` claim, space-separated.
    pub scope: String,
}

impl JwtVerifier {
    /// `secret`: the HS256 secret (its UTF-8 bytes are the key); `public_keys`: a JWK set
    /// (`{"keys": [...]}`) of Ed25519 (`OKP`) and P-256 (`EC`) keys; `audience`: required in
    /// `aud` when given; `issuer`: required in `iss` when given.
    pub fn new(
        secret: Option<&str>,
        public_keys: Option<&str>,
        audience: Option<&str>,
        issuer: Option<&str>,
    ) -> JwtVerifier {
        let mut config_errors = Vec::new();
        let public_keys = public_keys
            .filter(|s| !s.trim().is_empty())
            .map(|json| parse_jwk_set(json, &mut config_errors))
            .unwrap_or_default();
        JwtVerifier {
            // An empty or short secret would make forgery easy: treat it as not configured.
            hs256_secret: secret
                .filter(|s| s.len() >= 32)
                .map(|s| s.as_bytes().to_vec()),
            public_keys,
            audience: audience.filter(|s| !s.is_empty()).map(str::to_string),
            issuer: issuer.filter(|s| !s.is_empty()).map(str::to_string),
            config_errors,
        }
    }

    /// Verifies `Authorization: Bearer <token>`'s token at time `now`.
    pub fn verify(&self, token: &str, now: DateTime<Utc>) -> Result<Verified, AuthError> {
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
                    .validator::<TokenClaims>(&Hs256Key::new(secret))
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
                            Ed25519.validator::<TokenClaims>(k).validate(&untrusted)
                        }
                        (PublicKey::Es256(k), "ES256") => {
                            Es256.validator::<TokenClaims>(k).validate(&untrusted)
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
        token: &Token<TokenClaims>,
        now: DateTime<Utc>,
    ) -> Result<Verified, AuthError> {
        let claims: &Claims<TokenClaims> = token.claims();
        check_time(claims, now)?;
        let custom = &claims.custom;
        if let Some(expected) = &self.audience {
            let audience_ok = match &custom.aud {
                Some(Audience::One(a)) => a == expected,
                Some(Audience::Many(list)) => list.iter().any(|a| a == expected),
                None => false,
            };
            if !audience_ok {
                return Err(AuthError::WrongAudience);
            }
        }
        if let Some(expected) = &self.issuer {
            if custom.iss.as_deref() != Some(expected.as_str()) {
                return Err(AuthError::WrongIssuer);
            }
        }
        Ok(Verified {
            subject: custom.sub.clone().filter(|s| !s.is_empty()),
            scope: custom.scope.clone(),
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
