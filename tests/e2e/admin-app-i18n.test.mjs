// The admin app speaks English and French: every text its screens show through t("…") and every
// API word they show through word() (the enums of schema/openapi.yaml that reach a screen) has
// a French translation with the same {placeholders}.
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { root } from "../../scripts/lib/proc.mjs";
import { loadSpec } from "../../scripts/lib/openapi.mjs";
import { FR } from "../../admin/src/fr.js";

const src = path.join(root, "admin", "src");
const files = ["lib.js", "main.js", ...fs.readdirSync(path.join(src, "screens")).map((f) => `screens/${f}`)];

function texts() {
  const keys = new Set();
  for (const f of files) {
    const code = fs.readFileSync(path.join(src, f), "utf8");
    for (const m of code.matchAll(/\bt\(\s*"((?:[^"\\]|\\.)*)"/g)) keys.add(m[1]);
    // The plain-words table of API error codes (lib.js): `  code: "Sentence.",`.
    for (const m of code.matchAll(/^\s+[a-z_]+: "((?:[^"\\]|\\.)*)",$/gm)) keys.add(m[1]);
  }
  return [...keys];
}

const placeholders = (s) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

test("every text of the admin app's screens has a French translation with the same placeholders", () => {
  const keys = texts();
  assert.ok(keys.length > 150, `found only ${keys.length} texts: the extraction is broken`);
  const missing = keys.filter((k) => !FR[k]);
  assert.deepEqual(missing, [], "texts without a French translation");
  for (const k of keys) assert.deepEqual(placeholders(FR[k]), placeholders(k), `placeholders of "${k}"`);
});

test("every status, kind and reason a screen shows has its French word", () => {
  const spec = loadSpec().components.schemas;
  // The enum fields a screen shows, by schema.
  const shown = {
    Order: ["status", "payment_status", "fulfillment_status", "payment_provider", "cancel_reason", "kind", "source"],
    DraftOrder: ["status"],
    Return: ["status", "opened_by"],
    Refund: ["status", "kind"],
    Delivery: ["status"],
    Destination: ["disabled_reason"],
    Location: ["kind"],
    AdminProduct: ["status"],
    AdminDiscount: ["kind"],
  };
  const fields = [
    ...Object.entries(shown).flatMap(([schema, names]) => names.map((n) => [`${schema}.${n}`, spec[schema].properties[n]])),
    ["ReturnReason", spec.ReturnReason],
    ["OrderTimeline kind", spec.OrderTimeline.properties.data.items.properties.kind],
  ];
  for (const [name, field] of fields) assert.ok(Array.isArray(field?.enum), `${name} has an enum`);
  const enums = fields.flatMap(([, field]) => field.enum);
  assert.ok(enums.length > 40, `found only ${enums.length} API words`);
  const missing = enums.filter((v) => typeof v === "string").map((v) => v.replaceAll("_", " ")).filter((w) => !FR[w]);
  assert.deepEqual(missing, [], "API words without a French translation");
});
