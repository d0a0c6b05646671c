// The guard both sites' Functions put in front of every handler (the demo storefront's
// functions/api/_middleware.ts and the admin app's admin/functions/_middleware.ts): a
// state-changing request must come from the site's own pages and carry JSON. And the HttpOnly
// cookies both keep (the demo's cart and order tokens, the admin app's staff session).

/** A JSON answer, never cached (every answer of both sites' Functions is one visitor's). */
export function json(body: unknown, status = 200, headers: HeadersInit = {}): Response {
  const h = new Headers(headers);
  h.set("Content-Type", "application/json");
  h.set("Cache-Control", "no-store");
  return new Response(JSON.stringify(body), { status, headers: h });
}

const STATE_CHANGING = new Set(["POST", "PUT", "PATCH", "DELETE"]);

/** True when the request carries a body (a declared non-zero length, or a stream of unknown length). */
function hasBody(request: Request): boolean {
  const length = request.headers.get("Content-Length");
  if (length !== null) return length.trim() !== "0";
  return request.body !== null || request.headers.has("Transfer-Encoding");
}

/** `application/json`, with or without parameters (`; charset=utf-8`). */
function isJson(contentType: string | null): boolean {
  return (contentType ?? "").split(";")[0].trim().toLowerCase() === "application/json";
}

/**
 * Why a state-changing request (POST, PUT, PATCH, DELETE) is refused before any handler sees it,
 * or null. 403 `forbidden` unless its `Origin` is this site's own: browsers send `Origin` on
 * every such fetch, so a missing one is not a page of ours either (and a cross-site form or
 * fetch can never forge it). 415 `unsupported_media_type` unless its body is `application/json`:
 * POST, PUT and PATCH always carry one; a DELETE needs none, but one it carries must be JSON too.
 */
export function refusal(request: Request): Response | null {
  if (!STATE_CHANGING.has(request.method)) return null;
  if (request.headers.get("Origin") !== new URL(request.url).origin) {
    return json({ error: { code: "forbidden", message: "this request did not come from this site's own pages" } }, 403);
  }
  const needsJson = request.method !== "DELETE" || hasBody(request) || request.headers.has("Content-Type");
  if (needsJson && !isJson(request.headers.get("Content-Type"))) {
    return json({ error: { code: "unsupported_media_type", message: "send the body as application/json" } }, 415);
  }
  return null;
}

/**
 * Reads and drops what a refused request sent (at most 1 MiB, then the rest is cancelled): a
 * refusal answered while the client is still sending its body can reach the client as a reset
 * connection instead of the 403 or 415.
 */
export async function drain(request: Request): Promise<void> {
  const reader = request.body?.getReader();
  if (!reader) return;
  try {
    for (let read = 0; read < 1 << 20; ) {
      const { done, value } = await reader.read();
      if (done) return;
      read += value.byteLength;
    }
    await reader.cancel();
  } catch {
    // The client went away: nothing to answer.
  }
}

/** A cookie of the request, or null (absent, or a malformed value). */
export function cookie(request: Request, name: string): string | null {
  for (const part of (request.headers.get("Cookie") ?? "").split(";")) {
    const [k, ...v] = part.trim().split("=");
    if (k !== name) continue;
    try {
      return decodeURIComponent(v.join("="));
    } catch {
      return null;
    }
  }
  return null;
}

/** The Set-Cookie of an HttpOnly cookie for the whole site, Secure over HTTPS. */
export function setCookie(request: Request, name: string, value: string, maxAgeSeconds: number, sameSite: "Lax" | "Strict"): string {
  const secure = new URL(request.url).protocol === "https:" ? "; Secure" : "";
  return `${name}=${encodeURIComponent(value)}; Path=/; Max-Age=${maxAgeSeconds}; HttpOnly; SameSite=${sameSite}${secure}`;
}

/** The header carrying a D1 session's bookmark (API.md "Edge scale"), and what one looks like. */
export const BOOKMARK_HEADER = "X-Comptoir-Bookmark";
export const isBookmark = (v: string | null): v is string => v !== null && /^[0-9a-f-]{1,256}$/i.test(v);
