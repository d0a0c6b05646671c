//! Cart use cases. Most writes are one round trip: the store applies the change under its
//! guards and reads the cart back in the same batch; when a guard refuses, one diagnosis read
//! and `domain::cart::refusal` say why. Writes that must price before they write (a code, an
//! address, a shipping method) read first, decide, then write under a guard on the version
//! read; a concurrent change makes them decide again (nothing is lost), or answers 412 when
//! the client sent `If-Match`.

use crate::app::ports::{
    iso_at, CartLoad, CartLookup, CartStore, CartWrite, Catalog, Clock, HotObjects, Ids, Limit,
    RateLimiter, StoreError,
};
use crate::app::{refuse, Failure, Settings};
use crate::domain::admin_defs::{DiscountDef, ShippingDef};
use crate::domain::cart::{
    self, address_from, precondition, CartChange, CartData, CartOp, CartPatch, CartRecord,
    CartRefusal, Diagnosis, IfMatch, MAX_CODES,
};
use crate::domain::catalog::CatalogSnapshot;
use crate::domain::channel::Channel;
use crate::domain::fields::FieldError;
use crate::domain::market::Market;
use crate::domain::pricing::Usage;
use crate::domain::stock::Destination;
use serde_json::{json, Value};

/// How often a read-then-write decides again after losing a race before answering 503.
const MAX_RETRIES: usize = 4;

pub type CartResult<T> = Result<T, Failure<CartRefusal>>;

/// Everything a cart use case works with.
pub struct Shop<'a, S, K, P> {
    pub store: &'a S,
    pub catalog: &'a K,
    /// The clock, ids and rate limits.
    pub platform: &'a P,
    pub channel: &'a Channel,
    pub settings: &'a Settings,
}

/// A cart as API.md shows it, and its version (the `ETag`).
#[derive(Debug, Clone, PartialEq)]
pub struct CartShown {
    pub view: cart::CartView,
    pub version: i64,
}

/// The changes of `PATCH /v1/carts/{id}`, parsed; what depends on the cart's market (the
/// addresses' countries, the shipping method) is checked here against it. `None` leaves a
/// field alone; `Some(None)` clears it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CartUpdate {
    pub email: Option<Option<String>>,
    pub shipping_address: Option<Option<Value>>,
    pub billing_address: Option<Option<Value>>,
    pub shipping_method: Option<Option<String>>,
    pub note: Option<Option<String>>,
}

impl<'a, S: CartStore, K: Catalog, P: Clock + Ids + HotObjects> Shop<'a, S, K, P> {
    fn expiry(&self) -> String {
        iso_at(self.platform.now_ms() + (self.settings.cart_ttl_seconds as f64) * 1000.0)
    }

    fn market_of(&self, cart: &CartRecord) -> CartResult<&'a Market> {
        match self.channel.market(&cart.market) {
            Some(m) => Ok(m),
            None => refuse(CartRefusal::MarketGone),
        }
    }

    /// Only this channel's carts exist for it (a draft order is no shopper's cart).
    fn visible(&self, data: Option<CartData>) -> CartResult<CartData> {
        let shown = |d: &CartData| {
            d.cart.channel_id == self.channel.id && d.cart.kind == cart::CartKind::Cart
        };
        match data.filter(shown) {
            Some(d) => Ok(d),
            None => refuse(CartRefusal::NotFound),
        }
    }

    /// Prices and shows a loaded cart; a hot SKU's availability is what its objects have.
    pub async fn show(&self, data: &CartData) -> CartResult<CartShown> {
        let market = self.market_of(&data.cart)?;
        let snapshot = self.catalog.snapshot(market).await?;
        let mut data = std::borrow::Cow::Borrowed(data);
        if !data.picture.hot.is_empty() {
            let hot = self.hot_stock(&data, market, &data.picture.hot).await?;
            data.to_mut().stock.extend(hot);
        }
        let rendered = self.render(&data, market, &snapshot)?;
        Ok(CartShown {
            view: rendered.view,
            version: data.cart.version,
        })
    }

    /// What each hot SKU of the cart has for it, as its objects say: their units at the
    /// locations that serve the cart (its pickup store; else those shipping to its country;
    /// else, with no address yet, to its market's countries), as D1's numbers are counted for
    /// any other SKU.
    async fn hot_stock(
        &self,
        data: &CartData,
        market: &Market,
        hot_skus: &[crate::domain::hot::HotSku],
    ) -> CartResult<Vec<(String, i64)>> {
        let pickup = data.shipping.as_ref().and_then(|m| m.location_id.clone());
        let country = data.cart.shipping().map(|a| a.country);
        let destination = Destination::of(pickup.as_deref(), country.as_deref(), &market.countries);
        let mut picture = data.picture.clone();
        crate::app::hot::overlay(self.platform, &mut picture, hot_skus).await?;
        Ok(hot_skus
            .iter()
            .map(|h| (h.sku.clone(), picture.total(&h.sku, destination)))
            .collect())
    }

    fn render(
        &self,
        data: &CartData,
        market: &Market,
        snapshot: &CatalogSnapshot,
    ) -> CartResult<cart::Rendered> {
        let now_ms = self.platform.now_ms();
        cart::render(
            data,
            market,
            snapshot,
            (now_ms / 1000.0) as i64,
            &iso_at(now_ms),
        )
        .map_err(|e| Failure::Bug(format!("pricing cart {} failed: {e:?}", data.cart.id)))
    }

    /// `POST /v1/carts`: an empty cart in one of the channel's markets. The client is
    /// counted against its limit before its `market` (as parsed) is looked at.
    pub async fn create(&self, market: Result<&str, FieldError>) -> CartResult<CartShown>
    where
        P: RateLimiter,
    {
        if !self.platform.allows(Limit::Cart).await {
            return refuse(CartRefusal::RateLimited);
        }
        let market = market.map_err(|e| Failure::Refused(CartRefusal::Invalid(e)))?;
        let Some(market) = self.channel.market(market) else {
            return refuse(CartRefusal::Invalid(FieldError::new(
                "market",
                format!("market `{market}` is not sold on this channel"),
            )));
        };
        let now = self.platform.now();
        let mut record = CartRecord::new(
            &self.platform.id("cart"),
            cart::CartKind::Cart,
            &self.channel.id,
            &market.code,
            &now,
        );
        record.currency = market.currency.code().to_string();
        record.expires_at = self.expiry();
        self.store.create(&record).await?;
        let data = CartData {
            cart: record,
            lines: vec![],
            discounts: vec![],
            shipping: None,
            stock: Default::default(),
            picture: Default::default(),
            market: None,
        };
        self.show(&data).await
    }

    /// `GET /v1/carts/{id}`: one round trip.
    pub async fn get(&self, cart_id: &str) -> CartResult<CartShown> {
        let loaded = self.store.load(cart_id, CartLookup::Nothing).await?;
        self.show(&self.visible(loaded.cart)?).await
    }

    /// `POST /v1/carts/{id}/lines`.
    pub async fn add_line(
        &self,
        cart_id: &str,
        if_match: Option<IfMatch>,
        sku: &str,
        quantity: i64,
    ) -> CartResult<CartShown> {
        let change = CartChange::AddLine {
            line_id: self.platform.id("line"),
            sku: sku.into(),
            quantity,
            hot_available: None,
        };
        self.write_once(cart_id, if_match, change).await
    }

    /// `PATCH` (quantity, 0 removes) and `DELETE /v1/carts/{id}/lines/{line}`.
    pub async fn set_quantity(
        &self,
        cart_id: &str,
        if_match: Option<IfMatch>,
        line_id: &str,
        quantity: i64,
    ) -> CartResult<CartShown> {
        let change = CartChange::SetQuantity {
            line_id: line_id.into(),
            quantity,
            hot_available: None,
        };
        self.write_once(cart_id, if_match, change).await
    }

    /// `DELETE /v1/carts/{id}/discount-codes/{code}`.
    pub async fn remove_code(
        &self,
        cart_id: &str,
        if_match: Option<IfMatch>,
        code: &str,
    ) -> CartResult<CartShown> {
        let Some(code) = crate::domain::admin_defs::normalize_code(code) else {
            return refuse(CartRefusal::NoSuchCode);
        };
        self.write_once(cart_id, if_match, CartChange::RemoveCode { code })
            .await
    }

    /// `POST /v1/carts/{id}/customer`: `customer_id` comes from a verified customer token.
    pub async fn attach_customer(
        &self,
        cart_id: &str,
        if_match: Option<IfMatch>,
        customer_id: &str,
    ) -> CartResult<CartShown> {
        let change = CartChange::AttachCustomer {
            customer_id: customer_id.into(),
        };
        self.write_once(cart_id, if_match, change).await
    }

    /// One guarded write; on a refusal, one read finds out which rule refused it. A hot SKU's
    /// stock is what its objects have: its line's change is refused until it carries their
    /// number, so the diagnosis names the SKU, its objects are asked, and it is written again.
    async fn write_once(
        &self,
        cart_id: &str,
        if_match: Option<IfMatch>,
        mut change: CartChange,
    ) -> CartResult<CartShown> {
        let now = self.platform.now();
        let expires_at = self.expiry();
        loop {
            let write = CartWrite {
                cart_id,
                channel_id: &self.channel.id,
                now: &now,
                expires_at: &expires_at,
                expect: if_match,
                change: change.clone(),
            };
            let cause = match self.store.write(&write).await {
                Ok(data) => return self.show(&self.visible(data)?).await,
                Err(StoreError::Refused(cause)) => cause,
                Err(e) => return Err(e.into()),
            };
            let (op, line, sku) = match &write.change {
                CartChange::AddLine { sku, quantity, .. } => (
                    CartOp::Add {
                        sku,
                        quantity: *quantity,
                    },
                    None,
                    Some(sku.as_str()),
                ),
                CartChange::SetQuantity { line_id, .. } => {
                    (CartOp::Line, Some(line_id.as_str()), None)
                }
                CartChange::RemoveCode { .. } => (CartOp::RemoveCode, None, None),
                CartChange::AttachCustomer { customer_id } => {
                    (CartOp::Attach { customer_id }, None, None)
                }
                CartChange::Patch(_) => (CartOp::Update, None, None),
            };
            let mut d = self.store.diagnose(cart_id, line, sku).await?;
            let asked = match &mut change {
                CartChange::AddLine { hot_available, .. }
                | CartChange::SetQuantity { hot_available, .. } => Some(hot_available),
                _ => None,
            };
            if let (Some(hot), Some(asked)) = (d.hot_sku(), asked) {
                match asked {
                    // Refused by the objects' number itself: the shopper learns it.
                    Some(total) => d.available = Some(*total),
                    None => {
                        // The cart as it is now (its address, its method: which locations
                        // serve it), then what the objects have for it.
                        let loaded = self.store.load(cart_id, CartLookup::Nothing).await?;
                        let data = self.visible(loaded.cart)?;
                        let market = self.market_of(&data.cart)?;
                        let stock = self.hot_stock(&data, market, &[hot]).await?;
                        *asked = Some(stock.first().map_or(0, |(_, n)| *n));
                        continue;
                    }
                }
            }
            return Err(explain(&d, &op, &self.channel.id, if_match, &now, &cause));
        }
    }

    /// Read, decide, then write under a guard on the version read. Without `If-Match`, a
    /// concurrent change makes it decide again (nothing is lost); with it, 412.
    async fn read_then_write<F>(
        &self,
        cart_id: &str,
        if_match: Option<IfMatch>,
        lookup: CartLookup<'_>,
        decide: F,
    ) -> CartResult<CartShown>
    where
        F: Fn(&CartData, &Market, &CatalogSnapshot, &CartLoad) -> CartResult<Option<CartPatch>>,
    {
        for _ in 0..MAX_RETRIES {
            let mut loaded = self.store.load(cart_id, lookup).await?;
            let data = self.visible(loaded.cart.take())?;
            let now = self.platform.now();
            let read = Diagnosis::from(&data.cart);
            if let Some(r) = precondition(&read, &self.channel.id, if_match, &now) {
                return refuse(r);
            }
            let market = self.market_of(&data.cart)?;
            let snapshot = self.catalog.snapshot(market).await?;
            let Some(patch) = decide(&data, market, &snapshot, &loaded)? else {
                let rendered = self.render(&data, market, &snapshot)?;
                return Ok(CartShown {
                    view: rendered.view,
                    version: data.cart.version,
                });
            };
            let expires_at = self.expiry();
            let write = CartWrite {
                cart_id,
                channel_id: &self.channel.id,
                now: &now,
                expires_at: &expires_at,
                expect: Some(IfMatch::Version(data.cart.version)),
                change: CartChange::Patch(patch),
            };
            match self.store.write(&write).await {
                Ok(after) => return self.show(&self.visible(after)?).await,
                Err(StoreError::Refused(_)) if matches!(if_match, None | Some(IfMatch::Any)) => {
                    continue
                }
                Err(StoreError::Refused(cause)) => {
                    let d = self.store.diagnose(cart_id, None, None).await?;
                    return Err(explain(
                        &d,
                        &CartOp::Update,
                        &self.channel.id,
                        if_match,
                        &now,
                        &cause,
                    ));
                }
                Err(e) => return Err(e.into()),
            }
        }
        refuse(CartRefusal::Busy)
    }

    /// `POST /v1/carts/{id}/discount-codes`: the code is kept only if it applies now; the
    /// shopper learns at once why it does not. Every attempt counts against the client's and
    /// the cart's limits first.
    pub async fn add_code(
        &self,
        cart_id: &str,
        if_match: Option<IfMatch>,
        raw: &str,
    ) -> CartResult<CartShown>
    where
        P: RateLimiter,
    {
        // Every attempt counts, before anything is looked up: codes cannot be guessed.
        if !self
            .platform
            .allows(Limit::DiscountCode { cart: cart_id })
            .await
        {
            return refuse(CartRefusal::RateLimited);
        }
        let unknown = || CartRefusal::DiscountNotApplicable {
            reason: "unknown_code".into(),
            message: "This code does not exist.".into(),
        };
        let Some(code) = crate::domain::admin_defs::normalize_code(raw) else {
            return refuse(unknown());
        };
        self.read_then_write(
            cart_id,
            if_match,
            CartLookup::Discount(&code),
            |data, market, snapshot, loaded| {
                let mut codes = data.cart.codes();
                if codes.contains(&code) {
                    return Ok(None);
                }
                if codes.len() >= MAX_CODES {
                    return refuse(CartRefusal::TooManyCodes);
                }
                let Some((def, usage)) = &loaded.discount else {
                    return refuse(unknown());
                };
                codes.push(code.clone());
                let trial = with_code(data, json!(codes).to_string(), def, *usage);
                let rendered = self.render(&trial, market, snapshot)?;
                match rendered.priced.codes.iter().find(|c| c.code == code) {
                    Some(c) if c.applicable => Ok(Some(CartPatch {
                        discount_codes: Some(trial.cart.discount_codes.clone()),
                        ..CartPatch::default()
                    })),
                    Some(c) => refuse(CartRefusal::DiscountNotApplicable {
                        reason: c.reason.unwrap_or("not_applicable").into(),
                        message: c.message.clone(),
                    }),
                    None => refuse(unknown()),
                }
            },
        )
        .await
    }

    /// `PATCH /v1/carts/{id}`: email, addresses (in the market's countries), shipping method
    /// (offered in the market and shipping to the address, the new one if it changes too), note.
    pub async fn update(
        &self,
        cart_id: &str,
        if_match: Option<IfMatch>,
        u: &CartUpdate,
    ) -> CartResult<CartShown> {
        let method_id = u.shipping_method.clone().flatten();
        let lookup = match &method_id {
            Some(id) => CartLookup::ShippingMethod(id),
            None => CartLookup::Nothing,
        };
        self.read_then_write(cart_id, if_match, lookup, |data, market, _, loaded| {
            let invalid = |e: FieldError| Failure::Refused(CartRefusal::Invalid(e));
            let mut p = CartPatch {
                email: u.email.clone(),
                note: u.note.clone(),
                ..CartPatch::default()
            };
            let mut country = data.cart.shipping().map(|a| a.country);
            let address = |v: &Value, name: &str| -> CartResult<(String, String)> {
                let a = address_from(v, name, &market.countries).map_err(invalid)?;
                let text = serde_json::to_string(&a).map_err(|e| Failure::Bug(e.to_string()))?;
                Ok((text, a.country))
            };
            match &u.shipping_address {
                None => {}
                Some(None) => {
                    country = None;
                    p.shipping_address = Some(None);
                }
                Some(Some(v)) => {
                    let (text, c) = address(v, "shipping_address")?;
                    country = Some(c);
                    p.shipping_address = Some(Some(text));
                }
            }
            p.billing_address = match &u.billing_address {
                None => None,
                Some(None) => Some(None),
                Some(Some(v)) => Some(Some(address(v, "billing_address")?.0)),
            };
            if u.shipping_method.is_some() {
                p.shipping_method_id = Some(match &method_id {
                    None => None,
                    Some(id) => {
                        ShippingDef::check_choice(
                            id,
                            loaded.shipping_methods.first(),
                            &market.code,
                            country.as_deref(),
                        )
                        .map_err(invalid)?;
                        Some(id.clone())
                    }
                });
            }
            Ok(Some(p))
        })
        .await
    }

    /// `GET /v1/carts/{id}/shipping-methods`: the methods offered in the cart's market that can
    /// ship it, each priced for it. One round trip.
    pub async fn shipping_methods(&self, cart_id: &str) -> CartResult<Vec<cart::ShippingView>> {
        let loaded = self
            .store
            .load(cart_id, CartLookup::ShippingMethods)
            .await?;
        let data = self.visible(loaded.cart)?;
        let market = self.market_of(&data.cart)?;
        let snapshot = self.catalog.snapshot(market).await?;
        let mut out = Vec::new();
        for def in loaded.shipping_methods {
            if def.for_market(&market.code).is_none() {
                continue;
            }
            let mut trial = data.clone();
            trial.cart.shipping_method_id = Some(def.id.clone());
            trial.shipping = Some(def.clone());
            if let Some(s) = self.render(&trial, market, &snapshot)?.priced.shipping {
                out.push(cart::ShippingView {
                    id: def.id.clone(),
                    name: def.name.clone(),
                    price: s.price,
                });
            }
        }
        Ok(out)
    }
}

/// The cart as it would be with `codes`, the discount of the new code included.
fn with_code(data: &CartData, codes: String, def: &DiscountDef, usage: Usage) -> CartData {
    let mut trial = data.clone();
    trial.cart.discount_codes = codes;
    trial.discounts.retain(|(d, _)| d.id != def.id);
    trial.discounts.push((def.clone(), usage));
    trial
}

/// The refusal a diagnosis explains; a refusal no rule explains is logged and answered 503.
fn explain(
    d: &Diagnosis,
    op: &CartOp<'_>,
    channel_id: &str,
    if_match: Option<IfMatch>,
    now: &str,
    cause: &str,
) -> Failure<CartRefusal> {
    match cart::refusal(d, op, channel_id, if_match, now) {
        Some(r) => Failure::Refused(r),
        None => Failure::Store(StoreError::Refused(format!(
            "cart write refused for no known reason: {cause}"
        ))),
    }
}
