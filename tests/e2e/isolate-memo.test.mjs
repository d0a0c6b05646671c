// The storefront's isolate memo as deployed (ISOLATE_CACHE_SECONDS): a warm isolate reuses the
// channel and the catalog version it read from KV for the window, then reads KV again, so an
// admin change reaches it within the window even under steady traffic. Locally the memo is off
// (every other test sees changes at once); here it is on, with a 3 s window.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { startStack, envelope, d1RoundTrips } from "./harness.mjs";
import { adminToken, bearer } from "./tokens.mjs";

const WINDOW_MS = 3000;
let stack;
let writer;
before(async () => {
  stack = await startStack({ vars: { ISOLATE_CACHE_SECONDS: String(WINDOW_MS / 1000) } });
  writer = bearer(await adminToken({ scope: "catalog:write catalog:read" }));
});
after(() => stack?.dispose());

/** Polls every 100 ms (a steady trickle of traffic) until `check` holds; ms waited, or null. */
async function until(check, limitMs) {
  const start = Date.now();
  while (Date.now() - start <= limitMs) {
    if (await check()) return Date.now() - start;
    await sleep(100);
  }
  return null;
}

const product = (amount) => ({
  handle: "memo-mug",
  title: "Memo Mug",
  description: "A mug.",
  status: "published",
  variants: [{ sku: "MEMO-MUG", title: "One size", tax_class: "standard", weight_grams: 300, prices: { FR: { amount, currency: "EUR" } } }],
});
const price = async () => (await stack.sf("/v1/products/memo-mug?market=FR")).body.variants?.[0]?.price.amount;

test("a price change reaches a warm isolate once its window has passed, under steady traffic", async () => {
  const put = (amount) => stack.bo("/admin/v1/products/prod_memo_mug", { method: "PUT", headers: writer, json: product(amount) });
  assert.equal((await put("10.00")).status, 201);
  const readAt = Date.now();
  assert.equal(await price(), "10.00", "the first read goes to KV and D1, and is remembered");
  assert.equal((await put("12.00")).status, 200);
  const soon = await price();
  if (Date.now() - readAt < WINDOW_MS) {
    assert.equal(soon, "10.00", "within the window the isolate reuses the catalog version it read");
  }
  const waited = await until(async () => (await price()) === "12.00", WINDOW_MS + 5000);
  assert.notEqual(waited, null, "the new price shows once the window has passed");
});

test("a rotated publishable key stops working once the window has passed; the new one works at once", async () => {
  const created = await stack.bo("/admin/v1/channels/memo-kiosk", {
    method: "PUT",
    headers: writer,
    json: { name: "Memo kiosk", markets: ["FR"], allowed_origins: [] },
  });
  assert.equal(created.status, 201, created.text);
  const oldKey = created.body.publishable_key;
  const markets = (key) => stack.sfRaw("/v1/markets", { headers: { "X-Publishable-Key": key } });
  const readAt = Date.now();
  assert.equal((await markets(oldKey)).status, 200);

  const rotated = await stack.bo("/admin/v1/channels/memo-kiosk/rotate-key", { method: "POST", headers: writer });
  assert.equal(rotated.status, 200, rotated.text);
  assert.equal((await markets(rotated.body.publishable_key)).status, 200, "a key never seen is looked up, not memoized");
  const soon = await markets(oldKey);
  if (Date.now() - readAt < WINDOW_MS) {
    assert.equal(soon.status, 200, "within the window the isolate reuses the channel it read");
  }
  const waited = await until(async () => (await markets(oldKey)).status === 401, WINDOW_MS + 5000);
  assert.notEqual(waited, null, "the old key is refused once the window has passed");
  envelope(assert, await markets(oldKey), 401, "unauthorized");
});

test("a key that matches no channel is looked up once per window, not on every request", async () => {
  const unknown = "pk_0123456789abcdef0123456789abcdef";
  const ask = () => stack.sfRaw("/v1/markets", { headers: { "X-Publishable-Key": unknown } });
  const askedAt = Date.now();
  const first = await ask();
  envelope(assert, first, 401, "unauthorized");
  assert.equal(d1RoundTrips(first.headers), 1, "the first request looks the key up in D1");
  const again = await ask();
  envelope(assert, again, 401, "unauthorized");
  if (Date.now() - askedAt < WINDOW_MS) {
    assert.equal(d1RoundTrips(again.headers), 0, "within the window the isolate remembers the key is unknown");
  }
  const waited = await until(async () => d1RoundTrips((await ask()).headers) === 1, WINDOW_MS + 5000);
  assert.notEqual(waited, null, "after the window it looks again");
});
