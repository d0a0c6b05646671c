// The back office's admin API, typed from its OpenAPI document (api.d.ts, generated) on
// openapi-fetch: every call sends the admin token, a POST its Idempotency-Key when given one,
// and what may safely be sent again is sent again after a network failure, a 429, a 5xx or a
// duplicate still in flight.
import createClient, { type Client } from "openapi-fetch";
import type { paths } from "./api.js";
import { pause } from "./pause.js";

/** The typed client: `GET`, `PUT`, `POST`, `DELETE` on the back office's paths. */
export type BackofficeClient = Client<paths>;

/** Where the client's admin token comes from: a fixed one, or one asked for before each call. */
export type TokenSource =
  | { token: string; tokenProvider?: never }
  | { token?: never; tokenProvider: () => string | Promise<string> };

export type BackofficeClientOptions = TokenSource & {
  /** The back office's origin, e.g. `https://admin-api.shop.example` (paths start at `/admin/v1`). */
  baseUrl: string;
  /**
   * Headers sent with every call besides the token: a Cloudflare Access service token
   * (`CF-Access-Client-Id`, `CF-Access-Client-Secret`) when the back office is behind Access.
   */
  headers?: Record<string, string>;
  /** The fetch to send requests with (default: the global one). */
  fetch?: (request: Request) => Promise<Response>;
  /**
   * How many times a call is sent again after a network failure, a 429, a 5xx or a 409 with
   * `Retry-After` (a duplicate in flight); default 2. GET, PUT and DELETE are retried, a POST
   * only with an `idempotencyKey` (without one, a second attempt could apply it twice).
   */
  retries?: number;
};

/** A Retry-After longer than this is not waited for: the answer comes back to the caller. */
const MAX_WAIT_MS = 30_000;
const IDEMPOTENCY_KEY = /^[!-~]{1,255}$/;

/**
 * A typed client for the back office. A POST takes `idempotencyKey` beside its body: the same
 * key and body answer the first answer again (24 h), never a second effect.
 *
 * ```ts
 * const bo = createBackofficeClient({ baseUrl, tokenProvider: mintToken });
 * const { data, error } = await bo.POST("/admin/v1/inventory/sync", { body, idempotencyKey: "wms-0600" });
 * ```
 */
export function createBackofficeClient(options: BackofficeClientOptions): BackofficeClient {
  const { baseUrl, token, tokenProvider, headers, fetch: send = (r: Request) => globalThis.fetch(r), retries = 2 } = options;
  if (!token === !tokenProvider) throw new TypeError("createBackofficeClient: give token or tokenProvider, one of them");
  const client = createClient<paths>({ baseUrl, headers, fetch: retrying(send, retries) });
  client.use({
    async onRequest({ request }) {
      request.headers.set("Authorization", `Bearer ${token ?? (await tokenProvider!())}`);
      return request;
    },
  });
  const post = client.POST;
  client.POST = ((url: string, init?: { idempotencyKey?: unknown; headers?: HeadersInit }) => {
    const { idempotencyKey, ...rest } = init ?? {};
    if (idempotencyKey === undefined) return post(url as never, rest as never);
    if (typeof idempotencyKey !== "string" || !IDEMPOTENCY_KEY.test(idempotencyKey))
      return Promise.reject(new TypeError("idempotencyKey: 1 to 255 visible ASCII characters"));
    const keyed = new Headers(rest.headers);
    keyed.set("Idempotency-Key", idempotencyKey);
    return post(url as never, { ...rest, headers: keyed } as never);
  }) as BackofficeClient["POST"];
  return client;
}

/** `send`, sending again what may be sent again (see {@link BackofficeClientOptions.retries}). */
function retrying(send: (request: Request) => Promise<Response>, retries: number) {
  return async (request: Request): Promise<Response> => {
    const repeatable = request.method !== "POST" || request.headers.has("Idempotency-Key");
    for (let attempt = 0; ; attempt++) {
      const last = !repeatable || attempt >= retries;
      // Every attempt but the last sends a copy, so the body is still there for the next one.
      let response: Response;
      try {
        response = await send(last ? request : request.clone());
      } catch (error) {
        if (last || request.signal.aborted) throw error;
        await pause(backoff(attempt), request.signal);
        continue;
      }
      const wait = last ? undefined : retryDelay(response, attempt);
      if (wait === undefined) return response;
      await response.body?.cancel();
      await pause(wait, request.signal);
    }
  };
}

/** How long to wait before sending again after `response`, or undefined not to. */
function retryDelay(response: Response, attempt: number): number | undefined {
  const { status } = response;
  const retryAfter = response.headers.get("Retry-After");
  if (!(status === 429 || status >= 500 || (status === 409 && retryAfter !== null))) return undefined;
  if (retryAfter === null || !/^\d+$/.test(retryAfter)) return backoff(attempt);
  const ms = Number(retryAfter) * 1000;
  return ms <= MAX_WAIT_MS ? ms : undefined;
}

/** 0.25 s, 0.5 s, 1 s… with jitter, so that many clients do not come back at once. */
function backoff(attempt: number): number {
  return 250 * 2 ** attempt * (1 + Math.random());
}
