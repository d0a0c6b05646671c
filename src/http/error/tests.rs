use super::*;

#[test]
fn the_envelope_has_code_and_message_and_details_only_when_given() {
    assert_eq!(
        ApiError::not_found("no such product").body(),
        json!({"error": {"code": "not_found", "message": "no such product"}})
    );
    assert_eq!(
        ApiError::unknown_field("unit_price").body()["error"]["details"],
        json!({"field": "unit_price"})
    );
}

#[test]
fn method_not_allowed_lists_the_allowed_methods_in_allow() {
    let e = ApiError::method_not_allowed(&["GET", "HEAD"]);
    assert_eq!(e.status, 405);
    assert_eq!(e.headers, vec![("Allow", "GET, HEAD".to_string())]);
}

#[test]
fn a_storage_failure_is_503_or_500_and_keeps_its_cause_out_of_the_body() {
    use crate::app::ports::StoreError;
    let e = ApiError::from(StoreError::Unavailable("D1 batch: network lost".into()));
    assert_eq!((e.status, e.code), (503, "unavailable"));
    assert!(e
        .cause
        .as_deref()
        .is_some_and(|c| c.contains("network lost")));
    assert!(!e.body().to_string().contains("network"));
    assert_eq!(
        ApiError::from(StoreError::Corrupt("row".into())).status,
        500
    );
    assert_eq!(
        ApiError::from(StoreError::Refused("guard".into())).status,
        503
    );
}

#[test]
fn an_internal_error_says_nothing_about_its_cause() {
    let body = ApiError::internal().body().to_string();
    assert!(!body.contains("D1") && !body.contains("panic") && !body.contains("sql"));
}
