// The demo storefront (public/ + the Pages Functions of functions/) in a real browser: Debian's
// Chromium driven by playwright-core, against the built Workers in workerd. A shopper browses the
// French market, adds products, changes a quantity, applies WELCOME10, checks out with `manual`
// and sees the order; the back office then holds exactly that order, all under the pages' strict
// Content-Security-Policy (no violation logged), which the browser enforces. Screenshots go to
// build/screenshots/ (UPDATE_SCREENSHOTS=1 also refreshes the ones committed under docs/).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { chromium } from "playwright-core";
import { root } from "../../scripts/lib/proc.mjs";
import { CHROMIUM } from "../../scripts/setup.mjs";
import { startStack } from "./harness.mjs";
import { adminToken, bearer } from "./tokens.mjs";

const SHOTS = path.join(root, "build", "screenshots");

let stack;
let browser;
before(async () => {
  assert.ok(fs.existsSync(CHROMIUM), `${CHROMIUM} is missing: npm run setup installs Debian's chromium`);
  stack = await startStack({ demo: true });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
});
after(async () => {
  await browser?.close();
  await stack?.dispose();
});

async function shot(page, name) {
  fs.mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: path.join(SHOTS, name), fullPage: true });
  if (process.env.UPDATE_SCREENSHOTS === "1") fs.copyFileSync(path.join(SHOTS, name), path.join(root, "docs", name));
}

test("a shopper buys through the demo storefront and the back office sees that order", async () => {
  const context = await browser.newContext({ viewport: { width: 1100, height: 900 } });
  const page = await context.newPage();
  const errors = [];
  const violations = [];
  page.on("pageerror", (e) => errors.push(e.message));
  page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
  page.on("console", (m) => /Content Security Policy|TrustedScript|Trusted Type/i.test(m.text()) && violations.push(m.text()));

  // Browsing per market: the US market shows dollars, tax added at checkout.
  const first = await page.goto(`${stack.urls.demo}/`);
  assert.match(first.headers()["content-security-policy"] ?? "", /frame-ancestors 'none'/, "the page is served with its CSP");
  await page.getByRole("heading", { name: "The Bistro Cookbook" }).waitFor();
  await page.getByLabel("Market", { exact: true }).selectOption("US");
  await page.waitForURL(/market=US/);
  await page.getByRole("heading", { name: "The Bistro Cookbook" }).waitFor();
  assert.match(await page.locator("li.card", { hasText: "The Bistro Cookbook" }).innerText(), /\$\d+\.\d{2}/);
  assert.match(await page.locator("footer").innerText(), /Prices exclude sales tax/);

  // Catalog, French market: prices in euros, VAT included.
  await page.getByLabel("Market", { exact: true }).selectOption("FR");
  await page.waitForURL(/market=FR/);
  await page.getByRole("heading", { name: "The Bistro Cookbook" }).waitFor();
  assert.match(await page.locator("footer").innerText(), /Prices include VAT/);
  assert.match(await page.locator("li.card", { hasText: "The Bistro Cookbook" }).innerText(), /35,00\u00a0€/);

  await page.getByRole("button", { name: "Add The Bistro Cookbook (Hardcover) to cart" }).click();
  await page.getByRole("status").filter({ hasText: "The Bistro Cookbook added" }).waitFor();
  await page.getByRole("button", { name: /^Add Ceramic Mug/ }).first().click();
  await page.getByRole("status").filter({ hasText: "Ceramic Mug added" }).waitFor();
  assert.equal(await page.locator("#cart-count").innerText(), "2");

  // The cart id lives only in an HttpOnly cookie.
  const cookies = await context.cookies();
  const cartCookie = cookies.find((c) => c.name === "comptoir_cart_FR");
  assert.ok(cartCookie?.value.startsWith("cart_"), "cart cookie set");
  assert.equal(cartCookie.httpOnly, true);
  assert.equal(await page.evaluate(() => document.cookie.includes("cart_")), false);

  // Cart: two cookbooks, then WELCOME10.
  await page.getByRole("link", { name: /^Cart/ }).click();
  // The shopper starts on the delivery form, goes back to a quantity and leaves the field: the
  // cart re-renders with the new figures and keeps what they had typed.
  await page.getByLabel("Email", { exact: true }).fill("camille@example.com");
  const qty = page.getByLabel(/^Quantity of The Bistro Cookbook/);
  await qty.fill("2");
  await qty.press("Tab");
  await page.getByRole("status").filter({ hasText: "Quantity updated" }).waitFor();
  assert.equal(await page.locator("#cart-count").innerText(), "3");
  assert.equal(await page.getByLabel("Email", { exact: true }).inputValue(), "camille@example.com");
  assert.ok(!(await page.content()).includes(cartCookie.value), "the page never shows the cart id");

  await page.getByLabel("Code", { exact: true }).fill("welcome10");
  await page.getByRole("button", { name: "Apply" }).click();
  await page.getByRole("status").filter({ hasText: "Code applied" }).waitFor();
  assert.equal(await page.getByLabel("Code", { exact: true }).inputValue(), "", "an applied code leaves the field");
  assert.match(await page.locator("li", { hasText: "WELCOME10" }).innerText(), /WELCOME10/);
  assert.notEqual(await page.locator('[data-total="discount"]').innerText(), "−0,00\u00a0€");
  assert.match(await page.locator("#totals").innerText(), /VAT \(included\)/);

  // Delivery details and the order.
  await page.getByLabel("Email", { exact: true }).fill("camille@example.com");
  await page.getByLabel("First name", { exact: true }).fill("Camille");
  await page.getByLabel("Last name", { exact: true }).fill("Martin");
  await page.getByLabel("Address", { exact: true }).fill("12 rue de la Paix");
  await page.getByLabel("Postal code", { exact: true }).fill("75002");
  await page.getByLabel("City", { exact: true }).fill("Paris");
  await page.getByLabel("Country", { exact: true }).selectOption("FR");
  await page.getByLabel("Shipping", { exact: true }).selectOption("standard");
  const cartTotal = await page.locator('[data-total="total"]').innerText();
  await shot(page, "demo-cart.png");
  await page.getByRole("button", { name: "Place order" }).click();

  await page.waitForURL(/\/order\?id=ord_/);
  await page.locator("#order-number").waitFor();
  const number = await page.locator("#order-number").innerText();
  assert.match(number, /^FR-\d{6}$/);
  assert.equal(await page.locator("#order-status").innerText(), "Awaiting payment");
  await shot(page, "demo-order.png");
  assert.deepEqual(errors, [], "no script errors in the pages");
  assert.deepEqual(violations, [], "the pages work under their Content-Security-Policy");

  // The back office holds that order, priced by the catalog.
  const orderId = new URL(page.url()).searchParams.get("id");
  const token = await adminToken({ scope: "orders:read" });
  const order = (await stack.bo(`/admin/v1/orders/${orderId}`, { headers: bearer(token) })).body;
  assert.equal(order.number, number);
  assert.equal(order.status, "pending_payment");
  assert.equal(order.payment_provider, "manual");
  assert.equal(order.email, "camille@example.com");
  assert.deepEqual(order.discount_codes, ["WELCOME10"]);
  assert.deepEqual(
    order.lines.map((l) => [l.sku, l.quantity]).sort(),
    [["BOOK-BISTRO", 2], ["MUG-350", 1]],
  );
  assert.equal(order.shipping_method.id, "standard");
  const shown = await page.locator("#order-total").innerText();
  assert.equal(shown, `${order.totals.total.amount.replace(".", ",")}\u00a0€`);
  // Standard delivery is free over 50 € in the demo data, so the cart's total was already final.
  assert.equal(order.totals.shipping.amount, "0.00");
  assert.equal(cartTotal, shown, "the cart showed the total that was charged");

  // The cart cookie is gone; the cart page is empty again.
  assert.equal((await context.cookies()).some((c) => c.name === "comptoir_cart_FR" && c.value), false);
  await page.goto(`${stack.urls.demo}/cart?market=FR`);
  await page.getByText("Your cart is empty").waitFor();
  await context.close();
});

test("the browser enforces the pages' policy: no inline script, no framing", async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  const messages = [];
  page.on("console", (m) => messages.push(m.text()));
  await page.goto(`${stack.urls.demo}/cart?market=FR`);
  await page.getByText("Your cart is empty").waitFor();
  // An injected inline script (what an XSS would add) does not run.
  const ran = await page.evaluate(async () => {
    const s = document.createElement("script");
    try {
      s.text = "window.injected = true";
      document.body.append(s);
    } catch {
      // Trusted Types refuse the string outright.
    }
    await new Promise((r) => setTimeout(r, 50));
    return window.injected === true;
  });
  assert.equal(ran, false, "an inline script was blocked");
  const reported = () => messages.some((m) => /Content Security Policy|TrustedScript|Trusted Type/i.test(m));
  for (let i = 0; i < 50 && !reported(); i++) await page.waitForTimeout(100);
  assert.ok(reported(), `the browser reported the violation: ${messages.join(" | ")}`);

  // Another site cannot frame the store (clickjacking).
  const framer = await context.newPage();
  const framed = [];
  framer.on("console", (m) => framed.push(m.text()));
  await framer.setContent(`<iframe src="${stack.urls.demo}/cart?market=FR"></iframe>`);
  for (let i = 0; i < 50 && !framed.some((m) => /frame-ancestors 'none'/.test(m)); i++) await framer.waitForTimeout(100);
  assert.ok(framed.some((m) => /frame-ancestors 'none'/.test(m)), `the browser refused the frame: ${framed.join(" | ")}`);
  const frame = framer.frames().find((f) => f !== framer.mainFrame());
  const shown = frame ? await frame.evaluate(() => document.body?.dataset.page ?? null).catch(() => null) : null;
  assert.notEqual(shown, "cart", "the cart page did not render inside another site's frame");
  await context.close();
});

test("the order page of another browser is not found (the order token stays in its cookie)", async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  const res = await page.request.get(`${stack.urls.demo}/api/orders/ord_00000000000000000000000000000000`);
  assert.equal(res.status(), 404);
  assert.equal((await res.json()).error.code, "not_found");
  await context.close();
});

test("the order page offers a return once the order has shipped, and lists it once asked for", async () => {
  const context = await browser.newContext({ viewport: { width: 1100, height: 900 } });
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
  const origin = stack.urls.demo;
  // The cart and checkout through the Functions, in this browser's cookie jar (the first test
  // clicks through those pages already).
  const call = async (method, path, data) => {
    const res = await page.request.fetch(origin + path, { method, data, headers: { Origin: origin } });
    assert.ok(res.ok(), `${method} ${path}: ${res.status()} ${await res.text()}`);
    return res.json();
  };
  await call("POST", "/api/cart/lines", { market: "FR", sku: "APRON-NAT", quantity: 2 });
  const { cart } = await call("PATCH", "/api/cart", {
    market: "FR",
    email: "noe@example.com",
    shipping_address: { first_name: "Noé", last_name: "Leroy", line1: "8 rue Verte", city: "Lyon", postal_code: "69002", country: "FR" },
    shipping_method: "standard",
  });
  const placed = await call("POST", "/api/checkout", { market: "FR", version: cart.version, attempt: "browser-return" });

  // Nothing has shipped: no form.
  await page.goto(`${origin}/order?id=${encodeURIComponent(placed.order_id)}`);
  await page.locator("#order-number").waitFor();
  assert.equal(await page.locator("#return-form").count(), 0, "no return form before shipping");

  // The merchant is paid and ships both aprons.
  const admin = bearer(await adminToken({ scope: "orders:read orders:write" }));
  const order = (await stack.bo(`/admin/v1/orders/${placed.order_id}`, { headers: admin })).body;
  assert.equal((await stack.bo(`/admin/v1/orders/${order.id}/mark-paid`, { method: "POST", json: {}, headers: admin })).status, 200);
  const shipped = await stack.bo(`/admin/v1/orders/${order.id}/fulfillments`, { method: "POST", json: { lines: order.lines.map((l) => ({ line_id: l.id, quantity: l.quantity })) }, headers: admin });
  assert.ok(shipped.status < 300, shipped.text);

  await page.reload();
  await page.getByRole("heading", { name: "Request a return" }).waitFor();
  const quantity = page.getByLabel(/^Units of .+ to return/);
  assert.equal(await quantity.getAttribute("max"), "2");
  await quantity.fill("2");
  await page.getByLabel(/^Why you return/).selectOption("wrong_item");
  await page.getByLabel("Note (optional)", { exact: true }).fill("Wrong colour.");
  await page.getByRole("button", { name: "Request a return" }).click();
  await page.getByRole("status").filter({ hasText: /^Return ret_[0-9a-f]+: Requested\.$/ }).waitFor();
  assert.match(await page.locator("#returns").innerText(), /Return ret_[0-9a-f]+: Requested — 2 × .+ \(Wrong item\)/);
  // Both shipped aprons are asked for: nothing left to return, so no form.
  assert.equal(await page.locator("#return-form").count(), 0);
  assert.deepEqual(errors, [], "no script errors in the page");
  const returns = (await stack.bo(`/admin/v1/returns?order_id=${order.id}`, { headers: admin })).body.data;
  assert.deepEqual(returns.map((r) => [r.status, r.note, r.lines[0].quantity, r.lines[0].reason]), [["requested", "Wrong colour.", 2, "wrong_item"]]);
  await context.close();
});
