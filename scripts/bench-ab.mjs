// `node scripts/bench-ab.mjs OLD_CHECKOUT [NEW_CHECKOUT]`: an interleaved A/B of two builds
// (each checkout built, with its node_modules) on the cart's hot paths. Rounds alternate which
// build runs first, so a machine that slows down or speeds up during the run weighs on both:
// GET cart and PATCH line (one cart of three lines, the same size throughout) at c = 16,
// `ROUNDS` rounds (default 4) of `SECS` seconds (default 5). Traffic stays on 127.0.0.1.
import path from "node:path";
import { fileURLToPath } from "node:url";
if (!process.argv[2]) throw new Error("usage: node scripts/bench-ab.mjs OLD_CHECKOUT [NEW_CHECKOUT]");
const here = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const roots = { base: path.resolve(process.argv[2]), new: path.resolve(process.argv[3] ?? here) };
const rounds = Number(process.env.ROUNDS ?? 3);
const secs = Number(process.env.SECS ?? 5);
const results = { base: [], new: [] };
for (let r = 0; r < rounds; r++) {
  for (const name of r % 2 ? ["new", "base"] : ["base", "new"]) {
    const root = roots[name];
    process.chdir(root);
    const { Miniflare } = await import(path.join(root, "node_modules/miniflare/dist/src/index.js"));
    const autocannon = (await import(path.join(root, "node_modules/autocannon/autocannon.js"))).default;
    const { miniflareOptions, migrate, runSqlFile, readVarsFile, readConfig } = await import(path.join(root, "scripts/lib/workers.mjs"));
    const memoSeconds = readConfig("storefront").vars.ISOLATE_CACHE_SECONDS;
    const opts = miniflareOptions({ secretsFile: path.join(root, ".dev.vars.example"), vars: { ISOLATE_CACHE_SECONDS: memoSeconds } });
    const mf = new Miniflare(opts);
    await mf.ready;
    const sf = (await mf.unsafeGetDirectURL("storefront")).origin;
    const db = await mf.getD1Database("DB", "backoffice");
    await migrate(db); await runSqlFile(db, "schema/seed/demo.sql");
    const key = { "X-Publishable-Key": "pk_demo_web", "Content-Type": "application/json" };
    const cart = (await (await fetch(`${sf}/v1/carts`, { method: "POST", headers: key, body: '{"market":"FR"}' })).json()).id;
    for (const sku of ["APRON-NAT", "BOARD-S", "TOWEL-2"]) await fetch(`${sf}/v1/carts/${cart}/lines`, { method: "POST", headers: key, body: JSON.stringify({ sku, quantity: 1 }) });
    await autocannon({ url: `${sf}/v1/carts/${cart}`, headers: key, connections: 4, duration: 1 });
    const g = await autocannon({ url: `${sf}/v1/carts/${cart}`, headers: key, connections: 16, duration: secs });
    // Setting a line's quantity back and forth: same cart size throughout.
    const line = (await (await fetch(`${sf}/v1/carts/${cart}`, { headers: key })).json()).lines[0].id;
    let n = 0;
    const p = await autocannon({ url: `${sf}/v1/carts/${cart}/lines/${line}`, method: "PATCH", headers: key, connections: 16, duration: secs,
      requests: [{ setupRequest: (req) => ({ ...req, body: JSON.stringify({ quantity: 1 + (n++ % 3) }) }) }] });
    results[name].push({ get: Math.round(g.requests.average), patch: Math.round(p.requests.average), errors: g.errors + g.non2xx + p.errors + p.non2xx });
    console.log(name, results[name].at(-1));
    await mf.dispose();
  }
}
const avg = (xs, k) => Math.round(xs.reduce((a, x) => a + x[k], 0) / xs.length);
for (const n of ["base", "new"]) console.log(n, "GET cart", avg(results[n], "get"), "PATCH line", avg(results[n], "patch"));
