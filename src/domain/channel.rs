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
