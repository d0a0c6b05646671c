// `npm run bench`: the built Workers in workerd (Miniflare, no wrangler proxy), a 1,000-product
// catalog, and autocannon on 127.0.0.1, bounded in time. For each operation: requests/s and
// p50/p99 latency at concurrency 1 and 16, and the D1 round trips it reports in Server-Timing;
// the same runtime's ceilings (a fixed response; one D1 read) for comparison; bundle sizes,
// startup time, and the native pricing benchmark. Writes bench/results.json and prints a table.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import zlib from "node:zlib";
import { spawnSync } from "node:child_process";
import autocannon from "autocannon";
import { Miniflare } from "miniflare";
import { SignJWT } from "jose";
import net from "node:net";
import { root, step } from "./lib/proc.mjs";
import { isolateMemory } from "./lib/memory.mjs";
import { isolateStartup } from "./lib/startup.mjs";
import { build } from "./build.mjs";

const SECONDS = Number(process.env.BENCH_SECONDS ?? 4);
await build();
const { miniflareOptions, migrate, runSqlFile, readVarsFile, readConfig } = await import("./lib/workers.mjs");
const secrets = readVarsFile(path.join(root, ".dev.vars.example"));

// The ceilings: two minimal Workers on the same runtime, bound to the storefront's D1 and KV
// (locally their names stand for ids, as in scripts/lib/workers.mjs).
const ceilings = [
  { name: "ceiling-empty", modules: true, script: `export default { fetch() { return new Response("ok"); } }`, unsafeDirectSockets: [{ host: "127.0.0.1", port: 0 }] },
  {
    name: "ceiling-d1",
    modules: true,
    script: `export default { async fetch(req, env) { const r = await env.DB.prepare("SELECT sku, on_hand FROM inventory WHERE sku = ?1").bind("GEN-1-A").first(); return Response.json(r); } }`,
    d1Databases: { DB: "comptoir" },
    unsafeDirectSockets: [{ host: "127.0.0.1", port: 0 }],
  },
  // What a storefront request cost before the isolate memo: two small KV reads, then the D1 read.
  {
    name: "ceiling-kv-d1",
    modules: true,
    script: `export default { async fetch(req, env) { await env.CATALOG.get("catalog:v1:FR:version"); await env.CATALOG.get("catalog:v1:FR:version"); const r = await env.DB.prepare("SELECT sku, on_hand FROM inventory WHERE sku = ?1").bind("GEN-1-A").first(); return Response.json(r); } }`,
    d1Databases: { DB: "comptoir" },
    kvNamespaces: { CATALOG: "CATALOG" },
    unsafeDirectSockets: [{ host: "127.0.0.1", port: 0 }],
  },
];
// The storefront as deployed: its isolate memo on (local dev turns it off).
const memoSeconds = readConfig("storefront").vars.ISOLATE_CACHE_SECONDS;
// Hot reservations no order holds expire after 20 s here (600 deployed), so the flash sale can
// check that nothing stays reserved past the TTL without waiting ten minutes.
const HOT_TTL_SECONDS = 20;
const options = miniflareOptions({
  secretsFile: path.join(root, ".dev.vars.example"),
  vars: { ISOLATE_CACHE_SECONDS: process.env.ISOLATE_CACHE_SECONDS ?? memoSeconds, HOT_RESERVATION_TTL_SECONDS: String(HOT_TTL_SECONDS) },
});
options.workers.push(...ceilings);
// Each request's JSON log line (console.log, stdout) is read and dropped here: piped on into this
// process's terminal it cost Node, which also drives autocannon on the same cores, more than the
// Workers' own work (a deployed Worker hands the line to Workers Logs instead). Errors (stderr) still show.
let logLines = 0;
options.handleRuntimeStdio = (stdout, stderr) => {
  stdout.on("data", (d) => { logLines += d.toString().split("\n").length - 1; });
  stderr.pipe(process.stderr);
};
// workerd's inspector, to read the storefront isolate's memory (scripts/lib/memory.mjs).
const inspectorPort = await new Promise((resolve) => {
  const s = net.createServer().listen(0, "127.0.0.1", () => {
    const { port } = s.address();
    s.close(() => resolve(port));
  });
});
options.inspectorPort = inspectorPort;
const startedAt = performance.now();
const mf = new Miniflare(options);
await mf.ready;
const url = async (name) => (await mf.unsafeGetDirectURL(name)).origin;
const sf = await url("storefront");
const bo = await url("backoffice");
const health = await fetch(`${sf}/health`);
const startupMs = performance.now() - startedAt;
if (health.status !== 200) throw new Error("the storefront did not start");

step("seeding: demo data and a 1,000-product catalog");
const db = await mf.getD1Database("DB", "backoffice");
await migrate(db);
await runSqlFile(db, "schema/seed/demo.sql");
const admin = await new SignJWT({ scope: "catalog:write" }).setProtectedHeader({ alg: "HS256" }).setAudience("comptoir-admin").setExpirationTime("1h").sign(new TextEncoder().encode(secrets.ADMIN_JWT_SECRET));
const products = Array.from({ length: 1000 }, (_, i) => ({
  id: `prod_gen_${i}`, handle: `generated-${String(i).padStart(4, "0")}`, title: `Generated ${i}`, status: "published",
  variants: [{ sku: `GEN-${i}-A`, title: "A", tax_class: i % 3 ? "standard" : "reduced", weight_grams: 300, prices: { FR: { amount: `${10 + (i % 50)}.90`, currency: "EUR" } } }],
}));
const imported = await fetch(`${bo}/admin/v1/products/import`, { method: "POST", headers: { Authorization: `Bearer ${admin}`, "Content-Type": "application/json" }, body: JSON.stringify({ products }) });
if (imported.status !== 200) throw new Error(`import failed: ${await imported.text()}`);
await db.prepare("UPDATE inventory_levels SET on_hand = 1000000 WHERE location = 'main' AND sku LIKE 'GEN-%'").run();
// Three locations for one SKU: Lyon (FR, first by priority), main, and New Jersey (US only),
// for the checkout that allocates among them (beside the demo's Paris shop, which holds none).
const stockAdmin = await new SignJWT({ scope: "inventory:read inventory:write" }).setProtectedHeader({ alg: "HS256" }).setAudience("comptoir-admin").setExpirationTime("1h").sign(new TextEncoder().encode(secrets.ADMIN_JWT_SECRET));
for (const [id, body] of [["lyon", { name: "Lyon", kind: "warehouse", countries: ["FR"], priority: 10 }], ["nj", { name: "New Jersey", kind: "warehouse", countries: ["US"], priority: 20 }]]) {
  const put = await fetch(`${bo}/admin/v1/locations/${id}`, { method: "PUT", headers: { Authorization: `Bearer ${stockAdmin}`, "Content-Type": "application/json" }, body: JSON.stringify(body) });
  if (put.status !== 201) throw new Error(`location ${id}: ${await put.text()}`);
}
await db.prepare("INSERT INTO inventory_levels (sku, location, on_hand, reserved, updated_at) VALUES ('GEN-8-A', 'lyon', 1000000, 0, '2026-01-01T00:00:00Z'), ('GEN-8-A', 'nj', 1000000, 0, '2026-01-01T00:00:00Z')").run();

const key = { "X-Publishable-Key": "pk_demo_web", "Content-Type": "application/json" };
const address = { first_name: "Jeanne", last_name: "Martin", line1: "3 rue de la Paix", city: "Paris", postal_code: "75002", country: "FR" };
async function newCart(withLine, sku = "GEN-7-A") {
  const cart = (await (await fetch(`${sf}/v1/carts`, { method: "POST", headers: key, body: '{"market":"FR"}' })).json()).id;
  if (withLine) {
    await fetch(`${sf}/v1/carts/${cart}/lines`, { method: "POST", headers: key, body: JSON.stringify({ sku, quantity: 1 }) });
    await fetch(`${sf}/v1/carts/${cart}`, { method: "PATCH", headers: key, body: JSON.stringify({ email: "b@example.fr", shipping_address: address, shipping_method: "standard" }) });
  }
  return cart;
}
const roundTrips = (headers) => Number(/d1;desc="(\d+)"/.exec(headers.get("server-timing") ?? "")?.[1] ?? NaN);

async function measure(name, target, connections, setup) {
  if (connections === 1 && !setup) {
    await autocannon({ url: target.url, method: target.method ?? "GET", headers: target.headers, body: target.body, connections: 1, duration: 1 }); // warm-up
  }
  const opts = { url: target.url, method: target.method ?? "GET", headers: target.headers, body: target.body, connections, duration: SECONDS };
  if (setup) Object.assign(opts, await setup(connections));
  const r = await autocannon(opts);
  return { name, connections, rps: Math.round(r.requests.average), p50: r.latency.p50, p99: r.latency.p99, errors: r.errors + r.non2xx };
}

const getCart = await newCart(true);
const cartForAdds = await newCart(false);
// Adds spread over 50 carts and 200 SKUs, so no line reaches its 999 cap during the run.
const addCarts = [];
for (let i = 0; i < 50; i++) addCarts.push(await newCart(false));
let adds = 0;
const addSetup = () => ({
  requests: [{ setupRequest: (req) => {
    adds++;
    return { ...req, path: `/v1/carts/${addCarts[adds % 50]}/lines`, body: JSON.stringify({ sku: `GEN-${adds % 200}-A`, quantity: 1 }) };
  } }],
});
// Checkout needs a ready cart per request: prepare a pool and hand one out per request.
const pool = [];
// Enough ready carts for every checkout both runs can make (each checks out once; a cart used
// twice would count as an error), prepared 16 at a time.
const POOL = Math.max(1000, SECONDS * 800);
while (pool.length < POOL) pool.push(...(await Promise.all(Array.from({ length: 16 }, () => newCart(true)))));
let next = 0;
const checkoutSetup = () => ({
  requests: [{ setupRequest: (req) => ({ ...req, path: `/v1/carts/${pool[next++ % pool.length]}/checkout`, headers: { ...key, "Idempotency-Key": `bench-${next}-${Math.random()}` } }) }],
});
// The same for carts of the SKU held at three locations.
const pool3 = [];
while (pool3.length < POOL) pool3.push(...(await Promise.all(Array.from({ length: 16 }, () => newCart(true, "GEN-8-A")))));
let next3 = 0;
const checkout3Setup = () => ({
  requests: [{ setupRequest: (req) => ({ ...req, path: `/v1/carts/${pool3[next3++ % pool3.length]}/checkout`, headers: { ...key, "Idempotency-Key": `bench3-${next3}-${Math.random()}` } }) }],
});

// The ceilings run first, on a runtime nothing else has loaded yet: run after the checkouts they
// measured the background work those leave behind (outbox hand-offs, queue batches) as well.
const ops = [
  ["ceiling: fixed response", { url: await url("ceiling-empty") }],
  ["ceiling: one D1 read", { url: await url("ceiling-d1") }],
  ["reference: two KV reads + one D1 read", { url: await url("ceiling-kv-d1") }],
  ["GET product", { url: `${sf}/v1/products/generated-0500?market=FR`, headers: key }],
  ["create cart", { url: `${sf}/v1/carts`, method: "POST", headers: key, body: '{"market":"FR"}' }],
  ["add line", { url: `${sf}/v1/carts/${cartForAdds}/lines`, method: "POST", headers: key, body: '{"sku":"GEN-3-A","quantity":1}' }, addSetup],
  ["GET cart", { url: `${sf}/v1/carts/${getCart}`, headers: key }],
  ["checkout", { url: `${sf}/v1/carts/x/checkout`, method: "POST", headers: key, body: '{"payment_provider":"manual"}' }, checkoutSetup],
  ["checkout, 3 locations", { url: `${sf}/v1/carts/x/checkout`, method: "POST", headers: key, body: '{"payment_provider":"manual"}' }, checkout3Setup],
];
// Between runs, the previous run's background work finishes first: every outbox event handed to
// the queue, then a second for the queue's consumer.
async function settle() {
  for (let i = 0; i < 120; i++) {
    const { n } = await db.prepare("SELECT count(*) AS n FROM outbox WHERE sent_at IS NULL").first();
    if (n === 0) break;
    await new Promise((r) => setTimeout(r, 500));
  }
  await new Promise((r) => setTimeout(r, 1000));
}
// D1 round trips per operation, from one request each.
const trips = {
  "GET product": roundTrips((await fetch(`${sf}/v1/products/generated-0500?market=FR`, { headers: key })).headers),
  "create cart": roundTrips((await fetch(`${sf}/v1/carts`, { method: "POST", headers: key, body: '{"market":"FR"}' })).headers),
  "add line": roundTrips((await fetch(`${sf}/v1/carts/${cartForAdds}/lines`, { method: "POST", headers: key, body: '{"sku":"GEN-3-A","quantity":1}' })).headers),
  "GET cart": roundTrips((await fetch(`${sf}/v1/carts/${getCart}`, { headers: key })).headers),
  checkout: roundTrips((await fetch(`${sf}/v1/carts/${await newCart(true)}/checkout`, { method: "POST", headers: { ...key, "Idempotency-Key": "bench-trips" }, body: '{"payment_provider":"manual"}' })).headers),
  "checkout, 3 locations": roundTrips((await fetch(`${sf}/v1/carts/${await newCart(true, "GEN-8-A")}/checkout`, { method: "POST", headers: { ...key, "Idempotency-Key": "bench-trips-3" }, body: '{"payment_provider":"manual"}' })).headers),
};

const results = [];
for (const [name, target, setup] of ops) {
  for (const c of [1, 16]) {
    await settle();
    step(`${name}, ${c} connection(s), ${SECONDS} s`);
    results.push(await measure(name, target, c, setup));
  }
}

// The flash sale: 2,000 checkout attempts, 64 at a time, on one SKU with 100 units, each for one
// unit, on the D1 path and with the SKU hot (4 objects). Every attempt has its own ready cart.
const FLASH = { attempts: 2000, connections: 64, units: 100, shards: 4 };
async function flashSale(sku, hot) {
  await settle();
  step(`flash sale on the ${hot ? "hot" : "D1"} path: ${FLASH.attempts} attempts at c = ${FLASH.connections}, ${FLASH.units} units`);
  await db.prepare("UPDATE inventory_levels SET on_hand = ?2, reserved = 0 WHERE sku = ?1 AND location = 'main'").bind(sku, FLASH.units).run();
  const carts = [];
  while (carts.length < FLASH.attempts) carts.push(...(await Promise.all(Array.from({ length: 16 }, () => newCart(true, sku)))));
  const stock = { Authorization: `Bearer ${stockAdmin}`, "Content-Type": "application/json" };
  if (hot) {
    const put = await fetch(`${bo}/admin/v1/inventory/${sku}/mode`, { method: "PUT", headers: stock, body: JSON.stringify({ mode: "hot", shards: FLASH.shards }) });
    if (put.status !== 200) throw new Error(`mode switch: ${await put.text()}`);
  }
  const latencies = [];
  const statuses = {};
  let taken = 0;
  let d1Trips = 0;
  const started = performance.now();
  await Promise.all(Array.from({ length: FLASH.connections }, async () => {
    while (taken < carts.length) {
      const cart = carts[taken++];
      const t0 = performance.now();
      const res = await fetch(`${sf}/v1/carts/${cart}/checkout`, { method: "POST", headers: { ...key, "Idempotency-Key": `flash-${cart}` }, body: '{"payment_provider":"manual"}' });
      await res.arrayBuffer();
      d1Trips += roundTrips(res.headers);
      latencies.push(performance.now() - t0);
      statuses[res.status] = (statuses[res.status] ?? 0) + 1;
    }
  }));
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const { n: soldUnits } = await db.prepare("SELECT COALESCE(SUM(quantity), 0) AS n FROM order_lines WHERE sku = ?1").bind(sku).first();
  const level = async () => (await (await fetch(`${bo}/admin/v1/inventory/${sku}`, { headers: stock })).json());
  const after = await level();
  let afterTtl = after;
  if (hot) {
    // Past the TTL every reservation no order holds has expired: the objects hold nothing.
    await new Promise((r) => setTimeout(r, (HOT_TTL_SECONDS + 2) * 1000));
    afterTtl = await level();
  }
  return {
    path: hot ? `hot (${FLASH.shards} objects)` : "D1",
    attempts: FLASH.attempts,
    connections: FLASH.connections,
    units: FLASH.units,
    sold: statuses[201] ?? 0,
    sold_units_in_d1: soldUnits,
    oversold: Math.max(0, soldUnits - FLASH.units),
    refused_sold_out: statuses[422] ?? 0,
    other: Object.fromEntries(Object.entries(statuses).filter(([s]) => !["201", "422"].includes(s))),
    d1_round_trips: d1Trips,
    attempts_per_second: Math.round(FLASH.attempts / seconds),
    seconds: +seconds.toFixed(2),
    p50_ms: Math.round(latencies[Math.floor(latencies.length * 0.5)]),
    p99_ms: Math.round(latencies[Math.floor(latencies.length * 0.99)]),
    reserved_after: after.reserved,
    available_after: after.available,
    reserved_after_ttl: afterTtl.reserved,
  };
}
const flash = [await flashSale("GEN-20-A", false), await flashSale("GEN-21-A", true)];

// Memory: the storefront isolate's V8 heap and ArrayBuffer backing stores (the wasm linear
// memory among them) while 16 connections read a 250-line cart, the most a cart holds.
await settle();
step("memory: GET of a 250-line cart at c = 16, the storefront isolate sampled through the inspector");
const bigCart = await newCart(false);
for (let i = 0; i < 250; i++) {
  const r = await fetch(`${sf}/v1/carts/${bigCart}/lines`, { method: "POST", headers: key, body: JSON.stringify({ sku: `GEN-${300 + i}-A`, quantity: 1 }) });
  if (r.status !== 200) throw new Error(`line ${i}: ${await r.text()}`);
}
let bigCartRun;
const memory = await isolateMemory(inspectorPort, "storefront", async () => {
  bigCartRun = await measure("GET cart, 250 lines", { url: `${sf}/v1/carts/${bigCart}`, headers: key }, 16);
});
await mf.dispose();
// Isolate startup, on its own runtimes once the bench's is gone (nothing else competes for CPU).
const STARTUP_RUNS = 9;
step("isolate startup: 8 isolates of the storefront bundle against 8 of a fixed response, in workerd");
const startup = await isolateStartup(path.join(root, "build", "storefront"), STARTUP_RUNS);
step(`${logLines} log lines from the Workers read and dropped`);
if (next > pool.length) console.warn(`checkout used ${next} carts from a pool of ${pool.length}: the repeats count as errors`);
if (next3 > pool3.length) console.warn(`checkout, 3 locations used ${next3} carts from a pool of ${pool3.length}: the repeats count as errors`);

const ceilingD1 = (c) => results.find((r) => r.name === "ceiling: one D1 read" && r.connections === c).rps;
const ceilingEmpty = (c) => results.find((r) => r.name === "ceiling: fixed response" && r.connections === c).rps;
const size = (worker) => {
  const wasm = fs.readFileSync(path.join(root, "build", worker, "index_bg.wasm"));
  return { raw: wasm.length, gzip: zlib.gzipSync(wasm, { level: 9 }).length };
};
step("native pricing benchmark");
const native = spawnSync("cargo", ["bench", "--bench", "pricing", "--quiet"], { cwd: root, encoding: "utf8" }).stdout.trim().split("\n").filter((l) => l.startsWith("pricing/"));

const report = {
  machine: `${os.cpus().length} × ${os.cpus()[0]?.model ?? "cpu"}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}`,
  date: new Date().toISOString(),
  seconds_per_run: SECONDS,
  isolate_cache_seconds: Number(options.workers.find((w) => w.name === "storefront").bindings.ISOLATE_CACHE_SECONDS),
  startup_ms: Math.round(startupMs),
  isolate_startup: startup,
  bundles: { storefront: size("storefront"), backoffice: size("backoffice") },
  d1_round_trips: trips,
  runs: results.map((r) => ({ ...r, vs_empty: +(r.rps / ceilingEmpty(r.connections)).toFixed(2), vs_one_d1_read: +(r.rps / ceilingD1(r.connections)).toFixed(2) })),
  native_pricing: native,
  flash_sale: flash,
  memory: { ...memory, during: bigCartRun },
};
fs.mkdirSync(path.join(root, "bench"), { recursive: true });
fs.writeFileSync(path.join(root, "bench", "results.json"), JSON.stringify(report, null, 2) + "\n");

const lines = [
  `Machine: ${report.machine}; ${SECONDS} s per run; Miniflare start to first 200: ${report.startup_ms} ms; storefront isolate memo ${report.isolate_cache_seconds} s.`,
  "",
  "| operation | c | req/s | p50 ms | p99 ms | D1 round trips | vs fixed response | vs one D1 read | errors |",
  "|---|---|---|---|---|---|---|---|---|",
  ...report.runs.map((r) => `| ${r.name} | ${r.connections} | ${r.rps} | ${r.p50} | ${r.p99} | ${trips[r.name] ?? "-"} | ${r.vs_empty} | ${r.vs_one_d1_read} | ${r.errors} |`),
  "",
  `Bundles (wasm): storefront ${report.bundles.storefront.raw} B raw / ${report.bundles.storefront.gzip} B gzip; back-office ${report.bundles.backoffice.raw} B / ${report.bundles.backoffice.gzip} B gzip.`,
  ...native.map((l) => `Native: ${l}`),
  "",
  `Flash sale: ${FLASH.attempts} checkout attempts at c = ${FLASH.connections} on one SKU with ${FLASH.units} units (hot reservations expire after ${HOT_TTL_SECONDS} s here).`,
  "",
  "| path | sold | oversold | refused (sold out) | other answers | attempts/s | p50 ms | p99 ms | reserved after | reserved after the TTL |",
  "|---|---|---|---|---|---|---|---|---|---|",
  ...flash.map((f) => `| ${f.path} | ${f.sold} (${f.sold_units_in_d1} units in D1) | ${f.oversold} | ${f.refused_sold_out} | ${JSON.stringify(f.other)} | ${f.attempts_per_second} | ${f.p50_ms} | ${f.p99_ms} | ${f.reserved_after} | ${f.reserved_after_ttl} |`),
  ...flash.map((f) => `D1 round trips of the ${f.path} sale: ${f.d1_round_trips} for ${f.attempts} attempts.`),
  "",
  `Memory of the storefront isolate while 16 connections read a 250-line cart (${bigCartRun.rps} req/s, p99 ${bigCartRun.p99} ms; ${memory.samples} samples): V8 heap at most ${(memory.heap_used_max / 2 ** 20).toFixed(1)} MiB used of ${(memory.heap_total_max / 2 ** 20).toFixed(1)} MiB, ArrayBuffer backing stores at most ${(memory.backing_stores_max / 2 ** 20).toFixed(1)} MiB, wasm linear memory ${(memory.wasm_linear_memory / 2 ** 20).toFixed(1)} MiB at the end (it only grows). ${memory.live_samples ? `Live after a full collection, with the requests in flight (${memory.live_samples} samples): heap at most ${(memory.heap_live_max / 2 ** 20).toFixed(1)} MiB, backing stores ${(memory.backing_stores_live_max / 2 ** 20).toFixed(1)} MiB; with the wasm memory, ${((memory.heap_live_max + memory.backing_stores_live_max + memory.wasm_linear_memory) / 2 ** 20).toFixed(1)} MiB of the isolate's 128 MB.` : "No live sample was read (the run ended within a second)."}`,
  `Isolate startup (the storefront bundle's own, in workerd, median of ${STARTUP_RUNS} starts of 8 isolates): ${startup.isolate_startup_ms} ms an isolate; the runtime itself starts in ${startup.runtime_start_ms} ms.`,
];
console.log(lines.join("\n"));
