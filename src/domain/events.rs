//! Every event Comptoir emits (API.md "Events"; JSON Schemas in `schema/events/`), with its
//! envelope. An event is written to the outbox in the same D1 batch as the change that caused
//! it; its `sequence` counts per aggregate (per order; per SKU for `inventory.low`).

use serde::Serialize;
use serde_json::Value;

/// The event types. Their names are the `type` field of the envelope.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum EventType {
    /// A checkout placed an order (`data`: the Order).
    #[serde(rename = "order.placed")]
    OrderPlaced,
    /// The order was paid (`data`: the Order).
    #[serde(rename = "order.confirmed")]
    OrderConfirmed,
    /// Canceled by the merchant or expired unpaid (`data`: the Order, plus `cancellation`).
    #[serde(rename = "order.canceled")]
    OrderCanceled,
    /// Lines shipped (`data`: the Order, plus `fulfillment`).
    #[serde(rename = "order.fulfilled")]
    OrderFulfilled,
    /// Lines or shipping refunded (`data`: the Order, plus `refund`).
    #[serde(rename = "order.refunded")]
    OrderRefunded,
    /// A SKU's available stock fell to the threshold or below (`data`: [`InventoryLow`]).
    #[serde(rename = "inventory.low")]
    InventoryLow,
    /// Lines added, changed or removed (`data`: the Order after, plus `edit`: before, after,
    /// changes).
    #[serde(rename = "order.edited")]
    OrderEdited,
    /// A return was asked for (`data`: the Order, plus `return`).
    #[serde(rename = "return.requested")]
    ReturnRequested,
    #[serde(rename = "return.approved")]
    ReturnApproved,
    #[serde(rename = "return.rejected")]
    ReturnRejected,
    /// Units of a return came back (`data`: the Order, plus `return` and `receipt`).
    #[serde(rename = "return.received")]
    ReturnReceived,
    #[serde(rename = "return.canceled")]
    ReturnCanceled,
    /// The payment provider refused a refund (`data`: the Order, plus `refund`).
    #[serde(rename = "refund.failed")]
    RefundFailed,
    /// Money collected after the order was confirmed (a balance an edit or an exchange left;
    /// `data`: the Order, plus `payment`).
    #[serde(rename = "order.paid")]
    OrderPaid,
    /// An imported sale took more of a SKU than any location held (`data`: [`InventoryOversold`]).
    #[serde(rename = "inventory.oversold")]
    InventoryOversold,
}

impl EventType {
    pub const ALL: [EventType; 15] = [
        EventType::OrderPlaced,
        EventType::OrderConfirmed,
        EventType::OrderCanceled,
        EventType::OrderFulfilled,
        EventType::OrderRefunded,
        EventType::InventoryLow,
        EventType::OrderEdited,
        EventType::ReturnRequested,
        EventType::ReturnApproved,
        EventType::ReturnRejected,
        EventType::ReturnReceived,
        EventType::ReturnCanceled,
        EventType::RefundFailed,
        EventType::OrderPaid,
        EventType::InventoryOversold,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventType::OrderPlaced => "order.placed",
            EventType::OrderConfirmed => "order.confirmed",
            EventType::OrderCanceled => "order.canceled",
            EventType::OrderFulfilled => "order.fulfilled",
            EventType::OrderRefunded => "order.refunded",
            EventType::InventoryLow => "inventory.low",
            EventType::OrderEdited => "order.edited",
            EventType::ReturnRequested => "return.requested",
            EventType::ReturnApproved => "return.approved",
            EventType::ReturnRejected => "return.rejected",
            EventType::ReturnReceived => "return.received",
            EventType::ReturnCanceled => "return.canceled",
            EventType::RefundFailed => "refund.failed",
            EventType::OrderPaid => "order.paid",
            EventType::InventoryOversold => "inventory.oversold",
        }
    }

    pub fn parse(s: &str) -> Option<EventType> {
        EventType::ALL.into_iter().find(|t| t.as_str() == s)
    }

    /// The key `data` carries this action's detail under, beside the Order.
    pub fn detail_key(self) -> Option<&'static str> {
        match self {
            EventType::OrderCanceled => Some("cancellation"),
            EventType::OrderFulfilled => Some("fulfillment"),
            EventType::OrderRefunded | EventType::RefundFailed => Some("refund"),
            EventType::OrderEdited => Some("edit"),
            EventType::OrderPaid => Some("payment"),
            EventType::ReturnRequested
            | EventType::ReturnApproved
            | EventType::ReturnRejected
            | EventType::ReturnReceived
            | EventType::ReturnCanceled => Some("return"),
            _ => None,
        }
    }
}

/// The payload of `inventory.low`. D1 computes it inside the batch that moved the stock (the
/// figures are those after the change), so the store writes it with `json_object` using
/// these field names; this type is its one description.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InventoryLow {
    pub sku: String,
    pub on_hand: i64,
    pub reserved: i64,
    pub available: i64,
    pub threshold: i64,
}

/// The envelope of API.md: `{id, type, version, created_at, sequence, data}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Envelope {
    pub id: String,
    #[serde(rename = "type")]
    pub event_type: EventType,
    pub version: u32,
    pub created_at: String,
    pub sequence: i64,
    pub data: Value,
}

impl Envelope {
    /// Version 1 of `event_type`, the `sequence`-th event of its aggregate.
    pub fn new(
        id: &str,
        event_type: EventType,
        sequence: i64,
        created_at: &str,
        data: Value,
    ) -> Self {
        Envelope {
            id: id.to_string(),
            event_type,
            version: 1,
            created_at: created_at.to_string(),
            sequence,
            data,
        }
    }

    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_event_type_names_itself_as_the_envelope_does_and_parses_back() {
        for t in EventType::ALL {
            assert_eq!(serde_json::to_value(t).unwrap(), json!(t.as_str()));
            assert_eq!(EventType::parse(t.as_str()), Some(t));
        }
        assert_eq!(EventType::parse("order.updated"), None);
    }

    #[test]
    fn the_envelope_has_the_six_fields_of_the_contract() {
        let e = Envelope::new(
            "evt_1",
            EventType::OrderPlaced,
            1,
            "2026-01-01T00:00:00.000Z",
            json!({"id": "ord_1"}),
        );
        assert_eq!(
            e.to_json(),
            json!({"id": "evt_1", "type": "order.placed", "version": 1,
                   "created_at": "2026-01-01T00:00:00.000Z", "sequence": 1, "data": {"id": "ord_1"}})
        );
    }
}
