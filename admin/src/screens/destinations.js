// Destinations (back-office systems that receive signed events): their health, their deliveries
// (dead ones first to look at), replay one or every dead one, switch on again, rotate the secret.
import { useState } from "preact/hooks";
import { html, t, word, when, query, useResource, useAction, usePages, Loading, Link, Badge, Outcome, can } from "../lib.js";

export function Destinations() {
  const pages = usePages();
  const [state] = useResource(`/destinations${query({ cursor: pages.cursor, limit: 50 })}`);
  return html`
    <h1>${t("Destinations")}</h1>
    ${Loading({ state }) ??
    html`<table>
        <thead><tr><th>${t("Destination")}</th><th>URL</th><th>${t("Events")}</th><th>${t("State")}</th></tr></thead>
        <tbody>
          ${state.data.data.map(
            (d) => html`<tr>
              <td><${Link} href=${`/destinations/${encodeURIComponent(d.id)}`}>${d.id}<//></td><td>${d.url}</td><td>${d.events.join(", ")}</td>
              <td>${d.enabled ? t("Enabled") : `${t("Disabled")}${d.disabled_reason ? ` (${word(d.disabled_reason)})` : ""}`}</td>
            </tr>`,
          )}
        </tbody>
      </table>
      ${state.data.data.length === 0 ? html`<p>${t("No destination yet.")}</p>` : null} ${pages.pager(state.data.next_cursor)}`}
  `;
}

const DELIVERY_STATUSES = ["dead", "pending", "delivered"];

export function DestinationPage({ id, me, params }) {
  const status = params.get("status") ?? "dead";
  const [state, reload] = useResource(`/destinations/${encodeURIComponent(id)}`);
  const pages = usePages();
  const [deliveries, reloadDeliveries] = useResource(`/deliveries${query({ destination_id: id, status, cursor: pages.cursor, limit: 25 })}`);
  const changed = () => {
    reload();
    reloadDeliveries();
  };
  const act = useAction(changed);
  const [secret, setSecret] = useState(null);
  const waiting = Loading({ state });
  if (waiting) return html`<h1>${t("Destination")}</h1>${waiting}`;
  const d = state.data;
  const write = can(me, "destinations:write");
  const base = `/destinations/${encodeURIComponent(d.id)}`;
  const rotate = async () => {
    if (!confirm(t("Rotate the signing secret? The receiver must switch to the new one."))) return;
    const r = await act.run("POST", `${base}/rotate-secret`, {}, t("New secret issued."));
    if (r.ok) setSecret(r.data.secret);
  };
  const enable = () => act.run("PUT", base, { url: d.url, events: d.events, filter: d.filter, enabled: true }, t("Switched on."));
  return html`
    <p><${Link} href="/destinations">← ${t("Destinations")}<//></p>
    <h1>${t("Destination")} ${d.id}</h1>
    <dl class="facts">
      <dt>URL</dt><dd>${d.url}</dd>
      <dt>${t("Events")}</dt><dd>${d.events.join(", ")}</dd>
      <dt>${t("State")}</dt><dd>${d.enabled ? t("Enabled") : `${t("Disabled")}${d.disabled_reason ? ` (${word(d.disabled_reason)})` : ""}`}</dd>
      ${d.filter?.locations ? html`<dt>${t("Locations")}</dt><dd>${d.filter.locations.join(", ")}</dd>` : null}
    </dl>
    ${write
      ? html`<div class="row">
          ${!d.enabled ? html`<button type="button" disabled=${act.busy} onClick=${enable}>${t("Switch on")}</button>` : null}
          <button type="button" disabled=${act.busy} onClick=${() => act.run("POST", `${base}/replay-dead`, {}, t("Dead deliveries sent again."))}>${t("Replay all dead")}</button>
          <button type="button" class="secondary" disabled=${act.busy} onClick=${rotate}>${t("Rotate secret")}</button>
        </div>`
      : null}
    ${secret ? html`<p class="notice" role="status">${t("New signing secret, shown this once:")} <code>${secret}</code></p>` : html`<${Outcome} result=${act.result} />`}
    <h2>${t("Deliveries")}</h2>
    <nav class="tabs" aria-label=${t("Delivery status")}>
      ${DELIVERY_STATUSES.map((s) => html`<${Link} href=${`${location.pathname}?status=${s}`} aria-current=${s === status ? "page" : undefined}>${word(s)}<//> `)}
    </nav>
    ${Loading({ state: deliveries }) ??
    html`<table>
        <thead><tr><th>${t("Delivery")}</th><th>${t("Event")}</th><th>${t("Status")}</th><th class="num">${t("Attempts")}</th><th>${t("Last error")}</th><th>${t("Updated")}</th><th></th></tr></thead>
        <tbody>
          ${deliveries.data.data.map(
            (x) => html`<tr>
              <td>${x.id}</td><td>${x.event_id}</td><td><${Badge} value=${x.status} /></td><td class="num">${x.attempts}</td>
              <td>${[x.last_status_code, x.last_error].filter(Boolean).join(" · ")}</td><td>${when(x.updated_at)}</td>
              <td>${write && x.status === "dead"
                ? html`<button type="button" class="secondary" disabled=${act.busy} onClick=${() => act.run("POST", `/deliveries/${encodeURIComponent(x.id)}/replay`, {}, t("Delivery sent again."))}
                    aria-label=${t("Replay {id}", { id: x.id })}>${t("Replay")}</button>`
                : null}</td>
            </tr>`,
          )}
        </tbody>
      </table>
      ${deliveries.data.data.length === 0 ? html`<p>${t("No delivery in this state.")}</p>` : null} ${pages.pager(deliveries.data.next_cursor)}`}
  `;
}
