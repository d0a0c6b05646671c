// Property-based API testing with schemathesis (PyPI, installed by setup into .venv) against
// both built Workers, each on a fresh Miniflare with the demo data: examples, coverage, fuzzing
// and stateful phases (following the OpenAPI links), a fixed seed and a bounded number of cases
// per operation. Any 5xx, any response that breaks schema/openapi.yaml (status, content type,
// headers, body), any invalid request accepted or valid request wrongly refused fails the test.
// Settings and the reasons for them: tests/schemathesis/schemathesis.toml.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { root } from "../../scripts/lib/proc.mjs";
import { SCHEMATHESIS } from "../../scripts/setup.mjs";
import { startStack, DEMO_KEY } from "./harness.mjs";
import { adminToken } from "./tokens.mjs";

const SEED = process.env.SCHEMATHESIS_SEED ?? "20261126";
const EXAMPLES = process.env.SCHEMATHESIS_EXAMPLES ?? "25";
const ALL_SCOPES =
  "catalog:read catalog:write inventory:read inventory:write orders:read orders:write destinations:read destinations:write events:read";

let stack;
before(async () => {
  stack = await startStack();
});
after(() => stack?.dispose());

function schemathesis(url, header) {
  return new Promise((resolve, reject) => {
    const args = [
      "--config-file",
      path.join(root, "tests", "schemathesis", "schemathesis.toml"),
      "run",
      `${url}/openapi.json`,
      "--header",
      header,
      "--checks",
      "all",
      "--max-examples",
      EXAMPLES,
      "--seed",
      SEED,
      "--request-timeout",
      "10",
      "--no-color",
    ];
    const child = spawn(SCHEMATHESIS, args, { cwd: root, env: { ...process.env, PYTHONUNBUFFERED: "1" } });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), 300_000);
    child.on("error", reject);
    child.on("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
  });
}

function summary(out) {
  const m = out.match(/Test cases:\s*\n\s*(\d+) generated/);
  return m ? Number(m[1]) : 0;
}

test("schemathesis is installed (npm run setup puts it in .venv)", () => {
  assert.ok(fs.existsSync(SCHEMATHESIS), `${SCHEMATHESIS} is missing: run npm run setup`);
});

test("storefront: schemathesis finds no 5xx and no response outside the contract", async () => {
  const { code, out } = await schemathesis(stack.urls.storefront, `X-Publishable-Key: ${DEMO_KEY}`);
  assert.equal(code, 0, out);
  assert.match(out, /Selected: 19\/19/, "every storefront operation is tested");
  assert.ok(summary(out) > 500, `too few cases generated:\n${out}`);
});

test("back-office: schemathesis finds no 5xx and no response outside the contract", async () => {
  const token = await adminToken({ scope: ALL_SCOPES, expiresIn: "30m" });
  const { code, out } = await schemathesis(stack.urls.backoffice, `Authorization: Bearer ${token}`);
  assert.equal(code, 0, out);
  assert.match(out, /Selected: 65\/65/, "every back-office operation is tested");
  assert.ok(summary(out) > 500, `too few cases generated:\n${out}`);
});
