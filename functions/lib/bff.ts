// The demo storefront's backend-for-frontend: shared by the Pages Functions under functions/api.
// It calls the storefront Worker with the typed client generated from schema/openapi.yaml
// (`npm run client`), keeps the cart id in an HttpOnly cookie per market (a cart id is a bearer
// capability: page scripts never see it) and the order token in an HttpOnly cookie per order.
import createClient from "openapi-fetch";
import type { components, paths } from "./storefront-api";
import { BOOKMARK_HEADER, cookie, drain, isBookmark, json, refusal, setCookie as siteCookie } from "./guard";

export { cookie, json };

/** The demo's cookies: SameSite=Lax, so a shopper arriving from a link keeps their cart. */
const setCookie = (request: Request, name: string, value: string, maxAgeSeconds: number) => siteCookie(request, name, value, maxAgeSeconds, "Lax");

export type Cart = components["schemas"]["Cart"];
export type ApiError = components["schemas"]["Error"];

/** A service binding (what a Pages project binds to the storefront Worker) or anything with fetch. */
interface Fetcher {
  fetch(request: Request): Promise<Response>;
}

export interface Env {
  /** Service binding to the storefront Worker; preferred (no public hop). */
  STOREFRONT?: Fetcher;
  /** The storefront Worker's public URL, used when there is no service binding. */
  STOREFRONT_URL?: string;
  /** The sales channel's publishable key (not a secret: browsers may see it). */
  PUBLISHABLE_KEY?: string;
}

export interface Context {
  request: Request;
  env: Env;
  params: Record<string, string | string[]>;
  /** Pages' per-request object, shared by the middleware and the Function it runs. */
  data: { bookmark?: string };
}

export type Handler = (context: Context) => Promise<Response>;

/** What a `_middleware` gets: the request's context and the rest of the chain. */
export interface MiddlewareContext extends Context {
  next(): Promise<Response>;
}

/**
 * The D1 bookmark of this browser's latest call (API.md "Edge scale") is sent with each call
 * and kept from each answer (in the request's `data`), so the shopper reads their own writes
 * from any replica; the guard turns the latest into the cookie of the answer.
 */
export const BOOKMARK_COOKIE = "comptoir_bookmark";

/** The typed storefront client, speaking for the shopper whose request this is. */
export function storefront(context: Context) {
  const { env, request, data } = context;
  if (!env.PUBLISHABLE_KEY) throw new Misconfigured("PUBLISHABLE_KEY is not set");
  const binding = env.STOREFRONT;
  if (!binding && !env.STOREFRONT_URL) throw new Misconfigured("bind STOREFRONT or set STOREFRONT_URL");
  const headers: Record<string, string> = { "X-Publishable-Key": env.PUBLISHABLE_KEY };
  // The storefront rate-limits cart creation and checkout per client IP: pass the shopper's on.
  const ip = request.headers.get("CF-Connecting-IP");
  if (ip) headers["CF-Connecting-IP"] = ip;
  const client = createClient<paths>({
    baseUrl: binding ? "https://storefront.internal" : env.STOREFRONT_URL!.replace(/\/$/, ""),
    headers,
    fetch: binding ? (req: Request) => binding.fetch(req) : undefined,
  });
  client.use({
    onRequest({ request: call }) {
      const latest = data.bookmark ?? cookie(request, BOOKMARK_COOKIE);
      if (isBookmark(latest)) call.headers.set(BOOKMARK_HEADER, latest);
      return call;
    },
    onResponse({ response }) {
      const latest = response.headers.get(BOOKMARK_HEADER);
      if (isBookmark(latest)) data.bookmark = latest;
      return response;
    },
  });
  return client;
}

/** The cookie keeping the latest bookmark the storefront gave this request, if it gave one. */
export function bookmarkCookie(context: Context): string | null {
  const latest = context.data.bookmark;
  return latest ? setCookie(context.request, BOOKMARK_COOKIE, latest, 86_400) : null;
}

export class Misconfigured extends Error {}


/** The storefront's own error, passed on unchanged (status and envelope). */
export function failure(status: number, error: ApiError | undefined): Response {
  return json(error ?? { error: { code: "unavailable", message: "the store did not answer" } }, status >= 400 ? status : 502);
}

export function badRequest(message: string, field?: string): Response {
  return json({ error: { code: "validation_failed", message, ...(field ? { details: { field } } : {}) } }, 422);
}

/** Runs a handler, turning a storefront that cannot be reached into the 503 envelope. */
export function handle(handler: Handler): Handler {
  return async (context) => {
    try {
      return await handler(context);
    } catch (e) {
      const message = e instanceof Misconfigured ? `demo misconfigured: ${e.message}` : "the store is unavailable, try again";
      console.error(`bff: ${e instanceof Error ? e.message : String(e)}`);
      return json({ error: { code: "unavailable", message } }, 503);
    }
  };
}

// ---- the guard in front of every Function (functions/api/_middleware.ts) ---------------------

/**
 * Headers on every answer of the Functions. public/_headers covers the static files only (Pages
 * does not apply it to Functions): a JSON answer loads nothing, so its policy allows nothing.
 */
export const API_HEADERS: Readonly<Record<string, string>> = {
  "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
  "X-Content-Type-Options": "nosniff",
  "Referrer-Policy": "strict-origin-when-cross-origin",
  "X-Frame-Options": "DENY",
};

/** The middleware of every Function: refuses what `refusal` refuses, and sets API_HEADERS. */
export async function guard(context: MiddlewareContext): Promise<Response> {
  const refused = refusal(context.request);
  if (refused) await drain(context.request);
  const answer = refused ?? (await context.next());
  // A new Response: what next() gives may have immutable headers.
  const response = new Response(answer.body, answer);
  for (const [name, value] of Object.entries(API_HEADERS)) response.headers.set(name, value);
  const bookmark = bookmarkCookie(context);
  if (bookmark) response.headers.append("Set-Cookie", bookmark);
  return response;
}

/** The market a request speaks for: `?market=` or the body's `market`; two to sixteen of A-Z0-9_-. */
export function marketOf(value: unknown): string | null {
  return typeof value === "string" && /^[A-Z][A-Z0-9_-]{1,15}$/.test(value) ? value : null;
}

/** The `?market=` of a request (see marketOf). */
export function queryMarket(request: Request): string | null {
  return marketOf(new URL(request.url).searchParams.get("market"));
}

/** What a call about this browser's cart answers when it has none in that market. */
export function noCart(): Response {
  return json({ error: { code: "not_found", message: "your cart is empty" } }, 404);
}

/** A storefront answer that holds a cart, as the page gets it: `{ cart }`, or the error. */
export function cartAnswer(r: { data?: Cart; error?: ApiError; response: Response }): Response {
  return r.data ? json({ cart: view(r.data) }) : failure(r.response.status, r.error);
}

export async function readJson(request: Request): Promise<Record<string, unknown> | null> {
  try {
    const body = await request.json();
    return body && typeof body === "object" && !Array.isArray(body) ? (body as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

// ---- cookies ---------------------------------------------------------------------------------

const CART_COOKIE_DAYS = 30;


export const cartCookieName = (market: string) => `comptoir_cart_${market}`;
export const orderCookieName = (orderId: string) => `comptoir_${orderId.replace(/[^A-Za-z0-9_]/g, "")}`;

export function cartCookie(request: Request, market: string, cartId: string): string {
  return setCookie(request, cartCookieName(market), cartId, CART_COOKIE_DAYS * 86_400);
}

export function clearCartCookie(request: Request, market: string): string {
  return setCookie(request, cartCookieName(market), "", 0);
}

export function orderCookie(request: Request, orderId: string, token: string): string {
  return setCookie(request, orderCookieName(orderId), token, 90 * 86_400);
}

/** The cart as the page sees it: without its id, which stays in the HttpOnly cookie. */
export function view(cart: Cart): Omit<Cart, "id" | "merged_into"> {
  const { id: _id, merged_into: _merged, ...rest } = cart;
  return rest;
}

/** True when a cart can no longer be used from this browser (gone, expired, checked out, merged). */
export function cartIsGone(status: number): boolean {
  return status === 404 || status === 409;
}
