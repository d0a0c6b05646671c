// Returns: the queue (returns by status, newest first) and, on an order's page, its
// returns with what each allows: approve or reject a request, receive (restock, refund) or
// exchange an approved one, cancel either; and opening a return for the customer.
import { useState } from "preact/hooks";
import { html, t, word, when, query, useResource, useAction, usePages, Loading, Link, Field, Badge, Outcome, can } from "../lib.js";

const REASONS = ["damaged", "wrong_item", "not_as_described", "changed_mind", "other"];
const STATUSES = ["requested", "approved", "received", "rejected", "canceled"];

export function ReturnsQueue({ params }) {
  const status = params.get("status") ?? "requested";
  const pages = usePages();
  const [state] = useResource(`/returns${query({ status, cursor: pages.cursor, limit: 25 })}`);
  return html`
    <h1>${t("Returns")}</h1>
    <nav class="tabs" aria-label=${t("Return status")}>
      ${STATUSES.map((s) => html`<${Link} href=${`/returns?status=${s}`} aria-current=${s === status ? "page" : undefined}>${word(s)}<//> `)}
    </nav>
    ${Loading({ state }) ??
    html`<table>
        <thead><tr><th>${t("Return")}</th><th>${t("Order")}</th><th>${t("Opened")}</th><th>${t("By")}</th><th>${t("Status")}</th><th class="num">${t("Units")}</th><th>${t("Reasons")}</th></tr></thead>
        <tbody>
          ${state.data.data.map(
            (r) => html`<tr>
              <td>${r.id}</td>
              <td><${Link} href=${`/orders/${r.order_id}`}>${r.order_id}<//></td>
              <td>${when(r.created_at)}</td><td>${word(r.opened_by)}</td><td><${Badge} value=${r.status} /></td>
              <td class="num">${r.lines.reduce((n, l) => n + l.quantity, 0)}</td>
              <td>${[...new Set(r.lines.map((l) => word(l.reason)))].join(", ")}</td>
            </tr>`,
          )}
        </tbody>
      </table>
      ${state.data.data.length === 0 ? html`<p>${t("No return in this state.")}</p>` : null} ${pages.pager(state.data.next_cursor)}`}
  `;
}

/** Units of a line that could still be asked back: shipped, less returned or in open returns. */
function returnable(order, line) {
  const asked = order.returns
    .filter((r) => r.status === "requested" || r.status === "approved")
    .flatMap((r) => r.lines)
    .filter((l) => l.line_id === line.id)
    .reduce((n, l) => n + l.quantity - l.received_quantity, 0);
  return line.fulfilled_quantity - line.returned_quantity - asked;
}

export function OrderReturns({ order, me, changed }) {
  const write = can(me, "returns:write");
  const lines = order.lines.filter((l) => returnable(order, l) > 0);
  if (!order.returns.length && !(write && lines.length)) return null;
  return html`<section aria-labelledby="returns-h">
    <h2 id="returns-h">${t("Returns")}</h2>
    ${order.returns.map((r) => html`<${ReturnCard} key=${r.id} ret=${r} order=${order} write=${write} changed=${changed} />`)}
    ${write && lines.length ? html`<${OpenReturn} order=${order} lines=${lines} changed=${changed} />` : null}
  </section>`;
}

const titleOf = (order, lineId) => order.lines.find((l) => l.id === lineId)?.title ?? lineId;

function ReturnCard({ ret, order, write, changed }) {
  const act = useAction(changed);
  const [rejecting, setRejecting] = useState(false);
  const base = `/returns/${encodeURIComponent(ret.id)}`;
  const open = ret.lines.filter((l) => l.quantity > l.received_quantity);
  const received = ret.lines.some((l) => l.received_quantity > 0);
  const receive = (e) => {
    e.preventDefault();
    const data = new FormData(e.target);
    const lines = open
      .map((l) => ({ line_id: l.line_id, quantity: Number(data.get(`r-${l.line_id}`) || 0), restock: data.get(`s-${l.line_id}`) === "on" }))
      .filter((l) => l.quantity > 0);
    act.run("POST", `${base}/receive`, { lines, refund: data.get("refund") === "on" }, t("Return received."));
  };
  const reject = (e) => {
    e.preventDefault();
    act.run("POST", `${base}/reject`, { reason: new FormData(e.target).get("reason") }, t("Return rejected."));
  };
  return html`<article class="return" aria-label=${t("Return {id}", { id: ret.id })}>
    <h3>${t("Return {id}", { id: ret.id })} <${Badge} value=${ret.status} /></h3>
    <p>${t("Opened {when} by {by}.", { when: when(ret.created_at), by: word(ret.opened_by) })} ${ret.note ?? ""} ${ret.reject_reason ? `${t("Rejected")}: ${ret.reject_reason}` : ""}</p>
    <ul>
      ${ret.lines.map((l) => html`<li>${titleOf(order, l.line_id)} × ${l.quantity} · ${word(l.reason)} · ${t("{n} received", { n: l.received_quantity })}</li>`)}
    </ul>
    ${ret.exchange_order_id ? html`<p>${t("Replacement order")} <${Link} href=${`/orders/${ret.exchange_order_id}`}>${ret.exchange_order_id}<//></p>` : null}
    ${write && ret.status === "requested"
      ? html`<div class="row">
          <button type="button" disabled=${act.busy} onClick=${() => act.run("POST", `${base}/approve`, {}, t("Return approved."))}>${t("Approve")}</button>
          <button type="button" class="secondary" onClick=${() => setRejecting(!rejecting)} aria-expanded=${rejecting}>${t("Reject…")}</button>
        </div>
        ${rejecting
          ? html`<form class="row" onSubmit=${reject}><${Field} label=${t("Why it is rejected")} name="reason" required maxlength="500" /><button type="submit" disabled=${act.busy}>${t("Reject")}</button></form>`
          : null}`
      : null}
    ${write && ret.status === "approved"
      ? html`<form onSubmit=${receive} aria-label=${t("Receive")}>
          <table class="quantities">
            <thead><tr><th>${t("Item")}</th><th class="num">${t("Units received")}</th><th>${t("Back to stock")}</th></tr></thead>
            <tbody>
              ${open.map(
                (l) => html`<tr>
                  <td><label for=${`r-${ret.id}-${l.line_id}`}>${titleOf(order, l.line_id)}</label></td>
                  <td class="num"><input id=${`r-${ret.id}-${l.line_id}`} name=${`r-${l.line_id}`} type="number" min="0" max=${l.quantity - l.received_quantity} defaultValue=${l.quantity - l.received_quantity} /></td>
                  <td><input type="checkbox" name=${`s-${l.line_id}`} defaultChecked aria-label=${t("Restock {item}", { item: titleOf(order, l.line_id) })} /></td>
                </tr>`,
              )}
            </tbody>
          </table>
          ${ret.exchange_order_id
            ? html`<p>${t("Their value goes to the replacement order.")}</p>`
            : html`<label><input type="checkbox" name="refund" defaultChecked /> ${t("Refund the received units")}</label>`}
          <div class="row"><button type="submit" disabled=${act.busy}>${t("Receive")}</button></div>
        </form>`
      : null}
    ${write && ret.status === "approved" && !ret.exchange_order_id && ret.refund_ids.length === 0 ? html`<${Exchange} ret=${ret} act=${act} />` : null}
    ${write && (ret.status === "requested" || (ret.status === "approved" && !received && !ret.exchange_order_id))
      ? html`<p><button type="button" class="secondary" disabled=${act.busy} onClick=${() => act.run("POST", `${base}/cancel`, {}, t("Return canceled."))}>${t("Cancel the return")}</button></p>`
      : null}
    <${Outcome} result=${act.result} />
  </article>`;
}

function Exchange({ ret, act }) {
  const submit = (e) => {
    e.preventDefault();
    const data = new FormData(e.target);
    act.run("POST", `/returns/${encodeURIComponent(ret.id)}/exchange`, { lines: [{ sku: String(data.get("sku")).trim(), quantity: Number(data.get("quantity")) }] }, t("Replacement order created."));
  };
  return html`<form class="row" onSubmit=${submit} aria-label=${t("Exchange")}>
    <${Field} label=${t("Replacement SKU")} name="sku" required maxlength="64" />
    <${Field} label=${t("Quantity")} name="quantity" type="number" min="1" max="999" defaultValue="1" />
    <button type="submit" class="secondary" disabled=${act.busy}>${t("Exchange")}</button>
  </form>`;
}

function OpenReturn({ order, lines, changed }) {
  const act = useAction(changed);
  const submit = (e) => {
    e.preventDefault();
    const data = new FormData(e.target);
    const picked = lines
      .map((l) => ({ line_id: l.id, quantity: Number(data.get(`o-${l.id}`) || 0), reason: data.get(`why-${l.id}`) }))
      .filter((l) => l.quantity > 0);
    if (!picked.length) return act.setResult({ ok: false, error: { code: "validation_failed", message: t("Choose at least one unit to return.") } });
    act.run("POST", "/returns", { order_id: order.id, lines: picked, note: data.get("note") || null }, t("Return opened."));
  };
  return html`<form class="action" onSubmit=${submit} aria-labelledby="open-return-h">
    <h3 id="open-return-h">${t("Open a return")}</h3>
    <table class="quantities">
      <thead><tr><th>${t("Item")}</th><th class="num">${t("Units to return")}</th><th>${t("Reason")}</th></tr></thead>
      <tbody>
        ${lines.map(
          (l) => html`<tr>
            <td><label for=${`o-${l.id}`}>${l.title} (${l.sku})</label></td>
            <td class="num"><input id=${`o-${l.id}`} name=${`o-${l.id}`} type="number" min="0" max=${returnable(order, l)} defaultValue="0" /></td>
            <td><select name=${`why-${l.id}`} aria-label=${t("Reason for {item}", { item: l.title })}>${REASONS.map((r) => html`<option value=${r}>${word(r)}</option>`)}</select></td>
          </tr>`,
        )}
      </tbody>
    </table>
    <div class="row"><${Field} label=${t("Note")} name="note" maxlength="1000" /></div>
    <button type="submit" disabled=${act.busy}>${t("Open the return")}</button>
    <${Outcome} result=${act.result} />
  </form>`;
}
