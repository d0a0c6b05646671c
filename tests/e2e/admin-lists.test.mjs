// The admin list endpoints an admin app needs (API.md "The merchant's back office"): orders
// filtered by status, payment, fulfilment, market, dates and a search by number or email.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startStack, envelope, d1RoundTrips } from "./harness.mjs";
import { adminToken, bearer } from "./tokens.mjs";

let stack;
let admin;
before(async () => {
  stack = await startStack();
  admin = bearer(await adminToken({ scope: "orders:read orders:write catalog:read catalog:write" }));
});
after(() => stack?.dispose());

const frAddress = { first_name: "Jeanne", last_name: "Martin", line1: "3 rue de la Paix", city: "Paris", postal_code: "75002", country: "FR" };
const usAddress = { first_name: "Ann", last_name: "Lee", line1: "1 Main St", city: "Springfield", state: "IL", postal_code: "62701", country: "US" };
let keys = 0;
async function order(market, email, sku = "TOWEL-2") {
  const cart = (await stack.sf("/v1/carts", { method: "POST", json: { market } })).body.id;
  await stack.sf(`/v1/carts/${cart}/lines`, { method: "POST", json: { sku, quantity: 1 } });
  await stack.sf(`/v1/carts/${cart}`, { method: "PATCH", json: { email, shipping_address: market === "US" ? usAddress : frAddress, shipping_method: "standard" } });
  const res = await stack.sf(`/v1/carts/${cart}/checkout`, { method: "POST", json: { payment_provider: "manual" }, headers: { "Idempotency-Key": `lists-${++keys}` } });
  assert.equal(res.status, 201, res.text);
  return res.body.order;
}
const act = (id, path, json) => stack.bo(`/admin/v1/orders/${id}/${path}`, { method: "POST", headers: admin, json });
const ids = async (query) => {
  const res = await stack.bo(`/admin/v1/orders?limit=100&${query}`, { headers: admin });
  assert.equal(res.status, 200, `${query}: ${res.text}`);
  return res.body.data.map((o) => o.id);
};

test("orders are filtered by status, payment, fulfilment, market and dates, and found by number or email", async () => {
  const start = new Date(Date.now() - 1000).toISOString();
  const a = await order("FR", "Claire.Dubois@example.fr");
  const b = await order("FR", "claude@example.fr");
  const c = await order("US", "ann@example.com");
  assert.equal((await act(b.id, "mark-paid", {})).status, 200);
  assert.equal((await act(b.id, "fulfillments", { lines: [{ line_id: b.lines[0].id, quantity: 1 }] })).status, 200);
  assert.equal((await act(c.id, "mark-paid", {})).status, 200);
  const since = `created_after=${encodeURIComponent(start)}`;

  assert.deepEqual(await ids(since), [c.id, b.id, a.id], "newest first");
  assert.deepEqual(await ids(`${since}&payment_status=paid`), [c.id, b.id]);
  assert.deepEqual(await ids(`${since}&fulfillment_status=unfulfilled`), [c.id, a.id]);
  assert.deepEqual(await ids(`${since}&status=fulfilled`), [b.id]);
  assert.deepEqual(await ids(`${since}&market=US`), [c.id]);
  assert.deepEqual(await ids(`${since}&market=FR&payment_status=pending`), [a.id], "filters combine");
  assert.deepEqual(await ids("q=claire.dubois@EXAMPLE.fr"), [a.id], "an email, any case");
  assert.deepEqual(await ids("q=cla"), [b.id, a.id], "the beginning of an email");
  assert.deepEqual(await ids(`q=${b.number.toLowerCase()}`), [b.id], "a number, any case");
  assert.deepEqual(await ids("q=%25"), [], "LIKE wildcards are literal");
  assert.deepEqual(await ids(`created_before=${encodeURIComponent(start)}&q=cla`), []);
  assert.deepEqual(await ids(`created_after=${new Date(Date.now() + 86_400_000).toISOString().slice(0, 10)}`), [], "a date is midnight UTC");
  const page = await stack.bo(`/admin/v1/orders?${since}&limit=2`, { headers: admin });
  assert.deepEqual(page.body.data.map((o) => o.id), [c.id, b.id]);
  const rest = await stack.bo(`/admin/v1/orders?${since}&limit=2&cursor=${encodeURIComponent(page.body.next_cursor)}`, { headers: admin });
  assert.deepEqual([rest.body.data.map((o) => o.id), rest.body.next_cursor], [[a.id], null]);
  assert.equal(d1RoundTrips(rest.headers), 1);

  for (const [query, field] of [
    ["payment_status=settled", "payment_status"],
    ["fulfillment_status=shipped", "fulfillment_status"],
    ["created_after=yesterday", "created_after"],
    ["created_before=2026-02-30", "created_before"],
    [`q=${"x".repeat(255)}`, "q"],
    ["market=", "market"],
  ]) {
    const err = envelope(assert, await stack.bo(`/admin/v1/orders?${query}`, { headers: admin }), 400, "invalid_parameter");
    assert.equal(err.details.field, field, query);
  }
});
