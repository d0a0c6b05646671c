// Hot SKUs (API.md "Edge scale"): a SKU switched to hot keeps its stock in SQLite-backed Durable
// Objects (sharded); checkout reserves there first, then commits in D1, releasing on failure;
// reservations no order holds expire by alarm; switching back and forth with orders in flight
// loses nothing; inventory reads and carts show the objects' numbers. Real objects in workerd
// (Miniflare), the real D1; the fault seam of the test build fails a chosen D1 round trip.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startStack, envelope, until } from "./harness.mjs";
import { adminToken, bearer } from "./tokens.mjs";

let stack;
let admin;
before(async () => {
  stack = await startStack({ faults: true });
  admin = bearer(await adminToken({ scope: "orders:read orders:write inventory:read inventory:write catalog:read" }));
});
after(async () => {
  await stack?.dispose();
});

const frAddress = { first_name: "Jeanne", last_name: "Martin", line1: "3 rue de la Paix", city: "Paris", postal_code: "75002", country: "FR" };
let keys = 0;
const key = () => `hot-${Date.now()}-${++keys}`;

const setStock = async (sku, on_hand) => {
  const r = await stack.bo(`/admin/v1/inventory/${sku}/locations/main`, { method: "PUT", headers: admin, json: { on_hand } });
  assert.ok([200, 201].includes(r.status), r.text);
};
const mode = (sku, body) => stack.bo(`/admin/v1/inventory/${sku}/mode`, { method: "PUT", headers: admin, json: body });
const level = async (sku) => {
  const r = await stack.bo(`/admin/v1/inventory/${sku}`, { headers: admin });
  assert.equal(r.status, 200, r.text);
  return r.body;
};

/** A cart of `quantity` × `sku`, addressed and with a shipping method: ready to check out. */
async function cart(sku, quantity = 1) {
  const id = (await stack.sf("/v1/carts", { method: "POST", json: { market: "FR" } })).body.id;
  const p = await stack.sf(`/v1/carts/${id}`, { method: "PATCH", json: { email: "a@example.com", shipping_address: frAddress, shipping_method: "standard" } });
  assert.equal(p.status, 200, p.text);
  const r = await stack.sf(`/v1/carts/${id}/lines`, { method: "POST", json: { sku, quantity } });
  assert.equal(r.status, 200, r.text);
  return id;
}
const checkout = (id, headers = {}) =>
  stack.sf(`/v1/carts/${id}/checkout`, { method: "POST", json: { payment_provider: "manual" }, headers: { "Idempotency-Key": key(), ...headers } });

/** Units of `sku` in placed orders, from D1. */
async function sold(sku) {
  const rows = await stack.sql("SELECT COALESCE(SUM(quantity), 0) AS n FROM order_lines WHERE sku = ?1", sku);
  return rows[0].n;
}

/** One call to shard `shard` of the SKU's current objects, straight to the object (as a Worker would). */
async function shardCall(sku, shard, call) {
  const [row] = await stack.sql("SELECT generation, split FROM hot_skus WHERE sku = ?1", sku);
  const ns = await stack.mf.getDurableObjectNamespace("HOT_STOCK", "backoffice");
  const stub = ns.get(ns.idFromName(`${sku}|${row.generation}|${shard}`));
  const init = JSON.parse(row.split)[shard];
  const res = await stub.fetch("https://hot-stock/", { method: "POST", body: JSON.stringify({ sku, generation: row.generation, init, ...call }) });
  assert.equal(res.status, 200);
  return res.json();
}

test("the mode switch is checked: its fields, the SKU, the scope, the method", async () => {
  envelope(assert, await mode("MUG-350", { mode: "hot", shards: 0 }), 422, "validation_failed");
  envelope(assert, await mode("MUG-350", { mode: "warm" }), 422, "validation_failed");
  envelope(assert, await mode("MUG-350", { mode: "normal", shards: 2 }), 422, "validation_failed");
  envelope(assert, await mode("NO-SUCH-SKU", { mode: "hot" }), 404, "not_found");
  const reader = bearer(await adminToken({ scope: "inventory:read" }));
  envelope(assert, await stack.bo("/admin/v1/inventory/MUG-350/mode", { method: "PUT", headers: reader, json: { mode: "hot" } }), 403, "forbidden");
  envelope(assert, await stack.bo("/admin/v1/inventory/MUG-350/mode", { headers: admin }), 405, "method_not_allowed");
  assert.equal((await level("MUG-350")).mode, undefined, "nothing switched: GET names only the hot mode");
});

test("hot mode: 40 racing checkouts of a SKU with 25 units sell exactly 25, and inventory reads agree", async () => {
  const sku = "MUG-350";
  await setStock(sku, 25);
  const on = await mode(sku, { mode: "hot", shards: 4 });
  assert.equal(on.status, 200, on.text);
  assert.deepEqual([on.body.mode, on.body.shards, on.body.on_hand, on.body.reserved, on.body.available], ["hot", 4, 25, 0, 25]);
  const again = await mode(sku, { mode: "hot", shards: 4 });
  assert.equal(again.status, 200, "switching to the mode it is in changes nothing");
  assert.equal((await mode(sku, { mode: "hot" })).body.shards, 4, "hot without shards keeps a hot SKU's");
  const [{ generation, split }] = await stack.sql("SELECT generation, split FROM hot_skus WHERE sku = ?1", sku);
  assert.equal(generation, 1, "no new generation: checkouts in flight were not disturbed");
  assert.deepEqual(JSON.parse(split), [{ main: 7 }, { main: 6 }, { main: 6 }, { main: 6 }], "every unit, as evenly as units go");

  const carts = [];
  for (let i = 0; i < 40; i++) carts.push(await cart(sku));
  const results = await Promise.all(carts.map((id) => checkout(id)));
  const placed = results.filter((r) => r.status === 201);
  const refused = results.filter((r) => r.status !== 201);
  assert.equal(placed.length, 25, "every unit sold");
  for (const r of refused) envelope(assert, r, 422, "insufficient_stock");
  assert.equal(await sold(sku), 25, "never oversold");
  // At once, before the settles (sent after each answer) have all arrived: a reservation an
  // order holds counts once, in D1's reserved.
  const now = await level(sku);
  assert.deepEqual([now.reserved, now.available], [25, 0]);
  // Each order settles its reservation after its answer: the objects then hold nothing, and
  // what they held no longer counts twice.
  await until("every reservation is settled", async () => {
    for (let s = 0; s < 4; s++) if (Object.keys((await shardCall(sku, s, { op: "state" })).held).length) return false;
    return true;
  });
  const after = await level(sku);
  assert.deepEqual([after.on_hand, after.reserved, after.available, after.mode], [25, 25, 0, "hot"]);
  const listed = (await stack.bo(`/admin/v1/inventory?q=${sku}`, { headers: admin })).body.data.find((l) => l.sku === sku);
  assert.deepEqual(listed, after, "the inventory list shows it as GET does");
  // D1's own levels agree: each order reserved its unit there too.
  const [d1] = await stack.sql("SELECT on_hand, reserved FROM inventory_levels WHERE sku = ?1 AND location = 'main'", sku);
  assert.deepEqual([d1.on_hand, d1.reserved], [25, 25]);
  const [{ n: holds }] = await stack.sql("SELECT COUNT(*) AS n FROM hot_holds WHERE sku = ?1", sku);
  assert.equal(holds, 25, "each order holds its reservation");
  // Sold out for a new cart too.
  const id = (await stack.sf("/v1/carts", { method: "POST", json: { market: "FR" } })).body.id;
  envelope(assert, await stack.sf(`/v1/carts/${id}/lines`, { method: "POST", json: { sku, quantity: 1 } }), 422, "insufficient_stock");
});

test("a failed D1 commit gives the objects' units back at once", async () => {
  const sku = "APRON-CHA";
  await setStock(sku, 3);
  assert.equal((await mode(sku, { mode: "hot", shards: 2 })).status, 200);
  const id = await cart(sku, 3);
  // Round trip 2 is the placement: it fails, nothing is written.
  const failed = await checkout(id, { "X-Test-D1-Fault": "2" });
  envelope(assert, failed, 503, "unavailable");
  const shown = await level(sku);
  assert.deepEqual([shown.reserved, shown.available], [0, 3], "the reservation was released, not left to expire");
  for (let s = 0; s < 2; s++) assert.deepEqual((await shardCall(sku, s, { op: "state" })).held, {});
  const ok = await checkout(id);
  assert.equal(ok.status, 201, ok.text);
  assert.deepEqual((await level(sku)).available, 0);
});

test("a reservation no order holds expires by alarm; one an order holds is settled, not given back", async () => {
  const sku = "TOWEL-2";
  await setStock(sku, 10);
  assert.equal((await mode(sku, { mode: "hot", shards: 1 })).status, 200);
  // A Worker that took units and died before committing or releasing.
  const soon = Date.now() + 1500;
  const taken = await shardCall(sku, 0, { op: "take", id: "ord_dead:TOWEL-2", want: { main: 4 }, expires_at_ms: soon });
  assert.deepEqual(taken.taken, { main: 4 });
  // One whose order committed (its hot_holds row) but whose settle never arrived.
  await stack.db.prepare("INSERT INTO hot_holds (reservation, sku, order_id, created_at) VALUES ('ord_kept:TOWEL-2', 'TOWEL-2', 'ord_kept', '2026-01-01T00:00:00.000Z')").run();
  await shardCall(sku, 0, { op: "take", id: "ord_kept:TOWEL-2", want: { main: 2 }, expires_at_ms: soon });
  // The dead reservation counts as reserved; the kept one is its order's, which D1 counts (this
  // test wrote only its hot_holds row, so D1 does not).
  const held = await level(sku);
  assert.deepEqual([held.reserved, held.available], [4, 6], "held units count as reserved, once");
  await until("the alarm has run", async () => Object.keys((await shardCall(sku, 0, { op: "state" })).held).length === 0);
  const state = await shardCall(sku, 0, { op: "state" });
  assert.deepEqual(state.available, { main: 8 }, "the dead reservation's 4 came back; the order's 2 did not");
});

test("a hot SKU's availability in a cart is what its objects have", async () => {
  const sku = "BOOK-BISTRO";
  await setStock(sku, 5);
  assert.equal((await mode(sku, { mode: "hot", shards: 1 })).status, 200);
  const id = await cart(sku, 4);
  assert.deepEqual((await stack.sf(`/v1/carts/${id}`)).body.warnings ?? [], []);
  // Another checkout's reservation in flight: D1 still says 5, the objects say 2.
  await shardCall(sku, 0, { op: "take", id: "ord_other:BOOK-BISTRO", want: { main: 3 }, expires_at_ms: Date.now() + 600_000 });
  const view = (await stack.sf(`/v1/carts/${id}`)).body;
  assert.ok(view.warnings.some((w) => w.code === "insufficient_stock" || /Only 2 of/.test(w.message)), JSON.stringify(view.warnings));
  const refused = await checkout(id);
  envelope(assert, refused, 422, "insufficient_stock");
  assert.equal(refused.body.error.details.available, 2);
  await shardCall(sku, 0, { op: "release", id: "ord_other:BOOK-BISTRO" });
  assert.equal((await checkout(id)).status, 201);
});

test("switching back and forth with checkouts in flight loses nothing and never oversells", async () => {
  const sku = "SALT-125";
  await setStock(sku, 30);
  const carts = [];
  for (let i = 0; i < 40; i++) carts.push(await cart(sku));
  const switches = (async () => {
    for (const body of [{ mode: "hot", shards: 4 }, { mode: "normal" }, { mode: "hot", shards: 2 }, { mode: "normal" }, { mode: "hot", shards: 3 }]) {
      const r = await mode(sku, body);
      assert.equal(r.status, 200, r.text);
    }
  })();
  const results = await Promise.all([...carts.map((id) => checkout(id)), switches]);
  const placed = results.slice(0, 40).filter((r) => r.status === 201);
  for (const r of results.slice(0, 40)) assert.ok([201, 409, 422].includes(r.status), `${r.status}: ${r.text}`);
  // Every answer's order is in D1, and D1's levels count exactly those.
  for (const r of placed) assert.equal((await stack.sql("SELECT COUNT(*) AS n FROM orders WHERE id = ?1", r.body.order.id))[0].n, 1);
  assert.equal(await sold(sku), placed.length, "nothing placed twice, nothing lost");
  assert.ok(placed.length <= 30, "never oversold");
  await until("every reservation is settled", async () => (await level(sku)).reserved === placed.length);
  const hot = await level(sku);
  assert.deepEqual([hot.mode, hot.on_hand, hot.reserved], ["hot", 30, placed.length], "inventory reads agree with the orders");
  const [d1] = await stack.sql("SELECT reserved FROM inventory_levels WHERE sku = ?1 AND location = 'main'", sku);
  assert.equal(d1.reserved, placed.length, "and D1's own level too");
  const [{ generation }] = await stack.sql("SELECT generation FROM hot_skus WHERE sku = ?1", sku);
  assert.equal(generation, 5, "five switches, five generations");
  // Back to normal: the same numbers from D1 alone, and what is left sells on the D1 path.
  const off = await mode(sku, { mode: "normal" });
  assert.deepEqual([off.body.mode, off.body.reserved, off.body.available], ["normal", placed.length, 30 - placed.length]);
  const left = 30 - placed.length;
  if (left > 0) assert.equal((await checkout(await cart(sku, left))).status, 201);
  assert.equal((await level(sku)).available, 0);
});

test("stock moved in D1 alone (a restock, a canceled order) reaches a hot SKU's objects at the next cron tick", async () => {
  const sku = "OIL-500";
  await setStock(sku, 2);
  assert.equal((await mode(sku, { mode: "hot", shards: 2 })).status, 200);
  const first = await checkout(await cart(sku, 2));
  assert.equal(first.status, 201, first.text);
  const tick = async () => (await stack.mf.getWorker("backoffice")).scheduled({ cron: "* * * * *" });
  await tick();
  let [{ generation }] = await stack.sql("SELECT generation FROM hot_skus WHERE sku = ?1", sku);
  assert.equal(generation, 1, "in step: a tick changes nothing");
  // A restock of 3 in D1 alone: the objects still say none are left, and adding to a cart
  // goes by them, as checkout does.
  await setStock(sku, 5);
  await setStock("COF-250", 10);
  const early = await cart("COF-250", 1);
  const add = (quantity) => stack.sf(`/v1/carts/${early}/lines`, { method: "POST", json: { sku, quantity } });
  const refusedAdd = await add(3);
  envelope(assert, refusedAdd, 422, "insufficient_stock");
  assert.equal(refusedAdd.body.error.details.available, 0, "the objects' number, not D1's 3");
  await tick();
  [{ generation }] = await stack.sql("SELECT generation FROM hot_skus WHERE sku = ?1", sku);
  assert.equal(generation, 2, "split again from D1's numbers");
  const added = await add(3);
  assert.equal(added.status, 200, added.text);
  const line = added.body.lines.find((l) => l.sku === sku);
  envelope(assert, await stack.sf(`/v1/carts/${early}/lines/${line.id}`, { method: "PATCH", json: { quantity: 4 } }), 422, "insufficient_stock");
  const id = await cart(sku, 3);
  assert.equal((await checkout(id)).status, 201, "the restocked units sell");
  // The first order canceled: its 2 units come back in D1, and at the next tick in the objects.
  const canceled = await stack.bo(`/admin/v1/orders/${first.body.order.id}/cancel`, { method: "POST", headers: { ...admin, "Idempotency-Key": key() } });
  assert.equal(canceled.status, 200, canceled.text);
  await tick();
  assert.equal((await checkout(await cart(sku, 2))).status, 201, "the canceled order's units sell again");
  const last = await level(sku);
  assert.deepEqual([last.on_hand, last.reserved, last.available], [5, 5, 0]);
});

test("the cron's reconciliation leaves a busy hot SKU in step alone", async () => {
  const sku = "PRESS-1L";
  await setStock(sku, 14);
  assert.equal((await mode(sku, { mode: "hot", shards: 2 })).status, 200);
  const carts = [];
  for (let i = 0; i < 12; i++) carts.push(await cart(sku));
  const worker = await stack.mf.getWorker("backoffice");
  const ticks = (async () => {
    for (let i = 0; i < 3; i++) await worker.scheduled({ cron: "* * * * *" });
  })();
  const results = await Promise.all([...carts.map((id) => checkout(id)), ticks]);
  assert.equal(results.slice(0, 12).filter((r) => r.status === 201).length, 12);
  await worker.scheduled({ cron: "* * * * *" });
  const [{ generation }] = await stack.sql("SELECT generation FROM hot_skus WHERE sku = ?1", sku);
  assert.equal(generation, 1, "checkouts in flight during a tick are no drift");
  assert.deepEqual([(await level(sku)).reserved, (await level(sku)).available], [12, 2]);
});
