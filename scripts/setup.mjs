// Idempotent setup: installs what is missing and nothing else, so the second run takes
// seconds. Fresh machines here reach crates.io and npm only, so worker-build's own downloads
// of wasm-bindgen, esbuild and wasm-opt are replaced by tools installed from those registries.
import fs from "node:fs";
import path from "node:path";
import { root, cargoBin, run, capture, step, toolEnv } from "./lib/proc.mjs";

const WORKER_BUILD_VERSION = "0.8.7";
// Property-based API testing (PyPI), in a project-local virtual environment.
const SCHEMATHESIS_VERSION = "4.32.5";
export const SCHEMATHESIS = path.join(root, ".venv", "bin", "schemathesis");
// Debian's Chromium for the browser test of the demo storefront (Playwright cannot download
// its own browser here).
export const CHROMIUM = "/usr/bin/chromium";

function lockedVersion(crate) {
  const lock = fs.readFileSync(path.join(root, "Cargo.lock"), "utf8");
  const m = lock.match(new RegExp(`\\[\\[package\\]\\]\\nname = "${crate}"\\nversion = "([^"]+)"`));
  if (!m) throw new Error(`${crate} is not in Cargo.lock`);
  return m[1];
}

function installedVersion(bin) {
  const out = capture(path.join(cargoBin, bin), ["--version"]);
  return out ? out.split(/\s+/).pop() : null;
}

async function cargoInstall(crate, version) {
  step(`installing ${crate} ${version} (compiles from source, a few minutes, once)`);
  try {
    await run("cargo", ["install", crate, "--version", version, "--locked"]);
  } catch (e) {
    // A crate's own lockfile can pin a dependency version that the registry has since yanked;
    // then resolve afresh within the crate's declared ranges.
    console.warn(`cargo install --locked failed (${e.message}); retrying without --locked`);
    await run("cargo", ["install", crate, "--version", version]);
  }
}

/** Debian's chromium package, for the demo storefront's browser test. */
async function installChromium() {
  step("installing Debian's chromium for the browser test (apt-get, once)");
  const asRoot = process.getuid?.() === 0 ? [] : ["sudo", "-n"];
  const apt = (args) => run(asRoot[0] ?? "apt-get", asRoot.length ? [...asRoot.slice(1), "apt-get", ...args] : args, { env: toolEnv({ DEBIAN_FRONTEND: "noninteractive" }) });
  try {
    await apt(["update", "-qq"]);
    await apt(["install", "-y", "-qq", "chromium"]);
  } catch (e) {
    // Everything else still runs; the browser test says plainly that it could not.
    console.warn(`could not install chromium (${e.message}); the browser test will fail until ${CHROMIUM} exists`);
  }
}

/** What only the tests use: schemathesis (PyPI, into .venv) and Debian's Chromium. */
async function installTestTools() {
  if (!(capture(SCHEMATHESIS, ["--version"]) ?? "").endsWith(` ${SCHEMATHESIS_VERSION}`)) {
    step(`installing schemathesis ${SCHEMATHESIS_VERSION} into .venv (PyPI, once)`);
    const python = process.env.PYTHON ?? "python3";
    if (!fs.existsSync(path.join(root, ".venv", "bin", "python"))) await run(python, ["-m", "venv", ".venv"]);
    await run(path.join(root, ".venv", "bin", "python"), ["-m", "pip", "install", "--quiet", "--disable-pip-version-check", `schemathesis==${SCHEMATHESIS_VERSION}`]);
  }

  if (!fs.existsSync(CHROMIUM)) await installChromium();
}

/**
 * Installs what building needs (npm packages, the wasm target, worker-build, wasm-bindgen) and,
 * with `testTools`, what only the tests need (schemathesis, Chromium): `npm run build`, `dev`
 * and `deploy` install no test tool.
 */
export async function setup({ testTools = false } = {}) {
  const [major, minor] = process.versions.node.split(".").map(Number);
  if (major < 20 || (major === 20 && minor < 19)) {
    throw new Error(`Node ${process.versions.node} is too old: the tools need Node 20.19 or newer`);
  }

  // npm packages: install when node_modules is missing or older than the lockfile.
  const marker = path.join(root, "node_modules", ".package-lock.json");
  const lock = path.join(root, "package-lock.json");
  if (!fs.existsSync(marker) || fs.statSync(marker).mtimeMs < fs.statSync(lock).mtimeMs) {
    step("installing npm packages (npm ci)");
    await run("npm", ["ci", "--no-audit", "--no-fund"]);
  }

  const targets = capture("rustup", ["target", "list", "--installed"]) ?? "";
  if (!targets.split("\n").includes("wasm32-unknown-unknown")) {
    step("adding the wasm32-unknown-unknown Rust target");
    await run("rustup", ["target", "add", "wasm32-unknown-unknown"]);
  }

  if (installedVersion("worker-build") !== WORKER_BUILD_VERSION) {
    await cargoInstall("worker-build", WORKER_BUILD_VERSION);
  }

  const bindgen = lockedVersion("wasm-bindgen");
  if (installedVersion("wasm-bindgen") !== bindgen) {
    await cargoInstall("wasm-bindgen-cli", bindgen);
  }

  if (testTools) await installTestTools();

  const devVars = path.join(root, ".dev.vars");
  const example = path.join(root, ".dev.vars.example");
  if (!fs.existsSync(devVars)) {
    step("creating .dev.vars from .dev.vars.example (local-only settings)");
    fs.copyFileSync(example, devVars);
  } else {
    // A setting added to the example since .dev.vars was made is appended; none is changed.
    const has = new Set([...fs.readFileSync(devVars, "utf8").matchAll(/^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=/gm)].map((m) => m[1]));
    const missing = fs.readFileSync(example, "utf8").split("\n").filter((l) => /^\s*[A-Za-z_]/.test(l) && !has.has(l.split("=")[0].trim()));
    if (missing.length) {
      step(`adding ${missing.map((l) => l.split("=")[0].trim()).join(", ")} to .dev.vars from .dev.vars.example`);
      fs.appendFileSync(devVars, `\n${missing.join("\n")}\n`);
    }
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  // `npm run setup` prepares a machine for the tests too.
  setup({ testTools: true }).catch((e) => {
    console.error(e.message);
    process.exit(1);
  });
}
