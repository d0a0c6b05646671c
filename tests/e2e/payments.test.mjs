// Stripe payments against a local stand-in for Stripe's API, webhooks signed with the official
// `stripe` package's test helper, and unpaid orders expiring by cron. The stand-in can fail
// (500), hang past PAYMENT_PROVIDER_TIMEOUT_MS, or sell the stock while it answers.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import Stripe from "stripe";
import { startStack, envelope, d1RoundTrips, SECRETS } from "./harness.mjs";

const TIMEOUT_MS = 1000;
let stack;
let stripeApi;
const intents = [];
const canceled = [];
/** How the stand-in answers POST /v1/payment_intents: "ok", "fail", "hang" or a function run first. */
let stripeMode = "ok";
const hanging = [];
before(async () => {
  // What Stripe's API answers, recording what Comptoir sent.
  stripeApi = http.createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", async () => {
      const cancel = req.url.match(/^\/v1\/payment_intents\/([^/]+)\/cancel$/);
      if (cancel) {
        canceled.push(cancel[1]);
        res.writeHead(200, { "Content-Type": "application/json" });
        return res.end(JSON.stringify({ id: cancel[1], object: "payment_intent", status: "canceled" }));
      }
      if (stripeMode === "fail") {
        res.writeHead(500, { "Content-Type": "application/json" });
        return res.end(JSON.stringify({ error: { type: "api_error", message: "Stripe is down" } }));
      }
      if (stripeMode === "hang") return hanging.push(res);
      if (typeof stripeMode === "function") await stripeMode();
      const form = new URLSearchParams(body);
      const id = `pi_test_${intents.length + 1}`;
      intents.push({ path: req.url, auth: req.headers.authorization, key: req.headers["idempotency-key"], form, id });
      res.writeHead(200, { "Content-Type": "application/json" });
      res.end(JSON.stringify({ id, object: "payment_intent", amount: Number(form.get("amount")), currency: form.get("currency"), client_secret: `${id}_secret_abc` }));
    });
  });
  await new Promise((r) => stripeApi.listen(0, "127.0.0.1", r));
  stack = await startStack({
    vars: {
      STRIPE_API_BASE: `http://127.0.0.1:${stripeApi.address().port}`,
      UNPAID_ORDER_TTL_SECONDS: "2",
      PAYMENT_PROVIDER_TIMEOUT_MS: String(TIMEOUT_MS),
      // Shorter than the provider's timeout: a Stripe checkout's claim must hold longer.
      IDEMPOTENCY_LEASE_SECONDS: "0.2",
    },
  });
});
after(async () => {
  await stack?.dispose();
  for (const res of hanging) res.destroy();
  stripeApi?.close();
});

const frAddress = { first_name: "Jeanne", last_name: "Martin", line1: "3 rue de la Paix", city: "Paris", postal_code: "75002", country: "FR" };
async function readyCart(sku = "OIL-500") {
  const cart = (await stack.sf("/v1/carts", { method: "POST", json: { market: "FR" } })).body.id;
  await stack.sf(`/v1/carts/${cart}/lines`, { method: "POST", json: { sku, quantity: 1 } });
  await stack.sf(`/v1/carts/${cart}`, { method: "PATCH", json: { email: "j@example.fr", shipping_address: frAddress, shipping_method: "express" } });
  return cart;
}
const checkout = (cart, provider, key = `pay-${cart}`) =>
  stack.sf(`/v1/carts/${cart}/checkout`, { method: "POST", json: { payment_provider: provider }, headers: { "Idempotency-Key": key } });
async function placed(provider, sku = "OIL-500") {
  const res = await checkout(await readyCart(sku), provider);
  assert.equal(res.status, 201, res.text);
  return res.body;
}
const stripe = new Stripe("sk_test_unused");
function signed(event, { secret = SECRETS.STRIPE_WEBHOOK_SECRET, timestamp } = {}) {
  const payload = JSON.stringify(event);
  const header = stripe.webhooks.generateTestHeaderString({ payload, secret, ...(timestamp ? { timestamp } : {}) });
  return { body: payload, headers: { "Stripe-Signature": header, "Content-Type": "application/json" } };
}
const succeeded = (order, overrides = {}) => ({
  id: `evt_${Math.random().toString(16).slice(2)}`,
  type: "payment_intent.succeeded",
  data: { object: { id: order.payment_reference, object: "payment_intent", amount: Number(order.totals.total.amount.replace(".", "")), currency: "eur", metadata: { order_id: order.id }, ...overrides } },
});
const webhook = (req) => stack.sfRaw("/v1/payments/stripe/webhook", { method: "POST", ...req });
const orderRow = (id) => stack.db.prepare("SELECT status, payment_status, payment_reference, last_sequence FROM orders WHERE id = ?1").bind(id).first();

test("a stripe checkout creates a PaymentIntent for the order total and returns its client secret", async () => {
  const { order, payment } = await placed("stripe");
  const sent = intents.at(-1);
  assert.equal(sent.path, "/v1/payment_intents");
  assert.equal(sent.auth, `Bearer ${SECRETS.STRIPE_SECRET_KEY}`);
  assert.equal(sent.key, order.id, "idempotent on the order id");
  assert.equal(sent.form.get("amount"), order.totals.total.amount.replace(".", ""));
  assert.equal(sent.form.get("currency"), "eur");
  assert.equal(sent.form.get("metadata[order_id]"), order.id);
  assert.equal(payment.provider, "stripe");
  assert.match(payment.client_secret, /^pi_test_\d+_secret_abc$/);
  assert.equal((await orderRow(order.id)).payment_reference, `pi_test_${intents.length}`, "the intent is stored on the order");
});

test("payment_intent.succeeded confirms the order once; a redelivery changes nothing", async () => {
  const { order } = await placed("stripe");
  const row = await orderRow(order.id);
  const event = succeeded({ ...order, payment_reference: row.payment_reference });
  const first = await webhook(signed(event));
  assert.equal(first.status, 200, first.text);
  const after = await orderRow(order.id);
  assert.deepEqual([after.status, after.payment_status, after.last_sequence], ["confirmed", "paid", 2]);
  const again = await webhook(signed(event));
  assert.equal(again.status, 200);
  assert.deepEqual(await orderRow(order.id), after, "the same event id is handled once");
  const confirmed = await stack.db.prepare("SELECT COUNT(*) AS n FROM outbox WHERE aggregate = ?1 AND type = 'order.confirmed'").bind(order.id).first();
  assert.equal(confirmed.n, 1);
});

test("bad, stale or foreign signatures are 400 invalid_signature and change nothing", async () => {
  const { order } = await placed("stripe");
  const row = await orderRow(order.id);
  const event = succeeded({ ...order, payment_reference: row.payment_reference });
  envelope(assert, await webhook(signed(event, { secret: "whsec_not_ours" })), 400, "invalid_signature");
  envelope(assert, await webhook(signed(event, { timestamp: Math.floor(Date.now() / 1000) - 301 })), 400, "invalid_signature");
  envelope(assert, await webhook({ body: JSON.stringify(event), headers: { "Content-Type": "application/json" } }), 400, "invalid_signature");
  // Stripe sends JSON: a validly signed body of another media type is refused as such.
  const asText = signed(event);
  envelope(assert, await webhook({ ...asText, headers: { ...asText.headers, "Content-Type": "text/plain" } }), 415, "unsupported_media_type");
  const tampered = signed(event);
  tampered.body = tampered.body.replace(`"amount":`, `"amount":1`);
  envelope(assert, await webhook(tampered), 400, "invalid_signature");
  assert.deepEqual(await orderRow(order.id), row);
});

test("a payment whose amount or currency does not match the order does not confirm it", async () => {
  const { order } = await placed("stripe");
  const row = await orderRow(order.id);
  const wrong = succeeded({ ...order, payment_reference: row.payment_reference }, { amount: 1 });
  assert.equal((await webhook(signed(wrong))).status, 200);
  assert.equal((await orderRow(order.id)).status, "pending_payment");
  const other = { ...succeeded({ ...order, payment_reference: row.payment_reference }), type: "charge.refunded" };
  assert.equal((await webhook(signed(other))).status, 200, "unhandled event types answer 200");
});

test("an unpaid order past its deadline is canceled by the cron and its stock released", async () => {
  const before = await stack.db.prepare("SELECT reserved FROM inventory WHERE sku = 'PRESS-1L'").first();
  const { order } = await placed("manual", "PRESS-1L");
  await new Promise((r) => setTimeout(r, 2200));
  await (await stack.mf.getWorker("backoffice")).scheduled({ cron: "* * * * *" });
  const row = await stack.db.prepare("SELECT status, payment_status, cancel_reason FROM orders WHERE id = ?1").bind(order.id).first();
  assert.deepEqual(row, { status: "canceled", payment_status: "voided", cancel_reason: "payment_timeout" });
  assert.deepEqual(await stack.db.prepare("SELECT reserved FROM inventory WHERE sku = 'PRESS-1L'").first(), before);
  const canceled = await stack.db.prepare("SELECT payload FROM outbox WHERE aggregate = ?1 AND type = 'order.canceled'").bind(order.id).first();
  assert.equal(JSON.parse(canceled.payload).data.cancel_reason, "payment_timeout");
});

/** What a checkout leaves behind: the orders of the cart, the SKU's stock, the cart as shown. */
async function traces(cart, sku = "OIL-500") {
  const orders = await stack.db.prepare("SELECT COUNT(*) AS n FROM orders WHERE cart_id = ?1").bind(cart).first();
  const stock = await stack.db.prepare("SELECT on_hand, reserved FROM inventory WHERE sku = ?1").bind(sku).first();
  const shown = await stack.sf(`/v1/carts/${cart}`);
  return { orders: orders.n, stock, status: shown.body.status, version: shown.body.version };
}

test("a Stripe outage (500, or no answer within PAYMENT_PROVIDER_TIMEOUT_MS) is 503 and leaves the cart as it was; the same key then places the order once", async () => {
  const cart = await readyCart();
  const before = await traces(cart);
  assert.deepEqual([before.orders, before.status], [0, "active"]);
  try {
    stripeMode = "fail";
    const failed = await checkout(cart, "stripe");
    assert.match(envelope(assert, failed, 503, "unavailable").message, /payment provider/);
    assert.match(failed.headers.get("retry-after") ?? "", /^\d+$/);
    assert.deepEqual(await traces(cart), before, "no order, no reservation, the cart active at the same version");

    stripeMode = "hang";
    const started = Date.now();
    const pending = checkout(cart, "stripe");
    // Past IDEMPOTENCY_LEASE_SECONDS but within the provider's timeout: the key is still held.
    await new Promise((r) => setTimeout(r, TIMEOUT_MS / 2));
    envelope(assert, await checkout(cart, "stripe"), 409, "idempotency_in_progress");
    const hung = await pending;
    const waited = Date.now() - started;
    envelope(assert, hung, 503, "unavailable");
    assert.ok(waited >= TIMEOUT_MS - 50 && waited < TIMEOUT_MS + 4000, `answered after ${waited} ms`);
    assert.deepEqual(await traces(cart), before);
  } finally {
    stripeMode = "ok";
  }
  const res = await checkout(cart, "stripe");
  assert.equal(res.status, 201, res.text);
  assert.equal(d1RoundTrips(res.headers), 2, "claim + cart read, then the order with its PaymentIntent id keeping the answer");
  assert.equal((await stack.db.prepare("SELECT payment_reference FROM orders WHERE id = ?1").bind(res.body.order.id).first()).payment_reference, intents.at(-1).id);
  const replay = await checkout(cart, "stripe");
  assert.equal(replay.status, 201);
  assert.equal(replay.headers.get("idempotent-replayed"), "true");
  assert.equal(replay.body.order.id, res.body.order.id);
  const now = await traces(cart);
  assert.deepEqual([now.orders, now.status, now.stock.reserved], [1, "checked_out", before.stock.reserved + 1]);
});

test("an order refused after its PaymentIntent was created (stock sold meanwhile) cancels the intent", async () => {
  const cart = await readyCart("PRESS-1L");
  const stock = await stack.db.prepare("SELECT on_hand, reserved FROM inventory WHERE sku = 'PRESS-1L'").first();
  stripeMode = () => stack.db.prepare("UPDATE inventory_levels SET reserved = on_hand WHERE location = 'main' AND sku = 'PRESS-1L'").run();
  let res;
  try {
    res = await checkout(cart, "stripe");
  } finally {
    stripeMode = "ok";
    await stack.db.prepare("UPDATE inventory_levels SET on_hand = ?1, reserved = ?2 WHERE location = 'main' AND sku = 'PRESS-1L'").bind(stock.on_hand, stock.reserved).run();
  }
  const err = envelope(assert, res, 422, "insufficient_stock");
  assert.equal(err.details.sku, "PRESS-1L");
  const intent = intents.at(-1);
  assert.equal(intent.form.get("metadata[order_id]").slice(0, 4), "ord_");
  for (let i = 0; i < 50 && !canceled.includes(intent.id); i++) await new Promise((r) => setTimeout(r, 20));
  assert.ok(canceled.includes(intent.id), `canceled ${JSON.stringify(canceled)}, created ${intent.id}`);
  assert.equal((await traces(cart, "PRESS-1L")).orders, 0);
});

test("payment_intent.succeeded naming another PaymentIntent than the order's, or for a manual order, confirms nothing", async () => {
  const { order } = await placed("stripe");
  const row = await orderRow(order.id);
  const foreign = succeeded({ ...order, payment_reference: "pi_someone_elses" });
  assert.equal(foreign.data.object.metadata.order_id, order.id, "right order, amount and currency");
  assert.equal((await webhook(signed(foreign))).status, 200);
  assert.deepEqual(await orderRow(order.id), row);

  const manual = (await placed("manual")).order;
  const manualRow = await orderRow(manual.id);
  assert.equal(manualRow.payment_reference, null);
  for (const id of ["pi_any", undefined]) {
    const event = succeeded({ ...manual, payment_reference: id });
    assert.equal((await webhook(signed(event))).status, 200);
  }
  assert.deepEqual(await orderRow(manual.id), manualRow, "a manual order waits for the back office");
});
