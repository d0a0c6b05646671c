// Who is signed in to the admin app, and what they may do. The browser never holds an admin JWT:
// it holds a staff session (locally a signed HttpOnly cookie; in production Cloudflare Access's
// own assertion header), and each call to the back office gets a 5-minute admin token minted
// here with the scopes of the staff member's role.
import { SignJWT, jwtVerify, createRemoteJWKSet, type JWTPayload } from "jose";
import { cookie, setCookie as siteCookie } from "../../../functions/lib/guard";

/** The staff session cookie: SameSite=Strict (no cross-site request ever carries it). */
const setCookie = (request: Request, name: string, value: string, maxAgeSeconds: number) => siteCookie(request, name, value, maxAgeSeconds, "Strict");

export interface Env {
  /** Service binding to the back-office Worker (preferred: no public hop). */
  BACKOFFICE?: { fetch(request: Request): Promise<Response> };
  /** The back office's URL, when there is no service binding. */
  BACKOFFICE_URL?: string;
  /** The back office's HS256 admin secret: the tokens minted here are verified with it. */
  ADMIN_JWT_SECRET?: string;
  /** Optional `iss` of minted tokens (when the back office checks ADMIN_JWT_ISSUER). */
  ADMIN_JWT_ISSUER?: string;
  /** `production` turns the local sign-in off: Cloudflare Access is then the only way in. */
  ENVIRONMENT?: string;
  /**
   * Cloudflare Access: the team domain (`shop.cloudflareaccess.com`) and the app's AUD tag. A
   * loopback origin (`http://127.0.0.1:PORT`) stands for a local identity provider (tests).
   */
  ACCESS_TEAM_DOMAIN?: string;
  ACCESS_AUD?: string;
  /** Staff and their roles: `alice@shop.example=owner, bob@shop.example=operations`. */
  ADMIN_APP_STAFF?: string;
  /** Local sign-in only: the dev accounts' password and the session cookie's signing key. */
  ADMIN_APP_DEV_PASSWORD?: string;
  ADMIN_APP_SESSION_SECRET?: string;
  ASSETS?: { fetch(request: Request): Promise<Response> };
}

export type Role = "owner" | "operations" | "support" | "catalog";

/** What each role's tokens carry (see the back office's scopes in schema/openapi.yaml). */
export const ROLE_SCOPES: Readonly<Record<Role, readonly string[]>> = {
  owner: [
    "pricing:override",
    "orders:read",
    "orders:write",
    "inventory:read",
    "inventory:write",
    "catalog:read",
    "catalog:write",
    "destinations:read",
    "destinations:write",
    "events:read",
  ],
  operations: ["orders:read", "orders:write", "inventory:read", "inventory:write", "destinations:read"],
  support: ["orders:read", "returns:write", "refunds:write"],
  catalog: ["catalog:read", "catalog:write", "inventory:read", "inventory:write"],
};

/** The local dev accounts of API.md (one password, ADMIN_APP_DEV_PASSWORD). */
export const DEV_STAFF: Readonly<Record<string, Role>> = {
  "owner@example.com": "owner",
  "ops@example.com": "operations",
  "support@example.com": "support",
  "catalog@example.com": "catalog",
};

export interface Staff {
  email: string;
  role: Role;
  scopes: readonly string[];
}

const SESSION_COOKIE = "comptoir_admin_session";
const SESSION_AUDIENCE = "comptoir-admin-app";
const SESSION_HOURS = 8;
const TOKEN_MINUTES = 5;
const encoder = new TextEncoder();

const isRole = (v: unknown): v is Role => typeof v === "string" && Object.hasOwn(ROLE_SCOPES, v);


/** `email=role` pairs, comma- or newline-separated; unknown roles are dropped. */
export function staffRoles(env: Env): Map<string, Role> {
  const roles = new Map<string, Role>();
  for (const pair of (env.ADMIN_APP_STAFF ?? "").split(/[,\n]/)) {
    const [email, role] = pair.split("=").map((s) => s.trim());
    if (email && isRole(role)) roles.set(email.toLowerCase(), role);
  }
  return roles;
}

function asStaff(email: string, role: Role): Staff {
  return { email, role, scopes: ROLE_SCOPES[role] };
}

/** Access in front of the app: required in production, used wherever it is configured. */
export function usesAccess(env: Env): boolean {
  return env.ENVIRONMENT === "production" || Boolean(env.ACCESS_TEAM_DOMAIN);
}

/** Why this deployment cannot serve anyone, or null. Names variables, never their values. */
export function misconfiguration(env: Env): string | null {
  if (!env.ADMIN_JWT_SECRET || env.ADMIN_JWT_SECRET.length < 32) return "ADMIN_JWT_SECRET must be set (32 bytes or more)";
  if (!env.BACKOFFICE && !env.BACKOFFICE_URL) return "bind BACKOFFICE or set BACKOFFICE_URL";
  if (usesAccess(env)) {
    if (!env.ACCESS_TEAM_DOMAIN || !env.ACCESS_AUD) return "ACCESS_TEAM_DOMAIN and ACCESS_AUD must be set";
  } else if (!env.ADMIN_APP_SESSION_SECRET || env.ADMIN_APP_SESSION_SECRET.length < 32 || !env.ADMIN_APP_DEV_PASSWORD) {
    return "ADMIN_APP_SESSION_SECRET (32 bytes or more) and ADMIN_APP_DEV_PASSWORD must be set for the local sign-in";
  } else if (env.ADMIN_APP_SESSION_SECRET === env.ADMIN_JWT_SECRET) {
    return "ADMIN_APP_SESSION_SECRET must differ from ADMIN_JWT_SECRET";
  }
  return null;
}

/**
 * The local sign-in (dev accounts, one shared password) serves this machine only: reached by
 * any other host name, a deployment without Access is refused rather than opened to anyone
 * who knows the password of .dev.vars.example.
 */
export function localOnly(request: Request, env: Env): string | null {
  if (usesAccess(env)) return null;
  const host = new URL(request.url).hostname;
  return ["localhost", "127.0.0.1", "[::1]"].includes(host) ? null : "without Cloudflare Access (ACCESS_TEAM_DOMAIN) the admin app serves localhost only";
}

/** The Access team's issuer: `https://<team domain>`, or a loopback origin as it is (tests). */
function accessIssuer(domain: string): string {
  return /^http:\/\/(127\.0\.0\.1|localhost)(:\d+)?$/.test(domain) ? domain : `https://${domain}`;
}

const jwkSets = new Map<string, ReturnType<typeof createRemoteJWKSet>>();

/** The staff member of a request whose Access assertion verifies, or null. */
async function fromAccess(request: Request, env: Env): Promise<Staff | null> {
  const assertion = request.headers.get("Cf-Access-Jwt-Assertion");
  if (!assertion || !env.ACCESS_TEAM_DOMAIN || !env.ACCESS_AUD) return null;
  const issuer = accessIssuer(env.ACCESS_TEAM_DOMAIN);
  let keys = jwkSets.get(issuer);
  if (!keys) {
    keys = createRemoteJWKSet(new URL(`${issuer}/cdn-cgi/access/certs`));
    jwkSets.set(issuer, keys);
  }
  let payload: JWTPayload;
  try {
    // Access signs with RS256; nothing else (and never `none` or a shared secret) is accepted.
    ({ payload } = await jwtVerify(assertion, keys, { issuer, audience: env.ACCESS_AUD, algorithms: ["RS256"], requiredClaims: ["exp", "email"] }));
  } catch {
    return null;
  }
  const email = typeof payload.email === "string" ? payload.email.toLowerCase() : null;
  const role = email ? staffRoles(env).get(email) : undefined;
  return email && role ? asStaff(email, role) : null;
}

/** The role of a local account: ADMIN_APP_STAFF when set, else the dev accounts. */
function localRole(env: Env, email: string): Role | undefined {
  const roles = staffRoles(env);
  if (roles.size) return roles.get(email);
  return Object.hasOwn(DEV_STAFF, email) ? DEV_STAFF[email] : undefined;
}

/** The staff member of a request's local session cookie, or null. */
async function fromSession(request: Request, env: Env): Promise<Staff | null> {
  const token = cookie(request, SESSION_COOKIE);
  if (!token || !env.ADMIN_APP_SESSION_SECRET) return null;
  try {
    const { payload } = await jwtVerify(token, encoder.encode(env.ADMIN_APP_SESSION_SECRET), {
      audience: SESSION_AUDIENCE,
      algorithms: ["HS256"],
    });
    const email = payload.sub ?? "";
    const role = localRole(env, email);
    // The role is read afresh: a session outlives no change of ADMIN_APP_STAFF.
    return role ? asStaff(email, role) : null;
  } catch {
    return null;
  }
}

/** Who sent this request, or null (no session, an expired one, or not a staff member). */
export function staffOf(request: Request, env: Env): Promise<Staff | null> {
  return usesAccess(env) ? fromAccess(request, env) : fromSession(request, env);
}

/** Constant-time comparison of two strings (a password check must not leak its length of match). */
function same(a: string, b: string): boolean {
  const x = encoder.encode(a);
  const y = encoder.encode(b);
  let diff = x.length ^ y.length;
  for (let i = 0; i < Math.max(x.length, y.length); i++) diff |= (x[i] ?? 0) ^ (y[i] ?? 0);
  return diff === 0;
}

/** A local sign-in: the staff member when the account and password are right, else null. */
export function signIn(env: Env, email: string, password: string): Staff | null {
  if (usesAccess(env) || !env.ADMIN_APP_DEV_PASSWORD) return null;
  const normalized = email.trim().toLowerCase();
  const role = localRole(env, normalized);
  const passwordOk = same(password, env.ADMIN_APP_DEV_PASSWORD);
  return role && passwordOk ? asStaff(normalized, role) : null;
}

/** The Set-Cookie of a new local session. */
export async function sessionCookie(request: Request, env: Env, staff: Staff): Promise<string> {
  const token = await new SignJWT({})
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setSubject(staff.email)
    .setAudience(SESSION_AUDIENCE)
    .setIssuedAt()
    .setExpirationTime(`${SESSION_HOURS}h`)
    .sign(encoder.encode(env.ADMIN_APP_SESSION_SECRET!));
  return setCookie(request, SESSION_COOKIE, token, SESSION_HOURS * 3600);
}

export function clearSessionCookie(request: Request): string {
  return setCookie(request, SESSION_COOKIE, "", 0);
}

/** A 5-minute admin token for one call to the back office, with the role's scopes. */
export async function adminToken(env: Env, staff: Staff): Promise<string> {
  let jwt = new SignJWT({ scope: staff.scopes.join(" ") })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setSubject(staff.email)
    .setAudience("comptoir-admin")
    .setIssuedAt()
    .setExpirationTime(`${TOKEN_MINUTES}m`);
  if (env.ADMIN_JWT_ISSUER) jwt = jwt.setIssuer(env.ADMIN_JWT_ISSUER);
  return jwt.sign(encoder.encode(env.ADMIN_JWT_SECRET!));
}

