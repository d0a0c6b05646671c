// POST /api/orders/{id}/returns { lines: [{ line_id, quantity, reason }], note?, attempt? } → 201
// the return (status `requested`), asked with the order token this browser got at checkout (from
// its HttpOnly cookie, never from the page): anything else is the storefront's 404, and the
// storefront's refusals (422 `validation_failed` on `lines`: unfulfilled, past the window, more
// than can still be returned) pass on in their envelope. `attempt` (the page's id for one
// submission, new after each answer) makes the Idempotency-Key, so a double submit replays the
// first answer instead of asking twice.
import { badRequest, cookie, failure, handle, json, orderCookieName, readJson, storefront } from "../../../lib/bff";
import type { components } from "../../../lib/storefront-api";

type ReturnRequest = components["schemas"]["ReturnRequest"];

export const onRequestPost = handle(async (context) => {
  const id = String(context.params.id);
  const token = cookie(context.request, orderCookieName(id));
  if (!token) return json({ error: { code: "not_found", message: "no such order in this browser" } }, 404);
  const body = await readJson(context.request);
  if (!body || !Array.isArray(body.lines)) return badRequest("choose what to send back", "lines");
  const { attempt } = body;
  if (attempt !== undefined && (typeof attempt !== "string" || !/^[A-Za-z0-9-]{1,64}$/.test(attempt))) return badRequest("reload the page and try again", "attempt");
  // Only what a return request holds goes on, as the page sent it: the storefront checks each field.
  const request = {
    lines: body.lines.map((l) => {
      const line = l && typeof l === "object" ? (l as Record<string, unknown>) : {};
      return { line_id: line.line_id, quantity: line.quantity, reason: line.reason };
    }),
    ...("note" in body ? { note: body.note } : {}),
  } as ReturnRequest;
  const r = await storefront(context).POST("/v1/orders/{id}/returns", {
    params: { path: { id }, header: attempt ? { "Idempotency-Key": `return:${id}:${attempt}` } : undefined },
    headers: { Authorization: `Bearer ${token}` },
    body: request,
  });
  return r.data ? json(r.data, 201) : failure(r.response.status, r.error);
});
