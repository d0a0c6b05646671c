// /api/admin/<path> → the back office's /admin/v1/<path>, on behalf of the signed-in staff
// member: a 5-minute admin token with their role's scopes is minted for this one call, so what
// the role may not do the back office refuses (403) whatever the page asks. The answer (status
// and JSON, errors in the API's envelope) is passed back as it is.
import { error } from "../../lib/site";
import { BOOKMARK_HEADER, cookie, isBookmark, setCookie } from "../../../../functions/lib/guard";
import { adminToken, type Env, type Staff } from "../../lib/staff";

interface Context {
  request: Request;
  env: Env;
  data: { staff?: Staff };
}

/** Path segments the back office's routes use; no `.`/`..` or encoded slashes pass through. */
const SEGMENT = /^[A-Za-z0-9_~-][A-Za-z0-9._~-]*$/;
const METHODS = new Set(["GET", "PUT", "POST", "PATCH", "DELETE"]);
/** Request headers passed on: the body's type, the action's idempotency key, the version a change expects, the request id. */
const PASSED = ["Content-Type", "Idempotency-Key", "If-Match", "X-Request-Id"];
/** The cookie keeping the D1 bookmark of the staff member's latest call, and its shape. */
const BOOKMARK_COOKIE = "comptoir_admin_bookmark";
/** Response headers passed back. */
const RETURNED = ["Content-Type", "Retry-After", "X-Request-Id", "Allow", "ETag"];

export async function onRequest({ request, env, data }: Context): Promise<Response> {
  const url = new URL(request.url);
  const rest = url.pathname.slice("/api/admin/".length);
  const segments = rest.split("/");
  if (!rest || !segments.every((s) => SEGMENT.test(s))) return error(404, "not_found", "no such admin route");
  if (!METHODS.has(request.method)) return error(405, "method_not_allowed", `${request.method} is not used by the admin app`);
  const headers = new Headers({ Authorization: `Bearer ${await adminToken(env, data.staff!)}` });
  for (const name of PASSED) {
    const value = request.headers.get(name);
    if (value !== null) headers.set(name, value);
  }
  // The staff member reads their own writes from any D1 replica (API.md "Edge scale").
  const bookmark = cookie(request, BOOKMARK_COOKIE);
  if (isBookmark(bookmark)) headers.set(BOOKMARK_HEADER, bookmark);
  const base = env.BACKOFFICE ? "https://backoffice.internal" : env.BACKOFFICE_URL!.replace(/\/$/, "");
  const target = new Request(`${base}/admin/v1/${rest}${url.search}`, {
    method: request.method,
    headers,
    body: request.method === "GET" ? null : await request.arrayBuffer(),
  });
  let answer: Response;
  try {
    answer = await (env.BACKOFFICE ? env.BACKOFFICE.fetch(target) : fetch(target));
  } catch (e) {
    console.error(`admin app: the back office did not answer (${e instanceof Error ? e.message : String(e)})`);
    return error(503, "unavailable", "the back office did not answer, try again");
  }
  const out = new Headers();
  for (const name of RETURNED) {
    const value = answer.headers.get(name);
    if (value !== null) out.set(name, value);
  }
  const latest = answer.headers.get(BOOKMARK_HEADER);
  if (isBookmark(latest)) out.append("Set-Cookie", setCookie(request, BOOKMARK_COOKIE, latest, 86_400, "Strict"));
  return new Response(answer.body, { status: answer.status, headers: out });
}
