// `npm test`: setup if needed, native Rust tests, build both Workers, then the end-to-end
// suite that drives the built Workers in workerd (Miniflare) over HTTP.
import { root, run, step } from "./lib/proc.mjs";
import { build } from "./build.mjs";

const started = Date.now();
await build({ testTools: true }); // setup installs schemathesis and Chromium as well
step("native Rust tests (cargo test --all-features)");
await run("cargo", ["test", "--all-features", "--quiet"]);
step("end-to-end tests against the built Workers in workerd");
await run(process.execPath, ["--test", "--test-concurrency=2", "tests/e2e/"], { cwd: root });
step(`all tests passed in ${Math.round((Date.now() - started) / 1000)} s`);
