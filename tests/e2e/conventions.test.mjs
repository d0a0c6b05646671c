// API.md conventions on both Workers: health, OpenAPI, error envelope, X-Request-Id,
// Server-Timing, 404/405, and recovery after a panic.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startStack, d1RoundTrips, envelope } from "./harness.mjs";

let stack;
before(async () => {
  stack = await startStack();
});
after(() => stack?.dispose());

for (const worker of ["storefront", "backoffice"]) {
  const call = (p, o) => (worker === "storefront" ? stack.sfRaw(p, o) : stack.bo(p, o));

  test(`${worker}: GET /health answers {"status":"ok"} without credentials`, async () => {
    const res = await call("/health");
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, { status: "ok" });
    assert.match(res.headers.get("content-type"), /^application\/json/);
  });

  test(`${worker}: every response carries a minted X-Request-Id and Server-Timing`, async () => {
    const a = await call("/health");
    const b = await call("/no-such-route");
    for (const res of [a, b]) {
      assert.match(res.headers.get("x-request-id"), /^req_[0-9a-f]{32}$/);
      assert.equal(typeof d1RoundTrips(res.headers), "number");
    }
    assert.notEqual(a.headers.get("x-request-id"), b.headers.get("x-request-id"));
  });

  test(`${worker}: a client's X-Request-Id is echoed, an unsafe one replaced`, async () => {
    const echoed = await call("/health", { headers: { "X-Request-Id": "trace-42.abc:def_1" } });
    assert.equal(echoed.headers.get("x-request-id"), "trace-42.abc:def_1");
    const replaced = await call("/health", { headers: { "X-Request-Id": "<script>alert(1)</script>" } });
    assert.match(replaced.headers.get("x-request-id"), /^req_[0-9a-f]{32}$/);
  });

  test(`${worker}: an unknown route is 404 in the error envelope`, async () => {
    for (const p of ["/nope", "/v1", "/v1/products/", "/admin", "/v2/markets"]) {
      envelope(assert, await call(p), 404, "not_found");
    }
  });

  test(`${worker}: a known route with the wrong method is 405 with Allow`, async () => {
    const res = await call("/health", { method: "POST", json: {} });
    envelope(assert, res, 405, "method_not_allowed");
    assert.equal(res.headers.get("allow"), "GET");
  });

  // workerd itself answers 501 to methods it does not know; QUERY and PROPFIND reach the Worker,
  // where workers-rs would turn them into GET.
  test(`${worker}: a method workers-rs does not know (QUERY, PROPFIND) is 405, not a GET`, async () => {
    for (const method of ["QUERY", "PROPFIND"]) {
      const res = await call("/health", { method });
      envelope(assert, res, 405, "method_not_allowed");
      assert.equal(res.headers.get("allow"), "GET");
    }
  });

  test(`${worker}: a panic answers the 500 envelope without internals and the next request works`, async () => {
    const boom = await call("/__test/panic", { headers: { "X-Request-Id": "panic-1" } });
    envelope(assert, boom, 500, "internal");
    assert.equal(boom.headers.get("x-request-id"), "panic-1");
    assert.ok(!/panic|deliberate|wasm|unreachable/i.test(boom.text), `leaks internals: ${boom.text}`);
    for (let i = 0; i < 3; i++) {
      const ok = await call("/health");
      assert.equal(ok.status, 200);
      assert.deepEqual(ok.body, { status: "ok" });
    }
  });
}

test("GET /openapi.json: each Worker describes only its own routes", async () => {
  const sf = await stack.sfRaw("/openapi.json");
  const bo = await stack.bo("/openapi.json");
  assert.equal(sf.status, 200);
  assert.equal(bo.status, 200);
  assert.equal(sf.body.openapi, "3.1.0");
  for (const p of ["/health", "/openapi.json", "/v1/markets", "/v1/products", "/v1/products/{handle}"]) {
    assert.ok(sf.body.paths[p], `storefront describes ${p}`);
  }
  assert.ok(!Object.keys(sf.body.paths).some((p) => p.startsWith("/admin")), "no admin path in the storefront document");
  assert.ok(!JSON.stringify(sf.body).includes("adminToken"), "no admin security scheme in the storefront document");
  assert.ok(!Object.keys(bo.body.paths).some((p) => p.startsWith("/v1/")), "no storefront path in the back-office document");
  assert.deepEqual(sf.body.tags.map((t) => t.name), ["storefront"]);
  assert.deepEqual(bo.body.tags.map((t) => t.name), ["back-office"]);
});

test("the storefront serves no admin route: /admin paths are a plain 404", async () => {
  for (const p of ["/admin/v1/markets/FR", "/admin/v1/orders", "/admin/v1/destinations/x"]) {
    const res = await stack.sf(p, { method: "PUT", json: { currency: "EUR" } });
    envelope(assert, res, 404, "not_found");
  }
});
