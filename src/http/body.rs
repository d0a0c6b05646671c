//! Request bodies: media type, size limit, JSON syntax and unknown fields, checked before any
//! handler sees the body, so a bad request changes nothing. The limit holds however the body
//! comes: a declared `Content-Length` over it is refused before reading, and a streamed
//! (chunked) body is refused as soon as what arrived passes it ([`BodyBuffer`]).

use crate::http::error::ApiError;
use serde_json::{Map, Value};

/// 64 KiB: every storefront request body.
pub const STOREFRONT_BODY_LIMIT: usize = 64 * 1024;
/// 1 MiB: back-office request bodies.
pub const BACKOFFICE_BODY_LIMIT: usize = 1024 * 1024;
/// 10 MiB: `POST /admin/v1/products/import`.
pub const IMPORT_BODY_LIMIT: usize = 10 * 1024 * 1024;

/// Whether a `Content-Type` header names JSON (`application/json`, parameters allowed).
pub fn is_json_media_type(content_type: Option<&str>) -> bool {
    content_type
        .and_then(|ct| ct.split(';').next())
        .is_some_and(|mt| mt.trim().eq_ignore_ascii_case("application/json"))
}

/// Checks a declared `Content-Length` before the body is read, so an oversize upload is refused
/// without buffering it.
pub fn check_declared_length(content_length: Option<&str>, limit: usize) -> Result<(), ApiError> {
    match content_length.map(|v| v.trim().parse::<u64>()) {
        Some(Ok(n)) if n > limit as u64 => Err(ApiError::payload_too_large(limit)),
        _ => Ok(()),
    }
}

/// A request body as its chunks arrive, never holding more than its limit: the chunk that
/// would take it past the limit is refused (413) instead of kept, so an endless or oversize
/// stream costs at most the limit and one chunk in memory.
#[derive(Debug)]
pub struct BodyBuffer {
    bytes: Vec<u8>,
    limit: usize,
}

impl BodyBuffer {
    /// An empty buffer for a body of at most `limit` bytes; 413 at once when the request
    /// declares a longer `Content-Length`.
    pub fn new(content_length: Option<&str>, limit: usize) -> Result<BodyBuffer, ApiError> {
        check_declared_length(content_length, limit)?;
        Ok(BodyBuffer {
            bytes: Vec::new(),
            limit,
        })
    }

    /// Takes the next chunk; 413 when the body would pass the limit with it.
    pub fn push(&mut self, chunk: &[u8]) -> Result<(), ApiError> {
        if chunk.len() > self.limit - self.bytes.len() {
            return Err(ApiError::payload_too_large(self.limit));
        }
        self.bytes.extend_from_slice(chunk);
        Ok(())
    }

    /// The whole body.
    pub fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }
}

/// Parses a JSON object body: 415 when not JSON, 413 over `limit`, 400 when malformed or not
/// an object.
pub fn parse_json_object(
    content_type: Option<&str>,
    body: &[u8],
    limit: usize,
) -> Result<Map<String, Value>, ApiError> {
    if body.len() > limit {
        return Err(ApiError::payload_too_large(limit));
    }
    if !is_json_media_type(content_type) {
        return Err(ApiError::unsupported_media_type());
    }
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::invalid_json(format!("request body is not valid JSON: {e}")))?;
    match value {
        Value::Object(map) => Ok(map),
        _ => Err(ApiError::invalid_json("request body must be a JSON object")),
    }
}

/// Refuses the first field (in key order) that the route does not accept, as Stripe does: a
/// client that sends `unit_price` learns at once that it is not honoured.
pub fn reject_unknown_fields(body: &Map<String, Value>, allowed: &[&str]) -> Result<(), ApiError> {
    match body.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(field) => Err(ApiError::unknown_field(field)),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const JSON: Option<&str> = Some("application/json");

    #[test]
    fn json_with_a_charset_parameter_is_json() {
        assert!(is_json_media_type(Some("application/json; charset=utf-8")));
        assert!(is_json_media_type(Some("Application/JSON")));
        assert!(!is_json_media_type(Some("text/plain")));
        assert!(!is_json_media_type(Some("application/jsonx")));
        assert!(!is_json_media_type(None));
    }

    #[test]
    fn a_body_over_the_limit_is_413_whatever_it_contains() {
        let body = vec![b' '; STOREFRONT_BODY_LIMIT + 1];
        let e = parse_json_object(JSON, &body, STOREFRONT_BODY_LIMIT).unwrap_err();
        assert_eq!(e.status, 413);
        assert_eq!(e.code, "payload_too_large");
        let e = check_declared_length(Some("70000"), STOREFRONT_BODY_LIMIT).unwrap_err();
        assert_eq!(e.status, 413);
        assert!(check_declared_length(Some("65536"), STOREFRONT_BODY_LIMIT).is_ok());
    }

    #[test]
    fn a_streamed_body_is_refused_at_the_chunk_that_passes_the_limit_without_keeping_it() {
        let mut body = BodyBuffer::new(None, 9).unwrap();
        body.push(b"{\"a\":").unwrap();
        body.push(b"").unwrap();
        body.push(b"123}").unwrap();
        let e = body.push(b"x").unwrap_err();
        assert_eq!((e.status, e.code), (413, "payload_too_large"));
        assert_eq!(
            body.into_bytes(),
            b"{\"a\":123}",
            "exactly the limit is allowed"
        );
        let mut huge = BodyBuffer::new(None, 10).unwrap();
        assert!(huge.push(&[b' '; 1 << 20]).is_err());
        assert!(
            huge.into_bytes().is_empty(),
            "the chunk over the limit is not kept"
        );
    }

    #[test]
    fn a_declared_length_over_the_limit_is_refused_before_any_chunk() {
        let e = BodyBuffer::new(Some("11"), 10).unwrap_err();
        assert_eq!(e.status, 413);
        assert!(BodyBuffer::new(Some("10"), 10).is_ok());
        assert!(BodyBuffer::new(Some("not a number"), 10).is_ok());
    }

    #[test]
    fn a_body_without_the_json_media_type_is_415() {
        let e = parse_json_object(Some("text/plain"), b"{}", 100).unwrap_err();
        assert_eq!((e.status, e.code), (415, "unsupported_media_type"));
    }

    #[test]
    fn malformed_json_and_non_objects_are_400_invalid_json() {
        for bad in [&b"{"[..], b"", b"[1]", b"\"x\"", b"{\"a\":1}x", b"nul"] {
            let e = parse_json_object(JSON, bad, 100).unwrap_err();
            assert_eq!((e.status, e.code), (400, "invalid_json"), "{bad:?}");
        }
    }

    #[test]
    fn deeply_nested_json_is_refused_not_overflowed() {
        let deep = format!("{{\"a\":{}{}}}", "[".repeat(10_000), "]".repeat(10_000));
        let e = parse_json_object(JSON, deep.as_bytes(), 1 << 20).unwrap_err();
        assert_eq!(e.code, "invalid_json");
    }

    #[test]
    fn an_unknown_field_is_422_naming_it() {
        let body = parse_json_object(JSON, br#"{"sku":"A","unit_price":"1.00"}"#, 100).unwrap();
        let e = reject_unknown_fields(&body, &["sku", "quantity"]).unwrap_err();
        assert_eq!((e.status, e.code), (422, "unknown_field"));
        assert_eq!(e.details.unwrap()["field"], "unit_price");
        assert!(reject_unknown_fields(&body, &["sku", "unit_price"]).is_ok());
    }
}
