// The client from TypeScript, type-checked with the package (tsc -p clients/backoffice): what
// the API's types give an integrator, and what they refuse.
import { createBackofficeClient, events, ok, verifyWebhook, type BackofficeEvent, type components } from "../src/index.js";

type Order = components["schemas"]["Order"];

export async function shipWhatIsAllocatedAt(location: string, orderId: string, tracking: { carrier: string; number: string }): Promise<Order> {
  const bo = createBackofficeClient({ baseUrl: "https://admin-api.shop.example", tokenProvider: async () => "a token" });
  const order = await ok(bo.GET("/admin/v1/orders/{id}", { params: { path: { id: orderId } } }));
  const lines = order.lines.flatMap((line) => {
    const here = line.allocations.find((a) => a.location === location);
    return here ? [{ line_id: line.id, quantity: here.quantity }] : [];
  });
  return ok(
    bo.POST("/admin/v1/orders/{id}/fulfillments", {
      params: { path: { id: orderId } },
      body: { location, lines, tracking },
      idempotencyKey: `ship-${orderId}-${tracking.number}`,
    }),
  );
}

export async function refundOneUnit(orderId: string, lineId: string): Promise<string> {
  const bo = createBackofficeClient({ baseUrl: "https://admin-api.shop.example", token: "a token" });
  const { data, error } = await bo.POST("/admin/v1/orders/{id}/refunds", {
    params: { path: { id: orderId } },
    body: { lines: [{ line_id: lineId, quantity: 1 }], reason: "damaged" },
  });
  // A refusal is the API's envelope, typed.
  if (error) return error.error.code;
  return data.payment_status;
}

export async function drain(bo: ReturnType<typeof createBackofficeClient>, cursor: string | null): Promise<BackofficeEvent[]> {
  const seen: BackofficeEvent[] = [];
  for await (const event of events(bo, { cursor, onCursor: (c: string) => void c })) seen.push(event);
  return seen;
}

export function received(secret: string, request: { headers: Headers; body: string }): string {
  return verifyWebhook(secret, request.headers, request.body).type;
}

export async function typeErrors() {
  const bo = createBackofficeClient({ baseUrl: "https://admin-api.shop.example", token: "a token" });
  // @ts-expect-error no such path
  await bo.GET("/admin/v1/nothing");
  // @ts-expect-error a fulfilment needs its lines
  await bo.POST("/admin/v1/orders/{id}/fulfillments", { params: { path: { id: "ord_1" } }, body: { location: "main" } });
  // @ts-expect-error a token, or a token provider: one of them
  createBackofficeClient({ baseUrl: "https://admin-api.shop.example" });
}
