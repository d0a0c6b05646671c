// Verifying a delivery from the back office: Standard Webhooks signatures (HMAC-SHA256 of
// "id.timestamp.body" with the destination's whsec_ secret), checked by the standardwebhooks
// library itself, which also refuses a timestamp more than five minutes off (a replay).
import { Webhook, WebhookVerificationError } from "standardwebhooks";
import type { components } from "./api.js";

export { WebhookVerificationError };

/** An event, as delivered to a destination and listed by the feed. */
export type BackofficeEvent = components["schemas"]["Event"];

/** Fetch's `Headers`, or a plain object of them as Node's `req.headers` is. */
export type WebhookHeaders = Headers | Record<string, string | string[] | undefined>;

const SIGNED = ["webhook-id", "webhook-timestamp", "webhook-signature"] as const;

/**
 * The event a delivery carries, once its signature is checked against the destination's
 * secret. `body` is the raw body as received: JSON parsed and serialised again no longer
 * matches its signature. During a secret rotation, deliveries are signed with both secrets,
 * so either verifies.
 *
 * @throws WebhookVerificationError when a header is missing or repeated, the timestamp is
 * more than five minutes off, or no signature matches.
 */
export function verifyWebhook(secret: string, headers: WebhookHeaders, body: string | Uint8Array): BackofficeEvent {
  const payload = typeof body === "string" ? body : new TextDecoder().decode(body);
  const event = new Webhook(secret).verify(payload, signedHeaders(headers));
  if (typeof event !== "object" || event === null) throw new WebhookVerificationError("No event in the body");
  return event as BackofficeEvent;
}

function signedHeaders(headers: WebhookHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  const plain = typeof headers.get === "function" ? undefined : lowerCased(headers as Record<string, string | string[] | undefined>);
  const get = plain ? (name: string) => plain[name] : (name: string) => (headers as Headers).get(name) ?? undefined;
  for (const name of SIGNED) {
    const value = get(name);
    if (Array.isArray(value)) throw new WebhookVerificationError(`Repeated header ${name}`);
    if (value !== undefined) out[name] = value;
  }
  return out;
}

function lowerCased(record: Record<string, string | string[] | undefined>) {
  return Object.fromEntries(Object.entries(record).map(([k, v]) => [k.toLowerCase(), v]));
}
