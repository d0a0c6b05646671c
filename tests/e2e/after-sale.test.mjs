// After the sale (API.md): refunds that move money through a local stand-in for Stripe's API,
// returns asked for by the shopper and handled by staff (restocked or not, refunded on
// receipt), goodwill refunds, failed refunds retried, the timeline, and the peers' bugs as
// named regressions. Every amount is checked to the cent, the stock after each step.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import Stripe from "stripe";
import { SignJWT } from "jose";
import { startStack, envelope, checkEventSchemas, d1RoundTrips, SECRETS } from "./harness.mjs";
import { adminToken, bearer } from "./tokens.mjs";

let stack;
let stripeApi;
let admin;
/** What the stand-in received: PaymentIntents and Refunds. */
const intents = [];
const refunds = [];
/** How POST /v1/refunds answers: "succeeded", "pending", "declined" (402) or "down" (500). */
let refundMode = "succeeded";

before(async () => {
  stripeApi = http.createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      const form = new URLSearchParams(body);
      const json = (status, value) => {
        res.writeHead(status, { "Content-Type": "application/json" });
        res.end(JSON.stringify(value));
      };
      if (req.url === "/v1/refunds") {
        const sent = { key: req.headers["idempotency-key"], form, auth: req.headers.authorization };
        refunds.push(sent);
        if (refundMode === "down") return json(500, { error: { type: "api_error", message: "Stripe is down" } });
        if (refundMode === "declined") return json(402, { error: { type: "invalid_request_error", message: "Charge has been disputed" } });
        const id = `re_test_${refunds.length}`;
        return json(200, {
          id, object: "refund", amount: Number(form.get("amount")), currency: "eur", payment_intent: form.get("payment_intent"),
          status: refundMode, metadata: { refund_id: form.get("metadata[refund_id]"), order_id: form.get("metadata[order_id]") },
        });
      }
      const id = `pi_after_${intents.length + 1}`;
      intents.push({ id, form });
      json(200, { id, object: "payment_intent", amount: Number(form.get("amount")), currency: form.get("currency"), client_secret: `${id}_secret_x` });
    });
  });
  await new Promise((r) => stripeApi.listen(0, "127.0.0.1", r));
  stack = await startStack({ vars: { STRIPE_API_BASE: `http://127.0.0.1:${stripeApi.address().port}` } });
  admin = bearer(await adminToken({ scope: "orders:read orders:write inventory:read", sub: "claire@shop.example" }));
});
after(async () => {
  await stack?.dispose();
  stripeApi?.close();
});

const frAddress = { first_name: "Jeanne", last_name: "Martin", line1: "3 rue de la Paix", city: "Paris", postal_code: "75002", country: "FR" };
/** An order of `lines` ([sku, quantity]) with WELCOME10 and express shipping. */
async function place(provider, lines, { code = "WELCOME10" } = {}) {
  const cart = (await stack.sf("/v1/carts", { method: "POST", json: { market: "FR" } })).body.id;
  for (const [sku, quantity] of lines) await stack.sf(`/v1/carts/${cart}/lines`, { method: "POST", json: { sku, quantity } });
  await stack.sf(`/v1/carts/${cart}`, { method: "PATCH", json: { email: "j@example.fr", shipping_address: frAddress, shipping_method: "express" } });
  if (code) assert.equal((await stack.sf(`/v1/carts/${cart}/discount-codes`, { method: "POST", json: { code } })).status, 200);
  const res = await stack.sf(`/v1/carts/${cart}/checkout`, { method: "POST", json: { payment_provider: provider }, headers: { "Idempotency-Key": `after-${cart}` } });
  assert.equal(res.status, 201, res.text);
  return res.body;
}
const stripe = new Stripe("sk_test_unused");
async function webhook(event) {
  const payload = JSON.stringify({ id: `evt_${Math.random().toString(16).slice(2)}`, ...event });
  const header = stripe.webhooks.generateTestHeaderString({ payload, secret: SECRETS.STRIPE_WEBHOOK_SECRET });
  const res = await stack.sfRaw("/v1/payments/stripe/webhook", { method: "POST", body: payload, headers: { "Stripe-Signature": header, "Content-Type": "application/json" } });
  assert.equal(res.status, 200, res.text);
}
const cents = (money) => Math.round(Number(money.amount) * 100);
const eur = (minor) => ({ amount: (minor / 100).toFixed(2), currency: "EUR" });
const bo = (path, json, headers = {}) => stack.bo(path, json === undefined ? { headers: { ...admin, ...headers } } : { method: "POST", json, headers: { ...admin, ...headers } });
const order = async (id) => (await bo(`/admin/v1/orders/${id}`)).body;
const stock = async (sku) => {
  const { on_hand, reserved } = (await bo(`/admin/v1/inventory/${sku}`)).body;
  return [on_hand, reserved];
};
/** A Stripe order paid through its webhook. */
async function paidStripe(lines) {
  const { order: placed, order_token } = await place("stripe", lines);
  const row = await stack.db.prepare("SELECT payment_reference FROM orders WHERE id = ?1").bind(placed.id).first();
  await webhook({ type: "payment_intent.succeeded", data: { object: { id: row.payment_reference, object: "payment_intent", amount: cents(placed.totals.total), currency: "eur", metadata: { order_id: placed.id } } } });
  return { order: await order(placed.id), token: order_token, intent: row.payment_reference };
}
const line = (o, sku) => o.lines.find((l) => l.sku === sku);

test("a Stripe order paid, partly shipped, edited, partly returned (one line restocked, one not) and refunded through Stripe, to the cent", async () => {
  const before = { towel: await stock("TOWEL-2"), choc: await stock("CHOC-70"), oil: await stock("OIL-500") };
  const { order: paid, token, intent } = await paidStripe([["TOWEL-2", 3], ["CHOC-70", 2], ["OIL-500", 1]]);
  // 3 × 18.00, 2 × 5.90 and 16.90, less 10 %; express 12.90.
  assert.deepEqual([line(paid, "TOWEL-2").total, line(paid, "CHOC-70").total, line(paid, "OIL-500").total, paid.totals.total], [eur(4860), eur(1062), eur(1521), eur(8733)]);
  assert.deepEqual([paid.status, paid.paid, paid.balance, paid.refunded], ["confirmed", eur(8733), eur(0), eur(0)]);
  assert.deepEqual(await stock("TOWEL-2"), [before.towel[0], before.towel[1] + 3]);

  const towel = line(paid, "TOWEL-2").id;
  const choc = line(paid, "CHOC-70").id;
  const oil = line(paid, "OIL-500").id;
  const shipped = await bo(`/admin/v1/orders/${paid.id}/fulfillments`, { lines: [{ line_id: towel, quantity: 3 }, { line_id: choc, quantity: 1 }] });
  assert.equal(shipped.status, 200, shipped.text);
  assert.equal(shipped.body.fulfillment_status, "partially_fulfilled");
  assert.deepEqual(await stock("TOWEL-2"), [before.towel[0] - 3, before.towel[1]]);
  assert.deepEqual(await stock("CHOC-70"), [before.choc[0] - 1, before.choc[1] + 1]);

  // The oil is out of the parcel: an edit removes it (a dry run first), its 15.21 is owed back.
  const shippedLine = await bo(`/admin/v1/orders/${paid.id}/edits`, { changes: [{ op: "remove", line_id: choc }] });
  assert.equal(envelope(assert, shippedLine, 422, "validation_failed").details.field, "changes[0]");
  const dry = await bo(`/admin/v1/orders/${paid.id}/edits`, { changes: [{ op: "remove", line_id: oil }], dry_run: true });
  assert.equal(dry.status, 200, dry.text);
  assert.deepEqual([dry.body.totals.total, dry.body.balance, dry.body.lines.length], [eur(7212), eur(-1521), 2]);
  assert.deepEqual(await stock("OIL-500"), [before.oil[0], before.oil[1] + 1], "a dry run changes nothing");
  const edited = await bo(`/admin/v1/orders/${paid.id}/edits`, { changes: [{ op: "remove", line_id: oil }], note: "out of stock at the warehouse" });
  assert.equal(edited.status, 200, edited.text);
  assert.deepEqual([edited.body.totals.total, edited.body.balance, edited.body.paid], [eur(7212), eur(-1521), eur(8733)]);
  assert.deepEqual([line(edited.body, "TOWEL-2").total, line(edited.body, "CHOC-70").total], [eur(4860), eur(1062)], "WELCOME10 still applies");
  assert.deepEqual(await stock("OIL-500"), before.oil, "the oil's reservation is released");
  const editedEvent = JSON.parse((await stack.db.prepare("SELECT payload FROM outbox WHERE aggregate = ?1 AND type = 'order.edited'").bind(paid.id).first()).payload);
  assert.deepEqual([editedEvent.data.edit.before.totals.total, editedEvent.data.edit.after.totals.total, editedEvent.data.edit.changes], [eur(8733), eur(7212), [{ op: "remove", line_id: oil }]]);
  // What is owed goes back through Stripe: the balance is settled, nothing more is credited.
  const owed = await bo(`/admin/v1/orders/${paid.id}/refunds`, { amount: eur(1521), reason: "oil removed" });
  assert.equal(owed.status, 200, owed.text);
  assert.deepEqual([owed.body.refunds[0].status, owed.body.refunded, owed.body.balance], ["succeeded", eur(1521), eur(0)]);
  assert.equal(refunds.at(-1).form.get("amount"), "1521");

  // The shopper asks with the order token; more than was shipped is refused, naming `lines`.
  const ask = (json, auth = token) => stack.sf(`/v1/orders/${paid.id}/returns`, { method: "POST", json, headers: { Authorization: `Bearer ${auth}` } });
  const tooMany = await ask({ lines: [{ line_id: choc, quantity: 2, reason: "changed_mind" }] });
  assert.equal(envelope(assert, tooMany, 422, "validation_failed").details.field, "lines");
  const stranger = await ask({ lines: [{ line_id: choc, quantity: 1, reason: "changed_mind" }] }, "not-a-token");
  envelope(assert, stranger, 404, "not_found");
  const asked = await ask({ lines: [{ line_id: towel, quantity: 2, reason: "damaged" }, { line_id: choc, quantity: 1, reason: "changed_mind" }], note: "two towels torn" });
  assert.equal(asked.status, 201, asked.text);
  const ret = asked.body;
  assert.match(ret.id, /^ret_[0-9a-f]{32}$/);
  assert.deepEqual([ret.status, ret.order_id, ret.opened_by, ret.note], ["requested", paid.id, "customer", "two towels torn"]);
  // What is asked for is held: the third towel is all that can still be asked for.
  const again = await ask({ lines: [{ line_id: towel, quantity: 2, reason: "other" }] });
  assert.equal(envelope(assert, again, 422, "validation_failed").details.field, "lines");

  // Receiving before approval is illegal; approve, then receive: towels not restocked (torn),
  // the chocolate restocked, the received units refunded through Stripe.
  envelope(assert, await bo(`/admin/v1/returns/${ret.id}/receive`, { lines: [{ line_id: towel, quantity: 2, restock: false }], refund: true }), 409, "illegal_transition");
  const approved = await bo(`/admin/v1/returns/${ret.id}/approve`, {});
  assert.deepEqual([approved.status, approved.body.status], [200, "approved"]);
  refundMode = "pending";
  const received = await bo(`/admin/v1/returns/${ret.id}/receive`, { lines: [{ line_id: towel, quantity: 2, restock: false }, { line_id: choc, quantity: 1, restock: true }], refund: true });
  assert.equal(received.status, 200, received.text);
  assert.equal(received.body.status, "received");
  assert.deepEqual(received.body.lines.map((l) => [l.received_quantity, l.restocked_quantity]), [[2, 0], [1, 1]]);
  assert.deepEqual(await stock("TOWEL-2"), [before.towel[0] - 3, before.towel[1]], "torn towels stay out of stock");
  assert.deepEqual(await stock("CHOC-70"), [before.choc[0], before.choc[1] + 1], "the bar is back on hand, the unshipped one still reserved");

  // Two towels worth 16.20 each and a bar worth 5.31: 37.71, sent to Stripe once.
  const sent = refunds.at(-1);
  assert.deepEqual([sent.form.get("payment_intent"), sent.form.get("amount"), sent.auth], [intent, "3771", `Bearer ${SECRETS.STRIPE_SECRET_KEY}`]);
  let now = await order(paid.id);
  const refund = now.refunds.at(-1);
  assert.deepEqual([refund.status, refund.amount, refund.provider_reference, refund.kind], ["pending", eur(3771), `re_test_${refunds.length}`, "lines"]);
  assert.equal(sent.key, `${refund.id}-1`, "the refund id and attempt are Stripe's idempotency key");
  assert.equal(sent.form.get("metadata[refund_id]"), refund.id);
  assert.deepEqual(received.body.refund_ids, [refund.id]);
  assert.deepEqual([now.payment_status, now.refunded, now.balance], ["partially_refunded", eur(1521), eur(0)], "a pending refund has not moved money yet");
  assert.deepEqual([line(now, "TOWEL-2").returned_quantity, line(now, "CHOC-70").returned_quantity], [2, 1]);

  // Stripe's webhook settles it, once; order.refunded fires then.
  const settled = { type: "refund.updated", data: { object: { id: refund.provider_reference, object: "refund", amount: 3771, payment_intent: intent, status: "succeeded", metadata: { refund_id: refund.id, order_id: paid.id } } } };
  const refundedEvents = () => stack.db.prepare("SELECT COUNT(*) AS n FROM outbox WHERE aggregate = ?1 AND type = 'order.refunded'").bind(paid.id).first();
  const seen = (await refundedEvents()).n;
  await webhook(settled);
  await webhook(settled);
  now = await order(paid.id);
  assert.deepEqual([now.refunds.at(-1).status, now.payment_status, now.refunded, now.balance, now.paid], ["succeeded", "partially_refunded", eur(1521 + 3771), eur(0), eur(8733)]);
  assert.deepEqual([line(now, "TOWEL-2").refunded_amount, line(now, "CHOC-70").refunded_amount], [eur(3240), eur(531)]);
  assert.equal((await refundedEvents()).n, seen + 1, "order.refunded fires once, when it succeeds");

  // The unshipped bar, refunded at once by Stripe: its reservation is released.
  refundMode = "succeeded";
  const rest = await bo(`/admin/v1/orders/${paid.id}/refunds`, { lines: [{ line_id: choc, quantity: 1 }], reason: "out of stock" });
  assert.equal(rest.status, 200, rest.text);
  assert.deepEqual([rest.body.refunds.at(-1).status, rest.body.refunds.at(-1).amount, rest.body.refunded], ["succeeded", eur(531), eur(5823)]);
  assert.deepEqual(await stock("CHOC-70"), [before.choc[0], before.choc[1]]);
  assert.equal(rest.body.status, "fulfilled", "every line is shipped or refunded");

  // Goodwill up to what remains (87.33 − 58.23 = 29.10); a cent more is refused.
  const tooMuch = await bo(`/admin/v1/orders/${paid.id}/refunds`, { amount: eur(2911), reason: "sorry" });
  assert.equal(envelope(assert, tooMuch, 422, "validation_failed").details.field, "amount");
  const goodwill = await bo(`/admin/v1/orders/${paid.id}/refunds`, { amount: eur(1000), reason: "late delivery" });
  assert.equal(goodwill.status, 200, goodwill.text);
  assert.deepEqual([goodwill.body.refunds.at(-1).kind, goodwill.body.refunded, goodwill.body.balance], ["amount", eur(6823), eur(0)]);

  // A refund Stripe declines is failed, shown, owed (balance −5.00), and retried.
  refundMode = "declined";
  const declined = await bo(`/admin/v1/orders/${paid.id}/refunds`, { amount: eur(500), reason: "gesture" });
  assert.equal(declined.status, 200, declined.text);
  const failed = declined.body.refunds.at(-1);
  assert.deepEqual([failed.status, failed.failure_reason, declined.body.balance, declined.body.refunded], ["failed", "Charge has been disputed", eur(-500), eur(6823)]);
  const failedEvent = await stack.db.prepare("SELECT payload FROM outbox WHERE aggregate = ?1 AND type = 'refund.failed'").bind(paid.id).first();
  assert.equal(JSON.parse(failedEvent.payload).data.refund.id, failed.id);
  refundMode = "succeeded";
  const retried = await bo(`/admin/v1/orders/${paid.id}/refunds/${failed.id}/retry`, {});
  assert.equal(retried.status, 200, retried.text);
  assert.deepEqual([retried.body.refunds.at(-1).status, retried.body.refunded, retried.body.balance], ["succeeded", eur(7323), eur(0)]);
  assert.equal(refunds.at(-1).key, `${failed.id}-2`, "a new attempt, a new key");

  // The timeline: admin actions by their actor, events, in order.
  const timeline = await bo(`/admin/v1/orders/${paid.id}/timeline`);
  assert.equal(timeline.status, 200, timeline.text);
  assert.equal(d1RoundTrips(timeline.headers), 1);
  const kinds = timeline.body.data.map((e) => `${e.kind}:${e.kind === "event" ? e.summary : e.actor}`);
  for (const expected of ["event:order.placed", "event:order.confirmed", "event:order.fulfilled", "event:order.edited", "event:return.requested", "event:return.approved", "event:return.received", "event:order.refunded", "event:refund.failed", "admin_action:claire@shop.example"]) {
    assert.ok(kinds.includes(expected), `${expected} in ${kinds.join(", ")}`);
  }
  const ats = timeline.body.data.map((e) => e.at);
  assert.deepEqual(ats, [...ats].sort(), "oldest first");
  assert.ok(timeline.body.data.some((e) => e.kind === "admin_action" && /^return approve/.test(e.summary) && e.ref === ret.id));
});

test("a manual refund succeeds at once; cancel of a paid order gives back what was paid", async () => {
  const { order: placed } = await place("manual", [["OIL-500", 2]]);
  const paid = await bo(`/admin/v1/orders/${placed.id}/mark-paid`, {});
  assert.deepEqual([paid.body.paid, paid.body.balance], [placed.totals.total, eur(0)]);
  const oil = line(paid.body, "OIL-500").id;
  const refunded = await bo(`/admin/v1/orders/${placed.id}/refunds`, { lines: [{ line_id: oil, quantity: 1 }] });
  const r = refunded.body.refunds.at(-1);
  assert.deepEqual([r.status, r.amount, r.provider_reference], ["succeeded", eur(cents(line(paid.body, "OIL-500").total) / 2), null]);
  const canceled = await bo(`/admin/v1/orders/${placed.id}/cancel`, { reason: "customer asked" });
  assert.equal(canceled.status, 200, canceled.text);
  assert.deepEqual([canceled.body.status, canceled.body.payment_status, canceled.body.refunded, canceled.body.balance], ["canceled", "refunded", placed.totals.total, eur(0)]);
});

test("Vendure #3576 (no returns workflow): staff open returns for any fulfilled line, reject or cancel them, and list them by status and order", async () => {
  const { order: placed } = await place("manual", [["TOWEL-2", 2]], { code: null });
  await bo(`/admin/v1/orders/${placed.id}/mark-paid`, {});
  const towel = placed.lines[0].id;
  const unfulfilled = await bo("/admin/v1/returns", { order_id: placed.id, lines: [{ line_id: towel, quantity: 1, reason: "other" }] });
  assert.equal(envelope(assert, unfulfilled, 422, "validation_failed").details.field, "lines");
  await bo(`/admin/v1/orders/${placed.id}/fulfillments`, { lines: [{ line_id: towel, quantity: 2 }] });
  const opened = await bo("/admin/v1/returns", { order_id: placed.id, lines: [{ line_id: towel, quantity: 1, reason: "wrong_item" }] });
  assert.equal(opened.status, 201, opened.text);
  assert.equal(opened.body.opened_by, "staff");
  envelope(assert, await bo(`/admin/v1/returns/${opened.body.id}/reject`, {}), 422, "validation_failed");
  const rejected = await bo(`/admin/v1/returns/${opened.body.id}/reject`, { reason: "outside policy" });
  assert.deepEqual([rejected.body.status, rejected.body.reject_reason], ["rejected", "outside policy"]);
  envelope(assert, await bo(`/admin/v1/returns/${opened.body.id}/approve`, {}), 409, "illegal_transition");
  // A rejected return holds nothing: both units can be asked for again.
  const second = await bo("/admin/v1/returns", { order_id: placed.id, lines: [{ line_id: towel, quantity: 2, reason: "other" }] });
  assert.equal(second.status, 201, second.text);
  const canceled = await bo(`/admin/v1/returns/${second.body.id}/cancel`, {});
  assert.equal(canceled.body.status, "canceled");
  const listed = await bo(`/admin/v1/returns?order_id=${placed.id}&status=rejected`);
  assert.deepEqual(listed.body.data.map((r) => r.id), [opened.body.id]);
  const all = await bo(`/admin/v1/returns?order_id=${placed.id}&limit=1`);
  assert.deepEqual(all.body.data.map((r) => r.id), [second.body.id], "newest first");
  const next = await bo(`/admin/v1/returns?order_id=${placed.id}&limit=1&cursor=${encodeURIComponent(all.body.next_cursor)}`);
  assert.deepEqual(next.body.data.map((r) => r.id), [opened.body.id]);
  envelope(assert, await bo("/admin/v1/returns?status=lost"), 400, "invalid_parameter");
  envelope(assert, await bo("/admin/v1/returns/ret_nope"), 404, "not_found");
  const shown = await bo(`/admin/v1/returns/${opened.body.id}`);
  assert.deepEqual(shown.body, rejected.body);
});

test("a shopper cannot return past the return window", async () => {
  const { order: placed, order_token } = await place("manual", [["CHOC-70", 1]], { code: null });
  await bo(`/admin/v1/orders/${placed.id}/mark-paid`, {});
  await bo(`/admin/v1/orders/${placed.id}/fulfillments`, { lines: [{ line_id: placed.lines[0].id, quantity: 1 }] });
  await stack.db.prepare("UPDATE order_lines SET last_fulfilled_at = '2020-01-01T00:00:00.000Z' WHERE order_id = ?1").bind(placed.id).run();
  const late = await stack.sf(`/v1/orders/${placed.id}/returns`, { method: "POST", json: { lines: [{ line_id: placed.lines[0].id, quantity: 1, reason: "other" }] }, headers: { Authorization: `Bearer ${order_token}` } });
  const error = envelope(assert, late, 422, "validation_failed");
  assert.equal(error.details.field, "lines");
  assert.match(error.message, /window/);
  const staff = await bo("/admin/v1/returns", { order_id: placed.id, lines: [{ line_id: placed.lines[0].id, quantity: 1, reason: "other" }] });
  assert.equal(staff.status, 201, "staff may make an exception");
});

test("30 parallel refunds on one order never refund more than was paid", async () => {
  const { order: placed } = await place("manual", [["TOWEL-2", 2]], { code: null });
  await bo(`/admin/v1/orders/${placed.id}/mark-paid`, {});
  const paid = cents(placed.totals.total);
  // Each asks for a quarter of what was paid: at most four can succeed.
  const quarter = Math.floor(paid / 4) + 1;
  const answers = await Promise.all(
    Array.from({ length: 30 }, (_, i) => bo(`/admin/v1/orders/${placed.id}/refunds`, { amount: eur(quarter), reason: `race ${i}` })),
  );
  // Each is refunded, refused for want of money left (422) or lost its races (503): never more.
  for (const a of answers) assert.ok([200, 422, 503].includes(a.status), a.text);
  const count = async () => stack.db.prepare("SELECT COALESCE(SUM(amount_minor), 0) AS total, COUNT(*) AS n FROM refunds WHERE order_id = ?1").bind(placed.id).first();
  const raced = await count();
  assert.ok(raced.total <= paid, `${raced.total} refunded of ${paid} paid`);
  assert.ok(raced.n >= 1 && raced.n <= 3, `${raced.n} refunds`);
  assert.equal(answers.filter((a) => a.status === 200).length, raced.n, "each 200 is one refund");
  // One by one, the rest: three quarters (plus a cent each) fit, a fourth never does.
  for (let i = raced.n; i < 3; i++) assert.equal((await bo(`/admin/v1/orders/${placed.id}/refunds`, { amount: eur(quarter) })).status, 200);
  envelope(assert, await bo(`/admin/v1/orders/${placed.id}/refunds`, { amount: eur(quarter) }), 422, "validation_failed");
  assert.equal((await count()).n, 3);
  const now = await order(placed.id);
  assert.deepEqual([now.refunded, now.balance], [eur(3 * quarter), eur(0)]);
});

test("Vendure #314/#4013: a refund never gives back what was not paid, and a second refund of the same units is refused", async () => {
  const { order: placed } = await place("manual", [["KNIFE-20", 1]], { code: null });
  const knife = placed.lines[0].id;
  envelope(assert, await bo(`/admin/v1/orders/${placed.id}/refunds`, { lines: [{ line_id: knife, quantity: 1 }] }), 409, "illegal_transition");
  envelope(assert, await bo(`/admin/v1/orders/${placed.id}/refunds`, { amount: eur(100) }), 409, "illegal_transition");
  await bo(`/admin/v1/orders/${placed.id}/mark-paid`, {});
  assert.equal((await bo(`/admin/v1/orders/${placed.id}/refunds`, { lines: [{ line_id: knife, quantity: 1 }], include_shipping: true })).status, 200);
  const twice = await bo(`/admin/v1/orders/${placed.id}/refunds`, { lines: [{ line_id: knife, quantity: 1 }] });
  envelope(assert, twice, 409, "illegal_transition");
  const now = await order(placed.id);
  assert.deepEqual([now.status, now.payment_status, now.refunded, now.paid], ["refunded", "refunded", placed.totals.total, placed.totals.total]);
  const both = await bo(`/admin/v1/orders/${placed.id}/refunds`, { amount: eur(100), lines: [{ line_id: knife, quantity: 1 }] });
  assert.equal(envelope(assert, both, 422, "validation_failed").details.field, "amount");
});

test("Medusa #13635 / Saleor #3540: a paid order is edited, the balance collected in two parts, paid exact at every step", async () => {
  const { order: placed } = await place("manual", [["OIL-500", 3]]);
  const total = cents(placed.totals.total);
  const part = await bo(`/admin/v1/orders/${placed.id}/mark-paid`, { amount: eur(total - 1) });
  assert.equal(envelope(assert, part, 422, "validation_failed").details.field, "amount", "an unpaid order is paid whole");
  const foreign = await bo(`/admin/v1/orders/${placed.id}/mark-paid`, { amount: { amount: (total / 100).toFixed(2), currency: "USD" } });
  assert.equal(envelope(assert, foreign, 422, "validation_failed").details.field, "amount");
  const paid = await bo(`/admin/v1/orders/${placed.id}/mark-paid`, { amount: eur(total) });
  assert.deepEqual([paid.status, paid.body.status, paid.body.paid, paid.body.balance], [200, "confirmed", eur(total), eur(0)]);
  // Confirmed and paid, still editable: two knives more at today's 89.00, less 10 %.
  const knives = await stock("KNIFE-20");
  const edited = await bo(`/admin/v1/orders/${placed.id}/edits`, { changes: [{ op: "add", sku: "knife-20", quantity: 2 }] });
  assert.equal(edited.status, 200, edited.text);
  assert.equal(d1RoundTrips(edited.headers), 3, "the order, what it is priced with, one guarded batch");
  const knife = line(edited.body, "KNIFE-20");
  assert.deepEqual([knife.unit_price, knife.total, knife.quantity], [eur(8900), eur(16020), 2]);
  assert.deepEqual([edited.body.totals.total, edited.body.balance], [eur(total + 16020), eur(16020)]);
  assert.deepEqual(await stock("KNIFE-20"), [knives[0], knives[1] + 2], "the knives are reserved");
  const first = await bo(`/admin/v1/orders/${placed.id}/mark-paid`, { amount: eur(10000) });
  assert.equal(d1RoundTrips(first.headers), 2, "the order, one guarded batch");
  assert.deepEqual([first.body.paid, first.body.balance, first.body.payment_status], [eur(total + 10000), eur(6020), "paid"]);
  envelope(assert, await bo(`/admin/v1/orders/${placed.id}/mark-paid`, { amount: eur(6021) }), 422, "validation_failed");
  const rest = await bo(`/admin/v1/orders/${placed.id}/mark-paid`, {});
  assert.deepEqual([rest.body.paid, rest.body.balance], [eur(total + 16020), eur(0)]);
  const payments = (await stack.db.prepare("SELECT payload FROM outbox WHERE aggregate = ?1 AND type = 'order.paid' ORDER BY sequence").bind(placed.id).all()).results;
  assert.deepEqual(payments.map((p) => JSON.parse(p.payload).data.payment), [
    { amount: eur(10000), provider_reference: null },
    { amount: eur(6020), provider_reference: null },
  ], "each payment after confirmation is an order.paid event");
  const again = await bo(`/admin/v1/orders/${placed.id}/mark-paid`, {});
  assert.deepEqual([again.status, again.body.paid], [200, eur(total + 16020)], "paying a settled order changes nothing");
  // More knives than the stock holds: refused, nothing reserved.
  const greedy = await bo(`/admin/v1/orders/${placed.id}/edits`, { changes: [{ op: "set_quantity", line_id: knife.id, quantity: 999 }] });
  assert.equal(envelope(assert, greedy, 422, "insufficient_stock").details.sku, "KNIFE-20");
  assert.deepEqual(await stock("KNIFE-20"), [knives[0], knives[1] + 2]);
  const unknown = await bo(`/admin/v1/orders/${placed.id}/edits`, { changes: [{ op: "rename", line_id: knife.id }] });
  assert.equal(envelope(assert, unknown, 422, "validation_failed").details.field, "changes[0].op");
});

test("an exchange: the returned towel's 18.00 pays a replacement bar of 5.90, the 12.10 left goes back", async () => {
  const { order: placed } = await place("manual", [["TOWEL-2", 2]], { code: null });
  await bo(`/admin/v1/orders/${placed.id}/mark-paid`, {});
  const towel = placed.lines[0].id;
  await bo(`/admin/v1/orders/${placed.id}/fulfillments`, { lines: [{ line_id: towel, quantity: 2 }] });
  const opened = await bo("/admin/v1/returns", { order_id: placed.id, lines: [{ line_id: towel, quantity: 1, reason: "wrong_item" }] });
  envelope(assert, await bo(`/admin/v1/returns/${opened.body.id}/exchange`, { lines: [{ sku: "CHOC-70", quantity: 1 }] }), 409, "illegal_transition");
  await bo(`/admin/v1/returns/${opened.body.id}/approve`, {});
  const bars = await stock("CHOC-70");
  const swapped = await bo(`/admin/v1/returns/${opened.body.id}/exchange`, { lines: [{ sku: "choc-70", quantity: 1 }] });
  assert.equal(swapped.status, 201, swapped.text);
  assert.equal(d1RoundTrips(swapped.headers), 3, "the order, what the replacement is priced with, one batch for both");
  const replacement = swapped.body;
  assert.deepEqual(
    [replacement.kind, replacement.exchange_of, replacement.status, replacement.totals.total, replacement.paid, replacement.balance],
    ["exchange", placed.id, "confirmed", eur(590), eur(1800), eur(-1210)],
  );
  assert.match(replacement.number, /^FR-\d{6}$/);
  assert.deepEqual(await stock("CHOC-70"), [bars[0], bars[1] + 1], "the bar is reserved");
  const original = await order(placed.id);
  const credit = original.refunds.at(-1);
  assert.deepEqual([credit.kind, credit.status, credit.amount, credit.provider_reference], ["exchange", "succeeded", eur(1800), replacement.id]);
  assert.deepEqual([original.refunded, original.balance, original.returns[0].exchange_order_id], [eur(1800), eur(0), replacement.id]);
  envelope(assert, await bo(`/admin/v1/returns/${opened.body.id}/exchange`, { lines: [{ sku: "CHOC-70", quantity: 1 }] }), 409, "illegal_transition");
  const placedEvent = await stack.db.prepare("SELECT payload FROM outbox WHERE aggregate = ?1 AND type = 'order.placed'").bind(replacement.id).first();
  assert.equal(JSON.parse(placedEvent.payload).data.exchange_of, placed.id);
  // The difference goes back from the replacement.
  const back = await bo(`/admin/v1/orders/${replacement.id}/refunds`, { amount: eur(1210), reason: "exchange difference" });
  assert.deepEqual([back.status, back.body.balance, back.body.refunded], [200, eur(0), eur(1210)]);
  // The towel comes back: restocked, not refunded (its value paid the bar).
  const towels = await stock("TOWEL-2");
  const refundAgain = await bo(`/admin/v1/returns/${opened.body.id}/receive`, { lines: [{ line_id: towel, quantity: 1, restock: true }], refund: true });
  assert.equal(envelope(assert, refundAgain, 422, "validation_failed").details.field, "refund");
  const received = await bo(`/admin/v1/returns/${opened.body.id}/receive`, { lines: [{ line_id: towel, quantity: 1, restock: true }], refund: false });
  assert.deepEqual([received.status, received.body.status], [200, "received"]);
  assert.equal(d1RoundTrips(received.headers), 2);
  assert.deepEqual(await stock("TOWEL-2"), [towels[0] + 1, towels[1]]);
});

test("a paid Stripe order edited upwards: Stripe is asked for the balance, its webhook records it paid", async () => {
  const { order: paid, token } = await paidStripe([["CHOC-70", 1]]);
  const edited = await bo(`/admin/v1/orders/${paid.id}/edits`, { changes: [{ op: "add", sku: "CHOC-70", quantity: 2 }] });
  assert.equal(edited.status, 200, edited.text);
  const owed = cents(edited.body.balance);
  assert.equal(owed, 2 * 531, "two more bars at 5.90 less 10 %");
  const asked = intents.at(-1);
  assert.deepEqual([asked.form.get("amount"), asked.form.get("currency"), asked.form.get("metadata[order_id]")], [String(owed), "eur", paid.id]);
  assert.deepEqual(edited.body.balance_payment, { provider: "stripe", amount: eur(owed), client_secret: `${asked.id}_secret_x` });
  // The shopper sees it with the order token too, to pay it.
  const mine = await stack.sf(`/v1/orders/${paid.id}`, { headers: { Authorization: `Bearer ${token}` } });
  assert.equal(mine.body.balance_payment.client_secret, `${asked.id}_secret_x`);
  await webhook({ type: "payment_intent.succeeded", data: { object: { id: asked.id, object: "payment_intent", amount: owed, currency: "eur", metadata: { order_id: paid.id } } } });
  const now = await order(paid.id);
  assert.deepEqual([now.balance, now.paid, now.balance_payment], [eur(0), eur(cents(paid.paid) + owed), null]);
});

test("the timeline shows the deliveries of the order's events with their outcome", async () => {
  const received = [];
  const erp = http.createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      received.push(req.headers["webhook-id"]);
      res.writeHead(204).end();
    });
  });
  await new Promise((r) => erp.listen(0, "127.0.0.1", r));
  const dest = bearer(await adminToken({ scope: "destinations:write" }));
  const put = await stack.bo("/admin/v1/destinations/timeline-erp", { method: "PUT", headers: dest, json: { url: `http://127.0.0.1:${erp.address().port}/hook`, events: ["order.confirmed"] } });
  assert.equal(put.status, 201, put.text);
  try {
    const { order: placed } = await place("manual", [["CHOC-70", 1]], { code: null });
    await bo(`/admin/v1/orders/${placed.id}/mark-paid`, {});
    let delivery;
    for (let i = 0; i < 100 && !delivery; i++) {
      const timeline = await bo(`/admin/v1/orders/${placed.id}/timeline`);
      delivery = timeline.body.data.find((e) => e.kind === "delivery" && /delivered/.test(e.summary));
      if (!delivery) await new Promise((r) => setTimeout(r, 200));
    }
    assert.ok(delivery, "the delivery of order.confirmed shows, delivered");
    assert.match(delivery.summary, /^order\.confirmed to timeline-erp: delivered after 1 attempt/);
    assert.match(delivery.ref, /^dlv_/);
    // (Events of earlier tests fanned out after the destination appeared may come too.)
    const event = await stack.db.prepare("SELECT id FROM outbox WHERE aggregate = ?1 AND type = 'order.confirmed'").bind(placed.id).first();
    assert.ok(received.includes(event.id), "the destination received this order's event");
    const timeline = (await bo(`/admin/v1/orders/${placed.id}/timeline`)).body.data;
    const confirmed = timeline.findIndex((e) => e.summary === "order.confirmed");
    assert.ok(confirmed >= 0 && confirmed < timeline.indexOf(timeline.find((e) => e.kind === "delivery")), "the event before its delivery");
    const paidBy = timeline.find((e) => e.kind === "admin_action" && e.summary.startsWith("mark-paid"));
    assert.equal(paidBy.actor, "claire@shop.example");
    envelope(assert, await bo("/admin/v1/orders/ord_nope/timeline"), 404, "not_found");
  } finally {
    await stack.bo("/admin/v1/destinations/timeline-erp", { method: "DELETE", headers: dest });
    erp.close();
  }
});

test("every event these flows emitted matches the JSON Schema of its type (schema/events/)", async () => {
  const { seen } = await checkEventSchemas(assert, stack.db);
  for (const type of ["order.edited", "order.paid", "order.refunded", "refund.failed", "return.requested", "return.approved", "return.rejected", "return.received", "return.canceled"]) {
    assert.ok(seen.has(type), `${type} was emitted and checked`);
  }
});

test("a signed-in customer returns with their own token; another customer's token, or another channel's key, finds nothing", async () => {
  const sign = (sub) => new SignJWT({}).setProtectedHeader({ alg: "HS256" }).setSubject(sub).setExpirationTime("10m").sign(new TextEncoder().encode(SECRETS.CUSTOMER_JWT_SECRET));
  const [jeanne, paul] = [await sign("cus_jeanne_returns"), await sign("cus_paul_returns")];
  const cart = (await stack.sf("/v1/carts", { method: "POST", json: { market: "FR" } })).body.id;
  await stack.sf(`/v1/carts/${cart}/lines`, { method: "POST", json: { sku: "TOWEL-2", quantity: 1 } });
  await stack.sf(`/v1/carts/${cart}`, { method: "PATCH", json: { email: "j@example.fr", shipping_address: frAddress, shipping_method: "express" } });
  assert.equal((await stack.sf(`/v1/carts/${cart}/customer`, { method: "POST", headers: { Authorization: `Bearer ${jeanne}` } })).status, 200);
  const placed = (await stack.sf(`/v1/carts/${cart}/checkout`, { method: "POST", json: { payment_provider: "manual" }, headers: { "Idempotency-Key": `jwt-${cart}` } })).body.order;
  await bo(`/admin/v1/orders/${placed.id}/mark-paid`, {});
  await bo(`/admin/v1/orders/${placed.id}/fulfillments`, { lines: [{ line_id: placed.lines[0].id, quantity: 1 }] });
  const body = { lines: [{ line_id: placed.lines[0].id, quantity: 1, reason: "not_as_described" }] };
  const ask = (token, key = "pk_demo_web") => stack.sfRaw(`/v1/orders/${placed.id}/returns`, { method: "POST", json: body, headers: { Authorization: `Bearer ${token}`, "X-Publishable-Key": key } });
  envelope(assert, await ask(paul), 404, "not_found");
  envelope(assert, await ask(jeanne, "pk_nope"), 401, "unauthorized");
  envelope(assert, await stack.sfRaw(`/v1/orders/${placed.id}/returns`, { method: "POST", json: body, headers: { "X-Publishable-Key": "pk_demo_web" } }), 401, "unauthorized");
  assert.equal((await order(placed.id)).returns.length, 0, "nothing asked yet");
  const asked = await ask(jeanne);
  assert.equal(asked.status, 201, asked.text);
  assert.equal(d1RoundTrips(asked.headers), 3, "the order to grant it, the order as the use case reads it, one batch");
  assert.deepEqual([asked.body.opened_by, asked.body.lines[0].reason], ["customer", "not_as_described"]);
});
