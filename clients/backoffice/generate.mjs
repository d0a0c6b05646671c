// Generates the back office's TypeScript API types (src/api.d.ts) from the back-office part of
// schema/openapi.yaml (storefront routes excluded), split as the Worker serves it at
// /openapi.json. Run it after changing the OpenAPI file; an e2e test fails when the committed
// file is stale (tests/e2e/backoffice-client.test.mjs).
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import openapiTS, { astToString, COMMENT_HEADER } from "openapi-typescript";
import { loadSpec, specFor } from "../../scripts/lib/openapi.mjs";

export const API_TYPES = path.join(path.dirname(fileURLToPath(import.meta.url)), "src", "api.d.ts");

/** The text of src/api.d.ts for the current contract. */
export async function generate() {
  // Fields with a default stay optional in request bodies (a refund need not send
  // `include_shipping: false`), as the API treats them.
  const ast = await openapiTS(specFor(loadSpec(), "back-office"), { defaultNonNullable: false });
  return COMMENT_HEADER + astToString(ast);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  fs.writeFileSync(API_TYPES, await generate());
  console.log(`wrote ${path.relative(process.cwd(), API_TYPES)}`);
}
