// What the integrator's tests share (backoffice-client.test.mjs, integrate-docs.test.mjs): the
// client package built as it would be installed, a shop that places paid orders through the
// storefront, and a webhook receiver on 127.0.0.1 that keeps every request it gets.
import fs from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { build } from "esbuild";
import { root } from "../../scripts/lib/proc.mjs";
import { startStack, startReceiver } from "./harness.mjs";

const PACKAGE = path.join(root, "clients", "backoffice");
/** Where the tests build the client (not committed): build/clients/backoffice/. */
export const CLIENT_BUILD = path.join(root, "build", "clients", "backoffice");

/**
 * Compiles clients/backoffice/src with esbuild into build/clients/backoffice/ (index.js and a
 * package.json), linked as build/clients/node_modules/@comptoir/backoffice-client so that a
 * module under build/clients/ imports it by its name; answers the module's file URL.
 */
export async function buildClient() {
  const pkg = JSON.parse(fs.readFileSync(path.join(PACKAGE, "package.json"), "utf8"));
  const out = await build({
    entryPoints: [path.join(PACKAGE, "src", "index.ts")],
    bundle: true,
    packages: "external",
    format: "esm",
    platform: "neutral",
    target: "es2022",
    write: false,
    outfile: path.join(CLIENT_BUILD, "index.js"),
    logLevel: "silent",
  });
  fs.mkdirSync(CLIENT_BUILD, { recursive: true });
  const manifest = { name: pkg.name, version: pkg.version, type: "module", main: "./index.js", dependencies: pkg.dependencies };
  writeWhole(path.join(CLIENT_BUILD, "package.json"), JSON.stringify(manifest, null, 2));
  writeWhole(path.join(CLIENT_BUILD, "index.js"), out.outputFiles[0].contents);
  const link = path.join(root, "build", "clients", "node_modules", ...pkg.name.split("/"));
  fs.mkdirSync(path.dirname(link), { recursive: true });
  try {
    fs.symlinkSync(path.relative(path.dirname(link), CLIENT_BUILD), link, "dir");
  } catch (e) {
    if (e.code !== "EEXIST") throw e;
  }
  return pathToFileURL(path.join(CLIENT_BUILD, "index.js")).href;
}

/** Both test files build at once: a file is replaced whole (a rename), never seen half written. */
function writeWhole(file, contents) {
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, contents);
  fs.renameSync(tmp, file);
}

export const frAddress = { first_name: "Jeanne", last_name: "Martin", line1: "3 rue de la Paix", city: "Paris", postal_code: "75002", country: "FR" };

/**
 * A shopper's order in FR through the storefront (`lines`: [[sku, quantity]]), paid by the
 * back office (manual provider): `order.placed` then `order.confirmed`. Answers the paid order.
 */
export async function placePaidOrder(stack, adminHeaders, lines, { method = "standard" } = {}) {
  const cart = (await stack.sf("/v1/carts", { method: "POST", json: { market: "FR" } })).body.id;
  for (const [sku, quantity] of lines) {
    const added = await stack.sf(`/v1/carts/${cart}/lines`, { method: "POST", json: { sku, quantity } });
    if (added.status !== 200) throw new Error(`add ${sku}: ${added.text}`);
  }
  await stack.sf(`/v1/carts/${cart}`, { method: "PATCH", json: { email: "jeanne@example.fr", shipping_address: frAddress, shipping_method: method } });
  const placed = await stack.sf(`/v1/carts/${cart}/checkout`, { method: "POST", json: { payment_provider: "manual" }, headers: { "Idempotency-Key": `integ-${cart}` } });
  if (placed.status !== 201) throw new Error(`checkout: ${placed.text}`);
  const paid = await stack.bo(`/admin/v1/orders/${placed.body.order.id}/mark-paid`, { method: "POST", headers: adminHeaders });
  if (paid.status !== 200) throw new Error(`mark-paid: ${paid.text}`);
  return paid.body;
}

/**
 * What both files start with: the client built and imported (`lib`), a receiver answering
 * `respond`, and the Workers started with `vars`; `dispose` stops the last two.
 */
export async function startIntegration({ respond, vars } = {}) {
  const lib = await import(await buildClient());
  const receiver = await startReceiver(respond);
  const stack = await startStack({ vars });
  const dispose = async () => {
    await stack.dispose();
    await receiver.close();
  };
  return { lib, receiver, stack, dispose };
}
