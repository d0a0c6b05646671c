//! `PUT /admin/v1/locations/{id}` and `GET /admin/v1/locations`: where stock is held.

use super::{check_id, invalid};
use crate::domain::pagination::paginate;
use crate::domain::stock::{is_location_id, location_from};
use crate::http::error::ApiError;
use crate::http::server::{now_rfc3339, page_request, Ctx, Reply};
use crate::store::locations::{self, Stored};
use serde_json::{json, Map, Value};

fn view(s: &Stored) -> Value {
    let mut v = serde_json::to_value(&s.def).unwrap_or(Value::Null);
    v["created_at"] = json!(s.created_at);
    v["updated_at"] = json!(s.updated_at);
    v
}

/// 201 when it creates, 200 when it updates.
pub async fn put(ctx: &Ctx, id: &str, body: &Map<String, Value>) -> Result<Reply, ApiError> {
    check_id(id, is_location_id(id), "location")?;
    let def = location_from(id, body).map_err(invalid)?;
    let (stored, existed) = locations::put(&ctx.db()?, &def, &now_rfc3339()).await?;
    Reply::json(if existed { 200 } else { 201 }, &view(&stored))
}

/// By id, with the cursor convention.
pub async fn list(ctx: &Ctx, params: &[(String, String)]) -> Result<Reply, ApiError> {
    let page = page_request(params)?;
    let all = locations::all(&ctx.db()?).await?;
    let page = paginate(&all, |s| s.def.id.as_str(), &page);
    Reply::json(
        200,
        &json!({
            "data": page.data.iter().map(|s| view(s)).collect::<Vec<_>>(),
            "next_cursor": page.next_cursor,
        }),
    )
}
