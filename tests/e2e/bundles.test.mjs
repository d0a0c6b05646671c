// The two bundles: the storefront holds no admin code, and both deploy with wrangler.
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { spawnSync } from "node:child_process";
import { root, toolEnv } from "../../scripts/lib/proc.mjs";

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

for (const [worker, config] of [["storefront", "wrangler.toml"], ["backoffice", "wrangler.backoffice.toml"]]) {
  test(`wrangler deploy --dry-run succeeds for the ${worker} Worker`, () => {
    const outdir = fs.mkdtempSync(path.join(os.tmpdir(), `comptoir-${worker}-`));
    try {
      const r = spawnSync(path.join(root, "node_modules", ".bin", "wrangler"), ["deploy", "--dry-run", "--outdir", outdir, "-c", config], {
        cwd: root,
        encoding: "utf8",
        env: toolEnv({ CI: "true" }),
        timeout: 180_000,
      });
      assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
      assert.match(r.stdout, /env\.DB \(comptoir\)\s+D1 Database/);
      assert.match(r.stdout, /env\.CATALOG .*KV Namespace/);
      assert.match(r.stdout, /env\.ORDER_EVENTS \(comptoir-order-events\)\s+Queue/);
      assert.ok(fs.readdirSync(outdir).some((f) => f.endsWith(".wasm")), "the bundle holds the wasm module");
      // The test build's fault-injection seam (scripts/test-entry.mjs) is never deployed.
      for (const f of fs.readdirSync(outdir).filter((f) => /\.(m?js)$/.test(f))) {
        assert.doesNotMatch(fs.readFileSync(path.join(outdir, f), "utf8"), /X-Test-D1-Fault|FaultPlan/, `${f} holds the test seam`);
      }
    } finally {
      fs.rmSync(outdir, { recursive: true, force: true });
    }
  });
}
