// POST /api/cart/lines { market, sku, quantity } → { cart }: adds to this browser's cart in that
// market, creating the cart (and its HttpOnly cookie) when there is none or it can no longer change.
import { badRequest, cartCookie, cartCookieName, cartIsGone, cookie, failure, handle, json, marketOf, readJson, storefront, view } from "../../lib/bff";

export const onRequestPost = handle(async (context) => {
  const body = await readJson(context.request);
  const market = marketOf(body?.market);
  if (!body || !market) return badRequest("choose a market", "market");
  if (typeof body.sku !== "string") return badRequest("choose a product", "sku");
  const quantity = body.quantity ?? 1;
  if (!Number.isInteger(quantity)) return badRequest("quantity must be a whole number", "quantity");
  const api = storefront(context);
  const add = (id: string) =>
    api.POST("/v1/carts/{id}/lines", { params: { path: { id } }, body: { sku: body.sku as string, quantity: quantity as number } });

  let cartId = cookie(context.request, cartCookieName(market));
  let setCookie: string | null = null;
  let r = cartId ? await add(cartId) : null;
  if (!r || cartIsGone(r.response.status)) {
    const created = await api.POST("/v1/carts", { body: { market } });
    if (!created.data) return failure(created.response.status, created.error);
    cartId = created.data.id;
    setCookie = cartCookie(context.request, market, cartId);
    r = await add(cartId);
  }
  const headers: HeadersInit = setCookie ? { "Set-Cookie": setCookie } : {};
  if (!r.data) {
    // The new cart exists even when this line was refused: keep its cookie.
    const res = failure(r.response.status, r.error);
    if (setCookie) res.headers.append("Set-Cookie", setCookie);
    return res;
  }
  return json({ cart: view(r.data) }, 200, headers);
});
