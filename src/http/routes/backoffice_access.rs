//! What each admin route asks of its caller: the scope its token needs, and whether its body
//! may be left empty.

use super::Backoffice;
use crate::auth::admin::Scope;

impl Backoffice<'_> {
    /// The scope a token needs for this route.
    pub fn scope(&self) -> Scope {
        use Backoffice::*;
        match self {
            PutMarket { .. }
            | PutProduct { .. }
            | ImportProducts
            | PutChannel { .. }
            | RotateChannelKey { .. }
            | PutShippingMethod { .. }
            | PutDiscount { .. } => Scope::CatalogWrite,
            GetMarket { .. }
            | ListMarkets
            | ListProducts
            | ListChannels
            | ListShippingMethods
            | ListDiscounts
            | GetProduct { .. }
            | GetChannel { .. }
            | GetShippingMethod { .. }
            | GetDiscount { .. } => Scope::CatalogRead,
            GetInventory { .. }
            | ListInventory
            | ListAdjustments { .. }
            | ListSyncs
            | ListLocations => Scope::InventoryRead,
            ListOrders
            | GetOrder { .. }
            | ListDrafts
            | GetDraft { .. }
            | OrderTimeline { .. }
            | ListReturns
            | GetReturn { .. }
            | Stats => Scope::OrdersRead,
            PutDestination { .. }
            | DeleteDestination { .. }
            | RotateSecret { .. }
            | ReplayDead { .. }
            | ReplayDelivery { .. } => Scope::DestinationsWrite,
            GetDestination { .. } | ListDestinations | ListDeliveries | GetDelivery { .. } => {
                Scope::DestinationsRead
            }
            Events => Scope::EventsRead,
            MarkPaid { .. }
            | ImportOrders
            | CreateDraft
            | UpdateDraft { .. }
            | DiscardDraft { .. }
            | CompleteDraft { .. }
            | CancelOrder { .. }
            | FulfillOrder { .. }
            | EditOrder { .. }
            | MoveAllocations { .. } => Scope::OrdersWrite,
            RefundOrder { .. } | RetryRefund { .. } => Scope::RefundsWrite,
            OpenReturn
            | ApproveReturn { .. }
            | RejectReturn { .. }
            | CancelReturn { .. }
            | ReceiveReturn { .. }
            | ExchangeReturn { .. } => Scope::ReturnsWrite,
            PutInventory { .. }
            | PutInventoryAt { .. }
            | PutInventoryMode { .. }
            | SyncInventory
            | AdjustInventory { .. }
            | PutLocation { .. } => Scope::InventoryWrite,
        }
    }

    /// POST routes whose body may be left empty (it means `{}`).
    pub fn body_optional(&self) -> bool {
        matches!(
            self,
            Backoffice::RotateChannelKey { .. }
                | Backoffice::MarkPaid { .. }
                | Backoffice::CancelOrder { .. }
                | Backoffice::RotateSecret { .. }
                | Backoffice::ReplayDead { .. }
                | Backoffice::ReplayDelivery { .. }
                | Backoffice::RetryRefund { .. }
                | Backoffice::ApproveReturn { .. }
                | Backoffice::CancelReturn { .. }
        )
    }
}
