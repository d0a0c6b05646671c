// `npm run deploy`: everything a Cloudflare account needs, in one pass, through wrangler.
//  1. builds both Workers, the demo's and the admin app's Functions (no test tool installed);
//  2. finds or creates the D1 database, the KV namespace, the queue and its dead-letter queue;
//  3. writes deploy configs with their ids into build/deploy/ (the repository's tomls hold
//     bindings, never account ids);
//  4. applies the D1 migrations remotely;
//  5. checks the Workers' secrets exist (stops, listing the `wrangler secret put` to run);
//  6. deploys the storefront (on workers.dev) and the back office (off workers.dev: reachable
//     through BACKOFFICE_ROUTE, a custom domain route, or only through service bindings);
//  7. bootstraps a first market and sales channel when the database has none (its publishable
//     key is shown once and given to the demo storefront);
//  8. deploys the demo storefront and the admin app as Pages projects (the admin app behind
//     Cloudflare Access: ACCESS_TEAM_DOMAIN and ACCESS_AUD in the environment).
// `npm run deploy -- --dry-run` does the same without an account: it shows what it would find or
// create, writes the deploy configs with placeholder ids, and runs `wrangler deploy --dry-run` of
// both Workers and the Functions builds. It changes nothing anywhere.
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { spawnSync } from "node:child_process";
import { root, step, toolEnv } from "./lib/proc.mjs";
import { build } from "./build.mjs";

const dryRun = process.argv.includes("--dry-run");
const out = path.join(root, "build", "deploy");
const WRANGLER = path.join(root, "node_modules", ".bin", "wrangler");

/** Runs wrangler; returns its stdout, or throws with its output. `ok` accepts a failure's text. */
function wrangler(args, { cwd = root, input, ok } = {}) {
  const r = spawnSync(WRANGLER, args, { cwd, encoding: "utf8", input, env: toolEnv({ CI: "true", WRANGLER_SEND_METRICS: "false" }), timeout: 300_000 });
  const text = `${r.stdout ?? ""}${r.stderr ?? ""}`;
  if (r.status !== 0 && !(ok && ok.test(text))) throw new Error(`wrangler ${args.join(" ")} failed:\n${text}`);
  return r.stdout ?? "";
}

function plan(message) {
  console.log(`  ${dryRun ? "would" : "→"} ${message}`);
}

function note(message) {
  console.log(`  ${message}`);
}

/** The secrets each Worker refuses to start without (one of each group), and the optional ones. */
export const SECRETS = {
  "comptoir-storefront": { required: [["ORDER_TOKEN_SECRET"]], optional: ["CUSTOMER_JWT_PUBLIC_KEYS", "CUSTOMER_JWT_SECRET", "STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET"] },
  "comptoir-backoffice": { required: [["ADMIN_JWT_SECRET", "ADMIN_JWT_PUBLIC_KEYS"]], optional: ["ORDER_TOKEN_SECRET", "STRIPE_SECRET_KEY"] },
};

// smol-toml is an npm package: imported once setup (in build) has installed the packages, so
// `npm run deploy` works on a clone where nothing is installed yet.
const toml = () => import("smol-toml");
const readToml = async (file) => (await toml()).parse(fs.readFileSync(path.join(root, file), "utf8"));

// ---- 2. resources ---------------------------------------------------------------------------

async function resources(storefront, backoffice) {
  const d1 = storefront.d1_databases[0].database_name;
  const kv = `${storefront.name.replace(/-storefront$/, "")}-${storefront.kv_namespaces[0].binding.toLowerCase()}`;
  const queue = storefront.queues.producers[0].queue;
  const dlq = backoffice.queues.consumers[0].dead_letter_queue;
  step(`resources: D1 ${d1}, KV ${kv}, queues ${queue} and ${dlq}`);
  if (dryRun) {
    for (const r of [`D1 database ${d1}`, `KV namespace ${kv}`, `queue ${queue}`, `queue ${dlq}`]) plan(`find or create the ${r}`);
    return { d1Id: "00000000-0000-4000-8000-000000000000", kvId: "00000000000000000000000000000000" };
  }
  const databases = JSON.parse(wrangler(["d1", "list", "--json"]));
  let d1Id = databases.find((d) => d.name === d1)?.uuid;
  if (!d1Id) {
    plan(`create the D1 database ${d1}`);
    d1Id = wrangler(["d1", "create", d1]).match(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/)?.[0];
    if (!d1Id) throw new Error("wrangler d1 create did not say the new database's id");
  }
  const namespaces = JSON.parse(wrangler(["kv", "namespace", "list"]));
  let kvId = namespaces.find((n) => n.title === kv)?.id;
  if (!kvId) {
    plan(`create the KV namespace ${kv}`);
    kvId = wrangler(["kv", "namespace", "create", kv]).match(/\b[0-9a-f]{32}\b/)?.[0];
    if (!kvId) throw new Error("wrangler kv namespace create did not say the new namespace's id");
  }
  for (const q of [queue, dlq]) {
    // `queues info` fails for a queue that does not exist.
    const known = spawnSync(WRANGLER, ["queues", "info", q], { cwd: root, encoding: "utf8", env: toolEnv({ CI: "true" }) }).status === 0;
    if (!known) {
      plan(`create the queue ${q}`);
      wrangler(["queues", "create", q]);
    }
  }
  return { d1Id, kvId };
}

// ---- 3. deploy configs ------------------------------------------------------------------------

/**
 * A Worker's deploy config: the repository's, with the account's ids, its paths made relative
 * to build/deploy/, no build step (built already) and, for the back office, its route.
 */
function deployConfig(config, ids) {
  const c = structuredClone(config);
  delete c.build;
  c.main = path.relative(out, path.join(root, c.main));
  for (const d of c.d1_databases ?? []) {
    d.database_id = ids.d1Id;
    d.migrations_dir = path.relative(out, path.join(root, d.migrations_dir));
  }
  for (const k of c.kv_namespaces ?? []) k.id = ids.kvId;
  if (c.name.endsWith("backoffice") && process.env.BACKOFFICE_ROUTE) {
    c.routes = [{ pattern: process.env.BACKOFFICE_ROUTE, custom_domain: true }];
  }
  return c;
}

async function writeConfigs(storefront, backoffice, ids) {
  const { stringify } = await toml();
  fs.mkdirSync(out, { recursive: true });
  const files = {};
  for (const [name, config] of [["storefront", storefront], ["backoffice", backoffice]]) {
    files[name] = path.join(out, `wrangler.${name}.toml`);
    fs.writeFileSync(files[name], `# Generated by npm run deploy: do not edit (the source is ../../wrangler*.toml).\n${stringify(deployConfig(config, ids))}\n`);
  }
  step(`deploy configs written: ${Object.values(files).map((f) => path.relative(root, f)).join(", ")}`);
  return files;
}

// ---- 5. secrets -----------------------------------------------------------------------------

function checkSecrets(files) {
  step("secrets");
  const missing = [];
  for (const [worker, config] of [["comptoir-storefront", files.storefront], ["comptoir-backoffice", files.backoffice]]) {
    const { required, optional } = SECRETS[worker];
    let present = [];
    if (!dryRun) {
      const listed = wrangler(["secret", "list", "--format", "json", "-c", config], { ok: /not found|does not exist|10007/i });
      try {
        present = JSON.parse(listed).map((s) => s.name);
      } catch {
        present = []; // not deployed yet: no secret yet
      }
    }
    for (const group of required) {
      const has = group.some((s) => present.includes(s));
      if (!has) missing.push(`npx wrangler secret put ${group[0]} -c ${path.relative(root, config)}${group.length > 1 ? `   # or ${group.slice(1).join(", ")}` : ""}`);
      note(`${worker} needs ${group.join(" or ")}${dryRun ? "" : has ? " (set)" : " (MISSING)"}`);
    }
    note(`${worker} may use ${optional.join(", ")}${dryRun ? "" : ` (set: ${optional.filter((s) => present.includes(s)).join(", ") || "none"})`}`);
  }
  if (missing.length && !dryRun) {
    throw new Error(`secrets missing; put them (32 bytes or more, never the .dev.vars.example values), then run npm run deploy again:\n  ${missing.join("\n  ")}`);
  }
}

/** The storefront's /health after its deploy: ok, or what it says is misconfigured. */
async function checkHealth(url) {
  try {
    const res = await fetch(`${url}/health`);
    note(`${url}/health: ${res.status} ${(await res.text()).slice(0, 200)}`);
  } catch (e) {
    note(`${url}/health did not answer yet (${e.message}); check it in a minute`);
  }
}

// ---- 7. bootstrap ---------------------------------------------------------------------------

/** SQL of a first market (BOOTSTRAP_MARKET, default FR in EUR, VAT included) and channel `web`. */
export function bootstrapSql(key, market = process.env.BOOTSTRAP_MARKET ?? "FR") {
  const presets = {
    FR: ["EUR", '["FR"]', '["fr","en"]', 1, '{"standard":"20","reduced":"5.5","zero":"0"}'],
    US: ["USD", '["US"]', '["en"]', 0, '{"standard":"0","reduced":"0","zero":"0"}'],
    GB: ["GBP", '["GB"]', '["en"]', 1, '{"standard":"20","reduced":"5","zero":"0"}'],
    DE: ["EUR", '["DE"]', '["de","en"]', 1, '{"standard":"19","reduced":"7","zero":"0"}'],
  };
  const p = presets[market];
  if (!p) throw new Error(`BOOTSTRAP_MARKET must be one of ${Object.keys(presets).join(", ")} (then adjust it with PUT /admin/v1/markets/{code})`);
  const now = new Date().toISOString();
  const hash = crypto.createHash("sha256").update(key).digest("hex");
  return [
    `INSERT INTO markets (code, currency, countries, languages, tax_inclusive, tax_rates, rounding_mode, tax_rounding, created_at, updated_at) VALUES ('${market}', '${p[0]}', '${p[1]}', '${p[2]}', ${p[3]}, '${p[4]}', 'half_up', 'line', '${now}', '${now}') ON CONFLICT (code) DO NOTHING;`,
    `INSERT INTO channels (id, name, key_hash, key_hint, created_at, updated_at) SELECT 'web', 'Web storefront', '${hash}', '${key.slice(-4)}', '${now}', '${now}' WHERE NOT EXISTS (SELECT 1 FROM channels);`,
    `INSERT INTO channel_markets (channel_id, market_code, position) SELECT 'web', '${market}', 0 WHERE EXISTS (SELECT 1 FROM channels WHERE id = 'web' AND key_hash = '${hash}') ON CONFLICT DO NOTHING;`,
  ].join("\n");
}

function bootstrap(files) {
  step("bootstrap: a first market and sales channel, if the database has none");
  if (dryRun) {
    plan("create market FR (or BOOTSTRAP_MARKET) and channel `web` with a new publishable key, shown once, when no channel exists");
    return null;
  }
  const count = JSON.parse(wrangler(["d1", "execute", "DB", "--remote", "--json", "--command", "SELECT count(*) AS n FROM channels", "-c", files.backoffice]));
  if (count[0].results[0].n > 0) {
    console.log("  channels exist already: nothing bootstrapped (the demo needs COMPTOIR_DEMO_KEY, a channel's publishable key)");
    return process.env.COMPTOIR_DEMO_KEY ?? null;
  }
  const key = `pk_${crypto.randomBytes(16).toString("hex")}`;
  // Shown before it is written: should wrangler fail after D1 committed, the key is not lost
  // (run npm run deploy again; it will find the channel and keep it).
  console.log(`  channel \`web\`: its publishable key, shown this once: ${key}`);
  wrangler(["d1", "execute", "DB", "--remote", "--command", bootstrapSql(key).replaceAll("\n", " "), "-c", files.backoffice]);
  console.log("  market and channel created");
  return key;
}

// ---- 8. Pages -------------------------------------------------------------------------------

/** A Pages project's deploy directory: its wrangler.toml, Functions and static files. */
async function pagesDir(name, { functions, statics, config, extra = [] }) {
  const { stringify } = await toml();
  const dir = path.join(out, name);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  fs.cpSync(path.join(root, functions), path.join(dir, "functions"), { recursive: true });
  fs.cpSync(path.join(root, statics), path.join(dir, "static"), { recursive: true });
  for (const [from, to] of extra) fs.cpSync(path.join(root, from), path.join(out, to), { recursive: true });
  fs.writeFileSync(path.join(dir, "wrangler.toml"), `# Generated by npm run deploy: do not edit.\n${stringify({ ...config, pages_build_output_dir: "static" })}\n`);
  return dir;
}

function deployPages(project, dir, secrets) {
  if (dryRun) {
    wrangler(["pages", "functions", "build", "functions", "--outdir", path.join(dir, ".dry-run")], { cwd: dir });
    plan(`deploy the Pages project ${project} (its Functions build)`);
    return;
  }
  wrangler(["pages", "project", "create", project, "--production-branch", "main"], { ok: /already exists|8000002/i });
  for (const [k, v] of Object.entries(secrets)) wrangler(["pages", "secret", "put", k, "--project-name", project], { input: v });
  const said = wrangler(["pages", "deploy", "static", "--project-name", project, "--branch", "main"], { cwd: dir });
  plan(`deployed the Pages project ${project}${said.match(/https:\/\/\S+\.pages\.dev/) ? ` at ${said.match(/https:\/\/\S+\.pages\.dev/)[0]}` : ""}`);
}

// ---- the pass -------------------------------------------------------------------------------

export async function deploy() {
  await build();
  const storefront = await readToml("wrangler.toml");
  const backoffice = await readToml("wrangler.backoffice.toml");
  if (!dryRun) {
    step("account");
    let who;
    try {
      who = JSON.parse(wrangler(["whoami", "--json"]));
    } catch {
      throw new Error("not signed in to Cloudflare: run `npx wrangler login` (or set CLOUDFLARE_API_TOKEN), then npm run deploy again");
    }
    note(`signed in as ${who.email ?? "an API token"}${process.env.CLOUDFLARE_ACCOUNT_ID ? ` (account ${process.env.CLOUDFLARE_ACCOUNT_ID})` : ""}`);
  }
  const ids = await resources(storefront, backoffice);
  const files = await writeConfigs(storefront, backoffice, ids);

  step("migrations");
  if (dryRun) plan(`apply schema/migrations (${fs.readdirSync(path.join(root, "schema", "migrations")).length} files) to ${storefront.d1_databases[0].database_name} --remote`);
  else wrangler(["d1", "migrations", "apply", "DB", "--remote", "-c", files.backoffice]);

  checkSecrets(files);

  step("Workers");
  // The back office first: it defines the hot-stock Durable Object class the storefront binds.
  for (const [name, file] of [["backoffice", files.backoffice], ["storefront", files.storefront]]) {
    const args = ["deploy", "-c", file];
    if (dryRun) args.push("--dry-run", "--outdir", path.join(out, `${name}-bundle`));
    const said = wrangler(args);
    const url = said.match(/https:\/\/\S+\.workers\.dev/)?.[0];
    plan(`deploy ${name}${dryRun ? ` (bundle checked: ${said.match(/Total Upload: [^\n]+/)?.[0] ?? "ok"})` : url ? ` at ${url}` : ""}`);
    if (url && !dryRun) await checkHealth(url);
  }
  if (!process.env.BACKOFFICE_ROUTE) console.log("  the back office is off workers.dev: set BACKOFFICE_ROUTE (e.g. admin-api.shop.example) to give it a custom domain");

  const key = bootstrap(files);

  step("Pages");
  const demo = await pagesDir("demo", {
    functions: "functions",
    statics: "public",
    config: { name: "comptoir-demo", compatibility_date: "2026-04-01", services: [{ binding: "STOREFRONT", service: storefront.name }] },
  });
  // A project deployed before keeps its PUBLISHABLE_KEY: a later deploy ships the demo's changes.
  const demoExists = !dryRun && /\bcomptoir-demo\b/.test(wrangler(["pages", "project", "list", "--json"]));
  if (key || dryRun || demoExists) deployPages("comptoir-demo", demo, key ? { PUBLISHABLE_KEY: key } : {});
  else note("demo storefront skipped: no publishable key (set COMPTOIR_DEMO_KEY to a channel's key)");

  const admin = await readToml("admin/wrangler.toml");
  const access = { ACCESS_TEAM_DOMAIN: process.env.ACCESS_TEAM_DOMAIN, ACCESS_AUD: process.env.ACCESS_AUD };
  const adminDir = await pagesDir("admin", {
    functions: "admin/functions",
    statics: "build/admin/static",
    // The admin Functions import the shared guard from ../../functions/lib (kept beside them).
    extra: [["functions/lib/guard.ts", "functions/lib/guard.ts"]],
    // The admin app's tokens must carry the issuer the back office checks, when it checks one.
    config: { ...admin, vars: { ...admin.vars, ...Object.fromEntries(Object.entries({ ...access, ADMIN_JWT_ISSUER: backoffice.vars?.ADMIN_JWT_ISSUER }).filter(([, v]) => v)) }, services: admin.services },
  });
  const adminNeeds = ["ACCESS_TEAM_DOMAIN", "ACCESS_AUD", "ADMIN_JWT_SECRET", "ADMIN_APP_STAFF"].filter((k) => !process.env[k]);
  if (dryRun || adminNeeds.length === 0) {
    const secrets = {};
    for (const k of ["ADMIN_JWT_SECRET", "ADMIN_APP_STAFF"]) if (process.env[k]) secrets[k] = process.env[k];
    deployPages("comptoir-admin", adminDir, secrets);
  } else {
    note(`admin app skipped: set ${adminNeeds.join(", ")} (docs/deploy.md, step 6)`);
  }
  if (!dryRun) {
    note("Stripe: register https://<storefront>/v1/payments/stripe/webhook for payment_intent.succeeded, charge.refunded, refund.updated and refund.failed, and put its signing secret as STRIPE_WEBHOOK_SECRET (docs/deploy.md)");
  }
  step(dryRun ? "dry run done: nothing was created or changed" : "deployed");
}

if (import.meta.url === `file://${process.argv[1]}`) {
  deploy().catch((e) => {
    console.error(e.message);
    process.exit(1);
  });
}
