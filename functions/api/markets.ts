// GET /api/markets → the channel's markets (one storefront call; the cart page needs no products).
import { failure, handle, json, storefront } from "../lib/bff";

export const onRequestGet = handle(async (context) => {
  const r = await storefront(context).GET("/v1/markets");
  return r.data ? json({ markets: r.data.data }) : failure(r.response.status, r.error);
});
