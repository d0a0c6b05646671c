// The integrators' client (clients/backoffice, @comptoir/backoffice-client) against the built
// Workers: its generated types are fresh and type-check, typed calls carry the token and come
// back as the API answers (a refusal as its error envelope), a POST with an idempotencyKey
// takes effect once even when sent again, verifyWebhook accepts a real delivery to a
// 127.0.0.1 receiver and refuses a tampered one, and the feed iterator walks every event once
// and resumes from a stored cursor without repeats or gaps.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import fs from "node:fs";
import { spawnSync } from "node:child_process";
import { Webhook } from "standardwebhooks";
import { root } from "../../scripts/lib/proc.mjs";
import { API_TYPES, generate } from "../../clients/backoffice/generate.mjs";
import { adminToken, bearer } from "./tokens.mjs";
import { placePaidOrder, startIntegration } from "./integrator.mjs";
import { until } from "./harness.mjs";

const SCOPES = "orders:read orders:write inventory:read inventory:write destinations:read destinations:write events:read";
let stack;
let admin;
let token;
let receiver;
/** The built package, imported as an integrator would. */
let lib;
let dispose;

before(async () => {
  ({ lib, receiver, stack, dispose } = await startIntegration());
  token = await adminToken({ scope: SCOPES, sub: "erp@example.com" });
  admin = bearer(token);
});
after(() => dispose?.());

const client = (options = {}) => lib.createBackofficeClient({ baseUrl: stack.urls.backoffice, token, ...options });
/** A fetch that counts its calls and lets `tamper(n, request, send)` decide the n-th one. */
function countingFetch(tamper = (_n, request, send) => send(request)) {
  const calls = [];
  const fetch = (request) => {
    calls.push({ method: request.method, url: request.url, headers: Object.fromEntries(request.headers) });
    return tamper(calls.length, request, (r) => globalThis.fetch(r));
  };
  return { calls, fetch };
}
const onHand = async (sku) => (await stack.bo(`/admin/v1/inventory/${sku}`, { headers: admin })).body.on_hand;
const feedIds = async () => (await stack.db.prepare("SELECT id FROM outbox ORDER BY rowid").all()).results.map((r) => r.id);

test("the committed back-office API types are generated from the current contract", async () => {
  const committed = fs.readFileSync(API_TYPES, "utf8");
  assert.equal(committed, await generate(), "stale: run `node clients/backoffice/generate.mjs`");
  assert.match(committed, /"\/admin\/v1\/events"/);
  assert.match(committed, /"\/admin\/v1\/inventory\/sync"/);
  assert.doesNotMatch(committed, /"\/v1\/carts/, "no storefront route in the back office's types");
});

test("the client and its TypeScript example type-check (tsc --strict)", () => {
  const r = spawnSync(path.join(root, "node_modules", ".bin", "tsc"), ["-p", path.join(root, "clients", "backoffice")], { cwd: root, encoding: "utf8" });
  assert.equal(r.status, 0, `tsc found errors:\n${r.stdout}${r.stderr}`);
});

test("typed calls send the token and answer the API's data; a refusal comes back as the API's error envelope", async () => {
  let asked = 0;
  const { calls, fetch } = countingFetch();
  const access = { "CF-Access-Client-Id": "wms.access", "CF-Access-Client-Secret": "s3cret" };
  const bo = lib.createBackofficeClient({ baseUrl: stack.urls.backoffice, tokenProvider: async () => (asked++, token), headers: access, fetch });
  const { data, error, response } = await bo.GET("/admin/v1/inventory/{sku}", { params: { path: { sku: "MUG-350" } } });
  assert.equal(response.status, 200);
  assert.equal(error, undefined);
  assert.equal(data.sku, "MUG-350");
  assert.ok(data.locations.some((l) => l.location === "main"));
  assert.equal(calls[0].headers.authorization, `Bearer ${token}`);
  assert.equal(asked, 1, "the provider is asked before each call");
  assert.equal(calls[0].headers["cf-access-client-id"], "wms.access", "headers given to the client go with every call");

  const missing = await bo.GET("/admin/v1/orders/{id}", { params: { path: { id: "ord_0000000000000000000000000000dead" } } });
  assert.equal(missing.response.status, 404);
  assert.equal(missing.data, undefined);
  assert.deepEqual(Object.keys(missing.error), ["error"]);
  assert.equal(missing.error.error.code, "not_found");
  assert.equal(typeof missing.error.error.message, "string");

  const invalid = await bo.PUT("/admin/v1/inventory/{sku}", { params: { path: { sku: "MUG-350" } }, body: { on_hand: -1 } });
  assert.equal(invalid.response.status, 422);
  assert.equal(invalid.error.error.code, "validation_failed");
  assert.equal(invalid.error.error.details.field, "on_hand");

  const weak = lib.createBackofficeClient({ baseUrl: stack.urls.backoffice, token: await adminToken({ scope: "catalog:read" }) });
  const forbidden = await weak.GET("/admin/v1/events");
  assert.equal(forbidden.response.status, 403);
  assert.equal(forbidden.error.error.code, "forbidden");

  // ok(): the data, or the refusal thrown with its status, code, details and request id.
  assert.equal((await lib.ok(bo.GET("/admin/v1/inventory/{sku}", { params: { path: { sku: "MUG-350" } } }))).sku, "MUG-350");
  const thrown = await lib.ok(bo.GET("/admin/v1/orders/{id}", { params: { path: { id: "ord_0000000000000000000000000000dead" } } })).catch((e) => e);
  assert.ok(thrown instanceof lib.BackofficeError, String(thrown));
  assert.equal(thrown.status, 404);
  assert.equal(thrown.code, "not_found");
  assert.match(thrown.requestId ?? "", /.+/);
  const refused = await lib.ok(bo.PUT("/admin/v1/inventory/{sku}", { params: { path: { sku: "MUG-350" } }, body: { on_hand: -1 } })).catch((e) => e);
  assert.equal(refused.details.field, "on_hand");

  assert.throws(() => lib.createBackofficeClient({ baseUrl: stack.urls.backoffice }), TypeError);
  assert.throws(() => lib.createBackofficeClient({ baseUrl: stack.urls.backoffice, token, tokenProvider: () => token }), TypeError);
});

test("a POST with an idempotencyKey takes effect once, even when its answer is lost and the client sends it again", async () => {
  const adjust = (bo, idempotencyKey) =>
    bo.POST("/admin/v1/inventory/{sku}/adjustments", { params: { path: { sku: "CHOC-70" } }, body: { delta: -1, reason: "breakage" }, idempotencyKey });
  // The first answer never reaches the client: the back office applied it, the network lost it.
  const lost = () =>
    countingFetch(async (n, request, send) => {
      const response = await send(request);
      if (n > 1) return response;
      await response.arrayBuffer();
      throw new TypeError("fetch failed: connection reset");
    });

  const start = await onHand("CHOC-70");
  const keyed = lost();
  const { data, response } = await adjust(client({ fetch: keyed.fetch }), "breakage-2026-11-29-1");
  assert.equal(response.status, 201);
  assert.equal(response.headers.get("Idempotent-Replayed"), "true", "the second attempt got the first answer");
  assert.equal(keyed.calls.length, 2);
  assert.deepEqual(keyed.calls.map((c) => c.headers["idempotency-key"]), ["breakage-2026-11-29-1", "breakage-2026-11-29-1"]);
  assert.equal(data.delta, -1);
  assert.equal(await onHand("CHOC-70"), start - 1, "applied once");

  // Without a key, a POST is never sent twice: the failure comes back to the caller.
  const unkeyed = lost();
  await assert.rejects(adjust(client({ fetch: unkeyed.fetch }), undefined), /connection reset/);
  assert.equal(unkeyed.calls.length, 1);
  assert.equal(unkeyed.calls[0].headers["idempotency-key"], undefined);
  assert.equal(await onHand("CHOC-70"), start - 2, "the lost one applied, once");

  // The same key with another body is the API's refusal, not a retry.
  const reused = await client().POST("/admin/v1/inventory/{sku}/adjustments", { params: { path: { sku: "CHOC-70" } }, body: { delta: -5, reason: "breakage" }, idempotencyKey: "breakage-2026-11-29-1" });
  assert.equal(reused.error.error.code, "idempotency_key_reused");
  await assert.rejects(adjust(client(), "not a key"), TypeError);
  assert.equal(await onHand("CHOC-70"), start - 2);
});

test("a GET answered 503 is sent again; a 422 and exhausted retries come back as they are", async () => {
  const flaky = countingFetch((n, request, send) => (n === 1 ? new Response('{"error":{"code":"unavailable","message":"down"}}', { status: 503 }) : send(request)));
  const { data } = await client({ fetch: flaky.fetch }).GET("/admin/v1/inventory/{sku}", { params: { path: { sku: "MUG-350" } } });
  assert.equal(data.sku, "MUG-350");
  assert.equal(flaky.calls.length, 2);

  const refused = countingFetch();
  await client({ fetch: refused.fetch }).PUT("/admin/v1/inventory/{sku}", { params: { path: { sku: "MUG-350" } }, body: { on_hand: -1 } });
  assert.equal(refused.calls.length, 1, "a 422 is not sent again");

  const down = countingFetch(() => new Response('{"error":{"code":"unavailable","message":"down"}}', { status: 503 }));
  const { error, response } = await client({ fetch: down.fetch, retries: 1 }).GET("/admin/v1/events");
  assert.equal(response.status, 503);
  assert.equal(error.error.code, "unavailable");
  assert.equal(down.calls.length, 2);
});

test("verifyWebhook accepts a real delivery to a 127.0.0.1 receiver and refuses a tampered one", async () => {
  const bo = client();
  const created = await lib.ok(bo.PUT("/admin/v1/destinations/{id}", { params: { path: { id: "erp" } }, body: { url: `${receiver.url}/hooks`, events: ["order.confirmed"] } }));
  const secret = created.secret;
  assert.match(secret, /^whsec_/);
  const order = await placePaidOrder(stack, admin, [["TOWEL-2", 1]]);
  const delivery = await until("the delivery", () => receiver.requests.find((r) => r.body.includes(order.id)));

  // Node's req.headers and the raw body, as a Node server has them.
  const event = lib.verifyWebhook(secret, delivery.headers, delivery.body);
  assert.equal(event.type, "order.confirmed");
  assert.equal(event.id, delivery.headers["webhook-id"]);
  assert.equal(event.data.id, order.id);
  // Fetch's Headers and the body as text, as a Worker or Deno has them.
  assert.equal(lib.verifyWebhook(secret, new Headers(delivery.headers), delivery.body.toString()).id, event.id);

  const refused = (headers, body, key = secret) => assert.throws(() => lib.verifyWebhook(key, headers, body), lib.WebhookVerificationError);
  const text = delivery.body.toString();
  refused(delivery.headers, text.replace(order.id, "ord_00000000000000000000000000000000"));
  refused(delivery.headers, `${text} `);
  refused({ ...delivery.headers, "webhook-id": "evt_another" }, text);
  refused(delivery.headers, text, `whsec_${Buffer.from("another secret, thirty-two bytes!").toString("base64")}`);
  const { "webhook-signature": _, ...unsigned } = delivery.headers;
  refused(unsigned, text);
  // Signed right, but ten minutes ago: a replay.
  const old = new Date(Date.now() - 600_000);
  refused({ ...delivery.headers, "webhook-timestamp": String(Math.floor(old / 1000)), "webhook-signature": new Webhook(secret).sign(event.id, old, text) }, text);
  await lib.ok(bo.DELETE("/admin/v1/destinations/{id}", { params: { path: { id: "erp" } } }));
});

test("the iterator walks the whole feed once, in order, and resumes from a stored cursor without repeats or gaps", async () => {
  for (let i = 0; i < 3; i++) await placePaidOrder(stack, admin, [["MUG-350", 1]]);
  const all = await feedIds();
  assert.ok(all.length >= 6, `events to walk: ${all.length}`);
  const bo = client();

  const pages = countingFetch();
  const cursors = [];
  const walked = [];
  for await (const event of lib.events(client({ fetch: pages.fetch }), { limit: 2, onCursor: (c) => cursors.push(c) })) walked.push(event.id);
  assert.deepEqual(walked, all, "every event once, in commit order");
  assert.ok(pages.calls.length <= Math.floor(all.length / 2) + 1, `${pages.calls.length} pages for ${all.length} events`);
  assert.equal(cursors.length, Math.ceil(all.length / 2), "a cursor stored per page handled");
  const end = cursors.at(-1);
  const nothing = [];
  for await (const event of lib.events(bo, { cursor: end })) nothing.push(event.id);
  assert.deepEqual(nothing, [], "nothing after the end");

  // A crash while handling the fifth event: four were handled, mid-page (pages of 3).
  let stored = null;
  const handled = [];
  await assert.rejects(async () => {
    for await (const event of lib.events(bo, { limit: 3, cursor: stored, onCursor: (c) => (stored = c) })) {
      if (handled.length === 4) throw new Error("crash");
      handled.push(event.id);
    }
  }, /crash/);
  for await (const event of lib.events(bo, { limit: 3, cursor: stored, onCursor: (c) => (stored = c) })) handled.push(event.id);
  assert.deepEqual(handled, all, "resumed at the fifth: no repeat, no gap");

  // Later: only what is new since the stored cursor.
  const order = await placePaidOrder(stack, admin, [["MUG-350", 1]]);
  const fresh = [];
  for await (const event of lib.events(bo, { cursor: stored, onCursor: (c) => (stored = c) })) fresh.push(event);
  assert.deepEqual(fresh.map((e) => e.id), (await feedIds()).slice(all.length));
  assert.deepEqual(fresh.map((e) => [e.type, e.data.id]), [["order.placed", order.id], ["order.confirmed", order.id]]);

  const bad = await (async () => {
    for await (const _ of lib.events(bo, { cursor: "bogus" }));
  })().catch((e) => e);
  assert.ok(bad instanceof lib.BackofficeError, String(bad));
  assert.equal(bad.status, 400);
  assert.equal(bad.code, "invalid_parameter");
});

test("with follow, the iterator waits for new events until its signal aborts", async () => {
  const bo = client();
  let stored = null;
  for await (const _ of lib.events(bo, { onCursor: (c) => (stored = c) }));
  const stop = new AbortController();
  const seen = [];
  const following = (async () => {
    for await (const event of lib.events(bo, { cursor: stored, onCursor: (c) => (stored = c), follow: true, interval: 100, signal: stop.signal })) seen.push(event);
  })();
  const order = await placePaidOrder(stack, admin, [["MUG-350", 1]]);
  await until("the new order's events", () => seen.some((e) => e.type === "order.confirmed" && e.data.id === order.id));
  stop.abort();
  await following; // ends without an error
  assert.deepEqual(seen.map((e) => e.type), ["order.placed", "order.confirmed"]);
  const after = [];
  for await (const event of lib.events(bo, { cursor: stored })) after.push(event);
  assert.deepEqual(after, [], "the stored cursor is past what was seen");
});
