// Small process helpers shared by the setup, build, dev, test and bench scripts.
// Only Node built-ins here: this runs before `npm install` has happened.
import { spawn, spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import path from "node:path";
import os from "node:os";

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

/** Where `cargo install` puts binaries, whether or not it is on PATH. */
export const cargoBin = path.join(process.env.CARGO_HOME || path.join(os.homedir(), ".cargo"), "bin");

/** PATH with cargo's bin directory and node_modules/.bin in front. */
export function toolEnv(extra = {}) {
  const PATH = [path.join(root, "node_modules", ".bin"), cargoBin, process.env.PATH].join(path.delimiter);
  return { ...process.env, PATH, WRANGLER_SEND_METRICS: "false", ...extra };
}

/** Runs a command with inherited stdio; rejects on a non-zero exit. */
export function run(cmd, args, opts = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: root, stdio: "inherit", env: toolEnv(), ...opts });
    child.on("error", reject);
    child.on("exit", (code, signal) =>
      code === 0 ? resolve() : reject(new Error(`${cmd} ${args.join(" ")} exited with ${code ?? signal}`)),
    );
  });
}

/** Runs a command and returns its trimmed stdout, or null if it cannot run or fails. */
export function capture(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { cwd: root, encoding: "utf8", env: toolEnv(), ...opts });
  return r.status === 0 ? r.stdout.trim() : null;
}

export function step(message) {
  console.log(`\x1b[36m▸ ${message}\x1b[0m`);
}
