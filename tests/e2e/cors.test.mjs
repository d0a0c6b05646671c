// CORS: only the channel's allowed origins get CORS headers, preflight included.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startStack } from "./harness.mjs";

let stack;
before(async () => {
  stack = await startStack();
});
after(() => stack?.dispose());

const ALLOWED = "http://localhost:8789";

test("a preflight from an allowed origin is granted with methods, headers and max-age", async () => {
  const res = await stack.sfRaw("/v1/carts", {
    method: "OPTIONS",
    headers: { Origin: ALLOWED, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "x-publishable-key, content-type" },
  });
  assert.equal(res.status, 204);
  assert.equal(res.headers.get("access-control-allow-origin"), ALLOWED);
  assert.match(res.headers.get("access-control-allow-methods"), /POST/);
  assert.match(res.headers.get("access-control-allow-headers"), /X-Publishable-Key/i);
  assert.match(res.headers.get("access-control-allow-headers"), /Idempotency-Key/i);
  assert.equal(res.headers.get("access-control-max-age"), "600");
  assert.match(res.headers.get("vary"), /Origin/);
});

test("a preflight from any other origin gets no CORS grant", async () => {
  for (const origin of ["https://evil.example", "http://localhost:8790", "null", "https://localhost:8789"]) {
    const res = await stack.sfRaw("/v1/products", {
      method: "OPTIONS",
      headers: { Origin: origin, "Access-Control-Request-Method": "GET" },
    });
    assert.equal(res.status, 204);
    assert.equal(res.headers.get("access-control-allow-origin"), null, origin);
  }
});

test("responses to the channel's origin carry CORS headers, errors included", async () => {
  const ok = await stack.sf("/v1/markets", { headers: { Origin: ALLOWED } });
  assert.equal(ok.headers.get("access-control-allow-origin"), ALLOWED);
  assert.match(ok.headers.get("access-control-expose-headers"), /X-Request-Id/);
  assert.match(ok.headers.get("access-control-expose-headers"), /ETag/);
  const missing = await stack.sf("/v1/products/nope?market=FR", { headers: { Origin: ALLOWED } });
  assert.equal(missing.status, 404);
  assert.equal(missing.headers.get("access-control-allow-origin"), ALLOWED);
});

test("responses to another origin carry no CORS grant", async () => {
  const res = await stack.sf("/v1/markets", { headers: { Origin: "https://evil.example" } });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("access-control-allow-origin"), null);
  assert.match(res.headers.get("vary"), /Origin/);
});

test("an origin allowed for one channel is not allowed for another channel's key", async () => {
  const now = "2026-01-01T00:00:00.000Z";
  // A second channel (kiosk) with its own key and origin; its key digest is SHA-256 of pk_test_kiosk.
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode("pk_test_kiosk"));
  const hex = [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
  await stack.db.batch([
    stack.db.prepare("INSERT INTO channels (id, name, key_hash, key_hint, created_at, updated_at) VALUES ('kiosk', 'Kiosk', ?1, 'iosk', ?2, ?2)").bind(hex, now),
    stack.db.prepare("INSERT INTO channel_markets (channel_id, market_code, position) VALUES ('kiosk', 'US', 0)"),
    stack.db.prepare("INSERT INTO channel_origins (channel_id, origin) VALUES ('kiosk', 'https://kiosk.example')"),
  ]);
  const kiosk = { "X-Publishable-Key": "pk_test_kiosk" };
  const own = await stack.sfRaw("/v1/markets", { headers: { ...kiosk, Origin: "https://kiosk.example" } });
  assert.equal(own.status, 200);
  assert.deepEqual(own.body.data.map((m) => m.code), ["US"]);
  assert.equal(own.headers.get("access-control-allow-origin"), "https://kiosk.example");
  const foreign = await stack.sfRaw("/v1/markets", { headers: { ...kiosk, Origin: ALLOWED } });
  assert.equal(foreign.headers.get("access-control-allow-origin"), null);
  const wrongMarket = await stack.sfRaw("/v1/products?market=FR", { headers: kiosk });
  assert.equal(wrongMarket.status, 400, "FR is not a market of the kiosk channel");
});
