// Cart expiry (and its purge by the back-office cron) and the per-IP rate limit on creation.
import { test } from "node:test";
import assert from "node:assert/strict";
import { startStack, envelope } from "./harness.mjs";

test("an expired cart refuses changes with 409, shows as expired, and the cron purges it", async () => {
  const stack = await startStack({ vars: { CART_TTL_SECONDS: "1" } });
  try {
    const cart = (await stack.sf("/v1/carts", { method: "POST", json: { market: "FR" } })).body;
    await new Promise((r) => setTimeout(r, 1200));
    envelope(assert, await stack.sf(`/v1/carts/${cart.id}/lines`, { method: "POST", json: { sku: "MUG-350" } }), 409, "cart_not_active");
    envelope(assert, await stack.sf(`/v1/carts/${cart.id}`, { method: "PATCH", json: { note: "late" } }), 409, "cart_not_active");
    const shown = await stack.sf(`/v1/carts/${cart.id}`);
    assert.equal(shown.body.status, "expired");
    const worker = await stack.mf.getWorker("backoffice");
    await worker.scheduled({ cron: "* * * * *" });
    envelope(assert, await stack.sf(`/v1/carts/${cart.id}`), 404, "not_found");
  } finally {
    await stack.dispose();
  }
});

test("cart creation is rate limited per client with 429 and Retry-After", async () => {
  const stack = await startStack({ rateLimits: { CART_RATE_LIMITER: 3 } });
  try {
    const statuses = [];
    let last;
    for (let i = 0; i < 5; i++) {
      last = await stack.sf("/v1/carts", { method: "POST", json: { market: "FR" } });
      statuses.push(last.status);
    }
    assert.deepEqual(statuses.slice(0, 3), [201, 201, 201]);
    const limited = envelope(assert, last, 429, "rate_limited");
    assert.ok(limited);
    assert.match(last.headers.get("retry-after"), /^\d+$/);
    assert.equal((await stack.sf("/v1/markets")).status, 200, "other routes are not limited");
  } finally {
    await stack.dispose();
  }
});

test("discount-code attempts are rate limited per cart and per client", async () => {
  const stack = await startStack({ rateLimits: { CODE_CART_RATE_LIMITER: 3, CODE_CLIENT_RATE_LIMITER: 5 } });
  try {
    const client = (ip) => ({ "CF-Connecting-IP": ip });
    const newCart = async (ip) => (await stack.sf("/v1/carts", { method: "POST", json: { market: "FR" }, headers: client(ip) })).body.id;
    const attempt = (cart, code, ip) => stack.sf(`/v1/carts/${cart}/discount-codes`, { method: "POST", json: { code }, headers: client(ip) });
    // Per cart: three guesses, then 429, whoever guesses.
    const cart = await newCart("198.51.100.1");
    const guesses = [];
    for (const code of ["AAAA1", "AAAA2", "AAAA3", "AAAA4"]) guesses.push((await attempt(cart, code, "198.51.100.1")).status);
    assert.deepEqual(guesses, [422, 422, 422, 429]);
    await stack.sf(`/v1/carts/${cart}/lines`, { method: "POST", json: { sku: "MUG-350", quantity: 2 } });
    const limited = await attempt(cart, "WELCOME10", "198.51.100.2");
    envelope(assert, limited, 429, "rate_limited");
    assert.match(limited.headers.get("retry-after"), /^\d+$/);
    assert.deepEqual((await stack.sf(`/v1/carts/${cart}`)).body.discount_codes, [], "the real code was not applied either");
    // Per client: guessing across many carts stops at the client's limit.
    const statuses = [];
    for (let i = 0; i < 4; i++) {
      const other = await newCart("198.51.100.3");
      statuses.push((await attempt(other, `BBBB${i}`, "198.51.100.3")).status, (await attempt(other, `CCCC${i}`, "198.51.100.3")).status);
    }
    assert.deepEqual(statuses, [422, 422, 422, 422, 422, 429, 429, 429]);
    // Another client and another cart are not affected.
    const fresh = await newCart("198.51.100.4");
    await stack.sf(`/v1/carts/${fresh}/lines`, { method: "POST", json: { sku: "MUG-350", quantity: 2 } });
    assert.equal((await attempt(fresh, "WELCOME10", "198.51.100.4")).status, 200);
  } finally {
    await stack.dispose();
  }
});

test("requests with made-up publishable keys are rate limited per client; a real key is not", async () => {
  const stack = await startStack({ rateLimits: { UNKNOWN_KEY_RATE_LIMITER: 3 } });
  try {
    const from = (ip, key) => stack.sfRaw("/v1/markets", { headers: { "CF-Connecting-IP": ip, ...(key ? { "X-Publishable-Key": key } : {}) } });
    const statuses = [];
    for (const key of ["pk_made_up_1", "pk_made_up_2", undefined, "not-a-key", "pk_made_up_5"]) statuses.push((await from("203.0.113.7", key)).status);
    assert.deepEqual(statuses, [401, 401, 401, 429, 429]);
    envelope(assert, await from("203.0.113.7", "pk_made_up_6"), 429, "rate_limited");
    assert.equal((await from("203.0.113.7", "pk_demo_web")).status, 200, "the channel's own key still works");
    envelope(assert, await from("203.0.113.8", "pk_made_up_1"), 401, "unauthorized");
  } finally {
    await stack.dispose();
  }
});
