// @comptoir/backoffice-client: the back office's admin API for integrators (ERP, WMS, OMS):
// typed calls, webhook verification and the event feed as an async iterator.
export { createBackofficeClient } from "./client.js";
export type { BackofficeClient, BackofficeClientOptions, TokenSource } from "./client.js";
export { BackofficeError, ok } from "./errors.js";
export type { CallResult, ErrorEnvelope } from "./errors.js";
export { events } from "./events.js";
export type { EventsOptions } from "./events.js";
export { verifyWebhook, WebhookVerificationError } from "./webhooks.js";
export type { BackofficeEvent, WebhookHeaders } from "./webhooks.js";
export type { components, operations, paths } from "./api.js";
