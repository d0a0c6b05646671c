// POST /api/cart/discount-codes { market, code } → { cart }; an inapplicable code is the
// storefront's 422 with its reason, passed on.
import { badRequest, cartCookieName, cookie, failure, handle, json, marketOf, readJson, storefront, view } from "../../lib/bff";

export const onRequestPost = handle(async (context) => {
  const body = await readJson(context.request);
  const market = marketOf(body?.market);
  if (!body || !market) return badRequest("choose a market", "market");
  if (typeof body.code !== "string" || !body.code.trim()) return badRequest("enter a code", "code");
  const cartId = cookie(context.request, cartCookieName(market));
  if (!cartId) return json({ error: { code: "not_found", message: "your cart is empty" } }, 404);
  const r = await storefront(context).POST("/v1/carts/{id}/discount-codes", {
    params: { path: { id: cartId } },
    body: { code: body.code.trim() },
  });
  return r.data ? json({ cart: view(r.data) }) : failure(r.response.status, r.error);
});
