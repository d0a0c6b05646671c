// POST /api/cart/discount-codes { market, code } → { cart }; an inapplicable code is the
// storefront's 422 with its reason, passed on.
import { badRequest, cartAnswer, cartCookieName, cookie, handle, marketOf, noCart, readJson, storefront } from "../../lib/bff";

export const onRequestPost = handle(async (context) => {
  const body = await readJson(context.request);
  const market = marketOf(body?.market);
  if (!body || !market) return badRequest("choose a market", "market");
  if (typeof body.code !== "string" || !body.code.trim()) return badRequest("enter a code", "code");
  const cartId = cookie(context.request, cartCookieName(market));
  if (!cartId) return noCart();
  const r = await storefront(context).POST("/v1/carts/{id}/discount-codes", {
    params: { path: { id: cartId } },
    body: { code: body.code.trim() },
  });
  return cartAnswer(r);
});
