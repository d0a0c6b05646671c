// The storefront's first slice: publishable key, markets, products, the KV catalog snapshot.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startStack, d1RoundTrips, envelope } from "./harness.mjs";

let stack;
before(async () => {
  stack = await startStack();
});
after(() => stack?.dispose());

const PUBLISHED_HANDLES = [
  "bistro-cookbook", "ceramic-mug", "chef-knife", "coffee-beans", "copper-pan", "cutting-board",
  "dark-chocolate", "espresso-cup", "french-press", "gift-card", "linen-apron", "olive-oil",
  "sea-salt-flakes", "tea-towel",
];

async function allProducts(market, limit) {
  const seen = [];
  let cursor = null;
  for (let guard = 0; guard < 50; guard++) {
    const q = new URLSearchParams({ market, limit: String(limit) });
    if (cursor) q.set("cursor", cursor);
    const res = await stack.sf(`/v1/products?${q}`);
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(Object.keys(res.body).sort(), ["data", "next_cursor"]);
    assert.ok(res.body.data.length <= limit);
    seen.push(...res.body.data);
    cursor = res.body.next_cursor;
    if (cursor === null) return seen;
  }
  throw new Error("pagination did not end");
}

test("a missing, malformed or unknown publishable key is 401 and reveals nothing", async () => {
  const cases = [
    {},
    { "X-Publishable-Key": "" },
    { "X-Publishable-Key": "pk_no_such_channel" },
    { "X-Publishable-Key": "sk_live_secret" },
    { "X-Publishable-Key": "pk_demo_web' OR '1'='1" },
    { "X-Publishable-Key": "PK_DEMO_WEB" },
  ];
  for (const headers of cases) {
    for (const p of ["/v1/markets", "/v1/products?market=FR", "/v1/products/ceramic-mug?market=FR"]) {
      const res = await stack.sfRaw(p, { headers });
      envelope(assert, res, 401, "unauthorized");
    }
  }
});

test("GET /v1/markets lists the channel's markets with code, currency, countries, tax mode, languages", async () => {
  const res = await stack.sf("/v1/markets");
  assert.equal(res.status, 200);
  assert.equal(res.body.next_cursor, null);
  assert.deepEqual(res.body.data, [
    { code: "FR", currency: "EUR", countries: ["FR", "MC"], tax_inclusive: true, languages: ["fr", "en"] },
    { code: "US", currency: "USD", countries: ["US"], tax_inclusive: false, languages: ["en", "es"] },
  ]);
  const page = await stack.sf("/v1/markets?limit=1");
  assert.deepEqual(page.body.data.map((m) => m.code), ["FR"]);
  const next = await stack.sf(`/v1/markets?limit=1&cursor=${page.body.next_cursor}`);
  assert.deepEqual(next.body.data.map((m) => m.code), ["US"]);
  assert.equal(next.body.next_cursor, null);
});

test("products page by cursor through every published product once, in handle order, drafts hidden", async () => {
  for (const limit of [1, 5, 20, 100]) {
    const products = await allProducts("FR", limit);
    assert.deepEqual(products.map((p) => p.handle), PUBLISHED_HANDLES, `limit ${limit}`);
  }
  const first = await stack.sf("/v1/products?market=FR");
  assert.equal(first.body.data.length, 14, "default limit 20 holds the whole demo catalog");
  assert.equal(first.body.next_cursor, null);
});

test("prices are money objects in the market's currency, never numbers", async () => {
  const fr = await stack.sf("/v1/products/linen-apron?market=FR");
  assert.equal(fr.status, 200);
  assert.deepEqual(fr.body, {
    id: "prod_linen_apron",
    handle: "linen-apron",
    title: "Linen Apron",
    description: "Stonewashed French linen apron with two pockets.",
    variants: [
      { sku: "APRON-NAT", title: "Natural", price: { amount: "39.00", currency: "EUR" }, available: true },
      { sku: "APRON-CHA", title: "Charcoal", price: { amount: "39.00", currency: "EUR" }, available: true },
    ],
  });
  const us = await stack.sf("/v1/products/coffee-beans?market=US");
  assert.deepEqual(us.body.variants.map((v) => v.price), [
    { amount: "14.50", currency: "USD" },
    { amount: "47.90", currency: "USD" },
  ]);
  for (const p of await allProducts("US", 100)) {
    for (const v of p.variants) {
      assert.equal(typeof v.price.amount, "string");
      assert.match(v.price.amount, /^\d+\.\d{2}$/);
      assert.equal(v.price.currency, "USD");
    }
  }
});

test("a variant with no free stock shows as unavailable", async () => {
  const res = await stack.sf("/v1/products/copper-pan?market=FR");
  assert.equal(res.body.variants[0].available, false);
});

test("an unknown or draft product is 404", async () => {
  for (const handle of ["no-such-thing", "spring-preview", "LINEN-APRON", "linen-apron%00"]) {
    envelope(assert, await stack.sf(`/v1/products/${handle}?market=FR`), 404, "not_found");
  }
});

test("bad parameters are 400 invalid_parameter naming the field", async () => {
  const cases = [
    ["/v1/products", "market"],
    ["/v1/products?market=DE", "market"],
    ["/v1/products?market=fr", "market"],
    ["/v1/products/ceramic-mug", "market"],
    ["/v1/products?market=FR&limit=0", "limit"],
    ["/v1/products?market=FR&limit=101", "limit"],
    ["/v1/products?market=FR&limit=ten", "limit"],
    ["/v1/products?market=FR&cursor=not-a-cursor", "cursor"],
    ["/v1/products?market=FR&cursor=c1.%21%21", "cursor"],
    ["/v1/markets?limit=-3", "limit"],
    ["/v1/markets?cursor=xyz", "cursor"],
  ];
  for (const [p, field] of cases) {
    const err = envelope(assert, await stack.sf(p), 400, "invalid_parameter");
    assert.equal(err.details.field, field, p);
  }
});

test("a warm catalog read makes no D1 round trip; a missing snapshot is rebuilt from D1", async () => {
  await stack.sf("/v1/products?market=US"); // warm channel and US snapshot
  const warm = await stack.sf("/v1/products?market=US");
  assert.equal(warm.status, 200);
  assert.equal(d1RoundTrips(warm.headers), 0);
  const warmOne = await stack.sf("/v1/products/chef-knife?market=US");
  assert.equal(d1RoundTrips(warmOne.headers), 0);

  await stack.dropSnapshot("US");
  const cold = await stack.sf("/v1/products?market=US");
  assert.equal(cold.status, 200);
  assert.equal(d1RoundTrips(cold.headers), 1, "one query rebuilds the snapshot");
  assert.deepEqual(cold.body, warm.body);
  const again = await stack.sf("/v1/products?market=US");
  assert.equal(d1RoundTrips(again.headers), 0, "the rebuilt snapshot was written back to KV");
});

test("a snapshot rebuilt from D1 shows the database's current prices and stock", async () => {
  await stack.db.batch([
    stack.db.prepare("UPDATE prices SET amount_minor = 2150 WHERE sku = 'MUG-350' AND market = 'FR'"),
    stack.db.prepare("UPDATE inventory_levels SET on_hand = 0 WHERE location = 'main' AND sku = 'MUG-350'"),
  ]);
  await stack.dropSnapshot("FR");
  const res = await stack.sf("/v1/products/ceramic-mug?market=FR");
  assert.deepEqual(res.body.variants[0].price, { amount: "21.50", currency: "EUR" });
  assert.equal(res.body.variants[0].available, false);
});
