// The admin app in production mode: Cloudflare Access is the only way in. Its assertion
// (`Cf-Access-Jwt-Assertion`, RS256) is verified with jose against the team's keys, with the
// application's audience and the team's issuer, and the staff member's role comes from
// ADMIN_APP_STAFF. The team here is a local identity provider on 127.0.0.1 serving its keys
// where Access serves them (/cdn-cgi/access/certs).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import { SignJWT, generateKeyPair, exportJWK } from "jose";
import { startStack, SECRETS } from "./harness.mjs";

const AUD = "0123456789abcdef-access-aud";
let stack;
let idp;
let team;
let key;
let other;

before(async () => {
  key = await generateKeyPair("RS256");
  other = await generateKeyPair("RS256");
  const jwk = { ...(await exportJWK(key.publicKey)), kid: "k1", alg: "RS256", use: "sig" };
  idp = http.createServer((req, res) => {
    if (req.url !== "/cdn-cgi/access/certs") return res.writeHead(404).end();
    res.writeHead(200, { "Content-Type": "application/json" }).end(JSON.stringify({ keys: [jwk] }));
  });
  await new Promise((r) => idp.listen(0, "127.0.0.1", r));
  team = `http://127.0.0.1:${idp.address().port}`;
  stack = await startStack({
    admin: true,
    adminVars: { ENVIRONMENT: "production", ACCESS_TEAM_DOMAIN: team, ACCESS_AUD: AUD, ADMIN_APP_STAFF: "ops@shop.example=operations,\nboss@shop.example=owner, x@shop.example=emperor" },
  });
});
after(async () => {
  await stack?.dispose();
  idp?.close();
});

/** An Access assertion as Cloudflare Access signs it; `over` changes what a test forges. */
async function assertion(email, over = {}) {
  const { aud = AUD, iss = team, exp = "5m", signer = key.privateKey, kid = "k1", alg = "RS256" } = over;
  return new SignJWT({ email, type: "app" })
    .setProtectedHeader({ alg, kid })
    .setAudience(aud)
    .setIssuer(iss)
    .setSubject("access-user-id")
    .setIssuedAt()
    .setExpirationTime(exp)
    .sign(signer);
}

const get = (path, token) => fetch(stack.urls.admin + path, { redirect: "manual", headers: token ? { "Cf-Access-Jwt-Assertion": token } : {} });

test("a staff member signed in by Access gets their role's screens and data", async () => {
  const ops = await assertion("Ops@Shop.example");
  const me = await get("/api/session", ops);
  assert.equal(me.status, 200);
  const body = await me.json();
  assert.equal(body.email, "ops@shop.example");
  assert.equal(body.role, "operations");
  assert.deepEqual(body.sections, ["orders", "draft-orders", "returns", "inventory", "locations", "destinations"]);
  assert.equal((await get("/api/admin/orders?limit=1", ops)).status, 200);
  assert.equal((await get("/api/admin/inventory?limit=1", ops)).status, 200);
  const catalog = await get("/api/admin/products", ops);
  assert.equal(catalog.status, 403, "operations holds no catalog scope: the back office refuses");
  assert.equal((await get("/orders", ops)).status, 200);
  assert.equal((await get("/products", ops)).status, 403);
  const owner = await assertion("boss@shop.example");
  assert.equal((await get("/api/admin/products?limit=1", owner)).status, 200);
});

test("without a valid Access assertion, or off the staff list, nothing is served", async () => {
  const forged = {
    "no assertion": undefined,
    "another application's audience": await assertion("ops@shop.example", { aud: "someone-else" }),
    "another issuer": await assertion("ops@shop.example", { iss: "https://evil.cloudflareaccess.com" }),
    expired: await assertion("ops@shop.example", { exp: Math.floor(Date.now() / 1000) - 3600 }),
    "signed by another key under the team's key id": await assertion("ops@shop.example", { signer: other.privateKey }),
    "not on the staff list": await assertion("eve@shop.example"),
    "a role that does not exist": await assertion("x@shop.example"),
    "signed with the admin secret (HS256)": await assertion("boss@shop.example", { signer: new TextEncoder().encode(SECRETS.ADMIN_JWT_SECRET), alg: "HS256" }),
  };
  for (const [what, token] of Object.entries(forged)) {
    for (const path of ["/orders", "/api/admin/orders", "/api/session", "/app.js", "/signin"]) {
      const res = await get(path, token);
      assert.equal(res.status, 403, `${what}: ${path}`);
      const body = await res.json();
      assert.equal(body.error.code, "forbidden", `${what}: ${path}`);
    }
  }
  // The local sign-in is off: the dev password opens nothing in production.
  const local = await fetch(`${stack.urls.admin}/api/session`, {
    method: "POST",
    headers: { Origin: stack.urls.admin, "Content-Type": "application/json" },
    body: JSON.stringify({ email: "owner@example.com", password: SECRETS.ADMIN_APP_DEV_PASSWORD }),
  });
  assert.equal(local.status, 403);
  assert.equal(local.headers.get("set-cookie"), null);
});
