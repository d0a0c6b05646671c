// DELETE /api/cart/discount-codes/{code}?market= → { cart }.
import { badRequest, cartCookieName, cookie, failure, handle, json, marketOf, storefront, view } from "../../../lib/bff";

export const onRequestDelete = handle(async (context) => {
  const market = marketOf(new URL(context.request.url).searchParams.get("market"));
  if (!market) return badRequest("choose a market", "market");
  const cartId = cookie(context.request, cartCookieName(market));
  if (!cartId) return json({ error: { code: "not_found", message: "your cart is empty" } }, 404);
  const r = await storefront(context).DELETE("/v1/carts/{id}/discount-codes/{code}", {
    params: { path: { id: cartId, code: String(context.params.code) } },
  });
  return r.data ? json({ cart: view(r.data) }) : failure(r.response.status, r.error);
});
