// D1 failing mid-request. The test build's entry module (scripts/test-entry.mjs, never
// deployed) makes the Nth D1 round trip of a request carrying `X-Test-D1-Fault` fail, or that
// one and every later one (`N+`), as when the database goes away mid-request. Whatever the
// round trip: the answer is 503 `unavailable` in the envelope (or the full success when the
// change had already committed), nothing is half-written, and a retry completes the work once.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import crypto from "node:crypto";
import { startStack, envelope, d1RoundTrips } from "./harness.mjs";
import { adminToken, bearer } from "./tokens.mjs";

const frAddress = { first_name: "Jeanne", last_name: "Moreau", line1: "3 rue Oberkampf", city: "Paris", postal_code: "75011", country: "FR" };
let stack;
let admin;
before(async () => {
  stack = await startStack({ faults: true, vars: { IDEMPOTENCY_LEASE_SECONDS: "1" } });
  admin = bearer(await adminToken({ scope: "catalog:read catalog:write orders:write orders:read inventory:read" }));
});
after(() => stack?.dispose());

const fault = (spec) => ({ "X-Test-D1-Fault": spec });

/** A digest of every row of every table (but `exclude`). */
async function digest(exclude = []) {
  const tables = (await stack.sql("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%' ORDER BY name")).map((r) => r.name);
  const hash = crypto.createHash("sha256");
  for (const t of tables.filter((t) => !exclude.includes(t))) {
    hash.update(t).update(JSON.stringify((await stack.sql(`SELECT * FROM "${t}" ORDER BY rowid`))));
  }
  return hash.digest("hex");
}

async function readyCart(sku = "BOOK-BISTRO", quantity = 2) {
  const cart = (await stack.sf("/v1/carts", { method: "POST", json: { market: "FR" } })).body.id;
  assert.equal((await stack.sf(`/v1/carts/${cart}/lines`, { method: "POST", json: { sku, quantity } })).status, 200);
  const p = await stack.sf(`/v1/carts/${cart}`, { method: "PATCH", json: { email: "f@example.fr", shipping_address: frAddress, shipping_method: "standard" } });
  assert.equal(p.status, 200, p.text);
  return cart;
}

const stock = async (sku) => (await stack.sql("SELECT on_hand, reserved FROM inventory WHERE sku = ?1", sku))[0];
const ordersCount = async () => (await stack.sql("SELECT COUNT(*) AS n FROM orders"))[0].n;

test("the seam itself: a request without the header is untouched, a bad spec is a test error", async () => {
  const ok = await stack.sf("/v1/markets");
  assert.equal(ok.status, 200);
  const failing = await stack.sf("/v1/carts", { method: "POST", json: { market: "FR" }, headers: fault("1") });
  envelope(assert, failing, 503, "unavailable");
  assert.equal(d1RoundTrips(failing.headers), 1, "the failed round trip is counted");
});

test("cart mutations: D1 failing at any of their round trips answers 503 and changes nothing", async () => {
  const cart = await readyCart();
  const line = (await stack.sf(`/v1/carts/${cart}`)).body.lines[0].id;
  const mutations = [
    ["POST", "/v1/carts", { market: "FR" }],
    ["POST", `/v1/carts/${cart}/lines`, { sku: "MUG-350", quantity: 1 }],
    ["PATCH", `/v1/carts/${cart}/lines/${line}`, { quantity: 3 }],
    ["PATCH", `/v1/carts/${cart}`, { note: "leave at the door", shipping_method: "express" }],
    ["POST", `/v1/carts/${cart}/discount-codes`, { code: "WELCOME10" }],
    ["DELETE", `/v1/carts/${cart}/lines/${line}`, undefined],
  ];
  for (const [method, path, json] of mutations) {
    for (const spec of ["1", "1+", "2", "2+"]) {
      const before = await digest();
      const res = await stack.sf(path, { method, json, headers: fault(spec) });
      if (res.status === 503) {
        envelope(assert, res, 503, "unavailable");
        assert.equal(await digest(), before, `${method} ${path} with fault ${spec} half-wrote`);
      } else {
        // The fault fell after the request's last round trip: it ran as usual (a later spec may
        // meet the state this one left, e.g. a line already removed: 404).
        assert.notEqual(spec[0], "1", `${method} ${path} ignored a fault at its first round trip`);
        assert.ok(res.status < 500, `${method} ${path} with fault ${spec}: ${res.status} ${res.text}`);
      }
    }
  }
  // D1 is back: the same mutations go through.
  assert.equal((await stack.sf(`/v1/carts/${cart}/lines`, { method: "POST", json: { sku: "MUG-350", quantity: 1 } })).status, 200);
  assert.equal((await stack.sf(`/v1/carts/${cart}/discount-codes`, { method: "POST", json: { code: "WELCOME10" } })).status, 200);
});

test("checkout: D1 going away at round trip 1 or 2 leaves no order and no reservation; a retry with the same key places one", async () => {
  for (const spec of ["1+", "2", "2+"]) {
    const cart = await readyCart("KNIFE-20", 1);
    const key = `fault-${spec}-${cart}`;
    const before = await digest(["idempotency_keys"]);
    const stockBefore = await stock("KNIFE-20");
    const orders = await ordersCount();
    const res = await stack.sf(`/v1/carts/${cart}/checkout`, { method: "POST", json: { payment_provider: "manual" }, headers: { "Idempotency-Key": key, ...fault(spec) } });
    envelope(assert, res, 503, "unavailable");
    assert.equal(await digest(["idempotency_keys"]), before, `fault ${spec}: the order batch half-applied`);
    assert.deepEqual(await stock("KNIFE-20"), stockBefore);
    assert.equal(await ordersCount(), orders);
    assert.equal((await stack.sf(`/v1/carts/${cart}`)).body.status, "active", "the cart is still open");

    // With `2+` the key could not even be released: a retry waits out the claim's short lease
    // (IDEMPOTENCY_LEASE_SECONDS, 1 s here; 60 s by default), then runs.
    let retry = await stack.sf(`/v1/carts/${cart}/checkout`, { method: "POST", json: { payment_provider: "manual" }, headers: { "Idempotency-Key": key } });
    if (retry.status === 409) {
      envelope(assert, retry, 409, "idempotency_in_progress");
      assert.ok(Number(retry.headers.get("retry-after")) >= 1);
      await new Promise((r) => setTimeout(r, 1200));
      retry = await stack.sf(`/v1/carts/${cart}/checkout`, { method: "POST", json: { payment_provider: "manual" }, headers: { "Idempotency-Key": key } });
    }
    assert.equal(retry.status, 201, retry.text);
    assert.equal(await ordersCount(), orders + 1, "exactly one order");
    const after = await stock("KNIFE-20");
    assert.equal(after.reserved, stockBefore.reserved + 1);
    const replay = await stack.sf(`/v1/carts/${cart}/checkout`, { method: "POST", json: { payment_provider: "manual" }, headers: { "Idempotency-Key": key } });
    assert.equal(replay.status, 201);
    assert.equal(replay.headers.get("idempotent-replayed"), "true");
    assert.equal(replay.body.order.id, retry.body.order.id);
  }
});

test("checkout: the order's own batch keeps its answer, so D1 going away after it loses nothing", async () => {
  const cart = await readyCart("TOWEL-2", 1);
  const orders = await ordersCount();
  // A fault from round trip 3 on: a checkout that needed a third (storing its answer after the
  // order) would lose the answer, and a retry would find only a checked-out cart.
  const res = await stack.sf(`/v1/carts/${cart}/checkout`, { method: "POST", json: { payment_provider: "manual" }, headers: { "Idempotency-Key": `late-${cart}`, ...fault("3+") } });
  assert.equal(res.status, 201, res.text);
  assert.equal(await ordersCount(), orders + 1);
  const row = (await stack.sql("SELECT status FROM orders WHERE id = ?1", res.body.order.id))[0];
  assert.equal(row.status, "pending_payment");
  const event = (await stack.sql("SELECT type FROM outbox WHERE aggregate = ?1", res.body.order.id))[0];
  assert.equal(event.type, "order.placed", "its event was written with it");
  // At once, no lease to wait out: the retry replays the answer, number and token included.
  const retry = await stack.sf(`/v1/carts/${cart}/checkout`, { method: "POST", json: { payment_provider: "manual" }, headers: { "Idempotency-Key": `late-${cart}` } });
  assert.equal(retry.status, 201, retry.text);
  assert.equal(retry.headers.get("idempotent-replayed"), "true");
  assert.equal(retry.text, res.text);
  assert.equal(await ordersCount(), orders + 1, "never a second order");
});

test("back office: a product write and an order action under D1 failure change nothing, then succeed", async () => {
  const product = (await stack.bo("/admin/v1/products/prod_cookbook", { headers: admin })).body;
  const { id: _id, created_at: _c, updated_at: _u, ...body } = product;
  body.title = "The Bistro Cookbook, 2nd edition";
  for (const spec of ["1+", "2"]) {
    const before = await digest();
    const res = await stack.bo("/admin/v1/products/prod_cookbook", { method: "PUT", headers: { ...admin, ...fault(spec) }, json: body });
    envelope(assert, res, 503, "unavailable");
    assert.equal(await digest(), before, `product PUT with fault ${spec} half-wrote`);
  }
  assert.equal((await stack.bo("/admin/v1/products/prod_cookbook", { method: "PUT", headers: admin, json: body })).status, 200);

  const cart = await readyCart("CHOC-70", 1);
  const order = (await stack.sf(`/v1/carts/${cart}/checkout`, { method: "POST", json: { payment_provider: "manual" }, headers: { "Idempotency-Key": `bo-${cart}` } })).body.order;
  for (const spec of ["1+", "2"]) {
    const before = await digest();
    const res = await stack.bo(`/admin/v1/orders/${order.id}/mark-paid`, { method: "POST", headers: { ...admin, ...fault(spec) } });
    envelope(assert, res, 503, "unavailable");
    assert.equal(await digest(), before, `mark-paid with fault ${spec} half-wrote (an order change without its event, or the reverse)`);
  }
  const paid = await stack.bo(`/admin/v1/orders/${order.id}/mark-paid`, { method: "POST", headers: admin });
  assert.equal(paid.body.status, "confirmed");
  const events = (await stack.sql("SELECT type FROM outbox WHERE aggregate = ?1 ORDER BY sequence", order.id)).map((r) => r.type);
  assert.deepEqual(events, ["order.placed", "order.confirmed"], "one confirmation event");
});
