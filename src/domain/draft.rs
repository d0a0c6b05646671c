//! Draft orders (API.md "Orders from every channel"): an order staff build for a customer on
//! the phone, a B2B buyer or a replacement. A draft is a cart of its own kind: priced by the
//! same rules (`cart::render`), completed by the same checkout. Staff may set a line's price by
//! hand, with a reason, when their token holds `pricing:override`; the reason stays on the
//! order line and in the order's timeline. Pure: the use case brings the draft, its channel's
//! market, its shipping method and the catalog.

use crate::domain::admin_defs::{normalize_code, ShippingDef};
use crate::domain::cart::{
    self, address_from, is_email, CartData, CartKind, CartRecord, CartStatus, LineRecord,
    MAX_CODES, MAX_QUANTITY,
};
use crate::domain::catalog::CatalogSnapshot;
use crate::domain::fields::{FieldError, Fields};
use crate::domain::market::Market;
use crate::domain::money::{Currency, Money, MAX_LINE_SUBTOTAL};
use crate::domain::product::{is_resource_id, normalize_sku};
use serde::Serialize;
use serde_json::{Map, Value};

/// Lines a draft holds, as a cart.
pub const MAX_LINES: usize = cart::MAX_LINES as usize;

/// A draft never expires: it waits for staff, not for a shopper's session.
pub use crate::domain::order::exchange::NEVER as NEVER_EXPIRES;

/// The fields of `POST /admin/v1/draft-orders`.
const NEW_FIELDS: &[&str] = &[
    "channel",
    "market",
    "email",
    "lines",
    "shipping_method",
    "shipping_address",
    "billing_address",
    "discount_codes",
    "note",
];

/// The fields `PATCH /admin/v1/draft-orders/{id}` may change: all but its channel and market
/// (a draft for another market is a new draft).
const PATCH_FIELDS: &[&str] = NEW_FIELDS.split_at(2).1;

#[derive(Debug, Clone, PartialEq)]
pub struct DraftLineInput {
    pub sku: String,
    pub quantity: i64,
    /// A price set by hand (per unit, in the market's tax convention).
    pub unit_price: Option<Money>,
    pub price_reason: Option<String>,
}

/// A draft's fields as sent. On a create, the required ones are all there; on a patch, `None`
/// leaves a field alone and `Some(None)` clears an optional one.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DraftInput {
    pub channel: Option<String>,
    pub market: Option<String>,
    pub email: Option<String>,
    pub lines: Option<Vec<DraftLineInput>>,
    pub shipping_method: Option<String>,
    pub shipping_address: Option<Value>,
    pub billing_address: Option<Option<Value>>,
    pub discount_codes: Option<Vec<String>>,
    pub note: Option<Option<String>>,
}

/// Reads the body of a create (`patch == false`: channel, market, email, lines, shipping
/// method and address required) or of a patch (any of [`PATCH_FIELDS`]).
///
/// # Errors
/// The field at fault (`lines[2].price_reason`); an unknown field is flagged so.
pub fn parse(body: &Map<String, Value>, patch: bool) -> Result<DraftInput, FieldError> {
    let f = Fields::new(body);
    f.only(if patch { PATCH_FIELDS } else { NEW_FIELDS })?;
    // As everywhere (API.md conventions), `null` is as if the field were left out, but for
    // the note and the billing address, which it clears.
    let wanted = |name: &str| !patch || f.has(name);
    let mut input = DraftInput::default();
    if !patch {
        let channel = f.string("channel")?;
        if !is_resource_id(channel) {
            return Err(FieldError::new("channel", "must be a channel id"));
        }
        input.channel = Some(channel.to_string());
        input.market = Some(f.string("market")?.trim().to_ascii_uppercase());
    }
    if wanted("email") {
        let email = f.string("email")?.trim().to_string();
        if !is_email(&email) {
            return Err(FieldError::new("email", "must be an email address"));
        }
        input.email = Some(email);
    }
    if wanted("lines") {
        input.lines = Some(lines(&f)?);
    }
    if wanted("shipping_method") {
        let id = f.string("shipping_method")?;
        if !is_resource_id(id) {
            return Err(FieldError::new(
                "shipping_method",
                "must be a shipping method id",
            ));
        }
        input.shipping_method = Some(id.to_string());
    }
    if wanted("shipping_address") {
        input.shipping_address = Some(f.value("shipping_address")?.clone());
    }
    if f.sent("billing_address") {
        input.billing_address = Some(f.entries_value("billing_address").cloned());
    }
    if f.has("discount_codes") {
        let mut codes = Vec::new();
        for (i, raw) in f
            .string_list("discount_codes", MAX_CODES)?
            .iter()
            .enumerate()
        {
            let code = normalize_code(raw).ok_or_else(|| {
                FieldError::new(
                    format!("discount_codes[{i}]"),
                    "must be a code of 1 to 32 letters, digits, - or _",
                )
            })?;
            if !codes.contains(&code) {
                codes.push(code);
            }
        }
        input.discount_codes = Some(codes);
    }
    if f.sent("note") {
        input.note = Some(match f.entries_value("note") {
            None => None,
            Some(_) => Some(f.text("note", 500)?),
        });
    }
    Ok(input)
}

fn lines(f: &Fields<'_>) -> Result<Vec<DraftLineInput>, FieldError> {
    let list = f.objects("lines", 1, MAX_LINES)?;
    let mut out: Vec<DraftLineInput> = Vec::with_capacity(list.len());
    for lf in &list {
        lf.only(&["sku", "quantity", "unit_price", "price_reason"])?;
        let sku = normalize_sku(lf.string("sku")?)
            .ok_or_else(|| FieldError::new(lf.path("sku"), "must be a SKU"))?;
        if out.iter().any(|l| l.sku == sku) {
            return Err(FieldError::new(
                lf.path("sku"),
                "this SKU has a line already: one line per SKU",
            ));
        }
        let unit_price = lf.opt_money("unit_price")?;
        let price_reason = match lf.entries_value("price_reason") {
            None => None,
            Some(_) => Some(lf.text("price_reason", 200)?),
        };
        match (&unit_price, &price_reason) {
            (Some(_), None) => {
                return Err(FieldError::new(
                    lf.path("price_reason"),
                    "a price set by hand needs a reason",
                ))
            }
            (None, Some(_)) => {
                return Err(FieldError::new(
                    lf.path("price_reason"),
                    "only a line with a unit_price set by hand has a reason",
                ))
            }
            _ => {}
        }
        out.push(DraftLineInput {
            sku,
            quantity: lf.int("quantity", 1..=MAX_QUANTITY)?,
            unit_price,
            price_reason,
        });
    }
    Ok(out)
}

/// Why a draft write is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DraftRefusal {
    /// 422 `validation_failed` naming the field.
    Field(FieldError),
    /// 422 `unknown_sku`: the SKU is not sold in the draft's market.
    UnknownSku { field: String, sku: String },
    /// 404: no such draft order.
    NotFound,
    /// 409 `cart_not_active`: the draft was completed.
    Completed,
    /// 409 `cart_not_active`: its channel no longer sells its market.
    MarketGone,
    /// 412 `version_mismatch`: `If-Match` names another version.
    VersionMismatch { current: i64 },
}

impl From<FieldError> for DraftRefusal {
    fn from(e: FieldError) -> DraftRefusal {
        DraftRefusal::Field(e)
    }
}

/// What a draft is checked against: its market (the use case has checked that its channel
/// exists and sells it), the shipping method it names, and the market's catalog.
pub struct DraftFacts<'a> {
    pub market: &'a Market,
    pub shipping_method: Option<&'a ShippingDef>,
    pub snapshot: &'a CatalogSnapshot,
}

/// The draft `input` makes of `base` (none for a new draft, whose id, channel and market it
/// then takes): its row, and its lines when they change. `line_id` names new lines.
///
/// # Errors
/// The first field that cannot be used in the draft's market.
pub fn decide(
    input: &DraftInput,
    base: Option<&CartRecord>,
    facts: &DraftFacts<'_>,
    fresh: (&str, &str),
    mut line_id: impl FnMut() -> String,
) -> Result<(CartRecord, Option<Vec<LineRecord>>), DraftRefusal> {
    let (id, now) = fresh;
    let mut record = match base {
        Some(r) => r.clone(),
        None => {
            let mut record = CartRecord::new(
                id,
                CartKind::Draft,
                input.channel.as_deref().unwrap_or_default(),
                input.market.as_deref().unwrap_or_default(),
                now,
            );
            record.expires_at = NEVER_EXPIRES.into();
            record
        }
    };
    let market = facts.market;
    record.currency = market.currency.code().to_string();
    if let Some(email) = &input.email {
        record.email = Some(email.clone());
    }
    let text = |a: &cart::Address| serde_json::to_string(a).unwrap_or_default();
    if let Some(v) = &input.shipping_address {
        record.shipping_address = Some(text(&address_from(
            v,
            "shipping_address",
            &market.countries,
        )?));
    }
    if let Some(v) = &input.billing_address {
        record.billing_address = match v {
            None => None,
            Some(v) => Some(text(&address_from(
                v,
                "billing_address",
                &market.countries,
            )?)),
        };
    }
    if let Some(id) = &input.shipping_method {
        record.shipping_method_id = Some(id.clone());
    }
    // The method must be offered here and ship to the address, the new one if it changed.
    let touched = input.shipping_method.is_some() || input.shipping_address.is_some();
    if let (true, Some(id)) = (touched, &record.shipping_method_id) {
        let country = record.shipping().map(|a| a.country);
        ShippingDef::check_choice(id, facts.shipping_method, &market.code, country.as_deref())?;
    }
    if let Some(codes) = &input.discount_codes {
        record.discount_codes = serde_json::to_string(codes).unwrap_or_else(|_| "[]".into());
    }
    if let Some(note) = &input.note {
        record.note = note.clone();
    }
    let lines = match &input.lines {
        None => None,
        Some(lines) => Some(line_records(lines, market, facts.snapshot, &mut line_id)?),
    };
    Ok((record, lines))
}

fn line_records(
    lines: &[DraftLineInput],
    market: &Market,
    snapshot: &CatalogSnapshot,
    line_id: &mut impl FnMut() -> String,
) -> Result<Vec<LineRecord>, DraftRefusal> {
    let currency: Currency = market.currency;
    lines
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let Some((_, variant)) = cart::find_sku(snapshot, &l.sku) else {
                return Err(DraftRefusal::UnknownSku {
                    field: format!("lines[{i}].sku"),
                    sku: l.sku.clone(),
                });
            };
            let price_override = match &l.unit_price {
                None => None,
                Some(m) if m.currency() != currency => {
                    return Err(FieldError::new(
                        format!("lines[{i}].unit_price.currency"),
                        format!("must be {} in market {}", currency.code(), market.code),
                    )
                    .into())
                }
                Some(m) => match m.minor_units() {
                    // The line must stay within what an order can be priced at.
                    Ok(minor)
                        if minor >= 0
                            && minor
                                .checked_mul(l.quantity)
                                .is_some_and(|s| s < MAX_LINE_SUBTOTAL) =>
                    {
                        Some(minor)
                    }
                    _ => return Err(FieldError::new(
                        format!("lines[{i}].unit_price.amount"),
                        "must be zero or more, with the line's unit price × quantity within range",
                    )
                    .into()),
                },
            };
            Ok(LineRecord {
                id: line_id(),
                sku: l.sku.clone(),
                quantity: l.quantity,
                position: i as i64,
                unit_price_seen: variant.price.minor_units().unwrap_or(0),
                price_override,
                price_reason: l.price_reason.clone(),
            })
        })
        .collect()
}

/// Where a draft is: `open` (staff may change and complete it) or `completed`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DraftStatus {
    Open,
    Completed,
}

/// A draft as the admin API shows it: priced like a cart, with its channel and, once
/// completed, its order.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DraftView {
    pub id: String,
    pub version: i64,
    pub status: DraftStatus,
    pub channel: String,
    pub market: String,
    pub currency: Currency,
    pub tax_inclusive: bool,
    pub email: Option<String>,
    pub shipping_address: Option<cart::Address>,
    pub billing_address: Option<cart::Address>,
    pub shipping_method: Option<cart::ShippingView>,
    pub note: Option<String>,
    pub discount_codes: Vec<cart::CodeView>,
    pub lines: Vec<cart::LineView>,
    pub totals: cart::TotalsView,
    /// What stops it from being completed as it is (stock, a code, the shipping method).
    pub warnings: Vec<cart::Warning>,
    /// The order it became.
    pub order_id: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

/// The draft's view from its rendering as a cart.
pub fn view(data: &CartData, shown: cart::CartView, order_id: Option<String>) -> DraftView {
    DraftView {
        id: shown.id,
        version: shown.version,
        status: match data.cart.status {
            CartStatus::Active => DraftStatus::Open,
            _ => DraftStatus::Completed,
        },
        channel: data.cart.channel_id.clone(),
        market: shown.market,
        currency: shown.currency,
        tax_inclusive: shown.tax_inclusive,
        email: shown.email,
        shipping_address: shown.shipping_address,
        billing_address: shown.billing_address,
        shipping_method: shown.shipping_method,
        note: shown.note,
        discount_codes: shown.discount_codes,
        lines: shown.lines,
        totals: shown.totals,
        warnings: shown.warnings,
        order_id,
        created_at: shown.created_at,
        updated_at: shown.updated_at,
    }
}
