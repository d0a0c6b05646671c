// In front of every request to the admin app, page, script or API call alike:
// 1. a state-changing request not from the app's own pages, or without JSON, is refused (403, 415);
// 2. without a staff session nothing but the sign-in page and its files is served: any other
//    request is sent to /signin (303), an API call gets 401;
// 3. a page the staff member's role cannot open is served as the app with status 403 (the app
//    shows why); every other page path is the app itself (it routes in the browser);
// 4. every answer gets the security headers (CSP, nosniff, no framing, no caching of data).
import { drain, refusal } from "../../functions/lib/guard";
import { error, isPage, secured, sectionOf, SECTIONS } from "./lib/site";
import { localOnly, misconfiguration, staffOf, usesAccess, type Env, type Staff } from "./lib/staff";

interface Context {
  request: Request;
  env: Env;
  next(request?: Request): Promise<Response>;
  data: { staff?: Staff };
}

/** What is served to anyone: the sign-in page, its script and the style sheet. */
const OPEN = new Set(["/signin", "/signin.js", "/app.css"]);

async function route(context: Context, url: URL): Promise<Response> {
  const { request, env } = context;
  const problem = misconfiguration(env) ?? localOnly(request, env);
  if (problem) return error(503, "unavailable", `admin app misconfigured: ${problem}`);
  const signingIn = url.pathname === "/api/session" && request.method === "POST";
  // Behind Access there is no sign-in page of ours (Access signs staff in).
  if (!usesAccess(env) && (OPEN.has(url.pathname) || signingIn)) return context.next();
  const staff = await staffOf(request, env);
  // Behind Access a request without a valid assertion, or from someone not on the staff list,
  // gets nothing.
  if (!staff && usesAccess(env)) return error(403, "forbidden", "sign in through Cloudflare Access with a staff account");
  if (!staff) {
    if (url.pathname.startsWith("/api/")) return error(401, "unauthorized", "sign in to the admin app first");
    const next = url.pathname === "/" ? "" : `?next=${encodeURIComponent(url.pathname + url.search)}`;
    return new Response(null, { status: 303, headers: { Location: `/signin${next}` } });
  }
  context.data.staff = staff;
  if (!isPage(url.pathname)) return context.next();
  // Every page of the app is its one HTML shell; the app routes in the browser. Asked for
  // afresh (no conditional headers): a 304 would leave the 403 page without its body.
  const shell = await env.ASSETS!.fetch(new Request(new URL("/", url)));
  const section = sectionOf(url.pathname);
  const allowed = section === null || staff.scopes.includes(SECTIONS[section]);
  return allowed ? shell : new Response(shell.body, { status: 403, headers: shell.headers });
}

export async function onRequest(context: Context): Promise<Response> {
  const url = new URL(context.request.url);
  const refused = refusal(context.request);
  if (refused) await drain(context.request);
  return secured(refused ?? (await route(context, url)), url.pathname);
}
