// `npm run client`: regenerates the storefront's TypeScript API types from the storefront's part
// of schema/openapi.yaml (admin routes excluded), for the demo storefront and any TypeScript
// storefront (use them with openapi-fetch's createClient<paths>). A test fails when the
// committed file is stale.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { spawnSync } from "node:child_process";
import { root } from "./lib/proc.mjs";
import { loadSpec, specFor } from "./lib/openapi.mjs";

export const CLIENT_TYPES = path.join(root, "functions", "lib", "storefront-api.d.ts");

/** Generates the types into `out`. */
export function generate(out) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "comptoir-client-"));
  try {
    const spec = path.join(dir, "storefront.json");
    fs.writeFileSync(spec, JSON.stringify(specFor(loadSpec(), "storefront"), null, 2));
    const r = spawnSync(path.join(root, "node_modules", ".bin", "openapi-typescript"), [spec, "-o", out], { cwd: root, encoding: "utf8" });
    if (r.status !== 0) throw new Error(`openapi-typescript failed: ${r.stderr}`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  fs.mkdirSync(path.dirname(CLIENT_TYPES), { recursive: true });
  generate(CLIENT_TYPES);
  console.log(`wrote ${path.relative(root, CLIENT_TYPES)}`);
}
