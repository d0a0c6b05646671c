// docs/integrate.md cannot drift: its `js run=<name>` examples run, in order, as one module
// (their imports hoisted, the client imported by its package name) against the built Workers,
// and after each one the check of the same name asserts what the example says it does. The
// examples' context is what an integrator's system has: the back office's URL, the admin
// token secret, and a webhook URL, here a receiver on 127.0.0.1 that hands each delivery to
// the examples' own handler.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import ts from "typescript";
import { decodeJwt, decodeProtectedHeader } from "jose";
import { root } from "../../scripts/lib/proc.mjs";
import { SECRETS, until } from "./harness.mjs";
import { adminToken, bearer } from "./tokens.mjs";
import { placePaidOrder, startIntegration } from "./integrator.mjs";

const DOC = "docs/integrate.md";
const HOOKS = Symbol.for("comptoir.integrate-docs");
let stack;
let admin;
let receiver;
let lib;
let dispose;

before(async () => {
  ({ lib, receiver, stack, dispose } = await startIntegration({
    // Until the examples' handler exists, the receiver is "down": deliveries wait and retry.
    respond: async () => ({ status: 503 }),
    // The cron's sweeper, run by the sync's check, hands over at once what it finds unsent.
    vars: { OUTBOX_SWEEP_AFTER_SECONDS: "0" },
  }));
  admin = bearer(await adminToken({ scope: "orders:read orders:write inventory:read destinations:read" }));
});
after(() => dispose?.());

/** The fenced blocks of a Markdown text: `{lang, info, body, line}` (line: the body's first). */
function fencedBlocks(markdown) {
  const blocks = [];
  let open = null;
  markdown.split("\n").forEach((text, i) => {
    if (!open) {
      const m = text.match(/^```(\S*)\s*(.*)$/);
      if (m) open = { lang: m[1], info: m[2], lines: [], line: i + 2 };
    } else if (text.startsWith("```")) {
      blocks.push({ lang: open.lang, info: open.info, body: open.lines.join("\n"), line: open.line });
      open = null;
    } else open.lines.push(text);
  });
  assert.equal(open, null, `${DOC}: a fence left open`);
  return blocks;
}

/** Names a statement declares at the top level of its block. */
function declaredNames(statement) {
  const names = [];
  const bind = (name) => {
    if (ts.isIdentifier(name)) names.push(name.text);
    else for (const element of name.elements) if (!ts.isOmittedExpression(element)) bind(element.name);
  };
  if (ts.isVariableStatement(statement)) statement.declarationList.declarations.forEach((d) => bind(d.name));
  else if ((ts.isFunctionDeclaration(statement) || ts.isClassDeclaration(statement)) && statement.name) names.push(statement.name.text);
  return names;
}

/**
 * One module of the runnable blocks: their imports first, then each body (its imports blanked,
 * so its lines keep their numbers) followed by `ran(name, scope)`. Answers the text and a map
 * from the module's lines back to the document's.
 */
function moduleOf(blocks) {
  const imports = [];
  const parts = [];
  for (const block of blocks) {
    const source = ts.createSourceFile(`${block.name}.mjs`, block.body, ts.ScriptTarget.Latest, true, ts.ScriptKind.JS);
    let body = block.body;
    const names = [];
    for (const statement of source.statements) {
      if (ts.isImportDeclaration(statement)) {
        imports.push(statement.getText());
        const start = statement.getStart();
        body = body.slice(0, start) + body.slice(start, statement.end).replace(/[^\n]/g, " ") + body.slice(statement.end);
      } else names.push(...declaredNames(statement));
    }
    parts.push({ block, body, names });
  }
  const lines = [...imports.flatMap((i) => i.split("\n")), `const docs = globalThis[Symbol.for(${JSON.stringify(HOOKS.description)})];`];
  const origins = [];
  for (const { block, body, names } of parts) {
    lines.push(`// ${DOC}:${block.line} (run=${block.name})`, `await docs.before(${JSON.stringify(block.name)});`);
    origins.push({ from: lines.length + 1, to: lines.length + body.split("\n").length, block });
    lines.push(...body.split("\n"), `await docs.ran(${JSON.stringify(block.name)}, () => ({ ${names.join(", ")} }));`);
  }
  const where = (line) => {
    const o = origins.find((x) => line >= x.from && line <= x.to);
    return o && `${DOC}:${o.block.line + line - o.from} (run=${o.block.name})`;
  };
  return { text: `${lines.join("\n")}\n`, where };
}

const webhookRequest = (recorded) => new Request(`${receiver.url}${recorded.url}`, { method: recorded.method, headers: recorded.headers, body: recorded.body });
const outbox = async () => (await stack.db.prepare("SELECT id, type, aggregate, payload FROM outbox ORDER BY rowid").all()).results;
const eventsOf = async (orderId, type) => (await outbox()).filter((e) => e.aggregate === orderId && e.type === type).map((e) => JSON.parse(e.payload));
const level = async (sku, location) => (await stack.bo(`/admin/v1/inventory/${sku}`, { headers: admin })).body.locations.find((l) => l.location === location)?.on_hand;
/** The feed as the examples' database holds it: every event of the outbox, once, in order. */
async function appliedOnce(db) {
  const ids = db.applied.map((e) => e.id);
  assert.deepEqual(ids, (await outbox()).map((e) => e.id), "every event once, in commit order");
  assert.ok(db.cursor, "a cursor is stored");
}

/** What the test remembers between examples. */
const shop = {};

/** Per example: `before` (optional) runs ahead of it, `after` checks it with its scope. */
const checks = {
  token: {
    async after({ adminToken: mint, bo }) {
      const token = await mint();
      assert.equal(decodeProtectedHeader(token).alg, "HS256");
      const claims = decodeJwt(token);
      assert.equal(claims.aud, "comptoir-admin");
      assert.equal(claims.sub, "wms@warehouse.example");
      assert.equal(claims.exp - claims.iat, 300, "5 minutes");
      assert.deepEqual(claims.scope.split(" ").sort(), ["destinations:write", "events:read", "inventory:read", "inventory:write", "orders:read", "orders:write"]);
      const { response } = await bo.GET("/admin/v1/events", { params: { query: { limit: 1 } } });
      assert.equal(response.status, 200, "the client's calls are authorised");
    },
  },
  subscribe: {
    async after({ destination, webhookSecret }) {
      assert.match(webhookSecret, /^whsec_[A-Za-z0-9+/=]+$/);
      const read = await stack.bo("/admin/v1/destinations/wms-main", { headers: admin });
      assert.equal(read.status, 200, read.text);
      assert.equal(read.body.url, process.env.WEBHOOK_URL);
      assert.deepEqual(read.body.filter, { locations: ["main"] });
      assert.deepEqual(read.body.events, destination.events);
      assert.equal(read.body.secret, undefined, "shown once");
    },
  },
  verify: {
    async after({ handleWebhook, inbox }) {
      receiver.respond = async (recorded) => {
        const res = await handleWebhook(webhookRequest(recorded));
        return { status: res.status, body: await res.text() };
      };
      // A pickup in Paris (allocated at paris-store), then a delivery from the main warehouse.
      shop.pickup = await placePaidOrder(stack, admin, [["CHOC-70", 1]], { method: "pickup-paris" });
      shop.order = await placePaidOrder(stack, admin, [["MUG-350", 2], ["TOWEL-2", 1]]);
      assert.deepEqual(shop.pickup.lines[0].allocations.map((a) => a.location), ["paris-store"]);
      const [confirmed] = await eventsOf(shop.order.id, "order.confirmed");
      await until("order.confirmed in the inbox", () => inbox.some((e) => e.id === confirmed.id));
      assert.deepEqual(inbox.find((e) => e.id === confirmed.id), confirmed, "the event, verified and parsed");

      const delivery = receiver.requests.find((r) => r.headers["webhook-id"] === confirmed.id);
      const tampered = await handleWebhook(webhookRequest({ ...delivery, body: Buffer.from(delivery.body.toString().replace('"quantity":2', '"quantity":20')) }));
      assert.equal(tampered.status, 400, "a tampered body is refused");
      const forged = await handleWebhook(webhookRequest({ ...delivery, headers: { ...delivery.headers, "webhook-signature": "v1,AAAA" } }));
      assert.equal(forged.status, 400, "a forged signature is refused");
      assert.equal((await handleWebhook(webhookRequest(delivery))).status, 204, "the same delivery again is acknowledged");
      assert.equal(inbox.filter((e) => e.id === confirmed.id).length, 1, "and queued once");

      // filter.locations: nothing of the Paris pickup comes to the main warehouse.
      await new Promise((r) => setTimeout(r, 1500));
      assert.ok(!receiver.requests.some((r) => r.body.includes(shop.pickup.id)), "the pickup order is not delivered");
      assert.ok(!inbox.some((e) => e.data.id === shop.pickup.id));
      const rows = await stack.db.prepare("SELECT COUNT(*) AS n FROM deliveries d JOIN outbox o ON o.id = d.event_id WHERE o.aggregate = ?1").bind(shop.pickup.id).first();
      assert.equal(rows.n, 0);
    },
  },
  feed: {
    async after({ db }) {
      await appliedOnce(db);
      shop.applied = db.applied.length;
      shop.later = await placePaidOrder(stack, admin, [["SALT-125", 1]]);
    },
  },
  "feed-again": {
    async after({ db }) {
      await appliedOnce(db);
      assert.deepEqual(db.applied.slice(shop.applied).map((e) => [e.type, e.data.id]), [["order.placed", shop.later.id], ["order.confirmed", shop.later.id]], "only what is new");
    },
  },
  follow: {
    async after({ db }) {
      shop.followed = await placePaidOrder(stack, admin, [["SALT-125", 1]]);
      await until("the new order in the database", () => db.applied.some((e) => e.type === "order.confirmed" && e.data.id === shop.followed.id));
    },
  },
  "follow-stop": {
    async after({ db, bo }) {
      await appliedOnce(db);
      const after = [];
      for await (const event of lib.events(bo, { cursor: db.cursor })) after.push(event);
      assert.deepEqual(after, [], "the stored cursor is past every event");
    },
  },
  fulfil: {
    async after({ order, toShip, shipped }) {
      assert.equal(order.id, shop.order.id, "the order from the webhook");
      assert.deepEqual(toShip.map((l) => l.quantity), [2, 1]);
      assert.equal(shipped.fulfillment_status, "fulfilled");
      assert.ok(shipped.lines.every((l) => l.fulfilled_quantity === l.quantity));
      const [fulfilled] = await eventsOf(order.id, "order.fulfilled");
      assert.equal(fulfilled.data.fulfillment.tracking.number, "6A12345678901");
      assert.equal(fulfilled.data.fulfillment.tracking.carrier, "Colissimo");
      const timeline = await stack.bo(`/admin/v1/orders/${order.id}/timeline`, { headers: admin });
      assert.ok(timeline.body.data.some((entry) => entry.actor === "wms@warehouse.example"), "the token's sub is the actor");
    },
  },
  sync: {
    async before() {
      shop.coffee = await level("COF-250", "main");
    },
    async after({ synced, knives, inbox }) {
      assert.equal(synced.items, 3);
      assert.equal(synced.changed, 3);
      assert.equal(await level("MUG-350", "main"), 120);
      assert.equal(await level("KNIFE-20", "main"), 3);
      assert.equal(await level("COF-250", "main"), shop.coffee - 2);
      assert.equal(knives.available, 3);
      // A sync's inventory.low is handed to the queue at once (no cron tick needed).
      await until("inventory.low in the inbox", () => inbox.some((e) => e.type === "inventory.low" && e.data.sku === "KNIFE-20" && e.data.location === "main"));
      assert.ok(!inbox.some((e) => e.type === "inventory.low" && e.data.location === null), "the totals are not for a location's system");
    },
  },
  refund: {
    async after({ line, refunded }) {
      assert.equal(refunded.id, shop.order.id);
      assert.equal(refunded.payment_status, "partially_refunded");
      assert.deepEqual(refunded.refunds.map((r) => [r.kind, r.status]), [["lines", "succeeded"], ["amount", "succeeded"]]);
      assert.deepEqual(refunded.refunds[0].lines.map((l) => [l.line_id, l.quantity]), [[line.id, 1]]);
      assert.deepEqual(refunded.refunds[1].amount, { amount: "5.00", currency: "EUR" });
      assert.equal((await eventsOf(shop.order.id, "order.refunded")).length, 2);
    },
  },
  errors: {
    async after({ error, response, refusal, replay }) {
      assert.equal(response.status, 422);
      assert.equal(error.error.code, "validation_failed");
      assert.equal(error.error.details.field, "items[0].sku");
      assert.ok(refusal instanceof lib.BackofficeError, String(refusal));
      assert.equal(refusal.status, 409);
      assert.equal(refusal.code, "illegal_transition");
      assert.equal(replay.response.status, 200);
      assert.equal(replay.response.headers.get("Idempotent-Replayed"), "true");
      assert.equal(await level("COF-250", "main"), shop.coffee - 2, "the count applied once");
    },
  },
};

test(`every example of ${DOC} runs against the built Workers and does what it says`, async () => {
  const blocks = fencedBlocks(fs.readFileSync(path.join(root, DOC), "utf8"));
  const code = blocks.filter((b) => /^(js|javascript|mjs|ts|typescript)$/.test(b.lang));
  for (const block of code) {
    const m = block.info.match(/^run=([a-z-]+)$/);
    assert.ok(m, `${DOC}:${block.line}: every example runs (\`\`\`js run=<name>), not ${JSON.stringify(block.info)}`);
    block.name = m[1];
  }
  assert.deepEqual(code.map((b) => b.name), Object.keys(checks), "one check per example, in the document's order");

  const { text, where } = moduleOf(code);
  const file = path.join(root, "build", "clients", "docs", "integrate.mjs");
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text);
  Object.assign(process.env, {
    COMPTOIR_ADMIN_URL: stack.urls.backoffice,
    ADMIN_JWT_SECRET: SECRETS.ADMIN_JWT_SECRET,
    WEBHOOK_URL: `${receiver.url}/comptoir/webhooks`,
  });
  const scope = {};
  const ran = [];
  globalThis[HOOKS] = {
    before: async (name) => checks[name].before?.(),
    ran: async (name, names) => {
      Object.assign(scope, names());
      await checks[name].after(scope);
      ran.push(name);
    },
  };
  try {
    await import(pathToFileURL(file).href);
  } catch (error) {
    // Say where: the example's line in the document, or the check that failed after it.
    const line = String(error?.stack ?? "").match(/integrate\.mjs:(\d+)/)?.[1];
    const at = (line && where(Number(line))) ?? `the check after run=${code[ran.length]?.name}`;
    error.message = `${at}: ${error.message}`;
    throw error;
  } finally {
    delete globalThis[HOOKS];
  }
  assert.deepEqual(ran, Object.keys(checks));
});
