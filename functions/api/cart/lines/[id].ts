// PATCH /api/cart/lines/{id} { market, quantity } (0 removes) and DELETE /api/cart/lines/{id}?market=
// → { cart }.
import type { Context } from "../../../lib/bff";
import { badRequest, cartAnswer, cartCookieName, cookie, handle, marketOf, noCart, queryMarket, readJson, storefront } from "../../../lib/bff";

function lineId(context: Context): string {
  return String(context.params.id);
}

export const onRequestPatch = handle(async (context) => {
  const body = await readJson(context.request);
  const market = marketOf(body?.market);
  if (!body || !market) return badRequest("choose a market", "market");
  if (!Number.isInteger(body.quantity)) return badRequest("quantity must be a whole number", "quantity");
  const cartId = cookie(context.request, cartCookieName(market));
  if (!cartId) return noCart();
  const r = await storefront(context).PATCH("/v1/carts/{id}/lines/{line_id}", {
    params: { path: { id: cartId, line_id: lineId(context) } },
    body: { quantity: body.quantity as number },
  });
  return cartAnswer(r);
});

export const onRequestDelete = handle(async (context) => {
  const market = queryMarket(context.request);
  if (!market) return badRequest("choose a market", "market");
  const cartId = cookie(context.request, cartCookieName(market));
  if (!cartId) return noCart();
  const r = await storefront(context).DELETE("/v1/carts/{id}/lines/{line_id}", {
    params: { path: { id: cartId, line_id: lineId(context) } },
  });
  return cartAnswer(r);
});
