// One description of both Workers for Miniflare (dev server, e2e tests, benchmarks), read from
// the wrangler configs so local runs and deploys cannot disagree on bindings or variables.
import fs from "node:fs";
import path from "node:path";
import { parse as parseToml } from "smol-toml";
import { Miniflare } from "miniflare";
import { root } from "./proc.mjs";

export const CONFIGS = { storefront: "wrangler.toml", backoffice: "wrangler.backoffice.toml" };

export function readConfig(worker) {
  return parseToml(fs.readFileSync(path.join(root, CONFIGS[worker]), "utf8"));
}

/** The Miniflare worker (a key of CONFIGS) whose wrangler config is named `name`. */
function workerNamed(name) {
  const found = Object.keys(CONFIGS).find((w) => readConfig(w).name === name);
  if (!found) throw new Error(`no Worker config is named ${name}`);
  return found;
}

/** KEY=value lines of a .dev.vars-style file; `#` comments and blank lines skipped. */
export function readVarsFile(file) {
  const vars = {};
  if (!fs.existsSync(file)) return vars;
  for (const line of fs.readFileSync(file, "utf8").split("\n")) {
    const m = line.match(/^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$/);
    if (m) vars[m[1]] = m[2].replace(/^"(.*)"$/, "$1");
  }
  return vars;
}

/** Local defaults of API.md, overridable from the shell environment. */
export const LOCAL_DEFAULTS = {
  ENVIRONMENT: "development",
  STRIPE_API_BASE: "https://api.stripe.com",
  DELIVERY_RETRY_BASE_SECONDS: "1",
  DELIVERY_MAX_ATTEMPTS: "8",
  UNPAID_ORDER_TTL_SECONDS: "1800",
  ALLOW_INSECURE_DESTINATIONS: "true",
  // Locally every admin change shows at once; production reuses KV reads for a few seconds.
  ISOLATE_CACHE_SECONDS: "0",
};
const SHELL_OVERRIDABLE = [
  "STRIPE_API_BASE",
  "STRIPE_SECRET_KEY",
  "DELIVERY_RETRY_BASE_SECONDS",
  "DELIVERY_MAX_ATTEMPTS",
  "UNPAID_ORDER_TTL_SECONDS",
  "ALLOW_INSECURE_DESTINATIONS",
  "ISOLATE_CACHE_SECONDS",
];

/**
 * Miniflare options for both Workers.
 * - `secretsFile`: the .dev.vars-style file with local secrets.
 * - `ports`: { storefront, backoffice } (0 picks a free port).
 * - `persistTo`: a directory for D1/KV/cache state, or undefined for in-memory state.
 * - `vars`: extra variables (tests set COMPTOIR_TEST_HOOKS).
 * - `queueMaxRetries`: the consumer's max_retries instead of the configured one (a test).
 */
export function miniflareOptions({ secretsFile, ports = { storefront: 0, backoffice: 0, demo: 0, admin: 0 }, persistTo, vars = {}, rateLimits = {}, onLog, demo = false, faults = false, queueMaxRetries }) {
  const secrets = readVarsFile(secretsFile);
  const fromShell = Object.fromEntries(SHELL_OVERRIDABLE.filter((k) => process.env[k] !== undefined).map((k) => [k, process.env[k]]));
  const workers = Object.keys(CONFIGS).map((name) => {
    const cfg = readConfig(name);
    const worker = {
      name,
      modules: true,
      // `faults`: the test entry module, with the D1 fault-injection seam (tests only).
      scriptPath: path.join(root, faults ? cfg.main.replace(/entry\.mjs$/, "test-entry.mjs") : cfg.main),
      modulesRules: [
        { type: "ESModule", include: ["**/*.js", "**/*.mjs"] },
        { type: "CompiledWasm", include: ["**/*.wasm"], fallthrough: true },
      ],
      compatibilityDate: cfg.compatibility_date,
      compatibilityFlags: cfg.compatibility_flags ?? [],
      bindings: { ...cfg.vars, ...LOCAL_DEFAULTS, ...secrets, ...fromShell, ...vars },
      // The configs hold no account ids (npm run deploy adds them): locally, names stand for them.
      d1Databases: Object.fromEntries((cfg.d1_databases ?? []).map((d) => [d.binding, d.database_id ?? d.database_name])),
      kvNamespaces: Object.fromEntries((cfg.kv_namespaces ?? []).map((k) => [k.binding, k.id ?? k.binding])),
      // Miniflare's Analytics Engine binding accepts data points and keeps none.
      analyticsEngineDatasets: Object.fromEntries((cfg.analytics_engine_datasets ?? []).map((d) => [d.binding, { dataset: d.dataset }])),
      queueProducers: Object.fromEntries((cfg.queues?.producers ?? []).map((q) => [q.binding, { queueName: q.queue }])),
      // Durable Objects: a binding by script name names the Worker whose config has that name.
      durableObjects: Object.fromEntries(
        (cfg.durable_objects?.bindings ?? []).map((d) => [
          d.name,
          { className: d.class_name, useSQLite: true, ...(d.script_name ? { scriptName: workerNamed(d.script_name) } : {}) },
        ]),
      ),
      unsafeDirectSockets: [{ host: "127.0.0.1", port: ports[name] }],
      // Local limits are high enough for load tests unless a caller (a test) sets its own.
      ratelimits: Object.fromEntries(
        (cfg.ratelimits ?? []).map((r) => [r.name, { simple: { limit: rateLimits[r.name] ?? 1_000_000, period: r.simple?.period ?? 60 } }]),
      ),
    };
    const consumers = cfg.queues?.consumers ?? [];
    if (consumers.length) {
      worker.queueConsumers = Object.fromEntries(
        consumers.map((c) => [
          c.queue,
          {
            maxBatchSize: c.max_batch_size,
            maxBatchTimeout: c.max_batch_timeout,
            maxRetries: queueMaxRetries ?? c.max_retries,
            deadLetterQueue: c.dead_letter_queue,
          },
        ]),
      );
    }
    return worker;
  });
  if (demo) workers.push(demoWorker(ports.demo ?? 0));
  const persist = persistTo
    ? { d1Persist: path.join(persistTo, "d1"), kvPersist: path.join(persistTo, "kv"), cachePersist: path.join(persistTo, "cache"), durableObjectsPersist: path.join(persistTo, "do") }
    : {};
  // `onLog` receives everything the Workers print (tests scan it for secrets).
  const stdio = onLog
    ? {
        handleRuntimeStdio(stdout, stderr) {
          stdout.on("data", (d) => onLog(d.toString()));
          stderr.on("data", (d) => onLog(d.toString()));
        },
      }
    : {};
  return { host: "127.0.0.1", port: 0, workers, ...persist, ...stdio };
}

/**
 * The demo storefront (Cloudflare Pages): the Functions compiled by build.mjs into
 * build/pages/index.js, in front of the static files of public/ (the ASSETS binding Pages
 * gives), with a service binding to the storefront Worker and the demo channel's key.
 */
function demoWorker(port) {
  return {
    name: "demo",
    modules: true,
    scriptPath: path.join(root, "build", "pages", "index.js"),
    compatibilityDate: "2026-04-01",
    bindings: { PUBLISHABLE_KEY: "pk_demo_web" },
    serviceBindings: { STOREFRONT: "storefront" },
    assets: {
      directory: path.join(root, "public"),
      binding: "ASSETS",
      routerConfig: { has_user_worker: true, invoke_user_worker_ahead_of_assets: true },
    },
    unsafeDirectSockets: [{ host: "127.0.0.1", port }],
  };
}

/**
 * The admin app (Cloudflare Pages, its own project): the Functions of admin/functions compiled
 * by build.mjs into build/admin/functions/index.js in front of build/admin/static, with a service
 * binding to the back-office Worker. The local sign-in's secrets come from the secrets file.
 * It runs in a Miniflare of its own: one Miniflare serves the static files of one directory only
 * (its asset storage service is shared by name), and the demo's are in another; its BACKOFFICE
 * binding forwards to the back office's local address.
 */
function adminWorker(port, secrets, backoffice, vars = {}) {
  const pick = ["ADMIN_JWT_SECRET", "ADMIN_APP_DEV_PASSWORD", "ADMIN_APP_SESSION_SECRET"];
  return {
    name: "admin",
    modules: true,
    scriptPath: path.join(root, "build", "admin", "functions", "index.js"),
    compatibilityDate: "2026-04-01",
    bindings: { ENVIRONMENT: "development", ...Object.fromEntries(pick.filter((k) => secrets[k]).map((k) => [k, secrets[k]])), ...vars },
    serviceBindings: { BACKOFFICE: backoffice },
    assets: {
      directory: path.join(root, "build", "admin", "static"),
      binding: "ASSETS",
      routerConfig: { has_user_worker: true, invoke_user_worker_ahead_of_assets: true },
    },
    unsafeDirectSockets: [{ host: "127.0.0.1", port }],
  };
}

/** Applies schema/migrations/*.sql not yet applied, tracked in `d1_migrations` as wrangler does. */
export async function migrate(db) {
  await db
    .prepare(
      "CREATE TABLE IF NOT EXISTS d1_migrations (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT UNIQUE, applied_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP NOT NULL)",
    )
    .run();
  const applied = new Set((await db.prepare("SELECT name FROM d1_migrations").all()).results.map((r) => r.name));
  const dir = path.join(root, "schema", "migrations");
  const files = fs.readdirSync(dir).filter((f) => f.endsWith(".sql")).sort();
  const done = [];
  for (const file of files) {
    if (applied.has(file)) continue;
    const statements = splitSql(fs.readFileSync(path.join(dir, file), "utf8"));
    // One batch: a migration applies whole or not at all.
    await db.batch([...statements.map((s) => db.prepare(s)), db.prepare("INSERT INTO d1_migrations (name) VALUES (?1)").bind(file)]);
    done.push(file);
  }
  return done;
}

/** Runs an idempotent SQL file (the demo seed) as one batch. */
export async function runSqlFile(db, file) {
  const statements = splitSql(fs.readFileSync(path.join(root, file), "utf8"));
  await db.batch(statements.map((s) => db.prepare(s)));
}

/** Splits SQL into statements on `;` at line ends, dropping `--` comment lines. */
export function splitSql(sql) {
  const lines = sql.split("\n").filter((l) => !l.trim().startsWith("--"));
  const parts = lines
    .join("\n")
    .split(/;\s*\n/)
    .map((s) => s.replace(/;\s*$/, "").trim())
    .filter(Boolean);
  // A trigger's body holds statements of its own: it runs from CREATE TRIGGER to its END.
  const out = [];
  for (const part of parts) {
    const last = out.at(-1);
    if (last && /^CREATE\s+TRIGGER\b/i.test(last) && !/\bEND$/i.test(last)) out[out.length - 1] = `${last};\n${part}`;
    else out.push(part);
  }
  return out;
}

/** Starts both Workers; resolves to the Miniflare instance and their URLs. */
export async function startWorkers(options) {
  const mf = new Miniflare(miniflareOptions(options));
  await mf.ready;
  const [storefront, backoffice] = await Promise.all([mf.unsafeGetDirectURL("storefront"), mf.unsafeGetDirectURL("backoffice")]);
  const urls = { storefront: storefront.origin, backoffice: backoffice.origin };
  if (options.demo) urls.demo = (await mf.unsafeGetDirectURL("demo")).origin;
  if (options.admin) {
    const secrets = readVarsFile(options.secretsFile);
    const backoffice = async (request) => {
      const url = new URL(request.url);
      const body = request.method === "GET" || request.method === "HEAD" ? undefined : await request.arrayBuffer();
      return fetch(urls.backoffice + url.pathname + url.search, { method: request.method, headers: request.headers, body });
    };
    const admin = new Miniflare({ host: "127.0.0.1", port: 0, workers: [adminWorker(options.ports?.admin ?? 0, secrets, backoffice, options.adminVars)] });
    try {
      await admin.ready;
      urls.admin = (await admin.unsafeGetDirectURL("admin")).origin;
    } catch (e) {
      await Promise.allSettled([admin.dispose(), mf.dispose()]);
      throw e;
    }
    // Disposing the stack disposes both.
    const dispose = mf.dispose.bind(mf);
    mf.dispose = () => Promise.allSettled([admin.dispose(), dispose()]).then(() => undefined);
  }
  return { mf, urls };
}
