// The admin app's pages and answers: which section of the app a path is, which scope a section
// needs, and the headers every answer carries.
import type { Staff } from "./staff";
import { json } from "../../../functions/lib/guard";

export { json };

/** Each screen of the app and the scope needed to see it (the back office checks again). */
export const SECTIONS: Readonly<Record<string, string>> = {
  orders: "orders:read",
  "draft-orders": "orders:write",
  returns: "orders:read",
  inventory: "inventory:read",
  products: "catalog:read",
  discounts: "catalog:read",
  "shipping-methods": "catalog:read",
  locations: "inventory:read",
  destinations: "destinations:read",
  channels: "catalog:read",
};

/** The sections a staff member may open, in menu order. */
export function sectionsOf(staff: Staff): string[] {
  return Object.keys(SECTIONS).filter((s) => staff.scopes.includes(SECTIONS[s]));
}

/** The app's files (admin/public and the bundles); every other path but /api/… is a page. */
const FILES = new Set(["/app.js", "/app.css", "/signin.js", "/index.html", "/signin.html"]);

/** A path of the app's pages (`/`, `/orders`, `/inventory/TEA.100G`): not a file, not /api. */
export function isPage(pathname: string): boolean {
  return !pathname.startsWith("/api/") && !FILES.has(pathname);
}

/** The section a page path belongs to, or null for the home page or an unknown one. */
export function sectionOf(pathname: string): string | null {
  const first = pathname.split("/")[1] ?? "";
  return Object.hasOwn(SECTIONS, first) ? first : null;
}

/**
 * The pages load only /app.css and the module /app.js (or /signin.js) from this origin and call
 * only /api/…: no inline script or style, no framing, no plugins. Preact builds the DOM with
 * createElement and properties, so no string ever reaches an HTML or script sink (Trusted Types).
 * Referrer-Policy must not be `no-referrer`: browsers would then send `Origin: null` on the
 * pages' own POSTs, which the guard refuses.
 */
const PAGE_CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'; require-trusted-types-for 'script'; trusted-types 'none'";
/** A JSON answer loads nothing. */
const API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/** Gives an answer the security headers of API.md "Hardening rules" (a new Response: next()'s may be immutable). */
export function secured(answer: Response, pathname: string): Response {
  const response = new Response(answer.body, answer);
  const h = response.headers;
  h.set("Content-Security-Policy", pathname.startsWith("/api/") ? API_CSP : PAGE_CSP);
  h.set("X-Content-Type-Options", "nosniff");
  h.set("Referrer-Policy", "strict-origin-when-cross-origin");
  h.set("X-Frame-Options", "DENY");
  h.set("Cross-Origin-Opener-Policy", "same-origin");
  h.set("Permissions-Policy", "accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), microphone=(), payment=(), usb=()");
  // Every page shows one staff member's data: never stored by a browser or a shared cache.
  if (isPage(pathname) || pathname.startsWith("/api/")) h.set("Cache-Control", "no-store");
  return response;
}


export function error(status: number, code: string, message: string): Response {
  return json({ error: { code, message } }, status);
}
