//! Request identity and timing: `X-Request-Id`, `Server-Timing`, and the one JSON log line
//! each Worker writes per request (API.md "Operations").

/// The client's `X-Request-Id` when it is safe to echo (1 to 128 characters of
/// `[A-Za-z0-9._:-]`); otherwise `None`, and the caller mints one.
pub fn accepted_request_id(client: Option<&str>) -> Option<&str> {
    client.filter(|id| {
        !id.is_empty()
            && id.len() <= 128
            && id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'))
    })
}

/// The header a client echoes so that it reads its own writes from any D1 replica.
pub const BOOKMARK_HEADER: &str = "X-Comptoir-Bookmark";

/// Where a request's D1 session starts (API.md "Edge scale"): from the client's bookmark when
/// it sent one, else anywhere for a read (`first-unconstrained`) and at the primary for a
/// write (`first-primary`). A bookmark is what D1 gave (hex digits and dashes, at most 256
/// characters); anything else is `None`, refused rather than handed to D1, which would read
/// a constraint's name as one.
pub fn session_start(method: &str, bookmark: Option<&str>) -> Option<String> {
    match bookmark.map(str::trim) {
        None | Some("") => Some(
            match method {
                "GET" | "HEAD" | "OPTIONS" => "first-unconstrained",
                _ => "first-primary",
            }
            .to_string(),
        ),
        Some(b) if b.len() <= 256 && b.bytes().all(|c| c.is_ascii_hexdigit() || c == b'-') => {
            Some(b.to_string())
        }
        Some(_) => None,
    }
}

/// What a request spent in D1 and in total, for `Server-Timing`.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Timing {
    /// D1 round trips (a batch counts once).
    pub d1_round_trips: u32,
    /// Milliseconds spent waiting on D1.
    pub d1_ms: f64,
    /// Milliseconds from the start of handling to the response.
    pub total_ms: f64,
}

impl Timing {
    /// `d1;desc="2";dur=3.4, app;dur=0.8`: `desc` is the count, `app` the time outside D1.
    pub fn header_value(&self) -> String {
        let app = (self.total_ms - self.d1_ms).max(0.0);
        format!(
            "d1;desc=\"{}\";dur={:.1}, app;dur={:.1}",
            self.d1_round_trips, self.d1_ms, app
        )
    }
}

/// Which Worker writes a log line: it names the line's principal field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Worker {
    /// Its lines carry `channel`: the sales channel's id once the publishable key resolved it.
    Storefront,
    /// Its lines carry `admin_sub`: the admin token's subject, as [`loggable_sub`] writes it.
    Backoffice,
}

/// One request's log line: where it went and what it cost, never what it carried (no path
/// ids, no query, no header, no body).
#[derive(Debug, Clone, PartialEq)]
pub struct RequestLine<'a> {
    pub request_id: &'a str,
    pub worker: Worker,
    /// The route's pattern (`routes::storefront_pattern`), never the raw path.
    pub route: &'static str,
    pub method: &'a str,
    pub status: u16,
    pub d1_round_trips: u32,
    pub duration_ms: f64,
    /// The channel id (storefront) or the admin token's subject (back office), once known.
    pub principal: Option<&'a str>,
}

impl RequestLine<'_> {
    /// The line as one JSON object, written by hand (a derive would grow the storefront's
    /// bundle for one struct): `{"request_id":…,"worker":…,"route":…,"method":…,"status":…,
    /// "d1_round_trips":…,"duration_ms":…,"channel"|"admin_sub":…|null}`.
    pub fn to_json(&self) -> String {
        let (worker, principal_field, principal) = match self.worker {
            Worker::Storefront => ("storefront", "channel", self.principal.map(str::to_string)),
            Worker::Backoffice => ("backoffice", "admin_sub", self.principal.map(loggable_sub)),
        };
        let text = |s: &str| serde_json::Value::from(s).to_string();
        format!(
            "{{\"request_id\":{},\"worker\":\"{worker}\",\"route\":{},\"method\":{},\"status\":{},\"d1_round_trips\":{},\"duration_ms\":{:.1},\"{principal_field}\":{}}}",
            text(self.request_id),
            text(self.route),
            text(loggable_method(self.method)),
            self.status,
            self.d1_round_trips,
            self.duration_ms.max(0.0),
            principal.as_deref().map_or_else(|| "null".to_string(), text),
        )
    }
}

/// The admin token's subject as a log line may show it. Staff tokens minted by the admin app
/// carry the staff member's email as `sub`, and an email is personal data that no log line
/// holds: a subject with `@` is written as `sha256:` and the first 12 hex digits of its
/// SHA-256, stable (one person's requests still group together) and not reversible short of
/// guessing the address. Other subjects (service names such as `erp-sync`) are written as is.
pub fn loggable_sub(sub: &str) -> String {
    if sub.contains('@') {
        format!(
            "sha256:{}",
            &crate::app::idempotency::digest(sub.as_bytes())[..12]
        )
    } else {
        sub.to_string()
    }
}

/// The standard methods as sent; any other as `OTHER` (a client chooses the method: the log
/// keeps a small, known set of values).
fn loggable_method(method: &str) -> &str {
    match method {
        "GET" | "HEAD" | "POST" | "PUT" | "PATCH" | "DELETE" | "OPTIONS" => method,
        _ => "OTHER",
    }
}

#[cfg(test)]
mod tests {
    use super::session_start;

    #[test]
    fn a_session_starts_from_the_bookmark_sent_else_by_what_the_request_does() {
        assert_eq!(session_start("GET", None).unwrap(), "first-unconstrained");
        assert_eq!(
            session_start("HEAD", Some(" ")).unwrap(),
            "first-unconstrained"
        );
        assert_eq!(session_start("POST", None).unwrap(), "first-primary");
        assert_eq!(session_start("PATCH", None).unwrap(), "first-primary");
        let bookmark = "0000000a-00000001-00004f4e-9a2b7c1d0e3f4a5b6c7d8e9f00112233";
        assert_eq!(session_start("POST", Some(bookmark)).unwrap(), bookmark);
        for bad in [
            "first-primary",
            "first-unconstrained",
            "abc xyz",
            "<script>",
            &"a".repeat(257),
        ] {
            assert_eq!(session_start("GET", Some(bad)), None, "{bad}");
        }
    }

    use super::*;

    #[test]
    fn a_well_formed_client_request_id_is_echoed_and_anything_else_replaced() {
        assert_eq!(
            accepted_request_id(Some("abc-123_x.y:z")),
            Some("abc-123_x.y:z")
        );
        for bad in ["", "a b", "x\u{e9}", "<script>", &"a".repeat(129)] {
            assert_eq!(accepted_request_id(Some(bad)), None, "{bad:?}");
        }
        assert_eq!(accepted_request_id(None), None);
    }

    #[test]
    fn server_timing_reports_the_round_trip_count_and_the_time_outside_d1() {
        let t = Timing {
            d1_round_trips: 2,
            d1_ms: 3.44,
            total_ms: 4.24,
        };
        assert_eq!(t.header_value(), "d1;desc=\"2\";dur=3.4, app;dur=0.8");
        assert_eq!(
            Timing::default().header_value(),
            "d1;desc=\"0\";dur=0.0, app;dur=0.0"
        );
    }

    fn line(worker: Worker, principal: Option<&str>) -> RequestLine<'_> {
        RequestLine {
            request_id: "req_1",
            worker,
            route: "/v1/carts/{id}/lines",
            method: "POST",
            status: 201,
            d1_round_trips: 3,
            duration_ms: 12.34,
            principal,
        }
    }

    #[test]
    fn a_storefront_line_names_the_route_status_cost_and_channel() {
        let json: serde_json::Value =
            serde_json::from_str(&line(Worker::Storefront, Some("web")).to_json()).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "request_id": "req_1", "worker": "storefront", "route": "/v1/carts/{id}/lines",
                "method": "POST", "status": 201, "d1_round_trips": 3, "duration_ms": 12.3,
                "channel": "web",
            })
        );
        let unresolved = line(Worker::Storefront, None).to_json();
        assert!(unresolved.ends_with(",\"channel\":null}"), "{unresolved}");
    }

    #[test]
    fn an_admin_email_is_logged_as_a_stable_digest_and_never_as_is() {
        let email = "Ops.Lead+night@example.com";
        let text = line(Worker::Backoffice, Some(email)).to_json();
        let json: serde_json::Value = serde_json::from_str(&text).unwrap();
        let sub = json["admin_sub"].as_str().unwrap();
        assert!(
            !text.contains('@') && !text.contains("example") && !text.contains("Ops"),
            "{text}"
        );
        assert_eq!(sub.len(), "sha256:".len() + 12);
        assert!(sub.starts_with("sha256:") && sub[7..].bytes().all(|b| b.is_ascii_hexdigit()));
        assert_eq!(
            loggable_sub(email),
            sub,
            "the same subject, the same digest"
        );
        assert_ne!(loggable_sub("ops@example.com"), sub);
        assert!(json.get("channel").is_none());
        assert_eq!(json["worker"], "backoffice");
    }

    #[test]
    fn a_service_subject_is_logged_as_is_and_a_missing_one_as_null() {
        let json: serde_json::Value =
            serde_json::from_str(&line(Worker::Backoffice, Some("erp-sync")).to_json()).unwrap();
        assert_eq!(json["admin_sub"], "erp-sync");
        let json: serde_json::Value =
            serde_json::from_str(&line(Worker::Backoffice, None).to_json()).unwrap();
        assert_eq!(json["admin_sub"], serde_json::Value::Null);
    }

    #[test]
    fn whatever_a_client_sends_the_line_stays_one_line_of_valid_json() {
        let mut l = line(Worker::Backoffice, Some("a\"b\n\u{2028}c"));
        l.method = "BREW\n{\"x\":1}";
        l.request_id = "id\"with\\quote";
        let text = l.to_json();
        assert!(!text.contains('\n'), "{text}");
        let json: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(json["method"], "OTHER");
        assert_eq!(json["request_id"], "id\"with\\quote");
        assert_eq!(json["admin_sub"], "a\"b\n\u{2028}c");
    }
}
