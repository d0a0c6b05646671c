// Checkout and orders: idempotent, never oversells, every state legal, guests and customers
// see their own orders only, and the back office moves orders through their states.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { SignJWT } from "jose";
import { startStack, envelope, d1RoundTrips, SECRETS } from "./harness.mjs";
import { adminToken, bearer } from "./tokens.mjs";

let stack;
let admin;
before(async () => {
  stack = await startStack();
  admin = bearer(await adminToken({ scope: "orders:read orders:write" }));
});
after(() => stack?.dispose());

const frAddress = { first_name: "Jeanne", last_name: "Martin", line1: "3 rue de la Paix", city: "Paris", postal_code: "75002", country: "FR" };
let keyCounter = 0;
const newKey = () => `key-${Date.now()}-${++keyCounter}`;

async function readyCart(lines = [["MUG-350", 2]], { customer } = {}) {
  const cart = (await stack.sf("/v1/carts", { method: "POST", json: { market: "FR" } })).body.id;
  for (const [sku, quantity] of lines) {
    const r = await stack.sf(`/v1/carts/${cart}/lines`, { method: "POST", json: { sku, quantity } });
    assert.equal(r.status, 200, r.text);
  }
  const p = await stack.sf(`/v1/carts/${cart}`, { method: "PATCH", json: { email: "jeanne@example.fr", shipping_address: frAddress, shipping_method: "standard" } });
  assert.equal(p.status, 200, p.text);
  if (customer) await stack.sf(`/v1/carts/${cart}/customer`, { method: "POST", headers: { Authorization: `Bearer ${customer}` } });
  return cart;
}
const checkout = (cart, key = newKey(), json = { payment_provider: "manual" }) =>
  stack.sf(`/v1/carts/${cart}/checkout`, { method: "POST", json, headers: key === null ? {} : { "Idempotency-Key": key } });
const level = async (sku) => stack.db.prepare("SELECT on_hand, reserved FROM inventory WHERE sku = ?1").bind(sku).first();
const customerToken = (sub) => new SignJWT({}).setProtectedHeader({ alg: "HS256" }).setSubject(sub).setExpirationTime("10m").sign(new TextEncoder().encode(SECRETS.CUSTOMER_JWT_SECRET));
const events = async (aggregate) => (await stack.db.prepare("SELECT type, sequence, payload FROM outbox WHERE aggregate = ?1 ORDER BY sequence").bind(aggregate).all()).results;

test("checkout places a pending order, reserves stock, closes the cart and records order.placed", async () => {
  const before = await level("MUG-350");
  const cart = await readyCart([["MUG-350", 2]]);
  const res = await checkout(cart);
  assert.equal(res.status, 201, res.text);
  assert.equal(d1RoundTrips(res.headers), 2, `the claim reading the cart, then the order's batch keeping the answer: ${res.headers.get("server-timing")}`);
  const { order, order_token, payment } = res.body;
  assert.match(order.id, /^ord_[0-9a-f]{32}$/);
  assert.match(order.number, /^FR-\d{6}$/);
  assert.deepEqual([order.status, order.payment_status, order.fulfillment_status], ["pending_payment", "pending", "unfulfilled"]);
  assert.deepEqual(payment, { provider: "manual", status: "pending" });
  assert.equal(order.totals.total.amount, "44.70", "2 × 19.90 + 4.90 shipping");
  assert.deepEqual(order.lines.map((l) => [l.sku, l.quantity, l.fulfilled_quantity, l.refunded_quantity]), [["MUG-350", 2, 0, 0]]);
  assert.equal(typeof order_token, "string");
  const after = await level("MUG-350");
  assert.deepEqual(after, { on_hand: before.on_hand, reserved: before.reserved + 2 });
  const cartNow = await stack.sf(`/v1/carts/${cart}`);
  assert.equal(cartNow.body.status, "checked_out");
  envelope(assert, await stack.sf(`/v1/carts/${cart}/lines`, { method: "POST", json: { sku: "MUG-350" } }), 409, "cart_not_active");
  const [placed] = await events(order.id);
  assert.equal(placed.type, "order.placed");
  assert.equal(placed.sequence, 1);
  const envelopeJson = JSON.parse(placed.payload);
  assert.equal(envelopeJson.data.number, order.number);
  assert.equal(envelopeJson.type, "order.placed");
});

test("the same key and body replay the first response; another body is 422; no key is 428", async () => {
  const cart = await readyCart([["TOWEL-2", 1]]);
  // Accents and quotes in the answer: the replay (kept by SQL's json_set) is the same bytes.
  const patched = await stack.sf(`/v1/carts/${cart}`, { method: "PATCH", json: { shipping_address: { ...frAddress, line1: 'Place de l\'Église "Saint-Éloi" – 3' } } });
  assert.equal(patched.status, 200, patched.text);
  const key = newKey();
  const first = await checkout(cart, key);
  const again = await checkout(cart, key);
  assert.equal(again.status, 201);
  assert.equal(again.text, first.text);
  assert.equal(again.headers.get("idempotent-replayed"), "true");
  envelope(assert, await checkout(cart, key, { payment_provider: "stripe" }), 422, "idempotency_key_reused");
  envelope(assert, await checkout(await readyCart([["TOWEL-2", 1]]), null), 428, "idempotency_key_required");
  const count = await stack.db.prepare("SELECT COUNT(*) AS n FROM orders WHERE cart_id = ?1").bind(cart).first();
  assert.equal(count.n, 1);
});

test("30 parallel identical checkouts with one key place exactly one order", async () => {
  const cart = await readyCart([["BOARD-S", 1]]);
  const key = newKey();
  const results = await Promise.all(Array.from({ length: 30 }, () => checkout(cart, key)));
  const created = results.filter((r) => r.status === 201);
  const busy = results.filter((r) => r.status === 409);
  assert.equal(created.length + busy.length, 30, results.map((r) => r.status).join(","));
  assert.ok(created.length >= 1);
  assert.ok(busy.every((r) => r.body.error.code === "idempotency_in_progress" && r.headers.get("retry-after")));
  assert.equal(new Set(created.map((r) => r.body.order.id)).size, 1, "every 201 is the same order");
  const count = await stack.db.prepare("SELECT COUNT(*) AS n FROM orders WHERE cart_id = ?1").bind(cart).first();
  assert.equal(count.n, 1);
});

test("40 concurrent checkouts racing for 10 units give exactly 10 orders and never oversell", async () => {
  await stack.db.prepare("UPDATE inventory_levels SET on_hand = 10, reserved = 0 WHERE location = 'main' AND sku = 'SALT-125'").run();
  const carts = [];
  for (let i = 0; i < 40; i++) carts.push(await readyCart([["SALT-125", 1]]));
  const results = await Promise.all(carts.map((c) => checkout(c)));
  const statuses = results.map((r) => r.status);
  assert.equal(statuses.filter((s) => s === 201).length, 10, statuses.join(","));
  for (const r of results.filter((r) => r.status !== 201)) {
    envelope(assert, r, 422, "insufficient_stock");
    assert.deepEqual(r.body.error.details, { sku: "SALT-125", available: 0 });
  }
  assert.deepEqual(await level("SALT-125"), { on_hand: 10, reserved: 10 });
  const low = (await stack.db.prepare("SELECT json_extract(payload, '$.data.location') AS location, json_extract(payload, '$.data.available') AS available FROM outbox WHERE type = 'inventory.low' AND aggregate = 'SALT-125' ORDER BY json_extract(payload, '$.sequence')").all()).results;
  assert.deepEqual(
    low.map((e) => e.location),
    [null, "main"],
    "inventory.low fired once in total and once at main, when available crossed the threshold of 5",
  );
});

test("checkout validates everything server-side and changes nothing when it refuses", async () => {
  const empty = (await stack.sf("/v1/carts", { method: "POST", json: { market: "FR" } })).body.id;
  assert.equal(envelope(assert, await checkout(empty), 422, "validation_failed").details.field, "lines");
  const noEmail = (await stack.sf("/v1/carts", { method: "POST", json: { market: "FR" } })).body.id;
  await stack.sf(`/v1/carts/${noEmail}/lines`, { method: "POST", json: { sku: "CHOC-70" } });
  assert.equal(envelope(assert, await checkout(noEmail), 422, "validation_failed").details.field, "email");
  await stack.sf(`/v1/carts/${noEmail}`, { method: "PATCH", json: { email: "a@b.co" } });
  assert.equal(envelope(assert, await checkout(noEmail), 422, "validation_failed").details.field, "shipping_address");
  await stack.sf(`/v1/carts/${noEmail}`, { method: "PATCH", json: { shipping_address: frAddress } });
  assert.equal(envelope(assert, await checkout(noEmail), 422, "validation_failed").details.field, "shipping_method");
  const cart = await readyCart([["CHOC-70", 1]]);
  assert.equal(envelope(assert, await checkout(cart, newKey(), { payment_provider: "cash" }), 422, "validation_failed").details.field, "payment_provider");
  assert.equal(envelope(assert, await checkout(cart, newKey(), { payment_provider: "manual", total: "0.01" }), 422, "unknown_field").details.field, "total");
  envelope(assert, await checkout("cart_00000000000000000000000000000000"), 404, "not_found");
  const orders = await stack.db.prepare("SELECT COUNT(*) AS n FROM orders WHERE cart_id IN (?1, ?2, ?3)").bind(empty, noEmail, cart).first();
  assert.equal(orders.n, 0);
});

test("guests see their order with its token; customers see theirs; everyone else gets 404", async () => {
  const a = (await checkout(await readyCart([["CHOC-70", 1]]))).body;
  const b = (await checkout(await readyCart([["CHOC-70", 1]]))).body;
  const get = (id, auth) => stack.sf(`/v1/orders/${id}`, { headers: auth === undefined ? {} : { Authorization: `Bearer ${auth}` } });
  const ok = await get(a.order.id, a.order_token);
  assert.equal(ok.status, 200);
  assert.deepEqual(ok.body, a.order);
  envelope(assert, await get(a.order.id, b.order_token), 404, "not_found");
  envelope(assert, await get(a.order.id, "garbage"), 404, "not_found");
  envelope(assert, await get(a.order.id, a.order_token.slice(0, -2) + "xx"), 404, "not_found");
  envelope(assert, await get("ord_nope", a.order_token), 404, "not_found");
  envelope(assert, await get(a.order.id), 401, "unauthorized");

  const jeanne = await customerToken("cus_jeanne_orders");
  const mine = (await checkout(await readyCart([["CHOC-70", 1]], { customer: jeanne }))).body;
  assert.equal(mine.order.customer_id, "cus_jeanne_orders");
  assert.equal((await get(mine.order.id, jeanne)).status, 200);
  envelope(assert, await get(a.order.id, jeanne), 404, "not_found");
  const list = await stack.sf("/v1/customers/me/orders", { headers: { Authorization: `Bearer ${jeanne}` } });
  assert.equal(list.status, 200, list.text);
  assert.deepEqual(list.body.data.map((o) => o.id), [mine.order.id]);
  assert.equal(list.body.next_cursor, null);
  envelope(assert, await stack.sf("/v1/customers/me/orders"), 401, "unauthorized");
});

test("the back office pays, fulfils and refunds an order; stock and events follow; illegal moves are 409", async () => {
  const placed = (await checkout(await readyCart([["KNIFE-20", 2], ["TOWEL-2", 1]]))).body.order;
  const knife = await level("KNIFE-20");
  const act = (action, json) => stack.bo(`/admin/v1/orders/${placed.id}/${action}`, { method: "POST", headers: admin, json });
  envelope(assert, await act("fulfillments", { lines: [{ line_id: placed.lines[0].id, quantity: 1 }] }), 409, "illegal_transition");
  const paid = await act("mark-paid", {});
  assert.equal(paid.status, 200, paid.text);
  assert.deepEqual([paid.body.status, paid.body.payment_status], ["confirmed", "paid"]);
  const twice = await stack.bo(`/admin/v1/orders/${placed.id}/mark-paid`, { method: "POST", headers: admin });
  assert.equal(twice.status, 200, "paying twice changes nothing");
  assert.deepEqual(twice.body, paid.body);

  const part = await act("fulfillments", { lines: [{ line_id: placed.lines[0].id, quantity: 1 }], tracking: { carrier: "Colissimo", number: "6A123", url: "https://track.example/6A123" } });
  assert.equal(part.status, 200, part.text);
  assert.equal(part.body.fulfillment_status, "partially_fulfilled");
  assert.deepEqual(await level("KNIFE-20"), { on_hand: knife.on_hand - 1, reserved: knife.reserved - 1 });
  const over = envelope(assert, await act("fulfillments", { lines: [{ line_id: placed.lines[0].id, quantity: 2 }] }), 422, "validation_failed");
  assert.equal(over.details.field, "lines[0]");
  const rest = await act("fulfillments", { lines: [{ line_id: placed.lines[0].id, quantity: 1 }, { line_id: placed.lines[1].id, quantity: 1 }] });
  assert.deepEqual([rest.body.status, rest.body.fulfillment_status], ["fulfilled", "fulfilled"]);
  envelope(assert, await act("cancel", {}), 409, "illegal_transition");
  const refund = await act("refunds", { lines: [{ line_id: placed.lines[1].id, quantity: 1 }], reason: "damaged" });
  assert.equal(refund.body.payment_status, "partially_refunded");
  assert.equal(refund.body.lines[1].refunded_quantity, 1);
  const seq = await events(placed.id);
  assert.deepEqual(seq.map((e) => [e.type, e.sequence]), [["order.placed", 1], ["order.confirmed", 2], ["order.fulfilled", 3], ["order.fulfilled", 4], ["order.refunded", 5]]);
  assert.equal(JSON.parse(seq[2].payload).data.fulfillment.tracking.carrier, "Colissimo");
  const read = await stack.bo(`/admin/v1/orders/${placed.id}`, { headers: admin });
  assert.deepEqual(read.body, refund.body);
  const list = await stack.bo("/admin/v1/orders?status=fulfilled&limit=5", { headers: admin });
  assert.ok(list.body.data.some((o) => o.id === placed.id));
  envelope(assert, await stack.bo("/admin/v1/orders?status=lost", { headers: admin }), 400, "invalid_parameter");
  envelope(assert, await stack.bo(`/admin/v1/orders/${placed.id}/mark-paid`, { method: "POST", headers: bearer(await adminToken({ scope: "orders:read" })) }), 403, "forbidden");
});

test("canceling an unpaid order releases its stock and emits order.canceled", async () => {
  const placed = (await checkout(await readyCart([["BOARD-L", 2]]))).body.order;
  const reserved = await level("BOARD-L");
  const res = await stack.bo(`/admin/v1/orders/${placed.id}/cancel`, { method: "POST", headers: admin });
  assert.equal(res.status, 200, res.text);
  assert.deepEqual([res.body.status, res.body.payment_status, res.body.cancel_reason], ["canceled", "voided", "canceled_by_merchant"]);
  assert.deepEqual(await level("BOARD-L"), { on_hand: reserved.on_hand, reserved: reserved.reserved - 2 });
  assert.equal((await stack.bo(`/admin/v1/orders/${placed.id}/cancel`, { method: "POST", headers: admin })).status, 200, "canceling twice changes nothing");
  envelope(assert, await stack.bo(`/admin/v1/orders/${placed.id}/mark-paid`, { method: "POST", headers: admin }), 409, "illegal_transition");
  assert.deepEqual((await events(placed.id)).map((e) => e.type), ["order.placed", "order.canceled"]);
});
