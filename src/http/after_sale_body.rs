//! After-sale request bodies: return requests (the shopper's and the staff's, read the same way
//! by both Workers: `{lines: [{line_id, quantity, reason}], note?}`) and order edits.

use crate::domain::fields::{FieldError, Fields};
use crate::domain::order::allocation::Move;
use crate::domain::order::edit::Change;
use crate::domain::order::returns::{Requested, ReturnReason};
use crate::domain::stock::is_location_id;
use serde_json::{Map, Value};

/// At most this many lines per return (an order has at most 250).
const MAX_LINES: usize = 250;

/// `{moves: [{line_id, from?, to, quantity}]}` of `POST /admin/v1/orders/{id}/allocations`.
pub fn moves(body: &Map<String, Value>) -> Result<Vec<Move>, FieldError> {
    let f = Fields::new(body);
    f.only(&["moves"])?;
    f.objects("moves", 1, MAX_LINES)?
        .iter()
        .map(|m| {
            m.only(&["line_id", "from", "to", "quantity"])?;
            let location = |name: &str| {
                let l = m.string(name)?;
                if is_location_id(l) {
                    Ok(l.to_string())
                } else {
                    Err(FieldError::new(m.path(name), "must be a location id"))
                }
            };
            Ok(Move {
                line_id: m.string("line_id")?.to_string(),
                // Absent: allocate the line's backordered units.
                from: match m.entries_value("from") {
                    None => None,
                    Some(_) => Some(location("from")?),
                },
                to: location("to")?,
                quantity: m.int("quantity", 1..=999)?,
            })
        })
        .collect()
}

/// The lines and note of a return request (`extra`: further fields the caller accepts).
pub fn request(
    body: &Map<String, Value>,
    extra: &[&str],
) -> Result<(Vec<Requested>, Option<String>), FieldError> {
    let f = Fields::new(body);
    let mut allowed = vec!["lines", "note"];
    allowed.extend_from_slice(extra);
    f.only(&allowed)?;
    let lines = f
        .objects("lines", 1, MAX_LINES)?
        .iter()
        .map(|l| {
            l.only(&["line_id", "quantity", "reason"])?;
            let reason = l.string("reason")?;
            Ok(Requested {
                line_id: l.string("line_id")?.to_string(),
                quantity: l.int("quantity", 1..=999)?,
                reason: ReturnReason::parse(reason).ok_or_else(|| {
                    FieldError::new(
                        l.path("reason"),
                        format!("must be one of {}", ReturnReason::NAMES),
                    )
                })?,
            })
        })
        .collect::<Result<Vec<_>, FieldError>>()?;
    Ok((lines, text(&f, "note", 1000)?))
}

/// An order edit: `{changes: [{op: "add", sku, quantity} | {op: "set_quantity", line_id,
/// quantity} | {op: "remove", line_id}], dry_run?, note?}` → (changes, dry run, note).
pub fn edit(body: &Map<String, Value>) -> Result<(Vec<Change>, bool, Option<String>), FieldError> {
    let f = Fields::new(body);
    f.only(&["changes", "dry_run", "note"])?;
    let changes = f
        .objects("changes", 1, 100)?
        .iter()
        .map(|c| {
            let op = c.string("op")?;
            let quantity = || c.int("quantity", 1..=999);
            let line_id = || c.string("line_id").map(str::to_string);
            Ok(match op {
                "add" => {
                    c.only(&["op", "sku", "quantity"])?;
                    Change::Add {
                        sku: c.string("sku")?.to_ascii_uppercase(),
                        quantity: quantity()?,
                    }
                }
                "set_quantity" => {
                    c.only(&["op", "line_id", "quantity"])?;
                    Change::SetQuantity {
                        line_id: line_id()?,
                        quantity: quantity()?,
                    }
                }
                "remove" => {
                    c.only(&["op", "line_id"])?;
                    Change::Remove {
                        line_id: line_id()?,
                    }
                }
                _ => {
                    return Err(FieldError::new(
                        c.path("op"),
                        "must be add, set_quantity or remove",
                    ))
                }
            })
        })
        .collect::<Result<Vec<_>, FieldError>>()?;
    let dry_run = f.opt_bool("dry_run")?.unwrap_or(false);
    Ok((changes, dry_run, text(&f, "note", 1000)?))
}

/// An optional text field of at most `max` characters.
pub fn text(f: &Fields<'_>, name: &str, max: usize) -> Result<Option<String>, FieldError> {
    let v = f.opt_string(name)?.map(str::to_string);
    if v.as_ref().is_some_and(|v| v.chars().count() > max) {
        return Err(FieldError::new(
            f.path(name),
            format!("must be at most {max} characters"),
        ));
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn body(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn a_return_request_names_lines_with_quantities_and_known_reasons() {
        let (lines, note) = request(
            &body(json!({"lines": [{"line_id": "line_1", "quantity": 2, "reason": "damaged"}], "note": "box crushed"})),
            &[],
        )
        .unwrap();
        assert_eq!(
            lines,
            vec![Requested {
                line_id: "line_1".into(),
                quantity: 2,
                reason: ReturnReason::Damaged
            }]
        );
        assert_eq!(note.as_deref(), Some("box crushed"));
        for (bad, field) in [
            (json!({"lines": []}), "lines"),
            (
                json!({"lines": [{"line_id": "l", "quantity": 1, "reason": "bored"}]}),
                "lines[0].reason",
            ),
            (
                json!({"lines": [{"line_id": "l", "quantity": 0, "reason": "other"}]}),
                "lines[0].quantity",
            ),
            (
                json!({"lines": [{"line_id": "l", "quantity": 1}]}),
                "lines[0].reason",
            ),
            (
                json!({"lines": [{"line_id": "l", "quantity": 1, "reason": "other", "refund": true}]}),
                "lines[0].refund",
            ),
            (
                json!({"lines": [{"line_id": "l", "quantity": 1, "reason": "other"}], "order_id": "o"}),
                "order_id",
            ),
        ] {
            let e = request(&body(bad.clone()), &[]).unwrap_err();
            assert_eq!(e.field, field, "{bad}");
        }
    }

    #[test]
    fn an_edit_names_each_change_by_its_op_and_refuses_fields_another_op_takes() {
        let (changes, dry_run, note) = edit(&body(json!({
            "changes": [{"op": "add", "sku": "choc-70", "quantity": 2}, {"op": "remove", "line_id": "line_1"}],
            "dry_run": true
        })))
        .unwrap();
        assert_eq!(
            changes,
            vec![
                Change::Add {
                    sku: "CHOC-70".into(),
                    quantity: 2
                },
                Change::Remove {
                    line_id: "line_1".into()
                }
            ]
        );
        assert_eq!((dry_run, note), (true, None));
        for (bad, field) in [
            (json!({"changes": []}), "changes"),
            (
                json!({"changes": [{"op": "rename", "line_id": "l"}]}),
                "changes[0].op",
            ),
            (
                json!({"changes": [{"op": "remove", "line_id": "l", "quantity": 1}]}),
                "changes[0].quantity",
            ),
            (
                json!({"changes": [{"op": "set_quantity", "line_id": "l", "quantity": 0}]}),
                "changes[0].quantity",
            ),
        ] {
            assert_eq!(edit(&body(bad.clone())).unwrap_err().field, field, "{bad}");
        }
    }
}
