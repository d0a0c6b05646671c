// D1 read replicas (API.md "Edge scale"): every request reads and writes through one D1 session,
// started from the client's X-Comptoir-Bookmark when sent (else anywhere for a read, at the
// primary for a write), and every response that touched D1 carries the session's latest
// bookmark, so a client that echoes it reads its own writes from any replica. Miniflare keeps
// one copy of the database: these tests check the plumbing (a bookmark returned, honoured,
// moving forward with writes, refused when forged, exposed to browsers), not replica lag.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startStack, envelope } from "./harness.mjs";
import { adminToken, bearer } from "./tokens.mjs";

let stack;
before(async () => {
  stack = await startStack();
});
after(() => stack?.dispose());

const BOOKMARK = /^[0-9a-f-]{1,256}$/;
const bookmarkOf = (res) => res.headers.get("x-comptoir-bookmark");

test("a write answers its bookmark; echoed, it is honoured and moves forward with each write", async () => {
  const created = await stack.sf("/v1/carts", { method: "POST", json: { market: "FR" } });
  assert.equal(created.status, 201, created.text);
  const first = bookmarkOf(created);
  assert.match(first, BOOKMARK, "a write answers its session's bookmark");
  const cart = created.body.id;

  // Read from the bookmark: the cart just created is there, and the bookmark is not behind.
  const read = await stack.sf(`/v1/carts/${cart}`, { headers: { "X-Comptoir-Bookmark": first } });
  assert.equal(read.status, 200, read.text);
  assert.ok(bookmarkOf(read) >= first, "a read from a bookmark answers one at least as recent");

  const added = await stack.sf(`/v1/carts/${cart}/lines`, { method: "POST", json: { sku: "OIL-500", quantity: 1 }, headers: { "X-Comptoir-Bookmark": first } });
  assert.equal(added.status, 200, added.text);
  const second = bookmarkOf(added);
  assert.ok(second > first, `a later write moves the bookmark forward (${first} → ${second})`);
  const again = await stack.sf(`/v1/carts/${cart}`, { headers: { "X-Comptoir-Bookmark": second } });
  assert.equal(again.body.lines.length, 1, "the read sees the write its bookmark names");
});

test("a request that reads nothing from D1 echoes the bookmark it was sent; a forged one is refused and changes nothing", async () => {
  const created = await stack.sf("/v1/carts", { method: "POST", json: { market: "FR" } });
  const bookmark = bookmarkOf(created);
  const markets = await stack.sf("/v1/markets", { headers: { "X-Comptoir-Bookmark": bookmark } });
  assert.equal(markets.status, 200);
  assert.ok(bookmarkOf(markets) >= bookmark);

  const { n: before } = await stack.db.prepare("SELECT count(*) AS n FROM carts").first();
  for (const forged of ["first-primary", "first-unconstrained", "not a bookmark", "x".repeat(300)]) {
    const res = await stack.sf("/v1/carts", { method: "POST", json: { market: "FR" }, headers: { "X-Comptoir-Bookmark": forged } });
    assert.equal(envelope(assert, res, 400, "invalid_parameter").details.field, "X-Comptoir-Bookmark", forged);
  }
  const { n: after } = await stack.db.prepare("SELECT count(*) AS n FROM carts").first();
  assert.equal(after, before, "nothing was written");
});

test("browsers may send and read the bookmark; the back office answers one too", async () => {
  const origin = "http://localhost:8789";
  const preflight = await stack.sfRaw("/v1/carts", {
    method: "OPTIONS",
    headers: { Origin: origin, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "x-comptoir-bookmark" },
  });
  assert.match(preflight.headers.get("access-control-allow-headers"), /X-Comptoir-Bookmark/i);
  const res = await stack.sf("/v1/carts", { method: "POST", json: { market: "FR" }, headers: { Origin: origin } });
  assert.match(res.headers.get("access-control-expose-headers"), /X-Comptoir-Bookmark/);

  const admin = bearer(await adminToken({ scope: "inventory:read inventory:write" }));
  const adjusted = await stack.bo("/admin/v1/inventory/OIL-500/adjustments", { method: "POST", headers: admin, json: { delta: 1, reason: "found one" } });
  assert.equal(adjusted.status, 201, adjusted.text);
  const written = bookmarkOf(adjusted);
  assert.match(written, BOOKMARK);
  const level = await stack.bo("/admin/v1/inventory/OIL-500", { headers: { ...admin, "X-Comptoir-Bookmark": written } });
  assert.equal(level.status, 200);
  assert.ok(bookmarkOf(level) >= written);
});
