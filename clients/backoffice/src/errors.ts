// The API's error envelope as an exception, for code that would rather throw than test
// `error` after every call.
import type { components } from "./api.js";

/** `{"error": {"code", "message", "details"?}}`: what every refusal of the API carries. */
export type ErrorEnvelope = components["schemas"]["Error"];

/** A refusal of the back office (or an answer that is not one of its own, such as a proxy's 502). */
export class BackofficeError extends Error {
  /** The HTTP status. */
  readonly status: number;
  /** `error.code` (`validation_failed`, `illegal_transition`…), or `http_<status>` without an envelope. */
  readonly code: string;
  /** `error.details` (`field`, `sku`, `available`…), when the API gave some. */
  readonly details: Record<string, unknown> | undefined;
  /** The `X-Request-Id` of the call, to quote when asking about it. */
  readonly requestId: string | null;

  constructor(response: Response, body: unknown) {
    const envelope = isEnvelope(body) ? body.error : undefined;
    super(envelope?.message ?? `HTTP ${response.status}`);
    this.name = "BackofficeError";
    this.status = response.status;
    this.code = envelope?.code ?? `http_${response.status}`;
    this.details = envelope?.details ?? undefined;
    this.requestId = response.headers.get("X-Request-Id");
  }
}

function isEnvelope(body: unknown): body is ErrorEnvelope {
  const error = (body as { error?: unknown } | null)?.error as { code?: unknown } | undefined;
  return typeof error === "object" && error !== null && typeof error.code === "string";
}

/** What a typed call answers: `data` on success, `error` (the envelope) on a refusal. */
export interface CallResult<T> {
  data?: T;
  error?: unknown;
  response: Response;
}

/**
 * The `data` of a typed call, or its refusal thrown as a {@link BackofficeError}:
 * `const order = await ok(bo.GET("/admin/v1/orders/{id}", { params: { path: { id } } }))`.
 *
 * @throws BackofficeError when the answer is not a success.
 */
export async function ok<T>(call: CallResult<T> | Promise<CallResult<T>>): Promise<T> {
  const { data, error, response } = await call;
  if (error !== undefined || !response.ok) throw new BackofficeError(response, error);
  return data as T;
}
