// Draft orders: staff build an order for a customer (phone, B2B, a replacement), priced like a
// cart, then place it as a checkout would: paid by bank transfer (manual) or by card through a
// Stripe payment link. A price set by hand needs `pricing:override` and a reason.
import { useState } from "preact/hooks";
import { html, t, word, money, when, query, navigate, useResource, useAction, usePages, Loading, Link, Field, Badge, Outcome, TotalRows, can } from "../lib.js";

const path = (id) => `/draft-orders/${encodeURIComponent(id)}`;

/** A line of a draft's form: SKU, quantity and, for staff who may, a price set by hand and why. */
function line(data, prefix, currency) {
  const sku = String(data.get(`${prefix}sku`) ?? "").trim();
  if (!sku) return null;
  const out = { sku, quantity: Number(data.get(`${prefix}quantity`) || 1) };
  const price = String(data.get(`${prefix}price`) ?? "").trim();
  if (price) {
    out.unit_price = { amount: price, currency };
    out.price_reason = String(data.get(`${prefix}reason`) ?? "").trim();
  }
  return out;
}

/** The inputs of one line; the price inputs only for staff allowed to set prices. */
function LineInputs({ prefix, override, sku = "", quantity = 1, price = "", reason = "" }) {
  return html`<div class="row">
    <${Field} label=${t("SKU")} name=${`${prefix}sku`} maxlength="64" defaultValue=${sku} />
    <${Field} label=${t("Quantity")} name=${`${prefix}quantity`} type="number" min="0" max="999" defaultValue=${quantity} />
    ${override
      ? html`<${Field} label=${t("Price set by hand")} name=${`${prefix}price`} inputmode="decimal" pattern="[0-9]+([.][0-9]{1,4})?" defaultValue=${price} />
          <${Field} label=${t("Reason for the price")} name=${`${prefix}reason`} maxlength="200" defaultValue=${reason} />`
      : null}
  </div>`;
}

export function DraftsList({ me, params }) {
  // Open drafts unless the staff member asks for completed ones or all of them.
  const status = params.get("status") ?? "open";
  const pages = usePages();
  const [state] = useResource(`/draft-orders${query({ status: status === "all" ? "" : status, cursor: pages.cursor, limit: 25 })}`);
  return html`
    <h1>${t("Draft orders")}</h1>
    <form class="filters row" role="search" onSubmit=${(e) => (e.preventDefault(), navigate(`/draft-orders${query(Object.fromEntries(new FormData(e.target)))}`))}>
      <${Field} label=${t("Status")} kind="select" name="status">
        <option value="all" selected=${status === "all"}>${t("Any")}</option>
        ${["open", "completed"].map((s) => html`<option value=${s} selected=${s === status}>${word(s)}</option>`)}
      <//>
      <button type="submit">${t("Search")}</button>
    </form>
    ${Loading({ state }) ??
    html`<table>
        <caption class="visually-hidden">${t("Draft orders")}</caption>
        <thead><tr><th>${t("Draft")}</th><th>${t("Created")}</th><th>${t("Email")}</th><th>${t("Channel")}</th><th>${t("Market")}</th><th class="num">${t("Lines")}</th><th>${t("Status")}</th><th>${t("Order")}</th></tr></thead>
        <tbody>
          ${state.data.data.map(
            (d) => html`<tr>
              <td><${Link} href=${path(d.id)}>${d.id}<//></td>
              <td>${when(d.created_at)}</td>
              <td>${d.email ?? ""}</td>
              <td>${d.channel}</td>
              <td>${d.market}</td>
              <td class="num">${d.line_count}</td>
              <td><${Badge} value=${d.status} /></td>
              <td>${d.order_id ? html`<${Link} href=${`/orders/${d.order_id}`}>${d.order_id}<//>` : ""}</td>
            </tr>`,
          )}
        </tbody>
      </table>
      ${state.data.data.length === 0 ? html`<p>${t("No draft order matches.")}</p>` : null} ${pages.pager(state.data.next_cursor)}`}
    ${can(me, "orders:write") ? html`<${NewDraft} me=${me} />` : null}
  `;
}

function NewDraft({ me }) {
  const act = useAction((draft) => navigate(path(draft.id)));
  const override = can(me, "pricing:override");
  const submit = (e) => {
    e.preventDefault();
    const data = new FormData(e.target);
    const text = (name) => String(data.get(name) ?? "").trim();
    const first = line(data, "", text("currency") || "EUR");
    const address = { first_name: text("first_name"), last_name: text("last_name"), line1: text("line1"), postal_code: text("postal_code"), city: text("city"), country: text("country").toUpperCase() };
    const body = { channel: text("channel"), market: text("market").toUpperCase(), email: text("email"), lines: first ? [first] : [], shipping_method: text("shipping_method"), shipping_address: address };
    act.run("POST", "/draft-orders", body, t("Draft order created."));
  };
  return html`<form class="action" onSubmit=${submit} aria-labelledby="new-draft-h">
    <h2 id="new-draft-h">${t("New draft order")}</h2>
    <div class="row">
      <${Field} label=${t("Channel")} name="channel" defaultValue="web" required maxlength="64" />
      <${Field} label=${t("Market")} name="market" defaultValue="FR" required size="6" />
      ${override ? html`<${Field} label=${t("Currency of prices set by hand")} name="currency" defaultValue="EUR" size="6" />` : null}
      <${Field} label=${t("Email")} name="email" type="email" required maxlength="254" />
      <${Field} label=${t("Shipping method")} name="shipping_method" defaultValue="standard" required maxlength="64" />
    </div>
    <fieldset>
      <legend>${t("Shipping address")}</legend>
      <div class="row">
        <${Field} label=${t("First name")} name="first_name" required maxlength="100" />
        <${Field} label=${t("Last name")} name="last_name" required maxlength="100" />
        <${Field} label=${t("Address")} name="line1" required maxlength="200" />
        <${Field} label=${t("Postal code")} name="postal_code" required maxlength="20" />
        <${Field} label=${t("City")} name="city" required maxlength="100" />
        <${Field} label=${t("Country")} name="country" defaultValue="FR" required size="4" />
      </div>
    </fieldset>
    <fieldset>
      <legend>${t("First line")}</legend>
      <${LineInputs} prefix="" override=${override} />
    </fieldset>
    <button type="submit" disabled=${act.busy}>${t("Create the draft")}</button>
    <${Outcome} result=${act.result} />
  </form>`;
}

export function DraftPage({ id, me }) {
  const [state, reload] = useResource(path(id));
  // Kept here: once placed, the draft is completed and its form is gone.
  const [secret, setSecret] = useState(null);
  const waiting = Loading({ state });
  if (waiting) return html`<h1>${t("Draft order")}</h1>${waiting}`;
  const draft = state.data;
  const open = draft.status === "open" && can(me, "orders:write");
  return html`
    <p><${Link} href="/draft-orders">← ${t("Draft orders")}<//></p>
    <h1>${t("Draft order")} ${draft.id}</h1>
    <p class="badges"><${Badge} value=${draft.status} />
      ${draft.order_id ? html` ${t("Placed as")} <${Link} href=${`/orders/${draft.order_id}`}>${draft.order_id}<//>` : null}</p>
    <dl class="facts">
      <dt>${t("Created")}</dt><dd>${when(draft.created_at)}</dd>
      <dt>${t("Channel")}</dt><dd>${draft.channel}</dd>
      <dt>${t("Market")}</dt><dd>${draft.market} (${draft.currency})</dd>
      <dt>${t("Email")}</dt><dd>${draft.email ?? ""}</dd>
      ${draft.shipping_method ? html`<dt>${t("Shipping")}</dt><dd>${draft.shipping_method.name}</dd>` : null}
      ${draft.shipping_address
        ? html`<dt>${t("Shipping address")}</dt><dd>${[draft.shipping_address.first_name, draft.shipping_address.last_name, draft.shipping_address.line1, draft.shipping_address.postal_code, draft.shipping_address.city, draft.shipping_address.country].join(" ")}</dd>`
        : null}
      ${draft.note ? html`<dt>${t("Note")}</dt><dd>${draft.note}</dd>` : null}
    </dl>
    <h2>${t("Lines")}</h2>
    <table>
      <thead><tr><th>${t("Item")}</th><th>SKU</th><th class="num">${t("Quantity")}</th><th class="num">${t("Unit price")}</th><th>${t("Reason for the price")}</th><th class="num">${t("Total")}</th></tr></thead>
      <tbody>
        ${draft.lines.map(
          (l) => html`<tr><td>${l.title}</td><td>${l.sku}</td><td class="num">${l.quantity}</td><td class="num">${money(l.unit_price)}</td><td>${l.price_reason ?? ""}</td><td class="num">${money(l.total)}</td></tr>`,
        )}
      </tbody>
    </table>
    <table class="totals">
      <tbody>
        <${TotalRows} totals=${draft.totals} taxInclusive=${draft.tax_inclusive} testid="draft-total" />
      </tbody>
    </table>
    ${draft.warnings.length ? html`<ul class="warnings">${draft.warnings.map((w) => html`<li role="note">${w.message}</li>`)}</ul>` : null}
    ${secret ? html`<p class="preview" role="note">${t("Send the customer a payment link with this client secret: {secret}", { secret })}</p>` : null}
    ${open
      ? html`<${EditDetails} key=${`d${draft.version}`} draft=${draft} changed=${reload} />
          <${EditLines} key=${draft.version} draft=${draft} me=${me} changed=${reload} />
          <${Complete} draft=${draft} placed=${setSecret} changed=${reload} />
          <${Discard} draft=${draft} />`
      : null}
  `;
}

/** The customer's email, the shipping method, discount codes and the note. */
function EditDetails({ draft, changed }) {
  const act = useAction(changed);
  const submit = (e) => {
    e.preventDefault();
    const data = new FormData(e.target);
    const text = (name) => String(data.get(name) ?? "").trim();
    const codes = text("discount_codes").split(/[\s,]+/).filter(Boolean);
    const body = { email: text("email"), shipping_method: text("shipping_method"), discount_codes: codes, note: text("note") || null };
    act.run("PATCH", path(draft.id), body, t("Draft order saved."), { "If-Match": `"${draft.version}"` });
  };
  return html`<form class="action" onSubmit=${submit} aria-labelledby="details-h">
    <h2 id="details-h">${t("Customer and delivery")}</h2>
    <div class="row">
      <${Field} label=${t("Email")} name="email" type="email" required maxlength="254" defaultValue=${draft.email ?? ""} />
      <${Field} label=${t("Shipping method")} name="shipping_method" required maxlength="64" defaultValue=${draft.shipping_method?.id ?? ""} />
      <${Field} label=${t("Discount codes")} name="discount_codes" maxlength="200" defaultValue=${draft.discount_codes.map((c) => c.code).join(" ")} />
      <${Field} label=${t("Note")} name="note" maxlength="500" defaultValue=${draft.note ?? ""} />
    </div>
    <button type="submit" disabled=${act.busy}>${t("Save")}</button>
    <${Outcome} result=${act.result} />
  </form>`;
}

/** Every line again (0 removes one) and one more: the draft's lines are replaced as a whole. */
function EditLines({ draft, me, changed }) {
  const act = useAction(changed);
  const override = can(me, "pricing:override");
  // Without the scope, a line priced by hand cannot be sent back as it is.
  const locked = !override && draft.lines.some((l) => l.price_reason);
  const submit = (e) => {
    e.preventDefault();
    const data = new FormData(e.target);
    const lines = [...draft.lines.map((_, i) => line(data, `l${i}-`, draft.currency)), line(data, "new-", draft.currency)].filter((l) => l && l.quantity > 0);
    // As shown: a colleague's change meanwhile is refused, never overwritten.
    act.run("PATCH", path(draft.id), { lines }, t("Draft order saved."), { "If-Match": `"${draft.version}"` });
  };
  if (locked) return html`<p class="hint">${t("Only staff allowed to set prices can change these lines.")}</p>`;
  return html`<form class="action" onSubmit=${submit} aria-labelledby="lines-h">
    <h2 id="lines-h">${t("Change the lines")}</h2>
    ${draft.lines.map(
      (l, i) => html`<fieldset><legend>${l.title}</legend>
        <${LineInputs} prefix=${`l${i}-`} override=${override} sku=${l.sku} quantity=${l.quantity} price=${l.price_reason ? l.unit_price.amount : ""} reason=${l.price_reason ?? ""} /></fieldset>`,
    )}
    <fieldset><legend>${t("Add a line")}</legend><${LineInputs} prefix="new-" override=${override} quantity="1" /></fieldset>
    <button type="submit" disabled=${act.busy}>${t("Save the lines")}</button>
    <${Outcome} result=${act.result} />
  </form>`;
}

/** Places the order as a checkout would; a card payment answers the client secret of its payment link. */
function Complete({ draft, placed, changed }) {
  const act = useAction((answer) => {
    placed(answer?.payment?.client_secret ?? null);
    changed();
  });
  const submit = (e) => {
    e.preventDefault();
    const provider = new FormData(e.target).get("provider");
    act.run("POST", `${path(draft.id)}/complete`, { payment_provider: provider }, t("Order placed."));
  };
  return html`<form class="action" onSubmit=${submit} aria-labelledby="complete-h">
    <h2 id="complete-h">${t("Place the order")}</h2>
    <fieldset class="row">
      <legend>${t("Payment")}</legend>
      <label><input type="radio" name="provider" value="manual" checked /> ${t("Bank transfer or on account (mark paid later)")}</label>
      <label><input type="radio" name="provider" value="stripe" /> ${t("Card, through a Stripe payment link")}</label>
    </fieldset>
    <button type="submit" disabled=${act.busy}>${t("Place the order")}</button>
    <${Outcome} result=${act.result} />
  </form>`;
}

/** Deletes an open draft (a completed one stays with its order). */
function Discard({ draft }) {
  const act = useAction(() => navigate("/draft-orders"));
  return html`<div class="action">
    <h2>${t("Discard the draft")}</h2>
    <button type="button" class="danger" disabled=${act.busy} onClick=${() => act.run("DELETE", path(draft.id), undefined, t("Draft order discarded."))}>${t("Discard")}</button>
    <${Outcome} result=${act.result} />
  </div>`;
}
