// The load model of docs/scale.md, from what `npm run bench` measured (bench/results.json) and
// the round-trip times of bench/model/inputs.json: per operation, D1 round trips × RTT (to the
// primary, or to a replica for reads) + the local work measured here; the single writer's
// ceiling for checkout (statements × statement time) against the hot-SKU path; the flash sale.
// `node bench/model/model.mjs` prints the tables; `--write` puts them into docs/scale.md
// between its model markers.
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const results = JSON.parse(fs.readFileSync(path.join(root, "bench", "results.json"), "utf8"));
const inputs = JSON.parse(fs.readFileSync(path.join(root, "bench", "model", "inputs.json"), "utf8"));

const run = (name, c = 1) => results.runs.find((r) => r.name === name && r.connections === c);
/** Milliseconds one request takes at c = 1, from requests/s (finer than autocannon's whole-ms p50). */
const service = (name) => 1000 / run(name).rps;
const fixed = service("ceiling: fixed response");
const d1Trip = service("ceiling: one D1 read") - fixed;
const r1 = (x) => Math.round(x * 10) / 10;

// Local work per operation: its time at c = 1 less the harness's own (the fixed response) and
// its round trips at the local cost of one. What is left is the Worker's CPU plus what D1 does
// beyond one simple statement per trip (a checkout's batch of twelve): an upper bound on CPU.
const OPS = [
  { name: "GET product", trips: 0, reads: 0 },
  { name: "GET cart", trips: 1, reads: 1 },
  { name: "create cart", trips: 1, reads: 0 },
  { name: "add line", trips: 1, reads: 0 },
  { name: "checkout", trips: 3, reads: 0 },
  // The hot path: the same 3 D1 round trips, and 2 to the SKU's objects (read the shards, then
  // take; the settle goes after the response), which live near where they were first called
  // (here: near the primary).
  { name: "checkout (hot SKU)", local: "checkout", trips: 3, reads: 0, objects: 2 },
];
const local = Object.fromEntries(OPS.map((o) => [o.name, Math.max(0, service(o.local ?? o.name) - fixed - (o.local ? 3 : o.trips) * d1Trip)]));

const out = [];
out.push(`Measured on ${results.machine}, ${results.date.slice(0, 10)} (bench/results.json). One request at c = 1: fixed response ${r1(fixed)} ms, one D1 read ${r1(service("ceiling: one D1 read"))} ms, so one local D1 round trip costs ${r1(d1Trip)} ms.`);
out.push("");
out.push("| operation | D1 round trips (reads) | at c = 1 | local work = at c = 1 − fixed − trips × local trip |");
out.push("|---|---|---|---|");
for (const o of OPS) {
  const s = service(o.local ?? o.name);
  out.push(`| ${o.name} | ${o.trips} (${o.reads})${o.objects ? ` + ${o.objects} to objects` : ""} | ${r1(s)} ms | ${r1(s)} − ${r1(fixed)} − ${o.local ? 3 : o.trips} × ${r1(d1Trip)} = **${r1(local[o.name])} ms** |`);
}
out.push("");
out.push(`Latency per request by the shopper's region, D1 primary in ${inputs.primary}: trips × RTT + local work (ms). Without replicas every trip goes to the primary; with replicas a read goes to the region's replica (${inputs.rtt_replica_ms} ms), writes still to the primary.`);
out.push("");
out.push(`| region (RTT to primary) | ${OPS.map((o) => o.name).join(" | ")} |`);
out.push(`|---|${OPS.map(() => "---").join("|")}|`);
for (const g of inputs.regions) {
  const cells = OPS.map((o) => {
    const without = o.trips * g.rtt_primary_ms + (o.objects ?? 0) * g.rtt_primary_ms + local[o.name];
    const withReplicas = o.reads * inputs.rtt_replica_ms + (o.trips - o.reads) * g.rtt_primary_ms + (o.objects ?? 0) * g.rtt_primary_ms + local[o.name];
    return Math.round(without) === Math.round(withReplicas) ? `${Math.round(without)}` : `${Math.round(without)} → **${Math.round(withReplicas)}**`;
  });
  out.push(`| ${g.region}, ${g.city} (${g.rtt_primary_ms} ms) | ${cells.join(" | ")} |`);
}
out.push("");

// The single writer.
const st = inputs.statements;
const sum = (s) => s.claim_and_read + s.place + s.store_answer;
const perCheckout = sum(st.checkout);
const statementMs = 1000 / inputs.d1_primary_statements_per_second;
const c16 = run("checkout", 16);
const localStatementMs = 1000 / (c16.rps * perCheckout);
out.push(`The single writer: a checkout runs ${st.checkout.claim_and_read} + ${st.checkout.place} + ${st.checkout.store_answer} = ${perCheckout} statements on the primary. At ${statementMs} ms a statement (${inputs.d1_primary_statements_per_second}/s) one database takes at most ${inputs.d1_primary_statements_per_second} / ${perCheckout} = **${Math.floor(inputs.d1_primary_statements_per_second / perCheckout)} checkouts/s**, ${Math.floor((3600 * inputs.d1_primary_statements_per_second) / perCheckout).toLocaleString("en")} an hour, whatever the number of Workers. Here, at c = 16, checkout ran ${c16.rps}/s: ${c16.rps} × ${perCheckout} statements = ${c16.rps * perCheckout}/s, ${r1(localStatementMs)} ms a statement with everything else this machine did.`);
out.push("");
const flashInputs = { attempts: 2000, units: 100 };
const d1Sale = flashInputs.attempts * sum(st.checkout_refused_sold_out_d1);
const hotSale = flashInputs.units * (perCheckout + 1) + (flashInputs.attempts - flashInputs.units) * sum(st.checkout_refused_sold_out_hot);
out.push(`A flash sale of ${flashInputs.units} units with ${flashInputs.attempts.toLocaleString("en")} attempts: on the D1 path every attempt runs all ${sum(st.checkout_refused_sold_out_d1)} statements (a refused placement runs until its CHECK aborts it): ${flashInputs.attempts} × ${sum(st.checkout_refused_sold_out_d1)} = ${d1Sale.toLocaleString("en")} statements, **${r1(d1Sale * statementMs / 1000)} s** of the one writer. Hot, the ${flashInputs.units} sales run ${perCheckout + 1} (their hot_holds row) and the ${flashInputs.attempts - flashInputs.units} refusals only the claim and the stored answer (${sum(st.checkout_refused_sold_out_hot)}): ${hotSale.toLocaleString("en")} statements, **${r1(hotSale * statementMs / 1000)} s**, ${r1(d1Sale / hotSale)}× less; the objects take the rest (${inputs.d1_primary_statements_per_second}s of writes a second each, sharded).`);
out.push("");
if (results.flash_sale) {
  out.push("Measured (`npm run bench`, this machine, local D1 and objects):");
  out.push("");
  out.push("| path | sold | oversold | refused (sold out) | other | attempts/s | p50 ms | p99 ms | reserved after | after the TTL |");
  out.push("|---|---|---|---|---|---|---|---|---|---|");
  for (const f of results.flash_sale) {
    out.push(`| ${f.path} | ${f.sold} | ${f.oversold} | ${f.refused_sold_out} | ${JSON.stringify(f.other)} | ${f.attempts_per_second} | ${f.p50_ms} | ${f.p99_ms} | ${f.reserved_after} | ${f.reserved_after_ttl} |`);
  }
  out.push("");
}
const text = out.join("\n");
if (process.argv.includes("--write")) {
  const doc = path.join(root, "docs", "scale.md");
  const was = fs.readFileSync(doc, "utf8");
  const begin = "<!-- model:begin (node bench/model/model.mjs --write) -->";
  const end = "<!-- model:end -->";
  const at = was.indexOf(begin);
  const stop = was.indexOf(end);
  if (at < 0 || stop < at) throw new Error("docs/scale.md has no model markers");
  fs.writeFileSync(doc, `${was.slice(0, at + begin.length)}\n${text}\n${was.slice(stop)}`);
  console.log("docs/scale.md: model tables written");
} else {
  console.log(text);
}
