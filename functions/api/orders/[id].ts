// GET /api/orders/{id} → the order, read with the order token this browser got at checkout
// (anything else is the storefront's 404: an order's existence is not revealed).
import { cookie, failure, handle, json, orderCookieName, storefront } from "../../lib/bff";

export const onRequestGet = handle(async (context) => {
  const id = String(context.params.id);
  const token = cookie(context.request, orderCookieName(id));
  if (!token) return json({ error: { code: "not_found", message: "no such order in this browser" } }, 404);
  const r = await storefront(context).GET("/v1/orders/{id}", {
    params: { path: { id } },
    headers: { Authorization: `Bearer ${token}` },
  });
  return r.data ? json(r.data) : failure(r.response.status, r.error);
});
