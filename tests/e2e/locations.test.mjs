// Stock locations (API.md "Stock locations"): `main` from the migration on, warehouses and
// stores written and listed through the admin API, every bad field named.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startStack, envelope } from "./harness.mjs";
import { adminToken, bearer } from "./tokens.mjs";

let stack;
let write;
let read;
before(async () => {
  stack = await startStack();
  write = bearer(await adminToken({ scope: "inventory:write" }));
  read = bearer(await adminToken({ scope: "inventory:read" }));
});
after(() => stack?.dispose());

const put = (id, json, headers = write) => stack.bo(`/admin/v1/locations/${id}`, { method: "PUT", json, headers });

test("main exists from the start: a warehouse serving every country, priority 100", async () => {
  const list = await stack.bo("/admin/v1/locations", { headers: read });
  assert.equal(list.status, 200, list.text);
  const main = list.body.data.find((l) => l.id === "main");
  assert.deepEqual([main.kind, main.countries, main.priority, main.pickup], ["warehouse", [], 100, false]);
});

test("warehouses and stores are created (201), updated (200) and listed by id with the cursor convention", async () => {
  const shop = await put("paris-shop", { name: "Paris shop", kind: "store", countries: ["FR"], priority: 10, pickup: true, address: { line1: "3 rue de la Paix", city: "Paris", postal_code: "75002", country: "FR" } });
  assert.equal(shop.status, 201, shop.text);
  assert.deepEqual([shop.body.id, shop.body.kind, shop.body.countries, shop.body.priority, shop.body.pickup, shop.body.address.city], ["paris-shop", "store", ["FR"], 10, true, "Paris"]);
  const again = await put("paris-shop", { name: "Paris shop (Opéra)", kind: "store", countries: ["FR", "MC"], priority: 5, pickup: true });
  assert.equal(again.status, 200, again.text);
  assert.deepEqual([again.body.name, again.body.countries, again.body.address, again.body.created_at], ["Paris shop (Opéra)", ["FR", "MC"], null, shop.body.created_at]);
  assert.equal((await put("nj", { name: "New Jersey", kind: "warehouse", countries: ["US"], priority: 20 })).status, 201);
  // The demo seeds paris-store beside main.
  const first = await stack.bo("/admin/v1/locations?limit=2", { headers: read });
  assert.deepEqual(first.body.data.map((l) => l.id), ["main", "nj"]);
  const next = await stack.bo(`/admin/v1/locations?limit=2&cursor=${encodeURIComponent(first.body.next_cursor)}`, { headers: read });
  assert.deepEqual([next.body.data.map((l) => l.id), next.body.next_cursor], [["paris-shop", "paris-store"], null]);
});

test("bad locations are refused naming the field, and change nothing; scopes hold", async () => {
  for (const [json, field] of [
    [{ kind: "store" }, "name"],
    [{ name: "x", kind: "depot" }, "kind"],
    [{ name: "x", kind: "store", countries: ["fr"] }, "countries[0]"],
    [{ name: "x", kind: "store", address: { line1: "a", city: "b", postal_code: "c" } }, "address.country"],
  ]) {
    assert.equal(envelope(assert, await put("bad", json), 422, "validation_failed").details.field, field);
  }
  envelope(assert, await put("bad", { name: "x", kind: "store", shelf: 2 }), 422, "unknown_field");
  envelope(assert, await put("not an id", { name: "x", kind: "store" }), 400, "invalid_parameter");
  envelope(assert, await put("ok", { name: "x", kind: "store" }, read), 403, "forbidden");
  envelope(assert, await stack.bo("/admin/v1/locations", { headers: write }), 403, "forbidden");
  const ids = (await stack.bo("/admin/v1/locations?limit=100", { headers: read })).body.data.map((l) => l.id);
  assert.ok(!ids.includes("bad") && !ids.includes("ok"));
});
