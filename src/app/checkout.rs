//! Checkout: a priced, validated cart becomes an order in one guarded batch (stock reserved,
//! never oversold). A card payment's intent is created first, bounded by the provider's
//! timeout, so a provider outage leaves nothing behind: no order, no reservation, the cart
//! still active, and a 5xx that the idempotency layer does not store (a retry runs again).
//! The HTTP adapter claims the Idempotency-Key first (reading the cart in the same round trip),
//! and the placement's batch stores the answer for replays ([`Till::place_kept`]), so a checkout
//! is two D1 round trips: claim + read, place (with the intent's id) + keep the answer.

use crate::app::hot;
use crate::app::idempotency::{Claim, KEEP_SECONDS};
use crate::app::ports::{
    iso_at, within, Catalog, Clock, HotObjects, Ids, KeptAnswer, Limit, OrderStore, Outbox,
    PaymentIntent, PaymentProvider, Placement, RateLimiter, StoreError, Timer,
};
use crate::app::{refuse, Failure, Settings};
use crate::domain::cart::{self, CartData, CartKind};
use crate::domain::channel::Channel;
use crate::domain::checkout::{self as rules, CheckoutRefusal, Terms};
use crate::domain::events::{Envelope, EventType};
use crate::domain::hot::Units;
use crate::domain::money::{describe, Currency};
use crate::domain::order::StockMove;
use crate::domain::order::{AdminAction, Order, OrderSource, PaymentMethod};
use crate::domain::stock::{Destination, Short, StockPicture};

/// How many times a checkout is placed before it gives up on stock that keeps moving. A retry
/// follows another checkout's success at the same locations, and is made only when the fresh
/// allocation differs; 12 placements stay within Workers' subrequest budget (2 round trips each).
const MAX_PLACEMENTS: u32 = 12;

pub type CheckoutResult<T> = Result<T, Failure<CheckoutRefusal>>;

/// Each hot SKU's shards as last read.
type Shards = std::collections::BTreeMap<String, Vec<crate::domain::hot::ShardState>>;

/// What checking out needs.
pub struct Till<'a, S, K, P, Pay> {
    pub store: &'a S,
    pub catalog: &'a K,
    /// Clock, ids, rate limits, log, outbox.
    pub platform: &'a P,
    pub payments: &'a Pay,
    pub channel: &'a Channel,
    pub settings: &'a Settings,
    /// Who places the order: a shopper checking out a cart, or staff completing a draft.
    pub by: PlacedBy<'a>,
}

/// Who places an order through the till.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlacedBy<'a> {
    /// A shopper checks out a cart at the storefront.
    Shopper,
    /// Staff (`actor`, for the timeline) complete a draft order.
    Staff { actor: &'a str },
}

impl PlacedBy<'_> {
    fn kind(self) -> CartKind {
        match self {
            PlacedBy::Shopper => CartKind::Cart,
            PlacedBy::Staff { .. } => CartKind::Draft,
        }
    }
}

/// How the shopper goes on to pay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PaymentStart {
    /// The merchant confirms the payment (bank transfer, cash on delivery…).
    Manual,
    /// Confirm this PaymentIntent in the browser with Stripe.js.
    Stripe { client_secret: String },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Placed {
    pub order: Order,
    pub payment: PaymentStart,
    /// Its answer is stored under the request's idempotency claim already
    /// ([`Till::place_kept`]).
    pub kept: bool,
}

/// How a till's placement keeps its request's answer: under `claim`, the 201 body `body`
/// makes of the placed order (its number is filled in by the store). Without a body (`None`),
/// the answer is not kept by the placement: the idempotency flow stores it after.
pub struct Keep<'a> {
    pub claim: &'a Claim,
    pub body: &'a dyn Fn(&Placed) -> Option<String>,
}

/// How the shopper goes on to pay, from the intent a Stripe checkout created.
fn payment_start(intent: &Option<PaymentIntent>) -> PaymentStart {
    match intent {
        None => PaymentStart::Manual,
        Some(intent) => PaymentStart::Stripe {
            client_secret: intent.client_secret.clone(),
        },
    }
}

/// Whether this client may check out now (before the key is claimed: a 429 is not stored).
pub async fn admit(limiter: &impl RateLimiter) -> Result<(), CheckoutRefusal> {
    if limiter.allows(Limit::Checkout).await {
        Ok(())
    } else {
        Err(CheckoutRefusal::RateLimited)
    }
}

impl<'a, S, K, P, Pay> Till<'a, S, K, P, Pay>
where
    S: OrderStore,
    K: Catalog,
    P: Clock + Ids + Outbox + Timer + HotObjects,
    Pay: PaymentProvider,
{
    /// Places the order for `cart` (as read with the idempotency claim).
    pub async fn place(
        &self,
        cart: Option<CartData>,
        method: PaymentMethod,
    ) -> CheckoutResult<Placed> {
        self.place_kept(cart, method, None).await
    }

    /// [`Till::place`], the placed order's answer stored under `keep`'s claim by the
    /// placement's own write ([`Placed::kept`]): one round trip fewer. A refusal is not stored
    /// here (the idempotency flow stores it).
    pub async fn place_kept(
        &self,
        cart: Option<CartData>,
        method: PaymentMethod,
        keep: Option<Keep<'_>>,
    ) -> CheckoutResult<Placed> {
        let ours =
            |d: &CartData| d.cart.channel_id == self.channel.id && d.cart.kind == self.by.kind();
        let Some(data) = cart.filter(ours) else {
            return refuse(CheckoutRefusal::NotFound);
        };
        let now_ms = self.platform.now_ms();
        let now = iso_at(now_ms);
        let status = data.cart.status_at(&now);
        if status != cart::CartStatus::Active {
            return refuse(CheckoutRefusal::NotActive { status });
        }
        let Some(market) = self.channel.market(&data.cart.market) else {
            return refuse(CheckoutRefusal::MarketGone);
        };
        let snapshot = self.catalog.snapshot(market).await?;
        let rendered = cart::render(&data, market, &snapshot, (now_ms / 1000.0) as i64, &now)
            .map_err(|e| Failure::Bug(format!("pricing cart {} failed: {e:?}", data.cart.id)))?;
        rules::validate(&data, &rendered).map_err(Failure::Refused)?;
        if method == PaymentMethod::Stripe && !self.payments.configured() {
            return refuse(CheckoutRefusal::PaymentUnavailable {
                cause: "stripe checkout without STRIPE_SECRET_KEY".into(),
            });
        }

        let terms = Terms {
            order_id: self.platform.id("ord"),
            channel_id: self.channel.id.clone(),
            source: match self.by {
                PlacedBy::Shopper => OrderSource::Storefront,
                PlacedBy::Staff { .. } => OrderSource::Draft,
            },
            tax_inclusive: market.tax_inclusive,
            currency: market.currency.code().to_string(),
            payment_method: method,
            // A shopper's unpaid order is canceled past its deadline; one staff took (a bank
            // transfer, an account customer, a payment link) waits for them to decide.
            pay_by: match self.by {
                PlacedBy::Shopper => {
                    iso_at(now_ms + self.settings.unpaid_order_ttl_seconds * 1000.0)
                }
                PlacedBy::Staff { .. } => crate::domain::order::exchange::NEVER.to_string(),
            },
        };
        let new = rules::new_order(&data, &rendered, terms, || self.platform.id("line"));
        let placed = Order::place(new, &now);
        let (pickup, country) = placed.ships_to();
        let destination = Destination::of(pickup.as_deref(), country.as_deref(), &[]);
        let wanted = placed.wanted();
        let short = |short: Short| {
            Failure::Refused(CheckoutRefusal::InsufficientStock {
                sku: short.sku,
                available: short.available.max(0),
            })
        };
        // Hot SKUs: what their objects have, not what D1 has not yet seen reserved.
        let (mut picture, mut shards) = self.with_hot(data.picture.clone()).await?;
        let skus: Vec<String> = data.lines.iter().map(|l| l.sku.clone()).collect();
        let mut allocations = picture.allocate(&wanted, destination).map_err(short)?;
        // The intent before the order: if the provider is down, there is nothing to undo.
        let intent = match method {
            PaymentMethod::Manual => None,
            PaymentMethod::Stripe => Some(self.start_payment(&placed).await?),
        };
        // No order holds the intent: it should not linger.
        let drop_intent = || {
            if let Some(intent) = &intent {
                self.payments.cancel_intent(&intent.id);
            }
        };
        let discounts: Vec<String> = rendered
            .priced
            .applied
            .iter()
            .map(|a| a.id.clone())
            .collect();
        let mut attempt = 1;
        let (order, number, holds, kept) = loop {
            let mut order = placed.clone();
            order.payment_reference = intent.as_ref().map(|i| i.id.clone());
            let reserve = order.hold(allocations.clone());
            // A hot SKU's units are taken in its objects first; what they cannot cover is
            // allocated again from what they said they have.
            let holds = match self
                .take_hot(&picture, &shards, &order.id, attempt, &reserve, now_ms)
                .await
            {
                Ok(Ok(holds)) => holds,
                Ok(Err((sku, available))) => {
                    picture.set_available(&sku, &available);
                    match picture.allocate(&wanted, destination) {
                        Ok(next) if attempt < MAX_PLACEMENTS => {
                            allocations = next;
                            attempt += 1;
                            continue;
                        }
                        Ok(_) => {
                            drop_intent();
                            return refuse(rules::conflict(
                                &data,
                                &[(sku.clone(), available.values().sum())],
                                !discounts.is_empty(),
                                "hot stock kept moving",
                            ));
                        }
                        Err(s) => {
                            drop_intent();
                            return Err(short(s));
                        }
                    }
                }
                Err(e) => {
                    drop_intent();
                    return Err(e.into());
                }
            };
            // The answer as it will be sent, but for the number the batch gives the order.
            let answer = keep.as_ref().and_then(|k| {
                let body = (k.body)(&Placed {
                    order: order.clone(),
                    payment: payment_start(&intent),
                    kept: true,
                })?;
                Some(KeptAnswer {
                    claim: k.claim,
                    status: 201,
                    body,
                    // Kept as long as an answer stored after the order would be.
                    keep_until: iso_at(self.platform.now_ms() + KEEP_SECONDS * 1000.0),
                })
            });
            let kept = answer.is_some();
            let placement = Placement {
                order: &order,
                cart_id: &data.cart.id,
                cart_version: data.cart.version,
                close_cart: true,
                reserve,
                discounts: discounts.clone(),
                low_stock_threshold: self.settings.low_stock_threshold,
                action: self.action(&data, &order, method),
                placed: Envelope::new(
                    &self.platform.id("evt"),
                    EventType::OrderPlaced,
                    1,
                    &now,
                    order.view(),
                ),
                generations: picture.generations(&skus),
                hot_holds: holds
                    .iter()
                    .map(|h| (h.id.clone(), h.hot.sku.clone()))
                    .collect(),
                answer,
            };
            let cause = match self.store.place(&placement).await {
                Ok(number) => break (order, number, holds, kept),
                Err(StoreError::Refused(cause)) => {
                    // Nothing was written: the objects' units go back at once.
                    self.release_all(&holds).await;
                    cause
                }
                // D1 may have committed before the failure reached us: the order may exist,
                // with its intent and its reservations. One read says: no order, and the
                // objects' units go back at once; an order, or no answer, and the objects'
                // alarm settles or releases them by its hot_holds row. The intent stays.
                Err(e) => {
                    if !holds.is_empty() && matches!(self.store.order(&order.id).await, Ok(None)) {
                        self.release_all(&holds).await;
                    }
                    return Err(e.into());
                }
            };
            // When the stock moved meanwhile (another checkout took a location's last units,
            // or a SKU changed mode), the order is allocated again from what is left: a
            // shopper is refused only for stock that is truly gone.
            let fresh = match self.store.stock(&skus).await {
                Ok(f) => Ok(self.with_hot(f).await.inspect_err(|_| drop_intent())?),
                Err(e) => Err(e),
            };
            let again = fresh
                .as_ref()
                .map(|(f, _)| f.allocate(&wanted, destination));
            let moved = fresh.as_ref().is_ok_and(|(f, _)| f.hot != picture.hot);
            match again {
                Ok(Ok(next)) if (moved || next != allocations) && attempt < MAX_PLACEMENTS => {
                    allocations = next;
                    if let Ok((f, s)) = fresh {
                        (picture, shards) = (f, s);
                    }
                    attempt += 1;
                }
                _ => {
                    drop_intent();
                    // Explaining is best effort: without the read, the cart is said to have
                    // changed.
                    let available: Vec<(String, i64)> = data
                        .lines
                        .iter()
                        .map(|l| match &fresh {
                            Ok((f, _)) => (l.sku.clone(), f.total(&l.sku, destination)),
                            Err(_) => (l.sku.clone(), l.quantity),
                        })
                        .collect();
                    let cause = format!("checkout refused ({cause}); the cart changed meanwhile");
                    return refuse(rules::conflict(
                        &data,
                        &available,
                        !discounts.is_empty(),
                        &cause,
                    ));
                }
            }
        };
        // The order holds the units now: the objects stop counting them as held.
        for h in &holds {
            hot::settle(self.platform, h);
        }
        let mut order = order;
        order.number = number;
        self.platform.publish();
        Ok(Placed {
            order,
            payment: payment_start(&intent),
            kept,
        })
    }

    /// `picture` with its hot SKUs' availability as their objects say, and each one's shards
    /// as read (which order a reservation's visits).
    async fn with_hot(
        &self,
        mut picture: StockPicture,
    ) -> Result<(StockPicture, Shards), StoreError> {
        let hot = picture.hot.clone();
        let shards = hot::overlay(self.platform, &mut picture, &hot).await?;
        Ok((picture, shards))
    }

    /// Takes each hot SKU's units of `reserve` in its objects, under a reservation named after
    /// the order and SKU: the holds, or the first SKU they cannot cover and what they have
    /// (nothing kept).
    async fn take_hot(
        &self,
        picture: &StockPicture,
        shards: &Shards,
        order_id: &str,
        attempt: u32,
        reserve: &[StockMove],
        now_ms: f64,
    ) -> Result<Result<Vec<hot::Hold>, (String, Units)>, StoreError> {
        let expires_at_ms = (now_ms + self.settings.hot_reservation_ttl_seconds * 1000.0) as i64;
        let mut holds: Vec<hot::Hold> = Vec::new();
        for h in &picture.hot {
            let mut want = Units::new();
            for m in reserve.iter().filter(|m| m.sku == h.sku) {
                *want.entry(m.location.clone()).or_insert(0) -= m.release;
            }
            if want.is_empty() {
                continue;
            }
            // One reservation per attempt: a retry never finds an earlier attempt's hold (one
            // whose release did not arrive) and takes it for its own.
            let id = format!("{order_id}:{}:{attempt}", h.sku);
            let states = shards.get(&h.sku).map_or(&[][..], Vec::as_slice);
            match hot::reserve(self.platform, h, &id, &want, expires_at_ms, states).await {
                Ok(Ok(hold)) => holds.push(hold),
                Ok(Err(available)) => {
                    self.release_all(&holds).await;
                    return Ok(Err((h.sku.clone(), available)));
                }
                Err(e) => {
                    self.release_all(&holds).await;
                    return Err(e);
                }
            }
        }
        Ok(Ok(holds))
    }

    async fn release_all(&self, holds: &[hot::Hold]) {
        for h in holds {
            hot::release(self.platform, h).await;
        }
    }

    /// What staff did, for the order's timeline: the draft completed, and each price set by
    /// hand with its reason.
    fn action(&self, data: &CartData, order: &Order, method: PaymentMethod) -> Option<AdminAction> {
        let PlacedBy::Staff { actor } = self.by else {
            return None;
        };
        let overrides: Vec<String> = order
            .lines
            .iter()
            .filter_map(|l| {
                let reason = l.price_reason.as_deref()?;
                let price = Currency::from_code(&order.currency)
                    .map_or(l.unit_price.to_string(), |c| describe(l.unit_price, c));
                Some(format!("{} at {price} ({reason})", l.sku))
            })
            .collect();
        let mut summary = format!("draft completed: {} ({})", data.cart.id, method.as_str());
        if !overrides.is_empty() {
            summary.push_str(&format!("; price set by hand: {}", overrides.join(", ")));
        }
        Some(AdminAction {
            id: self.platform.id("act"),
            actor: actor.to_string(),
            action: "draft completed".into(),
            summary,
            reference: Some(data.cart.id.clone()),
        })
    }

    /// The provider's intent for `order`, or the refusal (503) when it fails or does not answer
    /// within `PAYMENT_PROVIDER_TIMEOUT_MS`.
    async fn start_payment(&self, order: &Order) -> CheckoutResult<PaymentIntent> {
        let timeout = self.settings.payment_timeout_ms;
        let cause = match within(self.platform, timeout, self.payments.create_intent(order)).await {
            Some(Ok(intent)) => return Ok(intent),
            Some(Err(cause)) => cause,
            None => format!("no answer within {timeout} ms"),
        };
        // The refusal carries the cause to the log (with the 503), never to the shopper.
        refuse(CheckoutRefusal::PaymentUnavailable {
            cause: format!("Stripe PaymentIntent failed: {cause}; no order placed"),
        })
    }
}
