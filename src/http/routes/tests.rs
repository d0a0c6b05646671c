//! Every route of both tables, natively.

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
        ("GET", "/admin/v1/markets", ListMarkets),
        ("GET", "/admin/v1/products", ListProducts),
        ("GET", "/admin/v1/shipping-methods", ListShippingMethods),
        ("POST", "/admin/v1/inventory/sync", SyncInventory),
        ("GET", "/admin/v1/inventory/syncs", ListSyncs),
        ("GET", "/admin/v1/inventory", ListInventory),
        ("GET", "/admin/v1/stats", Stats),
        (
            "PUT",
            "/admin/v1/inventory/A-1/locations/lyon",
            PutInventoryAt {
                sku: "A-1",
                location: "lyon",
            },
        ),
        (
            "PUT",
            "/admin/v1/inventory/A-1/mode",
            PutInventoryMode { sku: "A-1" },
        ),
        (
            "POST",
            "/admin/v1/orders/ord_1/allocations",
            MoveAllocations { id: "ord_1" },
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
        ("POST", "/admin/v1/markets", 405),
        ("GET", "/admin/v1/inventory/sync", 405),
        ("GET", "/admin/v1/admin/markets", 404),
    ] {
        assert_eq!(
            match_backoffice(method, path).unwrap_err().status,
            status,
            "{method} {path}"
        );
    }
}

#[cfg(feature = "backoffice")]
#[test]
fn every_read_only_admin_collection_allows_only_get() {
    for collection in [
        "destinations",
        "deliveries",
        "events",
        "orders",
        "locations",
        "markets",
        "products",
        "channels",
        "shipping-methods",
        "discounts",
        "inventory",
        "stats",
    ] {
        let path = format!("/admin/v1/{collection}");
        assert!(match_backoffice("GET", &path).is_ok(), "{path}");
        for method in ["POST", "PUT", "PATCH", "DELETE"] {
            let e = match_backoffice(method, &path).unwrap_err();
            assert_eq!(
                (e.status, e.headers[0].1.as_str()),
                (405, "GET"),
                "{method} {path}"
            );
        }
    }
    let e = match_backoffice("DELETE", "/admin/v1/returns").unwrap_err();
    assert_eq!((e.status, e.headers[0].1.as_str()), (405, "GET, POST"));
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

#[cfg(feature = "backoffice")]
#[test]
fn receiving_a_return_with_its_refund_also_needs_the_refund_scope() {
    use serde_json::json;
    let receive = match_backoffice("POST", "/admin/v1/returns/ret_1/receive").unwrap();
    assert_eq!(receive.scope(), crate::auth::admin::Scope::ReturnsWrite);
    let body = |v: serde_json::Value| v.as_object().unwrap().clone();
    assert!(refunds_too(
        &receive,
        &body(json!({"lines": [], "refund": true}))
    ));
    assert!(!refunds_too(
        &receive,
        &body(json!({"lines": [], "refund": false}))
    ));
    let approve = match_backoffice("POST", "/admin/v1/returns/ret_1/approve").unwrap();
    assert!(!refunds_too(&approve, &body(json!({"refund": true}))));
}

#[cfg(feature = "backoffice")]
#[test]
fn the_operators_stats_need_orders_read() {
    let stats = match_backoffice("GET", "/admin/v1/stats").unwrap();
    assert_eq!(stats.scope(), crate::auth::admin::Scope::OrdersRead);
}

#[cfg(feature = "backoffice")]
#[test]
fn the_order_import_takes_post_only_and_orders_write() {
    assert_eq!(
        match_backoffice("POST", "/admin/v1/orders/import").unwrap(),
        Backoffice::ImportOrders
    );
    assert_eq!(
        Backoffice::ImportOrders.scope(),
        crate::auth::admin::Scope::OrdersWrite
    );
    for method in ["GET", "OPTIONS", "PUT", "DELETE"] {
        let e = match_backoffice(method, "/admin/v1/orders/import").unwrap_err();
        assert_eq!(
            (e.status, e.headers[0].1.as_str()),
            (405, "POST"),
            "{method}"
        );
    }
}

#[cfg(feature = "backoffice")]
#[test]
fn draft_orders_are_read_with_orders_read_and_changed_with_orders_write() {
    use crate::auth::admin::Scope;
    for (method, path, route, scope) in [
        (
            "GET",
            "/admin/v1/draft-orders",
            Backoffice::ListDrafts,
            Scope::OrdersRead,
        ),
        (
            "POST",
            "/admin/v1/draft-orders",
            Backoffice::CreateDraft,
            Scope::OrdersWrite,
        ),
        (
            "GET",
            "/admin/v1/draft-orders/draft_1",
            Backoffice::GetDraft { id: "draft_1" },
            Scope::OrdersRead,
        ),
        (
            "PATCH",
            "/admin/v1/draft-orders/draft_1",
            Backoffice::UpdateDraft { id: "draft_1" },
            Scope::OrdersWrite,
        ),
        (
            "DELETE",
            "/admin/v1/draft-orders/draft_1",
            Backoffice::DiscardDraft { id: "draft_1" },
            Scope::OrdersWrite,
        ),
        (
            "POST",
            "/admin/v1/draft-orders/draft_1/complete",
            Backoffice::CompleteDraft { id: "draft_1" },
            Scope::OrdersWrite,
        ),
    ] {
        let matched = match_backoffice(method, path).unwrap();
        assert_eq!(
            (&matched, matched.scope()),
            (&route, scope),
            "{method} {path}"
        );
    }
    for (method, path, allow) in [
        ("PUT", "/admin/v1/draft-orders", "GET, POST"),
        (
            "POST",
            "/admin/v1/draft-orders/draft_1",
            "GET, PATCH, DELETE",
        ),
        ("GET", "/admin/v1/draft-orders/draft_1/complete", "POST"),
    ] {
        let e = match_backoffice(method, path).unwrap_err();
        assert_eq!(
            (e.status, e.headers[0].1.as_str()),
            (405, allow),
            "{method} {path}"
        );
    }
    // A price set by hand asks for pricing:override too; the catalog's does not.
    let body = |v: serde_json::Value| v.as_object().unwrap().clone();
    let priced = body(
        serde_json::json!({"lines": [{"sku": "A", "quantity": 1, "unit_price": {"amount": "1.00", "currency": "EUR"}}]}),
    );
    let plain =
        body(serde_json::json!({"lines": [{"sku": "A", "quantity": 1, "unit_price": null}]}));
    assert!(super::overrides_price(&Backoffice::CreateDraft, &priced));
    assert!(super::overrides_price(
        &Backoffice::UpdateDraft { id: "d" },
        &priced
    ));
    assert!(!super::overrides_price(&Backoffice::CreateDraft, &plain));
    assert!(!super::overrides_price(&Backoffice::ImportOrders, &priced));
}
