//! Standard Webhooks signing (https://www.standardwebhooks.com): `webhook-id`,
//! `webhook-timestamp`, and `webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body">`
//! keyed with the base64 part of the destination's `whsec_` secret; several signatures are
//! space-separated while a rotated secret is still honoured. Also: the retry schedule and
//! which destination URLs are acceptable.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// A new secret from 24 random bytes.
pub fn new_secret(random: [u8; 24]) -> String {
    format!("whsec_{}", STANDARD.encode(random))
}

fn sign_one(secret: &str, id: &str, timestamp: i64, body: &str) -> Option<String> {
    let key = STANDARD.decode(secret.strip_prefix("whsec_")?).ok()?;
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).ok()?;
    mac.update(format!("{id}.{timestamp}.{body}").as_bytes());
    Some(format!(
        "v1,{}",
        STANDARD.encode(mac.finalize().into_bytes())
    ))
}

/// The `webhook-signature` header value for all the given secrets.
pub fn signature_header(secrets: &[&str], id: &str, timestamp: i64, body: &str) -> Option<String> {
    let sigs: Vec<String> = secrets
        .iter()
        .filter_map(|s| sign_one(s, id, timestamp, body))
        .collect();
    (!sigs.is_empty()).then(|| sigs.join(" "))
}

/// Seconds before retry `attempt` (the first retry is attempt 1): base × 3^(attempt−1),
/// capped at one hour.
pub fn retry_delay(base_seconds: u32, attempt: u32) -> u32 {
    let factor = 3u64.saturating_pow(attempt.saturating_sub(1));
    (u64::from(base_seconds).saturating_mul(factor)).min(3600) as u32
}

/// Whether an HTTP status means "try again later".
pub fn is_retryable(status: u16) -> bool {
    status >= 500 || status == 408 || status == 429
}

/// Why a destination URL is refused.
pub fn check_url(url: &str, allow_insecure_loopback: bool) -> Result<(), &'static str> {
    if url.len() > 2048 {
        return Err("is longer than 2048 characters");
    }
    let (scheme, rest) = url
        .split_once("://")
        .ok_or("must be an absolute https URL")?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    if authority.contains('@') {
        return Err("must not carry credentials");
    }
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or("").to_ascii_lowercase(),
        None => authority
            .rsplit_once(':')
            .map_or(authority, |(h, _)| h)
            .to_ascii_lowercase(),
    };
    if host.is_empty() {
        return Err("has no host");
    }
    let loopback = host == "localhost" || host.starts_with("127.") || host == "::1";
    match scheme {
        "https" => {}
        "http" if loopback && allow_insecure_loopback => return Ok(()),
        "http" => {
            return Err("must use https (http is allowed for loopback only, in local development)")
        }
        _ => return Err("must be an https URL"),
    }
    if loopback && !allow_insecure_loopback {
        return Err("must not point at this machine");
    }
    if is_private(&host) {
        return Err("must not point at a private or link-local address");
    }
    Ok(())
}

fn is_private(host: &str) -> bool {
    let octets: Vec<u8> = host.split('.').filter_map(|p| p.parse().ok()).collect();
    if octets.len() == 4 && host.split('.').count() == 4 {
        return matches!(
            octets[..],
            [10, ..] | [192, 168, ..] | [169, 254, ..] | [0, ..]
        ) || (octets[0] == 172 && (16..=31).contains(&octets[1]))
            || (octets[0] == 100 && (64..=127).contains(&octets[1]));
    }
    host.starts_with("fc")
        || host.starts_with("fd")
        || host.starts_with("fe80")
        || host.ends_with(".internal")
        || host.ends_with(".local")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_follow_the_standard_webhooks_example() {
        // The specification's published example.
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let body = r#"{"test": 2432232314}"#;
        let header =
            signature_header(&[secret], "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body).unwrap();
        assert_eq!(header, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    #[test]
    fn a_rotated_secret_signs_alongside_the_new_one() {
        let h = signature_header(
            &["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_AAAA"],
            "m",
            1,
            "{}",
        )
        .unwrap();
        assert_eq!(h.split(' ').count(), 2);
        assert!(h.split(' ').all(|s| s.starts_with("v1,")));
    }

    #[test]
    fn retries_grow_threefold_and_stop_at_an_hour() {
        let delays: Vec<u32> = (1..=8).map(|a| retry_delay(10, a)).collect();
        assert_eq!(delays, [10, 30, 90, 270, 810, 2430, 3600, 3600]);
        assert_eq!(retry_delay(1, 1), 1);
    }

    #[test]
    fn five_hundreds_timeouts_and_throttling_retry_other_errors_do_not() {
        for s in [500, 502, 503, 408, 429] {
            assert!(is_retryable(s), "{s}");
        }
        for s in [400, 401, 403, 404, 410, 422] {
            assert!(!is_retryable(s), "{s}");
        }
    }

    #[test]
    fn destination_urls_must_be_public_https() {
        assert!(check_url("https://erp.example.com/hooks/comptoir", false).is_ok());
        assert!(check_url("http://127.0.0.1:9000/hook", true).is_ok());
        assert!(check_url("http://localhost:9000/hook", true).is_ok());
        for bad in [
            "http://erp.example.com/hook",
            "http://127.0.0.1:9000/hook",
            "https://10.0.0.5/hook",
            "https://192.168.1.10/hook",
            "https://172.20.0.1/hook",
            "https://169.254.169.254/latest",
            "https://user:pw@erp.example.com/",
            "ftp://erp.example.com/",
            "erp.example.com/hook",
            "https://[fd00::1]/hook",
        ] {
            assert!(check_url(bad, false).is_err(), "{bad}");
        }
        assert!(
            check_url("https://10.1.2.3/", true).is_err(),
            "private stays refused locally"
        );
    }
}
