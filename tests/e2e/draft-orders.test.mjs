// Draft orders (API.md "Orders from every channel"): staff build an order for a customer,
// priced like a cart; a price set by hand needs `pricing:override` and a reason; completing it
// is a checkout (same guarded batch, same idempotency, never oversells), with a Stripe
// PaymentIntent from the stand-in API below on 127.0.0.1.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startStack, envelope, d1RoundTrips, checkEventSchemas, startReceiver } from "./harness.mjs";
import { adminToken, bearer } from "./tokens.mjs";
import { frAddress } from "./integrator.mjs";

let stack;
let stripeApi;
let ops;
let owner;
/** The PaymentIntents the stand-in created: what Comptoir sent, and the id it answered. */
const intents = () => stripeApi.requests.map((r, i) => ({ form: new URLSearchParams(r.body.toString()), id: `pi_draft_${i + 1}` }));
before(async () => {
  stripeApi = await startReceiver(async (req) => {
    const form = new URLSearchParams(req.body.toString());
    const id = `pi_draft_${stripeApi.requests.length}`;
    return { status: 200, body: JSON.stringify({ id, object: "payment_intent", amount: Number(form.get("amount")), currency: form.get("currency"), client_secret: `${id}_secret_xyz` }) };
  });
  // A shopper's unpaid order would be canceled a second after checkout.
  stack = await startStack({ vars: { STRIPE_API_BASE: stripeApi.url, UNPAID_ORDER_TTL_SECONDS: "1" } });
  const scope = "orders:read orders:write inventory:read";
  ops = bearer(await adminToken({ scope, sub: "ops@example.com" }));
  owner = bearer(await adminToken({ scope: `${scope} pricing:override`, sub: "owner@example.com" }));
});
after(async () => {
  await stack?.dispose();
  await stripeApi?.close();
});

const eur = (amount) => ({ amount, currency: "EUR" });
const draftBody = (lines, extra = {}) => ({ channel: "web", market: "FR", email: "buyer@b2b.example", lines, shipping_method: "express", shipping_address: frAddress, ...extra });
const createDraft = (body, headers = owner) => stack.bo("/admin/v1/draft-orders", { method: "POST", headers, json: body });
const complete = (id, provider, key, headers = owner) =>
  stack.bo(`/admin/v1/draft-orders/${id}/complete`, { method: "POST", headers: { ...headers, ...(key ? { "Idempotency-Key": key } : {}) }, json: { payment_provider: provider } });
const drafts = async () => (await stack.db.prepare("SELECT count(*) AS n FROM carts WHERE kind = 'draft'").first()).n;
const level = async (sku) => (await stack.bo(`/admin/v1/inventory/${sku}`, { headers: owner })).body;

test("a price set by hand is refused without pricing:override, kept with it, and the draft completes through Stripe", async () => {
  const lines = [{ sku: "knife-20", quantity: 2, unit_price: eur("75.00"), price_reason: "B2B contract price" }, { sku: "OIL-500", quantity: 3 }];
  const before = await drafts();
  envelope(assert, await createDraft(draftBody(lines), ops), 403, "forbidden");
  assert.equal(await drafts(), before, "a refused draft writes nothing");
  const noReason = await createDraft(draftBody([{ sku: "KNIFE-20", quantity: 1, unit_price: eur("75.00") }]));
  assert.equal(envelope(assert, noReason, 422, "validation_failed").details.field, "lines[0].price_reason");

  const created = await createDraft(draftBody(lines));
  assert.equal(created.status, 201, created.text);
  const draft = created.body;
  assert.match(draft.id, /^draft_[0-9a-f]{32}$/);
  assert.equal(created.headers.get("etag"), '"1"');
  assert.deepEqual([draft.status, draft.channel, draft.market, draft.order_id, draft.version], ["open", "web", "FR", null, 1]);
  assert.deepEqual(draft.lines.map((l) => [l.sku, l.quantity, l.unit_price.amount, l.price_reason ?? null]), [["KNIFE-20", 2, "75.00", "B2B contract price"], ["OIL-500", 3, "16.90", null]]);
  // 150.00 + 50.70 of goods, 12.90 express shipping, taxes inclusive in France.
  assert.deepEqual([draft.totals.subtotal.amount, draft.totals.shipping.amount, draft.totals.total.amount], ["200.70", "12.90", "213.60"]);
  assert.deepEqual(draft.warnings, []);

  // Never a shopper's cart.
  envelope(assert, await stack.sf(`/v1/carts/${draft.id}`), 404, "not_found");
  envelope(assert, await stack.sf(`/v1/carts/${draft.id}/lines`, { method: "POST", json: { sku: "OIL-500", quantity: 1 } }), 404, "not_found");
  const stolen = await stack.sf(`/v1/carts/${draft.id}/checkout`, { method: "POST", json: { payment_provider: "manual" }, headers: { "Idempotency-Key": `steal-${draft.id}` } });
  envelope(assert, stolen, 404, "not_found");

  // Staff without the scope may change the rest; the price set by hand stays. Setting one is refused.
  const patched = await stack.bo(`/admin/v1/draft-orders/${draft.id}`, { method: "PATCH", headers: ops, json: { email: "orders@b2b.example", note: "Deliver to the loading dock" } });
  assert.equal(patched.status, 200, patched.text);
  assert.equal(d1RoundTrips(patched.headers), 2, "a draft's write reads once and writes once (the catalog is warm)");
  assert.deepEqual([patched.body.version, patched.body.email, patched.body.note, patched.body.lines[0].unit_price.amount], [2, "orders@b2b.example", "Deliver to the loading dock", "75.00"]);
  envelope(assert, await stack.bo(`/admin/v1/draft-orders/${draft.id}`, { method: "PATCH", headers: ops, json: { lines } }), 403, "forbidden");
  const stale = await stack.bo(`/admin/v1/draft-orders/${draft.id}`, { method: "PATCH", headers: { ...owner, "If-Match": '"1"' }, json: { email: "x@b2b.example" } });
  assert.equal(envelope(assert, stale, 412, "version_mismatch").details.current_version, 2);
  // The precondition first: a stale version is 412 whatever the body holds.
  const staleAndBad = await stack.bo(`/admin/v1/draft-orders/${draft.id}`, { method: "PATCH", headers: { ...owner, "If-Match": '"1"' }, json: { email: "not-an-email" } });
  envelope(assert, staleAndBad, 412, "version_mismatch");
  // `null` is as if the field were left out (API.md conventions), but for the note, which it clears.
  const nulled = await stack.bo(`/admin/v1/draft-orders/${draft.id}`, { method: "PATCH", headers: owner, json: { email: null, note: null } });
  assert.equal(nulled.status, 200, nulled.text);
  assert.deepEqual([nulled.body.email, nulled.body.note, nulled.body.version], ["orders@b2b.example", null, 3]);

  const knife = await level("KNIFE-20");
  envelope(assert, await complete(draft.id, "stripe", null), 428, "idempotency_key_required");
  const done = await complete(draft.id, "stripe", `complete-${draft.id}`);
  assert.equal(done.status, 201, done.text);
  assert.equal(d1RoundTrips(done.headers), 2, "a draft's completion costs what a checkout costs");
  const { order, payment, order_token } = done.body;
  const intent = intents().at(-1);
  assert.deepEqual(payment, { provider: "stripe", status: "requires_payment_method", client_secret: `${intent.id}_secret_xyz` });
  assert.deepEqual([intent.form.get("amount"), intent.form.get("currency"), intent.form.get("metadata[order_id]")], ["21360", "eur", order.id]);
  assert.ok(order_token);
  assert.deepEqual([order.channel, order.source, order.status, order.email, order.payment_reference ?? intent.id], ["web", "draft", "pending_payment", "orders@b2b.example", intent.id]);
  assert.deepEqual(order.lines.map((l) => [l.sku, l.unit_price.amount, l.price_reason]), [["KNIFE-20", "75.00", "B2B contract price"], ["OIL-500", "16.90", null]]);
  assert.equal((await level("KNIFE-20")).reserved, knife.reserved + 2, "the order reserved its stock");

  // The same key replays the answer; the draft is completed and names its order.
  const replay = await complete(draft.id, "stripe", `complete-${draft.id}`);
  assert.equal(replay.status, 201);
  assert.equal(replay.headers.get("idempotent-replayed"), "true");
  assert.equal(replay.body.order.id, order.id);
  const shown = (await stack.bo(`/admin/v1/draft-orders/${draft.id}`, { headers: ops })).body;
  assert.deepEqual([shown.status, shown.order_id], ["completed", order.id]);
  envelope(assert, await stack.bo(`/admin/v1/draft-orders/${draft.id}`, { method: "PATCH", headers: owner, json: { note: "late" } }), 409, "cart_not_active");
  envelope(assert, await complete(draft.id, "manual", `again-${draft.id}`), 409, "cart_not_active");

  // Who completed it and every price set by hand, in the order's timeline; the event says where it came from.
  const timeline = (await stack.bo(`/admin/v1/orders/${order.id}/timeline`, { headers: ops })).body.data;
  const action = timeline.find((e) => e.kind === "admin_action");
  assert.equal(action.actor, "owner@example.com");
  assert.match(action.summary, /draft completed: draft_\w+ \(stripe\); price set by hand: KNIFE-20 at 75\.00 EUR \(B2B contract price\)/);
  const placed = await stack.db.prepare("SELECT payload FROM outbox WHERE aggregate = ?1 AND type = 'order.placed'").bind(order.id).first();
  const data = JSON.parse(placed.payload).data;
  assert.deepEqual([data.source, data.channel, data.lines[0].price_reason], ["draft", "web", "B2B contract price"]);
  const listed = await stack.bo("/admin/v1/orders?source=draft", { headers: ops });
  assert.deepEqual(listed.body.data.map((o) => o.id), [order.id]);
  await checkEventSchemas(assert, stack.db);
});

test("completing a draft never oversells, and parallel completions place one order", async () => {
  const knife = await level("KNIFE-20");
  const short = await createDraft(draftBody([{ sku: "KNIFE-20", quantity: knife.available + 1 }], { shipping_method: "standard" }), ops);
  assert.equal(short.status, 201, short.text);
  assert.deepEqual(short.body.warnings.map((w) => w.code), ["insufficient_stock"]);
  const refused = await complete(short.body.id, "manual", `short-${short.body.id}`, ops);
  assert.equal(envelope(assert, refused, 422, "insufficient_stock").details.sku, "KNIFE-20");
  assert.equal((await level("KNIFE-20")).reserved, knife.reserved, "nothing was reserved");
  assert.equal((await stack.bo(`/admin/v1/draft-orders/${short.body.id}`, { headers: ops })).body.status, "open");

  const one = await createDraft(draftBody([{ sku: "OIL-500", quantity: 1 }]), ops);
  const oil = await level("OIL-500");
  const answers = await Promise.all(Array.from({ length: 12 }, (_, i) => complete(one.body.id, "manual", `race-${i}-${one.body.id}`, ops)));
  const placed = answers.filter((a) => a.status === 201);
  assert.equal(placed.length, 1, answers.map((a) => `${a.status} ${a.body?.error?.code ?? ""}`).join(", "));
  for (const a of answers.filter((a) => a.status !== 201)) assert.equal(a.body.error.code, "cart_not_active");
  const { n } = await stack.db.prepare("SELECT count(*) AS n FROM orders WHERE cart_id = ?1").bind(one.body.id).first();
  assert.equal(n, 1);
  assert.equal((await level("OIL-500")).reserved, oil.reserved + 1);

  // Staff decide when an order they took is paid: it is never canceled for waiting.
  await new Promise((r) => setTimeout(r, 1500));
  await (await stack.mf.getWorker("backoffice")).scheduled({ cron: "* * * * *" });
  const order = (await stack.bo(`/admin/v1/orders/${placed[0].body.order.id}`, { headers: ops })).body;
  assert.equal(order.status, "pending_payment", "a draft's order waits for mark-paid");
});

test("a draft whose channel stopped selling its market can no longer change or be placed", async () => {
  const catalog = bearer(await adminToken({ scope: "catalog:read catalog:write" }));
  const put = (markets) => stack.bo("/admin/v1/channels/phone-desk", { method: "PUT", headers: catalog, json: { name: "Phone desk", markets } });
  assert.ok([200, 201].includes((await put(["FR"])).status));
  const draft = (await createDraft(draftBody([{ sku: "OIL-500", quantity: 1 }], { channel: "phone-desk" }), ops)).body;
  assert.equal(draft.channel, "phone-desk");
  assert.equal((await put(["US"])).status, 200);
  envelope(assert, await stack.bo(`/admin/v1/draft-orders/${draft.id}`, { method: "PATCH", headers: ops, json: { note: "call back" } }), 409, "cart_not_active");
  envelope(assert, await complete(draft.id, "manual", `gone-${draft.id}`, ops), 409, "cart_not_active");
  const shown = await stack.bo(`/admin/v1/draft-orders/${draft.id}`, { headers: ops });
  assert.deepEqual([shown.status, shown.body.status], [200, "open"], "it still shows");
});

test("without ORDER_TOKEN_SECRET the back office places nothing rather than lose the answer", async () => {
  const bare = await startStack({ vars: { ORDER_TOKEN_SECRET: "" } });
  try {
    const draft = (await bare.bo("/admin/v1/draft-orders", { method: "POST", headers: ops, json: draftBody([{ sku: "OIL-500", quantity: 1 }]) })).body;
    const res = await bare.bo(`/admin/v1/draft-orders/${draft.id}/complete`, { method: "POST", headers: { ...ops, "Idempotency-Key": `bare-${draft.id}` }, json: { payment_provider: "manual" } });
    envelope(assert, res, 503, "unavailable");
    const { n } = await bare.db.prepare("SELECT count(*) AS n FROM orders WHERE cart_id = ?1").bind(draft.id).first();
    assert.equal(n, 0, "no order was written");
    assert.equal((await bare.bo(`/admin/v1/draft-orders/${draft.id}`, { headers: ops })).body.status, "open");
  } finally {
    await bare.dispose();
  }
});

test("bad drafts are refused with the field at fault and write nothing", async () => {
  const before = await drafts();
  const field = async (body, code = "validation_failed") => envelope(assert, await createDraft(body), 422, code).details.field;
  assert.equal(await field(draftBody([{ sku: "OIL-500", quantity: 1 }], { channel: "nowhere" })), "channel");
  assert.equal(await field(draftBody([{ sku: "OIL-500", quantity: 1 }], { market: "DE" })), "market");
  assert.equal(await field(draftBody([{ sku: "NOPE-1", quantity: 1 }]), "unknown_sku"), "lines[0].sku");
  assert.equal(await field(draftBody([{ sku: "OIL-500", quantity: 1000 }])), "lines[0].quantity");
  assert.equal(await field(draftBody([{ sku: "OIL-500", quantity: 1 }, { sku: "oil-500", quantity: 2 }])), "lines[1].sku");
  assert.equal(await field(draftBody([{ sku: "OIL-500", quantity: 1, unit_price: { amount: "9.00", currency: "USD" }, price_reason: "deal" }])), "lines[0].unit_price.currency");
  assert.equal(await field(draftBody([{ sku: "OIL-500", quantity: 1, price_reason: "deal" }])), "lines[0].price_reason");
  assert.equal(await field(draftBody([{ sku: "OIL-500", quantity: 999, unit_price: eur("90000000000.00"), price_reason: "deal" }])), "lines[0].unit_price.amount");
  assert.equal(await field(draftBody([{ sku: "OIL-500", quantity: 1 }], { shipping_method: "teleport" })), "shipping_method");
  assert.equal(await field(draftBody([{ sku: "OIL-500", quantity: 1 }], { shipping_address: { ...frAddress, country: "US" } })), "shipping_address.country");
  assert.equal(await field(draftBody([{ sku: "OIL-500", quantity: 1 }], { email: "not-an-email" })), "email");
  assert.equal(await field(draftBody([{ sku: "OIL-500", quantity: 1 }], { unit_price: eur("1.00") }), "unknown_field"), "unit_price");
  assert.equal(await drafts(), before);
  envelope(assert, await stack.bo("/admin/v1/draft-orders/draft_nope", { headers: ops }), 404, "not_found");
  envelope(assert, await stack.bo("/admin/v1/draft-orders/draft_nope", { method: "PUT", headers: ops, json: {} }), 405, "method_not_allowed");
  const bad = await stack.bo("/admin/v1/draft-orders/draft_nope/complete", { method: "POST", headers: { ...ops, "Idempotency-Key": "bad-provider" }, json: { payment_provider: "cash" } });
  assert.equal(envelope(assert, bad, 422, "validation_failed").details.field, "payment_provider");
});

test("an open draft can be discarded; a completed one stays with its order", async () => {
  const draft = (await createDraft(draftBody([{ sku: "OIL-500", quantity: 1 }]), ops)).body;
  const discard = (id) => stack.bo(`/admin/v1/draft-orders/${id}`, { method: "DELETE", headers: ops });
  const gone = await discard(draft.id);
  assert.equal(gone.status, 204, gone.text);
  envelope(assert, await stack.bo(`/admin/v1/draft-orders/${draft.id}`, { headers: ops }), 404, "not_found");
  const { n } = await stack.db.prepare("SELECT count(*) AS n FROM cart_lines WHERE cart_id = ?1").bind(draft.id).first();
  assert.equal(n, 0, "its lines went with it");
  envelope(assert, await discard(draft.id), 404, "not_found");
  const completed = (await stack.bo("/admin/v1/draft-orders?status=completed&limit=1", { headers: ops })).body.data[0];
  envelope(assert, await discard(completed.id), 409, "cart_not_active");
  // A shopper's cart is no draft.
  const cart = (await stack.sf("/v1/carts", { method: "POST", json: { market: "FR" } })).body;
  envelope(assert, await discard(cart.id), 404, "not_found");
  assert.equal((await stack.sf(`/v1/carts/${cart.id}`)).status, 200);
});

test("open drafts are listed newest first, completed ones with their order", async () => {
  const a = (await createDraft(draftBody([{ sku: "OIL-500", quantity: 1 }]), ops)).body;
  const second = await createDraft(draftBody([{ sku: "OIL-500", quantity: 2 }]), ops);
  assert.equal(d1RoundTrips(second.headers), 2, "creating a draft reads once and writes once (the catalog is warm)");
  const b = second.body;
  const open = await stack.bo("/admin/v1/draft-orders?status=open&limit=1", { headers: ops });
  assert.equal(open.status, 200, open.text);
  assert.deepEqual(open.body.data.map((d) => [d.id, d.status, d.line_count]), [[b.id, "open", 1]]);
  const next = await stack.bo(`/admin/v1/draft-orders?status=open&limit=1&cursor=${open.body.next_cursor}`, { headers: ops });
  assert.deepEqual(next.body.data.map((d) => d.id), [a.id]);
  const completed = await stack.bo("/admin/v1/draft-orders?status=completed", { headers: ops });
  assert.ok(completed.body.data.length >= 1 && completed.body.data.every((d) => d.status === "completed" && d.order_id));
  envelope(assert, await stack.bo("/admin/v1/draft-orders?status=lost", { headers: ops }), 400, "invalid_parameter");
});
