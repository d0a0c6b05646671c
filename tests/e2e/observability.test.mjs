// What an operator sees (API.md "Operations"): one JSON log line per request from each Worker
// (its route's pattern, status, D1 round trips as Server-Timing counts them, duration, and the
// channel or the admin token's subject, an email only as a digest), nothing personal anywhere in
// the logs.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import crypto from "node:crypto";
import { startStack, d1RoundTrips } from "./harness.mjs";
import { adminToken, bearer } from "./tokens.mjs";

const STAFF_EMAIL = "night.shift@example.com";
const SHOPPER_EMAIL = "jeanne.martin@example.fr";
const frAddress = { first_name: "Jeanne", last_name: "Martin", line1: "3 rue de la Paix", city: "Paris", postal_code: "75002", country: "FR" };

let stack;
let staff; // an admin token whose sub is an email, as the admin app mints them
before(async () => {
  stack = await startStack({ captureLogs: true });
  staff = bearer(await adminToken({ sub: STAFF_EMAIL, scope: "orders:read orders:write" }));
});
after(() => stack?.dispose());

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

