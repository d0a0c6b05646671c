// POST /api/checkout { market, version, attempt } → 201 { order_id, number }: places the order
// with the `manual` provider. The Idempotency-Key is the cart id, the version the shopper saw and
// the page's attempt id (new after each refusal), so a double submit replays the first answer
// while a retry after fixing the cart, or after stock came back, runs afresh. The order token goes into an
// HttpOnly cookie for the order page; the cart cookie is cleared.
import { badRequest, cartCookieName, clearCartCookie, cookie, failure, handle, json, marketOf, noCart, orderCookie, readJson, storefront } from "../lib/bff";

export const onRequestPost = handle(async (context) => {
  const body = await readJson(context.request);
  const market = marketOf(body?.market);
  if (!body || !market) return badRequest("choose a market", "market");
  if (!Number.isInteger(body.version)) return badRequest("reload the cart and try again", "version");
  if (typeof body.attempt !== "string" || !/^[A-Za-z0-9-]{1,64}$/.test(body.attempt)) return badRequest("reload the cart and try again", "attempt");
  const cartId = cookie(context.request, cartCookieName(market));
  if (!cartId) return noCart();
  const r = await storefront(context).POST("/v1/carts/{id}/checkout", {
    params: { path: { id: cartId }, header: { "Idempotency-Key": `${cartId}:v${body.version}:${body.attempt}` } },
    body: { payment_provider: "manual" },
  });
  if (!r.data) return failure(r.response.status, r.error);
  const { order, order_token } = r.data;
  const headers = new Headers();
  headers.append("Set-Cookie", orderCookie(context.request, order.id, order_token));
  headers.append("Set-Cookie", clearCartCookie(context.request, market));
  return json({ order_id: order.id, number: order.number }, 201, headers);
});
