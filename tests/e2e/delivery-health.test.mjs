// Failing destinations and stranded deliveries (API.md Hardening rules): a redirect is never
// followed, `410 Gone` and a run of dead deliveries disable a destination, re-enabling and
// replay-dead bring its events back, a delivery's retries do not depend on the queue's
// max_retries, and the sweeper hands over deliveries the queue never took. Every receiver
// listens on 127.0.0.1.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import { startStack, envelope, until } from "./harness.mjs";
import { adminToken, bearer } from "./tokens.mjs";

let stack;
let admin;
let receiver;
let thief;
let base;
const hits = []; // { path, id, status }
const stolen = [];
const behaviour = {}; // path → (nth request to that path) => status
let thiefPort;

before(async () => {
  thief = http.createServer((req, res) => {
    req.resume();
    stolen.push(req.url);
    res.writeHead(200).end();
  });
  await new Promise((r) => thief.listen(0, "127.0.0.1", r));
  thiefPort = thief.address().port;
  receiver = http.createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      const path = req.url;
      const nth = hits.filter((h) => h.path === path).length;
      const status = (behaviour[path] ?? (() => 200))(nth);
      hits.push({ path, id: req.headers["webhook-id"], status });
      if (status >= 300 && status < 400) res.writeHead(status, { Location: `http://127.0.0.1:${thiefPort}/steal` });
      else res.writeHead(status);
      res.end();
    });
  });
  await new Promise((r) => receiver.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${receiver.address().port}`;
  // Retries at once (base 0 s), six attempts, three dead in a row disable, and a queue that
  // gives a message only two tries: fewer than a delivery's attempts.
  stack = await startStack({
    queueMaxRetries: 1,
    vars: { DELIVERY_RETRY_BASE_SECONDS: "0", DELIVERY_MAX_ATTEMPTS: "6", DESTINATION_DISABLE_AFTER: "3", OUTBOX_SWEEP_AFTER_SECONDS: "0" },
  });
  admin = bearer(await adminToken({ scope: "destinations:read destinations:write orders:write orders:read" }));
});
after(async () => {
  await stack?.dispose();
  receiver?.close();
  thief?.close();
});

const frAddress = { first_name: "Jeanne", last_name: "Martin", line1: "3 rue de la Paix", city: "Paris", postal_code: "75002", country: "FR" };
/** An order confirmed by the back office: one `order.confirmed` event. Returns the event id. */
async function confirmedEvent() {
  const cart = (await stack.sf("/v1/carts", { method: "POST", json: { market: "FR" } })).body.id;
  await stack.sf(`/v1/carts/${cart}/lines`, { method: "POST", json: { sku: "TOWEL-2", quantity: 1 } });
  await stack.sf(`/v1/carts/${cart}`, { method: "PATCH", json: { email: "j@example.fr", shipping_address: frAddress, shipping_method: "standard" } });
  const placed = await stack.sf(`/v1/carts/${cart}/checkout`, { method: "POST", json: { payment_provider: "manual" }, headers: { "Idempotency-Key": `dh-${cart}` } });
  assert.equal(placed.status, 201, placed.text);
  const paid = await stack.bo(`/admin/v1/orders/${placed.body.order.id}/mark-paid`, { method: "POST", headers: admin });
  assert.equal(paid.status, 200, paid.text);
  return (await stack.db.prepare("SELECT id FROM outbox WHERE aggregate = ?1 AND type = 'order.confirmed'").bind(placed.body.order.id).first()).id;
}
const deliveryOf = (eventId, destination) =>
  stack.db.prepare("SELECT * FROM deliveries WHERE event_id = ?1 AND destination_id = ?2").bind(eventId, destination).first();
const settled = (eventId, destination) =>
  until(`the delivery of ${eventId} to ${destination}`, async () => {
    const d = await deliveryOf(eventId, destination);
    return d && d.status !== "pending" ? d : null;
  });
async function destination(id, path, extra = {}) {
  const res = await stack.bo(`/admin/v1/destinations/${id}`, { method: "PUT", headers: admin, json: { url: `${base}${path}`, events: ["order.confirmed"], ...extra } });
  assert.ok([200, 201].includes(res.status), res.text);
  return res.body;
}
const remove = async (id) => assert.equal((await stack.bo(`/admin/v1/destinations/${id}`, { method: "DELETE", headers: admin })).status, 204);

test("a 307 is not followed: the delivery goes dead at once naming the redirect, and its Location gets nothing", async () => {
  behaviour["/moved"] = () => 307;
  await destination("moved", "/moved");
  const event = await confirmedEvent();
  const d = await settled(event, "moved");
  assert.equal(d.status, "dead");
  assert.equal(d.attempts, 1, "not retried");
  assert.equal(d.last_status_code, 307);
  assert.match(d.last_error, /redirect/);
  assert.ok(d.last_error.includes(`http://127.0.0.1:${thiefPort}/steal`), d.last_error);
  await new Promise((r) => setTimeout(r, 300));
  assert.deepEqual(stolen, [], "the signed order never reached the Location");
  await remove("moved");
});

test("410 Gone disables the destination; re-enabled by PUT, replay-dead sends its dead deliveries again with the same webhook-id", async () => {
  let gone = true;
  behaviour["/gone"] = () => (gone ? 410 : 200);
  await destination("leaving", "/gone");
  const first = await confirmedEvent();
  const d = await settled(first, "leaving");
  assert.equal(d.status, "dead");
  assert.equal(d.last_status_code, 410);
  const read = await stack.bo("/admin/v1/destinations/leaving", { headers: admin });
  assert.equal(read.body.enabled, false);
  assert.equal(read.body.disabled_reason, "gone");
  // A disabled destination gets nothing new.
  const second = await confirmedEvent();
  await new Promise((r) => setTimeout(r, 500));
  assert.equal(await deliveryOf(second, "leaving"), null, "no delivery for an event after it was disabled");
  assert.equal(hits.filter((h) => h.path === "/gone").length, 1);
  // Back: enable it (the reason clears) and replay what went dead.
  gone = false;
  const enabled = await destination("leaving", "/gone", { enabled: true });
  assert.equal(enabled.enabled, true);
  assert.equal(enabled.disabled_reason, null);
  const replay = await stack.bo("/admin/v1/destinations/leaving/replay-dead", { method: "POST", headers: admin });
  assert.equal(replay.status, 202, replay.text);
  assert.deepEqual(replay.body, { replayed: 1 });
  const again = await settled(first, "leaving");
  assert.equal(again.status, "delivered");
  assert.equal(again.id, d.id, "the same delivery");
  assert.deepEqual(hits.filter((h) => h.path === "/gone").map((h) => [h.id, h.status]), [[first, 410], [first, 200]]);
  // Nothing dead is left: a second replay-dead replays nothing.
  assert.deepEqual((await stack.bo("/admin/v1/destinations/leaving/replay-dead", { method: "POST", headers: admin })).body, { replayed: 0 });
  envelope(assert, await stack.bo("/admin/v1/destinations/nobody/replay-dead", { method: "POST", headers: admin }), 404, "not_found");
  envelope(assert, await stack.bo("/admin/v1/destinations/leaving/replay-dead", { headers: admin }), 405, "method_not_allowed");
  await remove("leaving");
});

test("DESTINATION_DISABLE_AFTER dead deliveries in a row disable a destination as failing", async () => {
  behaviour["/broken"] = () => 400;
  await destination("broken", "/broken");
  for (let i = 0; i < 3; i++) {
    const event = await confirmedEvent();
    assert.equal((await settled(event, "broken")).status, "dead");
  }
  const listed = await stack.bo("/admin/v1/destinations", { headers: admin });
  const broken = listed.body.data.find((d) => d.id === "broken");
  assert.equal(broken.enabled, false);
  assert.equal(broken.disabled_reason, "failing");
  assert.ok(listed.body.data.every((d) => "disabled_reason" in d), "every destination shows its reason (or null)");
  await remove("broken");
});

test("a delivery needing more attempts than the queue's max_retries is still delivered", async () => {
  behaviour["/flaky"] = (nth) => (nth < 4 ? 503 : 200);
  await destination("flaky", "/flaky");
  const event = await confirmedEvent();
  const d = await settled(event, "flaky");
  assert.equal(d.status, "delivered", `after ${d.attempts} attempts: ${d.last_error}`);
  assert.equal(d.attempts, 5, "four failures, then the fifth attempt delivered");
  await remove("flaky");
});

test("a delivery written but never handed to the queue is delivered by the sweeper", async () => {
  const event = await confirmedEvent(); // before "late" exists: no delivery to it
  await destination("late", "/late");
  // As a failed queue send leaves it: written, pending, never handed over.
  const id = "dlv_0123456789abcdef0123456789abcdef";
  await stack.db
    .prepare("INSERT INTO deliveries (id, event_id, destination_id, status, attempts, created_at, updated_at) VALUES (?1, ?2, 'late', 'pending', 0, ?3, ?3)")
    .bind(id, event, "2026-01-01T00:00:00.000Z")
    .run();
  await (await stack.mf.getWorker("backoffice")).scheduled({ cron: "* * * * *" });
  const swept = await settled(event, "late");
  assert.equal(swept.id, id);
  assert.equal(swept.status, "delivered");
  assert.equal(swept.attempts, 1);
  assert.deepEqual(hits.filter((h) => h.path === "/late").map((h) => h.id), [event]);
  await remove("late");
});

test("destinations are listed with the cursor convention", async () => {
  for (const id of ["page-a", "page-b", "page-c"]) await destination(id, `/${id}`, { enabled: false });
  const seen = [];
  let cursor = null;
  for (let i = 0; i < 10; i++) {
    const res = await stack.bo(`/admin/v1/destinations?limit=2${cursor ? `&cursor=${cursor}` : ""}`, { headers: admin });
    assert.equal(res.status, 200, res.text);
    assert.ok(res.body.data.length <= 2);
    seen.push(...res.body.data.map((d) => d.id));
    cursor = res.body.next_cursor;
    if (!cursor) break;
  }
  assert.deepEqual(seen, [...seen].sort());
  assert.ok(["page-a", "page-b", "page-c"].every((id) => seen.includes(id)));
  assert.equal(new Set(seen).size, seen.length, "no destination twice");
  envelope(assert, await stack.bo("/admin/v1/destinations?cursor=bogus", { headers: admin }), 400, "invalid_parameter");
  for (const id of ["page-a", "page-b", "page-c"]) await remove(id);
});

test("a private address is refused however it is spelled", async () => {
  for (const url of ["https://167772161/hook", "https://0x0a000001/", "https://012.0.0.1/", "https://10.0.0.1./", "https://[::ffff:10.0.0.1]/", "https://[fe80::1]/", "https://0.0.0.0/"]) {
    const res = await stack.bo("/admin/v1/destinations/sneaky", { method: "PUT", headers: admin, json: { url, events: ["*"], enabled: false } });
    assert.equal(envelope(assert, res, 422, "validation_failed").details.field, "url", url);
  }
  const named = await stack.bo("/admin/v1/destinations/fdic", { method: "PUT", headers: admin, json: { url: "https://fdic.example.com/hook", events: ["*"], enabled: false } });
  assert.equal(named.status, 201, named.text);
  await remove("fdic");
});
