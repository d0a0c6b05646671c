//! A time-bounded memo of values an isolate read from KV.
//!
//! At the edge a KV read is a subrequest: even a hot one costs more than the work most storefront
//! requests do. A storefront isolate serves many requests in a row, so it keeps the small values
//! every request needs (the channel behind a publishable key, the version of a market's catalog
//! snapshot) for a few seconds (`ISOLATE_CACHE_SECONDS`). A change made through the admin API
//! then reaches a warm isolate within that window on top of KV's own propagation; `0` turns the
//! memo off (the local default, so `npm run dev` shows every change at once).
//!
//! Pure: the caller passes the clock, so the rules are tested natively.

use std::collections::HashMap;

/// The longest window a deployment may set: beyond it the memo would hide changes for longer
/// than KV's own propagation does.
pub const MAX_WINDOW_SECONDS: u32 = 60;

/// The window when `ISOLATE_CACHE_SECONDS` is unset.
pub const DEFAULT_WINDOW_SECONDS: u32 = 5;

/// The memo window in milliseconds from the variable's text: unset means the default, a value
/// that is not a whole number of seconds also (and is reported by the caller), anything above
/// [`MAX_WINDOW_SECONDS`] is capped.
pub fn window_ms(var: Option<&str>) -> Result<f64, f64> {
    let default = f64::from(DEFAULT_WINDOW_SECONDS) * 1000.0;
    match var.map(str::trim) {
        None | Some("") => Ok(default),
        Some(text) => text
            .parse::<u32>()
            .map(|s| f64::from(s.min(MAX_WINDOW_SECONDS)) * 1000.0)
            .map_err(|_| default),
    }
}

/// Whether something stored at `stored_at` is less than `window_ms` old at `now_ms`. A clock
/// that went backwards makes it stale rather than immortal.
pub fn is_fresh(stored_at: f64, now_ms: f64, window_ms: f64) -> bool {
    let age = now_ms - stored_at;
    age >= 0.0 && age < window_ms
}

/// Values by key, each with the time it was stored.
#[derive(Debug)]
pub struct Memo<T> {
    entries: HashMap<String, (f64, T)>,
    capacity: usize,
}

impl<T: Clone> Memo<T> {
    /// A memo holding at most `capacity` keys (a bound on an isolate's memory whatever the
    /// traffic: when full, expired entries go first, then everything).
    pub fn new(capacity: usize) -> Memo<T> {
        Memo {
            entries: HashMap::new(),
            capacity: capacity.max(1),
        }
    }

    /// The value stored under `key` less than `window_ms` before `now_ms`.
    pub fn get(&self, key: &str, now_ms: f64, window_ms: f64) -> Option<T> {
        let (stored_at, value) = self.entries.get(key)?;
        is_fresh(*stored_at, now_ms, window_ms).then(|| value.clone())
    }

    /// Stores `value` under `key` at `now_ms`.
    pub fn put(&mut self, key: &str, value: T, now_ms: f64, window_ms: f64) {
        if window_ms <= 0.0 {
            return;
        }
        if self.entries.len() >= self.capacity && !self.entries.contains_key(key) {
            self.entries
                .retain(|_, (stored_at, _)| is_fresh(*stored_at, now_ms, window_ms));
            if self.entries.len() >= self.capacity {
                self.entries.clear();
            }
        }
        self.entries.insert(key.to_string(), (now_ms, value));
    }

    /// Forgets `key`.
    pub fn remove(&mut self, key: &str) {
        self.entries.remove(key);
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_is_served_within_its_window_and_not_after() {
        let mut memo = Memo::new(8);
        memo.put("k", "v1".to_string(), 1_000.0, 5_000.0);
        assert_eq!(memo.get("k", 1_000.0, 5_000.0).as_deref(), Some("v1"));
        assert_eq!(memo.get("k", 5_999.0, 5_000.0).as_deref(), Some("v1"));
        assert_eq!(
            memo.get("k", 6_000.0, 5_000.0),
            None,
            "expired at the window's end"
        );
        assert_eq!(memo.get("other", 1_000.0, 5_000.0), None);
    }

    #[test]
    fn a_window_of_zero_keeps_nothing() {
        let mut memo = Memo::new(8);
        memo.put("k", 1, 1_000.0, 0.0);
        assert!(memo.is_empty());
        assert_eq!(memo.get("k", 1_000.0, 0.0), None);
    }

    #[test]
    fn a_shorter_window_applies_to_values_already_stored() {
        let mut memo = Memo::new(8);
        memo.put("k", 1, 1_000.0, 60_000.0);
        assert_eq!(memo.get("k", 3_000.0, 1_000.0), None);
    }

    #[test]
    fn a_clock_that_went_backwards_makes_the_entry_stale() {
        let mut memo = Memo::new(8);
        memo.put("k", 1, 10_000.0, 5_000.0);
        assert_eq!(memo.get("k", 9_000.0, 5_000.0), None);
    }

    #[test]
    fn a_newer_value_replaces_the_older() {
        let mut memo = Memo::new(8);
        memo.put("k", 1, 1_000.0, 5_000.0);
        memo.put("k", 2, 2_000.0, 5_000.0);
        assert_eq!(
            memo.get("k", 6_500.0, 5_000.0),
            Some(2),
            "the window runs from the newer write"
        );
    }

    #[test]
    fn the_memo_never_holds_more_than_its_capacity() {
        let mut memo = Memo::new(3);
        for (i, key) in ["a", "b", "c"].iter().enumerate() {
            memo.put(key, i, 1_000.0, 5_000.0);
        }
        // Full of live entries: a new key clears the lot rather than growing.
        memo.put("d", 3, 2_000.0, 5_000.0);
        assert_eq!(memo.len(), 1);
        assert_eq!(memo.get("d", 2_000.0, 5_000.0), Some(3));
        // Expired entries are the first to go.
        memo.put("e", 4, 2_000.0, 5_000.0);
        memo.put("f", 5, 6_500.0, 5_000.0);
        assert_eq!(memo.len(), 3);
        memo.put("g", 6, 7_500.0, 5_000.0);
        assert_eq!(memo.get("f", 7_500.0, 5_000.0), Some(5));
        assert_eq!(memo.get("g", 7_500.0, 5_000.0), Some(6));
        assert_eq!(memo.get("d", 7_500.0, 5_000.0), None);
        assert!(memo.len() <= 3);
        // Replacing a key that is already there never evicts the others.
        memo.put("g", 7, 7_600.0, 5_000.0);
        assert_eq!(memo.get("f", 7_600.0, 5_000.0), Some(5));
    }

    #[test]
    fn the_window_comes_from_the_variable_capped_and_defaulted() {
        assert_eq!(window_ms(None), Ok(5_000.0));
        assert_eq!(window_ms(Some("")), Ok(5_000.0));
        assert_eq!(window_ms(Some("0")), Ok(0.0));
        assert_eq!(window_ms(Some(" 2 ")), Ok(2_000.0));
        assert_eq!(window_ms(Some("3600")), Ok(60_000.0));
        assert_eq!(window_ms(Some("-1")), Err(5_000.0));
        assert_eq!(window_ms(Some("1.5")), Err(5_000.0));
    }
}
