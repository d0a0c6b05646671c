//! Stock where it really is (API.md "Stock locations"): the locations that hold stock, and the
//! allocation of an order's lines to them. Pure: the use case brings the locations and what each
//! has available.
//!
//! Allocation: the eligible locations are those serving the shipping country (a location with
//! no countries serves every one), or only the pickup store of a pickup method. The location
//! that comes first by `priority` (lowest number first, then id) and can fill the whole order
//! takes it all; when none can, each line is filled greedily in that order. An order that the
//! eligible locations cannot cover is refused, naming the first SKU short and what they hold.

use crate::domain::fields::{FieldError, Fields};
use serde::Serialize;
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// The location every store has from its migration on: a warehouse serving every country,
/// priority 100, holding all stock written without a location.
pub const MAIN: &str = "main";

/// The fields of `PUT /admin/v1/locations/{id}`.
pub const LOCATION_FIELDS: &[&str] =
    &["name", "kind", "countries", "priority", "pickup", "address"];
const ADDRESS_FIELDS: &[&str] = &[
    "line1",
    "line2",
    "city",
    "state",
    "postal_code",
    "country",
    "phone",
];

/// A location id: 1 to 64 of `A-Z a-z 0-9 _ -`.
pub fn is_location_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// A location as the admin API writes and shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LocationDef {
    pub id: String,
    pub name: String,
    pub kind: &'static str,
    pub countries: Vec<String>,
    pub priority: i64,
    pub pickup: bool,
    /// `{line1, line2?, city, state?, postal_code, country, phone?}`, or null.
    pub address: Value,
}

impl LocationDef {
    /// What allocation needs of it.
    pub fn location(&self) -> Location {
        Location {
            id: self.id.clone(),
            kind: LocationKind::parse(self.kind).unwrap_or(LocationKind::Warehouse),
            countries: self.countries.clone(),
            priority: self.priority,
            pickup: self.pickup,
        }
    }
}

fn country_code(path: String, c: &str) -> Result<String, FieldError> {
    if c.len() == 2 && c.bytes().all(|b| b.is_ascii_uppercase()) {
        Ok(c.to_string())
    } else {
        Err(FieldError::new(
            path,
            "must be an ISO 3166-1 alpha-2 code such as FR",
        ))
    }
}

/// Reads `PUT /admin/v1/locations/{id}`: `name` and `kind` required; `countries` (none: every
/// country), `priority` (100), `pickup` (false) and `address` optional.
pub fn location_from(id: &str, body: &Map<String, Value>) -> Result<LocationDef, FieldError> {
    let f = Fields::new(body);
    f.only(LOCATION_FIELDS)?;
    let name = f.text("name", 200)?;
    let kind = f.string("kind")?;
    let kind = LocationKind::parse(kind)
        .ok_or_else(|| FieldError::new("kind", "must be warehouse or store"))?
        .as_str();
    let mut countries = Vec::new();
    for (i, c) in f
        .opt_string_list("countries", 250)?
        .unwrap_or_default()
        .into_iter()
        .enumerate()
    {
        let c = country_code(format!("countries[{i}]"), c)?;
        if !countries.contains(&c) {
            countries.push(c);
        }
    }
    let priority = f
        .opt_int("priority", -1_000_000..=1_000_000)?
        .unwrap_or(100);
    let pickup = f.opt_bool("pickup")?.unwrap_or(false);
    let address = match body.get("address") {
        None | Some(Value::Null) => Value::Null,
        Some(Value::Object(a)) => {
            let g = Fields::nested(a, "address".into());
            g.only(ADDRESS_FIELDS)?;
            let mut out = Map::new();
            for (name, required) in [
                ("line1", true),
                ("line2", false),
                ("city", true),
                ("state", false),
                ("postal_code", true),
                ("country", true),
                ("phone", false),
            ] {
                let v = if required {
                    Some(g.string(name)?)
                } else {
                    g.opt_string(name)?
                };
                let Some(v) = v.map(str::trim) else { continue };
                if (required && v.is_empty())
                    || v.chars().count() > 200
                    || v.chars().any(char::is_control)
                {
                    return Err(FieldError::new(g.path(name), "must be 1 to 200 characters"));
                }
                let v = if name == "country" {
                    country_code(g.path(name), v)?
                } else {
                    v.to_string()
                };
                out.insert(name.into(), Value::String(v));
            }
            Value::Object(out)
        }
        Some(_) => return Err(FieldError::new("address", "must be an address object")),
    };
    Ok(LocationDef {
        id: id.to_string(),
        name: name.to_string(),
        kind,
        countries,
        priority,
        pickup,
        address,
    })
}

/// What a location is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LocationKind {
    Warehouse,
    Store,
}

text_enum!(LocationKind { Warehouse => "warehouse", Store => "store" });

/// A place that holds stock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub id: String,
    pub kind: LocationKind,
    /// ISO 3166-1 alpha-2 codes it ships to; empty: every country.
    pub countries: Vec<String>,
    /// Lower first.
    pub priority: i64,
    /// Shoppers may collect orders there.
    pub pickup: bool,
}

impl Location {
    /// Whether it ships to `country` (`None`: the address is not known yet, any will do).
    pub fn serves(&self, country: Option<&str>) -> bool {
        match country {
            None => true,
            Some(c) => self.countries.is_empty() || self.countries.iter().any(|x| x == c),
        }
    }
}

/// The line of an order to allocate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wanted {
    pub line_id: String,
    pub sku: String,
    pub quantity: i64,
}

/// Units of a line taken at a location.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Allocation {
    pub line_id: String,
    pub location: String,
    pub quantity: i64,
}

/// Where the order ships from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Destination<'a> {
    /// Shipped to this country (`None`: not known yet).
    Ship(Option<&'a str>),
    /// Collected at this store.
    Pickup(&'a str),
    /// Somewhere in these countries (a cart without an address: any country of its market).
    Within(&'a [String]),
}

impl<'a> Destination<'a> {
    /// Where an order goes: to the pickup store of its shipping method if it has one, else to
    /// its shipping country, else (no address yet) anywhere in `market_countries`.
    pub fn of(
        pickup: Option<&'a str>,
        country: Option<&'a str>,
        market_countries: &'a [String],
    ) -> Destination<'a> {
        match (pickup, country) {
            (Some(store), _) => Destination::Pickup(store),
            (None, Some(c)) => Destination::Ship(Some(c)),
            (None, None) => Destination::Within(market_countries),
        }
    }
}

/// Where some SKUs' stock is: the locations, and what each has available per SKU.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StockPicture {
    pub locations: Vec<Location>,
    pub available: Availability,
    /// Those of its SKUs whose stock authority is in Durable Objects (hot SKUs).
    pub hot: Vec<crate::domain::hot::HotSku>,
}

impl StockPicture {
    /// The hot SKU `sku`, if it is one.
    pub fn hot(&self, sku: &str) -> Option<&crate::domain::hot::HotSku> {
        self.hot.iter().find(|h| h.sku == sku)
    }

    /// The generation each of `skus` is planned with: the hot one's, 0 for the normal path
    /// (what a placement's guard checks is still so when it commits).
    pub fn generations(&self, skus: &[String]) -> Vec<(String, i64)> {
        skus.iter()
            .map(|s| (s.clone(), self.hot(s).map_or(0, |h| h.generation)))
            .collect()
    }

    /// Takes the objects' word for what `sku` has available per location.
    pub fn set_available(&mut self, sku: &str, units: &crate::domain::hot::Units) {
        self.available.retain(|(s, _), _| s != sku);
        for (location, n) in units {
            if *n > 0 {
                self.available
                    .insert((sku.to_string(), location.clone()), *n);
            }
        }
    }

    /// Units of `sku` available at the locations eligible for `destination`.
    pub fn total(&self, sku: &str, destination: Destination<'_>) -> i64 {
        eligible(&self.locations, destination)
            .iter()
            .map(|l| {
                self.available
                    .get(&(sku.to_string(), l.id.clone()))
                    .copied()
                    .unwrap_or(0)
                    .max(0)
            })
            .sum()
    }

    /// Allocates what the locations eligible for `destination` hold of `lines` (lines of one
    /// SKU in turn), and says what no location holds: for a sale taken whatever the stock (an
    /// imported order), where [`Self::allocate`] would refuse it.
    pub fn allocate_available(
        &self,
        lines: &[Wanted],
        destination: Destination<'_>,
    ) -> (Vec<Allocation>, Vec<Shortfall>) {
        let mut left: BTreeMap<&str, i64> = BTreeMap::new();
        let (mut fits, mut short) = (Vec::new(), Vec::new());
        for w in lines {
            let held = left
                .entry(&w.sku)
                .or_insert_with(|| self.total(&w.sku, destination));
            let fit = w.quantity.min(*held);
            *held -= fit;
            if fit < w.quantity {
                short.push(Shortfall {
                    line_id: w.line_id.clone(),
                    sku: w.sku.clone(),
                    quantity: w.quantity - fit,
                });
            }
            if fit > 0 {
                fits.push(Wanted {
                    quantity: fit,
                    ..w.clone()
                });
            }
        }
        // Every SKU's units are within what the eligible locations hold: this allocates them.
        let allocations = self.allocate(&fits, destination).unwrap_or_default();
        (allocations, short)
    }

    /// Allocates `lines` for `destination` (see [`allocate`]).
    pub fn allocate(
        &self,
        lines: &[Wanted],
        destination: Destination<'_>,
    ) -> Result<Vec<Allocation>, Short> {
        allocate(lines, &self.locations, &self.available, destination)
    }
}

/// Units of a line that no eligible location holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shortfall {
    pub line_id: String,
    pub sku: String,
    pub quantity: i64,
}

/// Why an order cannot be allocated: the first SKU short, and what the eligible locations hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Short {
    pub sku: String,
    pub available: i64,
}

/// Available units per (SKU, location id).
pub type Availability = BTreeMap<(String, String), i64>;

/// The locations eligible for `destination`, in allocation order.
pub fn eligible<'l>(locations: &'l [Location], destination: Destination<'_>) -> Vec<&'l Location> {
    let mut out: Vec<&Location> = locations
        .iter()
        .filter(|l| match destination {
            Destination::Ship(country) => l.serves(country),
            Destination::Pickup(store) => l.id == store && l.pickup,
            Destination::Within(countries) => countries.iter().any(|c| l.serves(Some(c))),
        })
        .collect();
    // By priority, then id. A handful of locations: an insertion sort, not the standard
    // library's (whose code weighs on the storefront's bundle).
    for i in 1..out.len() {
        let mut j = i;
        while j > 0 && (out[j].priority, &out[j].id) < (out[j - 1].priority, &out[j - 1].id) {
            out.swap(j, j - 1);
            j -= 1;
        }
    }
    out
}

/// Allocates `lines` (see the module's rules). Lines of the same SKU share its stock.
pub fn allocate(
    lines: &[Wanted],
    locations: &[Location],
    available: &Availability,
    destination: Destination<'_>,
) -> Result<Vec<Allocation>, Short> {
    let order = eligible(locations, destination);
    let left_at = |sku: &str, loc: &str| {
        available
            .get(&(sku.to_string(), loc.to_string()))
            .copied()
            .unwrap_or(0)
            .max(0)
    };
    // Units wanted per SKU, in the order SKUs first appear.
    let mut wanted: Vec<(&str, i64)> = Vec::new();
    for l in lines {
        match wanted.iter_mut().find(|(s, _)| *s == l.sku) {
            Some((_, q)) => *q += l.quantity,
            None => wanted.push((&l.sku, l.quantity)),
        }
    }
    for (sku, q) in &wanted {
        let held: i64 = order.iter().map(|l| left_at(sku, &l.id)).sum();
        if held < *q {
            return Err(Short {
                sku: sku.to_string(),
                available: held,
            });
        }
    }
    // One location that fills the whole order.
    if let Some(one) = order
        .iter()
        .find(|l| wanted.iter().all(|(sku, q)| left_at(sku, &l.id) >= *q))
    {
        return Ok(lines
            .iter()
            .filter(|l| l.quantity > 0)
            .map(|l| Allocation {
                line_id: l.line_id.clone(),
                location: one.id.clone(),
                quantity: l.quantity,
            })
            .collect());
    }
    // Else each line, greedily, in the locations' order.
    let mut left: Availability = BTreeMap::new();
    let mut out = Vec::new();
    for line in lines {
        let mut need = line.quantity;
        for loc in &order {
            if need == 0 {
                break;
            }
            let key = (line.sku.clone(), loc.id.clone());
            let here = left
                .entry(key)
                .or_insert_with(|| left_at(&line.sku, &loc.id));
            let take = need.min(*here);
            if take > 0 {
                *here -= take;
                need -= take;
                out.push(Allocation {
                    line_id: line.line_id.clone(),
                    location: loc.id.clone(),
                    quantity: take,
                });
            }
        }
    }
    Ok(out)
}

/// At most this many items in one `POST /admin/v1/inventory/sync`.
pub const SYNC_MAX_ITEMS: usize = 5000;

/// One item of an inventory sync: the on hand at a location set outright, or changed by a
/// delta with its reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SyncItem {
    pub sku: String,
    pub location: String,
    pub on_hand: Option<i64>,
    pub delta: Option<i64>,
    pub reason: Option<String>,
}

/// Reads `{items: [{sku, location, on_hand} | {sku, location, delta, reason}]}`: 1 to 5,000
/// items, each (SKU, location) once. The first bad item is named (`items[3].delta`).
pub fn sync_items(body: &Map<String, Value>) -> Result<Vec<SyncItem>, FieldError> {
    const UNITS: std::ops::RangeInclusive<i64> = -1_000_000_000..=1_000_000_000;
    let f = Fields::new(body);
    f.only(&["items"])?;
    let mut out: Vec<SyncItem> = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for item in f.objects("items", 1, SYNC_MAX_ITEMS)? {
        item.only(&["sku", "location", "on_hand", "delta", "reason"])?;
        let sku = crate::domain::product::normalize_sku(item.string("sku")?)
            .ok_or_else(|| FieldError::new(item.path("sku"), "must be a SKU (A-Z 0-9 . _ -)"))?;
        let location = item.string("location")?;
        if !is_location_id(location) {
            return Err(FieldError::new(
                item.path("location"),
                "must be a location id",
            ));
        }
        let on_hand = item.opt_int("on_hand", 0..=*UNITS.end())?;
        let delta = item.opt_int("delta", UNITS)?;
        let reason = item.opt_string("reason")?.map(str::trim);
        let reason = match (on_hand, delta) {
            (Some(_), None) => reason.map(str::to_string),
            (None, Some(0)) => return Err(FieldError::new(item.path("delta"), "must not be zero")),
            (None, Some(_)) => match reason {
                Some(r) if !r.is_empty() && r.chars().count() <= 200 => Some(r.to_string()),
                _ => {
                    return Err(FieldError::new(
                        item.path("reason"),
                        "a delta needs a reason of 1 to 200 characters",
                    ))
                }
            },
            _ => {
                return Err(FieldError::new(
                    item.path("on_hand"),
                    "give either on_hand or delta (with a reason)",
                ))
            }
        };
        if reason
            .as_ref()
            .is_some_and(|r| r.is_empty() || r.chars().count() > 200)
        {
            return Err(FieldError::new(
                item.path("reason"),
                "must be 1 to 200 characters",
            ));
        }
        if !seen.insert((sku.clone(), location.to_string())) {
            return Err(FieldError::new(
                item.path("sku"),
                format!("{sku} at {location} appears twice in this sync"),
            ));
        }
        out.push(SyncItem {
            sku,
            location: location.to_string(),
            on_hand,
            delta,
            reason,
        });
    }
    Ok(out)
}

/// Units of an order line assigned to a location: `quantity` taken there (reserved until they
/// ship), `fulfilled` of them shipped. A line's allocations add up to the units it still ships
/// or has shipped (its quantity less refunded unshipped units).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LineAllocation {
    pub location: String,
    pub quantity: i64,
    #[serde(rename = "fulfilled_quantity")]
    pub fulfilled: i64,
}

impl LineAllocation {
    /// Units reserved there, not yet shipped.
    pub fn open(&self) -> i64 {
        self.quantity - self.fulfilled
    }
}

/// A line's allocations as stored (`[{location, quantity, fulfilled_quantity}]`); entries that
/// cannot be read are left out.
pub fn allocations_from(value: &Value) -> Vec<LineAllocation> {
    value
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| {
                    Some(LineAllocation {
                        location: x["location"].as_str()?.to_string(),
                        quantity: x["quantity"].as_i64()?,
                        fulfilled: x["fulfilled_quantity"].as_i64().unwrap_or(0),
                    })
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Open units of a line at `location`.
pub fn open_at(allocations: &[LineAllocation], location: &str) -> i64 {
    allocations
        .iter()
        .filter(|a| a.location == location)
        .map(LineAllocation::open)
        .sum()
}

/// Where a line's returned units go back on hand: the location most of them shipped from
/// (the first such), else the first it was allocated at, else `main`.
pub fn home(allocations: &[LineAllocation]) -> String {
    allocations
        .iter()
        .filter(|a| a.fulfilled > 0)
        .fold(None::<&LineAllocation>, |best, a| match best {
            Some(b) if b.fulfilled >= a.fulfilled => Some(b),
            _ => Some(a),
        })
        .or(allocations.first())
        .map_or_else(|| MAIN.to_string(), |a| a.location.clone())
}

/// Takes back `n` open units of a line (a cancel, a refund before shipping, an edit), the last
/// allocation first: what the greedy split took last goes back first. Returns the units
/// released per location. An allocation left empty stays (quantity 0): the order still names
/// the location, so the system that ships from there hears that the units are gone.
pub fn release(allocations: &mut [LineAllocation], n: i64) -> Vec<(String, i64)> {
    let mut left = n.max(0);
    let mut out = Vec::new();
    for a in allocations.iter_mut().rev() {
        let take = left.min(a.open());
        if take > 0 {
            a.quantity -= take;
            left -= take;
            out.push((a.location.clone(), take));
        }
    }
    out
}

/// Ships `n` units of a line: from `at` only, or, with no location named, from its allocations
/// in turn. Returns the units shipped per location, or the open units there are (at `at`, or in
/// all) when fewer than `n`.
pub fn ship(
    allocations: &mut [LineAllocation],
    n: i64,
    at: Option<&str>,
) -> Result<Vec<(String, i64)>, i64> {
    let here = |a: &LineAllocation| at.is_none_or(|l| a.location == l);
    let open: i64 = allocations
        .iter()
        .filter(|a| here(a))
        .map(LineAllocation::open)
        .sum();
    if open < n {
        return Err(open);
    }
    let mut left = n;
    let mut out = Vec::new();
    for a in allocations.iter_mut().filter(|a| here(a)) {
        let take = left.min(a.open());
        if take > 0 {
            a.fulfilled += take;
            left -= take;
            out.push((a.location.clone(), take));
        }
    }
    Ok(out)
}

/// Adds `n` units of a line at `location` (newly allocated or moved there).
pub fn assign(allocations: &mut Vec<LineAllocation>, location: &str, n: i64) {
    if n <= 0 {
        return;
    }
    match allocations.iter_mut().find(|a| a.location == location) {
        Some(a) => a.quantity += n,
        None => allocations.push(LineAllocation {
            location: location.to_string(),
            quantity: n,
            fulfilled: 0,
        }),
    }
}

/// Moves `n` open units of a line from one location to another (the allocation left behind
/// stays, emptied, as [`release`] leaves it); `Err` gives the open units at `from` when fewer.
pub fn move_units(
    allocations: &mut Vec<LineAllocation>,
    from: &str,
    to: &str,
    n: i64,
) -> Result<(), i64> {
    let open = open_at(allocations, from);
    if open < n {
        return Err(open);
    }
    let mut left = n;
    for a in allocations.iter_mut().filter(|a| a.location == from) {
        let take = left.min(a.open());
        a.quantity -= take;
        left -= take;
    }
    assign(allocations, to, n);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    #[test]
    fn a_location_is_read_with_its_defaults_and_every_bad_field_is_named() {
        let body = |v: Value| v.as_object().unwrap().clone();
        let shop = location_from(
            "paris-shop",
            &body(json!({"name": " Paris shop ", "kind": "store", "countries": ["FR", "FR", "MC"], "pickup": true,
                         "address": {"line1": "3 rue de la Paix", "city": "Paris", "postal_code": "75002", "country": "FR"}})),
        )
        .unwrap();
        assert_eq!(
            (
                shop.name.as_str(),
                shop.kind,
                shop.countries.clone(),
                shop.priority,
                shop.pickup
            ),
            (
                "Paris shop",
                "store",
                vec!["FR".to_string(), "MC".to_string()],
                100,
                true
            )
        );
        assert_eq!(shop.address["city"], "Paris");
        let wh = location_from("wh", &body(json!({"name": "WH", "kind": "warehouse"}))).unwrap();
        assert_eq!(
            (wh.countries.len(), wh.address.clone()),
            (0, Value::Null),
            "every country, no address"
        );
        for (bad, field) in [
            (json!({"kind": "store"}), "name"),
            (json!({"name": "x", "kind": "depot"}), "kind"),
            (
                json!({"name": "x", "kind": "store", "countries": ["fr"]}),
                "countries[0]",
            ),
            (
                json!({"name": "x", "kind": "store", "priority": 1.5}),
                "priority",
            ),
            (
                json!({"name": "x", "kind": "store", "address": {"line1": "a", "city": "b", "postal_code": "c"}}),
                "address.country",
            ),
            (
                json!({"name": "x", "kind": "store", "address": {"line1": "a", "city": "b", "postal_code": "c", "country": "FR", "floor": 2}}),
                "address.floor",
            ),
            (json!({"name": "x", "kind": "store", "shelf": 1}), "shelf"),
        ] {
            assert_eq!(
                location_from("x", &body(bad.clone())).unwrap_err().field,
                field,
                "{bad}"
            );
        }
        assert!(is_location_id("main") && is_location_id("wh-2_b"));
        assert!(!is_location_id("") && !is_location_id("a b") && !is_location_id(&"x".repeat(65)));
    }

    fn loc(id: &str, priority: i64, countries: &[&str], pickup: bool) -> Location {
        Location {
            id: id.into(),
            kind: if pickup {
                LocationKind::Store
            } else {
                LocationKind::Warehouse
            },
            countries: countries.iter().map(|c| c.to_string()).collect(),
            priority,
            pickup,
        }
    }

    fn line(id: &str, sku: &str, quantity: i64) -> Wanted {
        Wanted {
            line_id: id.into(),
            sku: sku.into(),
            quantity,
        }
    }

    fn stock(entries: &[(&str, &str, i64)]) -> Availability {
        entries
            .iter()
            .map(|(s, l, q)| ((s.to_string(), l.to_string()), *q))
            .collect()
    }

    fn places() -> Vec<Location> {
        vec![
            loc("main", 100, &[], false),
            loc("paris", 10, &["FR"], false),
            loc("shop", 50, &["FR"], true),
            loc("nj", 20, &["US"], false),
        ]
    }

    #[test]
    fn the_first_location_by_priority_that_fills_the_whole_order_takes_it() {
        let available = stock(&[
            ("A", "paris", 1),
            ("A", "main", 5),
            ("B", "main", 5),
            ("B", "paris", 9),
        ]);
        let lines = [line("l1", "A", 2), line("l2", "B", 1)];
        // Paris comes first but cannot fill A: main fills everything.
        let got = allocate(&lines, &places(), &available, Destination::Ship(Some("FR"))).unwrap();
        assert!(got.iter().all(|a| a.location == "main"));
        // In the US, only main and nj serve: nj has nothing, main fills it.
        let got = allocate(&lines, &places(), &available, Destination::Ship(Some("US"))).unwrap();
        assert!(got.iter().all(|a| a.location == "main"));
    }

    #[test]
    fn when_no_location_fills_it_each_line_is_split_greedily_by_priority() {
        let available = stock(&[("A", "paris", 1), ("A", "shop", 1), ("A", "main", 1)]);
        let got = allocate(
            &[line("l1", "A", 3)],
            &places(),
            &available,
            Destination::Ship(Some("FR")),
        )
        .unwrap();
        let at: Vec<(&str, i64)> = got
            .iter()
            .map(|a| (a.location.as_str(), a.quantity))
            .collect();
        assert_eq!(at, [("paris", 1), ("shop", 1), ("main", 1)]);
        assert_eq!(
            allocate(
                &[line("l1", "A", 4)],
                &places(),
                &available,
                Destination::Ship(Some("FR"))
            ),
            Err(Short {
                sku: "A".into(),
                available: 3
            })
        );
        // A US shopper cannot be served from Paris or the shop.
        assert_eq!(
            allocate(
                &[line("l1", "A", 2)],
                &places(),
                &available,
                Destination::Ship(Some("US"))
            ),
            Err(Short {
                sku: "A".into(),
                available: 1
            })
        );
    }

    #[test]
    fn a_pickup_order_is_allocated_at_its_store_only() {
        let available = stock(&[("A", "shop", 1), ("A", "main", 9)]);
        let got = allocate(
            &[line("l1", "A", 1)],
            &places(),
            &available,
            Destination::Pickup("shop"),
        )
        .unwrap();
        assert_eq!(got[0].location, "shop");
        assert!(allocate(
            &[line("l1", "A", 2)],
            &places(),
            &available,
            Destination::Pickup("shop")
        )
        .is_err());
        assert!(
            allocate(
                &[line("l1", "A", 1)],
                &places(),
                &available,
                Destination::Pickup("main")
            )
            .is_err(),
            "main is no pickup store"
        );
    }

    #[test]
    fn a_sync_reads_absolute_and_delta_items_and_names_the_first_bad_one() {
        let body = |v: Value| v.as_object().unwrap().clone();
        let items = sync_items(&body(json!({"items": [
            {"sku": " mug ", "location": "main", "on_hand": 12},
            {"sku": "TEE-M", "location": "paris-store", "delta": -2, "reason": "shrinkage"}
        ]})))
        .unwrap();
        assert_eq!(items[0].sku, "MUG");
        assert_eq!((items[0].on_hand, items[0].delta), (Some(12), None));
        assert_eq!(
            (items[1].delta, items[1].reason.as_deref()),
            (Some(-2), Some("shrinkage"))
        );
        let refused = |v: Value| sync_items(&body(v)).unwrap_err().field;
        assert_eq!(refused(json!({"items": []})), "items");
        assert_eq!(
            refused(json!({"items": [{"sku": "A", "location": "main", "on_hand": -1}]})),
            "items[0].on_hand"
        );
        assert_eq!(
            refused(json!({"items": [{"sku": "A", "location": "main", "delta": 3}]})),
            "items[0].reason",
            "a delta says why"
        );
        assert_eq!(
            refused(
                json!({"items": [{"sku": "A", "location": "main", "on_hand": 1, "delta": 1, "reason": "x"}]})
            ),
            "items[0].on_hand",
            "one or the other"
        );
        assert_eq!(
            refused(
                json!({"items": [{"sku": "A", "location": "main", "on_hand": 1},
                                      {"sku": "a", "location": "main", "on_hand": 2}]})
            ),
            "items[1].sku",
            "a pair once"
        );
        assert_eq!(
            refused(json!({"items": [{"sku": "A", "location": "no place", "on_hand": 1}]})),
            "items[0].location"
        );
        let many: Vec<Value> = (0..=SYNC_MAX_ITEMS)
            .map(|i| json!({"sku": format!("S{i}"), "location": "main", "on_hand": 1}))
            .collect();
        assert_eq!(refused(json!({"items": many})), "items");
    }

    #[test]
    fn line_allocations_release_the_last_first_ship_where_named_and_move_between_places() {
        let mut a = vec![
            LineAllocation {
                location: "lyon".into(),
                quantity: 2,
                fulfilled: 0,
            },
            LineAllocation {
                location: "paris".into(),
                quantity: 3,
                fulfilled: 0,
            },
        ];
        assert_eq!(
            ship(&mut a, 3, Some("lyon")),
            Err(2),
            "only what is allocated there"
        );
        assert_eq!(
            ship(&mut a, 1, Some("paris")).unwrap(),
            vec![("paris".to_string(), 1)]
        );
        assert_eq!(
            release(&mut a, 3),
            vec![("paris".to_string(), 2), ("lyon".to_string(), 1)]
        );
        assert_eq!(
            a,
            vec![
                LineAllocation {
                    location: "lyon".into(),
                    quantity: 1,
                    fulfilled: 0
                },
                LineAllocation {
                    location: "paris".into(),
                    quantity: 1,
                    fulfilled: 1
                },
            ],
            "shipped units stay where they shipped from"
        );
        assert_eq!(
            move_units(&mut a, "paris", "lyon", 1),
            Err(0),
            "shipped units do not move"
        );
        move_units(&mut a, "lyon", "main", 1).unwrap();
        assert_eq!(
            a.iter()
                .map(|x| (x.location.as_str(), x.quantity))
                .collect::<Vec<_>>(),
            vec![("lyon", 0), ("paris", 1), ("main", 1)],
            "Lyon, emptied, is still named: its system hears the units left"
        );
        assert_eq!(home(&a), "paris", "returns go back where they shipped from");
        assert_eq!(home(&[]), MAIN);
    }

    fn arb_world() -> impl Strategy<
        Value = (
            Vec<Location>,
            Availability,
            Vec<Wanted>,
            Option<&'static str>,
        ),
    > {
        let countries = prop_oneof![
            Just(vec![]),
            Just(vec!["FR"]),
            Just(vec!["US"]),
            Just(vec!["FR", "US"])
        ];
        let location = (0i64..5, countries, any::<bool>());
        (
            proptest::collection::vec(location, 1..5),
            proptest::collection::vec((0usize..3, 0usize..5, 0i64..6), 0..15),
            proptest::collection::vec((0usize..3, 1i64..6), 1..5),
            prop_oneof![Just(None), Just(Some("FR")), Just(Some("US"))],
        )
            .prop_map(|(locs, stock, lines, country)| {
                let locations: Vec<Location> = locs
                    .iter()
                    .enumerate()
                    .map(|(i, (p, c, pickup))| Location {
                        id: format!("loc{i}"),
                        kind: LocationKind::Warehouse,
                        countries: c.iter().map(|s| s.to_string()).collect(),
                        priority: *p,
                        pickup: *pickup,
                    })
                    .collect();
                let skus = ["A", "B", "C"];
                let mut available = Availability::new();
                for (s, l, q) in stock {
                    if l < locations.len() {
                        *available
                            .entry((skus[s].into(), format!("loc{l}")))
                            .or_default() += q;
                    }
                }
                let lines = lines
                    .iter()
                    .enumerate()
                    .map(|(i, (s, q))| line(&format!("l{i}"), skus[*s], *q))
                    .collect();
                (locations, available, lines, country)
            })
    }

    proptest! {
        #[test]
        fn allocations_never_take_more_than_a_location_holds_cover_the_order_or_refuse_and_prefer_one_place(
            (locations, available, lines, country) in arb_world()
        ) {
            let destination = Destination::Ship(country);
            let got = allocate(&lines, &locations, &available, destination);
            prop_assert_eq!(&got, &allocate(&lines, &locations, &available, destination), "deterministic");
            let eligible: Vec<&Location> = eligible(&locations, destination);
            match got {
                Ok(allocs) => {
                    // Never more than a location holds, per SKU.
                    let mut taken: BTreeMap<(String, String), i64> = BTreeMap::new();
                    for a in &allocs {
                        prop_assert!(a.quantity > 0);
                        prop_assert!(eligible.iter().any(|l| l.id == a.location), "only eligible places");
                        let sku = &lines.iter().find(|l| l.line_id == a.line_id).unwrap().sku;
                        *taken.entry((sku.clone(), a.location.clone())).or_default() += a.quantity;
                    }
                    for (key, q) in &taken {
                        prop_assert!(*q <= available.get(key).copied().unwrap_or(0));
                    }
                    // Every line exactly covered.
                    for l in &lines {
                        let got: i64 = allocs.iter().filter(|a| a.line_id == l.line_id).map(|a| a.quantity).sum();
                        prop_assert_eq!(got, l.quantity);
                    }
                    // One place when one can fill it all: the first such by priority.
                    let one = eligible.iter().find(|loc| {
                        let mut need: BTreeMap<&str, i64> = BTreeMap::new();
                        for l in &lines { *need.entry(&l.sku).or_default() += l.quantity; }
                        need.iter().all(|(sku, q)| available.get(&(sku.to_string(), loc.id.clone())).copied().unwrap_or(0) >= *q)
                    });
                    if let Some(one) = one {
                        prop_assert!(allocs.iter().all(|a| a.location == one.id));
                    }
                }
                Err(short) => {
                    // Refused only when the eligible places together hold too little of a SKU.
                    let wanted: i64 = lines.iter().filter(|l| l.sku == short.sku).map(|l| l.quantity).sum();
                    let held: i64 = eligible.iter().map(|l| available.get(&(short.sku.clone(), l.id.clone())).copied().unwrap_or(0).max(0)).sum();
                    prop_assert_eq!(held, short.available);
                    prop_assert!(held < wanted);
                }
            }
        }
    }

    fn arb_allocations() -> impl Strategy<Value = Vec<LineAllocation>> {
        prop::collection::vec((0usize..4, 1i64..6, 0i64..6), 0..5).prop_map(|v| {
            let mut out: Vec<LineAllocation> = Vec::new();
            for (loc, quantity, shipped) in v {
                let location = ["lyon", "main", "nj", "paris"][loc].to_string();
                if out.iter().all(|a| a.location != location) {
                    out.push(LineAllocation {
                        location,
                        quantity,
                        fulfilled: shipped.min(quantity),
                    });
                }
            }
            out
        })
    }

    fn totals(a: &[LineAllocation]) -> (i64, i64) {
        (
            a.iter().map(|x| x.quantity).sum(),
            a.iter().map(|x| x.fulfilled).sum(),
        )
    }

    proptest! {
        #[test]
        fn releasing_shipping_and_moving_units_conserve_them_and_never_touch_shipped_ones(
            start in arb_allocations(), n in 0i64..12, at in 0usize..5, to in 0usize..4
        ) {
            let places = ["lyon", "main", "nj", "paris"];
            let open = |a: &[LineAllocation]| a.iter().map(LineAllocation::open).sum::<i64>();
            let (quantity, shipped) = totals(&start);

            let mut a = start.clone();
            let released = release(&mut a, n);
            let took: i64 = released.iter().map(|(_, q)| q).sum();
            prop_assert_eq!(took, n.min(open(&start)), "as many as asked, at most what is open");
            prop_assert_eq!(totals(&a), (quantity - took, shipped), "shipped units stay");
            prop_assert!(a.iter().all(|x| x.quantity >= 0 && x.fulfilled <= x.quantity));
            prop_assert_eq!(a.len(), start.len(), "every location named before is still named");
            for (loc, q) in &released {
                prop_assert!(*q <= open_at(&start, loc));
            }

            let mut b = start.clone();
            let where_ = places.get(at).copied();
            match ship(&mut b, n, where_) {
                Ok(moves) => {
                    prop_assert_eq!(moves.iter().map(|(_, q)| q).sum::<i64>(), n);
                    prop_assert!(moves.iter().all(|(l, _)| where_.is_none_or(|w| w == l)), "only where named");
                    prop_assert_eq!(totals(&b), (quantity, shipped + n));
                }
                Err(available) => {
                    let here = where_.map_or(open(&start), |w| open_at(&start, w));
                    prop_assert_eq!(available, here);
                    prop_assert!(here < n);
                    prop_assert_eq!(&b, &start, "nothing shipped");
                }
            }

            let mut c = start.clone();
            let (from, dest) = (places[at % 4], places[to]);
            if from != dest {
                match move_units(&mut c, from, dest, n) {
                    Ok(()) => {
                        prop_assert_eq!(totals(&c), (quantity, shipped), "moved, not made or lost");
                        prop_assert_eq!(open_at(&c, dest), open_at(&start, dest) + n);
                        prop_assert_eq!(open_at(&c, from), open_at(&start, from) - n);
                    }
                    Err(open_there) => {
                        prop_assert_eq!(open_there, open_at(&start, from));
                        prop_assert_eq!(&c, &start);
                    }
                }
            }
        }
    }
}
