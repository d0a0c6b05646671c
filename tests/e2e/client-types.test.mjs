// The storefront's generated TypeScript types (functions/lib/storefront-api.d.ts) match the
// contract: regenerate them and compare (run `npm run client` after changing the OpenAPI file).
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { spawnSync } from "node:child_process";
import { CLIENT_TYPES, generate } from "../../scripts/client.mjs";
import { root } from "../../scripts/lib/proc.mjs";

test("the committed storefront API types are generated from the current contract", () => {
  const fresh = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "comptoir-types-")), "api.d.ts");
  generate(fresh);
  const committed = fs.readFileSync(CLIENT_TYPES, "utf8");
  assert.equal(committed, fs.readFileSync(fresh, "utf8"), "stale: run `npm run client`");
  assert.match(committed, /"\/v1\/carts\/\{id\}\/checkout"/);
  assert.doesNotMatch(committed, /\/admin\//, "no admin route in the storefront's types");
});

test("the demo storefront's Functions type-check against the generated client (tsc --strict)", () => {
  const r = spawnSync(path.join(root, "node_modules", ".bin", "tsc"), ["-p", path.join(root, "functions")], { cwd: root, encoding: "utf8" });
  assert.equal(r.status, 0, `tsc found errors:\n${r.stdout}${r.stderr}`);
});

test("the admin app's Functions type-check (tsc --strict)", () => {
  const r = spawnSync(path.join(root, "node_modules", ".bin", "tsc"), ["-p", path.join(root, "admin")], { cwd: root, encoding: "utf8" });
  assert.equal(r.status, 0, `tsc found errors:\n${r.stdout}${r.stderr}`);
});
