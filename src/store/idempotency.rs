//! Idempotency keys in D1 (`app::idempotency` decides): a claim is an upsert that takes the key
//! only when no live record holds it, followed by a read of the record, in one batch.

use crate::app::idempotency::{Claim, IdempotencyStore, KeyRecord};
use crate::app::ports::{KeptAnswer, StoreError};
use crate::domain::cart::CartData;
use crate::store::d1::{decode, int, text, Db};
use crate::store::D1Store;
use wasm_bindgen::JsValue;
use worker::D1PreparedStatement;

fn key(c: &Claim) -> Vec<JsValue> {
    vec![
        text(&c.channel),
        text(&c.key),
        text(&c.method),
        text(&c.path),
    ]
}

impl IdempotencyStore for D1Store {
    async fn claim(
        &self,
        c: &Claim,
        cart: Option<&str>,
    ) -> Result<(Option<KeyRecord>, Option<CartData>), StoreError> {
        let db = &self.db;
        let mut params = key(c);
        params.extend([
            text(&c.body_hash),
            text(&c.token),
            text(&c.now),
            text(&c.lease_until),
        ]);
        let mut batch = vec![
            // Takes the key over only when its record expired (an old answer, a lapsed lease).
            db.statement(
                "INSERT INTO idempotency_keys (channel_id, key, method, path, body_hash, state, response_status, response_body, created_at, expires_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, 'in_flight', NULL, ?6, ?7, ?8) \
                 ON CONFLICT (channel_id, key, method, path) DO UPDATE SET body_hash = excluded.body_hash, state = 'in_flight', \
                    response_status = NULL, response_body = excluded.response_body, created_at = excluded.created_at, \
                    expires_at = excluded.expires_at \
                 WHERE idempotency_keys.expires_at <= excluded.created_at",
                &params,
            )?,
            db.statement(
                "SELECT body_hash, state, response_status, response_body FROM idempotency_keys \
                 WHERE channel_id = ?1 AND key = ?2 AND method = ?3 AND path = ?4",
                &key(c),
            )?,
        ];
        if let Some(cart_id) = cart {
            batch.extend(cart_reads(db, cart_id)?);
            // Where the cart's stock is, for the checkout's allocation.
            batch.push(crate::store::levels::picture(
                db,
                "SELECT sku FROM cart_lines WHERE cart_id = ?1",
                text(cart_id),
            )?);
            // Staff completing a draft have no channel at hand: its market, if its channel
            // still sells it. (A storefront knows its channel's markets: not read there.)
            #[cfg(feature = "backoffice")]
            batch.push(db.statement(
                "SELECT m.* FROM carts c JOIN markets m ON m.code = c.market \
                 JOIN channel_markets cm ON cm.channel_id = c.channel_id AND cm.market_code = c.market \
                 WHERE c.id = ?1 AND c.kind = 'draft'",
                &[text(cart_id)],
            )?);
        }
        let mut results = db.batch(batch).await?.into_iter().skip(1);
        let record = results
            .next()
            .map(decode::<KeyRecord>)
            .transpose()?
            .and_then(|rows| rows.into_iter().next());
        let cart = match cart {
            Some(_) => {
                let mut rest: Vec<_> = results.collect();
                #[cfg(feature = "backoffice")]
                let market = match rest.pop() {
                    Some(r) => decode::<crate::store::rows::MarketRow>(r)?
                        .into_iter()
                        .next()
                        .map(crate::domain::market::Market::try_from)
                        .transpose()?,
                    None => None,
                };
                #[cfg(not(feature = "backoffice"))]
                let market = None;
                let picture = match rest.pop() {
                    Some(r) => crate::store::levels::decode_picture(r)?,
                    None => Default::default(),
                };
                decode_cart(rest)?.map(|mut data| {
                    data.picture = picture;
                    data.market = market;
                    data
                })
            }
            None => None,
        };
        Ok((record, cart))
    }

    async fn finish(
        &self,
        c: &Claim,
        status: u16,
        body: &str,
        keep_until: &str,
    ) -> Result<(), StoreError> {
        self.end(finish(&self.db, c, status, body, keep_until)?)
            .await
    }

    async fn release(&self, c: &Claim) -> Result<(), StoreError> {
        let statement = self.db.statement(
            "DELETE FROM idempotency_keys WHERE channel_id = ?1 AND key = ?2 AND method = ?3 AND path = ?4 \
             AND state = 'in_flight' AND response_body = ?5",
            &[key(c), vec![text(&c.token)]].concat(),
        )?;
        self.end(statement).await
    }
}

impl D1Store {
    async fn end(&self, statement: D1PreparedStatement) -> Result<(), StoreError> {
        self.db.batch(vec![statement]).await?;
        Ok(())
    }
}

/// Stores the response of the claim holding `c.token`, replayed until `keep_until`.
fn finish(
    db: &Db,
    c: &Claim,
    status: u16,
    body: &str,
    keep_until: &str,
) -> Result<D1PreparedStatement, StoreError> {
    finish_as(db, c, status, body, keep_until, "?7", None)
}

/// [`finish`] in a placement's batch: `body`'s `order.number` becomes the number the batch
/// gave order `order_id`.
pub(super) fn finish_placed(
    db: &Db,
    answer: &KeptAnswer<'_>,
    order_id: &str,
) -> Result<D1PreparedStatement, StoreError> {
    finish_as(
        db,
        answer.claim,
        answer.status,
        &answer.body,
        &answer.keep_until,
        "json_set(?7, '$.order.number', (SELECT number FROM orders WHERE id = ?9))",
        Some(order_id),
    )
}

/// The update that stores an answer: `body_sql` is the stored body's SQL (from `?7`, and `?9`
/// when `order_id` is given).
fn finish_as(
    db: &Db,
    c: &Claim,
    status: u16,
    body: &str,
    keep_until: &str,
    body_sql: &str,
    order_id: Option<&str>,
) -> Result<D1PreparedStatement, StoreError> {
    let mut params = key(c);
    params.extend([
        text(&c.token),
        int(i64::from(status)),
        text(body),
        text(keep_until),
    ]);
    params.extend(order_id.map(text));
    db.statement(
        &format!(
            "UPDATE idempotency_keys SET state = 'done', response_status = ?6, response_body = {body_sql}, expires_at = ?8 \
             WHERE channel_id = ?1 AND key = ?2 AND method = ?3 AND path = ?4 AND state = 'in_flight' AND response_body = ?5"
        ),
        &params,
    )
}

use crate::store::carts::{decode_reads as decode_cart, reads as cart_reads};
