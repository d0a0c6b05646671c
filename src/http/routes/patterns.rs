//! The pattern of each route (`/v1/carts/{id}/lines`), as `schema/openapi.yaml` names its
//! path: what a request's log line says instead of the raw path, which carries ids (a cart id
//! is a bearer capability) and would make every request a route of its own.

use super::*;

/// The route of a path no table knows.
pub const UNMATCHED: &str = "unmatched";

impl Common {
    pub fn pattern(&self) -> &'static str {
        match self {
            Common::Health => "/health",
            Common::OpenApi => "/openapi.json",
            Common::TestPanic => "/__test/panic",
        }
    }
}

/// The pattern a request reaches: its route's, or for a 405 the pattern of the path under the
/// methods it allows (the `Allow` of the refusal), else [`UNMATCHED`].
fn pattern_in<'p, R>(
    method: &str,
    path: &'p str,
    table: impl Fn(&str, &'p str) -> Result<R, ApiError>,
    pattern: impl Fn(&R) -> &'static str,
) -> &'static str {
    // Every method of a common path has its pattern (GET is the one they all allow).
    if let Some(common) = match_common("GET", path) {
        return common.map_or(UNMATCHED, |c| c.pattern());
    }
    match table(method, path) {
        Ok(route) => pattern(&route),
        Err(refusal) => refusal
            .headers
            .iter()
            .find(|(name, _)| *name == "Allow")
            .and_then(|(_, allow)| allow.split(", ").find_map(|m| table(m, path).ok()))
            .map_or(UNMATCHED, |route| pattern(&route)),
    }
}

#[cfg(feature = "storefront")]
impl Storefront<'_> {
    /// [`UNMATCHED`] for a preflight: [`storefront_pattern`] names the route it asks about.
    pub fn pattern(&self) -> &'static str {
        use Storefront::*;
        match self {
            Preflight => UNMATCHED,
            Markets => "/v1/markets",
            Products => "/v1/products",
            Product { .. } => "/v1/products/{handle}",
            CreateCart => "/v1/carts",
            GetCart { .. } | PatchCart { .. } => "/v1/carts/{id}",
            AddLine { .. } => "/v1/carts/{id}/lines",
            UpdateLine { .. } | RemoveLine { .. } => "/v1/carts/{id}/lines/{line_id}",
            AddCode { .. } => "/v1/carts/{id}/discount-codes",
            RemoveCode { .. } => "/v1/carts/{id}/discount-codes/{code}",
            ShippingMethods { .. } => "/v1/carts/{id}/shipping-methods",
            AttachCustomer { .. } => "/v1/carts/{id}/customer",
            Checkout { .. } => "/v1/carts/{id}/checkout",
            GetOrder { .. } => "/v1/orders/{id}",
            RequestReturn { .. } => "/v1/orders/{id}/returns",
            MyOrders => "/v1/customers/me/orders",
            StripeWebhook => "/v1/payments/stripe/webhook",
        }
    }
}

/// The pattern of a storefront request; a preflight (`OPTIONS`) is named by the route it asks
/// about.
#[cfg(feature = "storefront")]
pub fn storefront_pattern(method: &str, path: &str) -> &'static str {
    let method = match method {
        "OPTIONS" => ["GET", "POST", "PATCH", "DELETE"]
            .into_iter()
            .find(|m| match_storefront(m, path).is_ok())
            .unwrap_or("OPTIONS"),
        other => other,
    };
    pattern_in(method, path, match_storefront, Storefront::pattern)
}

#[cfg(feature = "backoffice")]
impl Backoffice<'_> {
    pub fn pattern(&self) -> &'static str {
        use Backoffice::*;
        match self {
            ListDestinations => "/admin/v1/destinations",
            PutDestination { .. } | GetDestination { .. } | DeleteDestination { .. } => {
                "/admin/v1/destinations/{id}"
            }
            RotateSecret { .. } => "/admin/v1/destinations/{id}/rotate-secret",
            ReplayDead { .. } => "/admin/v1/destinations/{id}/replay-dead",
            ListDeliveries => "/admin/v1/deliveries",
            GetDelivery { .. } => "/admin/v1/deliveries/{id}",
            ReplayDelivery { .. } => "/admin/v1/deliveries/{id}/replay",
            Events => "/admin/v1/events",
            ListOrders => "/admin/v1/orders",
            ImportOrders => "/admin/v1/orders/import",
            ListDrafts | CreateDraft => "/admin/v1/draft-orders",
            GetDraft { .. } | UpdateDraft { .. } | DiscardDraft { .. } => {
                "/admin/v1/draft-orders/{id}"
            }
            CompleteDraft { .. } => "/admin/v1/draft-orders/{id}/complete",
            GetOrder { .. } => "/admin/v1/orders/{id}",
            MarkPaid { .. } => "/admin/v1/orders/{id}/mark-paid",
            CancelOrder { .. } => "/admin/v1/orders/{id}/cancel",
            FulfillOrder { .. } => "/admin/v1/orders/{id}/fulfillments",
            RefundOrder { .. } => "/admin/v1/orders/{id}/refunds",
            RetryRefund { .. } => "/admin/v1/orders/{id}/refunds/{refund_id}/retry",
            EditOrder { .. } => "/admin/v1/orders/{id}/edits",
            MoveAllocations { .. } => "/admin/v1/orders/{id}/allocations",
            OrderTimeline { .. } => "/admin/v1/orders/{id}/timeline",
            ListReturns | OpenReturn => "/admin/v1/returns",
            GetReturn { .. } => "/admin/v1/returns/{id}",
            ApproveReturn { .. } => "/admin/v1/returns/{id}/approve",
            RejectReturn { .. } => "/admin/v1/returns/{id}/reject",
            CancelReturn { .. } => "/admin/v1/returns/{id}/cancel",
            ReceiveReturn { .. } => "/admin/v1/returns/{id}/receive",
            ExchangeReturn { .. } => "/admin/v1/returns/{id}/exchange",
            ListLocations => "/admin/v1/locations",
            PutLocation { .. } => "/admin/v1/locations/{id}",
            ListMarkets => "/admin/v1/markets",
            PutMarket { .. } | GetMarket { .. } => "/admin/v1/markets/{code}",
            ListProducts => "/admin/v1/products",
            ImportProducts => "/admin/v1/products/import",
            PutProduct { .. } | GetProduct { .. } => "/admin/v1/products/{id}",
            ListInventory => "/admin/v1/inventory",
            SyncInventory => "/admin/v1/inventory/sync",
            ListSyncs => "/admin/v1/inventory/syncs",
            GetInventory { .. } | PutInventory { .. } => "/admin/v1/inventory/{sku}",
            AdjustInventory { .. } | ListAdjustments { .. } => {
                "/admin/v1/inventory/{sku}/adjustments"
            }
            PutInventoryAt { .. } => "/admin/v1/inventory/{sku}/locations/{location}",
            PutInventoryMode { .. } => "/admin/v1/inventory/{sku}/mode",
            ListChannels => "/admin/v1/channels",
            PutChannel { .. } | GetChannel { .. } => "/admin/v1/channels/{id}",
            RotateChannelKey { .. } => "/admin/v1/channels/{id}/rotate-key",
            ListShippingMethods => "/admin/v1/shipping-methods",
            PutShippingMethod { .. } | GetShippingMethod { .. } => {
                "/admin/v1/shipping-methods/{id}"
            }
            ListDiscounts => "/admin/v1/discounts",
            PutDiscount { .. } | GetDiscount { .. } => "/admin/v1/discounts/{id}",
            Stats => "/admin/v1/stats",
        }
    }
}

/// The pattern of a back-office request.
#[cfg(feature = "backoffice")]
pub fn backoffice_pattern(method: &str, path: &str) -> &'static str {
    pattern_in(method, path, match_backoffice, Backoffice::pattern)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `(method, path template)` of every operation in `schema/openapi.yaml`.
    fn documented_operations() -> Vec<(String, String)> {
        let spec = include_str!("../../../schema/openapi.yaml");
        let paths = spec.split("\npaths:\n").nth(1).expect("a paths section");
        let mut ops = Vec::new();
        let mut template = None;
        for line in paths
            .lines()
            .take_while(|l| l.is_empty() || l.starts_with(' '))
        {
            if let Some(t) = line.strip_prefix("  /").and_then(|t| t.strip_suffix(':')) {
                template = Some(format!("/{t}"));
            } else if let (Some(t), Some(method)) = (&template, line.strip_prefix("    ")) {
                let method = method.trim_end_matches(':');
                if ["get", "put", "post", "patch", "delete"].contains(&method) {
                    ops.push((method.to_ascii_uppercase(), t.clone()));
                }
            }
        }
        ops
    }

    /// The template with each `{parameter}` filled in.
    fn concrete(template: &str) -> String {
        template
            .split('/')
            .map(|s| if s.starts_with('{') { "x_1" } else { s })
            .collect::<Vec<_>>()
            .join("/")
    }

    #[cfg(all(feature = "storefront", feature = "backoffice"))]
    #[test]
    fn every_documented_operation_is_logged_under_its_openapi_path() {
        let ops = documented_operations();
        assert!(ops.len() > 70, "{} operations read", ops.len());
        for (method, template) in ops {
            let path = concrete(&template);
            let (storefront, backoffice) = (
                storefront_pattern(&method, &path),
                backoffice_pattern(&method, &path),
            );
            if template.starts_with("/admin/") {
                assert_eq!(backoffice, template, "{method} {path}");
                assert_eq!(storefront, UNMATCHED, "{method} {path} on the storefront");
            } else if template.starts_with("/v1/") {
                assert_eq!(storefront, template, "{method} {path}");
                assert_eq!(backoffice, UNMATCHED, "{method} {path} on the back office");
            } else {
                assert_eq!((storefront, backoffice), (&*template, &*template));
            }
        }
    }

    #[cfg(all(feature = "storefront", feature = "backoffice"))]
    #[test]
    fn a_refused_method_or_a_preflight_is_logged_under_the_route_it_reached() {
        type Of = fn(&str, &str) -> &'static str;
        let (sf, bo): (Of, Of) = (storefront_pattern, backoffice_pattern);
        for (of, method, path, pattern) in [
            (sf, "DELETE", "/v1/products", "/v1/products"),
            (
                sf,
                "PUT",
                "/v1/carts/c_1/lines/l_1",
                "/v1/carts/{id}/lines/{line_id}",
            ),
            (sf, "OPTIONS", "/v1/carts/c_1/lines", "/v1/carts/{id}/lines"),
            (
                sf,
                "OPTIONS",
                "/v1/carts/c_1/checkout",
                "/v1/carts/{id}/checkout",
            ),
            (sf, "QUERY", "/v1/orders/ord_1", "/v1/orders/{id}"),
            (sf, "POST", "/health", "/health"),
            (sf, "GET", "/__test/panic", "/__test/panic"),
            (sf, "OPTIONS", "/v1/nowhere", UNMATCHED),
            (sf, "GET", "/v1/carts/c_1/lines/l_1/more", UNMATCHED),
            (sf, "GET", "/v1//products", UNMATCHED),
            (sf, "GET", "/admin/v1/orders", UNMATCHED),
            (sf, "GET", "/", UNMATCHED),
            (
                bo,
                "DELETE",
                "/admin/v1/markets/FR",
                "/admin/v1/markets/{code}",
            ),
            (bo, "PATCH", "/admin/v1/orders", "/admin/v1/orders"),
            (
                bo,
                "GET",
                "/admin/v1/inventory/sync",
                "/admin/v1/inventory/sync",
            ),
            (bo, "DELETE", "/admin/v1/returns", "/admin/v1/returns"),
            (
                bo,
                "GET",
                "/admin/v1/orders/o/refunds/r/retry",
                "/admin/v1/orders/{id}/refunds/{refund_id}/retry",
            ),
            (
                bo,
                "QUERY",
                "/admin/v1/destinations/erp",
                "/admin/v1/destinations/{id}",
            ),
            (bo, "POST", "/openapi.json", "/openapi.json"),
            (bo, "GET", "/admin/v1/nowhere", UNMATCHED),
            (bo, "GET", "/admin/v1/orders/ord_1/nothing", UNMATCHED),
            (bo, "GET", "/v1/products", UNMATCHED),
        ] {
            assert_eq!(of(method, path), pattern, "{method} {path}");
        }
    }
}
