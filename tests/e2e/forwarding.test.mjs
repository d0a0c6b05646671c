// Forwarding events to back-office systems: a real HTTP receiver on 127.0.0.1 verifies every
// delivery with the official `standardwebhooks` package.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import { Webhook } from "standardwebhooks";
import { startStack, envelope, until } from "./harness.mjs";
import { adminToken, bearer } from "./tokens.mjs";

let stack;
let admin;
let receiver;
let port;
const received = []; // every request: { id, verified, body, status }
let answer = () => 200; // what the receiver answers next
let secret;

before(async () => {
  receiver = http.createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      let verified = null;
      try {
        verified = new Webhook(secret).verify(body, req.headers);
      } catch {
        verified = null;
      }
      const status = answer(received.length);
      received.push({ id: req.headers["webhook-id"], headers: req.headers, verified, body, status });
      res.writeHead(status);
      res.end();
    });
  });
  await new Promise((r) => receiver.listen(0, "127.0.0.1", r));
  port = receiver.address().port;
  stack = await startStack({ captureLogs: true, vars: { DELIVERY_RETRY_BASE_SECONDS: "1", DELIVERY_MAX_ATTEMPTS: "3", OUTBOX_SWEEP_AFTER_SECONDS: "0" } });
  admin = bearer(await adminToken({ scope: "destinations:read destinations:write events:read orders:write" }));
});
after(async () => {
  await stack?.dispose();
  receiver?.close();
});

const frAddress = { first_name: "Jeanne", last_name: "Martin", line1: "3 rue de la Paix", city: "Paris", postal_code: "75002", country: "FR" };
async function placeOrder(sku = "TOWEL-2") {
  const cart = (await stack.sf("/v1/carts", { method: "POST", json: { market: "FR" } })).body.id;
  await stack.sf(`/v1/carts/${cart}/lines`, { method: "POST", json: { sku, quantity: 1 } });
  await stack.sf(`/v1/carts/${cart}`, { method: "PATCH", json: { email: "j@example.fr", shipping_address: frAddress, shipping_method: "standard" } });
  const res = await stack.sf(`/v1/carts/${cart}/checkout`, { method: "POST", json: { payment_provider: "manual" }, headers: { "Idempotency-Key": `fwd-${cart}` } });
  assert.equal(res.status, 201, res.text);
  return res.body.order;
}
const deliveriesOf = async (eventId) => (await stack.db.prepare("SELECT * FROM deliveries WHERE event_id = ?1").bind(eventId).all()).results;
const eventOf = async (orderId, type) => stack.db.prepare("SELECT id FROM outbox WHERE aggregate = ?1 AND type = ?2").bind(orderId, type).first();

test("a destination gets a whsec_ secret once; bad URLs and event types are refused", async () => {
  const created = await stack.bo("/admin/v1/destinations/erp", { method: "PUT", headers: admin, json: { url: `http://127.0.0.1:${port}/hook`, events: ["order.confirmed", "order.canceled"] } });
  assert.equal(created.status, 201, created.text);
  assert.match(created.body.secret, /^whsec_[A-Za-z0-9+/=]+$/);
  secret = created.body.secret;
  const read = await stack.bo("/admin/v1/destinations/erp", { headers: admin });
  assert.equal(read.body.secret, undefined);
  for (const [json, field] of [
    [{ url: "https://10.0.0.1/hook", events: ["*"] }, "url"],
    [{ url: "http://erp.example.com/hook", events: ["*"] }, "url"],
    [{ url: "https://erp.example.com/hook", events: ["order.shipped"] }, "events[0]"],
    [{ url: "https://erp.example.com/hook", events: [] }, "events"],
  ]) {
    assert.equal(envelope(assert, await stack.bo("/admin/v1/destinations/bad", { method: "PUT", headers: admin, json }), 422, "validation_failed").details.field, field);
  }
});

test("a confirmed order is delivered, signed per Standard Webhooks", async () => {
  const order = await placeOrder();
  const started = Date.now();
  const paid = await stack.bo(`/admin/v1/orders/${order.id}/mark-paid`, { method: "POST", headers: admin });
  assert.equal(paid.status, 200, paid.text);
  const event = await eventOf(order.id, "order.confirmed");
  const hit = await until("the delivery", () => received.find((r) => r.id === event.id));
  console.log(`order.confirmed reached the receiver ${Date.now() - started} ms after mark-paid was sent`);
  assert.ok(hit.verified, "standardwebhooks verified the signature");
  assert.equal(hit.verified.type, "order.confirmed");
  assert.equal(hit.verified.data.id, order.id);
  assert.equal(hit.verified.sequence, 2);
  const [d] = await until("the delivered row", async () => (await deliveriesOf(event.id)).filter((x) => x.status === "delivered"));
  assert.equal(d.attempts, 1);
  assert.equal(d.last_status_code, 200);
  assert.ok(!received.some((r) => JSON.parse(r.body).type === "order.placed"), "order.placed is not subscribed");
});

test("a receiver down for two attempts gets the event once it is up, with the same webhook-id", async () => {
  let failures = 0;
  answer = () => (failures++ < 2 ? 503 : 200);
  const order = await placeOrder();
  await stack.bo(`/admin/v1/orders/${order.id}/cancel`, { method: "POST", headers: admin });
  const event = await eventOf(order.id, "order.canceled");
  const [d] = await until("delivery after retries", async () => (await deliveriesOf(event.id)).filter((x) => x.status === "delivered"), 30);
  assert.equal(d.attempts, 3);
  const hits = received.filter((r) => r.id === event.id);
  assert.deepEqual(hits.map((h) => h.status), [503, 503, 200]);
  assert.ok(hits.every((h) => h.verified), "every attempt is signed afresh and verifies");
  answer = () => 200;
});

test("a permanent 400 goes dead, is listed, and a replay after the fix delivers it", async () => {
  answer = () => 400;
  const order = await placeOrder();
  await stack.bo(`/admin/v1/orders/${order.id}/mark-paid`, { method: "POST", headers: admin });
  const event = await eventOf(order.id, "order.confirmed");
  const [dead] = await until("the dead delivery", async () => (await deliveriesOf(event.id)).filter((x) => x.status === "dead"));
  assert.equal(dead.attempts, 1, "a 400 is not retried");
  const listed = await stack.bo("/admin/v1/deliveries?status=dead", { headers: admin });
  assert.equal(listed.status, 200);
  assert.ok(listed.body.data.some((x) => x.id === dead.id && x.last_status_code === 400));
  answer = () => 200;
  const replay = await stack.bo(`/admin/v1/deliveries/${dead.id}/replay`, { method: "POST", headers: admin });
  assert.equal(replay.status, 202, replay.text);
  assert.equal(replay.body.status, "pending");
  await until("the replayed delivery", async () => (await deliveriesOf(event.id)).find((x) => x.status === "delivered"));
  const hits = received.filter((r) => r.id === event.id);
  assert.deepEqual(hits.map((h) => h.status), [400, 200]);
  assert.equal(new Set(hits.map((h) => h.id)).size, 1, "the same webhook-id");
});

test("an event committed but never handed to the queue is delivered by the sweeper", async () => {
  const order = await placeOrder();
  // Undo the hand-off as a crash between commit and send would: the row is unsent.
  await stack.bo(`/admin/v1/orders/${order.id}/mark-paid`, { method: "POST", headers: admin });
  const event = await eventOf(order.id, "order.confirmed");
  await until("the first hand-off", async () => (await deliveriesOf(event.id)).length > 0);
  await stack.db.batch([
    stack.db.prepare("DELETE FROM deliveries WHERE event_id = ?1").bind(event.id),
    stack.db.prepare("UPDATE outbox SET sent_at = NULL WHERE id = ?1").bind(event.id),
  ]);
  const before = received.filter((r) => r.id === event.id).length;
  await (await stack.mf.getWorker("backoffice")).scheduled({ cron: "* * * * *" });
  await until("the swept delivery", async () => received.filter((r) => r.id === event.id).length > before);
  const row = await stack.db.prepare("SELECT sent_at FROM outbox WHERE id = ?1").bind(event.id).first();
  assert.ok(row.sent_at, "marked sent again");
});

test("a malformed message in a batch is dropped once and does not hold up the others", async () => {
  const order = await placeOrder();
  await stack.bo(`/admin/v1/orders/${order.id}/mark-paid`, { method: "POST", headers: admin });
  const event = await eventOf(order.id, "order.confirmed");
  await until("the normal delivery", async () => (await deliveriesOf(event.id)).length > 0);
  await stack.db.prepare("DELETE FROM deliveries WHERE event_id = ?1").bind(event.id).run();
  const posts = received.filter((r) => r.id === event.id).length;
  const dropped = () => (stack.logs().match(/unknown message kind `nonsense`, dropped/g) ?? []).length;
  const queue = await stack.mf.getQueueProducer("ORDER_EVENTS", "storefront");
  await queue.sendBatch([{ body: "not a message" }, { body: { kind: "nonsense" } }, { body: { kind: "event", event_id: event.id } }]);
  const [d] = await until("the delivery of the good message", async () => (await deliveriesOf(event.id)).filter((x) => x.status === "delivered"));
  assert.equal(d.attempts, 1, "the good message was handled in the batch's first run");
  assert.equal(received.filter((r) => r.id === event.id).length, posts + 1, "delivered once more, not once per redelivered batch");
  // Had the batch failed, the queue would redeliver it (max_retries) and log the drop again.
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal(dropped(), 1, "the malformed message was acknowledged, not retried");
});

test("queue redelivery of the same messages delivers once to a receiver that dedupes by webhook-id", async () => {
  const order = await placeOrder();
  await stack.bo(`/admin/v1/orders/${order.id}/mark-paid`, { method: "POST", headers: admin });
  const event = await eventOf(order.id, "order.confirmed");
  const [delivery] = await until("the delivery", async () => (await deliveriesOf(event.id)).filter((d) => d.status === "delivered"));
  // The queue redelivers (at least once): the event message and the delivery message again,
  // several times, some in one batch, some concurrently.
  const queue = await stack.mf.getQueueProducer("ORDER_EVENTS", "storefront");
  const again = [{ body: { kind: "event", event_id: event.id } }, { body: { kind: "delivery", delivery_id: delivery.id } }];
  await queue.sendBatch([...again, ...again]);
  await Promise.all([queue.sendBatch(again), queue.sendBatch(again)]);
  // A later event, delivered: the queue has consumed the duplicates sent before it.
  const later = await placeOrder();
  await stack.bo(`/admin/v1/orders/${later.id}/mark-paid`, { method: "POST", headers: admin });
  const laterEvent = await eventOf(later.id, "order.confirmed");
  await until("the later event's delivery", async () => received.find((r) => r.id === laterEvent.id));
  await new Promise((r) => setTimeout(r, 500));
  // The receiver was not even asked twice (so one that dedupes by webhook-id has nothing to do).
  const posts = received.filter((r) => r.id === event.id);
  assert.equal(posts.length, 1, "one POST for the event");
  assert.ok(posts[0].verified && posts[0].status < 300);
  const rows = await deliveriesOf(event.id);
  assert.equal(rows.length, 1, "one delivery row per (event, destination)");
  assert.equal(rows[0].status, "delivered");
  assert.equal(rows[0].attempts, 1);
});

test("the pull feed lists every event in order and always returns a resumable cursor", async () => {
  const all = [];
  let cursor = "";
  for (let i = 0; i < 50; i++) {
    const res = await stack.bo(`/admin/v1/events?limit=3${cursor ? `&after=${cursor}` : ""}`, { headers: admin });
    assert.equal(res.status, 200, res.text);
    assert.ok(res.body.next_cursor, "never null");
    all.push(...res.body.data);
    if (res.body.data.length === 0) {
      assert.equal(res.body.next_cursor, cursor, "nothing new: the same cursor comes back");
      break;
    }
    cursor = res.body.next_cursor;
  }
  const count = (await stack.db.prepare("SELECT COUNT(*) AS n FROM outbox").first()).n;
  assert.equal(all.length, count, "complete");
  assert.equal(new Set(all.map((e) => e.id)).size, count, "no duplicates");
  const perOrder = {};
  for (const e of all.filter((e) => e.type.startsWith("order."))) {
    const last = perOrder[e.data.id] ?? 0;
    assert.ok(e.sequence > last, "sequence grows per order in feed order");
    perOrder[e.data.id] = e.sequence;
  }
  envelope(assert, await stack.bo("/admin/v1/events?after=bogus", { headers: admin }), 400, "invalid_parameter");
});

test("rotating a secret signs with both until receivers switch; deleting a destination stops deliveries", async () => {
  const old = secret;
  const rotated = await stack.bo("/admin/v1/destinations/erp/rotate-secret", { method: "POST", headers: admin });
  assert.equal(rotated.status, 200, rotated.text);
  assert.notEqual(rotated.body.secret, old);
  const order = await placeOrder();
  await stack.bo(`/admin/v1/orders/${order.id}/mark-paid`, { method: "POST", headers: admin });
  const event = await eventOf(order.id, "order.confirmed");
  const hit = await until("a delivery after rotation", () => received.find((r) => r.id === event.id));
  assert.ok(hit.verified, "the old secret still verifies during the grace period");
  secret = rotated.body.secret;
  assert.ok(new Webhook(secret).verify(hit.body, hit.headers), "and so does the new one");
  assert.equal(hit.headers["webhook-signature"].split(" ").length, 2);
  const del = await stack.bo("/admin/v1/destinations/erp", { method: "DELETE", headers: admin });
  assert.equal(del.status, 204);
  envelope(assert, await stack.bo("/admin/v1/destinations/erp", { headers: admin }), 404, "not_found");
});
