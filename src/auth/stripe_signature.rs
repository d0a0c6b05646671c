//! Stripe webhook signatures (`Stripe-Signature: t=…,v1=…[,v1=…]`): HMAC-SHA256 of
//! `"{t}.{payload}"` with the endpoint secret, compared in constant time, refused when older
//! than the tolerance. Several `v1` entries (secret rotation) are accepted if any matches.

use hmac::{Hmac, Mac};
use sha2::Sha256;

pub const TOLERANCE_SECONDS: i64 = 300;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignatureError {
    Missing,
    Malformed,
    TooOld,
    Mismatch,
    NotConfigured,
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

pub fn verify(
    header: Option<&str>,
    payload: &[u8],
    secret: &str,
    now: i64,
) -> Result<(), SignatureError> {
    if secret.is_empty() {
        return Err(SignatureError::NotConfigured);
    }
    let header = header.ok_or(SignatureError::Missing)?;
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", v)) => timestamp = v.parse::<i64>().ok(),
            Some(("v1", v)) => signatures.push(v),
            _ => {}
        }
    }
    let t = timestamp.ok_or(SignatureError::Malformed)?;
    if signatures.is_empty() {
        return Err(SignatureError::Malformed);
    }
    if (now - t).abs() > TOLERANCE_SECONDS {
        return Err(SignatureError::TooOld);
    }
    for sig in signatures {
        let Some(expected) = unhex(sig) else { continue };
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes())
            .map_err(|_| SignatureError::NotConfigured)?;
        mac.update(t.to_string().as_bytes());
        mac.update(b".");
        mac.update(payload);
        if mac.verify_slice(&expected).is_ok() {
            return Ok(());
        }
    }
    Err(SignatureError::Mismatch)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "whsec_test_secret";

    fn sign(t: i64, payload: &str, secret: &str) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(format!("{t}.{payload}").as_bytes());
        mac.finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    #[test]
    fn a_fresh_signature_from_the_secret_verifies() {
        let body = r#"{"id":"evt_1"}"#;
        let h = format!("t=1000,v1={}", sign(1000, body, SECRET));
        assert_eq!(verify(Some(&h), body.as_bytes(), SECRET, 1100), Ok(()));
    }

    #[test]
    fn any_of_several_v1_signatures_may_match() {
        let body = "{}";
        let h = format!(
            "t=1000,v1={},v1={}",
            sign(1000, body, "whsec_old"),
            sign(1000, body, SECRET)
        );
        assert_eq!(verify(Some(&h), body.as_bytes(), SECRET, 1000), Ok(()));
    }

    #[test]
    fn tampering_age_and_malformed_headers_are_refused() {
        let body = r#"{"amount":100}"#;
        let h = format!("t=1000,v1={}", sign(1000, body, SECRET));
        assert_eq!(
            verify(Some(&h), br#"{"amount":1}"#, SECRET, 1000),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(Some(&h), body.as_bytes(), SECRET, 1301),
            Err(SignatureError::TooOld)
        );
        assert_eq!(
            verify(Some(&h), body.as_bytes(), "whsec_other", 1000),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(None, body.as_bytes(), SECRET, 1000),
            Err(SignatureError::Missing)
        );
        assert_eq!(
            verify(Some("v1=abcd"), body.as_bytes(), SECRET, 1000),
            Err(SignatureError::Malformed)
        );
        assert_eq!(
            verify(Some("t=1000"), body.as_bytes(), SECRET, 1000),
            Err(SignatureError::Malformed)
        );
        assert_eq!(
            verify(Some("t=1000,v1=zz"), body.as_bytes(), SECRET, 1000),
            Err(SignatureError::Mismatch)
        );
    }
}
