// The production guard (API.md Hardening rules): with ENVIRONMENT=production, a Worker whose
// secrets are the repository's example values, or too short, serves nothing: GET /health
// answers 503 misconfigured naming each variable (never its value), every other route 503.
import { test } from "node:test";
import assert from "node:assert/strict";
import crypto from "node:crypto";
import { startStack, envelope, SECRETS } from "./harness.mjs";
import { adminToken, bearer } from "./tokens.mjs";

const strong = () => crypto.randomBytes(32).toString("base64url");

test("production with the example secrets: /health names every weak secret, every other route is 503", async () => {
  const stack = await startStack({ captureLogs: true, vars: { ENVIRONMENT: "production" } });
  try {
    const sf = await stack.sfRaw("/health");
    assert.equal(sf.status, 503);
    assert.equal(sf.body.status, "misconfigured");
    const named = sf.body.problems.map((p) => p.split(":")[0]).sort();
    assert.deepEqual(named, ["CUSTOMER_JWT_SECRET", "ORDER_TOKEN_SECRET", "STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET"]);
    const bo = await stack.bo("/health");
    assert.equal(bo.status, 503);
    // The back office sends refunds and draft orders' PaymentIntents to Stripe, and signs a
    // completed draft's order token: it holds STRIPE_SECRET_KEY and ORDER_TOKEN_SECRET too.
    assert.deepEqual(bo.body.problems.map((p) => p.split(":")[0]).sort(), ["ADMIN_JWT_SECRET", "ORDER_TOKEN_SECRET", "STRIPE_SECRET_KEY"]);
    assert.match(bo.body.problems[0], /^ADMIN_JWT_SECRET: is the example value from \.dev\.vars\.example/);
    for (const value of Object.values(SECRETS)) {
      assert.ok(!sf.text.includes(value) && !bo.text.includes(value), "no secret value is shown");
      assert.ok(!stack.logs().includes(value), "nor logged");
    }
    // Nothing else is served, not even with valid credentials.
    envelope(assert, await stack.sf("/v1/markets"), 503, "unavailable");
    envelope(assert, await stack.sf("/v1/carts", { method: "POST", json: { market: "FR" } }), 503, "unavailable");
    envelope(assert, await stack.sfRaw("/openapi.json"), 503, "unavailable");
    envelope(assert, await stack.bo("/admin/v1/orders", { headers: bearer(await adminToken({ scope: "orders:read" })) }), 503, "unavailable");
    const carts = (await stack.db.prepare("SELECT COUNT(*) AS n FROM carts").first()).n;
    assert.equal(carts, 0, "nothing was written");
  } finally {
    await stack.dispose();
  }
});

test("production with a short secret names it; with strong secrets everything is served", async () => {
  const secrets = { ADMIN_JWT_SECRET: strong(), CUSTOMER_JWT_SECRET: strong(), STRIPE_WEBHOOK_SECRET: `whsec_${strong()}`, STRIPE_SECRET_KEY: `sk_live_${strong()}`, ORDER_TOKEN_SECRET: strong() };
  const short = await startStack({ vars: { ENVIRONMENT: "production", ...secrets, ORDER_TOKEN_SECRET: "short-secret" } });
  try {
    const health = await short.sfRaw("/health");
    assert.equal(health.status, 503);
    assert.deepEqual(health.body.problems, ["ORDER_TOKEN_SECRET: is 12 bytes; use at least 32 random bytes"]);
    // The back office signs the order token of a completed draft with it too.
    assert.deepEqual((await short.bo("/health")).body.problems, ["ORDER_TOKEN_SECRET: is 12 bytes; use at least 32 random bytes"]);
  } finally {
    await short.dispose();
  }
  const good = await startStack({ vars: { ENVIRONMENT: "production", ...secrets } });
  try {
    assert.deepEqual((await good.sfRaw("/health")).body, { status: "ok" });
    assert.deepEqual((await good.bo("/health")).body, { status: "ok" });
    assert.equal((await good.sf("/v1/markets")).status, 200);
    const admin = bearer(await adminToken({ scope: "orders:read", secret: secrets.ADMIN_JWT_SECRET }));
    assert.equal((await good.bo("/admin/v1/orders", { headers: admin })).status, 200);
  } finally {
    await good.dispose();
  }
});
