// Sales channels through the admin API: a key shown once and stored hashed, markets and
// origins that take effect on the storefront at once, key rotation.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startStack, envelope } from "./harness.mjs";
import { adminToken, bearer } from "./tokens.mjs";

let stack;
let writer;
before(async () => {
  stack = await startStack();
  writer = bearer(await adminToken({ scope: "catalog:write catalog:read" }));
});
after(() => stack?.dispose());

const kioskBody = { name: "Airport kiosk", markets: ["US"], allowed_origins: ["https://Kiosk.Example"] };
const put = (id, json) => stack.bo(`/admin/v1/channels/${id}`, { method: "PUT", headers: writer, json });
let kioskKey;

test("creating a channel returns its publishable key once; only its digest is stored", async () => {
  const res = await put("kiosk", kioskBody);
  assert.equal(res.status, 201, res.text);
  kioskKey = res.body.publishable_key;
  assert.match(kioskKey, /^pk_[0-9a-f]{32}$/);
  assert.deepEqual({ ...res.body, publishable_key: "*", created_at: "*", updated_at: "*" }, {
    id: "kiosk", name: "Airport kiosk", markets: ["US"], allowed_origins: ["https://kiosk.example"],
    key_hint: kioskKey.slice(-4), publishable_key: "*", created_at: "*", updated_at: "*",
  });
  const row = await stack.db.prepare("SELECT * FROM channels WHERE id = 'kiosk'").first();
  assert.ok(!JSON.stringify(row).includes(kioskKey), "the key itself is not stored");
  const read = await stack.bo("/admin/v1/channels/kiosk", { headers: writer });
  assert.equal(read.status, 200);
  assert.equal(read.body.publishable_key, undefined, "never shown again");

  const markets = await stack.sfRaw("/v1/markets", { headers: { "X-Publishable-Key": kioskKey, Origin: "https://kiosk.example" } });
  assert.equal(markets.status, 200);
  assert.deepEqual(markets.body.data.map((m) => m.code), ["US"]);
  assert.equal(markets.headers.get("access-control-allow-origin"), "https://kiosk.example");
});

test("updating a channel keeps its key and changes its markets and origins at once", async () => {
  const res = await put("kiosk", { ...kioskBody, markets: ["FR", "US"], allowed_origins: [] });
  assert.equal(res.status, 200, res.text);
  assert.equal(res.body.publishable_key, undefined);
  const markets = await stack.sfRaw("/v1/markets", { headers: { "X-Publishable-Key": kioskKey, Origin: "https://kiosk.example" } });
  assert.deepEqual(markets.body.data.map((m) => m.code), ["FR", "US"]);
  assert.equal(markets.headers.get("access-control-allow-origin"), null);
});

test("rotating the key makes the old one fail at once and the new one work", async () => {
  const res = await stack.bo("/admin/v1/channels/kiosk/rotate-key", { method: "POST", headers: writer });
  assert.equal(res.status, 200, res.text);
  const fresh = res.body.publishable_key;
  assert.match(fresh, /^pk_[0-9a-f]{32}$/);
  assert.notEqual(fresh, kioskKey);
  envelope(assert, await stack.sfRaw("/v1/markets", { headers: { "X-Publishable-Key": kioskKey } }), 401, "unauthorized");
  assert.equal((await stack.sfRaw("/v1/markets", { headers: { "X-Publishable-Key": fresh } })).status, 200);
  envelope(assert, await stack.bo("/admin/v1/channels/nope/rotate-key", { method: "POST", headers: writer }), 404, "not_found");
});

test("bad channel bodies are 422 naming the field, and change nothing", async () => {
  const before = await stack.bo("/admin/v1/channels/web", { headers: writer });
  const cases = [
    [{ ...kioskBody, markets: ["DE"] }, "validation_failed", "markets[0]"],
    [{ ...kioskBody, markets: [] }, "validation_failed", "markets"],
    [{ ...kioskBody, allowed_origins: ["*"] }, "validation_failed", "allowed_origins[0]"],
    [{ ...kioskBody, allowed_origins: ["https://a.example/path"] }, "validation_failed", "allowed_origins[0]"],
    [{ ...kioskBody, name: "" }, "validation_failed", "name"],
    [{ ...kioskBody, publishable_key: "pk_mine" }, "unknown_field", "publishable_key"],
  ];
  for (const [json, code, field] of cases) {
    assert.equal(envelope(assert, await put("web", json), 422, code).details.field, field);
  }
  assert.deepEqual(await stack.bo("/admin/v1/channels/web", { headers: writer }).then((r) => r.body), before.body);
  assert.equal((await stack.sf("/v1/markets")).status, 200, "the demo key still works");
});

test("concurrent creates of one channel: one answers 201 with the key that is stored, the others 200 without a key", async () => {
  const answers = await Promise.all(Array.from({ length: 8 }, () => put("popup", { name: "Pop-up store", markets: ["FR"], allowed_origins: [] })));
  const created = answers.filter((a) => a.status === 201);
  const updated = answers.filter((a) => a.status === 200);
  assert.equal(created.length, 1, answers.map((a) => a.status).join(","));
  assert.equal(updated.length, answers.length - 1);
  assert.ok(updated.every((a) => a.body.publishable_key === undefined), "no key that was never stored");
  const key = created[0].body.publishable_key;
  assert.ok(updated.every((a) => a.body.key_hint === key.slice(-4) && a.body.created_at === created[0].body.created_at));
  assert.equal((await stack.sfRaw("/v1/markets", { headers: { "X-Publishable-Key": key } })).status, 200, "the key shown works");
});
