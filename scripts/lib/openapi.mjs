// Splits schema/openapi.yaml into each Worker's own document: the operations tagged for it
// and only the components those operations reach, so the storefront's document never
// describes, or even names, an admin route or schema.
import fs from "node:fs";
import path from "node:path";
import YAML from "yaml";
import { root } from "./proc.mjs";

const METHODS = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];

export function loadSpec() {
  return YAML.parse(fs.readFileSync(path.join(root, "schema", "openapi.yaml"), "utf8"));
}

function refsIn(node, out) {
  if (Array.isArray(node)) node.forEach((n) => refsIn(n, out));
  else if (node && typeof node === "object") {
    for (const [k, v] of Object.entries(node)) {
      if (k === "$ref" && typeof v === "string") out.add(v);
      else refsIn(v, out);
    }
  }
  return out;
}

/** The part of `spec` served by the Worker whose tag is `tag`. */
export function specFor(spec, tag) {
  const paths = {};
  for (const [p, item] of Object.entries(spec.paths ?? {})) {
    const kept = {};
    for (const [k, v] of Object.entries(item)) {
      if (!METHODS.includes(k)) kept[k] = v;
      else if ((v.tags ?? []).includes(tag)) kept[k] = v;
    }
    if (Object.keys(kept).some((k) => METHODS.includes(k))) paths[p] = kept;
  }
  // Keep the components reachable from the kept paths (and security schemes they use).
  const components = {};
  const seen = new Set();
  const queue = [...refsIn(paths, new Set())];
  while (queue.length) {
    const ref = queue.pop();
    if (seen.has(ref)) continue;
    seen.add(ref);
    const [, , kind, name] = ref.split("/");
    const value = spec.components?.[kind]?.[name];
    if (value === undefined) throw new Error(`dangling $ref ${ref}`);
    (components[kind] ??= {})[name] = value;
    queue.push(...refsIn(value, new Set()));
  }
  const schemes = new Set();
  for (const item of Object.values(paths))
    for (const op of Object.values(item))
      for (const req of op?.security ?? []) Object.keys(req).forEach((s) => schemes.add(s));
  for (const s of schemes) (components.securitySchemes ??= {})[s] = spec.components.securitySchemes[s];
  const server = spec.servers.find((s) => s.description?.startsWith(tag));
  return {
    ...spec,
    servers: server ? [server] : spec.servers,
    tags: spec.tags.filter((t) => t.name === tag),
    paths,
    components,
  };
}

export function writeSpecs(outDir) {
  const spec = loadSpec();
  fs.mkdirSync(outDir, { recursive: true });
  for (const [tag, file] of [["storefront", "storefront.json"], ["back-office", "backoffice.json"]]) {
    fs.writeFileSync(path.join(outDir, file), JSON.stringify(specFor(spec, tag)));
  }
}
