//! Hot SKUs' stock in their Durable Objects (src/domain/hot.rs has the protocol and why it is
//! safe): what the shards have available, and reservations drawn across them. A reservation
//! starts at the shard its name picks and, when that one has run dry, draws the rest from the
//! next ones: the shards rebalance each order between them, so no unit is stranded in one.

use crate::app::ports::{HotObjects, StoreError};
use crate::domain::hot::{add, less, HotSku, ShardCall, ShardState, Units};
use futures_util::future::join_all;
use std::collections::BTreeMap;

/// Units reserved in a hot SKU's objects under one id: the shards that hold some.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hold {
    pub hot: HotSku,
    pub id: String,
    pub shards: Vec<usize>,
}

/// Asks every shard at once (`State`, or `Holds` with each reservation), in shard order.
async fn every_shard(
    objects: &impl HotObjects,
    hot: &HotSku,
    with_holds: bool,
) -> Result<Vec<ShardState>, StoreError> {
    let calls = (0..hot.shards()).map(|s| {
        let (sku, generation, init) = (hot.sku.clone(), hot.generation, hot.split[s].clone());
        let call = if with_holds {
            ShardCall::Holds {
                sku,
                generation,
                init,
            }
        } else {
            ShardCall::State {
                sku,
                generation,
                init,
            }
        };
        async move { objects.shard(hot, s, &call).await }
    });
    join_all(calls).await.into_iter().collect()
}

/// Every shard's state, in shard order.
pub async fn states(
    objects: &impl HotObjects,
    hot: &HotSku,
) -> Result<Vec<ShardState>, StoreError> {
    every_shard(objects, hot, false).await
}

/// `picture` with the availability of each of `hot`'s SKUs as its objects say (per location),
/// and each one's shards as read.
pub async fn overlay(
    objects: &impl HotObjects,
    picture: &mut crate::domain::stock::StockPicture,
    hot: &[HotSku],
) -> Result<BTreeMap<String, Vec<ShardState>>, StoreError> {
    let mut shards = BTreeMap::new();
    for h in hot {
        let states = states(objects, h).await?;
        picture.set_available(&h.sku, &available(&states));
        shards.insert(h.sku.clone(), states);
    }
    Ok(shards)
}

/// What `states` have available together, per location.
pub fn available(states: &[ShardState]) -> Units {
    let mut out = Units::new();
    for s in states {
        add(&mut out, &s.available);
    }
    out
}

/// What the objects have available (summed), and each reservation they hold (its units over
/// all its shards: one reservation may hold units in several).
pub async fn holds(
    objects: &impl HotObjects,
    hot: &HotSku,
) -> Result<(Units, BTreeMap<String, Units>), StoreError> {
    let states = every_shard(objects, hot, true).await?;
    let mut holds: BTreeMap<String, Units> = BTreeMap::new();
    for s in &states {
        for (id, units) in &s.holds {
            add(holds.entry(id.clone()).or_default(), units);
        }
    }
    Ok((available(&states), holds))
}

/// The units of `holds` that no placed order holds (`placed`): checkouts still in flight.
pub fn flying(holds: &BTreeMap<String, Units>, placed: &[String]) -> Units {
    // A day of a busy SKU's orders may be many: looked up, not scanned, per hold.
    let placed: std::collections::BTreeSet<&String> = placed.iter().collect();
    let mut out = Units::new();
    for (_, units) in holds.iter().filter(|(id, _)| !placed.contains(id)) {
        add(&mut out, units);
    }
    out
}

/// The order in which a reservation named `id` visits the shards: from the one its name picks,
/// those that `states` (as last read, perhaps stale) say hold some of `want` first, then the
/// rest, so a shard run dry costs a visit only when the others cannot cover the order.
pub fn visits(hot: &HotSku, id: &str, want: &Units, states: &[ShardState]) -> Vec<usize> {
    let n = hot.shards();
    let first = hot.first_shard(id);
    let has = |s: usize| {
        states.get(s).is_none_or(|st| {
            want.keys()
                .any(|l| st.available.get(l).copied().unwrap_or(0) > 0)
        })
    };
    let (mut order, rest): (Vec<usize>, Vec<usize>) =
        (0..n).map(|k| (first + k) % n).partition(|&s| has(s));
    order.extend(rest);
    order
}

/// Reserves `want` (units per location) under `id` until `expires_at_ms`: `Ok(Ok(hold))`, or
/// `Ok(Err(available))` with what the objects have, nothing kept, when they cannot cover it.
/// `states` (the shards as last read, or none) orders the visits.
pub async fn reserve(
    objects: &impl HotObjects,
    hot: &HotSku,
    id: &str,
    want: &Units,
    expires_at_ms: i64,
    states: &[ShardState],
) -> Result<Result<Hold, Units>, StoreError> {
    let mut hold = Hold {
        hot: hot.clone(),
        id: id.to_string(),
        shards: vec![],
    };
    let mut need = less(want, &Units::new());
    let mut seen = Units::new();
    for s in visits(hot, id, want, states) {
        if need.is_empty() {
            break;
        }
        let call = ShardCall::Take {
            sku: hot.sku.clone(),
            generation: hot.generation,
            init: hot.split[s].clone(),
            id: id.to_string(),
            want: need.clone(),
            expires_at_ms,
        };
        let answer = match objects.shard(hot, s, &call).await {
            Ok(a) => a,
            Err(e) => {
                release(objects, &hold).await;
                return Err(e);
            }
        };
        if answer.taken.values().any(|n| *n > 0) {
            hold.shards.push(s);
        }
        need = less(&need, &answer.taken);
        add(&mut seen, &answer.available);
        add(&mut seen, &answer.taken);
    }
    if need.is_empty() {
        return Ok(Ok(hold));
    }
    // Every shard was asked: `seen` is all they have, counting what this draw took.
    release(objects, &hold).await;
    Ok(Err(seen))
}

/// Gives a hold's units back. Best effort: a shard that does not answer keeps them until the
/// reservation expires, when its alarm finds no order holding it and releases them.
pub async fn release(objects: &impl HotObjects, hold: &Hold) {
    end(
        objects,
        hold,
        ShardCall::Release {
            id: hold.id.clone(),
        },
    )
    .await;
}

/// Hands a hold's units to the order that now holds them (they leave the objects' count of
/// held units), after the response: a shard the call does not reach settles at expiry, when its
/// alarm finds the order's `hot_holds` row.
pub fn settle(objects: &impl HotObjects, hold: &Hold) {
    for &s in &hold.shards {
        let id = hold.id.clone();
        objects.later(&hold.hot, s, ShardCall::Settle { id });
    }
}

async fn end(objects: &impl HotObjects, hold: &Hold, call: ShardCall) {
    let calls = hold
        .shards
        .iter()
        .map(|&s| objects.shard(&hold.hot, s, &call));
    join_all(calls).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reservation_visits_the_shards_that_have_stock_first_then_the_rest() {
        let hot = HotSku {
            sku: "TEE".into(),
            generation: 1,
            split: vec![Units::new(); 4],
        };
        let want: Units = [("main".to_string(), 1)].into();
        let state = |n: i64| ShardState {
            available: [("main".to_string(), n)].into(),
            ..ShardState::default()
        };
        let id = "ord_1:TEE";
        let first = hot.first_shard(id);
        let all = visits(&hot, id, &want, &[]);
        assert_eq!(all.len(), 4);
        assert_eq!(
            all[0], first,
            "without a reading, from the shard its name picks"
        );
        let dry_first: Vec<ShardState> = (0..4).map(|s| state(i64::from(s != first))).collect();
        let order = visits(&hot, id, &want, &dry_first);
        assert_eq!(order.len(), 4, "every shard is still visited if need be");
        assert_eq!(*order.last().unwrap(), first, "the dry one last");
    }
}
