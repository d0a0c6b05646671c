// `npm run deploy -- --dry-run`, as a merchant runs it before having an account: it builds
// (installing no test tool), shows every resource it would find or create, the migrations,
// the secrets each Worker needs, writes deploy configs with ids (placeholders here) into
// build/deploy/, bundles both Workers with `wrangler deploy --dry-run` and builds both Pages
// projects' Functions. The repository's configs hold no account id; the back office is off
// workers.dev. The bootstrap SQL (a first market and channel) is run against a real local D1:
// the storefront then answers its new publishable key.
import { test } from "node:test";
import assert from "node:assert/strict";
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { spawnSync } from "node:child_process";
import { parse } from "smol-toml";
import { root, toolEnv } from "../../scripts/lib/proc.mjs";
import { bootstrapSql } from "../../scripts/deploy.mjs";
import { splitSql } from "../../scripts/lib/workers.mjs";
import { startStack } from "./harness.mjs";

const deployDir = path.join(root, "build", "deploy");
/** A TOML file as plain objects (smol-toml gives null-prototype ones). */
const toml = (file) => JSON.parse(JSON.stringify(parse(fs.readFileSync(file, "utf8"))));

function dryRun(env = {}) {
  // No account: wrangler's own config directory empty and no token, so nothing could reach
  // Cloudflare if it tried.
  const home = fs.mkdtempSync(path.join(root, "build", "deploy-home-"));
  try {
    const r = spawnSync(process.execPath, ["scripts/deploy.mjs", "--dry-run"], {
      cwd: root,
      encoding: "utf8",
      env: toolEnv({ XDG_CONFIG_HOME: home, CLOUDFLARE_API_TOKEN: "", CLOUDFLARE_ACCOUNT_ID: "", ...env }),
      timeout: 600_000,
    });
    return { status: r.status, out: `${r.stdout}${r.stderr}` };
  } finally {
    fs.rmSync(home, { recursive: true, force: true });
  }
}

test("the deploy dry run plans every step, writes deploy configs and bundles everything, changing nothing", () => {
  const { status, out } = dryRun({ BACKOFFICE_ROUTE: "admin-api.shop.example" });
  assert.equal(status, 0, out);
  for (const line of [
    /would find or create the D1 database comptoir/,
    /would find or create the KV namespace comptoir-catalog/,
    /would find or create the queue comptoir-order-events\n/,
    /would find or create the queue comptoir-order-events-dlq/,
    /would apply schema\/migrations \(\d+ files\) to comptoir --remote/,
    /comptoir-storefront needs ORDER_TOKEN_SECRET/,
    /comptoir-backoffice needs ADMIN_JWT_SECRET or ADMIN_JWT_PUBLIC_KEYS/,
    /would deploy storefront \(bundle checked: Total Upload: [\d.]+ KiB \/ gzip: [\d.]+ KiB\)/,
    /would deploy backoffice \(bundle checked/,
    /would create market FR .* and channel `web`/,
    /would deploy the Pages project comptoir-demo/,
    /would deploy the Pages project comptoir-admin/,
    /dry run done: nothing was created or changed/,
  ]) {
    assert.match(out, line);
  }
  assert.doesNotMatch(out, /installing schemathesis|installing Debian's chromium/, "a deploy installs no test tool");

  const storefront = toml(path.join(deployDir, "wrangler.storefront.toml"));
  const backoffice = toml(path.join(deployDir, "wrangler.backoffice.toml"));
  for (const config of [storefront, backoffice]) {
    assert.ok(fs.existsSync(path.join(deployDir, config.main)), `${config.name}: main resolves from build/deploy`);
    assert.ok(fs.existsSync(path.join(deployDir, config.d1_databases[0].migrations_dir, "0001_init.sql")) || fs.readdirSync(path.join(deployDir, config.d1_databases[0].migrations_dir)).length > 0);
    assert.match(config.d1_databases[0].database_id, /^[0-9a-f-]{36}$/);
    assert.match(config.kv_namespaces[0].id, /^[0-9a-f]{32}$/);
    assert.equal(config.build, undefined, "built already: no build step at deploy");
    assert.equal(config.observability?.enabled, true);
  }
  assert.equal(storefront.workers_dev, true);
  assert.equal(backoffice.workers_dev, false, "the admin API is not on a public workers.dev address");
  assert.deepEqual(backoffice.routes, [{ pattern: "admin-api.shop.example", custom_domain: true }]);
  assert.equal(storefront.routes, undefined);

  // What was bundled holds the Workers, never the tests' fault-injection seam.
  for (const name of ["storefront", "backoffice"]) {
    const bundle = path.join(deployDir, `${name}-bundle`);
    assert.ok(fs.readdirSync(bundle).some((f) => f.endsWith(".wasm")), `${name}: the bundle holds the wasm module`);
    for (const f of fs.readdirSync(bundle).filter((f) => /\.m?js$/.test(f))) {
      assert.doesNotMatch(fs.readFileSync(path.join(bundle, f), "utf8"), /X-Test-D1-Fault|FaultPlan/, `${f} holds the test seam`);
    }
  }
  // Both Pages projects: their config binds the Worker they call; their Functions built.
  const demo = toml(path.join(deployDir, "demo", "wrangler.toml"));
  assert.deepEqual(demo.services, [{ binding: "STOREFRONT", service: "comptoir-storefront" }]);
  const admin = toml(path.join(deployDir, "admin", "wrangler.toml"));
  assert.deepEqual(admin.services, [{ binding: "BACKOFFICE", service: "comptoir-backoffice" }]);
  assert.equal(admin.vars.ENVIRONMENT, "production");
  for (const dir of ["demo", "admin"]) {
    assert.ok(fs.existsSync(path.join(deployDir, dir, ".dry-run", "index.js")), `${dir}: its Functions built`);
    assert.ok(fs.existsSync(path.join(deployDir, dir, "static", "index.html")), `${dir}: its static files`);
  }
  assert.ok(fs.existsSync(path.join(deployDir, "admin", "static", "app.js")), "the admin app's bundle");
});

test("the repository's Worker configs hold bindings and no account id", () => {
  for (const file of ["wrangler.toml", "wrangler.backoffice.toml", "admin/wrangler.toml"]) {
    const text = fs.readFileSync(path.join(root, file), "utf8").split("\n").filter((l) => !l.trim().startsWith("#")).join("\n");
    assert.doesNotMatch(text, /^\s*(database_id|id)\s*=/m, `${file} holds an id`);
    assert.doesNotMatch(text, /your-team|replace-with|00000000-0000/, `${file} holds a placeholder`);
  }
});

test("the bootstrap makes a market and a channel whose new key the storefront accepts, once", async () => {
  const stack = await startStack({ seed: false });
  try {
    const key = `pk_${crypto.randomBytes(16).toString("hex")}`;
    const run = (sql) => stack.db.batch(splitSql(sql).map((s) => stack.db.prepare(s)));
    await run(bootstrapSql(key, "FR"));
    const markets = await stack.sfRaw("/v1/markets", { headers: { "X-Publishable-Key": key } });
    assert.equal(markets.status, 200, markets.text);
    assert.deepEqual(markets.body.data.map((m) => [m.code, m.currency, m.tax_inclusive]), [["FR", "EUR", true]]);
    // Run again (a second deploy) with another key: nothing changes, the first key still works.
    const other = `pk_${crypto.randomBytes(16).toString("hex")}`;
    await run(bootstrapSql(other, "FR"));
    assert.equal((await stack.sfRaw("/v1/markets", { headers: { "X-Publishable-Key": other } })).status, 401);
    assert.equal((await stack.sfRaw("/v1/markets", { headers: { "X-Publishable-Key": key } })).status, 200);
    assert.throws(() => bootstrapSql(key, "XX"), /BOOTSTRAP_MARKET must be one of/);
  } finally {
    await stack.dispose();
  }
});

test("the commands a fresh clone runs first import nothing that npm has not installed yet", () => {
  // npm run dev, test, build, setup and deploy start before `npm ci` has run: their modules
  // (and what they import at load time) may only use Node's own modules; packages are
  // imported once setup has installed them.
  const loaded = new Set();
  const visit = (file) => {
    if (loaded.has(file)) return;
    loaded.add(file);
    const source = fs.readFileSync(file, "utf8");
    for (const m of source.matchAll(/^import\s[^;]*?from\s+"([^"]+)";?$/gm)) {
      const spec = m[1];
      if (spec.startsWith(".")) visit(path.resolve(path.dirname(file), spec));
      else assert.match(spec, /^node:/, `${path.relative(root, file)} imports ${spec} at load time`);
    }
  };
  for (const script of ["dev", "test", "build", "setup", "deploy"]) visit(path.join(root, "scripts", `${script}.mjs`));
  assert.ok(loaded.size >= 6, [...loaded].join(", "));
});
