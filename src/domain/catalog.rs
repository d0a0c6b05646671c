//! The published catalog of one market, as storefronts read it.
//!
//! A [`CatalogSnapshot`] is built from D1 rows by a pure function and cached whole in KV, so
//! a warm catalog read costs no D1 round trip. It carries what pricing needs later (tax class,
//! weight) beside what the storefront shows; [`CatalogProduct::view`] keeps the public shape.

use crate::domain::market::TaxClass;
use crate::domain::money::{Currency, Money};
use crate::domain::pagination::{paginate, Page, PageRequest};
use serde::{Deserialize, Serialize};

/// One row of the catalog query: a published variant priced in the market, with its product.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct CatalogRow {
    pub product_id: String,
    pub handle: String,
    pub title: String,
    pub description: String,
    pub sku: String,
    pub variant_title: String,
    pub tax_class: String,
    pub weight_grams: i64,
    pub price_minor: i64,
    pub available_quantity: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CatalogVariant {
    pub sku: String,
    pub title: String,
    pub price: Money,
    pub available: bool,
    pub tax_class: TaxClass,
    pub weight_grams: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CatalogProduct {
    pub id: String,
    pub handle: String,
    pub title: String,
    pub description: String,
    pub variants: Vec<CatalogVariant>,
}

/// The storefront's product shape of API.md.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProductView<'a> {
    pub id: &'a str,
    pub handle: &'a str,
    pub title: &'a str,
    pub description: &'a str,
    pub variants: Vec<VariantView<'a>>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VariantView<'a> {
    pub sku: &'a str,
    pub title: &'a str,
    pub price: Money,
    pub available: bool,
}

impl CatalogProduct {
    pub fn view(&self) -> ProductView<'_> {
        ProductView {
            id: &self.id,
            handle: &self.handle,
            title: &self.title,
            description: &self.description,
            variants: self
                .variants
                .iter()
                .map(|v| VariantView {
                    sku: &v.sku,
                    title: &v.title,
                    price: v.price,
                    available: v.available,
                })
                .collect(),
        }
    }
}

/// Every published product of one market, sorted by handle.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CatalogSnapshot {
    pub market: String,
    pub currency: Currency,
    /// RFC 3339; when the snapshot was built from D1.
    pub built_at: String,
    pub products: Vec<CatalogProduct>,
}

/// A row that cannot be turned into a catalog entry: the database holds something the
/// admin API would never have written. Reported, never guessed around.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CorruptRow {
    pub sku: String,
    pub reason: String,
}

impl CatalogSnapshot {
    /// Builds the snapshot from rows in any order. Products keep their variants in row order.
    pub fn build(
        market: &str,
        currency: Currency,
        built_at: String,
        rows: Vec<CatalogRow>,
    ) -> Result<CatalogSnapshot, CorruptRow> {
        let mut products: Vec<CatalogProduct> = Vec::new();
        for row in rows {
            let tax_class = TaxClass::parse(&row.tax_class).ok_or_else(|| CorruptRow {
                sku: row.sku.clone(),
                reason: format!("unknown tax class `{}`", row.tax_class),
            })?;
            let price = Money::from_minor(row.price_minor, currency).map_err(|e| CorruptRow {
                sku: row.sku.clone(),
                reason: e.to_string(),
            })?;
            let variant = CatalogVariant {
                sku: row.sku,
                title: row.variant_title,
                price,
                available: row.available_quantity > 0,
                tax_class,
                weight_grams: row.weight_grams,
            };
            match products.iter_mut().find(|p| p.id == row.product_id) {
                Some(product) => product.variants.push(variant),
                None => products.push(CatalogProduct {
                    id: row.product_id,
                    handle: row.handle,
                    title: row.title,
                    description: row.description,
                    variants: vec![variant],
                }),
            }
        }
        products.sort_by(|a, b| a.handle.cmp(&b.handle));
        Ok(CatalogSnapshot {
            market: market.to_string(),
            currency,
            built_at,
            products,
        })
    }

    pub fn product_by_handle(&self, handle: &str) -> Option<&CatalogProduct> {
        self.products
            .binary_search_by(|p| p.handle.as_str().cmp(handle))
            .ok()
            .map(|i| &self.products[i])
    }

    pub fn page(&self, request: &PageRequest) -> Page<ProductView<'_>> {
        let page = paginate(&self.products, |p| p.handle.as_str(), request);
        Page {
            data: page.data.into_iter().map(CatalogProduct::view).collect(),
            next_cursor: page.next_cursor,
        }
    }
}

/// An order or cart line's title: the product's, then the variant's (`Mug — Green`).
pub fn line_title(product: &str, variant: &str) -> String {
    format!("{product} — {variant}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(product: &str, handle: &str, sku: &str, price: i64, stock: i64) -> CatalogRow {
        CatalogRow {
            product_id: product.into(),
            handle: handle.into(),
            title: format!("{handle} title"),
            description: String::new(),
            sku: sku.into(),
            variant_title: format!("{sku} title"),
            tax_class: "standard".into(),
            weight_grams: 100,
            price_minor: price,
            available_quantity: stock,
        }
    }

    fn eur() -> Currency {
        Currency::from_code("EUR").unwrap()
    }

    #[test]
    fn variants_are_grouped_under_their_product_and_products_sorted_by_handle() {
        let rows = vec![
            row("p2", "zebra-mug", "MUG-Z", 1200, 3),
            row("p1", "apron", "APRON-S", 2500, 0),
            row("p1", "apron", "APRON-L", 2700, 5),
        ];
        let snap = CatalogSnapshot::build("FR", eur(), "t".into(), rows).unwrap();
        let handles: Vec<_> = snap.products.iter().map(|p| p.handle.as_str()).collect();
        assert_eq!(handles, ["apron", "zebra-mug"]);
        let skus: Vec<_> = snap.products[0]
            .variants
            .iter()
            .map(|v| v.sku.as_str())
            .collect();
        assert_eq!(skus, ["APRON-S", "APRON-L"]);
    }

    #[test]
    fn a_variant_with_no_free_stock_shows_as_unavailable() {
        let rows = vec![
            row("p1", "a", "A-1", 100, 0),
            row("p1", "a", "A-2", 100, -2),
            row("p1", "a", "A-3", 100, 1),
        ];
        let snap = CatalogSnapshot::build("FR", eur(), "t".into(), rows).unwrap();
        let avail: Vec<_> = snap.products[0]
            .variants
            .iter()
            .map(|v| v.available)
            .collect();
        assert_eq!(avail, [false, false, true]);
    }

    #[test]
    fn the_public_view_shows_price_as_money_and_hides_tax_class_and_weight() {
        let snap = CatalogSnapshot::build(
            "FR",
            eur(),
            "t".into(),
            vec![row("p1", "a", "A-1", 1990, 1)],
        )
        .unwrap();
        let json = serde_json::to_value(snap.products[0].view()).unwrap();
        assert_eq!(
            json["variants"][0],
            serde_json::json!({"sku": "A-1", "title": "A-1 title",
                "price": {"amount": "19.90", "currency": "EUR"}, "available": true})
        );
    }

    #[test]
    fn a_row_with_an_unknown_tax_class_is_reported_not_guessed() {
        let mut bad = row("p1", "a", "A-1", 100, 1);
        bad.tax_class = "luxury".into();
        let err = CatalogSnapshot::build("FR", eur(), "t".into(), vec![bad]).unwrap_err();
        assert_eq!(err.sku, "A-1");
    }

    #[test]
    fn products_are_found_by_exact_handle() {
        let rows = (0..30)
            .map(|i| {
                row(
                    &format!("p{i}"),
                    &format!("h-{i:02}"),
                    &format!("S{i}"),
                    100,
                    1,
                )
            })
            .collect();
        let snap = CatalogSnapshot::build("FR", eur(), "t".into(), rows).unwrap();
        assert_eq!(snap.product_by_handle("h-17").unwrap().id, "p17");
        assert!(snap.product_by_handle("h-1").is_none());
        assert!(snap.product_by_handle("H-17").is_none());
    }

    #[test]
    fn pages_follow_handle_order() {
        let rows = (0..25)
            .map(|i| {
                row(
                    &format!("p{i}"),
                    &format!("h-{i:02}"),
                    &format!("S{i}"),
                    100,
                    1,
                )
            })
            .collect();
        let snap = CatalogSnapshot::build("FR", eur(), "t".into(), rows).unwrap();
        let first = snap.page(&PageRequest::parse(None, None).unwrap());
        assert_eq!(first.data.len(), 20);
        let second = snap.page(&PageRequest::parse(None, first.next_cursor.as_deref()).unwrap());
        assert_eq!(second.data.len(), 5);
        assert_eq!(second.data[0].handle, "h-20");
        assert_eq!(second.next_cursor, None);
    }
}
