//! The storefront's route table.

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
    RequestReturn {
        id: &'a str,
    },
    MyOrders,
    /// Needs no publishable key: Stripe signs it instead.
    StripeWebhook,
}

impl Storefront<'_> {
    /// Whether the route answers a cart (with its `ETag`).
    pub fn answers_cart(&self) -> bool {
        use Storefront::*;
        matches!(
            self,
            CreateCart
                | GetCart { .. }
                | PatchCart { .. }
                | AddLine { .. }
                | UpdateLine { .. }
                | RemoveLine { .. }
                | AddCode { .. }
                | RemoveCode { .. }
                | AttachCustomer { .. }
        )
    }
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
            (_, ["v1", "carts", cart, "shipping-methods"]) => (&["GET"], ShippingMethods { cart }),
            (_, ["v1", "carts", cart, "customer"]) => (&["POST"], AttachCustomer { cart }),
            (_, ["v1", "carts", cart, "checkout"]) => (&["POST"], Checkout { cart }),
            (_, ["v1", "orders", id]) => (&["GET"], GetOrder { id }),
            (_, ["v1", "orders", id, "returns"]) => (&["POST"], RequestReturn { id }),
            (_, ["v1", "customers", "me", "orders"]) => (&["GET"], MyOrders),
            (_, ["v1", "payments", "stripe", "webhook"]) => (&["POST"], StripeWebhook),
            _ => return Err(not_found()),
        };
    only(method, allowed).map(|()| route)
}
