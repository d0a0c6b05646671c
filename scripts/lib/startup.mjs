// What a cold isolate pays to start a Worker bundle, measured in workerd: one runtime is started
// with `copies` isolates of the bundle, each asked `GET /health` once (its modules evaluated, its
// wasm compiled and instantiated, one request through the Rust code), and another with as many
// isolates of a Worker that only returns a fixed response. The difference of the two, divided by
// `copies`, is one isolate's startup; the median of `runs` such pairs is reported. (Starting a
// runtime costs far more than one isolate, and varies by as much between starts: the copies make
// the bundle's own share measurable.)
//
// `node scripts/lib/startup.mjs <bundle dir> [runs]` measures any built bundle (a directory with
// entry.mjs, index.js and index_bg.wasm, as scripts/build.mjs writes them): the way issue 20's
// before/after figures were taken.
import path from "node:path";
import { Miniflare } from "miniflare";
import { root } from "./proc.mjs";

const COPIES = 8;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function startOnce(worker) {
  const started = performance.now();
  const mf = new Miniflare({
    workers: Array.from({ length: COPIES }, (_, i) => ({
      name: `w${i}`,
      modules: true,
      compatibilityDate: "2026-04-01",
      unsafeDirectSockets: [{ host: "127.0.0.1", port: 0 }],
      ...worker,
    })),
    handleRuntimeStdio: (stdout, stderr) => {
      stdout.resume(); // the requests' log lines
      stderr.on("data", (d) => process.stderr.write(d));
    },
  });
  try {
    await mf.ready;
    for (let i = 0; i < COPIES; i++) {
      const res = await fetch(`${(await mf.unsafeGetDirectURL(`w${i}`)).origin}/health`);
      await res.arrayBuffer();
      if (res.status !== 200) throw new Error(`GET /health: ${res.status}`);
    }
    return performance.now() - started;
  } finally {
    await mf.dispose();
  }
}

/** One isolate's startup with the bundle in `dir` (ms), and the runtime's own start. */
export async function isolateStartup(dir, runs = 7) {
  const bundle = {
    scriptPath: path.join(dir, "entry.mjs"),
    modulesRoot: dir,
    modulesRules: [
      { type: "ESModule", include: ["**/*.js", "**/*.mjs"] },
      { type: "CompiledWasm", include: ["**/*.wasm"], fallthrough: true },
    ],
  };
  const empty = { script: `export default { fetch() { return new Response("ok"); } }` };
  await startOnce(empty); // the first start of a runtime pays for more than any Worker
  const bare = [];
  const perIsolate = [];
  for (let i = 0; i < runs; i++) {
    const b = await startOnce(empty);
    bare.push(b);
    perIsolate.push(((await startOnce(bundle)) - b) / COPIES);
  }
  return { isolate_startup_ms: Math.round(median(perIsolate) * 10) / 10, runtime_start_ms: Math.round(median(bare)) };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const dir = path.resolve(process.argv[2] ?? path.join(root, "build", "storefront"));
  console.log(JSON.stringify(await isolateStartup(dir, Number(process.argv[3] ?? 7))));
}
