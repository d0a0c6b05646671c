// No secret, and no credential a client sent, ever appears in a log line or a response body —
// including on the paths that fail and log (bad tokens, bad signatures, panics, Stripe down).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { SignJWT } from "jose";
import { startStack, SECRETS } from "./harness.mjs";
import { adminToken, bearer } from "./tokens.mjs";

let stack;
const bodies = [];
before(async () => {
  // Stripe's API points at a closed port: the PaymentIntent call fails and is logged.
  stack = await startStack({ captureLogs: true, vars: { STRIPE_API_BASE: "http://127.0.0.1:9" } });
});
after(() => stack?.dispose());

async function record(pending) {
  const res = await pending;
  bodies.push(res.text);
  return res;
}

test("failing paths log their causes without secrets or client credentials", async () => {
  const forged = await adminToken({ scope: "catalog:write", secret: "attacker-secret-0123456789abcdef-xyz" });
  const good = await adminToken({ scope: "catalog:write orders:write" });
  const customer = await new SignJWT({}).setProtectedHeader({ alg: "HS256" }).setSubject("cus_x").setExpirationTime("5m").sign(new TextEncoder().encode(SECRETS.CUSTOMER_JWT_SECRET));

  await record(stack.bo("/admin/v1/markets/FR", { headers: bearer(forged) }));
  await record(stack.bo("/admin/v1/markets/FR", { method: "PUT", headers: bearer(good), json: { currency: "EUR" } }));
  await record(stack.bo("/__test/panic"));
  await record(stack.sfRaw("/__test/panic"));
  await record(stack.sfRaw("/v1/payments/stripe/webhook", { method: "POST", body: "{}", headers: { "Content-Type": "application/json", "Stripe-Signature": "t=1,v1=00" } }));
  const cart = (await record(stack.sf("/v1/carts", { method: "POST", json: { market: "FR" } }))).body.id;
  await record(stack.sf(`/v1/carts/${cart}/lines`, { method: "POST", json: { sku: "MUG-350" } }));
  await record(stack.sf(`/v1/carts/${cart}/customer`, { method: "POST", headers: { Authorization: `Bearer ${customer}` } }));
  await record(stack.sf(`/v1/carts/${cart}`, { method: "PATCH", json: { email: "a@b.co", shipping_method: "standard", shipping_address: { first_name: "A", last_name: "B", line1: "1 rue", city: "Paris", postal_code: "75001", country: "FR" } } }));
  const stripe = await record(stack.sf(`/v1/carts/${cart}/checkout`, { method: "POST", json: { payment_provider: "stripe" }, headers: { "Idempotency-Key": "secret-scan" } }));
  assert.equal(stripe.status, 503, "Stripe unreachable: the client gets 503");
  await new Promise((r) => setTimeout(r, 300));

  const logs = stack.logs();
  assert.match(logs, /panicked/, "the logs were captured");
  assert.match(logs, /Stripe PaymentIntent failed/, "the Stripe failure was logged");
  const secrets = Object.entries(SECRETS).filter(([, v]) => v.length >= 8);
  assert.ok(secrets.length >= 5);
  for (const [name, value] of secrets) {
    assert.ok(!logs.includes(value), `${name} appears in the logs`);
    for (const body of bodies) assert.ok(!body.includes(value), `${name} appears in a response body`);
  }
  for (const [name, credential] of [["a forged admin token", forged], ["an admin token", good], ["a customer token", customer]]) {
    assert.ok(!logs.includes(credential), `${name} appears in the logs`);
  }
});
