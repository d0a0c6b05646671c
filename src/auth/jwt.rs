//! Bearer JWT verification shared by admin tokens (back-office) and customer tokens
//! (storefront): algorithm, signature (HS256 secret or an EdDSA / ES256 JWK set), expiry with
//! 60 s leeway, not-before, audience and issuer.
//!
//! Pure: the current time comes in as an argument, and checking a public-key signature is a
//! port ([`SignatureCheck`]): the platform's WebCrypto in a Worker (`platform::WebCrypto`), a
//! crypto library in the native tests. So the Workers' wasm carries no elliptic-curve code
//! (Ed25519 and P-256 verification weighed about 50 KB of the storefront's 513 KB gzip,
//! docs/benchmarks.md); jwt-compact still reads the token and its claims, and checks HS256.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Duration, Utc};
use jwt_compact::alg::{Hs256, Hs256Key};
use jwt_compact::{AlgorithmExt, Claims, TimeOptions, UntrustedToken};
use serde::Deserialize;

const LEEWAY_SECONDS: i64 = 60;

/// The public-key algorithms a JWK set may hold keys for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PublicAlg {
    /// Ed25519 (`OKP` keys).
    EdDsa,
    /// ECDSA on P-256 with SHA-256 (`EC` keys); the signature is `r || s`, 64 bytes.
    Es256,
}

impl PublicAlg {
    fn of(alg: &str) -> Option<PublicAlg> {
        match alg {
            "EdDSA" => Some(PublicAlg::EdDsa),
            "ES256" => Some(PublicAlg::Es256),
            _ => None,
        }
    }
}

/// Checks a token's public-key signature.
#[allow(async_fn_in_trait)]
pub trait SignatureCheck {
    /// `Ok(true)` when `signature` is `alg`'s signature of `message` by `key` (raw: Ed25519's
    /// 32 bytes, or P-256's uncompressed point `04 || x || y`); `Ok(false)` when it is not;
    /// `Err` (for the log) when the key cannot be used at all.
    async fn verify(
        &self,
        alg: PublicAlg,
        key: &[u8],
        message: &[u8],
        signature: &[u8],
    ) -> Result<bool, String>;
}

/// A public key of the identity provider, from the `*_JWT_PUBLIC_KEYS` JWK set.
struct KeyEntry {
    kid: Option<String>,
    alg: PublicAlg,
    /// Raw, as [`SignatureCheck::verify`] takes it.
    key: Vec<u8>,
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
    /// A key of the JWK set the platform refused (not a point of its curve...): for the log.
    KeyUnusable(String),
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

    /// Verifies `Authorization: Bearer <token>`'s token at time `now`, public-key signatures
    /// through `check`.
    pub async fn verify(
        &self,
        token: &str,
        now: DateTime<Utc>,
        check: &impl SignatureCheck,
    ) -> Result<Verified, AuthError> {
        let untrusted = UntrustedToken::new(token).map_err(|_| AuthError::Malformed)?;
        // Each algorithm is checked only with keys made for it: an HS256 token is never checked
        // against a public key's bytes (algorithm confusion), nor an EdDSA token against an
        // EC key.
        let claims = match PublicAlg::of(untrusted.algorithm()) {
            Some(alg) => {
                self.public_key_claims(token, &untrusted, alg, check)
                    .await?
            }
            None => self.shared_secret_claims(&untrusted)?,
        };
        self.check_claims(&claims, now)
    }

    /// Verifies an HS256 token (order tokens): a public-key token is refused as not configured.
    pub fn verify_shared_secret(
        &self,
        token: &str,
        now: DateTime<Utc>,
    ) -> Result<Verified, AuthError> {
        let untrusted = UntrustedToken::new(token).map_err(|_| AuthError::Malformed)?;
        if PublicAlg::of(untrusted.algorithm()).is_some() {
            return Err(AuthError::NotConfigured);
        }
        let claims = self.shared_secret_claims(&untrusted)?;
        self.check_claims(&claims, now)
    }

    fn shared_secret_claims(
        &self,
        untrusted: &UntrustedToken<'_>,
    ) -> Result<Claims<TokenClaims>, AuthError> {
        if untrusted.algorithm() != "HS256" {
            return Err(AuthError::Algorithm(untrusted.algorithm().to_string()));
        }
        let secret = self.hs256_secret.as_ref().ok_or(AuthError::NotConfigured)?;
        Hs256
            .validator::<TokenClaims>(&Hs256Key::new(secret))
            .validate(untrusted)
            .map(|token| token.into_parts().1)
            .map_err(signature_error)
    }

    /// The claims of a token signed by a key of the set: the keys of its algorithm (those of its
    /// `kid` when it names one) are tried in turn.
    async fn public_key_claims(
        &self,
        token: &str,
        untrusted: &UntrustedToken<'_>,
        alg: PublicAlg,
        check: &impl SignatureCheck,
    ) -> Result<Claims<TokenClaims>, AuthError> {
        if self.public_keys.is_empty() {
            return Err(AuthError::NotConfigured);
        }
        // The signing input is the token up to its last dot (JWS compact serialization).
        let (message, _) = token.rsplit_once('.').ok_or(AuthError::Malformed)?;
        let signature = untrusted.signature_bytes();
        let kid = untrusted.header().key_id.as_deref();
        let mut candidates = self
            .public_keys
            .iter()
            .filter(|e| e.alg == alg && (kid.is_none() || e.kid.as_deref() == kid))
            .peekable();
        // Both algorithms sign in 64 bytes (Ed25519; ES256's r || s).
        if candidates.peek().is_some() && signature.len() != 64 {
            return Err(AuthError::BadSignature);
        }
        let mut last = AuthError::UnknownKey;
        for entry in candidates {
            match check
                .verify(alg, &entry.key, message.as_bytes(), signature)
                .await
            {
                Ok(true) => {
                    return untrusted
                        .deserialize_claims_unchecked()
                        .map_err(|_| AuthError::Malformed)
                }
                Ok(false) => last = AuthError::BadSignature,
                Err(e) => last = AuthError::KeyUnusable(e),
            }
        }
        Err(last)
    }

    fn check_claims(
        &self,
        claims: &Claims<TokenClaims>,
        now: DateTime<Utc>,
    ) -> Result<Verified, AuthError> {
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
/// Whether a key is a point of its curve is the platform's to say, when a token names it.
fn parse_jwk_set(json: &str, errors: &mut Vec<String>) -> Vec<KeyEntry> {
    let set: serde_json::Value = match serde_json::from_str(json) {
        Ok(v) => v,
        Err(e) => {
            errors.push(format!("the JWK set is not JSON: {e}"));
            return Vec::new();
        }
    };
    let Some(keys) = set.get("keys").and_then(|k| k.as_array()) else {
        errors.push("the JWK set has no `keys` array".into());
        return Vec::new();
    };
    let mut out = Vec::new();
    for (i, raw) in keys.iter().enumerate() {
        let text = |name: &str| raw.get(name).and_then(|v| v.as_str());
        let key = if raw.get("d").is_some() || raw.get("k").is_some() {
            Err("holds a private part; publish public keys only".to_string())
        } else {
            match (text("kty"), text("crv"), text("alg")) {
                (Some("OKP"), Some("Ed25519"), None | Some("EdDSA")) => coordinate(text("x"), "x")
                    .and_then(|x| {
                        if weak_ed25519(&x) {
                            Err(
                                "a weak Ed25519 key (a point of small order, or not canonical): \
                                 any signature would verify"
                                    .to_string(),
                            )
                        } else {
                            Ok((PublicAlg::EdDsa, x))
                        }
                    }),
                (Some("EC"), Some("P-256"), None | Some("ES256")) => coordinate(text("x"), "x")
                    .and_then(|x| {
                        let y = coordinate(text("y"), "y")?;
                        Ok((PublicAlg::Es256, [&[4u8][..], &x, &y].concat()))
                    }),
                _ => Err(
                    "only Ed25519 (OKP, EdDSA) and P-256 (EC, ES256) public keys are accepted"
                        .to_string(),
                ),
            }
        };
        match key {
            Ok((alg, key)) => out.push(KeyEntry {
                kid: text("kid").map(str::to_string),
                alg,
                key,
            }),
            Err(e) => errors.push(format!("key {i}: {e}")),
        }
    }
    out
}

/// Whether an Ed25519 public key (its 32-byte encoding) is one no signature check should trust:
/// a point of small order (with such a key, some signatures verify for any message: RFC 8032
/// verifiers that do not check it, as WebCrypto's need not, accept them), or an encoding whose
/// y is not below p = 2^255 - 19. The small-order points are those whose y is 0, 1, p - 1, or
/// one of the two y of the points of order 8; the sign bit (x's) does not matter.
fn weak_ed25519(key: &[u8]) -> bool {
    const ORDER_8: [[u8; 32]; 2] = [
        [
            0x26, 0xe8, 0x95, 0x8f, 0xc2, 0xb2, 0x27, 0xb0, 0x45, 0xc3, 0xf4, 0x89, 0xf2, 0xef,
            0x98, 0xf0, 0xd5, 0xdf, 0xac, 0x05, 0xd3, 0xc6, 0x33, 0x39, 0xb1, 0x38, 0x02, 0x88,
            0x6d, 0x53, 0xfc, 0x05,
        ],
        [
            0xc7, 0x17, 0x6a, 0x70, 0x3d, 0x4d, 0xd8, 0x4f, 0xba, 0x3c, 0x0b, 0x76, 0x0d, 0x10,
            0x67, 0x0f, 0x2a, 0x20, 0x53, 0xfa, 0x2c, 0x39, 0xcc, 0xc6, 0x4e, 0xc7, 0xfd, 0x77,
            0x92, 0xac, 0x03, 0x7a,
        ],
    ];
    let Ok(mut y) = <[u8; 32]>::try_from(key) else {
        return true;
    };
    y[31] &= 0x7f; // the sign of x
                   // y >= p: little-endian, p is ed ff … ff 7f.
    let not_canonical = y[31] == 0x7f && y[1..31].iter().all(|&b| b == 0xff) && y[0] >= 0xed;
    let small = |value: u8| y[0] == value && y[1..].iter().all(|&b| b == 0);
    let p_minus_1 = y[0] == 0xec && y[1..31].iter().all(|&b| b == 0xff) && y[31] == 0x7f;
    not_canonical || small(0) || small(1) || p_minus_1 || ORDER_8.contains(&y)
}

/// A key's 32-byte coordinate (`x`, `y`), base64url without padding.
fn coordinate(value: Option<&str>, name: &str) -> Result<Vec<u8>, String> {
    let bytes = value
        .and_then(|v| URL_SAFE_NO_PAD.decode(v).ok())
        .ok_or_else(|| format!("`{name}` is not base64url"))?;
    if bytes.len() != 32 {
        return Err(format!("`{name}` is not 32 bytes"));
    }
    Ok(bytes)
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

/// The tests' signature checks, by the crypto crates (a Worker asks WebCrypto).
#[cfg(test)]
pub(crate) struct LibraryCheck;

#[cfg(test)]
impl SignatureCheck for LibraryCheck {
    async fn verify(
        &self,
        alg: PublicAlg,
        key: &[u8],
        message: &[u8],
        signature: &[u8],
    ) -> Result<bool, String> {
        match alg {
            PublicAlg::EdDsa => {
                let key = ed25519_compact::PublicKey::from_slice(key).map_err(|e| e.to_string())?;
                let signature =
                    ed25519_compact::Signature::from_slice(signature).map_err(|e| e.to_string())?;
                Ok(key.verify(message, &signature).is_ok())
            }
            PublicAlg::Es256 => {
                use p256::ecdsa::signature::Verifier;
                let key =
                    p256::ecdsa::VerifyingKey::from_sec1_bytes(key).map_err(|e| e.to_string())?;
                let Ok(signature) = p256::ecdsa::Signature::from_slice(signature) else {
                    return Ok(false);
                };
                Ok(key.verify(message, &signature).is_ok())
            }
        }
    }
}
