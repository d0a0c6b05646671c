// DELETE /api/cart/discount-codes/{code}?market= → { cart }.
import { badRequest, cartAnswer, cartCookieName, cookie, handle, noCart, queryMarket, storefront } from "../../../lib/bff";

export const onRequestDelete = handle(async (context) => {
  const market = queryMarket(context.request);
  if (!market) return badRequest("choose a market", "market");
  const cartId = cookie(context.request, cartCookieName(market));
  if (!cartId) return noCart();
  const r = await storefront(context).DELETE("/v1/carts/{id}/discount-codes/{code}", {
    params: { path: { id: cartId, code: String(context.params.code) } },
  });
  return cartAnswer(r);
});
