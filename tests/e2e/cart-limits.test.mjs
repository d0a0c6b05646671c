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
