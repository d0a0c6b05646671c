// Admin tokens signed by an identity provider with EdDSA or ES256 keys published as a JWK set
// (ADMIN_JWT_PUBLIC_KEYS), two keys at once for rotation, and the attacks on them.
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
  stack = await startStack({ vars: { ADMIN_JWT_PUBLIC_KEYS: JSON.stringify({ keys }) } });
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
