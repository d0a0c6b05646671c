//! A response under construction, as every handler answers it: status, JSON body, extra
//! headers, and a failure's cause for the log. `server::serve` turns it into the response.

use crate::http::error::ApiError;
use serde::Serialize;

/// A response under construction: status, JSON body, extra headers.
pub struct Reply {
    pub status: u16,
    pub body: Option<String>,
    pub headers: Vec<(String, String)>,
    /// A failure's cause, logged with the request id and never sent.
    pub cause: Option<String>,
    /// The answer is stored under the request's Idempotency-Key already, by the write that
    /// made it (a checkout's placement).
    pub kept: bool,
}

impl Reply {
    pub fn json<T: Serialize>(status: u16, value: &T) -> Result<Reply, ApiError> {
        let body = serde_json::to_string(value).map_err(|e| {
            worker::console_error!("cannot encode a response: {e}");
            ApiError::internal()
        })?;
        Ok(Reply {
            status,
            body: Some(body),
            headers: Vec::new(),
            cause: None,
            kept: false,
        })
    }

    pub fn empty(status: u16) -> Reply {
        Reply {
            status,
            body: None,
            headers: Vec::new(),
            cause: None,
            kept: false,
        }
    }

    pub fn header(mut self, name: &str, value: impl Into<String>) -> Reply {
        self.headers.push((name.to_string(), value.into()));
        self
    }
}

impl From<ApiError> for Reply {
    fn from(error: ApiError) -> Reply {
        let mut reply = Reply {
            status: error.status,
            body: Some(error.body().to_string()),
            headers: Vec::new(),
            cause: error.cause.as_deref().cloned(),
            kept: false,
        };
        for (name, value) in error.headers {
            reply = reply.header(name, value);
        }
        reply
    }
}
