// The back-office: admin token checks, strict request bodies, and PUT /admin/v1/markets/{code}
// reaching the storefront at once.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startStack, envelope } from "./harness.mjs";
import { adminToken, unsignedToken, bearer } from "./tokens.mjs";

let stack;
let writer;
before(async () => {
  stack = await startStack();
  writer = bearer(await adminToken({ scope: "catalog:write" }));
});
after(() => stack?.dispose());

const FR = {
  currency: "EUR",
  countries: ["FR", "MC"],
  languages: ["fr", "en", "de"],
  tax_inclusive: true,
  tax_rates: { standard: "20", reduced: "5.5", zero: "0" },
};

async function marketRow(code) {
  return stack.db.prepare("SELECT * FROM markets WHERE code = ?1").bind(code).first();
}

test("admin routes refuse a missing, forged, expired, unsigned or misaddressed token with 401", async () => {
  const now = Math.floor(Date.now() / 1000);
  const bad = [
    {},
    { Authorization: "Basic YWRtaW46YWRtaW4=" },
    { Authorization: "Bearer" },
    { Authorization: "Bearer not.a.jwt" },
    bearer(unsignedToken({ aud: "comptoir-admin", exp: now + 600, scope: "catalog:write" })),
    bearer(await adminToken({ scope: "catalog:write", secret: "another-secret-that-is-long-enough-0123" })),
    bearer(await adminToken({ scope: "catalog:write", exp: now - 120 })),
    bearer(await adminToken({ scope: "catalog:write", aud: "comptoir-storefront" })),
    bearer(await adminToken({ scope: "catalog:write", aud: null })),
    bearer(await adminToken({ scope: "catalog:write", expiresIn: null })),
    bearer(await adminToken({ scope: "catalog:write", nbf: now + 600 })),
    bearer(await adminToken({ scope: "catalog:write", alg: "HS512" })),
  ];
  for (const headers of bad) {
    const res = await stack.bo("/admin/v1/markets/FR", { method: "PUT", headers, json: FR });
    envelope(assert, res, 401, "unauthorized");
  }
  assert.equal((await marketRow("FR")).languages, '["fr","en"]', "nothing was written");
});

test("a valid token without the catalog:write scope is 403", async () => {
  for (const scope of ["", "catalog:read", "orders:write inventory:write", "catalog:writer"]) {
    const res = await stack.bo("/admin/v1/markets/FR", { method: "PUT", headers: bearer(await adminToken({ scope })), json: FR });
    envelope(assert, res, 403, "forbidden");
  }
});

test("creating a market answers 201 with it; replacing answers 200 and keeps created_at", async () => {
  const de = { currency: "EUR", countries: ["DE", "AT"], tax_inclusive: true, tax_rates: { standard: "19", reduced: "7", zero: "0" }, rounding_mode: "half_even" };
  const created = await stack.bo("/admin/v1/markets/DE", { method: "PUT", headers: writer, json: de });
  assert.equal(created.status, 201, created.text);
  assert.deepEqual(
    { ...created.body, created_at: "*", updated_at: "*" },
    { code: "DE", currency: "EUR", countries: ["DE", "AT"], languages: [], tax_inclusive: true, tax_rates: { standard: "19", reduced: "7", zero: "0" }, rounding_mode: "half_even", tax_rounding: "line", created_at: "*", updated_at: "*" },
  );
  assert.match(created.body.created_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
  const replaced = await stack.bo("/admin/v1/markets/DE", { method: "PUT", headers: writer, json: { ...de, tax_rates: { standard: "19", reduced: "7.0", zero: "0" }, tax_rounding: "total" } });
  assert.equal(replaced.status, 200);
  assert.equal(replaced.body.created_at, created.body.created_at);
  assert.equal(replaced.body.tax_rounding, "total");
  assert.equal(replaced.body.tax_rates.reduced, "7");
});

test("a market change shows on the storefront at once", async () => {
  const before = await stack.sf("/v1/markets"); // warms the channel cache
  assert.deepEqual(before.body.data[0].languages, ["fr", "en"]);
  const res = await stack.bo("/admin/v1/markets/FR", { method: "PUT", headers: writer, json: FR });
  assert.equal(res.status, 200, res.text);
  const after = await stack.sf("/v1/markets");
  assert.deepEqual(after.body.data[0].languages, ["fr", "en", "de"]);
});

test("bad bodies get the envelope and change nothing", async () => {
  const snapshot = await marketRow("US");
  const put = (opts) => stack.bo("/admin/v1/markets/US", { method: "PUT", headers: { ...writer, ...opts.headers }, ...opts, headers: { ...writer, ...opts.headers } });
  envelope(assert, await put({ body: "{not json", headers: { "Content-Type": "application/json" } }), 400, "invalid_json");
  envelope(assert, await put({ body: "[1,2]", headers: { "Content-Type": "application/json" } }), 400, "invalid_json");
  envelope(assert, await put({ body: JSON.stringify(FR), headers: { "Content-Type": "text/plain" } }), 415, "unsupported_media_type");
  envelope(assert, await put({ body: JSON.stringify(FR) }), 415, "unsupported_media_type");
  const huge = JSON.stringify({ ...FR, languages: ["x".repeat(1024 * 1024)] });
  envelope(assert, await put({ body: huge, headers: { "Content-Type": "application/json" } }), 413, "payload_too_large");

  const unknown = envelope(assert, await put({ json: { ...FR, vat_number: "FR123" } }), 422, "unknown_field");
  assert.equal(unknown.details.field, "vat_number");
  const nested = envelope(assert, await put({ json: { ...FR, tax_rates: { ...FR.tax_rates, luxury: "33" } } }), 422, "unknown_field");
  assert.equal(nested.details.field, "tax_rates.luxury");

  const invalid = [
    [{ ...FR, currency: "XYZ" }, "currency"],
    [{ ...FR, currency: 978 }, "currency"],
    [{ ...FR, countries: [] }, "countries"],
    [{ ...FR, countries: ["France"] }, "countries[0]"],
    [{ ...FR, tax_inclusive: "true" }, "tax_inclusive"],
    [{ ...FR, tax_rates: { ...FR.tax_rates, standard: 20 } }, "tax_rates.standard"],
    [{ ...FR, tax_rates: { ...FR.tax_rates, standard: "20.12345" } }, "tax_rates.standard"],
    [{ ...FR, tax_rates: { standard: "20", zero: "0" } }, "tax_rates.reduced"],
    [{ ...FR, rounding_mode: "banker" }, "rounding_mode"],
    [{ countries: ["US"], tax_inclusive: false, tax_rates: FR.tax_rates }, "currency"],
  ];
  for (const [json, field] of invalid) {
    const err = envelope(assert, await put({ json }), 422, "validation_failed");
    assert.equal(err.details.field, field, JSON.stringify(json));
  }
  assert.deepEqual(await marketRow("US"), snapshot, "the market is unchanged");
});

test("a market with prices cannot switch currency", async () => {
  const res = await stack.bo("/admin/v1/markets/US", {
    method: "PUT",
    headers: writer,
    json: { currency: "CAD", countries: ["US"], tax_inclusive: false, tax_rates: { standard: "8.875", reduced: "4", zero: "0" } },
  });
  const err = envelope(assert, res, 422, "validation_failed");
  assert.equal(err.details.field, "currency");
  assert.equal((await marketRow("US")).currency, "USD");
});

test("a malformed market code is 400 naming the code", async () => {
  for (const code of ["fr", "F", "1FR", "FR%20X"]) {
    const err = envelope(assert, await stack.bo(`/admin/v1/markets/${code}`, { method: "PUT", headers: writer, json: FR }), 400, "invalid_parameter");
    assert.equal(err.details.field, "code");
  }
});

test("the storefront refuses bodies over 64 KiB with 413 before reading them", async () => {
  const res = await stack.sf("/v1/products", { method: "POST", body: "x".repeat(64 * 1024 + 1), headers: { "Content-Type": "application/json" } });
  envelope(assert, res, 413, "payload_too_large");
});
