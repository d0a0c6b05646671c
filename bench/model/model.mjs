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
// Round trips as the bench counted them (Server-Timing).
const trips = (name) => results.d1_round_trips[name];
const OPS = [
  { name: "GET product", trips: trips("GET product"), reads: 0 },
  { name: "GET cart", trips: trips("GET cart"), reads: 1 },
  { name: "create cart", trips: trips("create cart"), reads: 0 },
  { name: "add line", trips: trips("add line"), reads: 0 },
  { name: "checkout", trips: trips("checkout"), reads: 0 },
  // The hot path: the same D1 round trips, and 2 to the SKU's objects (read the shards, then
  // take; the settle goes after the response), which live near where they were first called
  // (here: near the primary).
  { name: "checkout (hot SKU)", local: "checkout", trips: trips("checkout"), reads: 0, objects: 2 },
];
const local = Object.fromEntries(OPS.map((o) => [o.name, Math.max(0, service(o.local ?? o.name) - fixed - o.trips * d1Trip)]));

const out = [];
out.push(`Measured on ${results.machine}, ${results.date.slice(0, 10)} (bench/results.json). One request at c = 1: fixed response ${r1(fixed)} ms, one D1 read ${r1(service("ceiling: one D1 read"))} ms, so one local D1 round trip costs ${r1(d1Trip)} ms.`);
out.push("");
out.push("| operation | D1 round trips (reads) | at c = 1 | local work = at c = 1 − fixed − trips × local trip |");
out.push("|---|---|---|---|");
for (const o of OPS) {
  const s = service(o.local ?? o.name);
  out.push(`| ${o.name} | ${o.trips} (${o.reads})${o.objects ? ` + ${o.objects} to objects` : ""} | ${r1(s)} ms | ${r1(s)} − ${r1(fixed)} − ${o.trips} × ${r1(d1Trip)} = **${r1(local[o.name])} ms** |`);
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
const sum = (s) => s.claim_and_read + s.place + s.after_commit;
const perCheckout = sum(st.checkout);
const statementMs = 1000 / inputs.d1_primary_statements_per_second;
const c16 = run("checkout", 16);
const localStatementMs = 1000 / (c16.rps * perCheckout);
out.push(`The single writer: a checkout runs ${st.checkout.claim_and_read} + ${st.checkout.place} statements on the primary before its answer (the placement keeps the answer for replays in its own batch), and its event ${st.checkout.after_commit} more after it (the outbox hand-off, the consumer's fan-out; more per destination): ${perCheckout} in all. At ${statementMs} ms a statement (${inputs.d1_primary_statements_per_second}/s) one database takes at most ${inputs.d1_primary_statements_per_second} / ${perCheckout} = **${Math.floor(inputs.d1_primary_statements_per_second / perCheckout)} checkouts/s**, ${Math.floor((3600 * inputs.d1_primary_statements_per_second) / perCheckout).toLocaleString("en")} an hour, whatever the number of Workers. Here, at c = 16, checkout ran ${c16.rps}/s: ${c16.rps} × ${perCheckout} statements = ${c16.rps * perCheckout}/s, ${r1(localStatementMs)} ms a statement with everything else this machine did.`);
out.push("");
// The flash sale's cost to the writer, from the round trips the bench counted: every attempt
// claims its key with the cart (one round trip, 4 statements), then either places its order,
// keeping the answer (one, 13 statements; its event 4 more after), or has its refusal stored
// (one, 1 statement). Beyond
// those two, each refused placement (it runs until its CHECK aborts it) and the stock re-read
// after it cost two more. A shopper who finds the stock gone at the claim is refused without a
// placement, on either path.
if (results.flash_sale?.every((f) => f.d1_round_trips)) {
  out.push("The flash sale's cost to the one writer, from the D1 round trips `npm run bench` counted (Server-Timing of every attempt):");
  out.push("");
  out.push("| path | attempts | D1 round trips | beyond two an attempt | refused placements (≈) | statements (≈) | writer time at 1 ms |");
  out.push("|---|---|---|---|---|---|---|");
  for (const f of results.flash_sale) {
    const extra = f.d1_round_trips - 2 * f.attempts;
    const refused = Math.round(extra / 2);
    const sold = st.checkout.place + st.checkout.after_commit;
    const statements =
      f.attempts * st.checkout.claim_and_read + f.sold * sold + (f.attempts - f.sold) * st.checkout.store_refusal + refused * (st.checkout.place + 1);
    out.push(`| ${f.path} | ${f.attempts} | ${f.d1_round_trips} | ${extra} | ${refused} | ${f.attempts} × ${st.checkout.claim_and_read} + ${f.sold} × ${sold} + ${f.attempts - f.sold} × ${st.checkout.store_refusal} + ${refused} × ${st.checkout.place + 1} = ${statements.toLocaleString("en")} | ${r1((statements * statementMs) / 1000)} s |`);
  }
  out.push("");
  const [d1, hot] = results.flash_sale;
  const c = d1.connections;
  const race = d1.units * (c - 1) * (st.checkout.place + 1);
  out.push(`On this machine both paths cost D1 about the same (${d1.d1_round_trips} and ${hot.d1_round_trips} round trips). A placement here follows its read within a millisecond, so few checkouts race for the last units. Once D1 says none are left, every attempt is refused at its claim, without a placement, on either path.`);
  out.push("");
  out.push(`At the edge, the window between a checkout's read and its placement is one round trip to the primary (15 to 250 ms above). Every attempt that reads the same units in that window races for them. On the D1 path each loser runs a placement (${st.checkout.place} statements) and a re-read. With ${c} attempts in flight, that is up to ${c - 1} refused placements per unit sold while stock lasts: ${d1.units} × ${c - 1} × ${st.checkout.place + 1} = ${race.toLocaleString("en")} statements, **${r1((race * statementMs) / 1000)} s** of the one writer. On the hot path the objects settle that race, and D1 sees ${d1.units} placements. This is a bound, not a measurement: this machine cannot make the window.`);
  out.push("");
}
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
