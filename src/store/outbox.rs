//! Handing outbox events to the queue. The outbox row, written in the same batch as the change
//! that caused it, is the durable copy; the queue message only names it. Rows are marked sent
//! after the queue accepted them; the cron sweeper re-sends rows left unsent (a crash between
//! commit and send, a queue outage), so an event can be sent twice but never lost — the
//! consumer is idempotent per (event, destination).

use crate::store::d1::{json_text, text, Db, Meter};
use serde::{Deserialize, Serialize};
use worker::Env;

/// What travels on the queue: an event to fan out, or one delivery to attempt.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct QueueMessage {
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivery_id: Option<String>,
}

#[derive(Deserialize)]
struct IdRow {
    id: String,
}

/// Sends unsent events (oldest first, at most 100) and marks them sent. With `older_than`,
/// only rows created before that time (the sweeper's grace period). Returns how many.
pub async fn publish(env: &Env, older_than: Option<&str>) -> Result<usize, String> {
    let db = Db::new(env.d1("DB").map_err(|e| e.to_string())?, Meter::default());
    let rows: Vec<IdRow> = db
        .all(
            db.statement(
                "SELECT id FROM outbox WHERE sent_at IS NULL AND created_at <= ?1 ORDER BY created_at LIMIT 100",
                &[text(older_than.unwrap_or("9999"))],
            )
            .map_err(|e| format!("{e:?}"))?,
        )
        .await
        .map_err(|e| format!("{e:?}"))?;
    if rows.is_empty() {
        return Ok(0);
    }
    let queue = env.queue("ORDER_EVENTS").map_err(|e| e.to_string())?;
    let messages: Vec<QueueMessage> = rows
        .iter()
        .map(|r| QueueMessage {
            kind: "event".into(),
            event_id: Some(r.id.clone()),
            delivery_id: None,
        })
        .collect();
    queue
        .send_batch(messages)
        .await
        .map_err(|e| e.to_string())?;
    let ids = serde_json::json!(rows.iter().map(|r| &r.id).collect::<Vec<_>>());
    let now = String::from(js_sys::Date::new_0().to_iso_string());
    db.batch(vec![db
        .statement(
            "UPDATE outbox SET sent_at = ?2 WHERE id IN (SELECT value FROM json_each(?1)) AND sent_at IS NULL",
            &[json_text(&ids), text(&now)],
        )
        .map_err(|e| format!("{e:?}"))?])
        .await
        .map_err(|e| format!("{e:?}"))?;
    Ok(rows.len())
}
