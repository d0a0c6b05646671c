// Bad input, fuzzed: every storefront and admin mutation receives broken bodies derived from a
// valid one (malformed JSON, lone surrogates, wrong types, huge and fractional numbers, deep
// nesting, odd unicode in field names, unknown fields, non-object bodies, oversize bodies). Each
// must answer 4xx in the error envelope and leave the database exactly as it was (a digest of
// every row of every table before and after each route's corpus). A seeded generator keeps runs
// reproducible (FUZZ_SEED, FUZZ_CASES per route).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import crypto from "node:crypto";
import http from "node:http";
import { startStack, DEMO_KEY } from "./harness.mjs";
import { adminToken } from "./tokens.mjs";

const SEED = Number(process.env.FUZZ_SEED ?? 20261126);
const CASES = Number(process.env.FUZZ_CASES ?? 40);
const frAddress = { first_name: "Jeanne", last_name: "Moreau", line1: "3 rue Oberkampf", city: "Paris", postal_code: "75011", country: "FR" };
const eur = (amount) => ({ amount, currency: "EUR" });

let stack;
let admin;
let ids;
before(async () => {
  // faults: the test entry, whose /__test/sql hook reads the database over HTTP for the digest
  // (Miniflare's synchronous D1 proxy loses a message now and then under this load).
  stack = await startStack({ faults: true });
  admin = {
    Authorization: `Bearer ${await adminToken({ scope: "catalog:write catalog:read inventory:write inventory:read orders:write orders:read destinations:write destinations:read" })}`,
  };
  // Something for every route to act on: a cart with a line, and an order.
  const cart = (await stack.sf("/v1/carts", { method: "POST", json: { market: "FR" } })).body.id;
  const withLine = (await stack.sf(`/v1/carts/${cart}/lines`, { method: "POST", json: { sku: "MUG-350", quantity: 1 } })).body;
  const buying = (await stack.sf("/v1/carts", { method: "POST", json: { market: "FR" } })).body.id;
  await stack.sf(`/v1/carts/${buying}/lines`, { method: "POST", json: { sku: "BOOK-BISTRO", quantity: 2 } });
  await stack.sf(`/v1/carts/${buying}`, { method: "PATCH", json: { email: "fuzz@example.fr", shipping_address: frAddress, shipping_method: "standard" } });
  const placed = await stack.sf(`/v1/carts/${buying}/checkout`, { method: "POST", json: { payment_provider: "manual" }, headers: { "Idempotency-Key": "fuzz-order" } });
  assert.equal(placed.status, 201, placed.text);
  ids = { cart, line: withLine.lines[0].id, order: placed.body.order.id, orderLine: placed.body.order.lines[0].id };
});
after(() => stack?.dispose());

/** Every mutation with a valid body: the corpus is derived from these. */
function routes() {
  return [
    ["storefront", "POST", "/v1/carts", { market: "FR" }],
    ["storefront", "POST", `/v1/carts/${ids.cart}/lines`, { sku: "MUG-350", quantity: 2 }],
    ["storefront", "PATCH", `/v1/carts/${ids.cart}/lines/${ids.line}`, { quantity: 3 }],
    ["storefront", "PATCH", `/v1/carts/${ids.cart}`, { email: "a@example.fr", shipping_address: frAddress, shipping_method: "standard", note: "ring twice" }],
    ["storefront", "POST", `/v1/carts/${ids.cart}/discount-codes`, { code: "WELCOME10" }],
    ["storefront", "POST", `/v1/carts/${ids.cart}/checkout`, { payment_provider: "manual" }],
    ["backoffice", "PUT", "/admin/v1/markets/FR", { currency: "EUR", countries: ["FR", "MC"], tax_inclusive: true, tax_rates: { standard: "20", reduced: "5.5", zero: "0" }, rounding_mode: "half_up", tax_rounding: "line", languages: ["fr"] }],
    ["backoffice", "PUT", "/admin/v1/channels/web", { name: "Web", markets: ["FR", "US"], allowed_origins: ["https://shop.example"] }],
    ["backoffice", "PUT", "/admin/v1/products/prod_cookbook", { handle: "bistro-cookbook", title: "The Bistro Cookbook", description: "x", status: "published", variants: [{ sku: "BOOK-BISTRO", title: "Hardcover", tax_class: "reduced", weight_grams: 900, prices: { FR: eur("35.00"), US: { amount: "39.00", currency: "USD" } } }] }],
    ["backoffice", "POST", "/admin/v1/products/import", { products: [{ id: "prod_new", handle: "new-thing", title: "New", description: "", status: "draft", variants: [{ sku: "NEW-1", title: "One", tax_class: "standard", weight_grams: 10, prices: { FR: eur("1.00") } }] }] }],
    ["backoffice", "PUT", "/admin/v1/inventory/MUG-350", { on_hand: 40, reason: "count" }],
    ["backoffice", "POST", "/admin/v1/inventory/MUG-350/adjustments", { delta: -1, reason: "broken" }],
    ["backoffice", "PUT", "/admin/v1/shipping-methods/courier", { name: "Courier", countries: ["FR"], rates: { FR: { type: "flat", amount: eur("5.00") } }, enabled: true }],
    ["backoffice", "PUT", "/admin/v1/discounts/spring", { title: "Spring", code: "SPRING", kind: "percentage", value: "5", stacking: "combinable", priority: 1, enabled: true }],
    ["backoffice", "PUT", "/admin/v1/destinations/erp", { url: "https://erp.example/hooks", events: ["order.confirmed"], enabled: true }],
    ["backoffice", "POST", `/admin/v1/orders/${ids.order}/cancel`, { reason: "customer asked" }, { optionalBody: true }],
    ["backoffice", "POST", `/admin/v1/orders/${ids.order}/fulfillments`, { lines: [{ line_id: ids.orderLine, quantity: 1 }], tracking: { carrier: "La Poste", number: "1", url: "https://t.example/1" } }],
    ["backoffice", "POST", `/admin/v1/orders/${ids.order}/refunds`, { lines: [{ line_id: ids.orderLine, quantity: 1 }], include_shipping: false, reason: "damaged" }],
  ];
}

// ---- the generator -----------------------------------------------------------------------------

function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ODD = ["\u0000", "\u202e\u202d", "🙂".repeat(300), "e\u0301", "\ufeff", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢", "\u2028\u2029", "' OR 1=1 --", "<script>alert(1)</script>", "%00", "x".repeat(5000)];
/** Raw JSON number texts no field takes: beyond every integer type or the doubles, or fractional
 * where only whole numbers (or strings) are valid. */
const NUMBERS = ["1e308", "-1e308", "1e999", "9007199254740993", "18446744073709551616", "-9223372036854775809", "0.5", "123456789012345678901234567890"];

/** Leaf paths of a JSON value: [["a"], ["b", 0, "c"], …]. */
function leaves(value, path = []) {
  if (value && typeof value === "object") {
    const entries = Array.isArray(value) ? value.map((v, i) => [i, v]) : Object.entries(value);
    if (!entries.length) return [path];
    return entries.flatMap(([k, v]) => leaves(v, [...path, k]));
  }
  return [path];
}

function setAt(value, path, replacement) {
  if (!path.length) return replacement;
  const copy = Array.isArray(value) ? [...value] : { ...value };
  copy[path[0]] = setAt(value[path[0]], path.slice(1), replacement);
  return copy;
}

/** A JSON text that must not be accepted, built from a valid body. */
function corrupt(body, rand, limit, optionalBody) {
  const pick = (xs) => xs[Math.floor(rand() * xs.length)];
  const valid = JSON.stringify(body);
  const kind = Math.floor(rand() * 9);
  switch (kind) {
    case 0: // truncated or with trailing garbage
      return rand() < 0.5 ? valid.slice(0, Math.max(1, Math.floor(rand() * (valid.length - 1)))) : `${valid}${pick(["}", ",", " x", "]", "{}"])}`;
    case 1: // a lone surrogate escape inside a string (invalid Unicode)
      return valid.replace(/"([^"]*)"/, `"$1\\ud800"`);
    case 2: // not an object
      // (An empty body is a valid "no body" where the body is optional.)
      return pick(["[]", "[1,2]", '"body"', "42", "null", "true", ...(optionalBody ? [] : ["", " "])]);
    case 3: // an unknown field with an odd name
      return JSON.stringify({ ...body, [`${pick(ODD).slice(0, 40)}_x`]: pick([1, "v", {}, []]) });
    case 4: { // a leaf replaced by a value of another type
      const path = pick(leaves(body));
      const current = path.reduce((v, k) => v?.[k], body);
      const others = [[], {}, true, 7, "text", [1, 2]].filter((x) => typeof x !== typeof current || Array.isArray(x) !== Array.isArray(current));
      return JSON.stringify(setAt(body, path, pick(others)));
    }
    case 5: { // a number leaf (or any leaf) replaced by an unrepresentable number
      const path = pick(leaves(body));
      const marker = "__NUMBER__";
      return JSON.stringify(setAt(body, path, marker)).replace(`"${marker}"`, pick(NUMBERS));
    }
    case 6: { // deep nesting in place of a leaf
      const depth = 200 + Math.floor(rand() * 5000);
      const path = pick(leaves(body));
      const marker = "__DEEP__";
      return JSON.stringify(setAt(body, path, marker)).replace(`"${marker}"`, "[".repeat(depth) + "]".repeat(depth));
    }
    case 7: // over the body limit
      return JSON.stringify({ ...body, padding: "p".repeat(limit + 1) });
    default: { // a string leaf replaced by odd unicode in a field that cannot hold it, or an object leaf dropped to a string
      const path = pick(leaves(body).filter((p) => p.length > 1)) ?? pick(leaves(body));
      return JSON.stringify(setAt(body, path.slice(0, -1), pick(ODD)));
    }
  }
}

// ---- state ---------------------------------------------------------------------------------------

/** A digest of every row of every table, except idempotency bookkeeping (see below). */
async function digest(exclude = []) {
  const tables = (await stack.sql("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%' ORDER BY name")).map((r) => r.name);
  const hash = crypto.createHash("sha256");
  for (const t of tables.filter((t) => !exclude.includes(t))) {
    const rows = await stack.sql(`SELECT * FROM "${t}" ORDER BY rowid`);
    hash.update(t).update(JSON.stringify(rows));
  }
  return hash.digest("hex");
}

async function send(worker, method, path, text, retried = false) {
  const base = worker === "storefront" ? stack.urls.storefront : stack.urls.backoffice;
  const headers = worker === "storefront" ? { "X-Publishable-Key": DEMO_KEY } : { ...admin };
  headers["Content-Type"] = "application/json";
  if (path.endsWith("/checkout")) headers["Idempotency-Key"] = crypto.randomUUID();
  let res;
  try {
    res = await fetch(base + path, { method, headers, body: text });
  } catch (e) {
    // A Worker answers an oversize body 413 from its Content-Length without reading it; workerd
    // then closes the connection, and a client still writing megabytes sees the reset before the
    // answer. Ask again the way a careful client does: headers first, then read the answer.
    if (text.length > 1024 * 1024 && /ECONNRESET|EPIPE/.test(e.cause?.code ?? e.cause?.message ?? "")) {
      return headersOnly(base + path, method, headers, Buffer.byteLength(text));
    }
    // workerd closes the connection of such an oversize request once it has answered: a small
    // request that the client's pool sent on that socket in the meantime is reset before it
    // reaches the Worker. Send it once more, on a new connection (the digest still proves that
    // nothing changed).
    if (!retried && /ECONNRESET|EPIPE/.test(e.cause?.code ?? e.cause?.message ?? "")) {
      return send(worker, method, path, text, true);
    }
    throw new Error(`${method} ${path} (${text.length} bytes: ${text.slice(0, 120)}): ${e.cause?.message ?? e.message}`);
  }
  const raw = await res.text();
  let body;
  try {
    body = JSON.parse(raw);
  } catch {
    body = undefined;
  }
  return { status: res.status, type: res.headers.get("content-type") ?? "", body, raw };
}

/** Sends only the request head (with its Content-Length) and reads the answer. */
function headersOnly(url, method, headers, length) {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers: { ...headers, "Content-Length": String(length) } }, (res) => {
      let raw = "";
      res.on("data", (d) => (raw += d));
      res.on("end", () => {
        req.destroy();
        let body;
        try {
          body = JSON.parse(raw);
        } catch {
          body = undefined;
        }
        resolve({ status: res.statusCode, type: res.headers["content-type"] ?? "", body, raw });
      });
    });
    req.on("error", reject);
    req.flushHeaders();
  });
}

test("every mutation refuses fuzzed bodies with a 4xx envelope and changes nothing", async () => {
  const rand = prng(SEED);
  const seen = new Map();
  for (const [worker, method, path, valid, { optionalBody = false } = {}] of routes()) {
    // A checkout stores its (4xx) answer under its Idempotency-Key so that a retry replays it:
    // that bookkeeping is the one table a refused checkout writes.
    const exclude = path.endsWith("/checkout") ? ["idempotency_keys"] : [];
    const limit = worker === "storefront" ? 64 * 1024 : path.endsWith("/import") ? 10 * 1024 * 1024 : 1024 * 1024;
    const before = await digest(exclude);
    for (let i = 0; i < CASES; i++) {
      const text = corrupt(valid, rand, limit, optionalBody);
      const res = await send(worker, method, path, text);
      const label = `${method} ${path} with ${text.length > 300 ? `${text.slice(0, 300)}… (${text.length} bytes)` : text}`;
      assert.ok(res.status >= 400 && res.status < 500, `${label} → ${res.status} ${res.raw.slice(0, 300)}`);
      assert.match(res.type, /^application\/json/, label);
      assert.equal(typeof res.body?.error?.code, "string", `${label} → ${res.raw.slice(0, 300)}`);
      assert.equal(typeof res.body.error.message, "string", label);
      seen.set(res.status, (seen.get(res.status) ?? 0) + 1);
    }
    assert.equal(await digest(exclude), before, `${method} ${path}: a refused request changed the database`);
  }
  // The corpus reached the parser, the validators and the body limit.
  for (const status of [400, 413, 422]) assert.ok(seen.get(status) > 0, `no ${status} in ${JSON.stringify([...seen])}`);
});

test("the valid bodies the fuzzer starts from are accepted (so the corpus is one mutation away from valid)", async () => {
  // Run last and only for routes whose success does not consume the fixtures of others.
  for (const [worker, method, path, valid] of routes().filter(([, , p]) => !/checkout|cancel|fulfillments|refunds/.test(p))) {
    const res = await send(worker, method, path, JSON.stringify(valid));
    assert.ok(res.status >= 200 && res.status < 300, `${method} ${path} → ${res.status} ${res.raw.slice(0, 300)}`);
  }
});
