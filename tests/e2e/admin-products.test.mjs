// Products through the admin API: single upserts, the bulk import, strict validation, and the
// storefront showing each change at once.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startStack, envelope, d1RoundTrips } from "./harness.mjs";
import { adminToken, bearer } from "./tokens.mjs";

let stack;
let writer;
let reader;
before(async () => {
  stack = await startStack();
  writer = bearer(await adminToken({ scope: "catalog:write" }));
  reader = bearer(await adminToken({ scope: "catalog:read" }));
});
after(() => stack?.dispose());

const eur = (amount) => ({ amount, currency: "EUR" });
const usd = (amount) => ({ amount, currency: "USD" });
const mug = {
  handle: "enamel-mug",
  title: "Enamel Mug",
  description: "Camp mug, 300 ml.",
  status: "published",
  variants: [
    { sku: "mug-enamel-wht", title: "White", tax_class: "standard", weight_grams: 210, prices: { FR: eur("14.00"), US: usd("16.00") } },
    { sku: "MUG-ENAMEL-BLK", title: "Black", tax_class: "standard", weight_grams: 210, prices: { FR: eur("14.00") } },
  ],
};
const put = (id, json, headers = writer) => stack.bo(`/admin/v1/products/${id}`, { method: "PUT", headers, json });
const countRows = async (table) => (await stack.db.prepare(`SELECT COUNT(*) AS n FROM ${table}`).first()).n;

async function storefrontHandles(market) {
  const handles = [];
  let cursor = null;
  do {
    const q = new URLSearchParams({ market, limit: "100" });
    if (cursor) q.set("cursor", cursor);
    const res = await stack.sf(`/v1/products?${q}`);
    assert.equal(res.status, 200);
    handles.push(...res.body.data.map((p) => p.handle));
    cursor = res.body.next_cursor;
  } while (cursor);
  return handles;
}

test("a new product is 201 with its variants and prices, readable back, and on the storefront", async () => {
  await stack.sf("/v1/products?market=FR"); // warm the snapshot: the write must refresh it
  const res = await put("prod_enamel_mug", mug);
  assert.equal(res.status, 201, res.text);
  assert.equal(res.body.id, "prod_enamel_mug");
  assert.deepEqual(res.body.variants.map((v) => v.sku), ["MUG-ENAMEL-WHT", "MUG-ENAMEL-BLK"], "SKUs stored upper-case");
  assert.deepEqual(res.body.variants[0].prices, { FR: eur("14.00"), US: usd("16.00") });
  const read = await stack.bo("/admin/v1/products/prod_enamel_mug", { headers: reader });
  assert.equal(read.status, 200);
  assert.deepEqual(read.body, res.body);

  const fr = await stack.sf("/v1/products/enamel-mug?market=FR");
  assert.equal(fr.status, 200);
  assert.deepEqual(fr.body.variants.map((v) => [v.sku, v.price.amount, v.available]), [
    ["MUG-ENAMEL-WHT", "14.00", false],
    ["MUG-ENAMEL-BLK", "14.00", false],
  ], "new SKUs start with no stock");
  const us = await stack.sf("/v1/products/enamel-mug?market=US");
  assert.deepEqual(us.body.variants.map((v) => v.sku), ["MUG-ENAMEL-WHT"], "a variant without a US price is not sold in US");
});

test("a price change, a removed variant and unpublishing show on the storefront at once", async () => {
  const changed = { ...mug, variants: [{ ...mug.variants[0], prices: { FR: eur("12.50") } }] };
  const res = await put("prod_enamel_mug", changed);
  assert.equal(res.status, 200, res.text);
  const fr = await stack.sf("/v1/products/enamel-mug?market=FR");
  assert.deepEqual(fr.body.variants.map((v) => [v.sku, v.price.amount]), [["MUG-ENAMEL-WHT", "12.50"]]);
  envelope(assert, await stack.sf("/v1/products/enamel-mug?market=US"), 404, "not_found");
  assert.equal((await stack.db.prepare("SELECT COUNT(*) AS n FROM variants WHERE sku = 'MUG-ENAMEL-BLK'").first()).n, 0);

  assert.equal((await put("prod_enamel_mug", { ...changed, status: "draft" })).status, 200);
  envelope(assert, await stack.sf("/v1/products/enamel-mug?market=FR"), 404, "not_found");
  assert.equal((await put("prod_enamel_mug", changed)).status, 200);
});

test("catalog:read may read products but not write them", async () => {
  envelope(assert, await put("prod_x", mug, reader), 403, "forbidden");
  const noScope = bearer(await adminToken({ scope: "orders:read" }));
  envelope(assert, await stack.bo("/admin/v1/products/prod_enamel_mug", { headers: noScope }), 403, "forbidden");
  envelope(assert, await stack.bo("/admin/v1/products/prod_nope", { headers: reader }), 404, "not_found");
});

test("bad product bodies are 422 naming the field, and change nothing", async () => {
  const before = [await countRows("products"), await countRows("variants"), await countRows("prices")];
  const cases = [
    [{ ...mug, unit_price: "1.00" }, "unknown_field", "unit_price"],
    [{ ...mug, variants: [{ ...mug.variants[0], price: "1.00" }] }, "unknown_field", "variants[0].price"],
    [{ ...mug, handle: "Enamel Mug" }, "validation_failed", "handle"],
    [{ ...mug, status: "live" }, "validation_failed", "status"],
    [{ ...mug, variants: [] }, "validation_failed", "variants"],
    [{ ...mug, variants: [{ ...mug.variants[0], tax_class: "luxury" }] }, "validation_failed", "variants[0].tax_class"],
    [{ ...mug, variants: [{ ...mug.variants[0], prices: { DE: eur("1.00") } }] }, "validation_failed", "variants[0].prices.DE"],
    [{ ...mug, variants: [{ ...mug.variants[0], prices: { US: eur("1.00") } }] }, "validation_failed", "variants[0].prices.US.currency"],
    [{ ...mug, variants: [{ ...mug.variants[0], prices: { FR: { amount: 1.5, currency: "EUR" } } }] }, "validation_failed", "variants[0].prices.FR.amount"],
    [{ ...mug, handle: "linen-apron" }, "validation_failed", "handle"],
    [{ ...mug, handle: "fresh-handle", variants: [{ ...mug.variants[0], sku: "apron-nat" }] }, "validation_failed", "variants[0].sku"],
  ];
  for (const [json, code, field] of cases) {
    const err = envelope(assert, await put("prod_other", json), 422, code);
    assert.equal(err.details.field, field, JSON.stringify(json).slice(0, 120));
  }
  envelope(assert, await put("bad id!", mug), 400, "invalid_parameter");
  assert.deepEqual([await countRows("products"), await countRows("variants"), await countRows("prices")], before);
});

function generated(n, { offset = 0, bad } = {}) {
  return Array.from({ length: n }, (_, k) => {
    const i = k + offset;
    const product = {
      id: `prod_gen_${i}`,
      handle: `generated-${String(i).padStart(4, "0")}`,
      title: `Generated product ${i}`,
      status: "published",
      variants: [
        { sku: `GEN-${i}-A`, title: "A", tax_class: "standard", weight_grams: 100, prices: { FR: eur(`${1 + (i % 90)}.${String(i % 100).padStart(2, "0")}`), US: usd("9.99") } },
        { sku: `GEN-${i}-B`, title: "B", tax_class: "reduced", prices: { FR: eur("5.00") } },
      ],
    };
    return bad === k ? { ...product, variants: [{ ...product.variants[0], tax_class: "luxury" }] } : product;
  });
}

test("an import with one invalid item writes nothing and names the item and field", async () => {
  const before = await countRows("products");
  const res = await stack.bo("/admin/v1/products/import", { method: "POST", headers: writer, json: { products: generated(1000, { bad: 500 }) } });
  const err = envelope(assert, res, 422, "validation_failed");
  assert.equal(err.details.field, "products[500].variants[0].tax_class");
  assert.deepEqual(err.details.errors, [{ index: 500, id: "prod_gen_500", field: "products[500].variants[0].tax_class", message: "must be standard, reduced or zero" }]);
  assert.equal(await countRows("products"), before);

  const dup = generated(3);
  dup[2] = { ...dup[2], handle: dup[0].handle };
  const dupErr = envelope(assert, await stack.bo("/admin/v1/products/import", { method: "POST", headers: writer, json: { products: dup } }), 422, "validation_failed");
  assert.equal(dupErr.details.errors[0].field, "products[2].handle");
  assert.equal(await countRows("products"), before);

  const tooMany = envelope(assert, await stack.bo("/admin/v1/products/import", { method: "POST", headers: writer, json: { products: generated(1001) } }), 422, "validation_failed");
  assert.equal(tooMany.details.field, "products");
});

test("1,000 products import in one call and one write batch, and the storefront lists them", async () => {
  const before = await countRows("products");
  const started = Date.now();
  const res = await stack.bo("/admin/v1/products/import", { method: "POST", headers: writer, json: { products: generated(1000) } });
  const ms = Date.now() - started;
  assert.equal(res.status, 200, res.text);
  assert.deepEqual(res.body, { imported: 1000, created: 1000, updated: 0 });
  const trips = d1RoundTrips(res.headers);
  assert.equal(trips, 2, "one read of markets and owners, one write batch");
  console.log(`import of 1000 products: ${ms} ms, ${trips} D1 round trips, ${res.headers.get("server-timing")}`);
  assert.equal(await countRows("products"), before + 1000);
  assert.equal((await stack.db.prepare("SELECT COUNT(*) AS n FROM inventory WHERE sku LIKE 'GEN-%'").first()).n, 2000);

  const handles = await storefrontHandles("FR");
  assert.equal(handles.filter((h) => h.startsWith("generated-")).length, 1000);
  const again = await stack.bo("/admin/v1/products/import", { method: "POST", headers: writer, json: { products: generated(10) } });
  assert.deepEqual(again.body, { imported: 10, created: 0, updated: 10 });
});
