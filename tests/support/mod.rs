//! In-memory fakes of the ports, for native tests of the use cases. They keep the promises the
//! port docs make (guards refuse all or nothing, versions bump, stock is never oversold), so a
//! use case tested here behaves as it does over D1.
#![allow(dead_code)]

use comptoir::app::idempotency::{Claim, IdempotencyStore, KeyRecord};
use comptoir::app::ports::*;
use comptoir::app::Settings;
use comptoir::domain::admin_defs::{DiscountDef, ShippingDef};
use comptoir::domain::cart::CartStatus;
use comptoir::domain::cart::{
    CartChange, CartData, CartPatch, CartRecord, Diagnosis, IfMatch, LineRecord, MAX_LINES,
    MAX_QUANTITY,
};
use comptoir::domain::catalog::{CatalogRow, CatalogSnapshot};
use comptoir::domain::channel::Channel;
use comptoir::domain::events::Envelope;
use comptoir::domain::hot::{HotSku, ShardCall, ShardState, Units};
use comptoir::domain::market::{Market, RoundingMode, TaxClass, TaxRounding};
use comptoir::domain::money::Currency;
use comptoir::domain::order::returns::Return;
use comptoir::domain::order::{Order, OrderChange, StockMove};
use comptoir::domain::pricing::Usage;
use comptoir::domain::stock::{Location, LocationKind, StockPicture, MAIN};
use serde_json::json;
use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::future::Future;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

/// Runs a future whose ports answer at once (every fake here does).
pub fn block_on<F: Future>(f: F) -> F::Output {
    let mut f = std::pin::pin!(f);
    let mut cx = Context::from_waker(Waker::noop());
    match f.as_mut().poll(&mut cx) {
        Poll::Ready(v) => v,
        Poll::Pending => panic!("a fake port left the future pending"),
    }
}

pub const NOW: &str = "2026-06-01T12:00:00.000Z";
pub const NOW_MS: f64 = 1_780_315_200_000.0;

pub fn fr() -> Market {
    Market {
        code: "FR".into(),
        currency: Currency::from_code("EUR").unwrap(),
        countries: vec!["FR".into(), "MC".into()],
        languages: vec!["fr".into()],
        tax_inclusive: true,
        tax_rates: [
            (TaxClass::Standard, "20".parse().unwrap()),
            (TaxClass::Reduced, "5.5".parse().unwrap()),
            (TaxClass::Zero, "0".parse().unwrap()),
        ]
        .into(),
        rounding_mode: RoundingMode::HalfUp,
        tax_rounding: TaxRounding::Line,
    }
}

pub fn channel() -> Channel {
    Channel {
        id: "web".into(),
        name: "Web".into(),
        markets: vec![fr()],
        allowed_origins: vec![],
    }
}

/// The FR catalog: a tee at 25.00 €, a mug at 12.00 €.
pub fn snapshot() -> CatalogSnapshot {
    let row = |product: &str, sku: &str, price: i64| CatalogRow {
        product_id: format!("prod_{product}"),
        handle: product.into(),
        title: product.to_uppercase(),
        description: String::new(),
        sku: sku.into(),
        variant_title: "Default".into(),
        tax_class: "standard".into(),
        weight_grams: 300,
        price_minor: price,
        available_quantity: 10,
    };
    CatalogSnapshot::build(
        "FR",
        fr().currency,
        NOW.into(),
        vec![row("tee", "TEE-M", 2500), row("mug", "MUG", 1200)],
    )
    .unwrap()
}

pub fn colissimo() -> ShippingDef {
    serde_json::from_value(json!({
        "id": "colissimo", "name": "Colissimo", "countries": ["FR"], "enabled": true,
        "rates": {"FR": {"kind": "flat", "amount": 490}},
    }))
    .unwrap()
}

pub fn discount(code: &str, percent: &str, usage_limit: Option<u32>) -> DiscountDef {
    serde_json::from_value(json!({
        "id": format!("dsc_{}", code.to_lowercase()), "title": code, "code": code,
        "value": {"kind": "percentage", "percent": percent}, "target": "order",
        "items": {"skus": [], "product_ids": []}, "min_subtotal": {}, "markets": [],
        "first_order_only": false, "starts_at": null, "ends_at": null, "usage_limit": usage_limit,
        "usage_limit_per_customer": null, "stacking": "combinable", "priority": 0, "enabled": true,
    }))
    .unwrap()
}

pub fn address(country: &str) -> serde_json::Value {
    json!({"first_name": "Jeanne", "last_name": "Martin", "line1": "3 rue de la Paix",
           "city": "Paris", "postal_code": "75002", "country": country})
}

/// Clock, ids, log, outbox and rate limits.
pub struct FakePlatform {
    pub now_ms: Cell<f64>,
    pub next_id: Cell<u32>,
    pub allow: Cell<bool>,
    /// Every limit asked about, in order (`Debug` form).
    pub asked: RefCell<Vec<String>>,
    pub published: Cell<u32>,
    pub logged: RefCell<Vec<String>>,
    /// The waits use cases bounded their calls with, in ms.
    pub slept: RefCell<Vec<f64>>,
    /// Hot SKUs' objects by name, as the Durable Object keeps them (src/store/hot.rs).
    pub shards: RefCell<BTreeMap<String, FakeShard>>,
}

/// One hot-stock object: what it has per location and its reservations.
#[derive(Debug, Clone, Default)]
pub struct FakeShard {
    pub available: Units,
    pub holds: BTreeMap<String, Units>,
}

impl FakeShard {
    fn state(&self, taken: Units) -> ShardState {
        let mut held = Units::new();
        for h in self.holds.values() {
            comptoir::domain::hot::add(&mut held, h);
        }
        ShardState {
            taken,
            available: self.available.clone(),
            held,
            holds: BTreeMap::new(),
        }
    }
}

impl Default for FakePlatform {
    fn default() -> Self {
        FakePlatform {
            now_ms: Cell::new(NOW_MS),
            next_id: Cell::new(0),
            allow: Cell::new(true),
            asked: RefCell::default(),
            published: Cell::new(0),
            logged: RefCell::new(vec![]),
            slept: RefCell::new(vec![]),
            shards: RefCell::default(),
        }
    }
}

impl Clock for FakePlatform {
    fn now(&self) -> String {
        iso_at(self.now_ms.get())
    }
    fn now_ms(&self) -> f64 {
        self.now_ms.get()
    }
}

impl Ids for FakePlatform {
    fn id(&self, prefix: &str) -> String {
        self.next_id.set(self.next_id.get() + 1);
        format!("{prefix}_{:032x}", self.next_id.get())
    }
}

impl Log for FakePlatform {
    fn warn(&self, message: &str) {
        self.logged.borrow_mut().push(format!("warn: {message}"));
    }
    fn error(&self, message: &str) {
        self.logged.borrow_mut().push(format!("error: {message}"));
    }
}

impl Outbox for FakePlatform {
    fn publish(&self) {
        self.published.set(self.published.get() + 1);
    }
}

/// Every wait is over at once: a port still pending then (a hung provider) loses the race.
impl Timer for FakePlatform {
    async fn sleep(&self, ms: f64) {
        self.slept.borrow_mut().push(ms);
    }
}

impl FakePlatform {
    /// What every object of `hot` has available and holds, summed.
    pub fn hot_totals(&self, hot: &HotSku) -> (Units, Units) {
        let (mut available, mut held) = (Units::new(), Units::new());
        for s in 0..hot.shards() {
            if let Some(shard) = self.shards.borrow().get(&hot.object_name(s)) {
                let st = shard.state(Units::new());
                comptoir::domain::hot::add(&mut available, &st.available);
                comptoir::domain::hot::add(&mut held, &st.held);
            }
        }
        (available, held)
    }
}

impl HotObjects for FakePlatform {
    async fn shard(
        &self,
        hot: &HotSku,
        shard: usize,
        call: &ShardCall,
    ) -> Result<ShardState, StoreError> {
        Ok(self.call_shard(hot, shard, call))
    }

    /// At once: the fakes have no "after the response".
    fn later(&self, hot: &HotSku, shard: usize, call: ShardCall) {
        self.call_shard(hot, shard, &call);
    }
}

impl FakePlatform {
    fn call_shard(&self, hot: &HotSku, shard: usize, call: &ShardCall) -> ShardState {
        let mut shards = self.shards.borrow_mut();
        let name = hot.object_name(shard);
        let object = shards.entry(name).or_insert_with(|| FakeShard {
            available: hot.split[shard].clone(),
            holds: BTreeMap::new(),
        });
        match call {
            ShardCall::Take { id, want, .. } => {
                if let Some(before) = object.holds.get(id) {
                    let before = before.clone();
                    return object.state(before);
                }
                let mut taken = Units::new();
                for (location, n) in want {
                    let have = object.available.entry(location.clone()).or_insert(0);
                    let t = (*have).min(*n);
                    if t > 0 {
                        *have -= t;
                        taken.insert(location.clone(), t);
                    }
                }
                if !taken.is_empty() {
                    object.holds.insert(id.clone(), taken.clone());
                }
                object.state(taken)
            }
            ShardCall::Release { id } => {
                if let Some(units) = object.holds.remove(id) {
                    comptoir::domain::hot::add(&mut object.available, &units);
                }
                object.state(Units::new())
            }
            ShardCall::Settle { id } => {
                object.holds.remove(id);
                object.state(Units::new())
            }
            ShardCall::State { .. } => object.state(Units::new()),
            ShardCall::Holds { .. } => {
                let mut state = object.state(Units::new());
                state.holds = object.holds.clone();
                state
            }
        }
    }
}

impl RateLimiter for FakePlatform {
    async fn allows(&self, limit: Limit<'_>) -> bool {
        self.asked.borrow_mut().push(format!("{limit:?}"));
        self.allow.get()
    }
}

pub struct FakeCatalog(pub Rc<CatalogSnapshot>);

impl Default for FakeCatalog {
    fn default() -> Self {
        FakeCatalog(Rc::new(snapshot()))
    }
}

impl Catalog for FakeCatalog {
    async fn snapshot(&self, _market: &Market) -> Result<Rc<CatalogSnapshot>, StoreError> {
        Ok(self.0.clone())
    }
}

/// The tables the fakes keep.
#[derive(Clone, Default)]
pub struct Tables {
    pub carts: BTreeMap<String, CartRecord>,
    pub lines: BTreeMap<String, Vec<LineRecord>>,
    /// SKU -> (on hand, reserved), all at the location `main` (the one location the fakes keep).
    pub inventory: BTreeMap<String, (i64, i64)>,
    /// Hot SKUs (mode hot) by SKU.
    pub hot: BTreeMap<String, HotSku>,
    /// The `hot_holds` rows: (reservation, SKU, order id).
    pub hot_holds: Vec<(String, String, String)>,
    /// (market, SKU) -> price, for published products.
    pub prices: BTreeMap<(String, String), i64>,
    pub discounts: Vec<(DiscountDef, u32)>,
    pub shipping: Vec<ShippingDef>,
    pub orders: BTreeMap<String, Order>,
    pub counters: BTreeMap<String, i64>,
    pub outbox: Vec<Envelope>,
    pub receipts: Vec<Receipt>,
    /// Admin actions per order, for timelines.
    pub actions: Vec<(String, comptoir::domain::order::AdminAction, String)>,
    pub keys: BTreeMap<(String, String, String, String), (KeyRecord, String)>,
}

/// Every storage port, in memory. A write works on a copy of the tables and commits it only
/// if no guard refused, as a D1 batch does.
#[derive(Default)]
pub struct FakeStore {
    pub t: RefCell<Tables>,
    /// Concurrent cart writes that slip in before each of the next writes (a lost race).
    pub races: Cell<u32>,
    /// Stock taken by another checkout between a checkout's read and its batch.
    pub sold_meanwhile: RefCell<Option<(String, i64)>>,
    /// Refuse this many order changes as if the order changed meanwhile.
    pub order_races: Cell<u32>,
    pub round_trips: Cell<u32>,
}

fn refused<T>(why: &str) -> Result<T, StoreError> {
    Err(StoreError::Refused(why.into()))
}

impl FakeStore {
    /// The demo's state: stock of 5 tees and 50 mugs, both sold in FR, Colissimo, WELCOME10.
    pub fn seeded() -> FakeStore {
        let s = FakeStore::default();
        {
            let mut t = s.t.borrow_mut();
            t.inventory.insert("TEE-M".into(), (5, 0));
            t.inventory.insert("MUG".into(), (50, 0));
            t.prices.insert(("FR".into(), "TEE-M".into()), 2500);
            t.prices.insert(("FR".into(), "MUG".into()), 1200);
            t.shipping.push(colissimo());
            t.discounts.push((discount("WELCOME10", "10", None), 0));
        }
        s
    }

    fn trip(&self) {
        self.round_trips.set(self.round_trips.get() + 1);
    }

    pub fn cart(&self, id: &str) -> CartRecord {
        self.t.borrow().carts[id].clone()
    }

    pub fn lines(&self, id: &str) -> Vec<LineRecord> {
        self.t.borrow().lines.get(id).cloned().unwrap_or_default()
    }

    pub fn stock(&self, sku: &str) -> (i64, i64) {
        self.t.borrow().inventory[sku]
    }

    fn data(t: &Tables, id: &str) -> Option<CartData> {
        let cart = t.carts.get(id)?.clone();
        let lines = t.lines.get(id).cloned().unwrap_or_default();
        let codes = cart.codes();
        Some(CartData {
            discounts: t
                .discounts
                .iter()
                .filter(|(d, _)| d.code.as_ref().is_none_or(|c| codes.contains(c)))
                .map(|(d, used)| {
                    (
                        d.clone(),
                        Usage {
                            total: *used,
                            by_customer: 0,
                        },
                    )
                })
                .collect(),
            shipping: cart
                .shipping_method_id
                .as_ref()
                .and_then(|m| t.shipping.iter().find(|s| &s.id == m).cloned()),
            stock: lines
                .iter()
                .filter_map(|l| t.inventory.get(&l.sku).map(|(h, r)| (l.sku.clone(), h - r)))
                .collect(),
            picture: FakeStore::picture(t, lines.iter().map(|l| l.sku.as_str())),
            market: None,
            lines,
            cart,
        })
    }

    /// Where the stock of `skus` is: all at `main`, a warehouse serving every country.
    fn picture<'s>(t: &Tables, skus: impl Iterator<Item = &'s str> + Clone) -> StockPicture {
        StockPicture {
            locations: vec![Location {
                id: MAIN.into(),
                kind: LocationKind::Warehouse,
                countries: vec![],
                priority: 100,
                pickup: false,
            }],
            available: skus
                .clone()
                .filter_map(|s| {
                    let (h, r) = t.inventory.get(s)?;
                    (h > r).then(|| ((s.to_string(), MAIN.to_string()), h - r))
                })
                .collect(),
            hot: skus.filter_map(|s| t.hot.get(s).cloned()).collect(),
        }
    }

    /// Applies stock moves at `main` (a move elsewhere finds no level row), or why refused.
    fn moved(t: &mut Tables, moves: &[StockMove]) -> Result<(), StoreError> {
        for m in moves {
            let Some((on_hand, reserved)) =
                t.inventory.get_mut(&m.sku).filter(|_| m.location == MAIN)
            else {
                return refused("no inventory level row");
            };
            *reserved -= m.release + m.ship;
            *on_hand -= m.ship;
            if *reserved > *on_hand || *reserved < 0 {
                return refused("CHECK constraint failed: reserved <= on_hand");
            }
        }
        Ok(())
    }
}

fn patch(cart: &mut CartRecord, p: &CartPatch) {
    if let Some(v) = &p.email {
        cart.email = v.clone();
    }
    if let Some(v) = &p.shipping_address {
        cart.shipping_address = v.clone();
    }
    if let Some(v) = &p.billing_address {
        cart.billing_address = v.clone();
    }
    if let Some(v) = &p.shipping_method_id {
        cart.shipping_method_id = v.clone();
    }
    if let Some(v) = &p.note {
        cart.note = v.clone();
    }
    if let Some(v) = &p.discount_codes {
        cart.discount_codes = v.clone();
    }
    if let Some(v) = &p.customer_id {
        cart.customer_id = Some(v.clone());
    }
}

impl CartStore for FakeStore {
    async fn create(&self, cart: &CartRecord) -> Result<(), StoreError> {
        self.trip();
        self.t
            .borrow_mut()
            .carts
            .insert(cart.id.clone(), cart.clone());
        Ok(())
    }

    async fn load(&self, cart_id: &str, lookup: CartLookup<'_>) -> Result<CartLoad, StoreError> {
        self.trip();
        let t = self.t.borrow();
        let mut loaded = CartLoad {
            cart: FakeStore::data(&t, cart_id),
            ..CartLoad::default()
        };
        match lookup {
            CartLookup::Nothing => {}
            CartLookup::Discount(code) => {
                loaded.discount = t
                    .discounts
                    .iter()
                    .find(|(d, _)| d.code.as_deref() == Some(code) && d.enabled)
                    .map(|(d, used)| {
                        (
                            d.clone(),
                            Usage {
                                total: *used,
                                by_customer: 0,
                            },
                        )
                    });
            }
            CartLookup::ShippingMethod(id) => {
                loaded.shipping_methods =
                    t.shipping.iter().filter(|s| s.id == id).cloned().collect()
            }
            CartLookup::ShippingMethods => {
                loaded.shipping_methods = t.shipping.iter().filter(|s| s.enabled).cloned().collect()
            }
        }
        Ok(loaded)
    }

    async fn write(&self, w: &CartWrite<'_>) -> Result<Option<CartData>, StoreError> {
        self.trip();
        if self.races.get() > 0 {
            self.races.set(self.races.get() - 1);
            if let Some(c) = self.t.borrow_mut().carts.get_mut(w.cart_id) {
                c.version += 1;
            }
        }
        let mut t = self.t.borrow().clone();
        let Some(cart) = t.carts.get_mut(w.cart_id) else {
            return refused("no cart");
        };
        let fresh = cart.channel_id == w.channel_id
            && cart.status == CartStatus::Active
            && cart.expires_at.as_str() > w.now;
        let at_version = match w.expect {
            Some(IfMatch::Version(v)) => cart.version == v,
            _ => true,
        };
        if !fresh || !at_version {
            return refused("cart guard");
        }
        let market = cart.market.clone();
        let lines = t.lines.entry(w.cart_id.to_string()).or_default();
        match &w.change {
            CartChange::AddLine {
                line_id,
                sku,
                quantity,
                hot_available,
            } => {
                let Some(price) = t.prices.get(&(market, sku.clone())).copied() else {
                    return refused("NOT NULL price");
                };
                let position = lines.len() as i64;
                match lines.iter_mut().find(|l| &l.sku == sku) {
                    Some(l) => {
                        l.quantity += quantity;
                        l.unit_price_seen = price;
                    }
                    None => lines.push(LineRecord {
                        id: line_id.clone(),
                        sku: sku.clone(),
                        quantity: *quantity,
                        position,
                        unit_price_seen: price,
                        price_override: None,
                        price_reason: None,
                    }),
                }
                let q = lines
                    .iter()
                    .find(|l| &l.sku == sku)
                    .map_or(0, |l| l.quantity);
                // A hot SKU goes by its objects' number, refused without it (as the SQL).
                let available = match t.hot.contains_key(sku) {
                    true => hot_available.unwrap_or(-1),
                    false => t.inventory.get(sku).map_or(0, |(h, r)| h - r),
                };
                if q > MAX_QUANTITY || lines.len() as i64 > MAX_LINES || q > available {
                    return refused("line guard");
                }
            }
            CartChange::SetQuantity {
                line_id,
                quantity,
                hot_available,
            } => {
                let Some(i) = lines.iter().position(|l| &l.id == line_id) else {
                    return refused("no line");
                };
                if *quantity == 0 {
                    lines.remove(i);
                } else {
                    lines[i].quantity = *quantity;
                    let sku = &lines[i].sku;
                    let available = match t.hot.contains_key(sku) {
                        true => hot_available.unwrap_or(-1),
                        false => t.inventory.get(sku).map_or(0, |(h, r)| h - r),
                    };
                    if *quantity > available {
                        return refused("stock guard");
                    }
                }
            }
            CartChange::RemoveCode { code } => {
                let cart = t.carts.get_mut(w.cart_id).unwrap();
                let mut codes = cart.codes();
                if !codes.contains(code) {
                    return refused("no code");
                }
                codes.retain(|c| c != code);
                cart.discount_codes = json!(codes).to_string();
            }
            CartChange::Patch(p) => patch(t.carts.get_mut(w.cart_id).unwrap(), p),
            CartChange::AttachCustomer { customer_id } => {
                let cart = t.carts.get_mut(w.cart_id).unwrap();
                if cart.customer_id.as_ref().is_some_and(|c| c != customer_id) {
                    return refused("owner guard");
                }
                cart.customer_id = Some(customer_id.clone());
            }
        }
        let cart = t.carts.get_mut(w.cart_id).unwrap();
        cart.version += 1;
        cart.updated_at = w.now.to_string();
        cart.expires_at = w.expires_at.to_string();
        *self.t.borrow_mut() = t;
        Ok(FakeStore::data(&self.t.borrow(), w.cart_id))
    }

    async fn diagnose(
        &self,
        cart_id: &str,
        line_id: Option<&str>,
        sku: Option<&str>,
    ) -> Result<Diagnosis, StoreError> {
        self.trip();
        let t = self.t.borrow();
        let Some(cart) = t.carts.get(cart_id) else {
            return Ok(Diagnosis::default());
        };
        let lines = t.lines.get(cart_id).cloned().unwrap_or_default();
        let line = lines
            .iter()
            .find(|l| Some(l.id.as_str()) == line_id || Some(l.sku.as_str()) == sku);
        let stock_sku = sku
            .map(str::to_string)
            .or_else(|| line.map(|l| l.sku.clone()));
        Ok(Diagnosis {
            channel_id: Some(cart.channel_id.clone()),
            customer_id: cart.customer_id.clone(),
            sellable: sku.and_then(|s| {
                t.prices
                    .get(&(cart.market.clone(), s.to_string()))
                    .map(|_| 1)
            }),
            status: Some(cart.status),
            version: Some(cart.version),
            expires_at: Some(cart.expires_at.clone()),
            line_quantity: line.map(|l| l.quantity),
            line_sku: line.map(|l| l.sku.clone()),
            line_count: lines.len() as i64,
            available: stock_sku
                .as_ref()
                .and_then(|s| t.inventory.get(s).map(|(h, r)| h - r)),
            hot: stock_sku
                .and_then(|s| t.hot.get(&s))
                .map(|h| serde_json::to_string(h).unwrap()),
        })
    }
}

impl FakeStore {
    /// Stores the answer of the claim holding `c.token` (`IdempotencyStore::finish`).
    fn keep(t: &mut Tables, c: &Claim, status: u16, body: &str, keep_until: &str) {
        let k = (
            c.channel.clone(),
            c.key.clone(),
            c.method.clone(),
            c.path.clone(),
        );
        if let Some((r, expires)) = t.keys.get_mut(&k) {
            if r.state == "in_flight" && r.response_body.as_deref() == Some(c.token.as_str()) {
                *r = KeyRecord {
                    body_hash: r.body_hash.clone(),
                    state: "done".into(),
                    response_status: Some(i64::from(status)),
                    response_body: Some(body.into()),
                };
                *expires = keep_until.into();
            }
        }
    }

    /// A placement's effects on `t` (the cart closed when a checkout's), or why refused.
    fn placed(t: &mut Tables, p: &Placement<'_>) -> Result<String, StoreError> {
        if p.close_cart {
            let cart = t.carts.get_mut(p.cart_id).unwrap();
            if cart.version != p.cart_version || cart.status != CartStatus::Active {
                return refused("cart changed");
            }
            cart.status = CartStatus::CheckedOut;
            cart.version += 1;
        }
        for (sku, g) in &p.generations {
            if t.hot.get(sku).map_or(0, |h| h.generation) != *g {
                return refused("the SKU changed mode");
            }
        }
        FakeStore::moved(t, &p.reserve)?;
        for (id, sku) in &p.hot_holds {
            t.hot_holds
                .push((id.clone(), sku.clone(), p.order.id.clone()));
        }
        for id in &p.discounts {
            if let Some((d, used)) = t.discounts.iter_mut().find(|(d, _)| &d.id == id) {
                *used += 1;
                if d.usage_limit.is_some_and(|l| *used > l) {
                    return refused("usage limit");
                }
            }
        }
        let counter = t.counters.entry(p.order.market.clone()).or_default();
        *counter += 1;
        let number = format!("{}-{:06}", p.order.market, counter);
        let mut order = p.order.clone();
        order.number = number.clone();
        t.orders.insert(order.id.clone(), order);
        let mut placed = p.placed.clone();
        placed.data["number"] = json!(number);
        t.outbox.push(placed);
        if let Some(answer) = &p.answer {
            // As the placement's batch does: the claim's answer, with the number it gave.
            let mut body: serde_json::Value = serde_json::from_str(&answer.body).unwrap();
            body["order"]["number"] = json!(number);
            FakeStore::keep(
                t,
                answer.claim,
                answer.status,
                &body.to_string(),
                &answer.keep_until,
            );
        }
        Ok(number)
    }
}

impl OrderStore for FakeStore {
    async fn order(&self, id: &str) -> Result<Option<Order>, StoreError> {
        self.trip();
        Ok(self.t.borrow().orders.get(id).cloned())
    }

    async fn newest(
        &self,
        filter: &OrderFilter,
        at: &str,
        after_id: &str,
        limit: usize,
    ) -> Result<Vec<Order>, StoreError> {
        self.trip();
        let t = self.t.borrow();
        let mut found: Vec<Order> = t
            .orders
            .values()
            .filter(|o| match filter {
                OrderFilter::Staff(q) => {
                    q.status.is_none_or(|s| s == o.status)
                        && q.payment_status.is_none_or(|s| s == o.payment_status)
                        && q.fulfillment_status
                            .is_none_or(|s| s == o.fulfillment_status)
                        && q.market.as_ref().is_none_or(|m| *m == o.market)
                        && q.created_after.as_ref().is_none_or(|t| o.created_at > *t)
                        && q.created_before.as_ref().is_none_or(|t| o.created_at < *t)
                        && q.q.as_ref().is_none_or(|q| {
                            let email = serde_json::from_str::<serde_json::Value>(&o.body)
                                .ok()
                                .and_then(|b| b["email"].as_str().map(str::to_lowercase))
                                .unwrap_or_default();
                            o.number == q.to_uppercase() || email.starts_with(&q.to_lowercase())
                        })
                }
                OrderFilter::Customer {
                    customer_id,
                    channel_id,
                } => o.customer_id.as_ref() == Some(customer_id) && &o.channel_id == channel_id,
            })
            .filter(|o| (o.created_at.as_str(), o.id.as_str()) < (at, after_id))
            .cloned()
            .collect();
        found.sort_by(|a, b| (&b.created_at, &b.id).cmp(&(&a.created_at, &a.id)));
        found.truncate(limit);
        Ok(found)
    }

    async fn overdue(&self, now: &str, limit: usize) -> Result<Vec<Order>, StoreError> {
        self.trip();
        let t = self.t.borrow();
        Ok(t.orders
            .values()
            .filter(|o| {
                o.status == comptoir::domain::order::OrderStatus::PendingPayment
                    && o.pay_by.as_str() <= now
            })
            .take(limit)
            .cloned()
            .collect())
    }

    async fn place(&self, p: &Placement<'_>) -> Result<String, StoreError> {
        self.trip();
        if let Some((sku, q)) = self.sold_meanwhile.borrow_mut().take() {
            self.t.borrow_mut().inventory.get_mut(&sku).unwrap().1 += q;
        }
        let mut t = self.t.borrow().clone();
        let number = FakeStore::placed(&mut t, p)?;
        *self.t.borrow_mut() = t;
        Ok(number)
    }

    async fn exchange(
        &self,
        change: &OrderChange,
        placement: &Placement<'_>,
    ) -> Result<String, StoreError> {
        let saved = self.t.borrow().clone();
        self.apply(change, None).await?;
        let mut t = self.t.borrow().clone();
        match FakeStore::placed(&mut t, placement) {
            Ok(number) => {
                *self.t.borrow_mut() = t;
                Ok(number)
            }
            Err(e) => {
                *self.t.borrow_mut() = saved;
                Err(e)
            }
        }
    }

    async fn stock(&self, skus: &[String]) -> Result<StockPicture, StoreError> {
        self.trip();
        Ok(FakeStore::picture(
            &self.t.borrow(),
            skus.iter().map(String::as_str),
        ))
    }

    async fn apply(
        &self,
        change: &OrderChange,
        receipt: Option<&Receipt>,
    ) -> Result<(), StoreError> {
        self.trip();
        if self.order_races.get() > 0 {
            self.order_races.set(self.order_races.get() - 1);
            return refused("order changed");
        }
        let mut t = self.t.borrow().clone();
        let stored = &t.orders[&change.before.id];
        if stored.version != change.before.version
            || stored.last_sequence != change.before.last_sequence
        {
            return refused("order guard");
        }
        let after = &change.after;
        let committed: i64 = after.refunds.iter().map(|r| r.amount).sum();
        if committed > after.paid_minor {
            return refused("refunds beyond what was paid");
        }
        for l in &after.lines {
            if l.returned_quantity > l.fulfilled_quantity || l.refunded_amount > l.total {
                return refused("CHECK constraint failed: order_lines");
            }
        }
        for (sku, location, q) in &change.records.restock {
            if let Some((on_hand, _)) = t.inventory.get_mut(sku).filter(|_| location == MAIN) {
                *on_hand += q;
            }
        }
        if let Some(a) = &change.records.action {
            t.actions
                .push((after.id.clone(), a.clone(), after.updated_at.clone()));
        }
        if let Some(r) = receipt {
            if t.receipts.iter().any(|x| x.event_id == r.event_id) {
                return refused("UNIQUE constraint failed: payment_events.id");
            }
            t.receipts.push(r.clone());
        }
        FakeStore::moved(&mut t, &change.stock)?;
        t.orders
            .insert(change.after.id.clone(), change.after.clone());
        t.outbox.extend(change.events.iter().cloned());
        *self.t.borrow_mut() = t;
        Ok(())
    }

    async fn received(&self, event_id: &str) -> Result<bool, StoreError> {
        self.trip();
        Ok(self
            .t
            .borrow()
            .receipts
            .iter()
            .any(|r| r.event_id == event_id))
    }

    async fn record(&self, receipt: &Receipt) -> Result<(), StoreError> {
        self.trip();
        self.t.borrow_mut().receipts.push(receipt.clone());
        Ok(())
    }

    async fn order_of(&self, of: OrderOf<'_>) -> Result<Option<Order>, StoreError> {
        self.trip();
        let t = self.t.borrow();
        Ok(t.orders
            .values()
            .find(|o| match of {
                OrderOf::Return(id) => o.returns.iter().any(|r| r.id == id),
                OrderOf::Refund(id) => o.refunds.iter().any(|r| r.id == id),
                OrderOf::ProviderRefund(id) => o
                    .refunds
                    .iter()
                    .any(|r| r.provider_reference.as_deref() == Some(id)),
            })
            .cloned())
    }

    async fn returns(
        &self,
        filter: &ReturnFilter,
        at: &str,
        after_id: &str,
        limit: usize,
    ) -> Result<Vec<Return>, StoreError> {
        self.trip();
        let t = self.t.borrow();
        let mut found: Vec<Return> = t
            .orders
            .values()
            .flat_map(|o| o.returns.iter().cloned())
            .filter(|r| filter.status.is_none_or(|s| s == r.status))
            .filter(|r| filter.order_id.as_ref().is_none_or(|o| o == &r.order_id))
            .filter(|r| (r.created_at.as_str(), r.id.as_str()) < (at, after_id))
            .collect();
        found.sort_by(|a, b| (&b.created_at, &b.id).cmp(&(&a.created_at, &a.id)));
        found.truncate(limit);
        Ok(found)
    }

    async fn timeline(&self, order_id: &str) -> Result<Vec<TimelineEntry>, StoreError> {
        self.trip();
        let t = self.t.borrow();
        let mut out: Vec<TimelineEntry> = t
            .outbox
            .iter()
            .filter(|e| e.data["id"] == order_id)
            .map(|e| TimelineEntry {
                at: e.created_at.clone(),
                kind: "event",
                actor: None,
                summary: e.event_type.as_str().into(),
                reference: Some(e.id.clone()),
            })
            .chain(
                t.actions
                    .iter()
                    .filter(|(o, _, _)| o == order_id)
                    .map(|(_, a, at)| TimelineEntry {
                        at: at.clone(),
                        kind: "admin_action",
                        actor: Some(a.actor.clone()),
                        summary: a.summary.clone(),
                        reference: a.reference.clone(),
                    }),
            )
            .collect();
        out.sort_by(|a, b| a.at.cmp(&b.at));
        Ok(out)
    }
}

impl EditPricing for FakeStore {
    async fn edit_sources(
        &self,
        market: &str,
        _currency: &str,
        skus: &[String],
        _codes: &[String],
    ) -> Result<Option<EditSources>, StoreError> {
        self.trip();
        if market != "FR" {
            return Ok(None);
        }
        // Today's catalog: the prices the tables hold now.
        let mut catalog = snapshot();
        let t = self.t.borrow();
        for p in &mut catalog.products {
            for v in &mut p.variants {
                if let Some(price) = t.prices.get(&("FR".to_string(), v.sku.clone())) {
                    v.price =
                        comptoir::domain::money::Money::from_minor(*price, fr().currency).unwrap();
                }
            }
        }
        Ok(Some(EditSources {
            market: fr(),
            catalog,
            discounts: t.discounts.iter().map(|(d, _)| d.clone()).collect(),
            stock: FakeStore::picture(&t, skus.iter().map(String::as_str)),
        }))
    }
}

impl IdempotencyStore for FakeStore {
    async fn claim(
        &self,
        c: &Claim,
        cart: Option<&str>,
    ) -> Result<(Option<KeyRecord>, Option<CartData>), StoreError> {
        self.trip();
        let mut t = self.t.borrow_mut();
        let k = (
            c.channel.clone(),
            c.key.clone(),
            c.method.clone(),
            c.path.clone(),
        );
        let live = t
            .keys
            .get(&k)
            .is_some_and(|(_, expires)| expires.as_str() > c.now.as_str());
        if !live {
            let record = KeyRecord {
                body_hash: c.body_hash.clone(),
                state: "in_flight".into(),
                response_status: None,
                response_body: Some(c.token.clone()),
            };
            t.keys.insert(k.clone(), (record, c.lease_until.clone()));
        }
        let record = t.keys.get(&k).map(|(r, _)| r.clone());
        Ok((record, cart.and_then(|id| FakeStore::data(&t, id))))
    }

    async fn finish(
        &self,
        c: &Claim,
        status: u16,
        body: &str,
        keep_until: &str,
    ) -> Result<(), StoreError> {
        self.trip();
        FakeStore::keep(&mut self.t.borrow_mut(), c, status, body, keep_until);
        Ok(())
    }

    async fn release(&self, c: &Claim) -> Result<(), StoreError> {
        self.trip();
        let mut t = self.t.borrow_mut();
        let k = (
            c.channel.clone(),
            c.key.clone(),
            c.method.clone(),
            c.path.clone(),
        );
        if t.keys
            .get(&k)
            .is_some_and(|(r, _)| r.response_body.as_deref() == Some(c.token.as_str()))
        {
            t.keys.remove(&k);
        }
        Ok(())
    }
}

/// A payment provider that answers at once (an intent per order, or a failure) or never.
#[derive(Default)]
pub struct FakePay {
    pub secret: bool,
    /// Stripe answers 5xx.
    pub fail: Cell<bool>,
    /// Stripe never answers (the checkout's timer runs out first).
    pub hang: Cell<bool>,
    /// The orders an intent was created for.
    pub intents: RefCell<Vec<String>>,
    /// The intents canceled.
    pub canceled: RefCell<Vec<String>>,
    /// Settlements sent: (refund id, amount, idempotency key).
    pub refunds: RefCell<Vec<(String, i64, String)>>,
    pub refund_answer: Cell<RefundAnswer>,
}

impl PaymentProvider for FakePay {
    fn configured(&self) -> bool {
        self.secret
    }

    async fn create_intent(&self, order: &Order) -> Result<PaymentIntent, String> {
        if self.hang.get() {
            std::future::pending::<()>().await;
        }
        if self.fail.get() {
            return Err("Stripe answered 500".into());
        }
        self.intents.borrow_mut().push(order.id.clone());
        Ok(PaymentIntent {
            id: format!("pi_{}", order.id),
            client_secret: format!("pi_{}_secret", order.id),
        })
    }

    fn cancel_intent(&self, intent_id: &str) {
        self.canceled.borrow_mut().push(intent_id.into());
    }
}

impl Settlements for FakePay {
    async fn collect(
        &self,
        order: &Order,
        amount: i64,
        key: &str,
    ) -> Result<PaymentIntent, String> {
        if self.fail.get() {
            return Err("Stripe answered 500".into());
        }
        self.intents
            .borrow_mut()
            .push(format!("{}:{amount}:{key}", order.id));
        Ok(PaymentIntent {
            id: format!("pi_{key}"),
            client_secret: format!("pi_{key}_secret"),
        })
    }

    fn abandon(&self, intent_id: &str) {
        self.canceled.borrow_mut().push(intent_id.into());
    }

    async fn refund(&self, r: &RefundOrder<'_>) -> RefundOutcome {
        if self.hang.get() {
            std::future::pending::<()>().await;
        }
        self.refunds.borrow_mut().push((
            r.refund_id.to_string(),
            r.amount,
            r.idempotency_key.clone(),
        ));
        let reference = format!("re_{}", r.idempotency_key);
        match self.refund_answer.get() {
            RefundAnswer::Succeed => RefundOutcome::Succeeded { reference },
            RefundAnswer::Pending => RefundOutcome::Pending { reference },
            RefundAnswer::Fail => RefundOutcome::Failed {
                reference: Some(reference),
                reason: "insufficient_funds".into(),
            },
            RefundAnswer::Unknown => RefundOutcome::Unknown {
                cause: "Stripe answered 500".into(),
            },
        }
    }
}

/// How the fake provider answers refunds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RefundAnswer {
    #[default]
    Succeed,
    Pending,
    Fail,
    Unknown,
}

/// The Idempotency-Key claim of `cart`'s checkout, as the HTTP adapter makes it.
pub fn claim(cart: &str) -> Claim {
    Claim {
        channel: "web".into(),
        key: format!("key-{cart}"),
        method: "POST".into(),
        path: format!("/v1/carts/{cart}/checkout"),
        body_hash: "h".into(),
        token: format!("claim-{cart}"),
        now: NOW.into(),
        lease_until: "2026-06-01T12:01:00.000Z".into(),
    }
}

pub fn settings() -> Settings {
    Settings::default()
}

/// The cart as the shopper receives it, as JSON.
pub fn wire(shown: &comptoir::app::cart::CartShown) -> serde_json::Value {
    serde_json::to_value(&shown.view).unwrap()
}

/// A demo shop over the fakes: its store, catalog, platform, payment provider and channel.
pub struct World {
    pub store: FakeStore,
    pub catalog: FakeCatalog,
    pub platform: FakePlatform,
    pub pay: FakePay,
    pub channel: Channel,
    pub settings: Settings,
}

impl World {
    pub fn new() -> World {
        World {
            store: FakeStore::seeded(),
            catalog: FakeCatalog::default(),
            platform: FakePlatform::default(),
            pay: FakePay {
                secret: true,
                ..FakePay::default()
            },
            channel: channel(),
            settings: settings(),
        }
    }

    /// The cart use cases of this shop.
    pub fn shop(&self) -> comptoir::app::cart::Shop<'_, FakeStore, FakeCatalog, FakePlatform> {
        comptoir::app::cart::Shop {
            store: &self.store,
            catalog: &self.catalog,
            platform: &self.platform,
            channel: &self.channel,
            settings: &self.settings,
        }
    }

    /// A back-office action on an order, by `staff`, through `app::after_sale`.
    pub fn act(
        &self,
        id: &str,
        action: comptoir::domain::order::Action,
        detail: Option<serde_json::Value>,
    ) -> Result<Order, comptoir::app::Failure<comptoir::app::orders::OrderRefusal>> {
        use comptoir::app::after_sale::{act, decided, Actor, Of};
        block_on(act(
            &self.store,
            &self.services(),
            Of::Order(id),
            Actor::Staff("staff"),
            "test",
            |o, _| decided(o, &action, detail.clone()),
        ))
    }

    /// The services the after-sale use cases need.
    pub fn services(&self) -> comptoir::app::after_sale::Services<'_, FakePlatform, FakePay> {
        comptoir::app::after_sale::Services {
            platform: &self.platform,
            refunds: &self.pay,
            timeout_ms: 1000.0,
            low_stock_threshold: 5,
        }
    }

    /// The checkout of this shop.
    pub fn till(
        &self,
    ) -> comptoir::app::checkout::Till<'_, FakeStore, FakeCatalog, FakePlatform, FakePay> {
        comptoir::app::checkout::Till {
            store: &self.store,
            catalog: &self.catalog,
            platform: &self.platform,
            payments: &self.pay,
            channel: &self.channel,
            settings: &self.settings,
            by: comptoir::app::checkout::PlacedBy::Shopper,
        }
    }
}
