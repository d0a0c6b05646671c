// The admin app (admin/: Pages Functions + the Preact app) against the built Workers in workerd,
// driven in Debian's Chromium as staff would use it: without a session nothing but the sign-in
// page is served; an operations user finds an order by email, ships one line with tracking and
// sees the timeline grow; a support user opens a return, approves it and receives it with its
// refund, and is offered nothing else; a catalog user gets the 403 page for destinations (and
// the API refuses too); the owner replays a dead delivery from its screen. All under the pages'
// Content-Security-Policy, which the browser enforces. Every receiver listens on 127.0.0.1.
// Screenshots go to build/screenshots/ (UPDATE_SCREENSHOTS=1 also refreshes docs/admin-*.png).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { chromium } from "playwright-core";
import { SignJWT } from "jose";
import { root } from "../../scripts/lib/proc.mjs";
import { CHROMIUM } from "../../scripts/setup.mjs";
import { seedDemoOrders } from "../../scripts/lib/demo-orders.mjs";
import { startStack, envelope, SECRETS, startReceiver } from "./harness.mjs";
import { adminToken, bearer } from "./tokens.mjs";

const SHOTS = path.join(root, "build", "screenshots");
const PASSWORD = SECRETS.ADMIN_APP_DEV_PASSWORD;

let stack;
let browser;
let receiver;
let receiverUp = false;
const received = [];
let admin; // the back office, directly, for set-up and for checking what the screens did

before(async () => {
  assert.ok(fs.existsSync(CHROMIUM), `${CHROMIUM} is missing: npm run setup installs Debian's chromium`);
  receiver = await startReceiver(async (req) => {
    received.push({ id: req.headers["webhook-id"], ok: receiverUp });
    return { status: receiverUp ? 200 : 500 };
  });
  // Deliveries retried at once and dead after two attempts, so one dies within the test.
  stack = await startStack({ admin: true, vars: { DELIVERY_RETRY_BASE_SECONDS: "0", DELIVERY_MAX_ATTEMPTS: "2", OUTBOX_SWEEP_AFTER_SECONDS: "0" } });
  assert.equal(await seedDemoOrders(stack.urls, SECRETS.ADMIN_JWT_SECRET), 6);
  admin = bearer(await adminToken({ scope: "orders:read orders:write destinations:read destinations:write" }));
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
});
after(async () => {
  await browser?.close();
  await stack?.dispose();
  receiver?.close();
});

const app = (p) => stack.urls.admin + p;

async function shot(page, name) {
  fs.mkdirSync(SHOTS, { recursive: true });
  await page.evaluate(() => window.scrollTo(0, 0)); // the status line is sticky: shown at the top
  await page.screenshot({ path: path.join(SHOTS, name), fullPage: true });
  if (process.env.UPDATE_SCREENSHOTS === "1") fs.copyFileSync(path.join(SHOTS, name), path.join(root, "docs", name));
}

/** A browser signed in as `email` through the sign-in page, with its errors and CSP violations. */
async function signedIn(email, start = "/orders") {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: "en-GB" });
  const page = await context.newPage();
  const problems = [];
  page.on("pageerror", (e) => problems.push(e.message));
  page.on("console", (m) => (m.type() === "error" || /Content Security Policy|Trusted Type/i.test(m.text())) && problems.push(m.text()));
  await page.goto(app(start));
  await page.waitForURL(/\/signin\?next=/);
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.waitForURL((url) => url.pathname === start);
  // The app's own calls, as this staff member (the session cookie rides along).
  const call = (method, p, body) =>
    page.evaluate(
      async ([method, p, body]) => {
        const res = await fetch(p, { method, headers: body ? { "Content-Type": "application/json" } : {}, body: body ? JSON.stringify(body) : undefined });
        return { status: res.status, body: await res.json().catch(() => null) };
      },
      [method, p, body],
    );
  // Problems other than the answers a test provokes on purpose (a 403 page is a 403 response).
  const clean = () => problems.filter((p) => !/status of 403/.test(p));
  return { context, page, call, clean };
}

const orderByEmail = async (email) => (await stack.bo(`/admin/v1/orders?q=${encodeURIComponent(email)}`, { headers: admin })).body.data[0];

test("without a session the admin app serves the sign-in page and never data", async () => {
  for (const p of ["/", "/orders", "/orders?status=confirmed", "/destinations", "/app.js", "/index.html"]) {
    const res = await fetch(app(p), { redirect: "manual" });
    assert.equal(res.status, 303, p);
    assert.match(res.headers.get("location"), /^\/signin(\?next=|$)/, p);
    assert.equal(await res.text(), "", `${p} has no body`);
  }
  const page = await fetch(app("/orders"));
  assert.equal(new URL(page.url).pathname, "/signin");
  const html = await page.text();
  assert.match(html, /Sign in/);
  assert.doesNotMatch(html, /FR-0000|@example\.fr/, "the sign-in page holds no order");
  assert.match(page.headers.get("content-security-policy"), /frame-ancestors 'none'/);
  assert.match(page.headers.get("content-security-policy"), /script-src 'self';/);
  for (const p of ["/api/admin/orders", "/api/admin/destinations", "/api/session"]) {
    const res = await fetch(app(p));
    assert.equal(res.status, 401, p);
    assert.equal((await res.json()).error.code, "unauthorized");
  }
  // A forged session (signed with another key) is no session.
  const forged = await new SignJWT({}).setProtectedHeader({ alg: "HS256" }).setSubject("owner@example.com").setAudience("comptoir-admin-app").setExpirationTime("1h").sign(new TextEncoder().encode("x".repeat(48)));
  assert.equal((await fetch(app("/api/admin/orders"), { headers: { Cookie: `comptoir_admin_session=${forged}` } })).status, 401);

  // The sign-in itself: from the app's own page, in JSON, with the right password.
  const signIn = (body, headers = {}) =>
    fetch(app("/api/session"), { method: "POST", headers: { Origin: stack.urls.admin, "Content-Type": "application/json", ...headers }, body: JSON.stringify(body) });
  assert.equal((await signIn({ email: "owner@example.com", password: PASSWORD }, { Origin: "https://evil.example" })).status, 403);
  assert.equal((await signIn({ email: "owner@example.com", password: PASSWORD }, { "Content-Type": "text/plain" })).status, 415);
  const wrong = await signIn({ email: "owner@example.com", password: `${PASSWORD}x` });
  assert.equal(wrong.status, 401);
  assert.equal(wrong.headers.get("set-cookie"), null);
  assert.equal((await signIn({ email: "nobody@example.com", password: PASSWORD })).status, 401, "an unknown account answers as a wrong password");
  const ok = await signIn({ email: "Owner@Example.com", password: PASSWORD });
  assert.equal(ok.status, 200);
  assert.deepEqual((await ok.json()).role, "owner");
  const cookie = ok.headers.get("set-cookie");
  assert.match(cookie, /HttpOnly/);
  assert.match(cookie, /SameSite=Strict/);
  const session = cookie.split(";")[0];
  const orders = await fetch(app("/api/admin/orders?limit=1"), { headers: { Cookie: session } });
  assert.equal(orders.status, 200);
  assert.equal((await orders.json()).data.length, 1);
  // Only the back office's admin routes are reachable through the app, never a path out of them.
  const out_of_bounds = await fetch(app("/api/admin/..%2F..%2Fhealth"), { headers: { Cookie: session } });
  assert.equal(out_of_bounds.status, 404);
  assert.equal((await out_of_bounds.json()).error.message, "no such admin route", "refused by the app, never sent on");
  // Signing out ends the session in this browser.
  const out = await fetch(app("/api/session"), { method: "DELETE", headers: { Cookie: session, Origin: stack.urls.admin } });
  assert.equal(out.status, 204);
  assert.match(out.headers.get("set-cookie"), /Max-Age=0/);
});

test("an operations user finds an order by email, ships one line with tracking and sees the timeline", async () => {
  const { context, page, clean } = await signedIn("ops@example.com");
  try {
    const nav = page.getByRole("navigation", { name: "Sections" });
    await nav.getByRole("link", { name: "Destinations" }).waitFor();
    assert.equal(await nav.getByRole("link", { name: "Products" }).count(), 0, "operations has no catalog screens");
    await page.getByRole("cell", { name: "FR-000006" }).waitFor();
    await shot(page, "admin-orders.png");

    // An unpaid bank-transfer order: operations is offered what its state allows.
    await page.getByRole("link", { name: "FR-000001" }).click();
    await page.getByRole("heading", { name: "Order FR-000001" }).waitFor();
    for (const offered of ["Payment received", "Cancel the order", "Edit the order"]) {
      await page.getByRole("heading", { name: offered, exact: true }).waitFor();
    }
    assert.equal(await page.getByRole("heading", { name: "Fulfil", exact: true }).count(), 0, "nothing to ship before payment");
    await page.getByRole("link", { name: "← Orders" }).click();
    await page.getByRole("cell", { name: "FR-000006" }).waitFor();

    await page.getByLabel("Number or email").fill("louis.martin@example.fr");
    await page.getByRole("button", { name: "Search" }).click();
    await page.waitForURL(/q=louis\.martin/);
    await page.getByRole("cell", { name: "louis.martin@example.fr" }).waitFor();
    assert.equal(await page.locator("tbody tr").count(), 1, "one order of that email");
    await page.getByRole("link", { name: "FR-000002" }).click();
    await page.getByRole("heading", { name: "Order FR-000002" }).waitFor();
    const timeline = page.locator("ol.timeline li");
    await timeline.nth(2).waitFor();
    const before = await timeline.count();
    assert.ok(before >= 3, "placed, confirmed, marked paid");

    const order = await orderByEmail("louis.martin@example.fr");
    const [mug, coffee] = order.lines;
    const fulfil = page.locator("form", { has: page.getByRole("heading", { name: "Fulfil" }) });
    await fulfil.getByLabel(`${coffee.title} (${coffee.sku})`).fill("0");
    await fulfil.getByLabel("Carrier").fill("Colissimo");
    await fulfil.getByLabel("Tracking number").fill("6A99887766554");
    await fulfil.getByRole("button", { name: "Record shipment" }).click();
    await page.getByRole("status").filter({ hasText: "Shipment recorded." }).waitFor();
    await page.locator(".badges").getByText("partially fulfilled").waitFor();
    await page.locator("ol.timeline li", { hasText: "ops@example.com" }).first().waitFor();
    assert.ok((await timeline.count()) > before, "the timeline grew");
    assert.match(await page.locator("ol.timeline").innerText(), /fulfill.*ops@example\.com/);
    await shot(page, "admin-order.png");

    const after = (await stack.bo(`/admin/v1/orders/${order.id}`, { headers: admin })).body;
    assert.equal(after.lines.find((l) => l.id === mug.id).fulfilled_quantity, mug.quantity);
    assert.equal(after.lines.find((l) => l.id === coffee.id).fulfilled_quantity, 0);
    assert.equal(after.fulfillment_status, "partially_fulfilled");
    assert.deepEqual(clean(), [], "no script error or CSP violation");
  } finally {
    await context.close();
  }
});

test("a support user opens a return, approves it and refunds it on receipt, and is offered nothing else", async () => {
  const order = await orderByEmail("hugo.petit@example.fr"); // fulfilled, paid
  const chocolate = order.lines.find((l) => l.sku === "CHOC-70");
  const unpaid = await orderByEmail("camille.durand@example.fr"); // operations sees three actions there
  const { context, page, call, clean } = await signedIn("support@example.com", `/orders/${unpaid.id}`);
  try {
    await page.getByRole("heading", { name: `Order ${unpaid.number}` }).waitFor();
    await page.locator("ol.timeline li").first().waitFor();
    for (const offered of ["Fulfil", "Cancel the order", "Edit the order", "Payment received", "Actions"]) {
      assert.equal(await page.getByRole("heading", { name: offered, exact: true }).count(), 0, `support is not offered "${offered}"`);
    }
    await page.goto(app(`/orders/${order.id}`));
    await page.getByRole("heading", { name: `Order ${order.number}` }).waitFor();
    const open = page.locator("form", { has: page.getByRole("heading", { name: "Open a return" }) });
    await open.getByLabel(`${chocolate.title} (${chocolate.sku})`).fill("1");
    await open.getByLabel(`Reason for ${chocolate.title}`).selectOption("damaged");
    await open.getByLabel("Note").fill("Melted on arrival");
    await open.getByRole("button", { name: "Open the return" }).click();
    await page.getByRole("status").filter({ hasText: "Return opened." }).waitFor();

    const card = page.locator("article.return", { hasText: "Melted on arrival" });
    await card.getByRole("button", { name: "Approve" }).click();
    await card.getByText("approved", { exact: true }).waitFor();
    await card.getByRole("button", { name: "Receive" }).click();
    await card.getByText("received", { exact: true }).waitFor();
    const refunds = page.locator("section", { has: page.getByRole("heading", { name: "Refunds" }) });
    await refunds.getByText("succeeded").waitFor();
    assert.match(await refunds.innerText(), /€5\.90/);

    const after = (await stack.bo(`/admin/v1/orders/${order.id}`, { headers: admin })).body;
    const line = after.lines.find((l) => l.id === chocolate.id);
    assert.equal(line.returned_quantity, 1);
    assert.equal(line.refunded_quantity, 1);
    assert.equal(after.refunds.length, 1);
    assert.deepEqual(after.refunds[0].amount, { amount: "5.90", currency: "EUR" });

    // What support's role does not hold, the back office refuses, whatever the page sends.
    const cancel = await call("POST", `/api/admin/orders/${unpaid.id}/cancel`, {});
    assert.equal(cancel.status, 403);
    assert.equal(cancel.body.error.code, "forbidden");
    const edit = await call("POST", `/api/admin/orders/${order.id}/fulfillments`, { lines: [{ line_id: chocolate.id, quantity: 1 }] });
    assert.equal(edit.status, 403);
    assert.deepEqual(clean(), [], "no script error or CSP violation");
  } finally {
    await context.close();
  }
});

test("a return received with its refund needs refunds:write: a returns-only token is refused", async () => {
  const order = await orderByEmail("hugo.petit@example.fr");
  const ret = order.returns.find((r) => r.status === "requested"); // the seeded one
  const desk = bearer(await adminToken({ scope: "orders:read returns:write" }));
  assert.equal((await stack.bo(`/admin/v1/returns/${ret.id}/approve`, { method: "POST", headers: desk, json: {} })).status, 200);
  const receipt = { lines: ret.lines.map((l) => ({ line_id: l.line_id, quantity: l.quantity, restock: true })) };
  const refused = await stack.bo(`/admin/v1/returns/${ret.id}/receive`, { method: "POST", headers: desk, json: { ...receipt, refund: true } });
  envelope(assert, refused, 403, "forbidden");
  assert.match(refused.body.error.message, /refunds:write/);
  assert.equal((await stack.bo(`/admin/v1/orders/${order.id}`, { headers: admin })).body.refunds.length, order.refunds.length, "no refund");
  const received = await stack.bo(`/admin/v1/returns/${ret.id}/receive`, { method: "POST", headers: desk, json: { ...receipt, refund: false } });
  assert.equal(received.status, 200, received.text);
});

test("signing in goes back to the page asked for, never to another site", async () => {
  for (const [next, landing] of [
    ["/returns?status=approved", "/returns"],
    ["/%09/evil.example/x", null],
    ["/%0a/%5Cevil.example", null],
    ["https://evil.example/", null],
    ["//evil.example", null],
  ]) {
    const context = await browser.newContext();
    const page = await context.newPage();
    try {
      await page.goto(app(`/signin?next=${next}`));
      await page.getByLabel("Email").fill("owner@example.com");
      await page.getByLabel("Password").fill(PASSWORD);
      await page.getByRole("button", { name: "Sign in" }).click();
      await page.getByRole("navigation", { name: "Sections" }).waitFor().catch(async (e) => {
        throw new Error(`next=${next}: no app at ${page.url()}: ${e.message}`);
      });
      const url = new URL(page.url());
      assert.equal(url.origin, stack.urls.admin, `next=${next} stays on the admin app`);
      if (landing) assert.equal(url.pathname, landing);
    } finally {
      await context.close();
    }
  }
});

test("the owner switches a discount and a shipping method off and on, and saves a location: nothing else changes", async () => {
  const owner = bearer(await adminToken({ scope: "catalog:read catalog:write inventory:read inventory:write" }));
  const read = async (p) => {
    const { updated_at: _u, ...rest } = (await stack.bo(p, { headers: owner })).body;
    return rest;
  };
  const paris = async () => {
    const { updated_at: _u, ...rest } = (await stack.bo("/admin/v1/locations", { headers: owner })).body.data.find((l) => l.id === "paris-store");
    return rest;
  };
  const before = { discount: await read("/admin/v1/discounts/welcome10"), shipping: await read("/admin/v1/shipping-methods/express"), location: await paris() };
  const { context, page, clean } = await signedIn("owner@example.com", "/discounts");
  try {
    for (const [screen, name, key, p] of [
      ["/discounts", before.discount.title, "discount", "/admin/v1/discounts/welcome10"],
      ["/shipping-methods", before.shipping.name, "shipping", "/admin/v1/shipping-methods/express"],
    ]) {
      await page.goto(app(screen));
      await page.getByRole("button", { name: `Switch off ${name}` }).click();
      await page.getByRole("status").filter({ hasText: "Switched off." }).waitFor();
      assert.equal((await read(p)).enabled, false, `${key} switched off`);
      await page.getByRole("button", { name: `Switch on ${name}` }).click();
      await page.getByRole("status").filter({ hasText: "Switched on." }).waitFor();
      assert.deepEqual(await read(p), before[key], `${key}: back as it was, every other field unchanged`);
    }
    await page.goto(app("/locations"));
    await page.getByRole("button", { name: "Edit Paris shop" }).click();
    await page.getByRole("button", { name: "Save" }).click();
    await page.getByRole("status").filter({ hasText: "Location saved." }).waitFor();
    assert.deepEqual(await paris(), before.location, "the location saved as it was");
    assert.deepEqual(clean(), [], "no script error or CSP violation");
  } finally {
    await context.close();
  }
});

test("the owner takes a phone order as a draft with a price set by hand and places it; operations may not set prices", async () => {
  const { context, page, clean } = await signedIn("owner@example.com", "/draft-orders");
  try {
    const form = page.locator("form", { has: page.getByRole("heading", { name: "New draft order" }) });
    await form.getByLabel("Email").fill("chef@bistro.example");
    await form.getByLabel("Shipping method").fill("express");
    await form.getByLabel("First name").fill("Paul");
    await form.getByLabel("Last name").fill("Bocuse");
    await form.getByLabel("Address", { exact: true }).fill("40 quai de la Plage");
    await form.getByLabel("Postal code").fill("69660");
    await form.getByLabel("City").fill("Collonges");
    await form.getByLabel("SKU").fill("KNIFE-20");
    await form.getByLabel("Quantity").fill("3");
    await form.getByLabel("Price set by hand").fill("70.00");
    await form.getByLabel("Reason for the price").fill("Restaurant account");
    await form.getByRole("button", { name: "Create the draft" }).click();
    await page.getByRole("heading", { name: /^Draft order draft_/ }).waitFor();
    // 3 × 70.00 + 12.90 express shipping.
    assert.equal(await page.getByTestId("draft-total").innerText(), "€222.90");
    await page.getByRole("cell", { name: "Restaurant account" }).waitFor();
    const complete = page.locator("form", { has: page.getByRole("heading", { name: "Place the order" }) });
    await complete.getByRole("button", { name: "Place the order" }).click();
    await page.getByRole("status").filter({ hasText: "Order placed." }).waitFor();
    await page.locator(".badges").getByText("completed").waitFor();
    await page.getByRole("link", { name: /^ord_/ }).click();
    await page.getByRole("heading", { name: /^Order FR-/ }).waitFor();
    await page.getByText("Price set by hand: Restaurant account").waitFor();
    await page.locator("ol.timeline li", { hasText: "owner@example.com" }).first().waitFor();
    assert.match(await page.locator("ol.timeline").innerText(), /draft completed.*KNIFE-20 at 70\.00 EUR \(Restaurant account\)/);
    await shot(page, "admin-draft-order.png");
    // The orders list finds it by its source.
    await page.goto(app("/orders?source=draft"));
    await page.getByRole("cell", { name: "chef@bistro.example" }).waitFor();
    assert.equal(await page.locator("tbody tr").count(), 1, "only the draft's order");
    assert.deepEqual(clean(), [], "no script error or CSP violation");
  } finally {
    await context.close();
  }
  const ops = await signedIn("ops@example.com", "/draft-orders");
  try {
    const form = ops.page.locator("form", { has: ops.page.getByRole("heading", { name: "New draft order" }) });
    await form.getByLabel("SKU").waitFor();
    assert.equal(await form.getByLabel("Price set by hand").count(), 0, "operations is not offered prices");
    // The form shows before the list's call has answered; the cookie comes with that answer.
    await ops.page.getByRole("table", { name: "Draft orders" }).waitFor();
    // Each call keeps the back office's D1 bookmark in the staff member's cookie.
    const cookies = await ops.context.cookies();
    assert.match(cookies.find((c) => c.name === "comptoir_admin_bookmark")?.value ?? "", /^[0-9a-f-]+$/);
    assert.ok(cookies.find((c) => c.name === "comptoir_admin_bookmark").httpOnly);
    const refused = await ops.call("POST", "/api/admin/draft-orders", {
      channel: "web", market: "FR", email: "a@b.example", shipping_method: "standard",
      shipping_address: { first_name: "A", last_name: "B", line1: "1 rue", postal_code: "75001", city: "Paris", country: "FR" },
      lines: [{ sku: "KNIFE-20", quantity: 1, unit_price: { amount: "1.00", currency: "EUR" }, price_reason: "friend" }],
    });
    assert.equal(refused.status, 403, "and the back office refuses it");
  } finally {
    await ops.context.close();
  }
});

test("a catalog user cannot see destinations: a 403 page, and the API refuses too", async () => {
  const { context, page, call, clean } = await signedIn("catalog@example.com", "/products");
  try {
    const nav = page.getByRole("navigation", { name: "Sections" });
    await nav.getByRole("link", { name: "Products" }).waitFor();
    assert.equal(await nav.getByRole("link", { name: "Destinations" }).count(), 0);
    assert.equal(await nav.getByRole("link", { name: "Orders" }).count(), 0);
    const res = await page.goto(app("/destinations"));
    assert.equal(res.status(), 403);
    await page.getByRole("heading", { name: "403 · Not allowed" }).waitFor();
    assert.equal(await page.locator("table").count(), 0, "no destination is shown");
    const api = await call("GET", "/api/admin/destinations");
    assert.equal(api.status, 403);
    assert.equal(api.body.error.code, "forbidden");
    assert.equal((await call("GET", "/api/admin/products?limit=1")).status, 200, "its own screens' data it gets");
    assert.deepEqual(clean(), [], "no script error or CSP violation");
  } finally {
    await context.close();
  }
});

test("the owner replays a dead delivery from the destination's screen", async () => {
  const id = "admin-app-erp";
  const put = await stack.bo(`/admin/v1/destinations/${id}`, { method: "PUT", headers: admin, json: { url: `${receiver.url}/erp`, events: ["order.confirmed"] } });
  assert.equal(put.status, 201, put.text);
  try {
    const pending = await orderByEmail("camille.durand@example.fr");
    assert.equal((await stack.bo(`/admin/v1/orders/${pending.id}/mark-paid`, { method: "POST", headers: admin, json: {} })).status, 200);
    let dead;
    for (let i = 0; i < 200 && !dead; i++) {
      dead = (await stack.bo(`/admin/v1/deliveries?destination_id=${id}&status=dead`, { headers: admin })).body.data[0];
      if (!dead) await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(dead, "the delivery died against a failing receiver");
    receiverUp = true;

    const { context, page, clean } = await signedIn("owner@example.com", "/destinations");
    try {
      await page.getByRole("link", { name: id }).click();
      await page.getByRole("heading", { name: `Destination ${id}` }).waitFor();
      await page.getByRole("button", { name: `Replay ${dead.id}` }).click();
      await page.getByRole("status").filter({ hasText: "Delivery sent again." }).waitFor();
      let delivered;
      for (let i = 0; i < 200 && !delivered; i++) {
        const d = (await stack.bo(`/admin/v1/deliveries/${dead.id}`, { headers: admin })).body;
        if (d.status === "delivered") delivered = d;
        else await new Promise((r) => setTimeout(r, 100));
      }
      assert.ok(delivered, "the replayed delivery reached the receiver");
      assert.ok(received.some((r) => r.ok), "the receiver got it once it was up");
      assert.deepEqual(clean(), [], "no script error or CSP violation");
    } finally {
      await context.close();
    }
  } finally {
    assert.equal((await stack.bo(`/admin/v1/destinations/${id}`, { method: "DELETE", headers: admin })).status, 204);
  }
});
