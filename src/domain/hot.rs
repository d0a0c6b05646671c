//! Hot SKUs (API.md "Edge scale"): a SKU on flash sale moves its stock authority from the one
//! D1 row every buyer would queue on into `shards` SQLite-backed Durable Objects, each holding a
//! share of what each location has available and the reservations taken from it.
//!
//! The protocol, and why nothing is oversold or lost:
//! - A switch to hot writes, in one guarded D1 batch, the SKU's generation `g` (one more than
//!   the last) and the split of what D1 says is available per location then. The objects of
//!   generation `g` are new objects (their name carries `g`): each starts from its share of the
//!   split the first time anyone calls it. No state is copied by hand, so no copy can go stale.
//! - From then on every D1 placement carries a guard on the generation it planned with (0 for
//!   the normal path): a checkout that planned on D1 and commits after the switch aborts, and so
//!   does one that reserved in generation `g` and commits after a switch back. D1 is still the
//!   ledger (`inventory_levels` with its CHECK): a hot order increments `reserved` there as every
//!   order does, so even an object that counted wrong cannot make D1 oversell.
//! - Checkout takes units in the objects first (a reservation named after the order and SKU),
//!   then commits the order in D1 with a `hot_holds` row per reservation, then settles the
//!   reservations (the units now belong to the order). A commit that fails releases them. A
//!   reservation nobody settles or releases (the Worker died between the two) expires by alarm
//!   after `HOT_RESERVATION_TTL_SECONDS`: the object asks D1 whether an order holds it, and
//!   settles or releases accordingly.
//! - workers-rs has no `transactionSync` and no way to hold the input gate across an await of
//!   ours; it needs neither. An object runs one event at a time, and its SQL calls are
//!   synchronous: each operation below runs all its statements without awaiting anything, so
//!   no other request interleaves and the runtime commits them together (writes between two
//!   awaits are one implicit transaction). Each take is a single conditional `UPDATE … WHERE
//!   available >= n` per location besides, so even interleaved it could not go below zero.

use crate::domain::fields::{FieldError, Fields};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// Shards when the switch does not say.
pub const DEFAULT_SHARDS: i64 = 4;
/// At most this many objects per SKU: a checkout may visit every one.
pub const MAX_SHARDS: i64 = 16;

/// Units per location.
pub type Units = BTreeMap<String, i64>;

/// A SKU whose stock authority is in the objects.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HotSku {
    pub sku: String,
    pub generation: i64,
    /// What each shard started with, per location (`split.len()` shards).
    pub split: Vec<Units>,
}

impl HotSku {
    pub fn shards(&self) -> usize {
        self.split.len()
    }

    /// The name of shard `shard`'s object: a new generation gets new objects.
    pub fn object_name(&self, shard: usize) -> String {
        format!("{}|{}|{}", self.sku, self.generation, shard)
    }

    /// Where a reservation named `id` starts taking: spread over the shards by its name.
    pub fn first_shard(&self, id: &str) -> usize {
        // FNV-1a: stable across isolates and builds (std's hasher is neither promised).
        let hash = id.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        });
        (hash % self.shards().max(1) as u64) as usize
    }
}

/// `PUT /admin/v1/inventory/{sku}/mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `shards` when given (else [`DEFAULT_SHARDS`] for a SKU not hot yet; a hot one keeps its).
    Hot {
        shards: Option<i64>,
    },
    Normal,
}

/// Reads `{"mode": "hot", "shards": 4}` (shards 1 to 16) or `{"mode": "normal"}`.
pub fn mode_from(body: &Map<String, Value>) -> Result<Mode, FieldError> {
    let f = Fields::new(body);
    f.only(&["mode", "shards"])?;
    match f.string("mode")? {
        "hot" => Ok(Mode::Hot {
            shards: f.opt_int("shards", 1..=MAX_SHARDS)?,
        }),
        "normal" => match body.get("shards") {
            None | Some(Value::Null) => Ok(Mode::Normal),
            Some(_) => Err(FieldError::new(
                "shards",
                "applies only to mode hot; leave it out to switch back to normal",
            )),
        },
        _ => Err(FieldError::new("mode", "must be hot or normal")),
    }
}

/// A call to one shard's object (`POST` with this JSON). `init` is the shard's share of the
/// split, which the object takes as its stock the first time it is called.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum ShardCall {
    /// Takes up to `want` per location under reservation `id` (all or what there is), held
    /// until `expires_at_ms`. Taking again under the same id answers what it took before.
    Take {
        sku: String,
        generation: i64,
        init: Units,
        id: String,
        want: Units,
        expires_at_ms: i64,
    },
    /// Gives reservation `id`'s units back (a failed commit).
    Release { id: String },
    /// Forgets reservation `id`: an order holds its units now.
    Settle { id: String },
    /// What the shard has available and holds.
    State {
        sku: String,
        generation: i64,
        init: Units,
    },
    /// The same, with each reservation it holds (for inventory reads, which leave out those an
    /// order holds already).
    Holds {
        sku: String,
        generation: i64,
        init: Units,
    },
}

/// A shard's answer: what it took (for a take), what it has left and what it holds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardState {
    #[serde(default)]
    pub taken: Units,
    #[serde(default)]
    pub available: Units,
    #[serde(default)]
    pub held: Units,
    /// Each reservation held, by id (answered to `Holds` only).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub holds: BTreeMap<String, Units>,
}

/// How the objects' numbers differ from D1's, per location (empty: in step). What D1 has
/// available (`on_hand - reserved`) should be what the objects have plus what they hold for
/// checkouts still in flight (`in_flight`: reservations no order holds yet). Stock moved in D1
/// alone (a restock, a canceled order, an import) makes them differ: the difference is D1's
/// number less the objects'.
pub fn drift(d1_available: &Units, objects_available: &Units, in_flight: &Units) -> Units {
    let mut theirs = objects_available.clone();
    add(&mut theirs, in_flight);
    let mut locations: Vec<&String> = d1_available.keys().chain(theirs.keys()).collect();
    locations.sort();
    locations.dedup();
    locations
        .into_iter()
        .filter_map(|l| {
            let d = d1_available.get(l).copied().unwrap_or(0).max(0)
                - theirs.get(l).copied().unwrap_or(0);
            (d != 0).then(|| (l.clone(), d))
        })
        .collect()
}

/// The units of `b` added to `a`.
pub fn add(a: &mut Units, b: &Units) {
    for (location, n) in b {
        *a.entry(location.clone()).or_insert(0) += n;
    }
}

/// What is still wanted once `taken` is taken; locations at 0 are dropped.
pub fn less(want: &Units, taken: &Units) -> Units {
    want.iter()
        .map(|(l, n)| (l.clone(), n - taken.get(l).copied().unwrap_or(0)))
        .filter(|(_, n)| *n > 0)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn units(pairs: &[(&str, i64)]) -> Units {
        pairs.iter().map(|(l, n)| (l.to_string(), *n)).collect()
    }

    #[test]
    fn the_mode_body_is_checked_field_by_field() {
        let body = |v: Value| v.as_object().unwrap().clone();
        assert_eq!(
            mode_from(&body(json!({"mode": "hot"}))),
            Ok(Mode::Hot { shards: None })
        );
        assert_eq!(
            mode_from(&body(json!({"mode": "hot", "shards": 16}))),
            Ok(Mode::Hot { shards: Some(16) })
        );
        assert_eq!(
            mode_from(&body(json!({"mode": "normal"}))),
            Ok(Mode::Normal)
        );
        for (bad, field) in [
            (json!({"mode": "hot", "shards": 0}), "shards"),
            (json!({"mode": "hot", "shards": 17}), "shards"),
            (json!({"mode": "hot", "shards": "4"}), "shards"),
            (json!({"mode": "normal", "shards": 2}), "shards"),
            (json!({"mode": "warm"}), "mode"),
            (json!({}), "mode"),
            (json!({"mode": "hot", "ttl": 5}), "ttl"),
        ] {
            assert_eq!(
                mode_from(&body(bad.clone())).unwrap_err().field,
                field,
                "{bad}"
            );
        }
    }

    #[test]
    fn reservations_spread_over_the_shards_and_stay_put() {
        let hot = HotSku {
            sku: "TEE".into(),
            generation: 3,
            split: vec![Units::new(); 4],
        };
        let firsts: std::collections::BTreeSet<usize> = (0..64)
            .map(|i| hot.first_shard(&format!("ord_{i}:TEE")))
            .collect();
        assert_eq!(firsts.len(), 4, "every shard is someone's first");
        assert_eq!(hot.first_shard("ord_1:TEE"), hot.first_shard("ord_1:TEE"));
        assert_eq!(hot.object_name(2), "TEE|3|2");
    }

    #[test]
    fn the_objects_are_in_step_when_what_they_have_and_hold_in_flight_is_what_d1_has() {
        let d1 = units(&[("main", 7), ("paris", 2)]);
        assert!(drift(
            &d1,
            &units(&[("main", 5), ("paris", 2)]),
            &units(&[("main", 2)])
        )
        .is_empty());
        // A restock of 10 at main in D1 alone; a canceled order gives paris 1 back.
        let after = units(&[("main", 17), ("paris", 3)]);
        assert_eq!(
            drift(
                &after,
                &units(&[("main", 5), ("paris", 2)]),
                &units(&[("main", 2)])
            ),
            units(&[("main", 10), ("paris", 1)])
        );
        // An import took 3 in D1 the objects still count.
        assert_eq!(
            drift(
                &units(&[("main", 4)]),
                &units(&[("main", 7)]),
                &Units::new()
            ),
            units(&[("main", -3)])
        );
    }

    #[test]
    fn what_is_left_to_take() {
        let want = units(&[("main", 3), ("paris", 1)]);
        assert_eq!(
            less(&want, &units(&[("main", 2), ("paris", 1)])),
            units(&[("main", 1)])
        );
        assert!(less(&want, &want).is_empty());
    }

    #[test]
    fn calls_travel_as_tagged_json() {
        let call = ShardCall::Release {
            id: "ord_1:TEE".into(),
        };
        let text = serde_json::to_string(&call).unwrap();
        assert_eq!(text, r#"{"op":"release","id":"ord_1:TEE"}"#);
        assert_eq!(serde_json::from_str::<ShardCall>(&text).unwrap(), call);
    }
}
