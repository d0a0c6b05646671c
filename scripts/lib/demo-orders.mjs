// Demo orders, one in each state, so the admin app has something to show (API.md "Local dev
// defaults"). Made the way a storefront and the merchant's staff would make them, through the
// storefront and back-office APIs (never written into the database directly), and only into a
// database that holds no order yet: running it again changes nothing.
import { SignJWT } from "jose";

const address = { first_name: "Camille", last_name: "Durand", line1: "12 rue des Martyrs", city: "Paris", postal_code: "75009", country: "FR" };

/** Places an order in FR through the storefront: `lines` are [sku, quantity]. */
async function place(call, key, email, lines, provider = "manual") {
  const cart = (await call.sf("/v1/carts", { market: "FR" })).id;
  for (const [sku, quantity] of lines) await call.sf(`/v1/carts/${cart}/lines`, { sku, quantity });
  await call.sf(`/v1/carts/${cart}`, { email, shipping_address: address, shipping_method: "express" }, "PATCH");
  return (await call.sf(`/v1/carts/${cart}/checkout`, { payment_provider: provider }, "POST", { "Idempotency-Key": `demo-${key}` })).order;
}

/**
 * Seeds the demo orders when there are none. `urls`: {storefront, backoffice}; `secret`: the
 * back office's ADMIN_JWT_SECRET. Resolves to the number of orders made (0 when some existed).
 */
export async function seedDemoOrders(urls, secret, publishableKey = "pk_demo_web") {
  const token = await new SignJWT({ scope: "orders:read orders:write" })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setSubject("demo-seed")
    .setAudience("comptoir-admin")
    .setIssuedAt()
    .setExpirationTime("5m")
    .sign(new TextEncoder().encode(secret));
  const send = async (base, headers, path, body, method) => {
    const res = await fetch(base + path, {
      method: method ?? (body === undefined ? "GET" : "POST"),
      headers: { ...headers, ...(body === undefined ? {} : { "Content-Type": "application/json" }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const json = await res.json().catch(() => null);
    if (!res.ok) throw new Error(`demo orders: ${method ?? "POST"} ${path} answered ${res.status} ${JSON.stringify(json)}`);
    return json;
  };
  const call = {
    sf: (path, body, method = body === undefined ? "GET" : "POST", extra = {}) => send(urls.storefront, { "X-Publishable-Key": publishableKey, ...extra }, path, body, method),
    bo: (path, body) => send(urls.backoffice, { Authorization: `Bearer ${token}`, "Idempotency-Key": `demo-${path}` }, path, body),
  };
  if ((await call.bo("/admin/v1/orders?limit=1")).data.length) return 0;

  const act = (order, action, body = {}) => call.bo(`/admin/v1/orders/${order.id}/${action}`, body);
  // Awaiting payment: a bank transfer not received yet.
  await place(call, "pending", "camille.durand@example.fr", [["BOOK-BISTRO", 1]]);
  // Confirmed: paid, waiting to be shipped.
  const confirmed = await place(call, "confirmed", "louis.martin@example.fr", [["MUG-350", 2], ["COF-250", 1]]);
  await act(confirmed, "mark-paid");
  // Partly shipped: one line of two out.
  const partial = await place(call, "partial", "ines.bernard@example.fr", [["KNIFE-20", 1], ["TOWEL-2", 2]]);
  await act(partial, "mark-paid");
  await act(partial, "fulfillments", { lines: [{ line_id: partial.lines[0].id, quantity: 1 }], tracking: { carrier: "Colissimo", number: "6A12345678901" } });
  // Shipped, then a return asked for by the customer's support desk.
  const shipped = await place(call, "fulfilled", "hugo.petit@example.fr", [["CHOC-70", 3], ["APRON-NAT", 1]]);
  await act(shipped, "mark-paid");
  await act(shipped, "fulfillments", { lines: shipped.lines.map((l) => ({ line_id: l.id, quantity: l.quantity })), tracking: { carrier: "Chronopost", number: "XY123456789FR" } });
  await call.bo("/admin/v1/returns", { order_id: shipped.id, lines: [{ line_id: shipped.lines[1].id, quantity: 1, reason: "wrong_item" }], note: "Asked for the charcoal one" });
  // Canceled before payment.
  const canceled = await place(call, "canceled", "lea.moreau@example.fr", [["BOARD-S", 1]]);
  await act(canceled, "cancel", { reason: "customer changed their mind" });
  // Refunded: paid, then refunded in full before shipping.
  const refunded = await place(call, "refunded", "nathan.laurent@example.fr", [["COF-1000", 1]]);
  await act(refunded, "mark-paid");
  await act(refunded, "refunds", { lines: refunded.lines.map((l) => ({ line_id: l.id, quantity: l.quantity })), include_shipping: true, reason: "out of season" });
  return 6;
}
