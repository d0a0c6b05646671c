// Stock through the admin API: levels, adjustments with their audit trail, guards, and the
// storefront's availability following.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startStack, envelope } from "./harness.mjs";
import { adminToken, bearer } from "./tokens.mjs";

let stack;
let writer;
let reader;
before(async () => {
  stack = await startStack();
  writer = bearer(await adminToken({ scope: "inventory:write inventory:read" }));
  reader = bearer(await adminToken({ scope: "inventory:read" }));
});
after(() => stack?.dispose());

const level = (sku, headers = reader) => stack.bo(`/admin/v1/inventory/${sku}`, { headers });

test("GET shows on_hand, reserved and available; SKUs are case-insensitive", async () => {
  const res = await level("apron-nat");
  assert.equal(res.status, 200);
  assert.deepEqual(res.body, {
    sku: "APRON-NAT",
    on_hand: 25,
    reserved: 0,
    available: 25,
    locations: [{ location: "main", on_hand: 25, reserved: 0, available: 25 }],
  });
  envelope(assert, await level("NO-SUCH-SKU"), 404, "not_found");
  envelope(assert, await level("bad sku!"), 400, "invalid_parameter");
});

test("setting a count and adjusting it write the audit trail, newest first", async () => {
  const set = await stack.bo("/admin/v1/inventory/KNIFE-20", { method: "PUT", headers: writer, json: { on_hand: 20, reason: "cycle count" } });
  assert.equal(set.status, 200, set.text);
  assert.deepEqual(set.body, {
    sku: "KNIFE-20",
    on_hand: 20,
    reserved: 0,
    available: 20,
    locations: [{ location: "main", on_hand: 20, reserved: 0, available: 20 }],
  });
  const adj = await stack.bo("/admin/v1/inventory/knife-20/adjustments", { method: "POST", headers: writer, json: { delta: -3, reason: "damaged in transit" } });
  assert.equal(adj.status, 201, adj.text);
  assert.match(adj.body.id, /^adj_[0-9a-f]{32}$/);
  assert.deepEqual({ ...adj.body, id: "*", created_at: "*" }, { id: "*", sku: "KNIFE-20", location: "main", delta: -3, reason: "damaged in transit", on_hand: 17, reserved: 0, available: 17, created_at: "*" });
  const trail = await stack.bo("/admin/v1/inventory/KNIFE-20/adjustments", { headers: reader });
  assert.equal(trail.status, 200);
  assert.deepEqual(trail.body.data.map((a) => [a.delta, a.on_hand, a.reason]), [[-3, 17, "damaged in transit"], [12, 20, "cycle count"]]);
  const page = await stack.bo("/admin/v1/inventory/KNIFE-20/adjustments?limit=1", { headers: reader });
  assert.equal(page.body.data.length, 1);
  const next = await stack.bo(`/admin/v1/inventory/KNIFE-20/adjustments?limit=1&cursor=${page.body.next_cursor}`, { headers: reader });
  assert.deepEqual(next.body.data.map((a) => a.delta), [12]);
  assert.equal(next.body.next_cursor, null);
});

test("stock never goes below zero nor below what is reserved, and a refused change writes nothing", async () => {
  await stack.db.prepare("UPDATE inventory_levels SET on_hand = 10, reserved = 4 WHERE location = 'main' AND sku = 'MUG-350'").run();
  const trailBefore = (await stack.db.prepare("SELECT COUNT(*) AS n FROM inventory_adjustments").first()).n;
  const below = envelope(assert, await stack.bo("/admin/v1/inventory/MUG-350/adjustments", { method: "POST", headers: writer, json: { delta: -7, reason: "x" } }), 422, "validation_failed");
  assert.equal(below.details.field, "delta");
  const set = envelope(assert, await stack.bo("/admin/v1/inventory/MUG-350", { method: "PUT", headers: writer, json: { on_hand: 3 } }), 422, "validation_failed");
  assert.equal(set.details.field, "on_hand");
  assert.deepEqual((await level("MUG-350")).body, {
    sku: "MUG-350",
    on_hand: 10,
    reserved: 4,
    available: 6,
    locations: [{ location: "main", on_hand: 10, reserved: 4, available: 6 }],
  });
  assert.equal((await stack.db.prepare("SELECT COUNT(*) AS n FROM inventory_adjustments").first()).n, trailBefore);
});

test("bad bodies are 422 naming the field; wrong scopes 403", async () => {
  const cases = [
    [{ on_hand: -1 }, "PUT", "", "on_hand"],
    [{ on_hand: 1.5 }, "PUT", "", "on_hand"],
    [{ on_hand: "5" }, "PUT", "", "on_hand"],
    [{}, "PUT", "", "on_hand"],
    [{ delta: 0, reason: "x" }, "POST", "/adjustments", "delta"],
    [{ delta: 2 }, "POST", "/adjustments", "reason"],
    [{ delta: 2, reason: "" }, "POST", "/adjustments", "reason"],
  ];
  for (const [json, method, suffix, field] of cases) {
    const err = envelope(assert, await stack.bo(`/admin/v1/inventory/TOWEL-2${suffix}`, { method, headers: writer, json }), 422, "validation_failed");
    assert.equal(err.details.field, field, JSON.stringify(json));
  }
  const unknown = envelope(assert, await stack.bo("/admin/v1/inventory/TOWEL-2", { method: "PUT", headers: writer, json: { on_hand: 5, reserved: 0 } }), 422, "unknown_field");
  assert.equal(unknown.details.field, "reserved");
  envelope(assert, await stack.bo("/admin/v1/inventory/TOWEL-2", { method: "PUT", headers: reader, json: { on_hand: 5 } }), 403, "forbidden");
  const catalog = bearer(await adminToken({ scope: "catalog:write" }));
  envelope(assert, await level("TOWEL-2", catalog), 403, "forbidden");
  envelope(assert, await stack.bo("/admin/v1/inventory/TOWEL-2/adjustments", { method: "PUT", headers: writer, json: {} }), 405, "method_not_allowed");
});

test("running out and restocking flip the storefront's availability at once", async () => {
  const shown = async () => (await stack.sf("/v1/products/french-press?market=FR")).body.variants[0].available;
  assert.equal(await shown(), true);
  assert.equal((await stack.bo("/admin/v1/inventory/PRESS-1L", { method: "PUT", headers: writer, json: { on_hand: 0 } })).status, 200);
  assert.equal(await shown(), false);
  assert.equal((await stack.bo("/admin/v1/inventory/PRESS-1L/adjustments", { method: "POST", headers: writer, json: { delta: 5, reason: "restock" } })).status, 201);
  assert.equal(await shown(), true);
});

test("an adjustment sent twice with one Idempotency-Key moves the stock once; another body under the key is refused", async () => {
  const post = (json, key, headers = writer) =>
    stack.bo("/admin/v1/inventory/BOARD-S/adjustments", { method: "POST", headers: { ...headers, "Idempotency-Key": key }, json });
  const before = (await level("BOARD-S")).body.on_hand;
  const first = await post({ delta: 4, reason: "delivery 118" }, "wms-delivery-118");
  assert.equal(first.status, 201, first.text);
  const again = await post({ reason: "delivery 118", delta: 4 }, "wms-delivery-118");
  assert.equal(again.status, 201);
  assert.equal(again.headers.get("idempotent-replayed"), "true");
  assert.deepEqual(again.body, first.body);
  assert.equal((await level("BOARD-S")).body.on_hand, before + 4);
  envelope(assert, await post({ delta: 5, reason: "delivery 118" }, "wms-delivery-118"), 422, "idempotency_key_reused");
  envelope(assert, await post({ delta: 1 }, "bad key with spaces"), 400, "invalid_parameter");
  // Keys are the token subject's own: another integrator's same key runs on its own.
  const other = bearer(await adminToken({ scope: "inventory:write inventory:read", sub: "wms@example.com" }));
  const theirs = await post({ delta: 1, reason: "delivery 118" }, "wms-delivery-118", other);
  assert.equal(theirs.status, 201, theirs.text);
  assert.equal(theirs.headers.get("idempotent-replayed"), null);
  assert.equal((await level("BOARD-S")).body.on_hand, before + 5);
  // A token without the scope is refused before any replay.
  const readOnly = bearer(await adminToken({ scope: "inventory:read" }));
  envelope(assert, await post({ delta: 4, reason: "delivery 118" }, "wms-delivery-118", readOnly), 403, "forbidden");
});

test("a body that is not JSON does not use its Idempotency-Key up: the corrected body runs", async () => {
  const headers = { ...writer, "Idempotency-Key": "wms-119", "Content-Type": "application/json" };
  const url = "/admin/v1/inventory/BOARD-L/adjustments";
  const before = (await level("BOARD-L")).body.on_hand;
  envelope(assert, await stack.bo(url, { method: "POST", headers, body: '{"delta": 2, "reason": ' }), 400, "invalid_json");
  const fixed = await stack.bo(url, { method: "POST", headers, json: { delta: 2, reason: "delivery 119" } });
  assert.equal(fixed.status, 201, fixed.text);
  assert.equal(fixed.headers.get("idempotent-replayed"), null);
  assert.equal((await level("BOARD-L")).body.on_hand, before + 2);
});

test("the cron purges idempotency keys once their 24 hours are over", async () => {
  const res = await stack.bo("/admin/v1/inventory/KNIFE-20/adjustments", {
    method: "POST", headers: { ...writer, "Idempotency-Key": "purge-me" }, json: { delta: 1, reason: "purge test" },
  });
  assert.equal(res.status, 201, res.text);
  const count = async () => (await stack.db.prepare("SELECT COUNT(*) AS n FROM idempotency_keys WHERE key = 'purge-me'").first()).n;
  assert.equal(await count(), 1);
  await (await stack.mf.getWorker("backoffice")).scheduled({ cron: "* * * * *" });
  assert.equal(await count(), 1, "a live key stays");
  await stack.db.prepare("UPDATE idempotency_keys SET expires_at = '2000-01-01T00:00:00.000Z' WHERE key = 'purge-me'").run();
  await (await stack.mf.getWorker("backoffice")).scheduled({ cron: "* * * * *" });
  assert.equal(await count(), 0);
});
