//! Moving an order's allocations between stock locations (API.md "Stock locations"): units
//! not yet shipped go from one location to another that has them available and that checkout
//! could have allocated them at (serving the order's country; a pickup order's store only).
//! Without `from`, a move allocates backordered units (a sale imported beyond stock) once a
//! location has them. Pure: the use case brings the stock picture.

use super::{Order, OrderStatus, StockMove};
use crate::domain::stock::{self, Destination, StockPicture};
use serde_json::{json, Value};

/// One move, as the client sent it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Move {
    pub line_id: String,
    /// `None`: the line's backordered units, which no location holds yet.
    pub from: Option<String>,
    pub to: String,
    pub quantity: i64,
}

impl Move {
    pub fn view(&self) -> Value {
        json!({"op": "move_allocation", "line_id": self.line_id, "from": self.from, "to": self.to,
               "quantity": self.quantity})
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MoveRefusal {
    /// Only orders with units still to ship (pending payment, confirmed) move them: 409.
    Illegal { from: OrderStatus },
    /// `moves[index]` cannot apply: 422.
    Bad { index: usize, reason: String },
    /// The destination lacks the units: 422 `insufficient_stock`.
    Short { sku: String, available: i64 },
}

/// The order with `moves` applied to its lines' allocations, and the stock they move
/// (released where they leave, reserved where they arrive).
pub fn moved(
    order: &Order,
    moves: &[Move],
    picture: &StockPicture,
) -> Result<(Order, Vec<StockMove>), MoveRefusal> {
    if !matches!(
        order.status,
        OrderStatus::PendingPayment | OrderStatus::Confirmed
    ) {
        return Err(MoveRefusal::Illegal { from: order.status });
    }
    // Units go only where checkout could have taken them.
    let (pickup, country) = order.ships_to();
    let destination = Destination::of(pickup.as_deref(), country.as_deref(), &[]);
    let status = order.status;
    let mut after = order.clone();
    let mut out = Vec::new();
    let mut taken: std::collections::BTreeMap<(String, String), i64> = Default::default();
    for (index, m) in moves.iter().enumerate() {
        let bad = |reason: String| MoveRefusal::Bad { index, reason };
        if m.from.as_deref() == Some(m.to.as_str()) {
            return Err(bad("from and to are the same location".into()));
        }
        if !picture.locations.iter().any(|l| l.id == m.to) {
            return Err(bad(format!("no location {}", m.to)));
        }
        if !stock::eligible(&picture.locations, destination)
            .iter()
            .any(|l| l.id == m.to)
        {
            return Err(bad(match destination {
                Destination::Pickup(store) => {
                    format!("the order is collected at {store}: its units stay there")
                }
                _ => format!(
                    "{} does not serve {}",
                    m.to,
                    country.as_deref().unwrap_or("the order's country")
                ),
            }));
        }
        let Some(line) = after.lines.iter_mut().find(|l| l.id == m.line_id) else {
            return Err(bad(format!("the order has no line {}", m.line_id)));
        };
        let key = (line.sku.clone(), m.to.clone());
        let free = picture.available.get(&key).copied().unwrap_or(0)
            - taken.get(&key).copied().unwrap_or(0);
        if free < m.quantity {
            return Err(MoveRefusal::Short {
                sku: line.sku.clone(),
                available: free.max(0),
            });
        }
        match &m.from {
            Some(from) => {
                stock::move_units(&mut line.allocations, from, &m.to, m.quantity).map_err(
                    |open| {
                        bad(format!(
                            "{open} unit(s) of this line are allocated at {from} and left to ship"
                        ))
                    },
                )?;
                out.push(StockMove {
                    sku: line.sku.clone(),
                    location: from.clone(),
                    release: m.quantity,
                    ship: 0,
                });
            }
            None => {
                let owed = line.backordered(status);
                if owed < m.quantity {
                    return Err(bad(format!(
                        "{owed} unit(s) of this line are backordered; name `from` to move allocated ones"
                    )));
                }
                stock::assign(&mut line.allocations, &m.to, m.quantity);
            }
        }
        *taken.entry(key).or_default() += m.quantity;
        out.push(StockMove {
            sku: line.sku.clone(),
            location: m.to.clone(),
            release: -m.quantity,
            ship: 0,
        });
    }
    Ok((after, out))
}
