// Builds both Workers from the one crate: `--features storefront` and `--features backoffice`,
// each into build/<worker>/. Skips a Worker whose inputs have not changed since its last build.
// Also compiles the demo storefront's Pages Functions (functions/) into build/pages/, and the
// admin app (admin/) into build/admin/ (its Functions, and its static files with the bundled
// Preact app): a few seconds.
import fs from "node:fs";
import path from "node:path";
import crypto from "node:crypto";
import { root, cargoBin, run, step } from "./lib/proc.mjs";
import { setup } from "./setup.mjs";

export const WORKERS = ["storefront", "backoffice"];

/** A digest of these files and directories (walked in order), to skip a build whose inputs did not change. */
function digestOf(paths) {
  const hash = crypto.createHash("sha256");
  const walk = (p) => {
    if (!fs.existsSync(p)) return;
    if (fs.statSync(p).isDirectory()) {
      for (const entry of fs.readdirSync(p).sort()) walk(path.join(p, entry));
    } else hash.update(p).update(fs.readFileSync(p));
  };
  for (const p of paths) walk(path.join(root, p));
  return hash.digest("hex");
}

/** Runs `make` unless `stamp` holds the digest of `inputs` (or `force`); then writes it. */
async function unlessUpToDate(name, stamp, inputs, make, force = false) {
  const digest = digestOf(inputs);
  if (!force && fs.existsSync(stamp) && fs.readFileSync(stamp, "utf8") === digest) return step(`${name}: up to date`);
  await make();
  fs.writeFileSync(stamp, digest);
}

/** What the Workers are built from. */
const WORKER_INPUTS = ["src", "Cargo.toml", "Cargo.lock", "schema/openapi.yaml", "scripts/build.mjs", "scripts/lib/openapi.mjs", "scripts/worker-entry.mjs", "scripts/test-entry.mjs"];

/** The demo storefront's Pages Functions as one Worker module, as Pages itself compiles them. */
export const PAGES_COMPATIBILITY_DATE = "2026-04-01";
async function buildPages() {
  const outDir = path.join(root, "build", "pages");
  fs.mkdirSync(outDir, { recursive: true });
  step("compiling the demo storefront's Pages Functions");
  await run(path.join(root, "node_modules", ".bin", "wrangler"), [
    "pages",
    "functions",
    "build",
    "functions",
    "--outdir",
    "build/pages",
    "--output-routes-path",
    "build/pages/_routes.json",
    "--compatibility-date",
    PAGES_COMPATIBILITY_DATE,
  ], { stdio: ["ignore", "ignore", "inherit"] });
}

/**
 * The admin app as Pages deploys it: build/admin/static (admin/public plus app.js and signin.js,
 * bundled by esbuild from admin/src with Preact and htm) and build/admin/functions (the Functions
 * of admin/functions as one Worker module, for the local server and tests).
 */
async function buildAdmin() {
  const out = path.join(root, "build", "admin");
  const stat = path.join(out, "static");
  fs.rmSync(stat, { recursive: true, force: true });
  fs.cpSync(path.join(root, "admin", "public"), stat, { recursive: true });
  fs.mkdirSync(path.join(out, "functions"), { recursive: true });
  step("bundling the admin app");
  await run(path.join(root, "node_modules", ".bin", "esbuild"), [
    "admin/src/main.js",
    "admin/src/signin.js",
    "--bundle",
    "--format=esm",
    "--minify",
    "--target=es2022",
    "--legal-comments=none",
    `--outdir=${path.relative(root, stat)}`,
  ], { stdio: ["ignore", "ignore", "inherit"] });
  fs.renameSync(path.join(stat, "main.js"), path.join(stat, "app.js"));
  await run(path.join(root, "node_modules", ".bin", "wrangler"), [
    "pages",
    "functions",
    "build",
    "admin/functions",
    "--outdir",
    "build/admin/functions",
    "--output-routes-path",
    "build/admin/functions/_routes.json",
    "--compatibility-date",
    PAGES_COMPATIBILITY_DATE,
  ], { stdio: ["ignore", "ignore", "inherit"] });
}

/** The wasm features worker-build's own wasm-opt pass enables (wasm-opt must know them to read the file). */
const WASM_FEATURES = [
  "--enable-mutable-globals",
  "--enable-sign-ext",
  "--enable-nontrapping-float-to-int",
  "--enable-bulk-memory",
  "--enable-multivalue",
  "--enable-reference-types",
  "--enable-exception-handling",
];

/** `testTools`: setup also installs what `npm test` needs (schemathesis, Chromium). */
export async function build({ force = false, testTools = false } = {}) {
  await setup({ testTools });
  const { writeSpecs } = await import("./lib/openapi.mjs");
  writeSpecs(path.join(root, "build", "openapi"));
  const env = {
    ...process.env,
    PATH: [cargoBin, process.env.PATH].join(path.delimiter),
    WASM_BINDGEN_BIN: path.join(cargoBin, "wasm-bindgen"),
    ESBUILD_BIN: path.join(root, "node_modules", ".bin", "esbuild"),
    WASM_OPT_BIN: path.join(root, "node_modules", ".bin", "wasm-opt"),
    // The Workers' wasm is built for size (Cargo.toml's release profile is "s", which `cargo
    // bench` keeps): a cold isolate pays for every byte, and "z" gave the storefront 44 KB gzip
    // less (603 → 560 KB) for no slower a request in `npm run bench` (docs/benchmarks.md).
    CARGO_PROFILE_RELEASE_OPT_LEVEL: "z",
  };
  for (const worker of WORKERS) {
    const outDir = path.join(root, "build", worker);
    await unlessUpToDate(worker, path.join(outDir, ".inputs"), WORKER_INPUTS, () => buildWorker(worker, outDir, env), force);
  }
  // Skipped when unchanged: a build running beside tests (the deploy dry run) rewrites nothing they serve.
  const common = ["scripts/build.mjs", "package-lock.json", "functions/lib"];
  await unlessUpToDate("demo storefront's Functions", path.join(root, "build", "pages", ".inputs"), [...common, "functions"], buildPages, force);
  await unlessUpToDate("admin app", path.join(root, "build", "admin", ".inputs"), [...common, "admin"], buildAdmin, force);
}

async function buildWorker(worker, outDir, env) {
  step(`building the ${worker} Worker`);
  await run(path.join(cargoBin, "worker-build"), ["--release", "--out-dir", `build/${worker}`, "--features", worker], { env });
  // The wasm's name section (function names for stack traces, about 70 KB gzip) is dropped:
  // a panic still logs its message and source location (console_error_panic_hook).
  const wasm = path.join(outDir, "index_bg.wasm");
  await run(env.WASM_OPT_BIN, [wasm, "--strip-debug", "-o", wasm, ...WASM_FEATURES], { env });
  // The back office also exports its Durable Object class (hot SKUs' stock) from its entry.
  const classes = worker === "backoffice" ? `\n// The hot-stock Durable Object class (src/store/hot.rs).\nexport { HotStock } from "./index.js";\n` : "";
  fs.writeFileSync(path.join(outDir, "entry.mjs"), fs.readFileSync(path.join(root, "scripts", "worker-entry.mjs"), "utf8") + classes);
  const testClasses = worker === "backoffice" ? `\nexport { HotStock } from "./entry.mjs";\n` : "";
  fs.writeFileSync(path.join(outDir, "test-entry.mjs"), fs.readFileSync(path.join(root, "scripts", "test-entry.mjs"), "utf8") + testClasses);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  build({ force: process.argv.includes("--force") }).catch((e) => {
    console.error(e.message);
    process.exit(1);
  });
}
