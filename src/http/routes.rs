//! Route tables: which path and method reach which handler, and the 404 / 405 answers for the
//! rest. Pure, so every route is tested natively; each Worker compiles only its own table.

use crate::http::error::ApiError;

/// What every Worker serves outside its API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Common {
    Health,
    OpenApi,
    /// `GET /__test/panic`: panics on purpose, served only when the `COMPTOIR_TEST_HOOKS`
    /// variable is `1` (the e2e harness), to prove a panic does not break later requests.
    TestPanic,
}

/// Splits a path into segments; `None` for an empty segment (`//`, trailing `/`).
fn segments(path: &str) -> Option<Vec<&str>> {
    let rest = path.strip_prefix('/')?;
    if rest.is_empty() {
        return Some(Vec::new());
    }
    let segs: Vec<&str> = rest.split('/').collect();
    (!segs.iter().any(|s| s.is_empty())).then_some(segs)
}

/// Answers 405 with `Allow` when the path exists under other methods.
fn only(method: &str, allowed: &'static [&'static str]) -> Result<(), ApiError> {
    if allowed.contains(&method) {
        Ok(())
    } else {
        Err(ApiError::method_not_allowed(allowed))
    }
}

fn not_found() -> ApiError {
    ApiError::not_found("no route matches this path")
}

pub fn match_common(method: &str, path: &str) -> Option<Result<Common, ApiError>> {
    let route = match path {
        "/health" => Common::Health,
        "/openapi.json" => Common::OpenApi,
        "/__test/panic" => Common::TestPanic,
        _ => return None,
    };
    Some(only(method, &["GET"]).map(|()| route))
}

#[cfg(feature = "storefront")]
pub use storefront::*;

#[cfg(feature = "storefront")]
mod storefront {
    use super::*;

    /// Routes of the storefront API (`/v1`, `X-Publishable-Key` required).
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub enum Storefront<'a> {
        /// `OPTIONS` on any `/v1` path: a CORS preflight.
        Preflight,
        Markets,
        Products,
        Product {
            handle: &'a str,
        },
        CreateCart,
        GetCart {
            cart: &'a str,
        },
        PatchCart {
            cart: &'a str,
        },
        AddLine {
            cart: &'a str,
        },
        UpdateLine {
            cart: &'a str,
            line: &'a str,
        },
        RemoveLine {
            cart: &'a str,
            line: &'a str,
        },
        AddCode {
            cart: &'a str,
        },
        RemoveCode {
            cart: &'a str,
            code: &'a str,
        },
        ShippingMethods {
            cart: &'a str,
        },
        AttachCustomer {
            cart: &'a str,
        },
        Checkout {
            cart: &'a str,
        },
        GetOrder {
            id: &'a str,
        },
        MyOrders,
        /// Needs no publishable key: Stripe signs it instead.
        StripeWebhook,
    }

    pub fn match_storefront<'a>(method: &str, path: &'a str) -> Result<Storefront<'a>, ApiError> {
        let segs = segments(path).ok_or_else(not_found)?;
        if segs.first() == Some(&"v1") && method == "OPTIONS" {
            return Ok(Storefront::Preflight);
        }
        use Storefront::*;
        let (allowed, route): (&'static [&'static str], Storefront<'a>) =
            match (method, segs.as_slice()) {
                (_, ["v1", "markets"]) => (&["GET"], Markets),
                (_, ["v1", "products"]) => (&["GET"], Products),
                (_, ["v1", "products", handle]) => (&["GET"], Product { handle }),
                (_, ["v1", "carts"]) => (&["POST"], CreateCart),
                ("PATCH", ["v1", "carts", cart]) => (&["GET", "PATCH"], PatchCart { cart }),
                (_, ["v1", "carts", cart]) => (&["GET", "PATCH"], GetCart { cart }),
                (_, ["v1", "carts", cart, "lines"]) => (&["POST"], AddLine { cart }),
                ("DELETE", ["v1", "carts", cart, "lines", line]) => {
                    (&["PATCH", "DELETE"], RemoveLine { cart, line })
                }
                (_, ["v1", "carts", cart, "lines", line]) => {
                    (&["PATCH", "DELETE"], UpdateLine { cart, line })
                }
                (_, ["v1", "carts", cart, "discount-codes"]) => (&["POST"], AddCode { cart }),
                (_, ["v1", "carts", cart, "discount-codes", code]) => {
                    (&["DELETE"], RemoveCode { cart, code })
                }
                (_, ["v1", "carts", cart, "shipping-methods"]) => {
                    (&["GET"], ShippingMethods { cart })
                }
                (_, ["v1", "carts", cart, "customer"]) => (&["POST"], AttachCustomer { cart }),
                (_, ["v1", "carts", cart, "checkout"]) => (&["POST"], Checkout { cart }),
                (_, ["v1", "orders", id]) => (&["GET"], GetOrder { id }),
                (_, ["v1", "customers", "me", "orders"]) => (&["GET"], MyOrders),
                (_, ["v1", "payments", "stripe", "webhook"]) => (&["POST"], StripeWebhook),
                _ => return Err(not_found()),
            };
        only(method, allowed).map(|()| route)
    }
}

#[cfg(feature = "backoffice")]
pub use backoffice::*;

#[cfg(feature = "backoffice")]
mod backoffice {
    use super::*;

    use crate::auth::admin::Scope;

    /// Routes of the admin API (`/admin/v1`, admin JWT required).
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub enum Backoffice<'a> {
        PutDestination { id: &'a str },
        GetDestination { id: &'a str },
        DeleteDestination { id: &'a str },
        ListDestinations,
        RotateSecret { id: &'a str },
        ListDeliveries,
        GetDelivery { id: &'a str },
        ReplayDelivery { id: &'a str },
        Events,
        ListOrders,
        GetOrder { id: &'a str },
        MarkPaid { id: &'a str },
        CancelOrder { id: &'a str },
        FulfillOrder { id: &'a str },
        RefundOrder { id: &'a str },
        PutMarket { code: &'a str },
        GetMarket { code: &'a str },
        PutProduct { id: &'a str },
        GetProduct { id: &'a str },
        ImportProducts,
        GetInventory { sku: &'a str },
        PutInventory { sku: &'a str },
        AdjustInventory { sku: &'a str },
        ListAdjustments { sku: &'a str },
        PutChannel { id: &'a str },
        GetChannel { id: &'a str },
        RotateChannelKey { id: &'a str },
        PutShippingMethod { id: &'a str },
        GetShippingMethod { id: &'a str },
        PutDiscount { id: &'a str },
        GetDiscount { id: &'a str },
    }

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
                | GetProduct { .. }
                | GetChannel { .. }
                | GetShippingMethod { .. }
                | GetDiscount { .. } => Scope::CatalogRead,
                GetInventory { .. } | ListAdjustments { .. } => Scope::InventoryRead,
                ListOrders | GetOrder { .. } => Scope::OrdersRead,
                PutDestination { .. }
                | DeleteDestination { .. }
                | RotateSecret { .. }
                | ReplayDelivery { .. } => Scope::DestinationsWrite,
                GetDestination { .. } | ListDestinations | ListDeliveries | GetDelivery { .. } => {
                    Scope::DestinationsRead
                }
                Events => Scope::EventsRead,
                MarkPaid { .. } | CancelOrder { .. } | FulfillOrder { .. } | RefundOrder { .. } => {
                    Scope::OrdersWrite
                }
                PutInventory { .. } | AdjustInventory { .. } => Scope::InventoryWrite,
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
                    | Backoffice::ReplayDelivery { .. }
            )
        }
    }

    pub fn match_backoffice<'a>(method: &str, path: &'a str) -> Result<Backoffice<'a>, ApiError> {
        let segs = segments(path).ok_or_else(not_found)?;
        let route = match (method, segs.as_slice()) {
            ("GET", ["admin", "v1", "destinations"]) => Backoffice::ListDestinations,
            (_, ["admin", "v1", "destinations"]) => {
                return Err(ApiError::method_not_allowed(&["GET"]))
            }
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
            ("GET", ["admin", "v1", "deliveries"]) => Backoffice::ListDeliveries,
            (_, ["admin", "v1", "deliveries"]) => {
                return Err(ApiError::method_not_allowed(&["GET"]))
            }
            ("GET", ["admin", "v1", "deliveries", id]) => Backoffice::GetDelivery { id },
            (_, ["admin", "v1", "deliveries", _]) => {
                return Err(ApiError::method_not_allowed(&["GET"]))
            }
            ("POST", ["admin", "v1", "deliveries", id, "replay"]) => {
                Backoffice::ReplayDelivery { id }
            }
            (_, ["admin", "v1", "deliveries", _, "replay"]) => {
                return Err(ApiError::method_not_allowed(&["POST"]))
            }
            ("GET", ["admin", "v1", "events"]) => Backoffice::Events,
            (_, ["admin", "v1", "events"]) => return Err(ApiError::method_not_allowed(&["GET"])),
            ("GET", ["admin", "v1", "orders"]) => Backoffice::ListOrders,
            (_, ["admin", "v1", "orders"]) => return Err(ApiError::method_not_allowed(&["GET"])),
            ("GET", ["admin", "v1", "orders", id]) => Backoffice::GetOrder { id },
            (_, ["admin", "v1", "orders", _]) => {
                return Err(ApiError::method_not_allowed(&["GET"]))
            }
            ("POST", ["admin", "v1", "orders", id, "mark-paid"]) => Backoffice::MarkPaid { id },
            ("POST", ["admin", "v1", "orders", id, "cancel"]) => Backoffice::CancelOrder { id },
            ("POST", ["admin", "v1", "orders", id, "fulfillments"]) => {
                Backoffice::FulfillOrder { id }
            }
            ("POST", ["admin", "v1", "orders", id, "refunds"]) => Backoffice::RefundOrder { id },
            (
                _,
                ["admin", "v1", "orders", _, "mark-paid" | "cancel" | "fulfillments" | "refunds"],
            ) => return Err(ApiError::method_not_allowed(&["POST"])),
            ("PUT", ["admin", "v1", "markets", code]) => Backoffice::PutMarket { code },
            ("GET", ["admin", "v1", "markets", code]) => Backoffice::GetMarket { code },
            (_, ["admin", "v1", "markets", _]) => {
                return Err(ApiError::method_not_allowed(&["GET", "PUT"]))
            }
            ("POST", ["admin", "v1", "products", "import"]) => Backoffice::ImportProducts,
            (_, ["admin", "v1", "products", "import"]) => {
                return Err(ApiError::method_not_allowed(&["POST"]))
            }
            ("PUT", ["admin", "v1", "products", id]) => Backoffice::PutProduct { id },
            ("GET", ["admin", "v1", "products", id]) => Backoffice::GetProduct { id },
            (_, ["admin", "v1", "products", _]) => {
                return Err(ApiError::method_not_allowed(&["GET", "PUT"]))
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
            ("PUT", ["admin", "v1", "shipping-methods", id]) => {
                Backoffice::PutShippingMethod { id }
            }
            ("GET", ["admin", "v1", "shipping-methods", id]) => {
                Backoffice::GetShippingMethod { id }
            }
            (_, ["admin", "v1", "shipping-methods", _]) => {
                return Err(ApiError::method_not_allowed(&["GET", "PUT"]))
            }
            ("PUT", ["admin", "v1", "discounts", id]) => Backoffice::PutDiscount { id },
            ("GET", ["admin", "v1", "discounts", id]) => Backoffice::GetDiscount { id },
            (_, ["admin", "v1", "discounts", _]) => {
                return Err(ApiError::method_not_allowed(&["GET", "PUT"]))
            }
            _ => return Err(not_found()),
        };
        Ok(route)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn health_and_openapi_are_get_only_everywhere() {
        assert_eq!(match_common("GET", "/health"), Some(Ok(Common::Health)));
        assert_eq!(
            match_common("GET", "/openapi.json"),
            Some(Ok(Common::OpenApi))
        );
        let e = match_common("POST", "/health").unwrap().unwrap_err();
        assert_eq!(e.status, 405);
        assert_eq!(match_common("GET", "/healthz"), None);
    }

    #[cfg(feature = "storefront")]
    #[test]
    fn storefront_routes_match_their_paths_and_methods() {
        assert_eq!(
            match_storefront("GET", "/v1/markets"),
            Ok(Storefront::Markets)
        );
        assert_eq!(
            match_storefront("GET", "/v1/products"),
            Ok(Storefront::Products)
        );
        assert_eq!(
            match_storefront("GET", "/v1/products/linen-apron"),
            Ok(Storefront::Product {
                handle: "linen-apron"
            })
        );
        assert_eq!(
            match_storefront("OPTIONS", "/v1/carts/x"),
            Ok(Storefront::Preflight)
        );
    }

    #[cfg(feature = "backoffice")]
    #[test]
    fn admin_routes_match_their_paths_and_methods() {
        use Backoffice::*;
        let ok = [
            ("PUT", "/admin/v1/markets/FR", PutMarket { code: "FR" }),
            ("GET", "/admin/v1/markets/FR", GetMarket { code: "FR" }),
            ("POST", "/admin/v1/products/import", ImportProducts),
            ("PUT", "/admin/v1/products/p1", PutProduct { id: "p1" }),
            (
                "GET",
                "/admin/v1/inventory/A-1",
                GetInventory { sku: "A-1" },
            ),
            (
                "POST",
                "/admin/v1/inventory/A-1/adjustments",
                AdjustInventory { sku: "A-1" },
            ),
            (
                "POST",
                "/admin/v1/channels/web/rotate-key",
                RotateChannelKey { id: "web" },
            ),
        ];
        for (method, path, route) in ok {
            assert_eq!(match_backoffice(method, path), Ok(route), "{method} {path}");
        }
        for (method, path, status) in [
            ("DELETE", "/admin/v1/markets/FR", 405),
            ("PUT", "/admin/v1/products/import", 405),
            ("GET", "/admin/v1/channels/web/rotate-key", 405),
            ("PUT", "/v1/markets", 404),
            ("GET", "/admin/v1/markets", 404),
        ] {
            assert_eq!(
                match_backoffice(method, path).unwrap_err().status,
                status,
                "{method} {path}"
            );
        }
    }

    #[cfg(feature = "storefront")]
    #[test]
    fn a_known_path_with_another_method_is_405_and_unknown_paths_404() {
        let e = match_storefront("DELETE", "/v1/products").unwrap_err();
        assert_eq!((e.status, e.headers[0].1.as_str()), (405, "GET"));
        for path in [
            "/v1/products/",
            "/v1//products",
            "/v2/products",
            "/admin/v1/markets/FR",
            "/",
            "v1",
        ] {
            assert_eq!(
                match_storefront("GET", path).unwrap_err().status,
                404,
                "{path}"
            );
        }
    }
}
