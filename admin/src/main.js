// The admin app: one page whose screens are chosen from the path (the Functions serve this shell
// for every page path of a signed-in staff member, 403 for a section their role cannot open).
import { useEffect, useRef } from "preact/hooks";
import { html, render, t, lang, setLang, Link, useLocation, Forbidden, Flash } from "./lib.js";
import { OrdersList, OrderPage } from "./screens/orders.js";
import { DraftsList, DraftPage } from "./screens/drafts.js";
import { ReturnsQueue } from "./screens/returns.js";
import { Inventory, SkuPage, Locations } from "./screens/stock.js";
import { Products, ProductPage, Discounts, ShippingMethods, Channels } from "./screens/catalog.js";
import { Destinations, DestinationPage } from "./screens/destinations.js";

const TITLES = {
  orders: "Orders",
  "draft-orders": "Draft orders",
  returns: "Returns",
  inventory: "Inventory",
  products: "Products",
  discounts: "Discounts",
  "shipping-methods": "Shipping methods",
  locations: "Locations",
  destinations: "Destinations",
  channels: "Channels",
};

/** The screen of a path: [section, component, its parameter]. */
function screen(path) {
  const [, section = "", id] = path.split("/").map(decodeURIComponent);
  const detail = { orders: OrderPage, "draft-orders": DraftPage, inventory: SkuPage, products: ProductPage, destinations: DestinationPage };
  const list = {
    orders: OrdersList,
    "draft-orders": DraftsList,
    returns: ReturnsQueue,
    inventory: Inventory,
    products: Products,
    discounts: Discounts,
    "shipping-methods": ShippingMethods,
    locations: Locations,
    destinations: Destinations,
    channels: Channels,
  };
  if (id && detail[section]) return [section, detail[section], id];
  if (!id && list[section]) return [section, list[section], null];
  return [section, null, null];
}

/** Signs out: behind Cloudflare Access through Access's logout, else by ending the local session. */
async function signOut(me) {
  if (me.sign_out) return location.assign(me.sign_out);
  await fetch("/api/session", { method: "DELETE" });
  location.assign("/signin");
}

function App({ me }) {
  const { path, params } = useLocation();
  // After a navigation, focus moves to the new screen (its first heading is read first).
  const shown = useRef(null);
  useEffect(() => {
    if (shown.current !== null && shown.current !== path) document.getElementById("main")?.focus();
    shown.current = path;
  }, [path]);
  const [section, Screen, id] = screen(path);
  const allowed = me.sections.includes(section);
  document.title = `${t(TITLES[section] ?? "Not found")} · Comptoir admin`;
  return html`
    <a class="skip" href="#main">${t("Skip to content")}</a>
    <header class="bar">
      <a class="brand" href="/">Comptoir<span> admin</span></a>
      <nav aria-label=${t("Sections")}>
        <ul>
          ${me.sections.map(
            (s) => html`<li><${Link} href=${`/${s}`} aria-current=${s === section ? "page" : undefined}>${t(TITLES[s])}<//></li>`,
          )}
        </ul>
      </nav>
      <div class="who">
        <label for="lang" class="visually-hidden">${t("Language")}</label>
        <select id="lang" value=${lang} onChange=${(e) => setLang(e.target.value)}>
          <option value="en">English</option>
          <option value="fr">Français</option>
        </select>
        <span>${me.email} · ${t(me.role)}</span>
        <button type="button" class="secondary" onClick=${() => signOut(me)}>${t("Sign out")}</button>
      </div>
    </header>
    <main id="main" tabindex="-1">
      <${Flash} />
      ${Screen && allowed
        ? html`<${Screen} key=${path + location.search} id=${id} me=${me} params=${params} />`
        : Screen
          ? html`<${Forbidden} />`
          : html`<h1>${t("Not found")}</h1><p><${Link} href="/">${t("Back to the start")}<//></p>`}
    </main>`;
}

const res = await fetch("/api/session");
if (res.status === 401) location.assign(`/signin?next=${encodeURIComponent(location.pathname + location.search)}`);
else {
  const root = document.getElementById("app");
  const me = await res.json();
  // The home page is the staff member's first screen.
  if (location.pathname === "/") history.replaceState(null, "", `/${me.sections[0] ?? "orders"}`);
  root.textContent = ""; // the shell's "Loading…"
  render(html`<${App} me=${me} />`, root);
}
