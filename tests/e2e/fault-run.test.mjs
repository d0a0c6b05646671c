// Nothing lost under faults (issue 14): 200 orders placed and confirmed while, in both Workers
// and in every invocation (requests, queue batches, cron ticks), one D1 round trip in 20 and
// one queue send in 5 fail at random (the test build's COMPTOIR_TEST_FAULTS seam). Clients
// retry what failed with the same Idempotency-Key, the cron runs as it would; in the end every
// event reaches a receiver that deduplicates by webhook-id exactly once, and no delivery is
// left pending. The receiver listens on 127.0.0.1.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import { Webhook } from "standardwebhooks";
import { startStack } from "./harness.mjs";
import { adminToken, bearer } from "./tokens.mjs";

const ORDERS = 200;
const PARALLEL = 8;
let stack;
let admin;
let receiver;
let secret;
const processed = new Map(); // webhook-id → times its POST verified (a deduplicating receiver processes the first)
let posts = 0;

before(async () => {
  receiver = http.createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      posts += 1;
      try {
        new Webhook(secret).verify(body, req.headers);
      } catch {
        res.writeHead(400).end();
        return;
      }
      const id = req.headers["webhook-id"];
      processed.set(id, (processed.get(id) ?? 0) + 1);
      res.writeHead(204).end();
    });
  });
  await new Promise((r) => receiver.listen(0, "127.0.0.1", r));
  stack = await startStack({
    faults: true,
    captureLogs: true,
    vars: {
      COMPTOIR_TEST_FAULTS: "d1=20,queue=5,seed=20261129",
      DELIVERY_RETRY_BASE_SECONDS: "1",
      DELIVERY_MAX_ATTEMPTS: "8",
      OUTBOX_SWEEP_AFTER_SECONDS: "0",
      IDEMPOTENCY_LEASE_SECONDS: "1",
      PAYMENT_PROVIDER_TIMEOUT_MS: "500",
    },
  });
  admin = bearer(await adminToken({ scope: "destinations:write orders:write inventory:write" }));
});
after(async () => {
  await stack?.dispose();
  receiver?.close();
});

/** A client that retries what D1 or the queue made fail (503, or 409 while a key's lease runs). */
async function retried(call, ok) {
  for (let attempt = 1; attempt <= 60; attempt++) {
    const res = await call();
    if (ok.includes(res.status)) return res;
    if (res.status !== 503 && !(res.status === 409 && res.body?.error?.code === "idempotency_in_progress")) {
      assert.fail(`unexpected ${res.status}: ${res.text}`);
    }
    await new Promise((r) => setTimeout(r, res.status === 409 ? 300 : 20));
  }
  assert.fail("still failing after 60 tries");
}

const frAddress = { first_name: "Jeanne", last_name: "Martin", line1: "3 rue de la Paix", city: "Paris", postal_code: "75002", country: "FR" };

async function placeAndConfirm(n) {
  const key = (step) => ({ "Idempotency-Key": `run-${n}-${step}` });
  const cart = (await retried(() => stack.sf("/v1/carts", { method: "POST", json: { market: "FR" }, headers: key("cart") }), [201])).body.id;
  await retried(() => stack.sf(`/v1/carts/${cart}/lines`, { method: "POST", json: { sku: "TOWEL-2", quantity: 1 }, headers: key("line") }), [200]);
  await retried(() => stack.sf(`/v1/carts/${cart}`, { method: "PATCH", json: { email: `run${n}@example.fr`, shipping_address: frAddress, shipping_method: "standard" } }), [200]);
  const order = (await retried(() => stack.sf(`/v1/carts/${cart}/checkout`, { method: "POST", json: { payment_provider: "manual" }, headers: key("checkout") }), [201])).body.order;
  await retried(() => stack.bo(`/admin/v1/orders/${order.id}/mark-paid`, { method: "POST", headers: { ...admin, ...key("paid") } }), [200]);
  return order.id;
}

test(`${ORDERS} orders under injected D1 and queue failures: every event reaches the receiver exactly once`, { timeout: 600_000 }, async () => {
  const created = await retried(
    () => stack.bo("/admin/v1/destinations/dedup", { method: "PUT", headers: admin, json: { url: `http://127.0.0.1:${receiver.address().port}/hook`, events: ["*"] } }),
    [200, 201],
  );
  secret = created.body.secret ?? secret;
  assert.ok(secret, "the destination's secret was shown");
  await retried(() => stack.bo("/admin/v1/inventory/TOWEL-2", { method: "PUT", headers: admin, json: { on_hand: 100_000 } }), [200, 201]);

  const started = Date.now();
  const orders = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: PARALLEL }, async () => {
      while (next < ORDERS) orders.push(await placeAndConfirm(next++));
    }),
  );
  assert.equal(new Set(orders).size, ORDERS);

  // The cron runs (every minute in production; here as fast as the test likes) until every
  // event has reached the receiver and no delivery is pending.
  const backoffice = await stack.mf.getWorker("backoffice");
  const events = async () => (await stack.sql("SELECT id FROM outbox")).map((r) => r.id);
  const pending = async () => (await stack.sql("SELECT COUNT(*) AS n FROM deliveries WHERE status <> 'delivered'"))[0].n;
  const deadline = Date.now() + 240_000;
  let all = await events();
  while (Date.now() < deadline) {
    all = await events();
    if (all.every((id) => processed.has(id)) && (await pending()) === 0) break;
    await backoffice.scheduled({ cron: "* * * * *" }).catch(() => {});
    await new Promise((r) => setTimeout(r, 500));
  }

  const orderEvents = (await stack.sql("SELECT COUNT(*) AS n FROM outbox WHERE aggregate IN (SELECT id FROM orders)"))[0].n;
  assert.equal(orderEvents, ORDERS * 2, "order.placed and order.confirmed for each order");
  const missing = all.filter((id) => !processed.has(id));
  assert.deepEqual(missing, [], "no event lost");
  assert.equal(processed.size, all.length, "nothing the receiver got is not an event");
  const rows = (await stack.sql("SELECT status, COUNT(*) AS n FROM deliveries GROUP BY status"));
  assert.deepEqual(rows, [{ status: "delivered", n: all.length }], "one delivery per event, all delivered");

  const logs = stack.logs();
  const d1Faults = (logs.match(/\[fault\] d1/g) ?? []).length;
  const queueFaults = (logs.match(/\[fault\] queue/g) ?? []).length;
  const duplicates = [...processed.values()].reduce((sum, n) => sum + n - 1, 0);
  console.log(
    `fault run: ${ORDERS} orders, ${all.length} events, ${d1Faults} D1 round trips and ${queueFaults} queue sends failed on purpose; ` +
      `${posts} POSTs, ${duplicates} duplicates deduplicated by webhook-id, ${missing.length} lost, in ${Math.round((Date.now() - started) / 1000)} s`,
  );
  assert.ok(d1Faults > 50, `D1 failures were injected (${d1Faults})`);
  assert.ok(queueFaults > 50, `queue failures were injected (${queueFaults})`);
});
