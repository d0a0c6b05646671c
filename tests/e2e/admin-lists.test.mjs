// The admin list endpoints an admin app needs (API.md "The merchant's back office"): orders
// filtered by status, payment, fulfilment, market, dates and a search by number or email;
// markets, channels, shipping methods, discounts and products (searched), by id; every SKU's
// stock, by SKU.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startStack, envelope, d1RoundTrips } from "./harness.mjs";
import { adminToken, bearer } from "./tokens.mjs";

let stack;
let admin;
before(async () => {
  stack = await startStack();
  admin = bearer(await adminToken({ scope: "orders:read orders:write catalog:read catalog:write" }));
});
after(() => stack?.dispose());

const frAddress = { first_name: "Jeanne", last_name: "Martin", line1: "3 rue de la Paix", city: "Paris", postal_code: "75002", country: "FR" };
const usAddress = { first_name: "Ann", last_name: "Lee", line1: "1 Main St", city: "Springfield", state: "IL", postal_code: "62701", country: "US" };
let keys = 0;
async function order(market, email, sku = "TOWEL-2") {
  const cart = (await stack.sf("/v1/carts", { method: "POST", json: { market } })).body.id;
  await stack.sf(`/v1/carts/${cart}/lines`, { method: "POST", json: { sku, quantity: 1 } });
  await stack.sf(`/v1/carts/${cart}`, { method: "PATCH", json: { email, shipping_address: market === "US" ? usAddress : frAddress, shipping_method: "standard" } });
  const res = await stack.sf(`/v1/carts/${cart}/checkout`, { method: "POST", json: { payment_provider: "manual" }, headers: { "Idempotency-Key": `lists-${++keys}` } });
  assert.equal(res.status, 201, res.text);
  return res.body.order;
}
const act = (id, path, json) => stack.bo(`/admin/v1/orders/${id}/${path}`, { method: "POST", headers: admin, json });
const ids = async (query) => {
  const res = await stack.bo(`/admin/v1/orders?limit=100&${query}`, { headers: admin });
  assert.equal(res.status, 200, `${query}: ${res.text}`);
  return res.body.data.map((o) => o.id);
};

test("orders are filtered by status, payment, fulfilment, market and dates, and found by number or email", async () => {
  const start = new Date(Date.now() - 1000).toISOString();
  const a = await order("FR", "Claire.Dubois@example.fr");
  const b = await order("FR", "claude@example.fr");
  const c = await order("US", "ann@example.com");
  assert.equal((await act(b.id, "mark-paid", {})).status, 200);
  assert.equal((await act(b.id, "fulfillments", { lines: [{ line_id: b.lines[0].id, quantity: 1 }] })).status, 200);
  assert.equal((await act(c.id, "mark-paid", {})).status, 200);
  const since = `created_after=${encodeURIComponent(start)}`;

  assert.deepEqual(await ids(since), [c.id, b.id, a.id], "newest first");
  assert.deepEqual(await ids(`${since}&payment_status=paid`), [c.id, b.id]);
  assert.deepEqual(await ids(`${since}&fulfillment_status=unfulfilled`), [c.id, a.id]);
  assert.deepEqual(await ids(`${since}&status=fulfilled`), [b.id]);
  assert.deepEqual(await ids(`${since}&market=US`), [c.id]);
  assert.deepEqual(await ids(`${since}&market=us`), [c.id], "a market code in any case");
  assert.deepEqual(await ids(`${since}&market=FR&payment_status=pending`), [a.id], "filters combine");
  assert.deepEqual(await ids("q=claire.dubois@EXAMPLE.fr"), [a.id], "an email, any case");
  assert.deepEqual(await ids("q=cla"), [b.id, a.id], "the beginning of an email");
  assert.deepEqual(await ids(`q=${b.number.toLowerCase()}`), [b.id], "a number, any case");
  assert.deepEqual(await ids("q=%25"), [], "LIKE wildcards are literal");
  assert.deepEqual(await ids(`created_before=${encodeURIComponent(start)}&q=cla`), []);
  assert.deepEqual(await ids(`created_after=${new Date(Date.now() + 86_400_000).toISOString().slice(0, 10)}`), [], "a date is midnight UTC");
  const page = await stack.bo(`/admin/v1/orders?${since}&limit=2`, { headers: admin });
  assert.deepEqual(page.body.data.map((o) => o.id), [c.id, b.id]);
  const rest = await stack.bo(`/admin/v1/orders?${since}&limit=2&cursor=${encodeURIComponent(page.body.next_cursor)}`, { headers: admin });
  assert.deepEqual([rest.body.data.map((o) => o.id), rest.body.next_cursor], [[a.id], null]);
  assert.equal(d1RoundTrips(rest.headers), 1);

  for (const [query, field] of [
    ["payment_status=settled", "payment_status"],
    ["fulfillment_status=shipped", "fulfillment_status"],
    ["created_after=yesterday", "created_after"],
    ["created_after=a%C3%A912345", "created_after"],
    ["created_after=2026-11-29T09:00:00%2B-1:00", "created_after"],
    ["created_before=2026-02-30", "created_before"],
    [`q=${"x".repeat(255)}`, "q"],
    ["market=", "market"],
  ]) {
    const err = envelope(assert, await stack.bo(`/admin/v1/orders?${query}`, { headers: admin }), 400, "invalid_parameter");
    assert.equal(err.details.field, field, query);
  }
});

const list = async (path) => {
  const res = await stack.bo(path, { headers: admin });
  assert.equal(res.status, 200, `${path}: ${res.text}`);
  assert.ok("next_cursor" in res.body);
  return res.body;
};

test("markets, channels, shipping methods and discounts are listed by id with the cursor convention", async () => {
  const markets = await list("/admin/v1/markets");
  assert.deepEqual(markets.data.map((m) => [m.code, m.currency]), [["FR", "EUR"], ["US", "USD"]]);
  const first = await list("/admin/v1/markets?limit=1");
  assert.deepEqual(first.data.map((m) => m.code), ["FR"]);
  const next = await list(`/admin/v1/markets?limit=1&cursor=${encodeURIComponent(first.next_cursor)}`);
  assert.deepEqual([next.data.map((m) => m.code), next.next_cursor], [["US"], null]);

  const channels = await list("/admin/v1/channels");
  assert.deepEqual(channels.data.map((c) => [c.id, c.markets, c.key_hint]), [["web", ["FR", "US"], "_web"]]);
  assert.ok(channels.data.every((c) => !("publishable_key" in c) && !("key_hash" in c)), "a key is never listed");

  const methods = await list("/admin/v1/shipping-methods");
  assert.deepEqual(methods.data.map((m) => [m.id, m.location_id]), [["express", null], ["pickup-paris", "paris-store"], ["standard", null]]);
  assert.deepEqual(methods.data[0].rates.FR, { type: "flat", amount: { amount: "12.90", currency: "EUR" } });

  const discounts = await list("/admin/v1/discounts");
  assert.deepEqual(discounts.data.map((d) => [d.id, d.code]), [["welcome10", "WELCOME10"]]);
  assert.equal(d1RoundTrips((await stack.bo("/admin/v1/discounts", { headers: admin })).headers), 1);
  const reader = bearer(await adminToken({ scope: "orders:read" }));
  for (const path of ["markets", "channels", "shipping-methods", "discounts", "products"]) {
    envelope(assert, await stack.bo(`/admin/v1/${path}`, { headers: reader }), 403, "forbidden");
    envelope(assert, await stack.bo(`/admin/v1/${path}?limit=0`, { headers: admin }), 400, "invalid_parameter");
  }
});

/** Creates a draft product with one variant, `sku`. */
async function draft(id, handle, title, sku) {
  const res = await stack.bo(`/admin/v1/products/${id}`, {
    method: "PUT",
    headers: admin,
    json: { handle, title, status: "draft", variants: [{ sku, title: "Steel", tax_class: "standard", prices: { FR: { amount: "19.00", currency: "EUR" } } }] },
  });
  assert.equal(res.status, 201, res.text);
}

test("products are searched by title, handle or SKU and filtered by status, a page at a time", async () => {
  await draft("prod_draft_mug", "draft-mug", "Travel Mug (draft)", "MUG-TRAVEL");
  const ids = async (query) => (await list(`/admin/v1/products?limit=100&${query}`)).data.map((p) => p.id);
  assert.deepEqual(await ids("q=MUG"), ["prod_ceramic_mug", "prod_draft_mug"], "a title or a SKU, any case");
  assert.deepEqual(await ids("q=mug&status=draft"), ["prod_draft_mug"]);
  assert.deepEqual(await ids("q=cutting-board"), ["prod_cutting_board"], "a handle");
  assert.deepEqual(await ids("q=board-l"), ["prod_cutting_board"], "a SKU");
  assert.deepEqual(await ids("q=70%25"), ["prod_dark_chocolate"], "% is literal");
  assert.deepEqual(await ids("q=_"), [], "_ is literal");
  const found = (await list("/admin/v1/products?q=board-l")).data[0];
  assert.deepEqual(found.variants.map((v) => [v.sku, v.prices.FR.amount]), [["BOARD-S", "45.00"], ["BOARD-L", "69.00"]], "whole, as GET shows it");
  const all = await ids("status=published");
  assert.ok(!all.includes("prod_draft_mug") && all.includes("prod_tea_towel"));
  const seen = [];
  let cursor = null;
  do {
    const page = await list(`/admin/v1/products?limit=4${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
    assert.ok(page.data.length <= 4);
    seen.push(...page.data.map((p) => p.id));
    cursor = page.next_cursor;
  } while (cursor);
  assert.deepEqual(seen, [...seen].sort(), "by id");
  assert.equal(new Set(seen).size, seen.length);
  assert.ok(seen.includes("prod_draft_mug") && seen.includes("prod_tea_towel"));
  for (const [query, field] of [["status=archived", "status"], [`q=${"x".repeat(101)}`, "q"], ["q=%20", "q"]]) {
    assert.equal(envelope(assert, await stack.bo(`/admin/v1/products?${query}`, { headers: admin }), 400, "invalid_parameter").details.field, field);
  }
});

test("every SKU's stock is listed by SKU, each as GET /admin/v1/inventory/{sku} shows it, in one round trip a page", async () => {
  await draft("prod_new_kettle", "new-kettle", "Kettle", "kettle-1l");
  const stock = bearer(await adminToken({ scope: "inventory:read" }));
  const get = async (path) => {
    const res = await stack.bo(path, { headers: stock });
    assert.equal(res.status, 200, `${path}: ${res.text}`);
    return res;
  };
  const all = await get("/admin/v1/inventory?limit=100");
  assert.equal(d1RoundTrips(all.headers), 1);
  assert.equal(all.body.next_cursor, null);
  const skus = all.body.data.map((l) => l.sku);
  assert.deepEqual(skus, [...skus].sort(), "by SKU");
  assert.equal(new Set(skus).size, skus.length);
  for (const sku of ["APRON-NAT", "BOARD-L", "CHOC-70", "COF-250", "CUP-ESP-BLU", "GIFT-50", "PAN-CU-16", "SPRING-SET", "TOWEL-2"]) {
    assert.ok(skus.includes(sku), `the seeded ${sku} is listed`);
  }
  const at = (sku) => all.body.data.find((l) => l.sku === sku).locations.map((l) => [l.location, l.on_hand, l.reserved, l.available]);
  assert.deepEqual(at("CHOC-70"), [["main", 100, 0, 100], ["paris-store", 12, 0, 12]]);
  assert.deepEqual(at("COF-250"), [["main", 80, 0, 80], ["paris-store", 8, 0, 8]]);
  assert.deepEqual(all.body.data.find((l) => l.sku === "KETTLE-1L"), { sku: "KETTLE-1L", on_hand: 0, reserved: 0, available: 0, locations: [{ location: "main", on_hand: 0, reserved: 0, available: 0 }] }, "a new variant's SKU");
  for (const level of all.body.data) {
    assert.deepEqual(level, (await get(`/admin/v1/inventory/${level.sku}`)).body, `${level.sku} as GET shows it`);
  }

  const seen = [];
  let cursor = null;
  do {
    const page = await get(`/admin/v1/inventory?limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
    assert.ok(page.body.data.length <= 2);
    assert.equal(d1RoundTrips(page.headers), 1);
    seen.push(...page.body.data.map((l) => l.sku));
    cursor = page.body.next_cursor;
  } while (cursor);
  assert.deepEqual(seen, skus, "limit=2 walks every SKU once, in order");

  const found = async (q) => (await get(`/admin/v1/inventory?limit=100&q=${encodeURIComponent(q)}`)).body.data.map((l) => l.sku);
  assert.deepEqual(await found("cup-esp"), ["CUP-ESP-BLU", "CUP-ESP-WHT"], "the beginning of a SKU, any case");
  assert.deepEqual(await found(" COF "), ["COF-1000", "COF-250"]);
  assert.deepEqual(await found("CUP-ESP-WHT"), ["CUP-ESP-WHT"], "a whole SKU");
  assert.deepEqual(await found("ESP"), [], "only the beginning");
  assert.deepEqual(await found("CUP_ESP"), [], "_ is literal");
  assert.deepEqual(await found("%"), [], "% is literal");
  assert.deepEqual(await found("C%"), [], "% is literal after a letter too");
  const first = await get("/admin/v1/inventory?q=cup&limit=1");
  assert.deepEqual(first.body.data.map((l) => l.sku), ["CUP-ESP-BLU"]);
  const rest = await get(`/admin/v1/inventory?q=cup&limit=1&cursor=${encodeURIComponent(first.body.next_cursor)}`);
  assert.deepEqual([rest.body.data.map((l) => l.sku), rest.body.next_cursor], [["CUP-ESP-WHT"], null], "q and the cursor combine");
  assert.equal(d1RoundTrips(rest.headers), 1);

  envelope(assert, await stack.bo("/admin/v1/inventory", { headers: admin }), 403, "forbidden");
  for (const [query, field] of [["limit=0", "limit"], ["limit=101", "limit"], ["cursor=garbage", "cursor"], [`q=${"A".repeat(65)}`, "q"], ["q=%20", "q"], ["q=", "q"]]) {
    assert.equal(envelope(assert, await stack.bo(`/admin/v1/inventory?${query}`, { headers: stock }), 400, "invalid_parameter").details.field, field, query);
  }
  const post = await stack.bo("/admin/v1/inventory", { method: "POST", headers: stock, json: {} });
  envelope(assert, post, 405, "method_not_allowed");
  assert.equal(post.headers.get("allow"), "GET");
});
