//! What one bound D1 parameter may carry: D1 refuses a string over 2 MB, and the set-based
//! writes bind whole JSON arrays (an import's orders and their events, each event a whole
//! order), so big arrays are split into several statements of the same batch.

use serde_json::Value;

/// The most JSON one bound parameter carries, with room under D1's 2 MB.
pub const PARAM_BYTES: usize = 1_000_000;

/// `items` as JSON arrays of at most `max` bytes each; an item is never split (one bigger than
/// `max` goes alone).
pub fn json_arrays(items: &[Value], max: usize) -> Vec<String> {
    let mut out = Vec::new();
    let mut array = String::from("[");
    for item in items {
        let json = item.to_string();
        if array.len() > 1 && array.len() + json.len() + 2 > max {
            array.push(']');
            out.push(std::mem::replace(&mut array, String::from("[")));
        }
        if array.len() > 1 {
            array.push(',');
        }
        array.push_str(&json);
    }
    if array.len() > 1 {
        array.push(']');
        out.push(array);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::json_arrays;
    use serde_json::{json, Value};

    #[test]
    fn big_parameters_are_split_into_arrays_under_the_limit_keeping_every_item_whole() {
        let items: Vec<Value> = (0..50)
            .map(|i| json!({"id": i, "pad": "x".repeat(100)}))
            .collect();
        let arrays = json_arrays(&items, 1_000);
        assert!(arrays.len() > 1);
        let mut back = Vec::new();
        for a in &arrays {
            assert!(a.len() <= 1_000, "{} bytes", a.len());
            back.extend(serde_json::from_str::<Vec<Value>>(a).unwrap());
        }
        assert_eq!(back, items);
        assert_eq!(json_arrays(&items, 10_000_000).len(), 1);
        assert!(json_arrays(&[], 1_000).is_empty());
    }
}
