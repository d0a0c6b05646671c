// Admin and customer tokens signed by an identity provider with EdDSA or ES256 keys published as
// a JWK set (ADMIN_JWT_PUBLIC_KEYS, CUSTOMER_JWT_PUBLIC_KEYS), two keys at once for rotation, and
// the attacks on them. The Workers check these signatures with the platform's WebCrypto.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { SignJWT, generateKeyPair, exportJWK } from "jose";
import { startStack, envelope } from "./harness.mjs";
import { bearer } from "./tokens.mjs";

let stack;
let ed;
let ec;
let retired;
before(async () => {
  ed = await generateKeyPair("EdDSA", { crv: "Ed25519", extractable: true });
  ec = await generateKeyPair("ES256", { extractable: true });
  retired = await generateKeyPair("EdDSA", { crv: "Ed25519", extractable: true });
  const keys = [
    { ...(await exportJWK(ed.publicKey)), kid: "idp-2026-11", alg: "EdDSA" },
    { ...(await exportJWK(ec.publicKey)), kid: "idp-ec", alg: "ES256" },
  ];
  // Keys under their own kids that cannot check these tokens: an Ed25519 `x` that is nobody's
  // key, and a P-256 point off the curve (WebCrypto refuses to import it; logged, still 401).
  const broken = [
    { kty: "OKP", crv: "Ed25519", x: Buffer.alloc(32, 2).toString("base64url"), kid: "broken-ed" },
    { kty: "EC", crv: "P-256", x: Buffer.alloc(32, 1).toString("base64url"), y: Buffer.alloc(32, 2).toString("base64url"), kid: "broken-ec" },
  ];
  stack = await startStack({
    vars: { ADMIN_JWT_PUBLIC_KEYS: JSON.stringify({ keys }), CUSTOMER_JWT_PUBLIC_KEYS: JSON.stringify({ keys: [...keys, ...broken] }) },
  });
});
after(() => stack?.dispose());

const sign = (key, alg, kid, claims = {}) =>
  new SignJWT({ scope: "catalog:read", ...claims })
    .setProtectedHeader({ alg, kid })
    .setAudience("comptoir-admin")
    .setExpirationTime("5m")
    .sign(key);
const read = (token) => stack.bo("/admin/v1/markets/FR", { headers: bearer(token) });

test("EdDSA and ES256 tokens from the published keys are accepted, side by side", async () => {
  assert.equal((await read(await sign(ed.privateKey, "EdDSA", "idp-2026-11"))).status, 200);
  assert.equal((await read(await sign(ec.privateKey, "ES256", "idp-ec"))).status, 200);
});

test("a retired or unknown key, a key under another's kid, and a wrong algorithm are 401", async () => {
  envelope(assert, await read(await sign(retired.privateKey, "EdDSA", "idp-2026-11")), 401, "unauthorized");
  envelope(assert, await read(await sign(retired.privateKey, "EdDSA", "idp-old")), 401, "unauthorized");
  envelope(assert, await read(await sign(ec.privateKey, "ES256", "idp-2026-11")), 401, "unauthorized");
});

test("an HS256 token keyed with the public key's bytes (algorithm confusion) is 401", async () => {
  const publicJwk = await exportJWK(ed.publicKey);
  const bytes = Buffer.from(publicJwk.x, "base64url");
  const forged = await new SignJWT({ scope: "catalog:write" })
    .setProtectedHeader({ alg: "HS256", kid: "idp-2026-11" })
    .setAudience("comptoir-admin")
    .setExpirationTime("5m")
    .sign(bytes);
  envelope(assert, await read(forged), 401, "unauthorized");
});

test("a valid token still needs the route's scope", async () => {
  const token = await sign(ed.privateKey, "EdDSA", "idp-2026-11", { scope: "orders:read" });
  envelope(assert, await read(token), 403, "forbidden");
});

const customer = (key, alg, kid, sub = "cus_idp_jeanne") =>
  new SignJWT({}).setProtectedHeader({ alg, kid }).setSubject(sub).setExpirationTime("5m").sign(key);
const myOrders = (token) => stack.sf("/v1/customers/me/orders", { headers: bearer(token) });

test("customer tokens from the published keys sign a shopper in at the storefront; others are 401", async () => {
  const cart = (await stack.sf("/v1/carts", { method: "POST", json: { market: "FR" } })).body.id;
  const attached = await stack.sf(`/v1/carts/${cart}/customer`, { method: "POST", headers: bearer(await customer(ed.privateKey, "EdDSA", "idp-2026-11")) });
  assert.equal(attached.status, 200, attached.text);
  const mine = await myOrders(await customer(ec.privateKey, "ES256", "idp-ec"));
  assert.equal(mine.status, 200, mine.text);
  assert.deepEqual(mine.body.data, []);
  // Without a kid, the keys of the token's algorithm are tried in turn.
  assert.equal((await myOrders(await customer(ec.privateKey, "ES256", undefined))).status, 200);

  const good = await customer(ed.privateKey, "EdDSA", "idp-2026-11");
  const [header, payload, signature] = good.split(".");
  const otherSub = Buffer.from(JSON.stringify({ sub: "cus_someone_else", exp: Math.floor(Date.now() / 1000) + 300 })).toString("base64url");
  for (const token of [
    `${header}.${otherSub}.${signature}`, // the claims changed under a valid signature
    `${header}.${payload}.${signature.slice(0, -4)}AAAA`, // a damaged signature
    `${header}.${payload}.${Buffer.alloc(10).toString("base64url")}`, // a signature of the wrong length
    await customer(retired.privateKey, "EdDSA", "idp-2026-11"),
    await customer(ed.privateKey, "EdDSA", "broken-ed"),
    await customer(ec.privateKey, "ES256", "broken-ec"),
  ]) {
    envelope(assert, await myOrders(token), 401, "unauthorized");
  }
});
