// The bundles: the storefront holds no admin code, the storefront and the demo nothing of the
// admin app.
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { root } from "../../scripts/lib/proc.mjs";

const bundle = (worker) =>
  Buffer.concat(["index.js", "index_bg.wasm"].map((f) => fs.readFileSync(path.join(root, "build", worker, f)))).toString("latin1");

// Strings only admin code holds: route paths, the token audience, its secret's name, scopes.
const ADMIN_MARKERS = ["/admin/v1", "admin/v1", "comptoir-admin", "ADMIN_JWT_SECRET", "catalog:write", "markets/{code}"];

test("the storefront bundle contains no admin route, token check or admin schema", () => {
  const storefront = bundle("storefront");
  for (const marker of ADMIN_MARKERS) {
    assert.ok(!storefront.includes(marker), `storefront bundle contains ${marker}`);
  }
});

test("the back-office bundle does contain them (the check above can fail)", () => {
  const backoffice = bundle("backoffice");
  for (const marker of ADMIN_MARKERS) {
    assert.ok(backoffice.includes(marker), `back-office bundle lacks ${marker}`);
  }
});

// Strings only the admin app holds: its session cookie and audience, its Access header, its
// sign-in's setting, the path its pages call, a screen's words.
const ADMIN_APP_MARKERS = ["comptoir_admin_session", "comptoir-admin-app", "Cf-Access-Jwt-Assertion", "ADMIN_APP_DEV_PASSWORD", "/api/admin", "Replay all dead"];
const files = (dir) => fs.readdirSync(dir, { recursive: true }).map((f) => path.join(dir, f)).filter((f) => fs.statSync(f).isFile());
const text = (paths) => paths.map((f) => fs.readFileSync(f).toString("latin1")).join("\n");

test("the storefront and the demo storefront hold nothing of the admin app", () => {
  const shipped = {
    "storefront bundle": bundle("storefront"),
    "demo storefront's Functions": text(files(path.join(root, "build", "pages"))),
    "demo storefront's pages": text(files(path.join(root, "public"))),
  };
  for (const [name, content] of Object.entries(shipped)) {
    for (const marker of ADMIN_APP_MARKERS) assert.ok(!content.includes(marker), `${name} contains ${marker}`);
  }
});

test("the admin app's build does hold them (the check above can fail)", () => {
  const adminApp = text([...files(path.join(root, "build", "admin", "functions")), ...files(path.join(root, "build", "admin", "static"))]);
  for (const marker of ADMIN_APP_MARKERS) assert.ok(adminApp.includes(marker), `the admin app lacks ${marker}`);
});

// Each Worker's deploy bundle (wrangler deploy --dry-run) is checked by deploy.test.mjs.
