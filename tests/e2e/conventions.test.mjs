// API.md conventions on both Workers: health, OpenAPI, error envelope, X-Request-Id,
// Server-Timing, 404/405, recovery after a panic, and body limits that hold for streamed bodies.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import Stripe from "stripe";
import { startStack, d1RoundTrips, envelope, SECRETS } from "./harness.mjs";
import { adminToken, bearer } from "./tokens.mjs";

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

// Bodies streamed the way node's fetch sends a ReadableStream: chunked, no Content-Length.
const KiB = 1024;
const MiB = 1024 * KiB;
const CHUNK = 16 * KiB;

/** `json` as text padded with trailing spaces (still the same JSON) to exactly `size` bytes. */
function padded(json, size) {
  const text = typeof json === "string" ? json : JSON.stringify(json);
  assert.ok(Buffer.byteLength(text) <= size);
  return text + " ".repeat(size - Buffer.byteLength(text));
}

/**
 * `text` as a stream of 16 KiB chunks, made as fetch pulls them. With `stall`, the stream never
 * ends after its last chunk: an answer can then only come from a Worker that stopped reading
 * (a Worker reading to the end would wait forever). Abort `signal` to let go of the request.
 */
function streamed(text, { stall = false } = {}) {
  const bytes = Buffer.from(text);
  let sent = 0;
  return new ReadableStream(
    {
      pull(controller) {
        if (sent >= bytes.length) return stall ? new Promise(() => {}) : controller.close();
        controller.enqueue(bytes.subarray(sent, sent + CHUNK));
        sent += CHUNK;
      },
    },
    { highWaterMark: 0 },
  );
}

/** Runs `send` with an abort signal, given up after 10 s: a Worker still reading never answers. */
async function stalledSend(send) {
  const abort = new AbortController();
  const waited = setTimeout(() => abort.abort(new Error("no answer in 10 s: the Worker waits for the rest of the body")), 10_000);
  try {
    return await send(abort.signal);
  } finally {
    clearTimeout(waited);
    abort.abort();
  }
}

/** Sends `text` chunked, one byte over `limit` and stalled: the answer must be 413 at once. */
async function overLimit(send, limit, text) {
  const res = await stalledSend((signal) => send({ body: streamed(padded(text, limit + 1), { stall: true }), signal }));
  const err = envelope(assert, res, 413, "payload_too_large");
  assert.equal(err.details.limit, limit);
}

const json = { "Content-Type": "application/json" };
const count = async (table) => (await stack.db.prepare(`SELECT COUNT(*) AS n FROM ${table}`).first()).n;

test("storefront: a chunked body over 64 KiB is 413 as soon as it passes the limit and changes nothing; one at the limit works", async () => {
  const carts = await count("carts");
  const keys = await count("idempotency_keys");
  const create = (opts, headers = {}) => stack.sf("/v1/carts", { method: "POST", ...opts, headers: { ...json, ...headers } });
  await overLimit((o) => create(o), 64 * KiB, { market: "FR" });
  await overLimit((o) => create(o, { "Idempotency-Key": "streamed-over" }), 64 * KiB, { market: "FR" });
  const cart = (await create({ json: { market: "FR" } })).body.id;
  const attach = (o) => stack.sf(`/v1/carts/${cart}/customer`, { method: "POST", ...o, headers: json });
  await overLimit(attach, 64 * KiB, {});
  assert.equal(await count("carts"), carts + 1, "no cart but the one made to attach to");
  assert.equal(await count("idempotency_keys"), keys, "no key claimed");

  const made = await create({ body: streamed(padded({ market: "FR" }, 64 * KiB)) });
  assert.equal(made.status, 201, made.text);
  const keyed = await create({ body: streamed(padded({ market: "FR" }, 64 * KiB)) }, { "Idempotency-Key": "streamed-under" });
  assert.equal(keyed.status, 201, keyed.text);
  const line = await stack.sf(`/v1/carts/${made.body.id}/lines`, { method: "POST", body: streamed(padded({ sku: "MUG-350" }, 40 * KiB)), headers: json });
  assert.equal(line.status, 200, line.text);
});

test("storefront: the Stripe webhook holds the 64 KiB limit for streamed bodies too", async () => {
  const stripe = new Stripe("sk_test_unused");
  const event = (id) => ({ id, type: "charge.refunded", data: { object: { id: "ch_1", object: "charge" } } });
  const send = (payload, opts) =>
    stack.sfRaw("/v1/payments/stripe/webhook", {
      method: "POST",
      ...opts,
      headers: { ...json, "Stripe-Signature": stripe.webhooks.generateTestHeaderString({ payload, secret: SECRETS.STRIPE_WEBHOOK_SECRET }) },
    });
  const seen = (id) => stack.db.prepare("SELECT COUNT(*) AS n FROM payment_events WHERE id = ?1").bind(id).first();
  const big = padded(event("evt_streamed_over"), 64 * KiB + 1);
  const res = await stalledSend((signal) => send(big, { body: streamed(big, { stall: true }), signal }));
  envelope(assert, res, 413, "payload_too_large");
  assert.equal((await seen("evt_streamed_over")).n, 0, "not handled");
  const fits = padded(event("evt_streamed_under"), 64 * KiB);
  const ok = await send(fits, { body: streamed(fits) });
  assert.equal(ok.status, 200, ok.text);
  assert.equal((await seen("evt_streamed_under")).n, 1, "verified and recorded");
});

test("back office: chunked bodies over 1 MiB (PUT, POST) and over 10 MiB (product import) are 413 and change nothing", async () => {
  const admin = bearer(await adminToken({ scope: "catalog:read catalog:write inventory:read inventory:write" }));
  const bo = (path, method, headers = {}) => (opts) => stack.bo(path, { method, ...opts, headers: { ...admin, ...json, ...headers } });
  const market = { currency: "USD", countries: ["US"], languages: ["en"], tax_inclusive: false, tax_rates: { standard: "8.875", reduced: "4", zero: "0" } };
  const marketRow = () => stack.db.prepare("SELECT * FROM markets WHERE code = 'US'").first();
  const stock = () => stack.db.prepare("SELECT on_hand, reserved FROM inventory WHERE sku = 'MUG-350'").first();
  const product = { id: "prod_streamed", handle: "streamed", title: "Streamed", status: "draft", variants: [{ sku: "STREAMED-1", title: "One", tax_class: "standard", prices: { FR: { amount: "1.00", currency: "EUR" } } }] };
  const [marketBefore, stockBefore, products] = [await marketRow(), await stock(), await count("products")];

  await overLimit(bo("/admin/v1/markets/US", "PUT"), MiB, { ...market, languages: ["en", "es"] });
  await overLimit(bo("/admin/v1/inventory/MUG-350/adjustments", "POST", { "Idempotency-Key": "streamed-adj" }), MiB, { delta: 1, reason: "streamed" });
  await overLimit(bo("/admin/v1/products/import", "POST"), 10 * MiB, { products: [product] });
  assert.deepEqual(await marketRow(), marketBefore);
  assert.deepEqual(await stock(), stockBefore);
  assert.equal(await count("products"), products);

  const put = await bo("/admin/v1/markets/US", "PUT")({ body: streamed(padded(market, MiB)) });
  assert.equal(put.status, 200, put.text);
  const adj = await bo("/admin/v1/inventory/MUG-350/adjustments", "POST", { "Idempotency-Key": "streamed-adj-ok" })({ body: streamed(padded({ delta: 1, reason: "streamed" }, MiB)) });
  assert.equal(adj.status, 201, adj.text);
  assert.equal((await stock()).on_hand, stockBefore.on_hand + 1);
  const imported = await bo("/admin/v1/products/import", "POST")({ body: streamed(padded({ products: [product] }, 10 * MiB)) });
  assert.equal(imported.status, 200, imported.text);
  assert.equal(await count("products"), products + 1);
});
