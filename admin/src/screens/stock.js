// Stock: every SKU with its levels per location, one SKU (adjust per location, its audit trail),
// the history of stock pictures pushed by a back-office system, and the locations.
import { useState } from "preact/hooks";
import { html, t, word, when, query, navigate, useResource, useAction, usePages, Loading, Link, Field, Outcome, can } from "../lib.js";

const levels = (item) => item.locations.map((l) => `${l.location}: ${l.available}/${l.on_hand}`).join(" · ");

export function Inventory({ params }) {
  const q = params.get("q") ?? "";
  const pages = usePages();
  const [state] = useResource(`/inventory${query({ q, cursor: pages.cursor, limit: 50 })}`);
  const search = (e) => {
    e.preventDefault();
    navigate(`/inventory${query({ q: new FormData(e.target).get("q") })}`);
  };
  return html`
    <h1>${t("Inventory")}</h1>
    <form class="filters row" role="search" onSubmit=${search}>
      <${Field} label=${t("SKU starts with")} name="q" type="search" defaultValue=${q} />
      <button type="submit">${t("Search")}</button>
    </form>
    ${Loading({ state }) ??
    html`<table>
        <thead><tr><th>SKU</th><th class="num">${t("On hand")}</th><th class="num">${t("Reserved")}</th><th class="num">${t("Available")}</th><th>${t("Per location (available/on hand)")}</th></tr></thead>
        <tbody>
          ${state.data.data.map(
            (i) => html`<tr>
              <td><${Link} href=${`/inventory/${encodeURIComponent(i.sku)}`}>${i.sku}<//></td>
              <td class="num">${i.on_hand}</td><td class="num">${i.reserved}</td><td class="num">${i.available}</td><td>${levels(i)}</td>
            </tr>`,
          )}
        </tbody>
      </table>
      ${pages.pager(state.data.next_cursor)}`}
    <${Syncs} />
  `;
}

function Syncs() {
  const pages = usePages();
  const [state] = useResource(`/inventory/syncs${query({ cursor: pages.cursor, limit: 10 })}`);
  return html`<section aria-labelledby="syncs-h">
    <h2 id="syncs-h">${t("Stock syncs")}</h2>
    <p>${t("Stock pictures pushed by a warehouse or ERP system (POST /admin/v1/inventory/sync).")}</p>
    ${Loading({ state }) ??
    html`<table>
        <thead><tr><th>${t("Sync")}</th><th>${t("When")}</th><th class="num">${t("Items")}</th><th class="num">${t("Levels changed")}</th><th>${t("By")}</th></tr></thead>
        <tbody>
          ${state.data.data.map((s) => html`<tr><td>${s.id}</td><td>${when(s.created_at)}</td><td class="num">${s.items}</td><td class="num">${s.changed}</td><td>${s.actor ?? ""}</td></tr>`)}
        </tbody>
      </table>
      ${state.data.data.length === 0 ? html`<p>${t("No sync yet.")}</p>` : null} ${pages.pager(state.data.next_cursor)}`}
  </section>`;
}

export function SkuPage({ id: sku, me }) {
  const [state, reload] = useResource(`/inventory/${encodeURIComponent(sku)}`);
  const [trail, reloadTrail] = useResource(`/inventory/${encodeURIComponent(sku)}/adjustments?limit=20`);
  const changed = () => {
    reload();
    reloadTrail();
  };
  const act = useAction(changed);
  const waiting = Loading({ state });
  if (waiting) return html`<h1>${sku}</h1>${waiting}`;
  const item = state.data;
  const adjust = (e) => {
    e.preventDefault();
    const data = new FormData(e.target);
    const location = data.get("location");
    act.run("POST", `/inventory/${encodeURIComponent(sku)}/adjustments${query({ location })}`, { delta: Number(data.get("delta")), reason: data.get("reason") }, t("Stock adjusted."));
  };
  return html`
    <p><${Link} href="/inventory">← ${t("Inventory")}<//></p>
    <h1>${t("Stock of {sku}", { sku })}</h1>
    <table>
      <thead><tr><th>${t("Location")}</th><th class="num">${t("On hand")}</th><th class="num">${t("Reserved")}</th><th class="num">${t("Available")}</th></tr></thead>
      <tbody>
        ${item.locations.map((l) => html`<tr><td>${l.location}</td><td class="num">${l.on_hand}</td><td class="num">${l.reserved}</td><td class="num">${l.available}</td></tr>`)}
        <tr class="grand"><td>${t("Total")}</td><td class="num">${item.on_hand}</td><td class="num">${item.reserved}</td><td class="num">${item.available}</td></tr>
      </tbody>
    </table>
    ${can(me, "inventory:write")
      ? html`<form class="action" onSubmit=${adjust} aria-labelledby="adjust-h">
          <h2 id="adjust-h">${t("Adjust")}</h2>
          <div class="row">
            <${Field} label=${t("Location")} kind="select" name="location">${item.locations.map((l) => html`<option value=${l.location}>${l.location}</option>`)}<//>
            <${Field} label=${t("Change (+ received, − lost)")} name="delta" type="number" required step="1" />
            <${Field} label=${t("Reason")} name="reason" required maxlength="200" />
            <button type="submit" disabled=${act.busy}>${t("Adjust")}</button>
          </div>
          <${Outcome} result=${act.result} />
        </form>`
      : null}
    <h2>${t("Audit trail")}</h2>
    ${Loading({ state: trail }) ??
    html`<table>
      <thead><tr><th>${t("When")}</th><th>${t("Location")}</th><th class="num">${t("Change")}</th><th>${t("Reason")}</th><th class="num">${t("On hand after")}</th></tr></thead>
      <tbody>${trail.data.data.map((a) => html`<tr><td>${when(a.created_at)}</td><td>${a.location}</td><td class="num">${a.delta > 0 ? `+${a.delta}` : a.delta}</td><td>${a.reason}</td><td class="num">${a.on_hand}</td></tr>`)}</tbody>
    </table>`}
  `;
}

export function Locations({ me }) {
  const [state, reload] = useResource("/locations?limit=100");
  const [editing, setEditing] = useState(null);
  return html`
    <h1>${t("Locations")}</h1>
    ${Loading({ state }) ??
    html`<table>
      <thead><tr><th>${t("Location")}</th><th>${t("Name")}</th><th>${t("Kind")}</th><th>${t("Countries")}</th><th class="num">${t("Priority")}</th><th>${t("Pickup")}</th><th></th></tr></thead>
      <tbody>
        ${state.data.data.map(
          (l) => html`<tr>
            <td>${l.id}</td><td>${l.name}</td><td>${word(l.kind)}</td><td>${l.countries?.length ? l.countries.join(", ") : t("All")}</td><td class="num">${l.priority}</td><td>${l.pickup ? t("Yes") : t("No")}</td>
            <td>${can(me, "inventory:write") ? html`<button type="button" class="secondary" onClick=${() => setEditing(l)} aria-label=${t("Edit {name}", { name: l.name })}>${t("Edit")}</button>` : null}</td>
          </tr>`,
        )}
      </tbody>
    </table>`}
    ${editing ? html`<${LocationForm} key=${editing.id} location=${editing} done=${() => (setEditing(null), reload())} />` : null}
  `;
}

function LocationForm({ location, done }) {
  const act = useAction(done);
  const submit = (e) => {
    e.preventDefault();
    const data = new FormData(e.target);
    const countries = String(data.get("countries") ?? "").split(/[\s,]+/).filter(Boolean).map((c) => c.toUpperCase());
    act.run(
      "PUT",
      `/locations/${encodeURIComponent(location.id)}`,
      { name: data.get("name"), kind: data.get("kind"), countries: countries.length ? countries : null, priority: data.get("priority") === "" ? null : Number(data.get("priority")), pickup: data.get("pickup") === "on", address: location.address },
      t("Location saved."),
    );
  };
  return html`<form class="action" onSubmit=${submit} aria-label=${t("Edit {name}", { name: location.name })}>
    <h2>${t("Edit {name}", { name: location.name })}</h2>
    <div class="row">
      <${Field} label=${t("Name")} name="name" defaultValue=${location.name} required maxlength="200" />
      <${Field} label=${t("Kind")} kind="select" name="kind">${["warehouse", "store"].map((k) => html`<option value=${k} selected=${k === location.kind}>${word(k)}</option>`)}<//>
      <${Field} label=${t("Countries (empty: all)")} name="countries" defaultValue=${location.countries?.join(", ") ?? ""} />
      <${Field} label=${t("Priority")} name="priority" type="number" defaultValue=${location.priority} />
      <label><input type="checkbox" name="pickup" defaultChecked=${location.pickup} /> ${t("Pickup")}</label>
    </div>
    <button type="submit" disabled=${act.busy}>${t("Save")}</button>
    <${Outcome} result=${act.result} />
  </form>`;
}
