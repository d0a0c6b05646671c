// Stock where it really is (API.md "Stock locations"): levels per (SKU, location), availability
// per cart country, allocation at checkout (one location by priority, else a greedy split; a
// pickup method at its store only), fulfilment per location, moving allocations, the sync an
// ERP or WMS pushes, and inventory.low per location and in total.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startStack, envelope, d1RoundTrips, checkEventSchemas, startReceiver, until } from "./harness.mjs";
import { adminToken, bearer } from "./tokens.mjs";

let stack;
let admin;
let receiver;
before(async () => {
  receiver = await startReceiver();
  stack = await startStack();
  admin = bearer(await adminToken({ scope: "orders:read orders:write inventory:read inventory:write catalog:write catalog:read" }));
  // Two warehouses before main (Lyon for France, New Jersey for the US); the demo's Paris shop
  // (FR, pickup) comes after main.
  for (const [id, body] of [
    ["lyon", { name: "Lyon warehouse", kind: "warehouse", countries: ["FR", "BE"], priority: 10 }],
    ["nj", { name: "New Jersey warehouse", kind: "warehouse", countries: ["US"], priority: 10 }],
  ]) {
    const r = await stack.bo(`/admin/v1/locations/${id}`, { method: "PUT", headers: admin, json: body });
    assert.equal(r.status, 201, r.text);
  }
});
after(async () => {
  await stack?.dispose();
  receiver?.close();
});

const frAddress = { first_name: "Jeanne", last_name: "Martin", line1: "3 rue de la Paix", city: "Paris", postal_code: "75002", country: "FR" };
const usAddress = { first_name: "Ann", last_name: "Lee", line1: "1 Main St", city: "Springfield", state: "IL", postal_code: "62701", country: "US" };
let keys = 0;
const key = () => `loc-${Date.now()}-${++keys}`;

/** Sets on_hand of `sku` at each location given (`{lyon: 3, main: 0}`). */
async function stock(sku, levels) {
  for (const [location, on_hand] of Object.entries(levels)) {
    const r = await stack.bo(`/admin/v1/inventory/${sku}/locations/${location}`, { method: "PUT", headers: admin, json: { on_hand } });
    assert.ok([200, 201].includes(r.status), r.text);
  }
}
const levelsOf = async (sku) => {
  const r = await stack.bo(`/admin/v1/inventory/${sku}`, { headers: admin });
  assert.equal(r.status, 200, r.text);
  return Object.fromEntries(r.body.locations.map((l) => [l.location, [l.on_hand, l.reserved]]));
};

async function cart(market, lines, { address, method } = {}) {
  const id = (await stack.sf("/v1/carts", { method: "POST", json: { market } })).body.id;
  if (address || method) {
    const p = await stack.sf(`/v1/carts/${id}`, { method: "PATCH", json: { email: "a@example.com", ...(address ? { shipping_address: address } : {}), ...(method ? { shipping_method: method } : {}) } });
    assert.equal(p.status, 200, p.text);
  }
  for (const [sku, quantity] of lines) {
    const r = await stack.sf(`/v1/carts/${id}/lines`, { method: "POST", json: { sku, quantity } });
    assert.equal(r.status, 200, `${sku}: ${r.text}`);
  }
  return id;
}
const checkout = (id) => stack.sf(`/v1/carts/${id}/checkout`, { method: "POST", json: { payment_provider: "manual" }, headers: { "Idempotency-Key": key() } });
const allocations = (order) => order.lines.map((l) => [l.sku, l.allocations.map((a) => [a.location, a.quantity, a.fulfilled_quantity])]);
const act = (id, path, json) => stack.bo(`/admin/v1/orders/${id}/${path}`, { method: "POST", headers: { ...admin, "Idempotency-Key": key() }, json });

test("a French order is allocated at Lyon, an American one at New Jersey: the first location by priority serving the country that fills it", async () => {
  await stock("BOARD-S", { lyon: 5, nj: 4, main: 10 });
  const fr = await checkout(await cart("FR", [["BOARD-S", 2]], { address: frAddress, method: "standard" }));
  assert.equal(fr.status, 201, fr.text);
  assert.deepEqual(allocations(fr.body.order), [["BOARD-S", [["lyon", 2, 0]]]]);
  const us = await checkout(await cart("US", [["BOARD-S", 3]], { address: usAddress, method: "standard" }));
  assert.equal(us.status, 201, us.text);
  assert.deepEqual(allocations(us.body.order), [["BOARD-S", [["nj", 3, 0]]]]);
  assert.equal(d1RoundTrips(us.headers), 2, "claim with the cart and its stock, then the placement keeping the answer");
  // Lyon cannot fill 4 more of it alone any longer: main (every country) does, whole.
  const more = await checkout(await cart("FR", [["BOARD-S", 4]], { address: frAddress, method: "standard" }));
  assert.deepEqual(allocations(more.body.order), [["BOARD-S", [["main", 4, 0]]]]);
  assert.deepEqual(await levelsOf("BOARD-S"), { lyon: [5, 2], main: [10, 4], nj: [4, 3] });
  const total = (await stack.bo("/admin/v1/inventory/BOARD-S", { headers: admin })).body;
  assert.deepEqual([total.on_hand, total.reserved, total.available], [19, 9, 10], "totals are the sums over the locations");
});

test("availability follows the cart's country: stock held only for the US is not sold to France", async () => {
  await stock("BOARD-L", { main: 0, nj: 6 });
  const product = async (market) => {
    const res = await stack.sf(`/v1/products?market=${market}&limit=100`);
    return res.body.data.flatMap((p) => p.variants).find((v) => v.sku === "BOARD-L");
  };
  assert.equal((await product("FR")).available, false);
  assert.equal((await product("US")).available, true);
  const fr = (await stack.sf("/v1/carts", { method: "POST", json: { market: "FR" } })).body.id;
  const refused = envelope(assert, await stack.sf(`/v1/carts/${fr}/lines`, { method: "POST", json: { sku: "BOARD-L", quantity: 1 } }), 422, "insufficient_stock");
  assert.deepEqual(refused.details, { sku: "BOARD-L", available: 0 });
  const us = await cart("US", [["BOARD-L", 6]], { address: usAddress });
  const view = await stack.sf(`/v1/carts/${us}`);
  assert.deepEqual(view.body.warnings, []);
});

test("an order no one location fills is split greedily by priority, then fulfilled from both locations, each shipping only what it holds", async () => {
  await stock("CUP-ESP-WHT", { lyon: 2, main: 0 });
  // paris-store (priority 200, FR) holds the rest.
  await stock("CUP-ESP-WHT", { "paris-store": 3 });
  const placed = await checkout(await cart("FR", [["CUP-ESP-WHT", 4]], { address: frAddress, method: "standard" }));
  assert.equal(placed.status, 201, placed.text);
  const order = placed.body.order;
  assert.deepEqual(allocations(order), [["CUP-ESP-WHT", [["lyon", 2, 0], ["paris-store", 2, 0]]]]);
  const line = order.lines[0].id;
  assert.equal((await act(order.id, "mark-paid", {})).status, 200);
  const tooMany = envelope(assert, await act(order.id, "fulfillments", { lines: [{ line_id: line, quantity: 3 }], location: "lyon" }), 422, "validation_failed");
  assert.equal(tooMany.details.field, "lines[0]");
  assert.match(tooMany.message, /2 unit\(s\) of this line are allocated at lyon/);
  const fromLyon = await act(order.id, "fulfillments", { lines: [{ line_id: line, quantity: 2 }], location: "lyon", tracking: { carrier: "Colissimo", number: "6A1" } });
  assert.equal(fromLyon.status, 200, fromLyon.text);
  assert.equal(fromLyon.body.fulfillment_status, "partially_fulfilled");
  assert.deepEqual(await levelsOf("CUP-ESP-WHT"), { lyon: [0, 0], main: [0, 0], "paris-store": [3, 2] });
  const fromShop = await act(order.id, "fulfillments", { lines: [{ line_id: line, quantity: 2 }], location: "paris-store" });
  assert.equal(fromShop.status, 200, fromShop.text);
  assert.equal(fromShop.body.status, "fulfilled");
  assert.deepEqual(allocations(fromShop.body), [["CUP-ESP-WHT", [["lyon", 2, 2], ["paris-store", 2, 2]]]]);
  assert.deepEqual(await levelsOf("CUP-ESP-WHT"), { lyon: [0, 0], main: [0, 0], "paris-store": [1, 0] });
  const fulfilled = (await stack.db.prepare("SELECT payload FROM outbox WHERE type = 'order.fulfilled' AND aggregate = ?1 ORDER BY sequence").bind(order.id).all()).results;
  assert.deepEqual(fulfilled.map((e) => JSON.parse(e.payload).data.fulfillment.location), ["lyon", "paris-store"]);
});

test("a pickup order is allocated at its store only, and a SKU the store lacks cannot be collected there", async () => {
  await stock("CHOC-70", { lyon: 50 });
  const pickup = await checkout(await cart("FR", [["CHOC-70", 2]], { address: frAddress, method: "pickup-paris" }));
  assert.equal(pickup.status, 201, pickup.text);
  assert.deepEqual(allocations(pickup.body.order), [["CHOC-70", [["paris-store", 2, 0]]]], "not Lyon, though it comes first");
  await stock("KNIFE-20", { lyon: 8, "paris-store": 0 });
  const none = await cart("FR", [], { address: frAddress, method: "pickup-paris" });
  const refused = envelope(assert, await stack.sf(`/v1/carts/${none}/lines`, { method: "POST", json: { sku: "KNIFE-20", quantity: 1 } }), 422, "insufficient_stock");
  assert.deepEqual(refused.details, { sku: "KNIFE-20", available: 0 });
  // Chosen after the line was added, the pickup method makes the cart unplaceable.
  const later = await cart("FR", [["KNIFE-20", 1]], { address: frAddress });
  await stack.sf(`/v1/carts/${later}`, { method: "PATCH", json: { shipping_method: "pickup-paris" } });
  const out = envelope(assert, await checkout(later), 422, "insufficient_stock");
  assert.deepEqual(out.details, { sku: "KNIFE-20", available: 0 });
  // A pickup method names a location shoppers may collect from.
  const bad = envelope(assert, await stack.bo("/admin/v1/shipping-methods/pickup-lyon", { method: "PUT", headers: admin, json: { name: "Lyon pickup", rates: { FR: { type: "flat", amount: { amount: "0.00", currency: "EUR" } } }, location_id: "lyon" } }), 422, "validation_failed");
  assert.equal(bad.details.field, "location_id");
});

test("moving an allocation checks the stock where it goes; the order then ships from there", async () => {
  await stock("APRON-CHA", { lyon: 3, main: 1 });
  const placed = (await checkout(await cart("FR", [["APRON-CHA", 3]], { address: frAddress, method: "standard" }))).body.order;
  assert.deepEqual(allocations(placed), [["APRON-CHA", [["lyon", 3, 0]]]]);
  const line = placed.lines[0].id;
  const short = envelope(assert, await act(placed.id, "allocations", { moves: [{ line_id: line, from: "lyon", to: "main", quantity: 2 }] }), 422, "insufficient_stock");
  assert.deepEqual(short.details, { sku: "APRON-CHA", available: 1 });
  const beyond = envelope(assert, await act(placed.id, "allocations", { moves: [{ line_id: line, from: "nj", to: "main", quantity: 1 }] }), 422, "validation_failed");
  assert.equal(beyond.details.field, "moves[0]");
  await stock("APRON-CHA", { nj: 5 });
  const abroad = envelope(assert, await act(placed.id, "allocations", { moves: [{ line_id: line, from: "lyon", to: "nj", quantity: 1 }] }), 422, "validation_failed");
  assert.deepEqual([abroad.details.field, abroad.message], ["moves[0]", "nj does not serve FR"]);
  const moved = await act(placed.id, "allocations", { moves: [{ line_id: line, from: "lyon", to: "main", quantity: 1 }] });
  assert.equal(moved.status, 200, moved.text);
  assert.deepEqual(allocations(moved.body), [["APRON-CHA", [["lyon", 2, 0], ["main", 1, 0]]]]);
  assert.deepEqual(await levelsOf("APRON-CHA"), { lyon: [3, 2], main: [1, 1], nj: [5, 0] });
  const edited = await stack.db.prepare("SELECT payload FROM outbox WHERE type = 'order.edited' AND aggregate = ?1").bind(placed.id).first();
  assert.deepEqual(JSON.parse(edited.payload).data.edit.changes, [{ op: "move_allocation", line_id: line, from: "lyon", to: "main", quantity: 1 }]);
  // Canceled, it gives back what each location reserved.
  assert.equal((await act(placed.id, "cancel", {})).status, 200);
  assert.deepEqual(await levelsOf("APRON-CHA"), { lyon: [3, 0], main: [1, 0], nj: [5, 0] });
  const canceled = (await stack.bo(`/admin/v1/orders/${placed.id}`, { headers: admin })).body;
  assert.deepEqual(allocations(canceled), [["APRON-CHA", [["lyon", 0, 0], ["main", 0, 0]]]], "released, the locations stay named");
});

test("40 parallel checkouts over 3 locations holding 10 units in all: exactly 10 sold, none oversold anywhere", async () => {
  await stock("SALT-125", { lyon: 3, main: 4, "paris-store": 3 });
  const carts = [];
  for (let i = 0; i < 40; i++) carts.push(await cart("FR", [["SALT-125", 1]], { address: frAddress, method: "standard" }));
  const results = await Promise.all(carts.map(checkout));
  const placed = results.filter((r) => r.status === 201);
  assert.equal(placed.length, 10, results.map((r) => r.status).join(","));
  for (const r of results.filter((r) => r.status !== 201)) {
    assert.deepEqual(envelope(assert, r, 422, "insufficient_stock").details, { sku: "SALT-125", available: 0 });
  }
  const where = {};
  for (const r of placed) for (const [loc, q] of r.body.order.lines[0].allocations.map((a) => [a.location, a.quantity])) where[loc] = (where[loc] ?? 0) + q;
  assert.deepEqual(where, { lyon: 3, main: 4, "paris-store": 3 });
  assert.deepEqual(await levelsOf("SALT-125"), { lyon: [3, 3], main: [4, 4], "paris-store": [3, 3] });
});

test("inventory.low fires per location and for the total, each with the SKU's sequence", async () => {
  await stock("OIL-500", { main: 7, lyon: 8 });
  const before = (await stack.db.prepare("SELECT COUNT(*) AS n FROM outbox WHERE type = 'inventory.low' AND aggregate = 'OIL-500'").first()).n;
  // Lyon goes from 8 to 4 available (low there); the total from 15 to 11 (not low).
  await checkout(await cart("FR", [["OIL-500", 4]], { address: frAddress, method: "standard" }));
  // An adjustment at main takes it from 7 to 1 (low there) and the total from 11 to 5 (low).
  const adj = await stack.bo("/admin/v1/inventory/OIL-500/adjustments?location=main", { method: "POST", headers: { ...admin, "Idempotency-Key": key() }, json: { delta: -6, reason: "breakage" } });
  assert.equal(adj.status, 201, adj.text);
  assert.deepEqual([adj.body.location, adj.body.on_hand, adj.body.available], ["main", 1, 1]);
  const events = (await stack.db.prepare("SELECT payload FROM outbox WHERE type = 'inventory.low' AND aggregate = 'OIL-500' ORDER BY json_extract(payload, '$.sequence')").all()).results.map((e) => JSON.parse(e.payload));
  assert.deepEqual(
    events.slice(before).map((e) => [e.data.location, e.data.available]),
    [["lyon", 4], [null, 5], ["main", 1]],
  );
  const seqs = events.map((e) => e.sequence);
  assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b));
  assert.equal(new Set(seqs).size, seqs.length, "one sequence per SKU, no number twice");
  // Each event is the row that carries it (its id is the webhook-id and the feed's), its
  // numbers are integers (no float in any event), and it is handed to the queue at once,
  // not left for the sweeper.
  const rows = (await stack.db.prepare("SELECT id, payload, sent_at FROM outbox WHERE type = 'inventory.low' AND aggregate = 'OIL-500'").all()).results;
  for (const row of rows) {
    assert.equal(JSON.parse(row.payload).id, row.id, "the event's id is its outbox row's");
    assert.doesNotMatch(row.payload, /\d\.0[,}]/, `no float in ${row.payload}`);
  }
  const adjusted = rows.find((r) => JSON.parse(r.payload).data.location === "main");
  for (let i = 0; i < 100; i++) {
    const sent = await stack.db.prepare("SELECT sent_at FROM outbox WHERE id = ?1").bind(adjusted.id).first();
    if (sent.sent_at) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.ok((await stack.db.prepare("SELECT sent_at FROM outbox WHERE id = ?1").bind(adjusted.id).first()).sent_at, "the adjustment's inventory.low was handed to the queue");

  // Units moved between locations do not lower the total: no total event for a move.
  const sync = (items) => stack.bo("/admin/v1/inventory/sync", { method: "POST", headers: admin, json: { items } });
  assert.equal((await sync([{ sku: "PAN-CU-16", location: "lyon", on_hand: 4 }])).status, 200);
  const lows = async () => (await stack.db.prepare("SELECT COUNT(*) AS n FROM outbox WHERE type = 'inventory.low' AND aggregate = 'PAN-CU-16'").first()).n;
  const quiet = await lows();
  const moved = await sync([
    { sku: "PAN-CU-16", location: "lyon", delta: -3, reason: "sent to the shop" },
    { sku: "PAN-CU-16", location: "paris-store", delta: 3, reason: "received from Lyon" },
  ]);
  assert.equal(moved.status, 200, moved.text);
  assert.equal(await lows(), quiet, "the total (4) was low already and did not change; Lyon (4 to 1) was low already");
  await checkEventSchemas(assert, stack.db);
});

test("a sync of 5,000 items applies all or nothing in one D1 round trip, and a retry with its key applies nothing again", async () => {
  const products = Array.from({ length: 1000 }, (_, i) => ({
    id: `prod_sync_${i}`,
    handle: `sync-${i}`,
    title: `Sync ${i}`,
    status: "published",
    variants: ["A", "B"].map((v) => ({ sku: `SYNC-${i}-${v}`, title: v, tax_class: "standard", prices: { FR: { amount: "1.00", currency: "EUR" } } })),
  }));
  const imported = await stack.bo("/admin/v1/products/import", { method: "POST", headers: admin, json: { products } });
  assert.equal(imported.status, 200, imported.text);
  const skus = products.flatMap((p) => p.variants.map((v) => v.sku));
  const items = [
    ...skus.map((sku, i) => ({ sku, location: "main", on_hand: i % 50 })),
    ...skus.map((sku) => ({ sku, location: "lyon", on_hand: 7 })),
    ...skus.slice(0, 1000).map((sku) => ({ sku, location: "nj", delta: 3, reason: "received PO-77" })),
  ];
  assert.equal(items.length, 5000);
  const k = key();
  const sync = (json, idem = k) => stack.bo("/admin/v1/inventory/sync", { method: "POST", headers: { ...admin, "Idempotency-Key": idem }, json });
  const started = Date.now();
  const res = await sync({ items });
  const ms = Date.now() - started;
  assert.equal(res.status, 200, res.text);
  const trips = d1RoundTrips(res.headers);
  assert.equal(trips, 1, "the whole sync is one batch");
  console.log(`sync of 5000 items: ${ms} ms, ${trips} D1 round trip(s)`);
  assert.match(res.body.id, /^sync_[0-9a-f]{32}$/);
  // Every 50th SKU is set to 0 at main, which it already was: no adjustment for those 40.
  assert.deepEqual([res.body.items, res.body.changed], [5000, 4960]);
  assert.deepEqual(await levelsOf("SYNC-0-B"), { lyon: [7, 0], main: [1, 0], nj: [3, 0] });
  const again = await sync({ items });
  assert.equal(again.status, 200);
  assert.equal(again.headers.get("idempotent-replayed"), "true");
  assert.deepEqual(again.body, res.body);
  assert.equal(d1RoundTrips(again.headers), 2);
  assert.deepEqual(await levelsOf("SYNC-0-B"), { lyon: [7, 0], main: [1, 0], nj: [3, 0] }, "applied once");
  const history = () => stack.bo("/admin/v1/inventory/syncs?limit=100", { headers: admin });
  const applied = (await history()).body.data.length;
  envelope(assert, await sync({ items: items.slice(1) }), 422, "idempotency_key_reused");

  // All or nothing: one item below what is reserved refuses the whole sync, naming it.
  await stock("TOWEL-2", { main: 50 });
  await checkout(await cart("FR", [["TOWEL-2", 2]], { address: frAddress, method: "standard" }));
  const trail = (await stack.db.prepare("SELECT COUNT(*) AS n FROM inventory_adjustments").first()).n;
  const refused = envelope(assert, await sync({ items: [{ sku: "SYNC-1-A", location: "main", on_hand: 40 }, { sku: "TOWEL-2", location: "main", on_hand: 1 }] }, key()), 422, "validation_failed");
  assert.equal(refused.details.field, "items[1].on_hand");
  const unknown = envelope(assert, await sync({ items: [{ sku: "SYNC-1-A", location: "main", on_hand: 40 }, { sku: "NOPE-1", location: "main", on_hand: 1 }] }, key()), 422, "validation_failed");
  assert.equal(unknown.details.field, "items[1].sku");
  const nowhere = envelope(assert, await sync({ items: [{ sku: "SYNC-1-A", location: "atlantis", on_hand: 1 }] }, key()), 422, "validation_failed");
  assert.equal(nowhere.details.field, "items[0].location");
  assert.equal((await levelsOf("SYNC-1-A")).main[0], 2, "nothing applied");
  assert.equal((await stack.db.prepare("SELECT COUNT(*) AS n FROM inventory_adjustments").first()).n, trail);
  const tooMany = envelope(assert, await sync({ items: [...items, { sku: "SYNC-1-A", location: "paris-store", on_hand: 1 }] }, key()), 422, "validation_failed");
  assert.equal(tooMany.details.field, "items");

  // The history lists the applied sync once: not its replay, not the refused ones.
  const listed = await history();
  assert.equal(listed.status, 200, listed.text);
  assert.equal(listed.body.data.length, applied, "refused syncs are not kept");
  const entry = listed.body.data.find((s) => s.id === res.body.id);
  assert.deepEqual([entry.items, entry.changed, entry.actor], [5000, 4960, "ops@example.com"]);
  assert.equal(listed.body.data.filter((s) => s.items === 5000).length, 1, "the replay added none");
  assert.equal(d1RoundTrips(listed.headers), 1);
});

test("a destination filtered by location hears only the orders allocated there, and their moves away and cancels", async () => {
  const url = (path) => receiver.url + path;
  const hooks = bearer(await adminToken({ scope: "destinations:read destinations:write" }));
  const put = (id, json) => stack.bo(`/admin/v1/destinations/${id}`, { method: "PUT", headers: hooks, json });
  const wms = await put("wms-nj", { url: url("/nj"), events: ["order.placed", "order.edited", "order.canceled"], filter: { locations: ["nj"] } });
  assert.equal(wms.status, 201, wms.text);
  assert.deepEqual(wms.body.filter, { locations: ["nj"] });
  const all = await put("erp", { url: url("/all"), events: ["order.placed"] });
  assert.equal(all.body.filter, null);
  const bad = envelope(assert, await put("bad", { url: url("/x"), events: ["*"], filter: { locations: [] } }), 422, "validation_failed");
  assert.equal(bad.details.field, "filter.locations");

  await stock("BOOK-BISTRO", { lyon: 5, nj: 5 });
  const fr = (await checkout(await cart("FR", [["BOOK-BISTRO", 1]], { address: frAddress, method: "standard" }))).body.order;
  const us = (await checkout(await cart("US", [["BOOK-BISTRO", 1]], { address: usAddress, method: "standard" }))).body.order;
  // New Jersey's order leaves it for main, then is canceled: New Jersey hears both.
  const line = us.lines[0].id;
  assert.equal((await act(us.id, "allocations", { moves: [{ line_id: line, from: "nj", to: "main", quantity: 1 }] })).status, 200);
  assert.equal((await act(us.id, "cancel", {})).status, 200);
  const seen = (path, order, type = "order.placed") => receiver.events().some(([p, e]) => p === path && e.type === type && e.data.id === order.id);
  await until("the deliveries", () => seen("/all", fr) && seen("/all", us) && seen("/nj", us, "order.canceled"));
  assert.ok(seen("/all", fr) && seen("/all", us), "the unfiltered destination hears both");
  assert.ok(seen("/nj", us), "New Jersey hears its order");
  assert.ok(seen("/nj", us, "order.edited") && seen("/nj", us, "order.canceled"), "and that it moved away, then was canceled");
  assert.ok(!seen("/nj", fr), "and nothing of Lyon's");
  const frEvent = await stack.db.prepare("SELECT id FROM outbox WHERE aggregate = ?1 AND type = 'order.placed'").bind(fr.id).first();
  const deliveries = (await stack.db.prepare("SELECT destination_id FROM deliveries WHERE event_id = ?1").bind(frEvent.id).all()).results;
  assert.deepEqual(deliveries.map((d) => d.destination_id), ["erp"]);
  for (const id of ["wms-nj", "erp"]) await stack.bo(`/admin/v1/destinations/${id}`, { method: "DELETE", headers: hooks });
});
