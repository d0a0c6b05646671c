// Stripe payments against a local stand-in for Stripe's API, webhooks signed with the official
// `stripe` package's test helper, and unpaid orders expiring by cron.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import Stripe from "stripe";
import { startStack, envelope, SECRETS } from "./harness.mjs";

let stack;
let stripeApi;
const intents = [];
before(async () => {
  // What Stripe's POST /v1/payment_intents answers, recording what Comptoir sent.
  stripeApi = http.createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      const form = new URLSearchParams(body);
      const id = `pi_test_${intents.length + 1}`;
      intents.push({ path: req.url, auth: req.headers.authorization, key: req.headers["idempotency-key"], form });
      res.writeHead(200, { "Content-Type": "application/json" });
      res.end(JSON.stringify({ id, object: "payment_intent", amount: Number(form.get("amount")), currency: form.get("currency"), client_secret: `${id}_secret_abc` }));
    });
  });
  await new Promise((r) => stripeApi.listen(0, "127.0.0.1", r));
  stack = await startStack({ vars: { STRIPE_API_BASE: `http://127.0.0.1:${stripeApi.address().port}`, UNPAID_ORDER_TTL_SECONDS: "2" } });
});
after(async () => {
  await stack?.dispose();
  stripeApi?.close();
});

const frAddress = { first_name: "Jeanne", last_name: "Martin", line1: "3 rue de la Paix", city: "Paris", postal_code: "75002", country: "FR" };
async function placed(provider, sku = "OIL-500") {
  const cart = (await stack.sf("/v1/carts", { method: "POST", json: { market: "FR" } })).body.id;
  await stack.sf(`/v1/carts/${cart}/lines`, { method: "POST", json: { sku, quantity: 1 } });
  await stack.sf(`/v1/carts/${cart}`, { method: "PATCH", json: { email: "j@example.fr", shipping_address: frAddress, shipping_method: "express" } });
  const res = await stack.sf(`/v1/carts/${cart}/checkout`, { method: "POST", json: { payment_provider: provider }, headers: { "Idempotency-Key": `pay-${cart}` } });
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
