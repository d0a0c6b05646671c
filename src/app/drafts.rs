//! Draft orders: staff build an order for a customer (phone, B2B, replacement), priced like a
//! cart, then complete it through the storefront's own checkout (`app::checkout::Till`, with
//! `PlacedBy::Staff`). A write reads what it needs in one round trip (the draft, its channel's
//! market, the shipping method), decides (`domain::draft`), then writes in one guarded batch
//! that answers the draft as read after: two D1 round trips. A read is one.

use crate::app::ports::{
    iso_at, Catalog, Clock, DraftContext, DraftQuery, DraftStore, DraftWrite, Ids, StoreError,
};
use crate::app::{refuse, Failure};
use crate::domain::cart::{self, CartData, CartKind, CartStatus, IfMatch};
use crate::domain::catalog::CatalogSnapshot;
use crate::domain::draft::{self, DraftFacts, DraftInput, DraftRefusal, DraftView};
use crate::domain::fields::FieldError;
use crate::domain::market::Market;

/// How often a write decides again after a concurrent change before giving up (503).
const MAX_RETRIES: usize = 4;

pub type DraftResult<T> = Result<T, Failure<DraftRefusal>>;

/// What the draft use cases work with.
pub struct Desk<'a, S, K, P> {
    pub store: &'a S,
    pub catalog: &'a K,
    /// Clock and ids.
    pub platform: &'a P,
}

impl<S: DraftStore, K: Catalog, P: Clock + Ids> Desk<'_, S, K, P> {
    /// `POST /admin/v1/draft-orders`.
    pub async fn create(&self, input: &DraftInput) -> DraftResult<DraftView> {
        let context = self
            .store
            .draft_context(&DraftQuery {
                draft: None,
                channel: input.channel.as_deref(),
                market: input.market.as_deref(),
                shipping_method: input.shipping_method.as_deref(),
            })
            .await?;
        let market = sold_market(&context, input.market.as_deref().unwrap_or(""))?;
        let snapshot = self.catalog.snapshot(market).await?;
        let now = self.platform.now();
        let id = self.platform.id("draft");
        let facts = DraftFacts {
            market,
            shipping_method: context.shipping_method.as_ref(),
            snapshot: &snapshot,
        };
        let (record, lines) = draft::decide(input, None, &facts, (&id, &now), || {
            self.platform.id("line")
        })
        .map_err(Failure::Refused)?;
        let write = DraftWrite {
            record: &record,
            lines: lines.as_deref(),
            expect: None,
            now: &now,
        };
        let saved = match self.store.save_draft(&write).await {
            Ok(saved) => saved,
            // A SKU was unpublished between the catalog read and the write.
            Err(StoreError::Refused(cause)) => {
                return Err(Failure::Store(StoreError::Refused(format!(
                    "draft {id} refused ({cause}): the catalog changed meanwhile"
                ))))
            }
            Err(e) => return Err(e.into()),
        };
        let data = saved.ok_or_else(|| Failure::Bug(format!("draft {id} not read back")))?;
        self.show(&data, market, &snapshot, None)
    }

    /// `PATCH /admin/v1/draft-orders/{id}`: the fields sent change, the rest stay. Without
    /// `If-Match`, a concurrent change makes it decide again; with it, 412.
    /// The body as parsed: refused only once the draft and `If-Match` are checked.
    pub async fn update(
        &self,
        id: &str,
        if_match: Option<IfMatch>,
        input: Result<DraftInput, FieldError>,
    ) -> DraftResult<DraftView> {
        let method = input.as_ref().ok().and_then(|i| i.shipping_method.clone());
        for _ in 0..MAX_RETRIES {
            let context = self.context(id, method.as_deref()).await?;
            let data = open_draft(&context, if_match)?;
            let input = input
                .as_ref()
                .map_err(|e| Failure::Refused(e.clone().into()))?;
            let Some((market, true)) = &context.market else {
                return refuse(DraftRefusal::MarketGone);
            };
            let snapshot = self.catalog.snapshot(market).await?;
            let now = self.platform.now();
            let facts = DraftFacts {
                market,
                shipping_method: context.shipping_method.as_ref(),
                snapshot: &snapshot,
            };
            let (record, lines) =
                draft::decide(input, Some(&data.cart), &facts, (id, &now), || {
                    self.platform.id("line")
                })
                .map_err(Failure::Refused)?;
            let write = DraftWrite {
                record: &record,
                lines: lines.as_deref(),
                expect: Some(data.cart.version),
                now: &now,
            };
            match self.store.save_draft(&write).await {
                Ok(Some(after)) => return self.show(&after, market, &snapshot, None),
                Ok(None) => return refuse(DraftRefusal::NotFound),
                // Changed or completed meanwhile: read again (and answer why, with If-Match).
                Err(StoreError::Refused(_)) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(Failure::Store(StoreError::Refused(format!(
            "draft {id} kept changing while it was updated"
        ))))
    }

    /// `DELETE /admin/v1/draft-orders/{id}`: an open draft is discarded (one round trip); a
    /// completed one stays with its order.
    pub async fn discard(&self, id: &str) -> DraftResult<()> {
        match self.store.discard_draft(id).await {
            Ok(()) => Ok(()),
            // Why: no such draft, or it was completed.
            Err(StoreError::Refused(_)) => {
                open_draft(&self.context(id, None).await?, None)?;
                Err(Failure::Store(StoreError::Refused(format!(
                    "draft {id} open yet not discarded"
                ))))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// `GET /admin/v1/draft-orders/{id}`: one round trip (and the catalog).
    pub async fn get(&self, id: &str) -> DraftResult<DraftView> {
        let context = self.context(id, None).await?;
        let data = draft_of(&context)?;
        // A completed draft still shows, even once its channel stopped selling the market.
        let Some((market, _)) = &context.market else {
            return Err(Failure::Bug(format!("draft {id}: its market is gone")));
        };
        let snapshot = self.catalog.snapshot(market).await?;
        self.show(data, market, &snapshot, context.order_id.clone())
    }

    /// The draft `id` and what it is checked against (with `shipping_method` when a write
    /// names another): one round trip.
    async fn context(&self, id: &str, shipping_method: Option<&str>) -> DraftResult<DraftContext> {
        let query = DraftQuery {
            draft: Some(id),
            shipping_method,
            ..DraftQuery::default()
        };
        Ok(self.store.draft_context(&query).await?)
    }

    fn show(
        &self,
        data: &CartData,
        market: &Market,
        snapshot: &CatalogSnapshot,
        order_id: Option<String>,
    ) -> DraftResult<DraftView> {
        let now_ms = self.platform.now_ms();
        let rendered = cart::render(
            data,
            market,
            snapshot,
            (now_ms / 1000.0) as i64,
            &iso_at(now_ms),
        )
        .map_err(|e| Failure::Bug(format!("pricing draft {} failed: {e:?}", data.cart.id)))?;
        Ok(draft::view(data, rendered.view, order_id))
    }
}

/// The market of a draft, as long as its channel sells it.
fn sold_market<'c>(context: &'c DraftContext, code: &str) -> DraftResult<&'c Market> {
    match &context.market {
        Some((market, true)) => Ok(market),
        _ if !context.channel_exists => {
            refuse(FieldError::new("channel", "no such channel").into())
        }
        _ => refuse(
            FieldError::new(
                "market",
                format!("market `{code}` is not sold on this channel"),
            )
            .into(),
        ),
    }
}

/// The draft read, if it is one, still open, and at the version `If-Match` names.
fn open_draft(context: &DraftContext, if_match: Option<IfMatch>) -> DraftResult<&CartData> {
    let data = draft_of(context)?;
    if data.cart.status != CartStatus::Active {
        return refuse(DraftRefusal::Completed);
    }
    match if_match {
        Some(IfMatch::Version(v)) if v != data.cart.version => {
            refuse(DraftRefusal::VersionMismatch {
                current: data.cart.version,
            })
        }
        _ => Ok(data),
    }
}

/// The draft read, if the id names a draft (a shopper's cart is no draft).
fn draft_of(context: &DraftContext) -> DraftResult<&CartData> {
    match context.draft.as_ref() {
        Some(d) if d.cart.kind == CartKind::Draft => Ok(d),
        _ => refuse(DraftRefusal::NotFound),
    }
}
