// What an operator sees (API.md "Operations"): one JSON log line per request from each Worker
// (its route's pattern, status, D1 round trips as Server-Timing counts them, duration, and the
// channel or the admin token's subject, an email only as a digest), nothing personal anywhere in
// the logs, GET /admin/v1/stats counting what this test created, and the Analytics Engine data
// points of orders, checkout refusals and delivery attempts (read through the test entry's
// printing METRICS binding). Receivers listen on 127.0.0.1 only.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import crypto from "node:crypto";
import { startStack, d1RoundTrips, envelope, startReceiver, until } from "./harness.mjs";
import { adminToken, bearer } from "./tokens.mjs";
import { frAddress } from "./integrator.mjs";

const STAFF_EMAIL = "night.shift@example.com";
const SHOPPER_EMAIL = "jeanne.martin@example.fr";

let stack;
let receiver;
let base;
const answers = {}; // receiver path → status it answers
let staff; // an admin token whose sub is an email, as the admin app mints them
before(async () => {
  receiver = await startReceiver(async (req) => ({ status: answers[req.url] ?? 200 }));
  base = receiver.url;
  // Retries wait long enough that a failing delivery stays pending while the test runs.
  stack = await startStack({ captureLogs: true, faults: true, vars: { DELIVERY_RETRY_BASE_SECONDS: "60", COMPTOIR_TEST_METRICS: "log" } });
  staff = bearer(await adminToken({ sub: STAFF_EMAIL, scope: "orders:read orders:write destinations:read destinations:write inventory:write" }));
});
after(async () => {
  await stack?.dispose();
  receiver?.close();
});

/** Every log line that is a request's JSON line. */
function requestLines() {
  return stack
    .logs()
    .split("\n")
    .filter((l) => l.startsWith("{") && l.includes('"request_id"'))
    .map((l) => JSON.parse(l));
}
async function linesFor(ids) {
  const end = Date.now() + 5000;
  for (;;) {
    const lines = requestLines().filter((l) => ids.includes(l.request_id));
    if (new Set(lines.map((l) => l.request_id)).size === ids.length || Date.now() > end) return lines;
    await new Promise((r) => setTimeout(r, 50));
  }
}
const digest = (sub) => `sha256:${crypto.createHash("sha256").update(sub).digest("hex").slice(0, 12)}`;

async function order(cart, key, { pay = false, cancel = false } = {}) {
  const placed = await stack.sf(`/v1/carts/${cart}/checkout`, { method: "POST", json: { payment_provider: "manual" }, headers: { "Idempotency-Key": key } });
  assert.equal(placed.status, 201, placed.text);
  const id = placed.body.order.id;
  if (pay) assert.equal((await stack.bo(`/admin/v1/orders/${id}/mark-paid`, { method: "POST", headers: staff })).status, 200);
  if (cancel) assert.equal((await stack.bo(`/admin/v1/orders/${id}/cancel`, { method: "POST", headers: staff })).status, 200);
  return placed;
}
async function readyCart(sku = "MUG-350") {
  const cart = await stack.sf("/v1/carts", { method: "POST", json: { market: "FR" } });
  const line = await stack.sf(`/v1/carts/${cart.body.id}/lines`, { method: "POST", json: { sku, quantity: 1 } });
  const patch = await stack.sf(`/v1/carts/${cart.body.id}`, { method: "PATCH", json: { email: SHOPPER_EMAIL, shipping_address: frAddress, shipping_method: "standard" } });
  assert.equal(patch.status, 200, patch.text);
  return { id: cart.body.id, responses: [cart, line, patch] };
}

test("each request writes one JSON line: its route's pattern, status, D1 round trips, worker and who, never an email", async () => {
  const sent = []; // [response, expected fields]
  const sf = async (expect, p, opts) => {
    const res = await stack.sf(p, opts);
    sent.push([res, { worker: "storefront", channel: "web", ...expect }]);
    return res;
  };
  await sf({ route: "/v1/products/{handle}", method: "GET" }, "/v1/products/linen-apron?market=FR");
  const cart = await sf({ route: "/v1/carts", method: "POST" }, "/v1/carts", { method: "POST", json: { market: "FR" } });
  const id = cart.body.id;
  await sf({ route: "/v1/carts/{id}/lines", method: "POST" }, `/v1/carts/${id}/lines`, { method: "POST", json: { sku: "MUG-350", quantity: 2 } });
  await sf({ route: "/v1/carts/{id}", method: "PATCH" }, `/v1/carts/${id}`, { method: "PATCH", json: { email: SHOPPER_EMAIL, shipping_address: frAddress, shipping_method: "standard" } });
  const placed = await sf({ route: "/v1/carts/{id}/checkout", method: "POST" }, `/v1/carts/${id}/checkout`, { method: "POST", json: { payment_provider: "manual" }, headers: { "Idempotency-Key": `obs-${id}` } });
  assert.equal(placed.status, 201, placed.text);
  // Refused before the channel is known, or by a route that does not exist.
  sent.push([await stack.sfRaw("/v1/markets"), { worker: "storefront", route: "/v1/markets", method: "GET", channel: null }]);
  sent.push([await stack.sfRaw("/v1/no/such/route"), { worker: "storefront", route: "unmatched", method: "GET", channel: null }]);
  await sf({ route: "/v1/products", method: "DELETE", channel: null }, "/v1/products", { method: "DELETE" }); // 405 before the key is read
  sent.push([
    await stack.sfRaw(`/v1/carts/${id}/lines`, { method: "OPTIONS", headers: { Origin: "http://localhost:8789", "Access-Control-Request-Method": "POST" } }),
    { worker: "storefront", route: "/v1/carts/{id}/lines", method: "OPTIONS", channel: null },
  ]);
  // A client's own X-Request-Id names its line.
  sent.push([await stack.sf("/v1/markets", { headers: { "X-Request-Id": "client-trace.42" } }), { worker: "storefront", route: "/v1/markets", method: "GET", channel: "web", request_id: "client-trace.42" }]);

  const bo = async (expect, p, opts) => {
    const res = await stack.bo(p, opts);
    sent.push([res, { worker: "backoffice", admin_sub: digest(STAFF_EMAIL), ...expect }]);
    return res;
  };
  await bo({ route: "/admin/v1/orders/{id}", method: "GET" }, `/admin/v1/orders/${placed.body.order.id}`, { headers: staff });
  await bo({ route: "/admin/v1/orders", method: "GET" }, "/admin/v1/orders?q=jeanne", { headers: staff });
  await bo({ route: "/admin/v1/markets/{code}", method: "GET" }, "/admin/v1/markets/FR", { headers: staff }); // 403: no catalog:read
  const service = bearer(await adminToken({ sub: "erp-sync", scope: "orders:read" }));
  await bo({ route: "/admin/v1/orders", method: "GET", admin_sub: "erp-sync" }, "/admin/v1/orders", { headers: service });
  await bo({ route: "unmatched", method: "GET", admin_sub: null }, "/admin/v1/nowhere", { headers: staff });
  await bo({ route: "/admin/v1/orders/{id}", method: "DELETE", admin_sub: null }, `/admin/v1/orders/${placed.body.order.id}`, { method: "DELETE", headers: staff });
  await bo({ route: "/admin/v1/orders", method: "GET", admin_sub: null }, "/admin/v1/orders");
  // A panic still gets its line, with the id its 500 carries.
  sent.push([await stack.bo("/__test/panic"), { worker: "backoffice", route: "/__test/panic", method: "GET", admin_sub: null, status: 500 }]);
  sent.push([await stack.sfRaw("/__test/panic"), { worker: "storefront", route: "/__test/panic", method: "GET", channel: null, status: 500 }]);

  const ids = sent.map(([res]) => res.headers.get("x-request-id"));
  assert.equal(new Set(ids).size, ids.length, "every response names its own request");
  const lines = await linesFor(ids);
  for (const [res, expect] of sent) {
    const rid = res.headers.get("x-request-id");
    const mine = lines.filter((l) => l.request_id === rid);
    assert.equal(mine.length, 1, `one line for ${expect.method} ${expect.route} (${rid})`);
    const [line] = mine;
    const principal = expect.worker === "storefront" ? "channel" : "admin_sub";
    assert.deepEqual(Object.keys(line), ["request_id", "worker", "route", "method", "status", "d1_round_trips", "duration_ms", principal]);
    assert.deepEqual(
      { ...line, duration_ms: undefined },
      { request_id: expect.request_id ?? rid, worker: expect.worker, route: expect.route, method: expect.method, status: res.status, d1_round_trips: d1RoundTrips(res.headers), duration_ms: undefined, [principal]: expect[principal] },
    );
    if (expect.status) assert.equal(res.status, expect.status);
    assert.equal(typeof line.duration_ms, "number");
    assert.ok(line.duration_ms >= 0);
  }
  assert.deepEqual(sent.map(([res]) => res.status), [200, 201, 200, 200, 201, 401, 404, 405, 204, 200, 200, 200, 403, 200, 404, 405, 401, 500, 500]);
  assert.ok(lines.some((l) => l.d1_round_trips >= 2), "round trips are counted");

  // Nothing personal in any log line: not the staff member's email, not the shopper's, not an
  // address, not a cart id (a bearer capability) or a token.
  const logs = stack.logs();
  for (const secret of [STAFF_EMAIL, SHOPPER_EMAIL, "rue de la Paix", "Jeanne", id, placed.body.order_token]) {
    assert.ok(!logs.includes(secret), `${secret} appears in the logs`);
  }
  assert.doesNotMatch(logs, /[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+/, "an email appears in the logs");
});

test("GET /admin/v1/stats counts today's orders by status, pending and dead deliveries, disabled destinations and low stock, in one round trip", async () => {
  const stats = async () => {
    const res = await stack.bo("/admin/v1/stats", { headers: staff });
    assert.equal(res.status, 200, res.text);
    assert.equal(d1RoundTrips(res.headers), 1);
    return res.body;
  };
  const before = await stats();
  assert.deepEqual(Object.keys(before.orders.today).sort(), ["canceled", "confirmed", "fulfilled", "pending_payment", "refunded"]);
  assert.ok(Math.abs(Date.parse(before.generated_at) - Date.now()) < 60_000, before.generated_at);

  // One destination's receiver refuses (400: dead at once), another's fails (503: retried, so
  // pending), a third is switched off. They hear of what this test does only (two orders
  // confirmed and one canceled: three events).
  answers["/refuses"] = 400;
  answers["/fails"] = 503;
  const put = async (id, json) => assert.ok([200, 201].includes((await stack.bo(`/admin/v1/destinations/${id}`, { method: "PUT", headers: staff, json })).status));
  const events = ["order.confirmed", "order.canceled"];
  await put("refuses", { url: `${base}/refuses`, events });
  await put("fails", { url: `${base}/fails`, events });
  await put("off", { url: `${base}/off`, events: ["*"], enabled: false });

  await order((await readyCart()).id, `stats-1-${Date.now()}`);
  await order((await readyCart()).id, `stats-2-${Date.now()}`, { pay: true });
  await order((await readyCart()).id, `stats-3-${Date.now()}`, { pay: true });
  await order((await readyCart()).id, `stats-4-${Date.now()}`, { cancel: true });
  // A SKU with plenty of stock falls to the threshold (5).
  const lowBefore = (await stack.db.prepare("SELECT on_hand - reserved AS a FROM inventory WHERE sku = 'TOWEL-2'").first()).a;
  assert.ok(lowBefore > 5, `TOWEL-2 holds ${lowBefore}`);
  const reserved = (await stack.db.prepare("SELECT reserved FROM inventory WHERE sku = 'TOWEL-2'").first()).reserved;
  assert.equal((await stack.bo("/admin/v1/inventory/TOWEL-2", { method: "PUT", headers: staff, json: { on_hand: reserved + 5 } })).status, 200);

  // Three events: each one dead at `refuses`, and tried and pending at `fails`.
  const count = async (destination, status) =>
    (await stack.db.prepare("SELECT COUNT(*) AS n FROM deliveries WHERE destination_id = ?1 AND status = ?2 AND attempts > 0").bind(destination, status).first()).n;
  await until("the deliveries settle", async () => (await count("refuses", "dead")) >= 3 && (await count("fails", "pending")) >= 3);

  const now = await stats();
  const plus = (status, n) => before.orders.today[status] + n;
  assert.deepEqual(now.orders.today, { pending_payment: plus("pending_payment", 1), confirmed: plus("confirmed", 2), fulfilled: plus("fulfilled", 0), canceled: plus("canceled", 1), refunded: plus("refunded", 0) });
  assert.equal(now.deliveries.dead, before.deliveries.dead + 3);
  assert.equal(now.deliveries.pending, before.deliveries.pending + 3);
  assert.equal(now.destinations_disabled, before.destinations_disabled + 1);
  assert.equal(now.low_stock, before.low_stock + 1);
  const direct = (await stack.db.prepare("SELECT COUNT(*) AS n FROM inventory WHERE on_hand - reserved <= 5").first()).n;
  assert.equal(now.low_stock, direct);

  const noRight = await stack.bo("/admin/v1/stats", { headers: bearer(await adminToken({ scope: "catalog:read inventory:read destinations:read" })) });
  envelope(assert, noRight, 403, "forbidden");
  envelope(assert, await stack.bo("/admin/v1/stats", { method: "POST", headers: staff }), 405, "method_not_allowed");
  assert.ok(!stack.logs().includes(STAFF_EMAIL) && !stack.logs().includes(SHOPPER_EMAIL), "an email appears in the logs");
});

/** The data points written since `from` (an offset into the logs). */
const dataPoints = (from) =>
  stack
    .logs()
    .slice(from)
    .split("\n")
    .filter((l) => l.startsWith("[metrics] "))
    .map((l) => JSON.parse(l.slice("[metrics] ".length)));

test("each order placed, checkout refused and delivery attempt writes one data point, and a replay none", async () => {
  const from = stack.logs().length;
  answers["/hears"] = 200;
  answers["/flaky"] = 503;
  answers["/rejects"] = 422;
  for (const id of ["hears", "flaky", "rejects"]) {
    const res = await stack.bo(`/admin/v1/destinations/${id}`, { method: "PUT", headers: staff, json: { url: `${base}/${id}`, events: ["order.placed"] } });
    assert.equal(res.status, 201, res.text);
  }
  const cart = await readyCart();
  const key = `metrics-${cart.id}`;
  const placed = await order(cart.id, key);
  const replay = await stack.sf(`/v1/carts/${cart.id}/checkout`, { method: "POST", json: { payment_provider: "manual" }, headers: { "Idempotency-Key": key } });
  assert.equal(replay.headers.get("idempotent-replayed"), "true");
  const again = await stack.sf(`/v1/carts/${cart.id}/checkout`, { method: "POST", json: { payment_provider: "manual" }, headers: { "Idempotency-Key": `${key}-2` } });
  envelope(assert, again, 409, "cart_not_active");
  envelope(assert, await stack.sf(`/v1/carts/${cart.id}/checkout`, { method: "POST", json: { payment_provider: "manual" } }), 428, "idempotency_key_required");

  const deliveries = (points) => points.filter((p) => p.blobs[0] === "delivery" && ["hears", "flaky", "rejects"].includes(p.blobs[2]));
  await until("three delivery attempts", () => deliveries(dataPoints(from)).length >= 3);
  const points = dataPoints(from);
  for (const p of points) {
    assert.deepEqual(Object.keys(p).sort(), ["blobs", "doubles", "indexes"]);
    assert.deepEqual(p.indexes, [p.blobs[0]], "the index is the kind");
  }
  const of = (kind) => points.filter((p) => p.blobs[0] === kind).map((p) => [p.blobs.slice(1), p.doubles]);
  const total = Math.round(Number(placed.body.order.totals.total.amount) * 100);
  assert.deepEqual(of("order_placed"), [[["FR", "manual", "EUR"], [total]]], "one order placed, the replay not counted");
  assert.deepEqual(of("checkout_refused"), [[["cart_not_active"], [409]], [["idempotency_key_required"], [428]]]);
  assert.deepEqual(
    deliveries(points).map((p) => [p.blobs.slice(1), p.doubles]).sort(),
    [
      [["dead", "rejects"], [422, 1]],
      [["delivered", "hears"], [200, 1]],
      [["failed", "flaky"], [503, 1]],
    ],
  );
  assert.doesNotMatch(JSON.stringify(points), /@/, "no email in a data point");
});

