//! The list convention of API.md: `?limit=` (default 20, max 100) and an opaque `?cursor=`,
//! answered as `{"data": [...], "next_cursor": "…" | null}`.
//!
//! A cursor is the sort key of the last item served, wrapped so that clients treat it as opaque
//! (`c1.` + base64url). Keyset pagination rather than offsets: items inserted or removed between
//! two pages neither repeat nor vanish.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::Serialize;

pub const DEFAULT_LIMIT: usize = 20;
pub const MAX_LIMIT: usize = 100;
const CURSOR_PREFIX: &str = "c1.";
const MAX_CURSOR_LEN: usize = 1024;

/// A bad `limit` or `cursor`; the caller answers 400 `invalid_parameter` naming the field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageParamError {
    pub field: &'static str,
    pub message: String,
}

/// Validated page parameters: how many items, and after which sort key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRequest {
    pub limit: usize,
    pub after: Option<String>,
}

impl PageRequest {
    /// Parses the raw query values (`None` when absent).
    pub fn parse(limit: Option<&str>, cursor: Option<&str>) -> Result<PageRequest, PageParamError> {
        let limit = match limit {
            None => DEFAULT_LIMIT,
            Some(raw) => match raw.parse::<usize>() {
                Ok(n) if (1..=MAX_LIMIT).contains(&n) && !raw.starts_with('+') => n,
                _ => {
                    return Err(PageParamError {
                        field: "limit",
                        message: format!("limit must be an integer from 1 to {MAX_LIMIT}"),
                    })
                }
            },
        };
        let after = match cursor {
            None => None,
            Some(raw) => Some(decode_cursor(raw).ok_or_else(|| PageParamError {
                field: "cursor",
                message: "cursor is not one this API issued".into(),
            })?),
        };
        Ok(PageRequest { limit, after })
    }
}

/// Wraps a sort key into an opaque cursor.
pub fn encode_cursor(key: &str) -> String {
    format!("{CURSOR_PREFIX}{}", URL_SAFE_NO_PAD.encode(key.as_bytes()))
}

/// Unwraps a cursor made by [`encode_cursor`]; `None` for anything else.
pub fn decode_cursor(cursor: &str) -> Option<String> {
    if cursor.len() > MAX_CURSOR_LEN {
        return None;
    }
    let body = cursor.strip_prefix(CURSOR_PREFIX)?;
    let bytes = URL_SAFE_NO_PAD.decode(body).ok()?;
    let key = String::from_utf8(bytes).ok()?;
    (!key.is_empty()).then_some(key)
}

/// A cursor over (timestamp, id), for lists sorted by creation time with id as tie-break.
pub fn encode_time_cursor(at: &str, id: &str) -> String {
    encode_cursor(&format!("{at}\u{1f}{id}"))
}

/// The (timestamp, id) to continue after; from the start of a newest-first list when absent.
pub fn time_cursor_position(request: &PageRequest) -> Result<(String, String), PageParamError> {
    match &request.after {
        None => Ok(("9999".to_string(), String::new())),
        Some(key) => key
            .split_once('\u{1f}')
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .ok_or_else(|| PageParamError {
                field: "cursor",
                message: "cursor is not one this API issued".into(),
            }),
    }
}

/// One page of a list.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Page<T> {
    pub data: Vec<T>,
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    /// The same page, each item shown through `view`.
    pub fn views<'a, V>(&'a self, view: impl Fn(&'a T) -> V) -> Page<V> {
        Page {
            data: self.data.iter().map(view).collect(),
            next_cursor: self.next_cursor.clone(),
        }
    }
}

/// Cuts a fetch of `limit + 1` rows to one page: the extra row only says there is more, and
/// the next cursor is taken from the last row kept.
pub fn page_of<T>(mut rows: Vec<T>, limit: usize, cursor_of: impl Fn(&T) -> String) -> Page<T> {
    let more = rows.len() > limit;
    rows.truncate(limit);
    let next_cursor = if more {
        rows.last().map(cursor_of)
    } else {
        None
    };
    Page {
        data: rows,
        next_cursor,
    }
}

/// Pages through items already sorted ascending by `key` (keys unique).
pub fn paginate<'a, T, K>(items: &'a [T], key: K, request: &PageRequest) -> Page<&'a T>
where
    K: Fn(&T) -> &str,
{
    let start = match &request.after {
        None => 0,
        Some(after) => items.partition_point(|item| key(item) <= after.as_str()),
    };
    let end = (start + request.limit).min(items.len());
    let data: Vec<&T> = items[start..end].iter().collect();
    let next_cursor = if end < items.len() {
        data.last().map(|last| encode_cursor(key(last)))
    } else {
        None
    };
    Page { data, next_cursor }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(limit: Option<&str>, cursor: Option<&str>) -> Result<PageRequest, PageParamError> {
        PageRequest::parse(limit, cursor)
    }

    #[test]
    fn limit_defaults_to_20_and_accepts_1_to_100() {
        assert_eq!(req(None, None).unwrap().limit, 20);
        assert_eq!(req(Some("1"), None).unwrap().limit, 1);
        assert_eq!(req(Some("100"), None).unwrap().limit, 100);
    }

    #[test]
    fn a_limit_out_of_range_or_not_an_integer_names_the_limit_field() {
        for bad in [
            "0",
            "101",
            "-1",
            "abc",
            "",
            "1.5",
            "+5",
            "99999999999999999999999",
        ] {
            let err = req(Some(bad), None).unwrap_err();
            assert_eq!(err.field, "limit", "{bad:?}");
        }
    }

    #[test]
    fn a_cursor_not_issued_by_us_names_the_cursor_field() {
        for bad in ["garbage", "c1.", "c1.!!!", "c2.YQ", "c1./w"] {
            let err = req(None, Some(bad)).unwrap_err();
            assert_eq!(err.field, "cursor", "{bad:?}");
        }
        let long = format!("c1.{}", "A".repeat(2000));
        assert_eq!(req(None, Some(&long)).unwrap_err().field, "cursor");
    }

    #[test]
    fn walking_the_cursors_visits_every_item_once_in_order() {
        let items: Vec<String> = (0..47).map(|i| format!("item-{i:03}")).collect();
        let mut seen = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let r = req(Some("10"), cursor.as_deref()).unwrap();
            let page = paginate(&items, |s| s.as_str(), &r);
            seen.extend(page.data.iter().map(|s| s.to_string()));
            match page.next_cursor {
                Some(c) => cursor = Some(c),
                None => break,
            }
        }
        assert_eq!(seen, items);
    }

    #[test]
    fn time_cursors_round_trip_and_refuse_other_cursors() {
        let c = encode_time_cursor("2026-01-01T00:00:00.000Z", "ord_1");
        let r = req(Some("5"), Some(&c)).unwrap();
        assert_eq!(
            time_cursor_position(&r).unwrap(),
            ("2026-01-01T00:00:00.000Z".to_string(), "ord_1".to_string())
        );
        assert_eq!(
            time_cursor_position(&req(None, None).unwrap()).unwrap().0,
            "9999"
        );
        let plain = req(None, Some(&encode_cursor("no-separator"))).unwrap();
        assert_eq!(time_cursor_position(&plain).unwrap_err().field, "cursor");
    }

    #[test]
    fn a_limit_plus_one_fetch_becomes_a_page_with_a_cursor_only_when_more_remain() {
        let more = page_of((1..=6).collect::<Vec<u32>>(), 5, |n| n.to_string());
        assert_eq!(
            (more.data, more.next_cursor),
            (vec![1, 2, 3, 4, 5], Some("5".to_string()))
        );
        let last = page_of(vec![1u32, 2], 5, |n| n.to_string());
        assert_eq!((last.data, last.next_cursor), (vec![1, 2], None));
    }

    #[test]
    fn the_last_full_page_has_no_next_cursor() {
        let items: Vec<String> = (0..20).map(|i| format!("{i:02}")).collect();
        let page = paginate(&items, |s| s.as_str(), &req(None, None).unwrap());
        assert_eq!(page.data.len(), 20);
        assert_eq!(page.next_cursor, None);
    }

    #[test]
    fn a_cursor_past_a_removed_item_resumes_after_it() {
        let items = vec!["a".to_string(), "c".to_string(), "d".to_string()];
        let r = req(Some("1"), Some(&encode_cursor("b"))).unwrap();
        let page = paginate(&items, |s| s.as_str(), &r);
        assert_eq!(page.data, vec![&"c".to_string()]);
    }
}
