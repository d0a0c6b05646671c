// Orders from every channel (API.md "Orders from every channel"): a marketplace's sales
// imported through the admin API, idempotent by (channel, external id), taxed by the market,
// never refused for stock, attributed to their channel and source, and forwarded only to the
// destinations that listen to that channel.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startStack, envelope, d1RoundTrips, checkEventSchemas, startReceiver, until } from "./harness.mjs";
import { adminToken, bearer } from "./tokens.mjs";
import { frAddress, placePaidOrder } from "./integrator.mjs";

let stack;
let admin;
let receiver;
before(async () => {
  receiver = await startReceiver();
  stack = await startStack();
  admin = bearer(await adminToken({ scope: "orders:read orders:write catalog:write catalog:read inventory:read inventory:write destinations:read destinations:write" }));
  const channel = await stack.bo("/admin/v1/channels/amazon-fr", { method: "PUT", headers: admin, json: { name: "Amazon FR", markets: ["FR"] } });
  assert.equal(channel.status, 201, channel.text);
});
after(async () => {
  await stack?.dispose();
  receiver?.close();
});

const address = frAddress;
const eur = (amount) => ({ amount, currency: "EUR" });
const sale = (externalId, lines, extra = {}) => ({
  channel: "amazon-fr", external_id: externalId, market: "FR", email: "buyer@example.fr", placed_at: "2026-11-28T10:00:00Z",
  lines, shipping: { method: "amazon-standard", price: eur("4.90") }, shipping_address: address, paid: true, payment_reference: `AMZ-${externalId}`, ...extra,
});
const importOrders = (orders, headers = admin) => stack.bo("/admin/v1/orders/import", { method: "POST", headers, json: { orders } });
const level = async (sku) => (await stack.bo(`/admin/v1/inventory/${sku}`, { headers: admin })).body;

test("a batch of 100 marketplace orders imported twice: the second call answers the same 100 orders and creates none", async () => {
  const batch = Array.from({ length: 100 }, (_, i) => sale(`AMZ-BATCH-${i}`, [{ sku: "choc-70", quantity: 1, unit_price: eur("3.80") }]));
  const before = await level("CHOC-70");
  const first = await importOrders(batch);
  assert.equal(first.status, 200, first.text);
  assert.equal(first.body.results.length, 100);
  assert.ok(first.body.results.every((r, i) => r.external_id === `AMZ-BATCH-${i}` && r.created && r.warnings.length === 0));
  assert.ok(d1RoundTrips(first.headers) <= 2, `an import of 100 orders is ${d1RoundTrips(first.headers)} D1 round trips`);
  const again = await importOrders(batch);
  assert.equal(again.status, 200, again.text);
  assert.deepEqual(again.body.results.map((r) => [r.order_id, r.created]), first.body.results.map((r) => [r.order_id, false]));
  assert.equal(d1RoundTrips(again.headers), 1, "a repeat only reads");
  const { n } = await stack.db.prepare("SELECT count(*) AS n FROM orders WHERE channel_id = 'amazon-fr' AND external_id LIKE 'AMZ-BATCH-%'").first();
  assert.equal(n, 100);
  assert.equal((await level("CHOC-70")).reserved, before.reserved + 100, "each order reserved its unit, once");

  // The order as the back office sees it: the channel's prices, taxed by France's rules.
  const order = (await stack.bo(`/admin/v1/orders/${first.body.results[0].order_id}`, { headers: admin })).body;
  assert.deepEqual([order.channel, order.source, order.external_id, order.status, order.payment_status], ["amazon-fr", "import", "AMZ-BATCH-0", "confirmed", "paid"]);
  assert.equal(order.created_at, "2026-11-28T10:00:00.000Z", "created when the sale happened");
  assert.match(order.number, /^FR-\d{6}$/);
  const line = order.lines[0];
  // 3.80 at the reduced rate (5.5 %, inclusive): 0.20 of tax; shipping 4.90 at 20 %: 0.82.
  assert.deepEqual([line.sku, line.unit_price.amount, line.tax.amount, line.total.amount, line.backordered_quantity], ["CHOC-70", "3.80", "0.20", "3.80", 0]);
  assert.deepEqual([order.totals.subtotal.amount, order.totals.shipping.amount, order.totals.tax.amount, order.totals.total.amount], ["3.80", "4.90", "1.02", "8.70"]);
  assert.deepEqual(order.shipping_method, { id: "amazon-standard", name: "amazon-standard", price: eur("4.90") });
  assert.equal(order.paid.amount, "8.70");
  const { numbers } = await stack.db.prepare("SELECT count(DISTINCT number) AS numbers FROM orders WHERE id IN (SELECT value FROM json_each(?1))").bind(JSON.stringify(first.body.results.map((r) => r.order_id))).first();
  assert.equal(numbers, 100, "every order has its own number");

  // Listed by channel and source; its events say both.
  const listed = await stack.bo("/admin/v1/orders?channel=amazon-fr&source=import&limit=100", { headers: admin });
  assert.equal(listed.status, 200, listed.text);
  assert.equal(listed.body.data.length, 100);
  assert.ok(listed.body.data.every((o) => o.channel === "amazon-fr" && o.source === "import"));
  const web = await stack.bo("/admin/v1/orders?source=storefront&channel=amazon-fr", { headers: admin });
  assert.deepEqual(web.body.data, []);
  envelope(assert, await stack.bo("/admin/v1/orders?source=phone", { headers: admin }), 400, "invalid_parameter");
  const events = (await stack.db.prepare("SELECT type, sequence, payload FROM outbox WHERE aggregate = ?1 ORDER BY sequence").bind(order.id).all()).results;
  assert.deepEqual(events.map((e) => [e.type, e.sequence]), [["order.placed", 1], ["order.confirmed", 2]]);
  const placed = JSON.parse(events[0].payload).data;
  assert.deepEqual([placed.channel, placed.source, placed.number, placed.status], ["amazon-fr", "import", order.number, "pending_payment"]);
  assert.equal(JSON.parse(events[1].payload).data.status, "confirmed");
  await checkEventSchemas(assert, stack.db);
});

test("an import whose orders and events outgrow one D1 parameter is written whole, still in two round trips", async () => {
  // 100 paid orders of 20 lines: their 200 events (each a whole order) are about 2 MB of JSON,
  // more than D1 takes in one bound parameter, so the batch binds them in several.
  const lines = Array.from({ length: 20 }, () => ({ sku: "APRON-NAT", quantity: 1, unit_price: eur("24.00") }));
  const batch = Array.from({ length: 100 }, (_, i) => sale(`AMZ-BIG-${i}`, lines));
  const res = await importOrders(batch);
  assert.equal(res.status, 200, res.text);
  assert.ok(res.body.results.every((r) => r.created));
  assert.ok(d1RoundTrips(res.headers) <= 2, `${d1RoundTrips(res.headers)} D1 round trips`);
  const ids = JSON.stringify(res.body.results.map((r) => r.order_id));
  const { n } = await stack.db.prepare("SELECT count(*) AS n FROM order_lines WHERE order_id IN (SELECT value FROM json_each(?1))").bind(ids).first();
  assert.equal(n, 2000);
  const { events, bytes } = await stack.db.prepare("SELECT count(*) AS events, sum(length(payload)) AS bytes FROM outbox WHERE aggregate IN (SELECT value FROM json_each(?1))").bind(ids).first();
  assert.equal(events, 200, "order.placed and order.confirmed for each");
  assert.ok(bytes > 1_500_000, `the events hold ${bytes} bytes`);
});

test("a sale beyond stock is accepted: the shortfall is backordered and inventory.oversold tells the operator", async () => {
  // CUP-ESP-BLU: 3 at main (the demo's), none elsewhere.
  const before = await level("CUP-ESP-BLU");
  const res = await importOrders([sale("AMZ-OVER-1", [{ sku: "CUP-ESP-BLU", quantity: 5, unit_price: eur("9.00"), discount: eur("1.00") }], { paid: false })]);
  assert.equal(res.status, 200, res.text);
  const [result] = res.body.results;
  assert.equal(result.created, true);
  assert.deepEqual(result.warnings.map((w) => [w.code, w.line]), [["backordered", 0]]);
  const order = (await stack.bo(`/admin/v1/orders/${result.order_id}`, { headers: admin })).body;
  const line = order.lines[0];
  const held = before.available;
  assert.equal(line.backordered_quantity, 5 - held);
  assert.equal(line.allocations.reduce((s, a) => s + a.quantity, 0), held);
  assert.deepEqual([order.status, order.payment_status, line.discount.amount, line.total.amount], ["pending_payment", "pending", "1.00", "44.00"]);
  assert.equal((await level("CUP-ESP-BLU")).available, 0, "what was there is reserved, never more");
  const oversold = await stack.db.prepare("SELECT payload FROM outbox WHERE type = 'inventory.oversold' AND aggregate = 'CUP-ESP-BLU'").first();
  const data = JSON.parse(oversold.payload).data;
  assert.deepEqual(data, { sku: "CUP-ESP-BLU", backordered_quantity: 5 - held, lines: [{ order_id: order.id, line_id: line.id, quantity: 5 - held }] });
  // An unpaid import is never canceled for it: it waits for mark-paid.
  const paid = await stack.bo(`/admin/v1/orders/${order.id}/mark-paid`, { method: "POST", headers: admin });
  assert.equal(paid.status, 200, paid.text);
  assert.equal(paid.body.status, "confirmed");

  // Stock arrives: the backordered units are allocated (a move without `from`), then ship.
  const backordered = 5 - held;
  const restock = await stack.bo("/admin/v1/inventory/CUP-ESP-BLU/adjustments", { method: "POST", headers: admin, json: { delta: backordered + 1, reason: "restock" } });
  assert.equal(restock.status, 201, restock.text);
  const allocate = (quantity) => stack.bo(`/admin/v1/orders/${order.id}/allocations`, { method: "POST", headers: admin, json: { moves: [{ line_id: line.id, to: "main", quantity }] } });
  const beyond = await allocate(backordered + 1);
  assert.equal(envelope(assert, beyond, 422, "validation_failed").details.field, "moves[0]");
  const allocated = await allocate(backordered);
  assert.equal(allocated.status, 200, allocated.text);
  assert.equal(allocated.body.lines[0].backordered_quantity, 0);
  assert.equal((await level("CUP-ESP-BLU")).available, 1, "the backorder took what it lacked, no more");
  const shipped = await stack.bo(`/admin/v1/orders/${order.id}/fulfillments`, { method: "POST", headers: admin, json: { lines: [{ line_id: line.id, quantity: 5 }] } });
  assert.equal(shipped.status, 200, shipped.text);
  assert.equal((await stack.bo(`/admin/v1/orders/${order.id}`, { headers: admin })).body.fulfillment_status, "fulfilled");
  await checkEventSchemas(assert, stack.db);
});

test("30 parallel imports of one external id create one order", async () => {
  const one = [sale("AMZ-RACE-1", [{ sku: "MUG-350", quantity: 1, unit_price: eur("14.00") }])];
  const answers = await Promise.all(Array.from({ length: 30 }, () => importOrders(one)));
  for (const a of answers) assert.equal(a.status, 200, a.text);
  const ids = new Set(answers.map((a) => a.body.results[0].order_id));
  assert.equal(ids.size, 1, "every call answers the same order");
  assert.equal(answers.filter((a) => a.body.results[0].created).length, 1, "one call created it");
  const { n } = await stack.db.prepare("SELECT count(*) AS n FROM orders WHERE external_id = 'AMZ-RACE-1'").first();
  assert.equal(n, 1);
});

test("a bad import is refused naming the field, and writes nothing", async () => {
  const good = sale("AMZ-BAD-1", [{ sku: "MUG-350", quantity: 1, unit_price: eur("14.00") }]);
  const cases = [
    [{ ...good, channel: "nowhere" }, "orders[1].channel"],
    [{ ...good, market: "US" }, "orders[1].market"],
    [{ ...good, lines: [{ sku: "MUG-350", quantity: 1, unit_price: { amount: "14.00", currency: "USD" } }] }, "orders[1].lines[0].unit_price.currency"],
    [{ ...good, lines: [{ sku: "MUG-350", quantity: 0, unit_price: eur("14.00") }] }, "orders[1].lines[0].quantity"],
    [{ ...good, lines: [{ sku: "MUG-350", quantity: 1, unit_price: eur("14.00"), discount: eur("15.00") }] }, "orders[1].lines[0].discount"],
    [{ ...good, shipping_address: { ...address, country: "US" } }, "orders[1].shipping_address.country"],
    [{ ...good, email: "nope" }, "orders[1].email"],
    [{ ...good, placed_at: "yesterday" }, "orders[1].placed_at"],
  ];
  for (const [bad, field] of cases) {
    const res = importOrders([sale("AMZ-BAD-0", [{ sku: "MUG-350", quantity: 1, unit_price: eur("14.00") }]), bad]);
    assert.equal(envelope(assert, await res, 422, "validation_failed").details.field, field, JSON.stringify(bad));
  }
  const unknown = envelope(assert, await importOrders([{ ...good, lines: [{ sku: "NOPE-1", quantity: 1, unit_price: eur("1.00") }] }]), 422, "unknown_sku");
  assert.deepEqual(unknown.details, { sku: "NOPE-1", field: "orders[0].lines[0].sku" });
  envelope(assert, await importOrders([{ ...good, gift: true }]), 422, "unknown_field");
  envelope(assert, await importOrders([good, good]), 422, "validation_failed");
  envelope(assert, await importOrders(Array.from({ length: 101 }, (_, i) => sale(`X-${i}`, good.lines))), 422, "validation_failed");
  envelope(assert, await importOrders([good], bearer(await adminToken({ scope: "orders:read" }))), 403, "forbidden");
  const { n } = await stack.db.prepare("SELECT count(*) AS n FROM orders WHERE external_id LIKE 'AMZ-BAD-%'").first();
  assert.equal(n, 0, "nothing of a refused call was written");
});

test("a destination filtered to one channel receives only that channel's orders", async () => {
  const url = (path) => receiver.url + path;
  const put = (id, json) => stack.bo(`/admin/v1/destinations/${id}`, { method: "PUT", headers: admin, json });
  const connector = await put("amazon-connector", { url: url("/amazon"), events: ["order.placed"], filter: { channels: ["amazon-fr"] } });
  assert.equal(connector.status, 201, connector.text);
  assert.deepEqual(connector.body.filter, { channels: ["amazon-fr"] });
  const all = await put("erp-all", { url: url("/all"), events: ["order.placed"] });
  assert.equal(all.status, 201, all.text);
  envelope(assert, await put("bad", { url: url("/x"), events: ["*"], filter: { channels: [] } }), 422, "validation_failed");

  const imported = (await importOrders([sale("AMZ-HOOK-1", [{ sku: "COF-250", quantity: 1, unit_price: eur("7.50") }])])).body.results[0].order_id;
  // A storefront order of the web channel.
  const web = await placePaidOrder(stack, admin, [["COF-250", 1]]);
  const webOrder = web.id;
  assert.equal(web.source, "storefront");
  assert.equal(web.channel, "web");

  const seen = (path, id) => receiver.events().some(([p, e]) => p === path && e.type === "order.placed" && e.data.id === id);
  await until("the deliveries", () => seen("/all", imported) && seen("/all", webOrder) && seen("/amazon", imported));
  assert.ok(seen("/all", imported) && seen("/all", webOrder), "the unfiltered destination hears both");
  assert.ok(seen("/amazon", imported), "the connector hears its channel's order");
  assert.ok(!seen("/amazon", webOrder), "and not the web's");
  const webEvent = await stack.db.prepare("SELECT id FROM outbox WHERE aggregate = ?1 AND type = 'order.placed'").bind(webOrder).first();
  const deliveries = (await stack.db.prepare("SELECT destination_id FROM deliveries WHERE event_id = ?1").bind(webEvent.id).all()).results;
  assert.deepEqual(deliveries.map((d) => d.destination_id), ["erp-all"]);
  for (const id of ["amazon-connector", "erp-all"]) await stack.bo(`/admin/v1/destinations/${id}`, { method: "DELETE", headers: admin });
});
