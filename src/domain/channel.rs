//! Sales channels: a storefront, app, kiosk or marketplace, identified by its publishable key.
//!
//! The channel decides which markets may be used and which browser origins get CORS headers.
//! Its key is a public identifier (it ships in browser code), not a secret, yet we store only
//! its SHA-256 digest so a database dump does not hand out working keys.

use crate::domain::market::Market;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// A channel with its markets resolved: what a storefront request runs against.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Channel {
    pub id: String,
    pub name: String,
    /// In the order the merchant listed them.
    pub markets: Vec<Market>,
    /// Normalised origins (`scheme://host[:port]`, lower-case) allowed to call from a browser.
    pub allowed_origins: Vec<String>,
}

impl Channel {
    pub fn market(&self, code: &str) -> Option<&Market> {
        self.markets.iter().find(|m| m.code == code)
    }

    /// Whether a browser page served from `origin` may read this channel's responses.
    pub fn allows_origin(&self, origin: &str) -> bool {
        normalize_origin(origin).is_some_and(|o| self.allowed_origins.contains(&o))
    }
}

/// The digest under which a publishable key is stored and looked up (lower-case hex SHA-256).
pub fn publishable_key_digest(key: &str) -> String {
    hex(&Sha256::digest(key.as_bytes()))
}

/// Whether a header value has the shape of a publishable key (`pk_` and URL-safe characters).
/// Anything else is refused before any lookup.
pub fn is_publishable_key_shape(key: &str) -> bool {
    key.len() > 3
        && key.len() <= 128
        && key.starts_with("pk_")
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// A new publishable key from 16 random bytes: `pk_` and 32 hex digits (128 bits).
pub fn publishable_key_from(random: [u8; 16]) -> String {
    format!("pk_{}", hex(&random))
}

/// The last four characters, kept to recognise a key without storing it.
pub fn key_hint(key: &str) -> String {
    key.chars()
        .rev()
        .take(4)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect()
}

/// Fields `PUT /admin/v1/channels/{id}` accepts.
pub const CHANNEL_FIELDS: &[&str] = &["name", "markets", "allowed_origins"];

/// A channel as the admin API writes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelInput {
    pub name: String,
    pub markets: Vec<String>,
    pub allowed_origins: Vec<String>,
}

/// Parses a channel body; `known_markets` are the codes that exist.
pub fn channel_from_request(
    body: &crate::domain::fields::Fields<'_>,
    known_markets: &[String],
) -> Result<ChannelInput, crate::domain::fields::FieldError> {
    use crate::domain::fields::FieldError;
    let name = body.string("name")?.trim().to_string();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(FieldError::new("name", "must be 1 to 100 characters"));
    }
    let markets = body.string_list("markets", 50)?;
    if markets.is_empty() {
        return Err(FieldError::new(
            "markets",
            "a channel sells in at least one market",
        ));
    }
    for (i, m) in markets.iter().enumerate() {
        if !known_markets.iter().any(|k| k == m) {
            return Err(FieldError::new(
                format!("markets[{i}]"),
                format!("there is no market {m}"),
            ));
        }
        if markets[..i].contains(m) {
            return Err(FieldError::new(
                format!("markets[{i}]"),
                format!("{m} is listed twice"),
            ));
        }
    }
    let origins = body
        .opt_string_list("allowed_origins", 20)?
        .unwrap_or_default();
    let mut allowed_origins: Vec<String> = Vec::new();
    for (i, o) in origins.iter().enumerate() {
        let normalized = normalize_origin(o).ok_or_else(|| {
            FieldError::new(
                format!("allowed_origins[{i}]"),
                "must be an origin such as https://shop.example (scheme, host, optional port; no path)",
            )
        })?;
        if !allowed_origins.contains(&normalized) {
            allowed_origins.push(normalized);
        }
    }
    Ok(ChannelInput {
        name,
        markets: markets.into_iter().map(str::to_string).collect(),
        allowed_origins,
    })
}

/// Normalises a browser `Origin`: `scheme://host[:port]` with scheme and host lower-cased and
/// default ports dropped. `None` for anything that is not an http(s) origin (including `null`).
pub fn normalize_origin(origin: &str) -> Option<String> {
    let (scheme, rest) = origin.split_once("://")?;
    let scheme = scheme.to_ascii_lowercase();
    if scheme != "http" && scheme != "https" {
        return None;
    }
    if rest.is_empty()
        || rest.len() > 253
        || rest.contains(['/', '?', '#', '@', ' '])
        || !rest.is_ascii()
    {
        return None;
    }
    let rest = rest.to_ascii_lowercase();
    let (host, port) = match rest.strip_prefix('[') {
        Some(bracketed) => {
            let (inside, after) = bracketed.split_once(']')?;
            let port = match after {
                "" => None,
                p => Some(p.strip_prefix(':')?),
            };
            (format!("[{inside}]"), port)
        }
        None => match rest.split_once(':') {
            Some((h, p)) => (h.to_string(), Some(p)),
            None => (rest.clone(), None),
        },
    };
    if port.is_some_and(|p| p.is_empty() || p.len() > 5 || !p.bytes().all(|b| b.is_ascii_digit())) {
        return None;
    }
    if host.is_empty() {
        return None;
    }
    let default_port = if scheme == "https" { "443" } else { "80" };
    Some(match port {
        Some(p) if p != default_port => format!("{scheme}://{host}:{p}"),
        _ => format!("{scheme}://{host}"),
    })
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[(b >> 4) as usize] as char);
        out.push(DIGITS[(b & 0xf) as usize] as char);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_key_digest_is_the_one_the_seed_stores() {
        // schema/seed/demo.sql stores this digest for `pk_demo_web`.
        assert_eq!(
            publishable_key_digest("pk_demo_web"),
            "4e3408f9858346ed780fa4e1f58c75e8615ac5e43568f636351fb1c3067fc754"
        );
    }

    #[test]
    fn keys_without_the_pk_prefix_or_with_odd_characters_are_refused_before_lookup() {
        assert!(is_publishable_key_shape("pk_demo_web"));
        for bad in ["", "pk_", "sk_live_123", "pk_a b", "pk_é", "PK_demo"] {
            assert!(!is_publishable_key_shape(bad), "{bad:?}");
        }
        assert!(!is_publishable_key_shape(&format!(
            "pk_{}",
            "a".repeat(200)
        )));
    }

    #[test]
    fn origins_are_compared_after_normalisation() {
        assert_eq!(
            normalize_origin("HTTP://LocalHost:8789").as_deref(),
            Some("http://localhost:8789")
        );
        assert_eq!(
            normalize_origin("https://shop.example:443").as_deref(),
            Some("https://shop.example")
        );
        assert_eq!(
            normalize_origin("http://[::1]:8789").as_deref(),
            Some("http://[::1]:8789")
        );
        for bad in [
            "null",
            "file://",
            "https://shop.example/path",
            "https://",
            "javascript://x",
            "https://a@b",
            "https://shop.example:",
        ] {
            assert_eq!(normalize_origin(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn a_new_key_has_the_pk_shape_and_128_random_bits() {
        let key = publishable_key_from([0xab; 16]);
        assert_eq!(key, format!("pk_{}", "ab".repeat(16)));
        assert!(is_publishable_key_shape(&key));
        assert_eq!(key_hint(&key), "abab");
    }

    #[test]
    fn channel_bodies_name_the_bad_market_or_origin() {
        use crate::domain::fields::Fields;
        let known = vec!["FR".to_string(), "US".to_string()];
        let parse = |v: serde_json::Value| {
            let m = v.as_object().unwrap().clone();
            channel_from_request(&Fields::new(&m), &known)
        };
        let ok = parse(serde_json::json!({"name": "App", "markets": ["US", "FR"],
            "allowed_origins": ["HTTPS://Shop.Example:443", "https://shop.example"]}))
        .unwrap();
        assert_eq!(ok.markets, ["US", "FR"]);
        assert_eq!(ok.allowed_origins, ["https://shop.example"]);
        for (v, field) in [
            (serde_json::json!({"name": "", "markets": ["FR"]}), "name"),
            (serde_json::json!({"name": "x", "markets": []}), "markets"),
            (
                serde_json::json!({"name": "x", "markets": ["DE"]}),
                "markets[0]",
            ),
            (
                serde_json::json!({"name": "x", "markets": ["FR", "FR"]}),
                "markets[1]",
            ),
            (
                serde_json::json!({"name": "x", "markets": ["FR"], "allowed_origins": ["*"]}),
                "allowed_origins[0]",
            ),
            (
                serde_json::json!({"name": "x", "markets": ["FR"], "allowed_origins": ["https://a.example/shop"]}),
                "allowed_origins[0]",
            ),
        ] {
            assert_eq!(parse(v).unwrap_err().field, field);
        }
    }

    #[test]
    fn a_channel_allows_only_its_own_origins() {
        let channel = Channel {
            id: "web".into(),
            name: "Web".into(),
            markets: vec![],
            allowed_origins: vec!["http://localhost:8789".into()],
        };
        assert!(channel.allows_origin("http://localhost:8789"));
        assert!(channel.allows_origin("http://LOCALHOST:8789"));
        assert!(!channel.allows_origin("http://localhost:8790"));
        assert!(!channel.allows_origin("https://localhost:8789"));
        assert!(!channel.allows_origin("http://evil.example"));
    }
}
