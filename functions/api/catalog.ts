// GET /api/catalog?market=FR → the channel's markets and that market's products, in one answer
// (the markets, then that market's pages of products: the page makes one round trip).
import { failure, handle, json, queryMarket, storefront } from "../lib/bff";

export const onRequestGet = handle(async (context) => {
  const api = storefront(context);
  const markets = await api.GET("/v1/markets");
  if (!markets.data) return failure(markets.response.status, markets.error);
  const requested = queryMarket(context.request);
  const market = markets.data.data.find((m) => m.code === requested) ?? markets.data.data[0];
  if (!market) return json({ markets: [], market: null, products: [] });
  const products = [];
  let cursor: string | undefined;
  // The demo shows the whole catalog; a real storefront would page it (limit + next_cursor).
  for (let page = 0; page < 10; page++) {
    const r = await api.GET("/v1/products", { params: { query: { market: market.code, limit: 100, cursor } } });
    if (!r.data) return failure(r.response.status, r.error);
    products.push(...r.data.data);
    if (!r.data.next_cursor) break;
    cursor = r.data.next_cursor;
  }
  return json({ markets: markets.data.data, market, products });
});
