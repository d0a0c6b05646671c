// Every event type, emitted by the real Workers, validated against its JSON Schema in
// schema/events/ (the contract back-office integrators code against).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startStack, checkEventSchemas } from "./harness.mjs";
import { adminToken, bearer } from "./tokens.mjs";

let stack;
let admin;
before(async () => {
  stack = await startStack();
  admin = bearer(await adminToken({ scope: "orders:write" }));
});
after(() => stack?.dispose());

const frAddress = { first_name: "Jeanne", last_name: "Martin", line1: "3 rue de la Paix", city: "Paris", postal_code: "75002", country: "FR" };
async function order(lines) {
  const cart = (await stack.sf("/v1/carts", { method: "POST", json: { market: "FR" } })).body.id;
  for (const [sku, quantity] of lines) await stack.sf(`/v1/carts/${cart}/lines`, { method: "POST", json: { sku, quantity } });
  await stack.sf(`/v1/carts/${cart}`, { method: "PATCH", json: { email: "j@example.fr", shipping_address: frAddress, shipping_method: "express" } });
  await stack.sf(`/v1/carts/${cart}/discount-codes`, { method: "POST", json: { code: "WELCOME10" } });
  const res = await stack.sf(`/v1/carts/${cart}/checkout`, { method: "POST", json: { payment_provider: "manual" }, headers: { "Idempotency-Key": `schema-${cart}` } });
  assert.equal(res.status, 201, res.text);
  return res.body.order;
}

test("every emitted event matches the JSON Schema of its type", async () => {
  await stack.db.prepare("UPDATE inventory_levels SET on_hand = 7 WHERE location = 'main' AND sku = 'KNIFE-20'").run();
  const a = await order([["KNIFE-20", 3], ["TOWEL-2", 1]]); // placed, inventory.low (7 -> 4)
  const act = (o, action, json) => stack.bo(`/admin/v1/orders/${o.id}/${action}`, { method: "POST", headers: admin, json });
  assert.equal((await act(a, "mark-paid", {})).status, 200);
  assert.equal((await act(a, "fulfillments", { lines: [{ line_id: a.lines[0].id, quantity: 3 }], tracking: { carrier: "DHL", number: "1" } })).status, 200);
  assert.equal((await act(a, "refunds", { lines: [{ line_id: a.lines[1].id, quantity: 1 }], include_shipping: true, reason: "late" })).status, 200);
  const b = await order([["CHOC-70", 1]]);
  const wrongType = await act(b, "cancel", { reason: ["not", "text"] });
  assert.equal(wrongType.status, 422, "a reason that is not text is refused, and the order stays as it was");
  assert.equal(wrongType.body.error.details.field, "reason");
  assert.equal((await act(b, "cancel", { reason: "customer called" })).status, 200);

  const { seen, rows } = await checkEventSchemas(assert, stack.db);
  assert.deepEqual([...seen].sort(), ["inventory.low", "order.canceled", "order.confirmed", "order.fulfilled", "order.placed", "order.refunded"]);
  const canceled = rows.map((r) => JSON.parse(r.payload)).find((e) => e.type === "order.canceled");
  assert.deepEqual(canceled.data.cancellation, { reason: "customer called" }, "the merchant's reason travels with the event");
});
