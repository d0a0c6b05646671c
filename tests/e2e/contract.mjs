// Checks every response the e2e tests receive against schema/openapi.yaml, so the code and the
// contract cannot drift: a documented status whose body breaks its schema fails the test.
import Ajv2020 from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import { loadSpec, specFor } from "../../scripts/lib/openapi.mjs";

const spec = loadSpec();
const docs = { storefront: specFor(spec, "storefront"), backoffice: specFor(spec, "back-office") };
const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats(ajv);
for (const [name, doc] of Object.entries(docs)) {
  ajv.addSchema({ $id: `${name}.json`, components: doc.components });
}

const rewrite = (node, id) =>
  JSON.parse(JSON.stringify(node).replaceAll('"#/components/', `"${id}#/components/`));

// The operation a request reaches: a literal path before a templated one, as the router
// matches (`/admin/v1/inventory/syncs` is not the SKU `syncs`).
function operation(doc, method, pathname) {
  const literalFirst = Object.entries(doc.paths).sort(([a], [b]) => a.includes("{") - b.includes("{"));
  for (const [template, item] of literalFirst) {
    const pattern = new RegExp(`^${template.replace(/\{[^}]+\}/g, "[^/]+")}$`);
    if (pattern.test(pathname) && item[method.toLowerCase()]) return item[method.toLowerCase()];
  }
  return null;
}

const compiled = new Map();
/** Throws when a documented response's JSON body does not match its schema. */
export function checkResponse(worker, method, url, status, body) {
  const doc = docs[worker];
  const { pathname } = new URL(url);
  const op = operation(doc, method, pathname);
  const response = op?.responses?.[String(status)];
  if (!response) return false;
  const resolved = response.$ref ? doc.components.responses[response.$ref.split("/").pop()] : response;
  const schema = resolved?.content?.["application/json"]?.schema;
  if (!schema || body === null || body === undefined) return false;
  const key = `${worker} ${op.operationId} ${status}`;
  let validate = compiled.get(key);
  if (!validate) {
    validate = ajv.compile(rewrite(schema, `${worker}.json`));
    compiled.set(key, validate);
  }
  if (!validate(body)) {
    const problems = validate.errors.slice(0, 5).map((e) => `${e.instancePath || "/"} ${e.message}`).join("; ");
    throw new Error(`response of ${method} ${pathname} (${status}) breaks the OpenAPI schema of ${op.operationId}: ${problems}\n${JSON.stringify(body).slice(0, 600)}`);
  }
  return true;
}
