// The demo storefront's backend-for-frontend (functions/api) over plain HTTP: it passes the
// storefront's errors on in their envelope, keeps the cart in an HttpOnly cookie per market, and a
// double-submitted checkout places one order.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startStack } from "./harness.mjs";
import { adminToken, bearer } from "./tokens.mjs";

let stack;
before(async () => {
  stack = await startStack({ demo: true });
});
after(() => stack?.dispose());

/** A tiny cookie jar: one shopper's browser. */
function shopper() {
  const jar = new Map();
  return async (path, { method = "GET", json } = {}) => {
    const headers = { Cookie: [...jar].map(([k, v]) => `${k}=${v}`).join("; ") };
    if (json !== undefined) headers["Content-Type"] = "application/json";
    const res = await fetch(stack.urls.demo + path, { method, headers, body: json === undefined ? undefined : JSON.stringify(json) });
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(";");
      const [k, v] = pair.split("=");
      if (v) jar.set(k, v);
      else jar.delete(k);
      assert.match(c, /HttpOnly/);
      assert.match(c, /SameSite=Lax/);
    }
    return { status: res.status, body: await res.json(), jar };
  };
}

test("bad input gets the envelope and creates nothing", async () => {
  const call = shopper();
  const noMarket = await call("/api/cart/lines", { method: "POST", json: { sku: "BOOK-BISTRO" } });
  assert.equal(noMarket.status, 422);
  assert.equal(noMarket.body.error.details.field, "market");
  assert.equal(noMarket.jar.size, 0, "no cart created");
  const unknown = await call("/api/cart/lines", { method: "POST", json: { market: "FR", sku: "NOPE-1" } });
  assert.equal(unknown.status, 422);
  assert.equal(unknown.body.error.code, "unknown_sku", "the storefront's own error, passed on");
});

test("the cart is per market and its id never reaches the page", async () => {
  const call = shopper();
  const fr = await call("/api/cart/lines", { method: "POST", json: { market: "FR", sku: "BOOK-BISTRO", quantity: 2 } });
  assert.equal(fr.status, 200);
  assert.equal(fr.body.cart.id, undefined);
  assert.equal(fr.body.cart.currency, "EUR");
  const us = await call("/api/cart/lines", { method: "POST", json: { market: "US", sku: "BOOK-BISTRO" } });
  assert.equal(us.body.cart.currency, "USD");
  assert.ok(fr.jar.get("comptoir_cart_FR")?.startsWith("cart_"));
  assert.ok(fr.jar.get("comptoir_cart_US")?.startsWith("cart_"));
  assert.notEqual(fr.jar.get("comptoir_cart_FR"), fr.jar.get("comptoir_cart_US"));
  const again = await call("/api/cart?market=FR");
  assert.deepEqual(again.body.cart.lines.map((l) => [l.sku, l.quantity]), [["BOOK-BISTRO", 2]]);
  assert.ok(again.body.shipping_methods.length > 0);
  assert.doesNotMatch(JSON.stringify(again.body), /cart_[0-9a-f]{32}/);
});

test("a double-submitted checkout places one order", async () => {
  const call = shopper();
  await call("/api/cart/lines", { method: "POST", json: { market: "FR", sku: "MUG-350" } });
  const patched = await call("/api/cart", {
    method: "PATCH",
    json: {
      market: "FR",
      email: "lou@example.com",
      shipping_address: { first_name: "Lou", last_name: "Roux", line1: "1 quai Saint-Vincent", city: "Lyon", postal_code: "69001", country: "FR" },
      shipping_method: "standard",
    },
  });
  assert.equal(patched.status, 200, JSON.stringify(patched.body));
  const version = patched.body.cart.version;
  const jar = new Map(patched.jar);
  const [a, b] = await Promise.all([
    call("/api/checkout", { method: "POST", json: { market: "FR", version, attempt: "a1" } }),
    (async () => {
      const res = await fetch(`${stack.urls.demo}/api/checkout`, {
        method: "POST",
        headers: { "Content-Type": "application/json", Cookie: [...jar].map(([k, v]) => `${k}=${v}`).join("; ") },
        body: JSON.stringify({ market: "FR", version, attempt: "a1" }),
      });
      return { status: res.status, body: await res.json() };
    })(),
  ]);
  const placed = [a, b].filter((r) => r.status === 201);
  assert.ok(placed.length >= 1, JSON.stringify([a.body, b.body]));
  for (const r of [a, b]) assert.ok(r.status === 201 || (r.status === 409 && r.body.error.code === "idempotency_in_progress"), JSON.stringify(r.body));
  assert.equal(new Set(placed.map((r) => r.body.order_id)).size, 1, "one order, replayed");
  const token = await adminToken({ scope: "orders:read" });
  const orders = (await stack.bo("/admin/v1/orders?limit=100", { headers: bearer(token) })).body.data;
  assert.equal(orders.filter((o) => o.email === "lou@example.com").length, 1);
  const order = await call(`/api/orders/${placed[0].body.order_id}`);
  assert.equal(order.status, 200);
  assert.equal(order.body.status, "pending_payment");
});

test("a checkout refused for stock goes through once stock is back (a new attempt, not a replay)", async () => {
  const call = shopper();
  await call("/api/cart/lines", { method: "POST", json: { market: "FR", sku: "TOWEL-2", quantity: 2 } });
  const patched = await call("/api/cart", {
    method: "PATCH",
    json: { market: "FR", email: "sam@example.com", shipping_address: { first_name: "Sam", last_name: "Petit", line1: "2 rue Neuve", city: "Lille", postal_code: "59000", country: "FR" }, shipping_method: "standard" },
  });
  assert.equal(patched.status, 200, JSON.stringify(patched.body));
  const version = patched.body.cart.version;
  const { on_hand } = await stack.db.prepare("SELECT on_hand FROM inventory WHERE sku = 'TOWEL-2'").first();
  await stack.db.prepare("UPDATE inventory SET on_hand = reserved + 1 WHERE sku = 'TOWEL-2'").run();
  const refused = await call("/api/checkout", { method: "POST", json: { market: "FR", version, attempt: "first" } });
  assert.equal(refused.status, 422);
  assert.equal(refused.body.error.code, "insufficient_stock");
  await stack.db.prepare("UPDATE inventory SET on_hand = ?1 WHERE sku = 'TOWEL-2'").bind(on_hand).run();
  const same = await call("/api/checkout", { method: "POST", json: { market: "FR", version, attempt: "first" } });
  assert.equal(same.status, 422, "the same attempt replays its answer");
  const placed = await call("/api/checkout", { method: "POST", json: { market: "FR", version, attempt: "second" } });
  assert.equal(placed.status, 201, JSON.stringify(placed.body));
});
