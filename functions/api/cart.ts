// GET /api/cart?market=FR → { cart, shipping_methods } for this browser's cart in that market
// (cart null when there is none); PATCH /api/cart { market, email?, shipping_address?,
// shipping_method? } → { cart, shipping_methods }.
import type { Context } from "../lib/bff";
import { badRequest, cartCookieName, cartIsGone, clearCartCookie, cookie, failure, handle, json, marketOf, noCart, queryMarket, readJson, storefront, view } from "../lib/bff";

async function withMethods(context: Context, cartId: string, cart: unknown, headers: HeadersInit = {}) {
  const methods = await storefront(context).GET("/v1/carts/{id}/shipping-methods", { params: { path: { id: cartId } } });
  return json({ cart, shipping_methods: methods.data?.data ?? [] }, 200, headers);
}

export const onRequestGet = handle(async (context) => {
  const market = queryMarket(context.request);
  if (!market) return badRequest("choose a market", "market");
  const cartId = cookie(context.request, cartCookieName(market));
  if (!cartId) return json({ cart: null, shipping_methods: [] });
  const api = storefront(context);
  const [cart, methods] = await Promise.all([
    api.GET("/v1/carts/{id}", { params: { path: { id: cartId } } }),
    api.GET("/v1/carts/{id}/shipping-methods", { params: { path: { id: cartId } } }),
  ]);
  if (cartIsGone(cart.response.status) || (cart.data && cart.data.status !== "active")) {
    return json({ cart: null, shipping_methods: [] }, 200, { "Set-Cookie": clearCartCookie(context.request, market) });
  }
  if (!cart.data) return failure(cart.response.status, cart.error);
  return json({ cart: view(cart.data), shipping_methods: methods.data?.data ?? [] });
});

export const onRequestPatch = handle(async (context) => {
  const body = await readJson(context.request);
  const market = marketOf(body?.market);
  if (!body || !market) return badRequest("choose a market", "market");
  const cartId = cookie(context.request, cartCookieName(market));
  if (!cartId) return noCart();
  const patch: Record<string, unknown> = {};
  for (const field of ["email", "shipping_address", "shipping_method"]) if (field in body) patch[field] = body[field];
  const r = await storefront(context).PATCH("/v1/carts/{id}", { params: { path: { id: cartId } }, body: patch });
  if (!r.data) return failure(r.response.status, r.error);
  return withMethods(context, cartId, view(r.data));
});
