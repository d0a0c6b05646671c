// Orders: the list (filters, search by number or email, cursor pages) and one order (lines,
// totals, balance, allocations, refunds, returns, timeline, and the actions its state allows).
import { useState } from "preact/hooks";
import { html, t, word, money, when, query, navigate, useResource, useAction, usePages, Loading, Link, Field, Badge, Outcome, TotalRows, can } from "../lib.js";
import { OrderReturns } from "./returns.js";

const STATUSES = ["pending_payment", "confirmed", "fulfilled", "canceled", "refunded"];
const PAYMENTS = ["pending", "paid", "partially_refunded", "refunded", "voided"];
const FULFILMENTS = ["unfulfilled", "partially_fulfilled", "fulfilled"];
const SOURCES = ["storefront", "import", "draft"];
const FILTERS = ["q", "status", "payment_status", "fulfillment_status", "market", "channel", "source", "created_after", "created_before"];

const options = (values, current) => html`<option value="">${t("Any")}</option>
  ${values.map((v) => html`<option value=${v} selected=${v === current}>${word(v)}</option>`)}`;

export function OrdersList({ params }) {
  const filters = Object.fromEntries(FILTERS.map((k) => [k, params.get(k) ?? ""]));
  const pages = usePages();
  const [state] = useResource(`/orders${query({ ...filters, cursor: pages.cursor, limit: 25 })}`);
  const submit = (e) => {
    e.preventDefault();
    const form = Object.fromEntries(new FormData(e.target));
    navigate(`/orders${query(form)}`);
  };
  return html`
    <h1>${t("Orders")}</h1>
    <form class="filters row" role="search" onSubmit=${submit}>
      <${Field} label=${t("Number or email")} name="q" type="search" defaultValue=${filters.q} />
      <${Field} label=${t("Status")} kind="select" name="status">${options(STATUSES, filters.status)}<//>
      <${Field} label=${t("Payment")} kind="select" name="payment_status">${options(PAYMENTS, filters.payment_status)}<//>
      <${Field} label=${t("Fulfilment")} kind="select" name="fulfillment_status">${options(FULFILMENTS, filters.fulfillment_status)}<//>
      <${Field} label=${t("Market")} name="market" defaultValue=${filters.market} size="6" />
      <${Field} label=${t("Channel")} name="channel" defaultValue=${filters.channel} size="10" />
      <${Field} label=${t("Source")} kind="select" name="source">${options(SOURCES, filters.source)}<//>
      <${Field} label=${t("From")} name="created_after" type="date" defaultValue=${filters.created_after} />
      <${Field} label=${t("Before")} name="created_before" type="date" defaultValue=${filters.created_before} />
      <button type="submit">${t("Search")}</button>
    </form>
    ${Loading({ state }) ??
    html`<table>
        <caption class="visually-hidden">${t("Orders")}</caption>
        <thead><tr><th>${t("Order")}</th><th>${t("Placed")}</th><th>${t("Email")}</th><th>${t("Status")}</th><th>${t("Payment")}</th><th>${t("Fulfilment")}</th><th>${t("Market")}</th><th>${t("Channel")}</th><th class="num">${t("Total")}</th></tr></thead>
        <tbody>
          ${state.data.data.map(
            (o) => html`<tr>
              <td><${Link} href=${`/orders/${o.id}`}>${o.number}<//></td>
              <td>${when(o.created_at)}</td>
              <td>${o.email}</td>
              <td><${Badge} value=${o.status} /></td>
              <td><${Badge} value=${o.payment_status} /></td>
              <td><${Badge} value=${o.fulfillment_status} /></td>
              <td>${o.market}</td>
              <td>${o.channel}${o.source !== "storefront" ? html` <${Badge} value=${o.source} />` : null}</td>
              <td class="num">${money(o.totals.total)}</td>
            </tr>`,
          )}
        </tbody>
      </table>
      ${state.data.data.length === 0 ? html`<p>${t("No order matches.")}</p>` : null} ${pages.pager(state.data.next_cursor)}`}
  `;
}

/** Units of a line allocated and not yet shipped (at `location`, or anywhere): what can ship. */
const open = (l, location) =>
  (l.allocations ?? []).filter((a) => !location || a.location === location).reduce((n, a) => n + a.quantity - a.fulfilled_quantity, 0);

/** Money as an exact integer of minor units (the API writes every amount of a currency alike). */
const minor = (m) => BigInt(m.amount.replace(".", ""));

export function OrderPage({ id, me }) {
  const [state, reload] = useResource(`/orders/${encodeURIComponent(id)}`);
  const [timeline, reloadTimeline] = useResource(`/orders/${encodeURIComponent(id)}/timeline`);
  const changed = () => {
    reload();
    reloadTimeline();
  };
  const waiting = Loading({ state });
  if (waiting) return html`<h1>${t("Order")}</h1>${waiting}`;
  const order = state.data;
  return html`
    <p><${Link} href="/orders">← ${t("Orders")}<//></p>
    <h1>${t("Order")} ${order.number}</h1>
    <p class="badges">
      <${Badge} value=${order.status} /> <${Badge} value=${order.payment_status} /> <${Badge} value=${order.fulfillment_status} />
      ${order.kind === "exchange" ? html` ${t("Exchange of")} <${Link} href=${`/orders/${order.exchange_of}`}>${order.exchange_of}<//>` : null}
    </p>
    <dl class="facts">
      <dt>${t("Placed")}</dt><dd>${when(order.created_at)}</dd>
      <dt>${t("Email")}</dt><dd>${order.email}</dd>
      <dt>${t("Market")}</dt><dd>${order.market} (${order.currency})</dd>
      <dt>${t("Channel")}</dt><dd>${order.channel} · ${word(order.source)}${order.external_id ? ` · ${order.external_id}` : ""}</dd>
      <dt>${t("Payment")}</dt><dd>${word(order.payment_provider)}</dd>
      ${order.shipping_method ? html`<dt>${t("Shipping")}</dt><dd>${order.shipping_method.name ?? order.shipping_method.id}</dd>` : null}
      ${order.cancel_reason ? html`<dt>${t("Cancel reason")}</dt><dd>${word(order.cancel_reason)}</dd>` : null}
    </dl>
    <h2>${t("Lines")}</h2>
    <table>
      <thead><tr><th>${t("Item")}</th><th>SKU</th><th class="num">${t("Quantity")}</th><th class="num">${t("Unit price")}</th><th class="num">${t("Total")}</th><th class="num">${t("Shipped")}</th><th class="num">${t("Returned")}</th><th class="num">${t("Refunded")}</th><th>${t("Allocations")}</th></tr></thead>
      <tbody>
        ${order.lines.map(
          (l) => html`<tr>
            <td>${l.title}${l.price_reason ? html`<br /><small>${t("Price set by hand: {reason}", { reason: l.price_reason })}</small>` : null}</td><td>${l.sku}</td><td class="num">${l.quantity}</td><td class="num">${money(l.unit_price)}</td><td class="num">${money(l.total)}</td>
            <td class="num">${l.fulfilled_quantity}</td><td class="num">${l.returned_quantity}</td><td class="num">${l.refunded_quantity}</td>
            <td>${(l.allocations ?? [])
              .filter((a) => a.quantity > 0)
              .map((a) => t("{location}: {quantity} ({shipped} shipped)", { location: a.location, quantity: a.quantity, shipped: a.fulfilled_quantity }))
              .join(", ")}</td>
          </tr>`,
        )}
      </tbody>
    </table>
    <table class="totals">
      <tbody>
        <${TotalRows} totals=${order.totals} taxInclusive=${order.tax_inclusive} />
        <tr><td>${t("Paid")}</td><td class="num">${money(order.paid)}</td></tr>
        <tr><td>${t("Refunded")}</td><td class="num">${money(order.refunded)}</td></tr>
        <tr class="grand"><td>${t("Balance")}</td><td class="num" data-testid="balance">${money(order.balance)}</td></tr>
      </tbody>
    </table>
    <${Actions} key=${order.updated_at} order=${order} me=${me} changed=${changed} />
    <${Refunds} order=${order} me=${me} changed=${changed} />
    <${OrderReturns} order=${order} me=${me} changed=${changed} />
    <section aria-labelledby="timeline-h">
      <h2 id="timeline-h">${t("Timeline")}</h2>
      ${Loading({ state: timeline }) ??
      html`<ol class="timeline">
        ${timeline.data.data.map(
          (e) => html`<li><time datetime=${e.at}>${when(e.at)}</time> <span class=${`kind k-${e.kind}`}>${word(e.kind)}</span> ${e.summary}${e.actor ? html` <span class="actor">· ${e.actor}</span>` : null}</li>`,
        )}
      </ol>`}
    </section>
  `;
}

/** The actions the order's state allows and the staff member's role grants; nothing else is offered. */
function Actions({ order, me, changed }) {
  const write = can(me, "orders:write");
  const unshipped = order.lines.every((l) => l.fulfilled_quantity === 0);
  const balanceDue = minor(order.balance) > 0n;
  const paid = minor(order.paid) > 0n;
  // Lines are refunded from a paid, settled order; an amount from any paid one not awaiting payment.
  const refundLines = paid && ["confirmed", "fulfilled"].includes(order.status) && !balanceDue && order.lines.some((l) => l.quantity > l.refunded_quantity);
  const refundAmount = paid && order.status !== "pending_payment" && minor(order.paid) > minor(order.refunded);
  const offers = {
    markPaid: write && order.status !== "canceled" && balanceDue,
    fulfil: write && order.status === "confirmed" && order.lines.some((l) => open(l) > 0),
    cancel: write && ["pending_payment", "confirmed"].includes(order.status) && unshipped,
    edit:
      write &&
      ["pending_payment", "confirmed"].includes(order.status) &&
      !(order.status === "pending_payment" && order.payment_provider === "stripe") &&
      order.refunds.length === 0,
    refund: can(me, "refunds:write") && (refundLines || refundAmount),
  };
  if (!Object.values(offers).some(Boolean)) return null;
  return html`<section class="actions" aria-labelledby="actions-h">
    <h2 id="actions-h">${t("Actions")}</h2>
    ${offers.markPaid ? html`<${MarkPaid} order=${order} changed=${changed} />` : null}
    ${offers.fulfil ? html`<${Fulfil} order=${order} changed=${changed} />` : null}
    ${offers.refund ? html`<${Refund} order=${order} changed=${changed} modes=${[refundLines && "lines", refundAmount && "amount"].filter(Boolean)} />` : null}
    ${offers.edit ? html`<${Edit} order=${order} changed=${changed} />` : null}
    ${offers.cancel ? html`<${Cancel} order=${order} changed=${changed} />` : null}
  </section>`;
}

const path = (order, action) => `/orders/${encodeURIComponent(order.id)}/${action}`;

function MarkPaid({ order, changed }) {
  const act = useAction(changed);
  return html`<div class="action">
    <h3>${t("Payment received")}</h3>
    <p>${t("Record that the balance of {amount} was paid outside the store (bank transfer, cash).", { amount: money(order.balance) })}</p>
    <button type="button" disabled=${act.busy} onClick=${() => act.run("POST", path(order, "mark-paid"), {}, t("Marked paid."))}>${t("Mark paid")}</button>
    <${Outcome} result=${act.result} />
  </div>`;
}

/** Per-line quantity inputs: `max` per line, named by line id. */
function LineQuantities({ lines, max, label, initial = () => 0 }) {
  return html`<table class="quantities">
    <thead><tr><th>${t("Item")}</th><th class="num">${label}</th></tr></thead>
    <tbody>
      ${lines.map((l) => {
        const id = `q-${label}-${l.id}`.replace(/[^A-Za-z0-9_-]/g, "-");
        return html`<tr><td><label for=${id}>${l.title} (${l.sku})</label></td>
          <td class="num"><input id=${id} name=${l.id} type="number" min="0" max=${max(l)} defaultValue=${initial(l)} /></td></tr>`;
      })}
    </tbody>
  </table>`;
}

/** The lines of a form's quantity inputs with a quantity of one or more. */
function chosen(form, lines) {
  const data = new FormData(form);
  return lines.map((l) => ({ line_id: l.id, quantity: Number(data.get(l.id) || 0) })).filter((x) => x.quantity > 0);
}

function Fulfil({ order, changed }) {
  const act = useAction(changed);
  const [from, setFrom] = useState("");
  const locations = [...new Set(order.lines.flatMap((l) => (l.allocations ?? []).filter((a) => a.quantity > a.fulfilled_quantity).map((a) => a.location)))];
  const lines = order.lines.filter((l) => open(l, from) > 0);
  const left = (l) => open(l, from);
  const submit = (e) => {
    e.preventDefault();
    const data = new FormData(e.target);
    const picked = chosen(e.target, lines);
    if (!picked.length) return act.setResult({ ok: false, error: { code: "validation_failed", message: t("Choose at least one unit to ship.") } });
    const tracking = { carrier: data.get("carrier") || null, number: data.get("number") || null, url: data.get("url") || null };
    const body = { lines: picked, tracking: tracking.carrier || tracking.number || tracking.url ? tracking : null };
    if (data.get("location")) body.location = data.get("location");
    act.run("POST", path(order, "fulfillments"), body, t("Shipment recorded."));
  };
  return html`<form class="action" onSubmit=${submit} aria-labelledby="fulfil-h">
    <h3 id="fulfil-h">${t("Fulfil")}</h3>
    ${locations.length > 1
      ? html`<div class="row"><${Field} label=${t("Ship from")} kind="select" name="location" value=${from} onChange=${(e) => setFrom(e.target.value)}>
          <option value="">${t("Where allocated")}</option>
          ${locations.map((l) => html`<option value=${l}>${l}</option>`)}
        <//></div>`
      : null}
    <${LineQuantities} key=${from} lines=${lines} max=${left} label=${t("Units to ship")} initial=${left} />
    <div class="row">
      <${Field} label=${t("Carrier")} name="carrier" maxlength="500" />
      <${Field} label=${t("Tracking number")} name="number" maxlength="500" />
      <${Field} label=${t("Tracking URL")} name="url" type="url" maxlength="500" />
    </div>
    <button type="submit" disabled=${act.busy}>${t("Record shipment")}</button>
    <${Outcome} result=${act.result} />
  </form>`;
}

function Cancel({ order, changed }) {
  const act = useAction(changed);
  const submit = (e) => {
    e.preventDefault();
    const reason = new FormData(e.target).get("reason") || null;
    act.run("POST", path(order, "cancel"), { reason }, t("Order canceled."));
  };
  return html`<form class="action" onSubmit=${submit}>
    <h3>${t("Cancel the order")}</h3>
    <p>${t("Releases its stock; what was paid is refunded.")}</p>
    <div class="row"><${Field} label=${t("Reason")} name="reason" maxlength="500" /></div>
    <button type="submit" class="danger" disabled=${act.busy}>${t("Cancel order")}</button>
    <${Outcome} result=${act.result} />
  </form>`;
}

function Refund({ order, changed, modes }) {
  const act = useAction(changed);
  const [mode, setMode] = useState(modes[0]);
  const lines = order.lines.filter((l) => l.quantity > l.refunded_quantity);
  const submit = (e) => {
    e.preventDefault();
    const data = new FormData(e.target);
    const reason = data.get("reason") || null;
    let body;
    if (mode === "amount") body = { amount: { amount: String(data.get("amount") ?? "").trim(), currency: order.currency }, reason };
    else body = { lines: chosen(e.target, lines), include_shipping: data.get("include_shipping") === "on", reason };
    act.run("POST", path(order, "refunds"), body, t("Refund recorded."));
  };
  return html`<form class="action" onSubmit=${submit} aria-labelledby="refund-h">
    <h3 id="refund-h">${t("Refund")}</h3>
    ${modes.length > 1
      ? html`<fieldset class="row">
          <legend>${t("What to refund")}</legend>
          <label><input type="radio" name="mode" checked=${mode === "lines"} onChange=${() => setMode("lines")} /> ${t("Lines")}</label>
          <label><input type="radio" name="mode" checked=${mode === "amount"} onChange=${() => setMode("amount")} /> ${t("An amount (goodwill)")}</label>
        </fieldset>`
      : null}
    ${mode === "lines"
      ? html`<${LineQuantities} lines=${lines} max=${(l) => l.quantity - l.refunded_quantity} label=${t("Units to refund")} />
          <label><input type="checkbox" name="include_shipping" /> ${t("Refund shipping too")}</label>`
      : html`<div class="row"><${Field} label=${t("Amount ({currency})", { currency: order.currency })} name="amount" inputmode="decimal" pattern="[0-9]+([.][0-9]{1,4})?" required /></div>`}
    <div class="row"><${Field} label=${t("Reason")} name="reason" maxlength="500" /></div>
    <button type="submit" disabled=${act.busy}>${t("Refund")}</button>
    <${Outcome} result=${act.result} />
  </form>`;
}

/** Edit the lines (quantity, remove, add a SKU): preview the new totals first, then apply. */
function Edit({ order, changed }) {
  const act = useAction();
  const [preview, setPreview] = useState(null);
  // A line that has shipped can no longer change; lines can still be added.
  const editable = order.lines.filter((l) => l.fulfilled_quantity === 0);
  const changes = (form) => {
    const data = new FormData(form);
    const list = [];
    for (const l of editable) {
      const raw = String(data.get(l.id) ?? "").trim();
      if (raw === "") continue; // left empty: unchanged
      const q = Number(raw);
      if (q === 0) list.push({ op: "remove", line_id: l.id });
      else if (q !== l.quantity) list.push({ op: "set_quantity", line_id: l.id, quantity: q });
    }
    const sku = String(data.get("sku") ?? "").trim();
    if (sku) list.push({ op: "add", sku, quantity: Number(data.get("add_quantity") || 1) });
    return { changes: list, note: data.get("note") || null };
  };
  // "Apply" sends exactly the changes previewed; any change to the form drops the preview.
  const send = async (body, dryRun) => {
    if (!body.changes.length) return act.setResult({ ok: false, error: { code: "validation_failed", message: t("Change a quantity or add an item first.") } });
    const r = await act.run("POST", path(order, "edits"), { ...body, dry_run: dryRun }, dryRun ? t("Preview below: nothing changed yet.") : t("Order edited."));
    if (r.ok && dryRun) setPreview({ body, order: r.data });
    if (r.ok && !dryRun) {
      setPreview(null);
      changed();
    }
  };
  const submit = (e) => {
    e.preventDefault();
    if (e.submitter?.value === "apply" && preview) send(preview.body, false);
    else send(changes(e.target), true);
  };
  const after = preview?.order;
  return html`<form class="action" onSubmit=${submit} onInput=${() => setPreview(null)} aria-labelledby="edit-h">
    <h3 id="edit-h">${t("Edit the order")}</h3>
    ${editable.length ? html`<${LineQuantities} lines=${editable} max=${() => 999} label=${t("New quantity (0 removes)")} initial=${(l) => l.quantity} />` : null}
    <div class="row">
      <${Field} label=${t("Add SKU")} name="sku" maxlength="64" />
      <${Field} label=${t("Quantity")} name="add_quantity" type="number" min="1" max="999" defaultValue="1" />
      <${Field} label=${t("Note")} name="note" maxlength="1000" />
    </div>
    <button type="submit" class="secondary" value="preview" disabled=${act.busy}>${t("Preview")}</button>
    ${preview ? html` <button type="submit" value="apply" disabled=${act.busy}>${t("Apply the edit")}</button>` : null}
    <${Outcome} result=${act.result} />
    ${after?.totals
      ? html`<p class="preview">${t("New total {total}, balance {balance}.", { total: money(after.totals.total), balance: money(after.balance) })}</p>`
      : null}
  </form>`;
}

function Refunds({ order, me, changed }) {
  const act = useAction(changed);
  if (!order.refunds.length) return null;
  return html`<section aria-labelledby="refunds-h">
    <h2 id="refunds-h">${t("Refunds")}</h2>
    <table>
      <thead><tr><th>${t("Reference")}</th><th>${t("When")}</th><th>${t("Status")}</th><th class="num">${t("Amount")}</th><th>${t("Reason")}</th><th></th></tr></thead>
      <tbody>
        ${order.refunds.map(
          (r) => html`<tr>
            <td>${r.id}</td><td>${when(r.created_at)}</td><td><${Badge} value=${r.status} />${r.failure_reason ? ` ${r.failure_reason}` : ""}</td>
            <td class="num">${money(r.amount)}</td><td>${r.reason ?? ""}</td>
            <td>${r.status === "failed" && can(me, "refunds:write")
              ? html`<button type="button" disabled=${act.busy} onClick=${() => act.run("POST", `${path(order, "refunds")}/${encodeURIComponent(r.id)}/retry`, {}, t("Refund sent again."))}
                  aria-label=${t("Retry {id}", { id: r.id })}>${t("Retry")}</button>`
              : null}</td>
          </tr>`,
        )}
      </tbody>
    </table>
    <${Outcome} result=${act.result} />
  </section>`;
}
