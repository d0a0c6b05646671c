// Starts both built Workers in workerd (Miniflare) with fresh in-memory D1, KV and queues,
// migrated and seeded with the demo data, and gives tests plain HTTP access to them.
import fs from "node:fs";
import http from "node:http";
import path from "node:path";
import { root } from "../../scripts/lib/proc.mjs";
import { startWorkers, migrate, runSqlFile, readVarsFile } from "../../scripts/lib/workers.mjs";
import { checkResponse } from "./contract.mjs";

export const DEMO_KEY = "pk_demo_web";
/** Local secrets, as API.md says tests may read them. */
export const SECRETS = readVarsFile(path.join(root, ".dev.vars.example"));

/**
 * What the Workers print, minus the one JSON line per request (thousands in a run; the tests
 * that read them capture the logs): warnings and errors still reach the test's output.
 */
let partial = "";
function quiet(text) {
  const lines = (partial + text).split("\n");
  partial = lines.pop();
  const kept = lines.filter((l) => !l.startsWith('{"request_id"'));
  if (kept.length) process.stdout.write(`${kept.join("\n")}\n`);
}

export async function startStack({ vars = {}, seed = true, rateLimits = {}, captureLogs = false, demo = false, admin = false, adminVars = {}, faults = false, queueMaxRetries } = {}) {
  const logs = [];
  const start = () =>
    startWorkers({
      secretsFile: path.join(root, ".dev.vars.example"),
      vars: { COMPTOIR_TEST_HOOKS: "1", ...vars },
      rateLimits,
      demo,
      admin,
      adminVars,
      faults,
      queueMaxRetries,
      onLog: captureLogs ? (text) => logs.push(text) : quiet,
    });
  // Migrating goes through Miniflare's synchronous D1 proxy, which on a loaded machine now and
  // then trips its own assertion (a worker-thread message not there yet): such a stack is shut
  // down and started afresh, up to three times, so a test never hangs or fails on it.
  let mf, urls, db, kv;
  for (let attempt = 1; ; attempt++) {
    ({ mf, urls } = await start());
    try {
      db = await mf.getD1Database("DB", "backoffice");
      await migrate(db);
      if (seed) await runSqlFile(db, "schema/seed/demo.sql");
      kv = await mf.getKVNamespace("CATALOG", "storefront");
      break;
    } catch (e) {
      await mf.dispose().catch(() => {});
      if (attempt >= 3) throw e;
      console.log(`startStack: attempt ${attempt} failed (${e?.message ?? e}); starting afresh`);
      logs.length = 0;
    }
  }

  const call = (base, worker) => async (pathname, { method = "GET", headers = {}, body, json, signal } = {}) => {
    const init = { method, headers: { ...headers }, signal };
    if (json !== undefined) {
      init.body = JSON.stringify(json);
      init.headers["Content-Type"] ??= "application/json";
    } else if (body !== undefined) {
      init.body = body;
      // A stream goes out chunked (no Content-Length); fetch wants it said.
      if (body instanceof ReadableStream) init.duplex = "half";
    }
    // A connection that workerd dropped before answering (seen only on a loaded machine, with
    // dozens of requests at once) is tried once more on a new connection, and only for a
    // request that may be sent twice: a GET, or one with an Idempotency-Key (the API answers a
    // repeat with the first answer, so a repeat can never apply twice).
    const repeatable = method === "GET" || Object.keys(init.headers).some((h) => h.toLowerCase() === "idempotency-key");
    let res;
    try {
      res = await fetch(base + pathname, init);
    } catch (e) {
      if (!repeatable || !(e instanceof TypeError) || typeof init.body === "object") throw e;
      console.log(`harness: ${method} ${pathname} lost its connection (${e.cause?.code ?? e.message}); sent once more`);
      res = await fetch(base + pathname, init);
    }
    const text = await res.text();
    let parsed = null;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      parsed = undefined;
    }
    // Every response is held to the contract (schema/openapi.yaml).
    checkResponse(worker, method, base + pathname, res.status, parsed);
    return { status: res.status, headers: res.headers, text, body: parsed };
  };

  return {
    mf,
    db,
    kv,
    urls,
    /** Drops a market's published catalog snapshot (value and version), as when it expires. */
    dropSnapshot: async (market) => {
      await kv.delete(`catalog:v1:${market}:version`);
      await kv.delete(`catalog:v1:${market}`);
    },
    /** What the Workers printed, when started with `captureLogs`. */
    logs: () => logs.join(""),
    /** Storefront request; the demo publishable key unless `headers` says otherwise. */
    sf: (p, opts = {}) => call(urls.storefront, "storefront")(p, { ...opts, headers: { "X-Publishable-Key": DEMO_KEY, ...opts.headers } }),
    /** Storefront request with exactly the given headers (no key added). */
    sfRaw: call(urls.storefront, "storefront"),
    bo: call(urls.backoffice, "backoffice"),
    /**
     * The rows of a read, over HTTP through the test entry's hook (stacks started with
     * `faults: true` only): immune to the synchronous D1 proxy's lost messages under load.
     */
    sql: async (query, ...params) => {
      const res = await fetch(`${urls.backoffice}/__test/sql`, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ sql: query, params }) });
      if (!res.ok) throw new Error(`__test/sql answered ${res.status}: ${await res.text()}`);
      return res.json();
    },
    dispose: () => mf.dispose(),
  };
}

/** Parses `Server-Timing` and returns the D1 round-trip count it reports. */
export function d1RoundTrips(headers) {
  const value = headers.get("server-timing") ?? "";
  const m = value.match(/^d1;desc="(\d+)";dur=\d+(\.\d+)?, app;dur=\d+(\.\d+)?$/);
  if (!m) throw new Error(`malformed Server-Timing: ${JSON.stringify(value)}`);
  return Number(m[1]);
}

/** Asserts the error envelope of API.md and returns the error object. */
export function envelope(assert, res, status, code) {
  assert.equal(res.status, status, `status of ${res.text}`);
  assert.match(res.headers.get("content-type") ?? "", /^application\/json/);
  assert.ok(res.body && typeof res.body.error === "object", `envelope in ${res.text}`);
  assert.deepEqual(Object.keys(res.body).sort(), ["error"]);
  assert.equal(res.body.error.code, code);
  assert.equal(typeof res.body.error.message, "string");
  assert.ok(res.body.error.message.length > 0);
  return res.body.error;
}

/** Validates each outbox row against the JSON Schema of its type (schema/events/); returns the types seen. */
export async function checkEventSchemas(assert, db) {
  const { default: Ajv2020 } = await import("ajv/dist/2020.js");
  const { default: addFormats } = await import("ajv-formats");
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats(ajv);
  const dir = path.join(root, "schema", "events");
  for (const file of fs.readdirSync(dir)) ajv.addSchema(JSON.parse(fs.readFileSync(path.join(dir, file), "utf8")));
  const rows = (await db.prepare("SELECT type, payload FROM outbox").all()).results;
  const seen = new Set();
  for (const row of rows) {
    const validate = ajv.getSchema(`https://comptoir.dev/schema/events/${row.type}.json`);
    assert.ok(validate, `a schema exists for ${row.type}`);
    assert.ok(validate(JSON.parse(row.payload)), `${row.type}: ${JSON.stringify(validate.errors?.slice(0, 3))}`);
    seen.add(row.type);
  }
  return { seen, rows };
}

/**
 * An HTTP server on 127.0.0.1 that keeps each request (`{method, url, headers, body}`, body as
 * a Buffer) and answers with `respond(request)` (default 204); `url` is where it listens,
 * `events()` the JSON bodies it got as `[path, event]`.
 */
export async function startReceiver(respond = async () => ({ status: 204 })) {
  const requests = [];
  const receiver = {
    requests,
    respond,
    url: "",
    events: () => requests.map((r) => [r.url, JSON.parse(r.body)]),
    close: () => new Promise((resolve) => server.close(resolve)),
  };
  const server = http.createServer(async (req, res) => {
    const chunks = [];
    for await (const chunk of req) chunks.push(chunk);
    const request = { method: req.method, url: req.url, headers: req.headers, body: Buffer.concat(chunks) };
    requests.push(request);
    try {
      const { status, body = "" } = await receiver.respond(request);
      res.writeHead(status).end(body);
    } catch (e) {
      res.writeHead(500).end(String(e?.stack ?? e));
    }
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  receiver.url = `http://127.0.0.1:${server.address().port}`;
  return receiver;
}

/** Polls `check` until it answers something truthy (a non-empty array counts), or fails. */
export async function until(what, check, seconds = 20) {
  const end = Date.now() + seconds * 1000;
  for (;;) {
    const value = await check();
    if (Array.isArray(value) ? value.length > 0 : value) return value;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
