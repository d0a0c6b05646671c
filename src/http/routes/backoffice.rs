//! The back office's route table.

use super::*;

/// Routes of the admin API (`/admin/v1`, admin JWT required).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Backoffice<'a> {
    PutDestination { id: &'a str },
    GetDestination { id: &'a str },
    DeleteDestination { id: &'a str },
    ListDestinations,
    RotateSecret { id: &'a str },
    ReplayDead { id: &'a str },
    ListDeliveries,
    GetDelivery { id: &'a str },
    ReplayDelivery { id: &'a str },
    Events,
    ListOrders,
    ImportOrders,
    ListDrafts,
    CreateDraft,
    GetDraft { id: &'a str },
    UpdateDraft { id: &'a str },
    DiscardDraft { id: &'a str },
    CompleteDraft { id: &'a str },
    GetOrder { id: &'a str },
    MarkPaid { id: &'a str },
    CancelOrder { id: &'a str },
    FulfillOrder { id: &'a str },
    RefundOrder { id: &'a str },
    RetryRefund { id: &'a str, refund_id: &'a str },
    EditOrder { id: &'a str },
    MoveAllocations { id: &'a str },
    OrderTimeline { id: &'a str },
    ListReturns,
    OpenReturn,
    GetReturn { id: &'a str },
    ApproveReturn { id: &'a str },
    RejectReturn { id: &'a str },
    CancelReturn { id: &'a str },
    ReceiveReturn { id: &'a str },
    ExchangeReturn { id: &'a str },
    PutLocation { id: &'a str },
    ListLocations,
    ListMarkets,
    PutMarket { code: &'a str },
    GetMarket { code: &'a str },
    PutProduct { id: &'a str },
    GetProduct { id: &'a str },
    ListProducts,
    ImportProducts,
    GetInventory { sku: &'a str },
    ListInventory,
    PutInventory { sku: &'a str },
    PutInventoryAt { sku: &'a str, location: &'a str },
    PutInventoryMode { sku: &'a str },
    SyncInventory,
    ListSyncs,
    AdjustInventory { sku: &'a str },
    ListAdjustments { sku: &'a str },
    ListChannels,
    PutChannel { id: &'a str },
    GetChannel { id: &'a str },
    RotateChannelKey { id: &'a str },
    ListShippingMethods,
    PutShippingMethod { id: &'a str },
    GetShippingMethod { id: &'a str },
    ListDiscounts,
    PutDiscount { id: &'a str },
    GetDiscount { id: &'a str },
    Stats,
}

pub fn match_backoffice<'a>(method: &str, path: &'a str) -> Result<Backoffice<'a>, ApiError> {
    let segs = segments(path).ok_or_else(not_found)?;
    let route = match (method, segs.as_slice()) {
        ("GET", ["admin", "v1", "destinations"]) => Backoffice::ListDestinations,
        ("PUT", ["admin", "v1", "destinations", id]) => Backoffice::PutDestination { id },
        ("GET", ["admin", "v1", "destinations", id]) => Backoffice::GetDestination { id },
        ("DELETE", ["admin", "v1", "destinations", id]) => Backoffice::DeleteDestination { id },
        (_, ["admin", "v1", "destinations", _]) => {
            return Err(ApiError::method_not_allowed(&["GET", "PUT", "DELETE"]))
        }
        ("POST", ["admin", "v1", "destinations", id, "rotate-secret"]) => {
            Backoffice::RotateSecret { id }
        }
        (_, ["admin", "v1", "destinations", _, "rotate-secret"]) => {
            return Err(ApiError::method_not_allowed(&["POST"]))
        }
        ("POST", ["admin", "v1", "destinations", id, "replay-dead"]) => {
            Backoffice::ReplayDead { id }
        }
        (_, ["admin", "v1", "destinations", _, "replay-dead"]) => {
            return Err(ApiError::method_not_allowed(&["POST"]))
        }
        ("GET", ["admin", "v1", "deliveries"]) => Backoffice::ListDeliveries,
        ("GET", ["admin", "v1", "deliveries", id]) => Backoffice::GetDelivery { id },
        (_, ["admin", "v1", "deliveries", _]) => {
            return Err(ApiError::method_not_allowed(&["GET"]))
        }
        ("POST", ["admin", "v1", "deliveries", id, "replay"]) => Backoffice::ReplayDelivery { id },
        (_, ["admin", "v1", "deliveries", _, "replay"]) => {
            return Err(ApiError::method_not_allowed(&["POST"]))
        }
        ("GET", ["admin", "v1", "events"]) => Backoffice::Events,
        ("GET", ["admin", "v1", "orders"]) => Backoffice::ListOrders,
        ("POST", ["admin", "v1", "orders", "import"]) => Backoffice::ImportOrders,
        (_, ["admin", "v1", "orders", "import"]) => {
            return Err(ApiError::method_not_allowed(&["POST"]))
        }
        ("GET", ["admin", "v1", "draft-orders"]) => Backoffice::ListDrafts,
        ("POST", ["admin", "v1", "draft-orders"]) => Backoffice::CreateDraft,
        (_, ["admin", "v1", "draft-orders"]) => {
            return Err(ApiError::method_not_allowed(&["GET", "POST"]))
        }
        ("GET", ["admin", "v1", "draft-orders", id]) => Backoffice::GetDraft { id },
        ("PATCH", ["admin", "v1", "draft-orders", id]) => Backoffice::UpdateDraft { id },
        ("DELETE", ["admin", "v1", "draft-orders", id]) => Backoffice::DiscardDraft { id },
        (_, ["admin", "v1", "draft-orders", _]) => {
            return Err(ApiError::method_not_allowed(&["GET", "PATCH", "DELETE"]))
        }
        ("POST", ["admin", "v1", "draft-orders", id, "complete"]) => {
            Backoffice::CompleteDraft { id }
        }
        (_, ["admin", "v1", "draft-orders", _, "complete"]) => {
            return Err(ApiError::method_not_allowed(&["POST"]))
        }
        ("GET", ["admin", "v1", "orders", id]) => Backoffice::GetOrder { id },
        (_, ["admin", "v1", "orders", _]) => return Err(ApiError::method_not_allowed(&["GET"])),
        ("POST", ["admin", "v1", "orders", id, "mark-paid"]) => Backoffice::MarkPaid { id },
        ("POST", ["admin", "v1", "orders", id, "cancel"]) => Backoffice::CancelOrder { id },
        ("POST", ["admin", "v1", "orders", id, "fulfillments"]) => Backoffice::FulfillOrder { id },
        ("POST", ["admin", "v1", "orders", id, "refunds"]) => Backoffice::RefundOrder { id },
        ("POST", ["admin", "v1", "orders", id, "edits"]) => Backoffice::EditOrder { id },
        ("POST", ["admin", "v1", "orders", id, "allocations"]) => {
            Backoffice::MoveAllocations { id }
        }
        (
            _,
            ["admin", "v1", "orders", _, "mark-paid" | "cancel" | "fulfillments" | "refunds" | "edits" | "allocations"],
        ) => return Err(ApiError::method_not_allowed(&["POST"])),
        ("POST", ["admin", "v1", "orders", id, "refunds", refund_id, "retry"]) => {
            Backoffice::RetryRefund { id, refund_id }
        }
        (_, ["admin", "v1", "orders", _, "refunds", _, "retry"]) => {
            return Err(ApiError::method_not_allowed(&["POST"]))
        }
        ("GET", ["admin", "v1", "orders", id, "timeline"]) => Backoffice::OrderTimeline { id },
        (_, ["admin", "v1", "orders", _, "timeline"]) => {
            return Err(ApiError::method_not_allowed(&["GET"]))
        }
        ("GET", ["admin", "v1", "returns"]) => Backoffice::ListReturns,
        ("POST", ["admin", "v1", "returns"]) => Backoffice::OpenReturn,
        (_, ["admin", "v1", "returns"]) => {
            return Err(ApiError::method_not_allowed(&["GET", "POST"]))
        }
        ("GET", ["admin", "v1", "returns", id]) => Backoffice::GetReturn { id },
        (_, ["admin", "v1", "returns", _]) => return Err(ApiError::method_not_allowed(&["GET"])),
        ("POST", ["admin", "v1", "returns", id, "approve"]) => Backoffice::ApproveReturn { id },
        ("POST", ["admin", "v1", "returns", id, "reject"]) => Backoffice::RejectReturn { id },
        ("POST", ["admin", "v1", "returns", id, "cancel"]) => Backoffice::CancelReturn { id },
        ("POST", ["admin", "v1", "returns", id, "receive"]) => Backoffice::ReceiveReturn { id },
        ("POST", ["admin", "v1", "returns", id, "exchange"]) => Backoffice::ExchangeReturn { id },
        (
            _,
            ["admin", "v1", "returns", _, "approve" | "reject" | "cancel" | "receive" | "exchange"],
        ) => return Err(ApiError::method_not_allowed(&["POST"])),
        ("GET", ["admin", "v1", "locations"]) => Backoffice::ListLocations,
        ("PUT", ["admin", "v1", "locations", id]) => Backoffice::PutLocation { id },
        (_, ["admin", "v1", "locations", _]) => return Err(ApiError::method_not_allowed(&["PUT"])),
        ("GET", ["admin", "v1", "markets"]) => Backoffice::ListMarkets,
        ("PUT", ["admin", "v1", "markets", code]) => Backoffice::PutMarket { code },
        ("GET", ["admin", "v1", "markets", code]) => Backoffice::GetMarket { code },
        (_, ["admin", "v1", "markets", _]) => {
            return Err(ApiError::method_not_allowed(&["GET", "PUT"]))
        }
        ("GET", ["admin", "v1", "products"]) => Backoffice::ListProducts,
        ("POST", ["admin", "v1", "products", "import"]) => Backoffice::ImportProducts,
        (_, ["admin", "v1", "products", "import"]) => {
            return Err(ApiError::method_not_allowed(&["POST"]))
        }
        ("PUT", ["admin", "v1", "products", id]) => Backoffice::PutProduct { id },
        ("GET", ["admin", "v1", "products", id]) => Backoffice::GetProduct { id },
        (_, ["admin", "v1", "products", _]) => {
            return Err(ApiError::method_not_allowed(&["GET", "PUT"]))
        }
        ("GET", ["admin", "v1", "inventory"]) => Backoffice::ListInventory,
        ("POST", ["admin", "v1", "inventory", "sync"]) => Backoffice::SyncInventory,
        ("GET", ["admin", "v1", "inventory", "syncs"]) => Backoffice::ListSyncs,
        (_, ["admin", "v1", "inventory", "syncs"]) => {
            return Err(ApiError::method_not_allowed(&["GET"]))
        }
        (_, ["admin", "v1", "inventory", "sync"]) => {
            return Err(ApiError::method_not_allowed(&["POST"]))
        }
        ("GET", ["admin", "v1", "inventory", sku]) => Backoffice::GetInventory { sku },
        ("PUT", ["admin", "v1", "inventory", sku]) => Backoffice::PutInventory { sku },
        (_, ["admin", "v1", "inventory", _]) => {
            return Err(ApiError::method_not_allowed(&["GET", "PUT"]))
        }
        ("POST", ["admin", "v1", "inventory", sku, "adjustments"]) => {
            Backoffice::AdjustInventory { sku }
        }
        ("GET", ["admin", "v1", "inventory", sku, "adjustments"]) => {
            Backoffice::ListAdjustments { sku }
        }
        (_, ["admin", "v1", "inventory", _, "adjustments"]) => {
            return Err(ApiError::method_not_allowed(&["GET", "POST"]))
        }
        ("PUT", ["admin", "v1", "inventory", sku, "locations", location]) => {
            Backoffice::PutInventoryAt { sku, location }
        }
        (_, ["admin", "v1", "inventory", _, "locations", _]) => {
            return Err(ApiError::method_not_allowed(&["PUT"]))
        }
        ("PUT", ["admin", "v1", "inventory", sku, "mode"]) => Backoffice::PutInventoryMode { sku },
        (_, ["admin", "v1", "inventory", _, "mode"]) => {
            return Err(ApiError::method_not_allowed(&["PUT"]))
        }
        ("GET", ["admin", "v1", "channels"]) => Backoffice::ListChannels,
        ("PUT", ["admin", "v1", "channels", id]) => Backoffice::PutChannel { id },
        ("GET", ["admin", "v1", "channels", id]) => Backoffice::GetChannel { id },
        (_, ["admin", "v1", "channels", _]) => {
            return Err(ApiError::method_not_allowed(&["GET", "PUT"]))
        }
        ("POST", ["admin", "v1", "channels", id, "rotate-key"]) => {
            Backoffice::RotateChannelKey { id }
        }
        (_, ["admin", "v1", "channels", _, "rotate-key"]) => {
            return Err(ApiError::method_not_allowed(&["POST"]))
        }
        ("GET", ["admin", "v1", "shipping-methods"]) => Backoffice::ListShippingMethods,
        ("PUT", ["admin", "v1", "shipping-methods", id]) => Backoffice::PutShippingMethod { id },
        ("GET", ["admin", "v1", "shipping-methods", id]) => Backoffice::GetShippingMethod { id },
        (_, ["admin", "v1", "shipping-methods", _]) => {
            return Err(ApiError::method_not_allowed(&["GET", "PUT"]))
        }
        ("GET", ["admin", "v1", "discounts"]) => Backoffice::ListDiscounts,
        ("GET", ["admin", "v1", "stats"]) => Backoffice::Stats,
        // The read-only collections: GET only (their items have paths of their own).
        (
            _,
            ["admin", "v1", "destinations" | "deliveries" | "events" | "orders" | "locations" | "markets"
            | "products" | "channels" | "shipping-methods" | "discounts" | "inventory" | "stats"],
        ) => return Err(ApiError::method_not_allowed(&["GET"])),
        ("PUT", ["admin", "v1", "discounts", id]) => Backoffice::PutDiscount { id },
        ("GET", ["admin", "v1", "discounts", id]) => Backoffice::GetDiscount { id },
        (_, ["admin", "v1", "discounts", _]) => {
            return Err(ApiError::method_not_allowed(&["GET", "PUT"]))
        }
        _ => return Err(not_found()),
    };
    Ok(route)
}
