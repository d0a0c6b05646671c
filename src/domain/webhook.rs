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

/// Why a destination URL is refused. The URL is parsed as a browser parses it (WHATWG, the
/// `url` crate): `https://167772161/`, `0x0a000001`, `012.0.0.1`, `10.0.0.1.` and
/// `[::ffff:10.0.0.1]` are all 10.0.0.1, and are judged as such. Host names are names: only
/// `localhost` (and `*.localhost`) and the reserved suffixes `.local` and `.internal` are
/// refused by name; anything else can only be judged by the address it resolves to, which
/// Workers do not expose (their `fetch` does not reach private networks).
pub fn check_url(raw: &str, allow_insecure_loopback: bool) -> Result<(), &'static str> {
    if raw.len() > 2048 {
        return Err("is longer than 2048 characters");
    }
    let url = url::Url::parse(raw).map_err(|_| "must be an absolute https URL")?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err("must not carry credentials");
    }
    let place = match url.host() {
        None => return Err("has no host"),
        Some(host) => Place::of(&host),
    };
    let loopback = place == Place::Loopback;
    match url.scheme() {
        "https" => {}
        "http" if loopback && allow_insecure_loopback => return Ok(()),
        "http" => {
            return Err("must use https (http is allowed for loopback only, in local development)")
        }
        _ => return Err("must be an https URL"),
    }
    match place {
        Place::Public => Ok(()),
        Place::Loopback if allow_insecure_loopback => Ok(()),
        Place::Loopback => Err("must not point at this machine"),
        Place::Reserved => {
            Err("must not point at a private, link-local, multicast or reserved address")
        }
    }
}

/// Where a parsed host points, as far as its spelling tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Place {
    Public,
    Loopback,
    /// Private, shared, link-local, unique-local, multicast, unspecified, documentation or
    /// otherwise reserved.
    Reserved,
}

impl Place {
    fn of(host: &url::Host<&str>) -> Place {
        match host {
            url::Host::Ipv4(ip) => Place::v4(*ip),
            url::Host::Ipv6(ip) => Place::v6(*ip),
            url::Host::Domain(name) => {
                let name = name.trim_end_matches('.').to_ascii_lowercase();
                if name == "localhost" || name.ends_with(".localhost") {
                    Place::Loopback
                } else if name.is_empty()
                    || name == "local"
                    || name == "internal"
                    || name.ends_with(".local")
                    || name.ends_with(".internal")
                {
                    Place::Reserved
                } else {
                    Place::Public
                }
            }
        }
    }

    fn v4(ip: std::net::Ipv4Addr) -> Place {
        let [a, b, c, _] = ip.octets();
        if a == 127 {
            return Place::Loopback;
        }
        let reserved = a == 0 // "this network"; 0.0.0.0 is unspecified
            || a == 10
            || (a == 100 && (64..=127).contains(&b)) // shared address space (CGNAT)
            || (a == 169 && b == 254) // link-local, cloud metadata
            || (a == 172 && (16..=31).contains(&b))
            || (a == 192 && b == 0 && (c == 0 || c == 2)) // IETF assignments, TEST-NET-1
            || (a == 192 && b == 88 && c == 99) // 6to4 relay anycast
            || (a == 192 && b == 168)
            || (a == 198 && (b == 18 || b == 19)) // benchmarking
            || (a == 198 && b == 51 && c == 100) // TEST-NET-2
            || (a == 203 && b == 0 && c == 113) // TEST-NET-3
            || a >= 224; // multicast, reserved, broadcast
        if reserved {
            Place::Reserved
        } else {
            Place::Public
        }
    }

    fn v6(ip: std::net::Ipv6Addr) -> Place {
        if ip.is_loopback() {
            return Place::Loopback;
        }
        let s = ip.segments();
        let embedded =
            |hi: u16, lo: u16| std::net::Ipv4Addr::from((u32::from(hi) << 16) | u32::from(lo));
        // An IPv4 address inside an IPv6 one (mapped ::ffff:a.b.c.d, compatible ::a.b.c.d,
        // NAT64 64:ff9b::a.b.c.d) is judged as that IPv4 address.
        if s[..5] == [0; 5] && (s[5] == 0xffff || s[5] == 0) && !ip.is_unspecified() {
            return Place::v4(embedded(s[6], s[7]));
        }
        if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
            return Place::v4(embedded(s[6], s[7]));
        }
        let reserved = ip.is_unspecified()
            || (s[0] & 0xfe00) == 0xfc00 // unique local fc00::/7
            || (s[0] & 0xffc0) == 0xfe80 // link-local fe80::/10
            || (s[0] & 0xffc0) == 0xfec0 // site-local (deprecated) fec0::/10
            || (s[0] & 0xff00) == 0xff00 // multicast
            || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation
            || (s[0] == 0x0100 && s[1..4] == [0, 0, 0]) // discard-only 100::/64
            || s[0] == 0x2002; // 6to4 embeds any IPv4 address: refused
        if reserved {
            Place::Reserved
        } else {
            Place::Public
        }
    }
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

    #[test]
    fn every_spelling_of_a_reserved_address_is_refused_as_a_browser_reads_it() {
        for bad in [
            "https://167772161/",         // decimal 10.0.0.1
            "https://0x0a000001/",        // hex
            "https://012.0.0.1/",         // octal first part: 10.0.0.1
            "https://10.0.0.1./",         // trailing dot
            "https://10.1/",              // short form: 10.0.0.1
            "https://0xa.0.0.1/",         // hex part
            "https://[::ffff:10.0.0.1]/", // IPv4-mapped IPv6
            "https://[::ffff:a00:1]/",    // the same, in hex
            "https://[64:ff9b::a00:1]/",  // NAT64
            "https://[fe80::1]/",         // link-local
            "https://[fc00::1]/",         // unique local
            "https://[fdff::1]/",
            "https://[ff02::1]/", // multicast
            "https://[::]/",      // unspecified
            "https://0.0.0.0/",   // unspecified
            "https://0/",
            "https://224.0.0.1/",        // multicast
            "https://255.255.255.255/",  // broadcast
            "https://100.64.0.1/",       // shared address space
            "https://169.254.169.254./", // cloud metadata, trailing dot
            "https://printer.local/",
            "https://metadata.google.internal/",
            "https://LOCALHOST/",
            "https://api.localhost/",
            "https://localhost./",
            "https://127.1/",
            "https://2130706433/", // 127.0.0.1
            "https://[::1]/",
            "https://[::ffff:127.0.0.1]/",
            "https://%31%30.0.0.1/", // percent-encoded digits: 10.0.0.1
            "https://\u{ff11}\u{ff10}.0.0.1/", // full-width digits: 10.0.0.1
        ] {
            assert!(check_url(bad, false).is_err(), "{bad} must be refused");
        }
        for loopback in [
            "http://[::1]:9000/",
            "http://127.1:9000/",
            "http://api.localhost:9/",
        ] {
            assert!(check_url(loopback, true).is_ok(), "{loopback} is loopback");
        }
        for private in [
            "http://10.0.0.1/",
            "https://[fe80::1]/",
            "https://167772161/",
        ] {
            assert!(
                check_url(private, true).is_err(),
                "{private} stays refused locally"
            );
        }
    }

    #[test]
    fn host_names_are_not_judged_by_their_first_letters() {
        for good in [
            "https://fdic.example.com/hook",
            "https://fc-barcelona.example/hook",
            "https://fe80.example.com/",
            "https://10.example.com/",
            "https://127.0.0.1.example.com/",
            "https://[2606:4700::1111]/",
            "https://8.8.8.8/",
            "https://[::ffff:8.8.8.8]/",
            "https://ERP.Example.COM./x",
        ] {
            assert_eq!(check_url(good, false), Ok(()), "{good} is public");
        }
    }
}
