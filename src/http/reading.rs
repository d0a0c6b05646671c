//! Reading request bodies (the wasm half of [`crate::http::body`], whose rules are native):
//! every body either Worker reads comes through [`read_body`], bounded by its limit.

use crate::http::error::ApiError;
use crate::http::server::header;
use worker::Request;

/// Reads the request body, at most `limit` bytes: the one place either Worker reads a body.
/// It is read as a stream, so a chunked body (no `Content-Length`) is refused with 413 as soon
/// as it passes the limit, without buffering the rest; a declared length over it, unread.
pub async fn read_body(req: &mut Request, limit: usize) -> Result<Vec<u8>, ApiError> {
    use futures_util::StreamExt;
    let mut body =
        crate::http::body::BodyBuffer::new(header(req, "Content-Length").as_deref(), limit)?;
    if req.inner().body().is_none() {
        return Ok(Vec::new());
    }
    let unreadable = |_| ApiError::invalid_json("the request body could not be read");
    let mut chunks = req.stream().map_err(unreadable)?;
    while let Some(chunk) = chunks.next().await {
        body.push(&chunk.map_err(unreadable)?)?;
    }
    Ok(body.into_bytes())
}

/// Reads a JSON object body (415, 413, 400 as API.md says) under `limit` bytes; an empty body is
/// `{}` where the route allows none.
pub async fn json_body(
    req: &mut Request,
    limit: usize,
    optional: bool,
) -> Result<serde_json::Map<String, serde_json::Value>, ApiError> {
    let bytes = read_body(req, limit).await?;
    if optional && bytes.is_empty() {
        return Ok(serde_json::Map::new());
    }
    crate::http::body::parse_json_object(header(req, "Content-Type").as_deref(), &bytes, limit)
}
