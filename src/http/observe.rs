//! Request identity and timing headers: `X-Request-Id` and `Server-Timing`.

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

#[cfg(test)]
mod tests {
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
}
