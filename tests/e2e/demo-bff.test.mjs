// The demo storefront's backend-for-frontend (functions/api) over plain HTTP: it passes the
// storefront's errors on in their envelope, keeps the cart in an HttpOnly cookie per market, and a
// double-submitted checkout places one order. Its pages carry a strict CSP, nosniff and a
// Referrer-Policy (public/_headers), and its Functions refuse a state-changing request from
// another origin (403) or without a JSON body (415) before anything changes. A shopper asks for a
// return of shipped units from the order page, with the order token its browser alone holds.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startStack, envelope } from "./harness.mjs";
import { adminToken, bearer } from "./tokens.mjs";

let stack;
before(async () => {
  stack = await startStack({ demo: true });
});
after(() => stack?.dispose());

/** A tiny cookie jar: one shopper's browser, on the demo's own pages (so it sends their Origin). */
function shopper() {
  const jar = new Map();
  return async (path, { method = "GET", json } = {}) => {
    const headers = { Cookie: [...jar].map(([k, v]) => `${k}=${v}`).join("; ") };
    if (method !== "GET") headers.Origin = stack.urls.demo;
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

test("the shopper's D1 bookmark rides in an HttpOnly cookie: kept from each answer, sent with each call", async () => {
  const call = shopper();
  const added = await call("/api/cart/lines", { method: "POST", json: { market: "FR", sku: "BOOK-BISTRO" } });
  assert.equal(added.status, 200);
  const first = added.jar.get("comptoir_bookmark");
  assert.match(first, /^[0-9a-f-]+$/, "the storefront's bookmark, kept");
  const more = await call("/api/cart/lines", { method: "POST", json: { market: "FR", sku: "BOOK-BISTRO" } });
  assert.equal(more.body.cart.lines[0].quantity, 2);
  assert.ok(more.jar.get("comptoir_bookmark") > first, "a later write moves it forward");
  // A cookie that is no bookmark is not passed on: the shopper is served as without one.
  more.jar.set("comptoir_bookmark", "first-primary");
  const read = await call("/api/cart?market=FR");
  assert.equal(read.status, 200);
  assert.match(read.jar.get("comptoir_bookmark"), /^[0-9a-f-]+$/);
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
        headers: { "Content-Type": "application/json", Origin: stack.urls.demo, Cookie: [...jar].map(([k, v]) => `${k}=${v}`).join("; ") },
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
  await stack.db.prepare("UPDATE inventory_levels SET on_hand = reserved + 1 WHERE location = 'main' AND sku = 'TOWEL-2'").run();
  const refused = await call("/api/checkout", { method: "POST", json: { market: "FR", version, attempt: "first" } });
  assert.equal(refused.status, 422);
  assert.equal(refused.body.error.code, "insufficient_stock");
  await stack.db.prepare("UPDATE inventory_levels SET on_hand = ?1 WHERE location = 'main' AND sku = 'TOWEL-2'").bind(on_hand).run();
  const same = await call("/api/checkout", { method: "POST", json: { market: "FR", version, attempt: "first" } });
  assert.equal(same.status, 422, "the same attempt replays its answer");
  const placed = await call("/api/checkout", { method: "POST", json: { market: "FR", version, attempt: "second" } });
  assert.equal(placed.status, 201, JSON.stringify(placed.body));
});

// ---- hardening: headers, Origin, Content-Type -------------------------------------------------

/** The CSP directives of a header value, as a Map of name → source list. */
function csp(value) {
  assert.ok(value, "a Content-Security-Policy header");
  return new Map(
    value
      .split(";")
      .map((d) => d.trim().split(/\s+/))
      .filter(([name]) => name)
      .map(([name, ...sources]) => [name.toLowerCase(), sources]),
  );
}

function assertSecurityHeaders(res, what) {
  const policy = csp(res.headers.get("content-security-policy"));
  assert.deepEqual(policy.get("frame-ancestors"), ["'none'"], `${what}: frame-ancestors 'none'`);
  const scripts = policy.get("script-src") ?? policy.get("default-src");
  assert.ok(scripts, `${what}: a script-src or default-src`);
  for (const loose of ["'unsafe-inline'", "'unsafe-eval'", "*", "data:", "http:", "https:"]) {
    assert.ok(!scripts.includes(loose), `${what}: script sources ${scripts.join(" ")} must not allow ${loose}`);
  }
  assert.deepEqual(policy.get("object-src") ?? policy.get("default-src"), ["'none'"], `${what}: no plugins`);
  assert.equal(res.headers.get("x-content-type-options"), "nosniff", `${what}: nosniff`);
  assert.match(res.headers.get("referrer-policy") ?? "", /^(strict-origin-when-cross-origin|same-origin|strict-origin)$/, `${what}: a Referrer-Policy that keeps the Origin of same-origin requests`);
}

test("the pages and their files carry the CSP, nosniff and a Referrer-Policy", async () => {
  for (const path of ["/", "/cart", "/cart.html", "/order?id=ord_x", "/order.html", "/app.js", "/app.css"]) {
    const res = await fetch(stack.urls.demo + path);
    assert.equal(res.status, 200, path);
    assertSecurityHeaders(res, path);
    assert.equal(res.headers.get("x-frame-options"), "DENY", path);
    const policy = csp(res.headers.get("content-security-policy"));
    assert.deepEqual(policy.get("script-src"), ["'self'"], `${path}: scripts from this origin only`);
    assert.deepEqual(policy.get("base-uri"), ["'none'"], path);
    if (path.endsWith(".html") || !path.includes(".")) {
      // The CSP forbids inline script and style: the pages must not need any.
      const html = await res.text();
      assert.doesNotMatch(html, /<script(?![^>]*\ssrc=)[^>]*>/i, `${path}: no inline <script>`);
      assert.doesNotMatch(html, /\son[a-z]+\s*=/i, `${path}: no inline event handler`);
      assert.doesNotMatch(html, /\sstyle\s*=|<style/i, `${path}: no inline style`);
    } else {
      await res.arrayBuffer();
    }
  }
  // _headers is Pages configuration, never served as a file.
  const file = await fetch(`${stack.urls.demo}/_headers`);
  assert.doesNotMatch(await file.text(), /Content-Security-Policy/);
});

test("the Functions' JSON answers carry nosniff and a deny-all CSP", async () => {
  const ok = await fetch(`${stack.urls.demo}/api/markets`);
  assert.equal(ok.status, 200);
  assertSecurityHeaders(ok, "GET /api/markets");
  assert.deepEqual(csp(ok.headers.get("content-security-policy")).get("default-src"), ["'none'"]);
  await ok.json();
  const refused = await fetch(`${stack.urls.demo}/api/cart/lines`, { method: "POST", body: "{}", headers: { Origin: "https://evil.example", "Content-Type": "application/json" } });
  assert.equal(refused.status, 403);
  assertSecurityHeaders(refused, "a refusal");
  await refused.json();
});

/** One request with exactly these headers (and the shopper's cookies), read as the envelope expects. */
async function raw(jar, method, path, { headers = {}, body } = {}) {
  const res = await fetch(stack.urls.demo + path, {
    method,
    headers: { Cookie: [...jar].map(([k, v]) => `${k}=${v}`).join("; "), ...headers },
    body,
  });
  const text = await res.text();
  let parsed;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  // A refused call sets no cookie; one that went through keeps only the D1 bookmark it got.
  const set = res.headers.getSetCookie().filter((c) => res.status >= 400 || !c.startsWith("comptoir_bookmark="));
  assert.deepEqual(set, [], `${method} ${path}: sets no cookie`);
  return { status: res.status, headers: res.headers, text, body: parsed };
}

test("a state-changing call from another origin, without an Origin or without a JSON body changes nothing", async () => {
  const call = shopper();
  const added = await call("/api/cart/lines", { method: "POST", json: { market: "FR", sku: "BOOK-BISTRO", quantity: 2 } });
  assert.equal(added.status, 200);
  const coded = await call("/api/cart/discount-codes", { method: "POST", json: { market: "FR", code: "WELCOME10" } });
  assert.equal(coded.status, 200, JSON.stringify(coded.body));
  const before = (await call("/api/cart?market=FR")).body;
  const jar = new Map(added.jar);
  const lineId = (await stack.sf(`/v1/carts/${jar.get("comptoir_cart_FR")}`)).body.lines[0].id;
  const address = { first_name: "Eve", last_name: "Vil", line1: "1 rue X", city: "Paris", postal_code: "75001", country: "FR" };

  // Every state-changing route of functions/api, with the body it takes.
  const routes = [
    ["POST", "/api/cart/lines", { market: "FR", sku: "MUG-350", quantity: 5 }],
    ["PATCH", "/api/cart", { market: "FR", email: "eve@evil.example", shipping_address: address, shipping_method: "standard" }],
    ["POST", "/api/cart/discount-codes", { market: "FR", code: "WELCOME10" }],
    ["PATCH", `/api/cart/lines/${lineId}`, { market: "FR", quantity: 0 }],
    ["DELETE", `/api/cart/lines/${lineId}?market=FR`, undefined],
    ["DELETE", "/api/cart/discount-codes/WELCOME10?market=FR", undefined],
    ["POST", "/api/checkout", { market: "FR", version: before.cart.version, attempt: "evil" }],
  ];
  const own = stack.urls.demo;
  for (const [method, path, json] of routes) {
    const body = json === undefined ? undefined : JSON.stringify(json);
    const asJson = json === undefined ? {} : { "Content-Type": "application/json" };
    // Another origin, even with a perfect JSON body (a cross-site fetch or form).
    envelope(assert, await raw(jar, method, path, { headers: { Origin: "https://evil.example", ...asJson }, body }), 403, "forbidden");
    // A look-alike of our origin is another origin.
    envelope(assert, await raw(jar, method, path, { headers: { Origin: `${own}.evil.example`, ...asJson }, body }), 403, "forbidden");
    envelope(assert, await raw(jar, method, path, { headers: { Origin: "null", ...asJson }, body }), 403, "forbidden");
    // No Origin at all: browsers always send one on these methods, so this is not our page.
    envelope(assert, await raw(jar, method, path, { headers: asJson, body }), 403, "forbidden");
    // Our origin, but a body a cross-site form could send (text/plain, urlencoded, multipart) or none declared.
    const payload = body ?? "{}";
    for (const type of ["text/plain", "text/plain;charset=UTF-8", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application/json-patch+json"]) {
      envelope(assert, await raw(jar, method, path, { headers: { Origin: own, "Content-Type": type }, body: payload }), 415, "unsupported_media_type");
    }
    const untyped = await raw(jar, method, path, { headers: { Origin: own }, body: new Blob([payload]) });
    envelope(assert, untyped, 415, "unsupported_media_type");
    if (method !== "DELETE") {
      // POST and PATCH always need their JSON body, even an empty one.
      envelope(assert, await raw(jar, method, path, { headers: { Origin: own } }), 415, "unsupported_media_type");
    }
  }

  const after = (await call("/api/cart?market=FR")).body;
  assert.deepEqual(after, before, "the cart is exactly as it was");
  assert.equal(after.cart.status, "active", "no order placed");
  const orders = await stack.db.prepare("SELECT COUNT(*) AS n FROM orders WHERE cart_id = ?1").bind(jar.get("comptoir_cart_FR")).first();
  assert.equal(orders.n, 0);

  // The same calls from the store's own pages, with JSON (a DELETE needs no body), go through.
  const jsonType = "application/json; charset=utf-8";
  const patched = await raw(jar, "PATCH", `/api/cart/lines/${lineId}`, { headers: { Origin: own, "Content-Type": jsonType }, body: JSON.stringify({ market: "FR", quantity: 3 }) });
  assert.equal(patched.status, 200, patched.text);
  assert.equal(patched.body.cart.lines[0].quantity, 3);
  const uncoded = await raw(jar, "DELETE", "/api/cart/discount-codes/WELCOME10?market=FR", { headers: { Origin: own } });
  assert.equal(uncoded.status, 200, uncoded.text);
  assert.deepEqual(uncoded.body.cart.discount_codes, []);
  const removed = await raw(jar, "DELETE", `/api/cart/lines/${lineId}?market=FR`, { headers: { Origin: own, "Content-Type": "application/json" }, body: "{}" });
  assert.equal(removed.status, 200, removed.text);
  assert.deepEqual(removed.body.cart.lines, []);
  // Reads stay open: a GET needs no Origin.
  const read = await raw(jar, "GET", "/api/cart?market=FR");
  assert.equal(read.status, 200);
});

// ---- after the sale: a return asked for from the order page --------------------------------------

test("a shopper asks for a return through the Functions, with the order token only its browser holds", async () => {
  const call = shopper();
  await call("/api/cart/lines", { method: "POST", json: { market: "FR", sku: "CHOC-70", quantity: 3 } });
  await call("/api/cart/lines", { method: "POST", json: { market: "FR", sku: "COF-250", quantity: 1 } });
  const patched = await call("/api/cart", {
    method: "PATCH",
    json: { market: "FR", email: "rene@example.com", shipping_address: { first_name: "René", last_name: "Blanc", line1: "4 rue du Port", city: "Nantes", postal_code: "44000", country: "FR" }, shipping_method: "standard" },
  });
  assert.equal(patched.status, 200, JSON.stringify(patched.body));
  const placed = await call("/api/checkout", { method: "POST", json: { market: "FR", version: patched.body.cart.version, attempt: "ret" } });
  assert.equal(placed.status, 201, JSON.stringify(placed.body));
  const orderId = placed.body.order_id;
  const path = `/api/orders/${orderId}/returns`;
  const shown = await call(`/api/orders/${orderId}`);
  assert.equal(shown.status, 200);
  assert.deepEqual(shown.body.returns, []);
  const choc = shown.body.lines.find((l) => l.sku === "CHOC-70");
  const coffee = shown.body.lines.find((l) => l.sku === "COF-250");

  // Nothing has shipped yet: the storefront's refusal comes back in its envelope.
  const early = await call(path, { method: "POST", json: { lines: [{ line_id: choc.id, quantity: 1, reason: "damaged" }] } });
  assert.equal(early.status, 422, JSON.stringify(early.body));
  assert.equal(early.body.error.code, "validation_failed");
  assert.equal(early.body.error.details.field, "lines");

  // The merchant is paid and ships the chocolate (not the coffee).
  const admin = bearer(await adminToken({ scope: "orders:read orders:write" }));
  const paid = await stack.bo(`/admin/v1/orders/${orderId}/mark-paid`, { method: "POST", json: {}, headers: admin });
  assert.equal(paid.status, 200, paid.text);
  const shipped = await stack.bo(`/admin/v1/orders/${orderId}/fulfillments`, { method: "POST", json: { lines: [{ line_id: choc.id, quantity: 3 }] }, headers: admin });
  assert.ok(shipped.status === 200 || shipped.status === 201, shipped.text);

  // Refused before the storefront is asked: another origin, no Origin, or a body that is not JSON.
  const jar = new Map(placed.jar);
  const ask = JSON.stringify({ lines: [{ line_id: choc.id, quantity: 1, reason: "damaged" }] });
  envelope(assert, await raw(jar, "POST", path, { headers: { Origin: "https://evil.example", "Content-Type": "application/json" }, body: ask }), 403, "forbidden");
  envelope(assert, await raw(jar, "POST", path, { headers: { "Content-Type": "application/json" }, body: ask }), 403, "forbidden");
  for (const type of ["text/plain", "application/x-www-form-urlencoded"]) {
    envelope(assert, await raw(jar, "POST", path, { headers: { Origin: stack.urls.demo, "Content-Type": type }, body: ask }), 415, "unsupported_media_type");
  }
  // Another browser (no order cookie) gets 404, even with the token in the body.
  const stranger = await shopper()(path, { method: "POST", json: { lines: [{ line_id: choc.id, quantity: 1, reason: "damaged" }], order_token: jar.get(`comptoir_${orderId}`) } });
  assert.equal(stranger.status, 404, JSON.stringify(stranger.body));
  assert.equal(stranger.body.error.code, "not_found");
  const untouched = await stack.db.prepare("SELECT COUNT(*) AS n FROM returns WHERE order_id = ?1").bind(orderId).first();
  assert.equal(untouched.n, 0, "no return created");

  // From the store's own page, as JSON: 201 with the return, requested.
  const body = { lines: [{ line_id: choc.id, quantity: 2, reason: "damaged" }], note: "Two bars arrived melted.", attempt: "first" };
  const made = await call(path, { method: "POST", json: body });
  assert.equal(made.status, 201, JSON.stringify(made.body));
  assert.match(made.body.id, /^ret_/);
  assert.equal(made.body.order_id, orderId);
  assert.equal(made.body.status, "requested");
  assert.equal(made.body.opened_by, "customer");
  assert.equal(made.body.note, "Two bars arrived melted.");
  assert.deepEqual(made.body.lines.map((l) => [l.line_id, l.quantity, l.reason, l.received_quantity]), [[choc.id, 2, "damaged", 0]]);
  // A double submit (same attempt) replays that answer: still one return.
  const replayed = await call(path, { method: "POST", json: body });
  assert.equal(replayed.status, 201, JSON.stringify(replayed.body));
  assert.equal(replayed.body.id, made.body.id);

  // Beyond what is left (3 shipped, 2 asked for) and an unshipped line: the storefront's 422.
  for (const lines of [[{ line_id: choc.id, quantity: 2, reason: "changed_mind" }], [{ line_id: coffee.id, quantity: 1, reason: "other" }]]) {
    const refused = await call(path, { method: "POST", json: { lines } });
    assert.equal(refused.status, 422, JSON.stringify(refused.body));
    assert.equal(refused.body.error.code, "validation_failed");
    assert.equal(refused.body.error.details.field, "lines");
  }

  // The order page reads the return back.
  const after = await call(`/api/orders/${orderId}`);
  assert.equal(after.status, 200);
  assert.deepEqual(after.body.returns.map((r) => [r.id, r.status]), [[made.body.id, "requested"]]);
  assert.equal(after.body.lines.find((l) => l.id === choc.id).fulfilled_quantity, 3);
  const stored = await stack.db.prepare("SELECT COUNT(*) AS n FROM returns WHERE order_id = ?1").bind(orderId).first();
  assert.equal(stored.n, 1);
});
