// The catalog: products (search, status, prices per market, publish), discounts and shipping
// methods (switch on or off), channels (rotate a publishable key).
import { useState } from "preact/hooks";
import { html, t, word, money, when, query, navigate, useResource, useAction, usePages, Loading, Link, Field, Badge, Outcome, can } from "../lib.js";

/** An admin resource as the body of its PUT: the fields the API accepts, nothing it adds. */
const editable = (resource, fields) => Object.fromEntries(fields.map((f) => [f, resource[f]]));

export function Products({ params }) {
  const filters = { q: params.get("q") ?? "", status: params.get("status") ?? "" };
  const pages = usePages();
  const [state] = useResource(`/products${query({ ...filters, cursor: pages.cursor, limit: 25 })}`);
  const search = (e) => {
    e.preventDefault();
    navigate(`/products${query(Object.fromEntries(new FormData(e.target)))}`);
  };
  return html`
    <h1>${t("Products")}</h1>
    <form class="filters row" role="search" onSubmit=${search}>
      <${Field} label=${t("Title, handle or SKU")} name="q" type="search" defaultValue=${filters.q} />
      <${Field} label=${t("Status")} kind="select" name="status">
        <option value="">${t("Any")}</option>
        ${["draft", "published"].map((s) => html`<option value=${s} selected=${s === filters.status}>${word(s)}</option>`)}
      <//>
      <button type="submit">${t("Search")}</button>
    </form>
    ${Loading({ state }) ??
    html`<table>
        <thead><tr><th>${t("Product")}</th><th>${t("Handle")}</th><th>${t("Status")}</th><th>SKU</th><th>${t("Updated")}</th></tr></thead>
        <tbody>
          ${state.data.data.map(
            (p) => html`<tr>
              <td><${Link} href=${`/products/${encodeURIComponent(p.id)}`}>${p.title}<//></td><td>${p.handle}</td><td><${Badge} value=${p.status} /></td>
              <td>${p.variants.map((v) => v.sku).join(", ")}</td><td>${when(p.updated_at)}</td>
            </tr>`,
          )}
        </tbody>
      </table>
      ${state.data.data.length === 0 ? html`<p>${t("No product matches.")}</p>` : null} ${pages.pager(state.data.next_cursor)}`}
  `;
}

export function ProductPage({ id, me }) {
  const [state, reload] = useResource(`/products/${encodeURIComponent(id)}`);
  const act = useAction(reload);
  const waiting = Loading({ state });
  if (waiting) return html`<h1>${t("Product")}</h1>${waiting}`;
  const product = state.data;
  const markets = [...new Set(product.variants.flatMap((v) => Object.keys(v.prices ?? {})))].sort();
  const write = can(me, "catalog:write");
  const save = (status) => (e) => {
    e?.preventDefault?.();
    const form = document.getElementById("product-form");
    const data = new FormData(form);
    const variants = product.variants.map((v) => ({
      ...editable(v, ["sku", "title", "tax_class", "weight_grams"]),
      prices: Object.fromEntries(
        markets.filter((m) => v.prices?.[m]).map((m) => [m, { amount: String(data.get(`${v.sku}:${m}`)).trim(), currency: v.prices[m].currency }]),
      ),
    }));
    const body = { handle: product.handle, title: data.get("title"), description: data.get("description"), status: status ?? product.status, variants };
    act.run("PUT", `/products/${encodeURIComponent(product.id)}`, body, status === "published" ? t("Published.") : status === "draft" ? t("Unpublished.") : t("Saved."));
  };
  return html`
    <p><${Link} href="/products">← ${t("Products")}<//></p>
    <h1>${product.title} <${Badge} value=${product.status} /></h1>
    <form id="product-form" class="action" onSubmit=${save()}>
      <div class="row">
        <${Field} label=${t("Title")} name="title" defaultValue=${product.title} required maxlength="200" disabled=${!write} />
        <${Field} label=${t("Description")} kind="textarea" name="description" defaultValue=${product.description} rows="3" disabled=${!write} />
      </div>
      <h2>${t("Prices per market")}</h2>
      <table>
        <thead><tr><th>${t("Variant")}</th>${markets.map((m) => html`<th class="num">${m}</th>`)}</tr></thead>
        <tbody>
          ${product.variants.map(
            (v) => html`<tr>
              <td>${v.title} (${v.sku})</td>
              ${markets.map((m) =>
                v.prices?.[m]
                  ? html`<td class="num"><input name=${`${v.sku}:${m}`} defaultValue=${v.prices[m].amount} inputmode="decimal" required pattern="[0-9]+([.][0-9]{1,4})?" disabled=${!write}
                      aria-label=${t("Price of {variant} in {market} ({currency})", { variant: v.title, market: m, currency: v.prices[m].currency })} /> ${v.prices[m].currency}</td>`
                  : html`<td class="num">—</td>`,
              )}
            </tr>`,
          )}
        </tbody>
      </table>
      ${write
        ? html`<div class="row">
            <button type="submit" disabled=${act.busy}>${t("Save")}</button>
            ${product.status === "draft"
              ? html`<button type="button" disabled=${act.busy} onClick=${save("published")}>${t("Publish")}</button>`
              : html`<button type="button" class="secondary" disabled=${act.busy} onClick=${save("draft")}>${t("Unpublish")}</button>`}
          </div>`
        : null}
      <${Outcome} result=${act.result} />
    </form>
  `;
}

/** A list of resources that are switched on or off by a PUT of their own fields. */
function Switchable({ title, path, fields, columns, me }) {
  const pages = usePages();
  const [state, reload] = useResource(`${path}${query({ cursor: pages.cursor, limit: 50 })}`);
  const act = useAction(reload);
  const write = can(me, "catalog:write");
  const toggle = (r) =>
    act.run("PUT", `${path}/${encodeURIComponent(r.id)}`, { ...editable(r, fields), enabled: !r.enabled }, r.enabled ? t("Switched off.") : t("Switched on."));
  return html`
    <h1>${title}</h1>
    <${Outcome} result=${act.result} />
    ${Loading({ state }) ??
    html`<table>
        <thead><tr>${columns.map(([label]) => html`<th>${label}</th>`)}<th>${t("Enabled")}</th><th></th></tr></thead>
        <tbody>
          ${state.data.data.map(
            (r) => html`<tr>
              ${columns.map(([, cell]) => html`<td>${cell(r)}</td>`)}
              <td>${r.enabled ? t("Yes") : t("No")}</td>
              <td>${write
                ? html`<button type="button" class="secondary" disabled=${act.busy} onClick=${() => toggle(r)}
                    aria-label=${r.enabled ? t("Switch off {name}", { name: r.title ?? r.name }) : t("Switch on {name}", { name: r.title ?? r.name })}>${r.enabled ? t("Switch off") : t("Switch on")}</button>`
                : null}</td>
            </tr>`,
          )}
        </tbody>
      </table>
      ${pages.pager(state.data.next_cursor)}`}
  `;
}

const discountValue = (d) =>
  d.kind === "percentage" ? `${d.value} %` : d.value && typeof d.value === "object" && !Array.isArray(d.value) ? Object.values(d.value).map(money).join(", ") : "";

export const Discounts = ({ me }) => html`<${Switchable}
  me=${me}
  title=${t("Discounts")}
  path="/discounts"
  fields=${["title", "code", "kind", "value", "target", "items", "conditions", "starts_at", "ends_at", "usage_limit", "usage_limit_per_customer", "stacking", "priority"]}
  columns=${[
    [t("Discount"), (d) => d.title],
    [t("Code"), (d) => d.code ?? t("automatic")],
    [t("Kind"), (d) => word(d.kind)],
    [t("Value"), discountValue],
    [t("Dates"), (d) => [when(d.starts_at), when(d.ends_at)].filter(Boolean).join(" → ")],
  ]}
/>`;

const rate = (r) =>
  r.type === "free_over"
    ? t("{amount}, free over {threshold}", { amount: money(r.amount), threshold: money(r.threshold) })
    : r.type === "weight_tiers"
      ? r.tiers.map((tier) => t("{amount} up to {grams} g", { amount: money(tier.amount), grams: tier.up_to_grams })).join(", ")
      : money(r.amount);

export const ShippingMethods = ({ me }) => html`<${Switchable}
  me=${me}
  title=${t("Shipping methods")}
  path="/shipping-methods"
  fields=${["name", "countries", "rates", "location_id"]}
  columns=${[
    [t("Shipping method"), (s) => s.name],
    [t("Countries"), (s) => (s.countries?.length ? s.countries.join(", ") : t("All"))],
    [t("Rates"), (s) => Object.entries(s.rates).map(([m, r]) => `${m}: ${rate(r)}`).join(" · ")],
    [t("Pickup at"), (s) => s.location_id ?? ""],
  ]}
/>`;

export function Channels({ me }) {
  const [state, reload] = useResource("/channels?limit=100");
  const act = useAction(reload);
  const [fresh, setFresh] = useState(null);
  const rotate = async (c) => {
    if (!confirm(t("Rotate the key of {name}? The current key stops working at once.", { name: c.name }))) return;
    const r = await act.run("POST", `/channels/${encodeURIComponent(c.id)}/rotate-key`, {}, t("New key issued."));
    if (r.ok) setFresh(r.data);
  };
  return html`
    <h1>${t("Channels")}</h1>
    ${fresh
      ? html`<p class="notice" role="status">${t("New publishable key of {name}, shown this once:", { name: fresh.name })} <code>${fresh.publishable_key}</code></p>`
      : html`<${Outcome} result=${act.result} />`}
    ${Loading({ state }) ??
    html`<table>
      <thead><tr><th>${t("Channel")}</th><th>${t("Markets")}</th><th>${t("Allowed origins")}</th><th>${t("Key")}</th><th></th></tr></thead>
      <tbody>
        ${state.data.data.map(
          (c) => html`<tr>
            <td>${c.name} (${c.id})</td><td>${c.markets.join(", ")}</td><td>${c.allowed_origins.join(", ")}</td><td><code>${c.key_hint}</code></td>
            <td>${can(me, "catalog:write") ? html`<button type="button" class="secondary" disabled=${act.busy} onClick=${() => rotate(c)} aria-label=${t("Rotate the key of {name}", { name: c.name })}>${t("Rotate key")}</button>` : null}</td>
          </tr>`,
        )}
      </tbody>
    </table>`}
  `;
}
