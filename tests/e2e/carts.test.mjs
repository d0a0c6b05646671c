// Carts at the edge: full journeys checked to the cent, concurrency, If-Match, every bad input,
// discount codes, shipping methods, merge on login, D1 round trips.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { SignJWT } from "jose";
import { startStack, envelope, d1RoundTrips, SECRETS } from "./harness.mjs";

let stack;
before(async () => {
  stack = await startStack();
});
after(() => stack?.dispose());

const amount = (m) => m.amount;
const frAddress = { first_name: "Jeanne", last_name: "Martin", line1: "3 rue de la Paix", city: "Paris", postal_code: "75002", country: "FR" };
const usAddress = { first_name: "Ann", last_name: "Lee", line1: "1 Main St", city: "Springfield", state: "IL", postal_code: "62701", country: "US" };

async function newCart(market = "FR") {
  const res = await stack.sf("/v1/carts", { method: "POST", json: { market } });
  assert.equal(res.status, 201, res.text);
  return res.body.id;
}
const add = (cart, sku, quantity, headers = {}) =>
  stack.sf(`/v1/carts/${cart}/lines`, { method: "POST", json: quantity === undefined ? { sku } : { sku, quantity }, headers });
const patch = (cart, json, headers = {}) => stack.sf(`/v1/carts/${cart}`, { method: "PATCH", json, headers });

test("a new cart is empty, active, version 1 with its ETag, and expires in 30 days", async () => {
  const res = await stack.sf("/v1/carts", { method: "POST", json: { market: "US" } });
  assert.equal(res.status, 201);
  assert.equal(res.headers.get("etag"), '"1"');
  const c = res.body;
  assert.match(c.id, /^cart_[0-9a-f]{32}$/);
  assert.deepEqual(
    { version: c.version, market: c.market, currency: c.currency, tax_inclusive: c.tax_inclusive, status: c.status, lines: c.lines, warnings: c.warnings, discount_codes: c.discount_codes, customer_id: c.customer_id },
    { version: 1, market: "US", currency: "USD", tax_inclusive: false, status: "active", lines: [], warnings: [], discount_codes: [], customer_id: null },
  );
  assert.deepEqual(Object.values(c.totals).map(amount), ["0.00", "0.00", "0.00", "0.00", "0.00"]);
  const days = (Date.parse(c.expires_at) - Date.parse(c.created_at)) / 86_400_000;
  assert.ok(days > 29.99 && days < 30.01, `expires after ${days} days`);
  const got = await stack.sf(`/v1/carts/${c.id}`);
  assert.equal(got.status, 200);
  assert.equal(d1RoundTrips(got.headers), 1, "GET is one round trip");
});

test("a tax-inclusive French journey, totals to the cent", async () => {
  const cart = await newCart("FR");
  for (const [sku, q] of [["APRON-NAT", 2], ["cof-250", 3], ["GIFT-50", 1]]) {
    const res = await add(cart, sku, q);
    assert.equal(res.status, 200, res.text);
    assert.equal(d1RoundTrips(res.headers), 1, "adding a line is one round trip");
  }
  const p = await patch(cart, { email: "jeanne@example.fr", shipping_address: frAddress, shipping_method: "express", note: "Ring twice" });
  assert.equal(p.status, 200, p.text);
  assert.equal(d1RoundTrips(p.headers), 2, "address + method: one read, one write");
  const d = await stack.sf(`/v1/carts/${cart}/discount-codes`, { method: "POST", json: { code: "welcome10" } });
  assert.equal(d.status, 200, d.text);
  assert.equal(d1RoundTrips(d.headers), 2);
  const c = d.body;
  // By hand: 78.00 + 38.70 + 50.00 = 166.70; 10 % = 16.67 split 7.80/3.87/5.00; VAT inside
  // 70.20 at 20 % = 11.70, 34.83 at 5.5 % = 1.82, 0; express 12.90 at 20 % = 2.15.
  assert.deepEqual(
    c.lines.map((l) => [l.sku, l.quantity, amount(l.unit_price), amount(l.subtotal), amount(l.discount), amount(l.tax), amount(l.total)]),
    [
      ["APRON-NAT", 2, "39.00", "78.00", "7.80", "11.70", "70.20"],
      ["COF-250", 3, "12.90", "38.70", "3.87", "1.82", "34.83"],
      ["GIFT-50", 1, "50.00", "50.00", "5.00", "0.00", "45.00"],
    ],
  );
  assert.deepEqual(
    [c.totals.subtotal, c.totals.discount, c.totals.shipping, c.totals.tax, c.totals.total].map(amount),
    ["166.70", "16.67", "12.90", "15.67", "162.93"],
  );
  assert.deepEqual(c.shipping_method, { id: "express", name: "Express delivery", price: { amount: "12.90", currency: "EUR" } });
  assert.deepEqual(c.discount_codes, [{ code: "WELCOME10", applicable: true, message: "10% off the order" }]);
  assert.deepEqual(c.billing_address, c.shipping_address, "billing defaults to shipping");
  assert.equal(c.email, "jeanne@example.fr");
  assert.equal(c.version, 6);
  assert.equal(c.lines[0].title, "Linen Apron — Natural");
  assert.equal(c.lines[0].product_id, "prod_linen_apron");
});

test("a tax-exclusive US journey, totals to the cent", async () => {
  const cart = await newCart("US");
  for (const [sku, q] of [["KNIFE-20", 1], ["COF-250", 2], ["CHOC-70", 3]]) assert.equal((await add(cart, sku, q)).status, 200);
  const c = (await patch(cart, { shipping_address: usAddress, shipping_method: "standard" })).body;
  // 99.00 × 8.875 % = 8.79; 29.00 × 4 % = 1.16; 19.50 × 4 % = 0.78; shipping 7.95 × 8.875 % = 0.71.
  assert.deepEqual(c.lines.map((l) => [amount(l.tax), amount(l.total)]), [["8.79", "107.79"], ["1.16", "30.16"], ["0.78", "20.28"]]);
  assert.deepEqual(
    [c.totals.subtotal, c.totals.discount, c.totals.shipping, c.totals.tax, c.totals.total].map(amount),
    ["147.50", "0.00", "7.95", "11.44", "166.89"],
  );
});

test("20 parallel adds of distinct SKUs all land, and 20 parallel adds of one SKU sum", async () => {
  const products = Array.from({ length: 20 }, (_, i) => ({
    id: `prod_par_${i}`, handle: `parallel-${i}`, title: `Parallel ${i}`, status: "published",
    variants: [{ sku: `PAR-${i}`, title: "One", tax_class: "standard", prices: { FR: { amount: "1.00", currency: "EUR" } } }],
  }));
  const { adminToken, bearer } = await import("./tokens.mjs");
  const imported = await stack.bo("/admin/v1/products/import", { method: "POST", headers: bearer(await adminToken({ scope: "catalog:write" })), json: { products } });
  assert.equal(imported.status, 200, imported.text);
  await stack.db.prepare("UPDATE inventory_levels SET on_hand = 100 WHERE location = 'main' AND sku LIKE 'PAR-%'").run();

  const cart = await newCart("FR");
  const results = await Promise.all(products.map((_, i) => add(cart, `PAR-${i}`, 1)));
  assert.deepEqual(results.map((r) => r.status), Array(20).fill(200));
  const c = (await stack.sf(`/v1/carts/${cart}`)).body;
  assert.equal(c.lines.length, 20, "no line lost");
  assert.equal(c.version, 21);
  assert.equal(c.totals.subtotal.amount, "20.00");

  const same = await newCart("FR");
  await Promise.all(Array.from({ length: 20 }, () => add(same, "PAR-0", 1)));
  const s = (await stack.sf(`/v1/carts/${same}`)).body;
  assert.deepEqual(s.lines.map((l) => l.quantity), [20]);
});

test("If-Match: a stale version is 412 and changes nothing; the current one or * is applied", async () => {
  const cart = await newCart("FR");
  const first = await add(cart, "MUG-350", 1);
  assert.equal(first.headers.get("etag"), '"2"');
  const stale = await add(cart, "MUG-350", 1, { "If-Match": '"1"' });
  const err = envelope(assert, stale, 412, "version_mismatch");
  assert.equal(err.details.current_version, 2);
  envelope(assert, await patch(cart, { note: "x" }, { "If-Match": '"1"' }), 412, "version_mismatch");
  envelope(assert, await patch(cart, { note: "x" }, { "If-Match": "nonsense" }), 412, "version_mismatch");
  assert.deepEqual((await stack.sf(`/v1/carts/${cart}`)).body.lines.map((l) => l.quantity), [1], "unchanged");
  const ok = await add(cart, "MUG-350", 1, { "If-Match": '"2"' });
  assert.equal(ok.status, 200);
  assert.equal(ok.headers.get("etag"), '"3"');
  assert.equal((await patch(cart, { note: "gift" }, { "If-Match": "*" })).status, 200);
});

test("changing and removing lines", async () => {
  const cart = await newCart("FR");
  const c = (await add(cart, "TOWEL-2", 2)).body;
  const line = c.lines[0].id;
  assert.match(line, /^line_[0-9a-f]{32}$/);
  const up = await stack.sf(`/v1/carts/${cart}/lines/${line}`, { method: "PATCH", json: { quantity: 5 } });
  assert.deepEqual(up.body.lines.map((l) => l.quantity), [5]);
  const zero = await stack.sf(`/v1/carts/${cart}/lines/${line}`, { method: "PATCH", json: { quantity: 0 } });
  assert.deepEqual(zero.body.lines, []);
  const again = (await add(cart, "TOWEL-2", 1)).body.lines[0].id;
  const del = await stack.sf(`/v1/carts/${cart}/lines/${again}`, { method: "DELETE" });
  assert.equal(del.status, 200);
  assert.deepEqual(del.body.lines, []);
  envelope(assert, await stack.sf(`/v1/carts/${cart}/lines/${again}`, { method: "DELETE" }), 404, "not_found");
  envelope(assert, await stack.sf(`/v1/carts/${cart}/lines/line_nope`, { method: "PATCH", json: { quantity: 1 } }), 404, "not_found");
});

test("every bad input is refused with the envelope and changes nothing", async () => {
  const cart = await newCart("FR");
  await add(cart, "SALT-125", 1);
  const before = (await stack.sf(`/v1/carts/${cart}`)).body;
  const cases = [
    [add(cart, "SALT-125", 0), 422, "validation_failed", "quantity"],
    [add(cart, "SALT-125", 1000), 422, "validation_failed", "quantity"],
    [add(cart, "SALT-125", -1), 422, "validation_failed", "quantity"],
    [add(cart, "SALT-125", "2"), 422, "validation_failed", "quantity"],
    [add(cart, "SALT-125", 1.5), 422, "validation_failed", "quantity"],
    [add(cart, "NO-SUCH-SKU", 1), 422, "unknown_sku", "sku"],
    [add(cart, "SPRING-SET", 1), 422, "unknown_sku", "sku"],
    [add(cart, "not a sku!", 1), 422, "unknown_sku", "sku"],
    [stack.sf(`/v1/carts/${cart}/lines`, { method: "POST", json: { sku: "SALT-125", unit_price: "0.01" } }), 422, "unknown_field", "unit_price"],
    [stack.sf(`/v1/carts/${cart}/lines`, { method: "POST", json: { quantity: 1 } }), 422, "validation_failed", "sku"],
    [patch(cart, { email: "not-an-email" }), 422, "validation_failed", "email"],
    [patch(cart, { shipping_address: { ...frAddress, country: "US" } }), 422, "validation_failed", "shipping_address.country"],
    [patch(cart, { shipping_address: { ...frAddress, postal_code: "" } }), 422, "validation_failed", "shipping_address.postal_code"],
    [patch(cart, { billing_address: { ...frAddress, planet: "Earth" } }), 422, "unknown_field", "billing_address.planet"],
    [patch(cart, { shipping_method: "teleport" }), 422, "validation_failed", "shipping_method"],
    [patch(cart, { note: "x".repeat(2001) }), 422, "validation_failed", "note"],
    [patch(cart, { status: "checked_out" }), 422, "unknown_field", "status"],
    [stack.sf("/v1/carts", { method: "POST", json: { market: "DE" } }), 422, "validation_failed", "market"],
    [stack.sf("/v1/carts", { method: "POST", json: { market: "FR", currency: "USD" } }), 422, "unknown_field", "currency"],
  ];
  for (const [pending, status, code, field] of cases) {
    const res = await pending;
    const err = envelope(assert, res, status, code);
    assert.equal(err.details?.field, field, `${code} ${res.text}`);
  }
  const stock = envelope(assert, await add(cart, "CUP-ESP-BLU", 4), 422, "insufficient_stock");
  assert.deepEqual(stock.details, { sku: "CUP-ESP-BLU", available: 3 });
  envelope(assert, await add(cart, "PAN-CU-16", 1), 422, "insufficient_stock");
  envelope(assert, await stack.sf(`/v1/carts/${cart}/lines`, { method: "POST", body: "{nope", headers: { "Content-Type": "application/json" } }), 400, "invalid_json");
  envelope(assert, await stack.sf(`/v1/carts/${cart}/lines`, { method: "POST", body: '{"sku":"SALT-125"}', headers: { "Content-Type": "text/plain" } }), 415, "unsupported_media_type");
  envelope(assert, await stack.sf("/v1/carts/cart_00000000000000000000000000000000"), 404, "not_found");
  envelope(assert, await add("cart_00000000000000000000000000000000", "SALT-125", 1), 404, "not_found");
  const after = (await stack.sf(`/v1/carts/${cart}`)).body;
  assert.deepEqual(after, before, "nothing changed, not even the version");
});

test("a line stops at 999 and a cart at 250 lines", async () => {
  const cart = await newCart("FR");
  await stack.db.prepare("UPDATE inventory_levels SET on_hand = 5000 WHERE location = 'main' AND sku = 'GIFT-50'").run();
  assert.equal((await add(cart, "GIFT-50", 999)).status, 200);
  const over = envelope(assert, await add(cart, "GIFT-50", 1), 422, "validation_failed");
  assert.equal(over.details.field, "quantity");
  // Fill to 250 lines directly, then one more through the API.
  const now = new Date().toISOString();
  const inserts = Array.from({ length: 249 }, (_, i) =>
    stack.db.prepare("INSERT INTO cart_lines (id, cart_id, sku, quantity, position, unit_price_seen, created_at, updated_at) VALUES (?1, ?2, ?3, 1, ?4, 100, ?5, ?5)").bind(`line_fill_${i}`, cart, `FILL-${i}`, i + 1, now),
  );
  await stack.db.batch(inserts);
  const full = envelope(assert, await add(cart, "SALT-125", 1), 422, "validation_failed");
  assert.match(full.message, /250/);
});

test("discount codes: applied with their effect, refused with the reason, removed", async () => {
  const cart = await newCart("FR");
  await add(cart, "KNIFE-20", 1);
  const unknown = envelope(assert, await stack.sf(`/v1/carts/${cart}/discount-codes`, { method: "POST", json: { code: "NOPE" } }), 422, "discount_not_applicable");
  assert.equal(unknown.details.reason, "unknown_code");
  const { adminToken, bearer } = await import("./tokens.mjs");
  const admin = bearer(await adminToken({ scope: "catalog:write" }));
  await stack.bo("/admin/v1/discounts/big-spender", { method: "PUT", headers: admin, json: { title: "Big spender", code: "BIG", kind: "percentage", value: "15", conditions: { min_subtotal: { FR: { amount: "200.00", currency: "EUR" } } } } });
  const min = envelope(assert, await stack.sf(`/v1/carts/${cart}/discount-codes`, { method: "POST", json: { code: "big" } }), 422, "discount_not_applicable");
  assert.equal(min.details.reason, "minimum_subtotal");
  assert.match(min.message, /200\.00 EUR/);
  const ok = await stack.sf(`/v1/carts/${cart}/discount-codes`, { method: "POST", json: { code: "WELCOME10" } });
  assert.equal(ok.body.totals.discount.amount, "8.90");
  const twice = await stack.sf(`/v1/carts/${cart}/discount-codes`, { method: "POST", json: { code: "welcome10" } });
  assert.equal(twice.status, 200);
  assert.equal(twice.body.version, ok.body.version, "applying a held code again changes nothing");
  const removed = await stack.sf(`/v1/carts/${cart}/discount-codes/welcome10`, { method: "DELETE" });
  assert.equal(removed.status, 200);
  assert.deepEqual(removed.body.discount_codes, []);
  assert.equal(removed.body.totals.discount.amount, "0.00");
  envelope(assert, await stack.sf(`/v1/carts/${cart}/discount-codes/WELCOME10`, { method: "DELETE" }), 404, "not_found");
});

test("shipping methods for the cart's market and address, priced for the cart", async () => {
  const cart = await newCart("FR");
  await add(cart, "CHOC-70", 2); // 11.80: under the 50.00 free-shipping threshold
  const methods = await stack.sf(`/v1/carts/${cart}/shipping-methods`);
  assert.equal(methods.status, 200);
  assert.deepEqual(methods.body.data.map((m) => [m.id, m.price.amount]), [["express", "12.90"], ["pickup-paris", "0.00"], ["standard", "4.90"]]);
  const us = await newCart("US");
  await add(us, "CHOC-70", 1);
  await patch(us, { shipping_address: usAddress });
  const usMethods = await stack.sf(`/v1/carts/${us}/shipping-methods`);
  assert.deepEqual(usMethods.body.data.map((m) => [m.id, m.price.amount]), [["express", "14.95"], ["standard", "7.95"]]);
  const mc = await patch(cart, { shipping_address: { ...frAddress, country: "MC" }, shipping_method: "pickup-paris" });
  const err = envelope(assert, mc, 422, "validation_failed");
  assert.equal(err.details.field, "shipping_method", "pickup is for FR addresses only");
});

test("warnings: a price change and a stock-out show on the cart", async () => {
  const cart = await newCart("FR");
  const line = (await add(cart, "OIL-500", 2)).body.lines[0].id;
  await stack.db.batch([
    stack.db.prepare("UPDATE prices SET amount_minor = 1790 WHERE sku = 'OIL-500' AND market = 'FR'"),
    stack.db.prepare("UPDATE inventory_levels SET on_hand = 1 WHERE location = 'main' AND sku = 'OIL-500'"),
  ]);
  await stack.dropSnapshot("FR");
  const c = (await stack.sf(`/v1/carts/${cart}`)).body;
  assert.equal(c.lines[0].unit_price.amount, "17.90", "repriced from the catalog");
  const codes = c.warnings.map((w) => [w.code, w.line_id]);
  assert.deepEqual(codes, [["price_changed", line], ["insufficient_stock", line]]);
});

test("attaching the signed-in customer merges their older cart; nothing is lost", async () => {
  const token = (sub) => new SignJWT({}).setProtectedHeader({ alg: "HS256" }).setSubject(sub).setExpirationTime("10m").sign(new TextEncoder().encode(SECRETS.CUSTOMER_JWT_SECRET));
  const jeanne = { Authorization: `Bearer ${await token("cus_jeanne")}` };
  const older = await newCart("FR");
  await add(older, "MUG-350", 2);
  await stack.sf(`/v1/carts/${older}/discount-codes`, { method: "POST", json: { code: "WELCOME10" } });
  assert.equal((await stack.sf(`/v1/carts/${older}/customer`, { method: "POST", headers: jeanne })).status, 200);

  const current = await newCart("FR");
  await add(current, "MUG-350", 1);
  await add(current, "TOWEL-2", 1);
  const merged = await stack.sf(`/v1/carts/${current}/customer`, { method: "POST", headers: jeanne });
  assert.equal(merged.status, 200, merged.text);
  assert.equal(merged.body.customer_id, "cus_jeanne");
  assert.deepEqual(merged.body.lines.map((l) => [l.sku, l.quantity]), [["MUG-350", 3], ["TOWEL-2", 1]]);
  assert.deepEqual(merged.body.discount_codes.map((c) => c.code), ["WELCOME10"]);
  const old = (await stack.sf(`/v1/carts/${older}`)).body;
  assert.equal(old.status, "merged");
  assert.equal(old.merged_into, current);
  envelope(assert, await add(older, "MUG-350", 1), 409, "cart_not_active");

  const paul = { Authorization: `Bearer ${await token("cus_paul")}` };
  envelope(assert, await stack.sf(`/v1/carts/${current}/customer`, { method: "POST", headers: paul }), 403, "forbidden");
  envelope(assert, await stack.sf(`/v1/carts/${current}/customer`, { method: "POST" }), 401, "unauthorized");
  const smuggled = await stack.sf(`/v1/carts/${current}/customer`, { method: "POST", headers: jeanne, json: { customer_id: "cus_paul" } });
  assert.equal(envelope(assert, smuggled, 422, "unknown_field").details.field, "customer_id", "the customer comes from the token only");
  const forged = await new SignJWT({}).setProtectedHeader({ alg: "HS256" }).setSubject("cus_jeanne").setExpirationTime("10m").sign(new TextEncoder().encode("another-secret-of-sufficient-length-000"));
  envelope(assert, await stack.sf(`/v1/carts/${current}/customer`, { method: "POST", headers: { Authorization: `Bearer ${forged}` } }), 401, "unauthorized");
});

test("another channel cannot see or change a cart", async () => {
  const cart = await newCart("US");
  const now = "2026-01-01T00:00:00.000Z";
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode("pk_other_channel"));
  const hex = [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
  await stack.db.batch([
    stack.db.prepare("INSERT INTO channels (id, name, key_hash, key_hint, created_at, updated_at) VALUES ('other', 'Other', ?1, 'nnel', ?2, ?2)").bind(hex, now),
    stack.db.prepare("INSERT INTO channel_markets (channel_id, market_code, position) VALUES ('other', 'US', 0)"),
  ]);
  const other = { "X-Publishable-Key": "pk_other_channel" };
  envelope(assert, await stack.sfRaw(`/v1/carts/${cart}`, { headers: other }), 404, "not_found");
  envelope(assert, await stack.sfRaw(`/v1/carts/${cart}/lines`, { method: "POST", headers: { ...other, "Content-Type": "application/json" }, body: '{"sku":"CHOC-70"}' }), 404, "not_found");
});

test("any POST that sends an Idempotency-Key replays its first response", async () => {
  const key = { "Idempotency-Key": `create-${Date.now()}` };
  const first = await stack.sf("/v1/carts", { method: "POST", json: { market: "FR" }, headers: key });
  const again = await stack.sf("/v1/carts", { method: "POST", json: { market: "FR" }, headers: key });
  assert.equal(first.status, 201);
  assert.equal(again.status, 201);
  assert.equal(again.body.id, first.body.id, "one cart, not two");
  assert.equal(again.headers.get("idempotent-replayed"), "true");
  assert.equal(again.headers.get("etag"), '"1"', "a replayed cart answer carries its ETag, as the first did");
  assert.equal(again.headers.get("etag"), first.headers.get("etag"));
  envelope(assert, await stack.sf("/v1/carts", { method: "POST", json: { market: "US" }, headers: key }), 422, "idempotency_key_reused");
  const cart = first.body.id;
  const lineKey = { "Idempotency-Key": `line-${Date.now()}` };
  const added = await add(cart, "CHOC-70", 2, lineKey);
  const replayed = await add(cart, "CHOC-70", 2, lineKey);
  assert.deepEqual(replayed.body.lines.map((l) => l.quantity), [2], "the retried add did not add twice");
  assert.equal(replayed.headers.get("etag"), `"${added.body.version}"`);
  // A refusal replayed carries none: it names no version.
  const badKey = { "Idempotency-Key": `bad-${Date.now()}` };
  envelope(assert, await add(cart, "NOPE-1", 1, badKey), 422, "unknown_sku");
  const badAgain = await add(cart, "NOPE-1", 1, badKey);
  envelope(assert, badAgain, 422, "unknown_sku");
  assert.equal(badAgain.headers.get("etag"), null);
  assert.deepEqual((await stack.sf(`/v1/carts/${cart}`)).body.lines.map((l) => l.quantity), [2]);
});
