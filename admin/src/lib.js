// What every screen of the admin app shares: Preact with htm (tagged templates, no build step of
// their own), calls to the back office through the app's Functions, the router, the language,
// and the small components (pages of a list, an error in plain words, money and dates).
import { h, render } from "preact";
import { useCallback, useEffect, useRef, useState } from "preact/hooks";
import htm from "htm";
import { FR } from "./fr.js";

export const html = htm.bind(h);
export { render };

// ---- language -----------------------------------------------------------------------------

const LANG_KEY = "comptoir-admin-lang";
export const lang = (localStorage.getItem(LANG_KEY) ?? navigator.language ?? "en").toLowerCase().startsWith("fr") ? "fr" : "en";
const locale = lang === "fr" ? "fr-FR" : "en-GB";
document.documentElement.lang = lang;

export function setLang(next) {
  localStorage.setItem(LANG_KEY, next);
  location.reload();
}

/** The text in the staff member's language; `{name}` placeholders take `vars`. */
export function t(text, vars = {}) {
  const s = (lang === "fr" && FR[text]) || text;
  return s.replace(/\{(\w+)\}/g, (_, k) => String(vars[k] ?? ""));
}

/** A status or other API word shown in the staff member's language ("partially_fulfilled"). */
export const word = (value) => (value == null ? "" : t(String(value).replaceAll("_", " ")));

/** Money of the API ({amount: "12.50", currency}), formatted from its decimal string (no float). */
export function money(m) {
  if (!m) return "";
  try {
    return new Intl.NumberFormat(locale, { style: "currency", currency: m.currency }).format(m.amount);
  } catch {
    return `${m.amount} ${m.currency}`;
  }
}

export function when(iso) {
  return iso ? new Intl.DateTimeFormat(locale, { dateStyle: "medium", timeStyle: "short" }).format(new Date(iso)) : "";
}

/** Who is told of a navigation (the router, the page's status line). */
const listeners = new Set();

// ---- the back office, through /api/admin --------------------------------------------------

/**
 * Calls /api/admin/<path> (the back office's /admin/v1/<path>). Resolves to `{ok, status, data}`
 * or `{ok: false, status, error}` with the API's error object; never throws. A POST carries an
 * Idempotency-Key: `key` when given (a retry of the same action), else a fresh one; `extra`
 * headers go along (an `If-Match`).
 */
export async function api(method, path, body, key, extra = {}) {
  const headers = { ...extra };
  const init = { method, headers };
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  if (method === "POST") headers["Idempotency-Key"] = key ?? crypto.randomUUID();
  let res;
  try {
    res = await fetch(`/api/admin${path}`, init);
  } catch {
    return { ok: false, status: 0, error: { code: "network", message: t("The back office could not be reached.") } };
  }
  if (res.status === 401) {
    location.assign(`/signin?next=${encodeURIComponent(location.pathname + location.search)}`);
  }
  const data = res.status === 204 ? null : await res.json().catch(() => null);
  if (res.ok) return { ok: true, status: res.status, data };
  return { ok: false, status: res.status, error: data?.error ?? { code: "unavailable", message: `HTTP ${res.status}` } };
}

/** A query string of the non-empty values. */
export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== "") q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : "";
}

const PLAIN = {
  validation_failed: "Some of what was entered is not accepted.",
  illegal_transition: "This action is not allowed in the current state.",
  not_found: "It does not exist (any more).",
  forbidden: "Your role does not allow this.",
  unauthorized: "Your session has ended: sign in again.",
  insufficient_stock: "There is not enough stock.",
  rate_limited: "Too many attempts: wait a moment and try again.",
  unavailable: "The back office is unavailable: try again.",
  network: "The back office could not be reached.",
  idempotency_conflict: "This action was already sent with other values.",
  conflict: "Someone changed this at the same time: reload and try again.",
  version_mismatch: "Someone changed this at the same time: reload and try again.",
  cart_not_active: "It can no longer change: it was completed.",
  unknown_sku: "This SKU is not sold in this market.",
  discount_not_applicable: "A discount code does not apply.",
};

/** An API error in plain words: what it means, then the API's own message and the field. */
export function explain(error) {
  const plain = PLAIN[error.code] ? t(PLAIN[error.code]) : t("The back office refused this.");
  const field = error.details?.field ? ` (${error.details.field}${error.details.index !== undefined ? ` #${error.details.index + 1}` : ""})` : "";
  return `${plain} ${error.message}${field}`;
}

/** The error of an action, next to it (role=alert); its success is announced page-wide (Flash). */
export function Outcome({ result }) {
  return result && !result.ok ? html`<p class="outcome error" role="alert">${explain(result.error)}</p>` : null;
}

let setFlash = () => {};
/** Says what an action did, at the top of the page (role=status): it outlives the form it came from. */
export const announce = (text) => setFlash(text);

/** The page's status line: the last action's success, cleared on navigation. */
export function Flash() {
  const [text, set] = useState("");
  setFlash = set;
  useEffect(() => {
    const clear = () => set("");
    listeners.add(clear);
    return () => listeners.delete(clear);
  }, []);
  return html`<p class="flash" role="status" aria-live="polite">${text}</p>`;
}

/** Loads `path` (again when it or `reload()` changes). */
export function useResource(path) {
  const [state, setState] = useState({ loading: true });
  const [tick, setTick] = useState(0);
  useEffect(() => {
    if (!path) return;
    let live = true;
    setState((s) => ({ ...s, loading: true }));
    api("GET", path).then((r) => live && setState({ loading: false, ...r }));
    return () => {
      live = false;
    };
  }, [path, tick]);
  const reload = useCallback(() => setTick((n) => n + 1), []);
  return [state, reload];
}

/**
 * An action on the back office: `run(method, path, body, success, headers?)` sends it once at a time
 * (`busy` disables its button), announces `success` and calls `done` when it succeeded. Sent
 * again after its answer was lost (no answer at all), the same action keeps its Idempotency-Key,
 * so the back office does it once.
 */
export function useAction(done) {
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState(null);
  const lost = useRef(null); // { sig, key } of an attempt that got no answer
  const run = async (method, path, body, success, headers) => {
    setBusy(true);
    setResult(null);
    const sig = `${method} ${path} ${JSON.stringify(body)}`;
    const key = lost.current?.sig === sig ? lost.current.key : crypto.randomUUID();
    const r = await api(method, path, body, key, headers);
    lost.current = r.status === 0 ? { sig, key } : null;
    setBusy(false);
    setResult(r.ok ? { ok: true } : r);
    if (r.ok) {
      announce(success);
      done?.(r.data);
    }
    return r;
  };
  return { run, busy, result, setResult };
}

/** What a loading or failed read shows; null once the data is there. */
export function Loading({ state }) {
  if (state.loading && !state.data) return html`<p role="status">${t("Loading…")}</p>`;
  if (!state.ok && state.error) {
    if (state.status === 403) return html`<${Forbidden} />`;
    return html`<p class="error" role="alert">${explain(state.error)}</p>`;
  }
  return null;
}

export function Forbidden() {
  return html`<section class="forbidden">
    <h1>403 · ${t("Not allowed")}</h1>
    <p>${t("Your role does not give access to this screen. Ask the shop's owner if you need it.")}</p>
  </section>`;
}

/**
 * Cursor pages of a list (API.md "Lists"): `cursor` is this page's, `next` the one the API gave;
 * earlier cursors are kept so the staff member can go back.
 */
export function usePages() {
  const [trail, setTrail] = useState([]);
  const cursor = trail.at(-1) ?? "";
  return {
    cursor,
    first: () => setTrail([]),
    pager: (next) => html`<nav class="pager" aria-label=${t("Pages")}>
      <button type="button" class="secondary" disabled=${trail.length === 0} onClick=${() => setTrail(trail.slice(0, -1))}>${t("Previous")}</button>
      <span>${t("Page {n}", { n: trail.length + 1 })}</span>
      <button type="button" class="secondary" disabled=${!next} onClick=${() => setTrail([...trail, next])}>${t("Next")}</button>
    </nav>`,
  };
}

// ---- routing ------------------------------------------------------------------------------

export function navigate(href) {
  history.pushState(null, "", href);
  for (const l of listeners) l();
  window.scrollTo(0, 0);
}
addEventListener("popstate", () => listeners.forEach((l) => l()));

/** The current path and query, re-rendering on navigation. */
export function useLocation() {
  const [, set] = useState(0);
  useEffect(() => {
    const l = () => set((n) => n + 1);
    listeners.add(l);
    return () => listeners.delete(l);
  }, []);
  return { path: location.pathname, params: new URLSearchParams(location.search) };
}

/** A link inside the app: no page load. */
export function Link({ href, children, ...rest }) {
  const click = (e) => {
    if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    navigate(href);
  };
  return html`<a href=${href} onClick=${click} ...${rest}>${children}</a>`;
}

/** A labelled input: `<${Field} label="…" ...inputProps />`. */
let fieldSeq = 0;
export function Field({ label, kind = "input", children, ...props }) {
  const [id] = useState(() => `f${++fieldSeq}`);
  const control =
    kind === "select"
      ? html`<select id=${id} ...${props}>${children}</select>`
      : kind === "textarea"
        ? html`<textarea id=${id} ...${props}></textarea>`
        : html`<input id=${id} ...${props} />`;
  return html`<div class="field"><label for=${id}>${label}</label>${control}</div>`;
}

/** A status word as a badge. */
export const Badge = ({ value }) => html`<span class=${`badge b-${value}`}>${word(value)}</span>`;

/** Whether the signed-in staff member holds a scope (the back office decides anyway). */
export const can = (me, scope) => me.scopes.includes(scope) || (me.scopes.includes("orders:write") && /^(returns|refunds):write$/.test(scope));

/** The rows of an order's or a draft's totals (its table adds what it owes, if anything). */
export const TotalRows = ({ totals, taxInclusive, testid }) => html`
  <tr><td>${t("Subtotal")}</td><td class="num">${money(totals.subtotal)}</td></tr>
  <tr><td>${t("Discount")}</td><td class="num">${money(totals.discount)}</td></tr>
  <tr><td>${t("Shipping")}</td><td class="num">${money(totals.shipping)}</td></tr>
  <tr><td>${taxInclusive ? t("Tax included") : t("Tax")}</td><td class="num">${money(totals.tax)}</td></tr>
  <tr class="grand"><td>${t("Total")}</td><td class="num" data-testid=${testid}>${money(totals.total)}</td></tr>`;
