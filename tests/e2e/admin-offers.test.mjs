// Shipping methods and discounts through the admin API, and the demo's seeded ones read back.
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

const eur = (amount) => ({ amount, currency: "EUR" });
const usd = (amount) => ({ amount, currency: "USD" });

test("the demo's shipping methods and WELCOME10 read back through the admin API", async () => {
  const standard = await stack.bo("/admin/v1/shipping-methods/standard", { headers: writer });
  assert.equal(standard.status, 200, standard.text);
  assert.deepEqual(standard.body.rates, {
    FR: { type: "free_over", amount: eur("4.90"), threshold: eur("50.00") },
    US: { type: "flat", amount: usd("7.95") },
  });
  const welcome = await stack.bo("/admin/v1/discounts/welcome10", { headers: writer });
  assert.equal(welcome.status, 200, welcome.text);
  assert.equal(welcome.body.code, "WELCOME10");
  assert.equal(welcome.body.kind, "percentage");
  assert.equal(welcome.body.value, "10");
});

test("a shipping method is created with per-market rates, then replaced", async () => {
  const body = {
    name: "Courier",
    countries: ["FR", "MC"],
    rates: {
      FR: { type: "weight_tiers", tiers: [{ up_to_grams: 5000, amount: eur("9.90") }, { up_to_grams: 1000, amount: eur("5.90") }] },
    },
  };
  const created = await stack.bo("/admin/v1/shipping-methods/courier", { method: "PUT", headers: writer, json: body });
  assert.equal(created.status, 201, created.text);
  assert.deepEqual(created.body.rates.FR.tiers.map((t) => t.up_to_grams), [1000, 5000], "tiers sorted by weight");
  assert.equal(created.body.enabled, true);
  const replaced = await stack.bo("/admin/v1/shipping-methods/courier", { method: "PUT", headers: writer, json: { ...body, enabled: false } });
  assert.equal(replaced.status, 200);
  assert.equal(replaced.body.created_at, created.body.created_at);
  assert.equal(replaced.body.enabled, false);
  const bad = [
    [{ ...body, rates: { FR: { type: "flat", amount: usd("1.00") } } }, "validation_failed", "rates.FR.amount.currency"],
    [{ ...body, rates: { DE: { type: "flat", amount: eur("1.00") } } }, "validation_failed", "rates.DE.amount"],
    [{ ...body, rates: { FR: { type: "flat", amount: eur("1.00"), per_item: true } } }, "unknown_field", "rates.FR.per_item"],
    [{ ...body, countries: ["France"] }, "validation_failed", "countries[0]"],
    [{ ...body, price: eur("1.00") }, "unknown_field", "price"],
  ];
  for (const [json, code, field] of bad) {
    const err = envelope(assert, await stack.bo("/admin/v1/shipping-methods/courier", { method: "PUT", headers: writer, json }), 422, code);
    assert.equal(err.details.field, field);
  }
  assert.equal((await stack.bo("/admin/v1/shipping-methods/courier", { headers: writer })).body.enabled, false, "unchanged");
});

test("discounts of every kind are created, codes are unique and upper-case", async () => {
  const kinds = [
    ["summer", { title: "Summer", code: "summer-24", kind: "percentage", value: "15", starts_at: "2026-06-01T00:00:00Z", ends_at: "2026-09-01T00:00:00Z", usage_limit: 500 }],
    ["five-off", { title: "Five off", kind: "fixed_amount", value: { FR: eur("5.00"), US: usd("5.00") }, conditions: { min_subtotal: { FR: eur("30.00") } } }],
    ["mugs", { title: "Mugs at 15", kind: "fixed_price", value: { FR: eur("15.00") }, target: "items", items: { skus: ["mug-350"] } }],
    ["ship", { title: "Free shipping", code: "SHIPFREE", kind: "free_shipping", stacking: "exclusive", priority: 5 }],
    ["coffee", { title: "Coffee 3 for 2", kind: "buy_x_get_y", value: { buy: 2, get: 1 }, target: "items", items: { product_ids: ["prod_coffee_beans"] } }],
  ];
  for (const [id, body] of kinds) {
    const res = await stack.bo(`/admin/v1/discounts/${id}`, { method: "PUT", headers: writer, json: body });
    assert.equal(res.status, 201, `${id}: ${res.text}`);
    const back = await stack.bo(`/admin/v1/discounts/${id}`, { headers: writer });
    assert.deepEqual(back.body, res.body);
  }
  const summer = await stack.bo("/admin/v1/discounts/summer", { headers: writer });
  assert.equal(summer.body.code, "SUMMER-24");
  assert.equal(summer.body.starts_at, "2026-06-01T00:00:00Z");
  const mugs = await stack.bo("/admin/v1/discounts/mugs", { headers: writer });
  assert.deepEqual(mugs.body.items.skus, ["MUG-350"]);
  assert.equal((await stack.bo("/admin/v1/discounts/coffee", { headers: writer })).body.value.percent, "100");

  const clash = envelope(assert, await stack.bo("/admin/v1/discounts/other", { method: "PUT", headers: writer, json: { title: "x", code: "welcome10", kind: "percentage", value: "5" } }), 422, "validation_failed");
  assert.equal(clash.details.field, "code");
  envelope(assert, await stack.bo("/admin/v1/discounts/other", { headers: writer }), 404, "not_found");
  const bad = envelope(assert, await stack.bo("/admin/v1/discounts/other", { method: "PUT", headers: writer, json: { title: "x", kind: "percentage", value: 10 } }), 422, "validation_failed");
  assert.equal(bad.details.field, "value");
  envelope(assert, await stack.bo("/admin/v1/discounts/other", { method: "PUT", headers: bearer(await adminToken({ scope: "catalog:read" })), json: {} }), 403, "forbidden");
});
