// The demo storefront's pages: plain DOM, no framework. Every call goes to this site's own
// Pages Functions (/api/…), which hold the cart id and order tokens in HttpOnly cookies and call
// the Comptoir storefront Worker. Text is set with textContent, never parsed as HTML.

const $ = (id) => document.getElementById(id);

/** Builds an element: h("button", { type: "submit", onclick }, "Add"). */
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "class") el.className = v;
    else el.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) if (c !== null && c !== undefined && c !== false) el.append(c instanceof Node ? c : String(c));
  return el;
}

/** Money from its decimal string, without ever turning it into a float. */
export function money(m) {
  const neg = m.amount.startsWith("-");
  const [int, frac] = m.amount.replace("-", "").split(".");
  const group = (s, sep) => s.replace(/\B(?=(\d{3})+(?!\d))/g, sep);
  const sign = neg ? "−" : "";
  if (m.currency === "EUR") return `${sign}${group(int, "\u202f")}${frac ? `,${frac}` : ""}\u00a0€`;
  if (m.currency === "USD") return `${sign}$${group(int, ",")}${frac ? `.${frac}` : ""}`;
  return `${sign}${m.amount.replace("-", "")} ${m.currency}`;
}

const nonZero = (m) => /[1-9]/.test(m.amount);

// Every POST and PATCH sends a JSON body (the Functions answer 415 to any other); a DELETE sends none.
async function api(path, { method = "GET", body } = {}) {
  const res = await fetch(path, {
    method,
    headers: body ? { "Content-Type": "application/json" } : {},
    body: body ? JSON.stringify(body) : undefined,
    credentials: "same-origin",
  });
  const data = await res.json().catch(() => null);
  if (!res.ok) throw new Error(data?.error?.message ?? `the store answered ${res.status}`);
  return data;
}

// Cart answers can arrive out of order (a page's first read of the cart against a click that
// changed it, two quick edits): each call takes a ticket, and an answer older than the one
// already shown is dropped rather than painted over newer figures.
let issued = 0;
let shown = 0;

/** A call that answers with a cart: `fresh` is false when a later call has already been shown. */
async function cartCall(path, options) {
  const ticket = ++issued;
  const data = await api(path, options);
  const fresh = ticket > shown;
  if (fresh) shown = ticket;
  return { data, fresh };
}

function say(message, kind = "") {
  const el = $("status");
  el.className = kind;
  el.textContent = message;
}

function currentMarket() {
  return new URL(location.href).searchParams.get("market") ?? localStorage.getItem("market") ?? "FR";
}

function fillMarkets(markets, selected) {
  const select = $("market");
  if (!select) return;
  select.replaceChildren(...markets.map((m) => h("option", { value: m.code, selected: m.code === selected }, `${m.code} (${m.currency})`)));
  select.onchange = () => {
    localStorage.setItem("market", select.value);
    location.search = `?market=${encodeURIComponent(select.value)}`;
  };
}

function showCount(cart) {
  const n = cart ? cart.lines.reduce((sum, l) => sum + l.quantity, 0) : 0;
  const el = $("cart-count");
  if (el) el.textContent = String(n);
}

// ---- catalog -----------------------------------------------------------------------------------

async function catalogPage() {
  const { markets, market, products } = await api(`/api/catalog?market=${encodeURIComponent(currentMarket())}`);
  if (!market) return say("This store sells nowhere yet.");
  localStorage.setItem("market", market.code);
  fillMarkets(markets, market.code);
  $("tax-note").textContent = market.tax_inclusive ? "Prices include VAT." : "Prices exclude sales tax, added at checkout.";
  const list = $("products");
  list.replaceChildren(
    ...products.map((p) =>
      h(
        "li",
        { class: "card" },
        h("h2", { id: `p-${p.id}` }, p.title),
        h("p", {}, p.description),
        ...p.variants.map((v) =>
          h(
            "div",
            { class: "variant" },
            h("span", {}, v.title, " · ", h("span", { class: "price" }, money(v.price))),
            h(
              "button",
              {
                type: "button",
                disabled: !v.available,
                "aria-label": v.available ? `Add ${p.title} (${v.title}) to cart` : `${p.title} (${v.title}) is out of stock`,
                onclick: (e) => addToCart(e.currentTarget, market.code, v.sku, p.title),
              },
              v.available ? "Add to cart" : "Out of stock",
            ),
          ),
        ),
      ),
    ),
  );
  list.setAttribute("aria-busy", "false");
  const { data, fresh } = await cartCall(`/api/cart?market=${market.code}`);
  if (fresh) showCount(data.cart);
}

async function addToCart(button, market, sku, title) {
  button.disabled = true;
  try {
    const { data, fresh } = await cartCall("/api/cart/lines", { method: "POST", body: { market, sku, quantity: 1 } });
    if (fresh) showCount(data.cart);
    say(`${title} added to your cart.`, "ok");
  } catch (e) {
    say(e.message, "error");
  } finally {
    button.disabled = false;
  }
}

// ---- cart --------------------------------------------------------------------------------------

let state = null; // { cart, shipping_methods, markets, market }

async function cartPage() {
  const market = currentMarket();
  const [{ markets }, { data }] = await Promise.all([api("/api/markets"), cartCall(`/api/cart?market=${encodeURIComponent(market)}`)]);
  fillMarkets(markets, market);
  state = { ...data, markets, market: markets.find((m) => m.code === market) ?? markets[0] };
  renderCart();
}

async function mutate(path, options, done) {
  try {
    const { data, fresh } = await cartCall(path, options);
    if (fresh) {
      state.cart = data.cart;
      if (data.shipping_methods) state.shipping_methods = data.shipping_methods;
      renderCart();
    }
    if (done) say(done, "ok");
    return true;
  } catch (e) {
    say(e.message, "error");
    return false;
  }
}

function renderCart() {
  const root = $("cart");
  root.setAttribute("aria-busy", "false");
  const { cart, market } = state;
  showCount(cart);
  if (!cart || cart.lines.length === 0) {
    root.replaceChildren(h("p", { class: "notice" }, "Your cart is empty. ", h("a", { href: "/" }, "Browse the products"), "."));
    return;
  }
  const m = market.code;
  const lines = h(
    "table",
    {},
    h("caption", { class: "visually-hidden" }, "Items in your cart"),
    h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Product"), h("th", { scope: "col", class: "num" }, "Price"), h("th", { scope: "col" }, "Quantity"), h("th", { scope: "col", class: "num" }, "Total"), h("th", { scope: "col" }, h("span", { class: "visually-hidden" }, "Remove")))),
    h(
      "tbody",
      {},
      cart.lines.map((l) =>
        h(
          "tr",
          {},
          h("td", {}, l.title, h("br"), h("small", {}, l.sku)),
          h("td", { class: "num" }, money(l.unit_price)),
          h(
            "td",
            {},
            h("input", {
              type: "number",
              min: "0",
              max: "999",
              value: String(l.quantity),
              "aria-label": `Quantity of ${l.title}`,
              onchange: (e) => mutate(`/api/cart/lines/${encodeURIComponent(l.id)}`, { method: "PATCH", body: { market: m, quantity: Number.parseInt(e.currentTarget.value, 10) || 0 } }, "Quantity updated."),
            }),
          ),
          h("td", { class: "num" }, money(l.total), nonZero(l.discount) ? h("br") : null, nonZero(l.discount) ? h("small", {}, `−${money(l.discount)}`) : null),
          h("td", {}, h("button", { type: "button", class: "secondary", "aria-label": `Remove ${l.title}`, onclick: () => mutate(`/api/cart/lines/${encodeURIComponent(l.id)}?market=${m}`, { method: "DELETE" }, `${l.title} removed.`) }, "Remove")),
        ),
      ),
    ),
  );
  const warnings = cart.warnings.length ? h("ul", { class: "warnings" }, cart.warnings.map((w) => h("li", {}, w.message))) : null;

  const codeInput = h("input", { id: "code", name: "code", autocomplete: "off", required: true });
  const codes = h(
    "section",
    { "aria-labelledby": "codes-h" },
    h("h2", { id: "codes-h" }, "Discount code"),
    h(
      "form",
      { class: "row", onsubmit: async (e) => {
          e.preventDefault();
          if (await mutate("/api/cart/discount-codes", { method: "POST", body: { market: m, code: codeInput.value } }, "Code applied.")) $("code").value = "";
        },
      },
      labelled("code", "Code", codeInput),
      h("button", { type: "submit" }, "Apply"),
    ),
    cart.discount_codes.length
      ? h(
          "ul",
          {},
          cart.discount_codes.map((c) =>
            h("li", {}, h("strong", {}, c.code), ` — ${c.message} `, h("button", { type: "button", class: "secondary", "aria-label": `Remove code ${c.code}`, onclick: () => mutate(`/api/cart/discount-codes/${encodeURIComponent(c.code)}?market=${m}`, { method: "DELETE" }, "Code removed.") }, "Remove")),
          ),
        )
      : null,
  );

  const t = cart.totals;
  const taxLabel = cart.tax_inclusive ? "VAT (included)" : "Sales tax";
  const totals = h(
    "table",
    { class: "totals", id: "totals" },
    h("caption", { class: "visually-hidden" }, "Totals"),
    h("tbody", {},
      h("tr", {}, h("td", {}, "Subtotal"), h("td", { class: "num" }, money(t.subtotal))),
      h("tr", {}, h("td", {}, "Discount"), h("td", { class: "num", "data-total": "discount" }, `−${money(t.discount)}`)),
      h("tr", {}, h("td", {}, "Shipping"), h("td", { class: "num" }, money(t.shipping))),
      h("tr", {}, h("td", {}, taxLabel), h("td", { class: "num", "data-total": "tax" }, money(t.tax))),
      h("tr", { class: "grand" }, h("td", {}, "Total"), h("td", { class: "num", "data-total": "total" }, money(t.total))),
    ),
  );

  // What the shopper typed and has not saved yet (a code, the delivery details) survives the
  // re-render, and so does the focus: an answer arriving mid-typing must not wipe the form.
  const drafts = [...root.querySelectorAll("form input, form select")]
    .filter((el) => el.id && (el.tagName === "SELECT" ? el.selectedOptions[0]?.defaultSelected === false : el.value !== el.defaultValue))
    .map((el) => [el.id, el.value]);
  const focused = root.contains(document.activeElement) ? document.activeElement.id : "";
  root.replaceChildren(lines, warnings ?? "", codes, h("h2", {}, "Summary"), totals, checkoutForm(cart, market));
  for (const [id, value] of drafts) {
    const el = $(id);
    if (el && (el.tagName !== "SELECT" || [...el.options].some((o) => o.value === value))) el.value = value;
  }
  if (focused) $(focused)?.focus();
}

/** A labelled control: the label names the control alone (not the options of a select). */
function labelled(name, label, control) {
  return h("div", { class: "field" }, h("label", { for: name }, label), control);
}

function field(name, label, attrs = {}) {
  return labelled(name, label, h("input", { id: name, name, required: true, ...attrs }));
}

function checkoutForm(cart, market) {
  const a = cart.shipping_address ?? {};
  const country = h(
    "select",
    { id: "country", name: "country", required: true },
    market.countries.map((c) => h("option", { value: c, selected: c === (a.country ?? market.countries[0]) }, c)),
  );
  const method = h(
    "select",
    { id: "shipping_method", name: "shipping_method", required: true },
    state.shipping_methods.map((s) => h("option", { value: s.id, selected: s.id === cart.shipping_method?.id }, `${s.name} — ${money(s.price)}`)),
  );
  const submit = h("button", { type: "submit", id: "place-order" }, "Place order");
  // One id per checkout attempt: a double submit shares it (one order), a retry after a refusal does not.
  let attempt = crypto.randomUUID();
  const form = h(
    "form",
    {
      "aria-labelledby": "checkout-h",
      onsubmit: async (e) => {
        e.preventDefault();
        submit.disabled = true;
        const f = new FormData(form);
        const body = {
          market: market.code,
          email: f.get("email"),
          shipping_address: {
            first_name: f.get("first_name"),
            last_name: f.get("last_name"),
            line1: f.get("line1"),
            city: f.get("city"),
            postal_code: f.get("postal_code"),
            country: f.get("country"),
          },
          shipping_method: f.get("shipping_method"),
        };
        if (await mutate("/api/cart", { method: "PATCH", body })) {
          try {
            say("Placing your order…");
            const placed = await api("/api/checkout", { method: "POST", body: { market: market.code, version: state.cart.version, attempt } });
            location.href = `/order?id=${encodeURIComponent(placed.order_id)}`;
            return;
          } catch (err) {
            say(err.message, "error");
            attempt = crypto.randomUUID();
          }
        }
        submit.disabled = false;
      },
    },
    h("h2", { id: "checkout-h" }, "Delivery and payment"),
    h("div", { class: "row" },
      field("email", "Email", { type: "email", autocomplete: "email", value: cart.email ?? "" }),
      field("first_name", "First name", { autocomplete: "given-name", value: a.first_name ?? "" }),
      field("last_name", "Last name", { autocomplete: "family-name", value: a.last_name ?? "" }),
    ),
    h("div", { class: "row" },
      field("line1", "Address", { autocomplete: "address-line1", value: a.line1 ?? "" }),
      field("postal_code", "Postal code", { autocomplete: "postal-code", value: a.postal_code ?? "" }),
      field("city", "City", { autocomplete: "address-level2", value: a.city ?? "" }),
      labelled("country", "Country", country),
    ),
    h("div", { class: "row" }, labelled("shipping_method", "Shipping", method)),
    h("p", {}, "Payment: by bank transfer (the store confirms your order once paid)."),
    submit,
  );
  return form;
}

// ---- order -------------------------------------------------------------------------------------

const STATUS = {
  pending_payment: "Awaiting payment",
  confirmed: "Confirmed",
  fulfilled: "Shipped",
  canceled: "Canceled",
  refunded: "Refunded",
};

async function orderPage() {
  const id = new URL(location.href).searchParams.get("id") ?? "";
  renderOrder(await api(`/api/orders/${encodeURIComponent(id)}`));
}

function renderOrder(order) {
  const root = $("order");
  root.setAttribute("aria-busy", "false");
  const t = order.totals;
  root.replaceChildren(
    h("p", { class: "notice" }, "Order ", h("strong", { id: "order-number" }, order.number), " is placed. Status: ", h("strong", { id: "order-status" }, STATUS[order.status] ?? order.status), "."),
    h(
      "table",
      {},
      h("caption", { class: "visually-hidden" }, "Items ordered"),
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Product"), h("th", { scope: "col", class: "num" }, "Quantity"), h("th", { scope: "col", class: "num" }, "Total"))),
      h("tbody", {}, order.lines.map((l) => h("tr", {}, h("td", {}, l.title), h("td", { class: "num" }, String(l.quantity)), h("td", { class: "num" }, money(l.total))))),
    ),
    h(
      "table",
      { class: "totals" },
      h("tbody", {},
        h("tr", {}, h("td", {}, "Discount"), h("td", { class: "num" }, `−${money(t.discount)}`)),
        h("tr", {}, h("td", {}, "Shipping"), h("td", { class: "num" }, money(t.shipping))),
        h("tr", {}, h("td", {}, order.tax_inclusive ? "VAT (included)" : "Sales tax"), h("td", { class: "num" }, money(t.tax))),
        h("tr", { class: "grand" }, h("td", {}, "Total"), h("td", { class: "num", id: "order-total" }, money(t.total))),
      ),
    ),
    h("p", {}, `A confirmation goes to ${order.email}. `, h("a", { href: "/" }, "Continue shopping"), "."),
    ...returnsSections(order),
  );
}

// ---- returns (on the order page) ---------------------------------------------------------------

const RETURN_STATUS = {
  requested: "Requested",
  approved: "Approved",
  received: "Received",
  rejected: "Rejected",
  canceled: "Canceled",
};

const RETURN_REASONS = [
  ["damaged", "Damaged"],
  ["wrong_item", "Wrong item"],
  ["not_as_described", "Not as described"],
  ["changed_mind", "Changed my mind"],
  ["other", "Other"],
];

/**
 * Units of a line that can still be sent back: what was fulfilled, less what returns hold
 * (all they ask for while requested or approved, what came back once received; nothing once
 * rejected or canceled). The storefront also closes a line once its return window (30 days
 * by default) has passed since its fulfilment, and says so when asked.
 */
export function returnable(order, line) {
  let held = 0;
  for (const r of order.returns ?? []) {
    for (const l of r.lines) {
      if (l.line_id !== line.id) continue;
      if (r.status === "requested" || r.status === "approved") held += l.quantity;
      else if (r.status === "received") held += l.received_quantity ?? 0;
    }
  }
  return Math.max(0, (line.fulfilled_quantity ?? 0) - held);
}

/** The order's returns, and the form to ask for one while some fulfilled units can go back. */
function returnsSections(order) {
  const titles = new Map(order.lines.map((l) => [l.id, l.title]));
  const reasons = new Map(RETURN_REASONS);
  const returns = order.returns ?? [];
  const open = order.lines.map((line) => ({ line, max: returnable(order, line) })).filter((r) => r.max > 0);
  const sections = [];
  if (returns.length) {
    sections.push(
      h(
        "section",
        { "aria-labelledby": "returns-h" },
        h("h2", { id: "returns-h" }, "Your returns"),
        h(
          "ul",
          { id: "returns" },
          returns.map((r) =>
            h(
              "li",
              { "data-return": r.id },
              "Return ",
              h("strong", {}, r.id),
              ": ",
              h("span", { class: "return-status" }, RETURN_STATUS[r.status] ?? r.status),
              " — ",
              r.lines.map((l) => `${l.quantity} × ${titles.get(l.line_id) ?? l.line_id} (${reasons.get(l.reason) ?? l.reason})`).join(", "),
            ),
          ),
        ),
      ),
    );
  }
  if (open.length) sections.push(returnForm(order, open));
  return sections;
}

function returnForm(order, open) {
  const rows = open.map(({ line, max }) => ({
    line,
    max,
    quantity: h("input", { type: "number", id: `return-qty-${line.id}`, min: "0", max: String(max), step: "1", value: "0", "aria-label": `Units of ${line.title} to return (at most ${max})` }),
    reason: h(
      "select",
      { id: `return-reason-${line.id}`, "aria-label": `Why you return ${line.title}` },
      h("option", { value: "" }, "Choose a reason"),
      RETURN_REASONS.map(([value, label]) => h("option", { value }, label)),
    ),
  }));
  const note = h("textarea", { id: "return-note", name: "note", rows: "2", maxlength: "500" });
  const submit = h("button", { type: "submit", id: "request-return" }, "Request a return");
  // One id per submission: a double submit shares it (one return), the next request does not.
  let attempt = crypto.randomUUID();
  const form = h(
    "form",
    {
      id: "return-form",
      "aria-labelledby": "return-form-h",
      onsubmit: async (e) => {
        e.preventDefault();
        const lines = [];
        for (const r of rows) {
          const quantity = Number(r.quantity.value || "0");
          if (!Number.isInteger(quantity) || quantity < 0 || quantity > r.max) {
            say(`You can return 0 to ${r.max} of ${r.line.title}.`, "error");
            return r.quantity.focus();
          }
          if (quantity === 0) continue;
          if (!r.reason.value) {
            say(`Choose why you return ${r.line.title}.`, "error");
            return r.reason.focus();
          }
          lines.push({ line_id: r.line.id, quantity, reason: r.reason.value });
        }
        if (lines.length === 0) return say("Choose how many units to send back.", "error");
        const body = { lines, attempt };
        if (note.value.trim()) body.note = note.value.trim();
        submit.disabled = true;
        let made;
        try {
          made = await api(`/api/orders/${encodeURIComponent(order.id)}/returns`, { method: "POST", body });
        } catch (err) {
          say(err.message, "error");
          attempt = crypto.randomUUID();
          submit.disabled = false;
          return;
        }
        const done = `Return ${made.id}: ${RETURN_STATUS[made.status] ?? made.status}.`;
        try {
          renderOrder(await api(`/api/orders/${encodeURIComponent(order.id)}`));
          say(done, "ok");
        } catch {
          say(`${done} Reload the page to see your order as it is now.`, "ok");
          submit.disabled = false;
          attempt = crypto.randomUUID();
        }
      },
    },
    h("h2", { id: "return-form-h" }, "Request a return"),
    h("p", {}, "Shipped items can go back for a while after delivery: choose how many and why."),
    h(
      "table",
      {},
      h("caption", { class: "visually-hidden" }, "Items you can return"),
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Product"), h("th", { scope: "col", class: "num" }, "Returnable"), h("th", { scope: "col" }, "Quantity"), h("th", { scope: "col" }, "Reason"))),
      h("tbody", {}, rows.map((r) => h("tr", { "data-line": r.line.id }, h("td", {}, r.line.title), h("td", { class: "num" }, String(r.max)), h("td", {}, r.quantity), h("td", {}, r.reason)))),
    ),
    h("div", { class: "row" }, labelled("return-note", "Note (optional)", note)),
    submit,
  );
  return form;
}

const pages = { catalog: catalogPage, cart: cartPage, order: orderPage };
const page = pages[document.body.dataset.page];
if (page) page().catch((e) => say(e.message, "error"));
