// Admin tokens minted the way an integrator would, with a standard JWT library (jose) and the
// local secret from .dev.vars.example.
import { SignJWT, base64url } from "jose";
import { SECRETS } from "./harness.mjs";

const encoder = new TextEncoder();

export async function adminToken({ scope = "", aud = "comptoir-admin", expiresIn = "10m", secret = SECRETS.ADMIN_JWT_SECRET, alg = "HS256", exp, nbf, sub = "ops@example.com" } = {}) {
  let jwt = new SignJWT({ scope }).setProtectedHeader({ alg, typ: "JWT" }).setIssuedAt().setSubject(sub);
  if (aud !== null) jwt = jwt.setAudience(aud);
  if (exp !== undefined) jwt = jwt.setExpirationTime(exp);
  else if (expiresIn !== null) jwt = jwt.setExpirationTime(expiresIn);
  if (nbf !== undefined) jwt = jwt.setNotBefore(nbf);
  return jwt.sign(encoder.encode(secret));
}

/** An unsigned token (`alg: none`), as an attacker would send it. */
export function unsignedToken(claims) {
  const header = base64url.encode(JSON.stringify({ alg: "none", typ: "JWT" }));
  const body = base64url.encode(JSON.stringify(claims));
  return `${header}.${body}.`;
}

export const bearer = (token) => ({ Authorization: `Bearer ${token}` });
