// The sign-in page: posts {email, password} as JSON to /api/session (the session cookie it sets
// is HttpOnly), then goes to the page asked for before (a path of this site only).
const FR = {
  title: "Connexion au back-office",
  email: "E-mail",
  password: "Mot de passe",
  submit: "Se connecter",
  hint: "Comptes locaux : owner@, ops@, support@ et catalog@example.com, mot de passe ADMIN_APP_DEV_PASSWORD de .dev.vars. En production, Cloudflare Access connecte l'équipe.",
  wrong: "Cet e-mail et ce mot de passe ne correspondent à aucun compte.",
  failed: "La connexion a échoué, réessayez.",
};
const EN = { wrong: "This email and password do not match a staff account.", failed: "Signing in failed, try again." };
const french = (localStorage.getItem("comptoir-admin-lang") ?? navigator.language ?? "en").toLowerCase().startsWith("fr");
const text = (key) => (french ? FR[key] : EN[key]);

if (french) {
  document.documentElement.lang = "fr";
  for (const el of document.querySelectorAll("[data-i18n]")) el.textContent = FR[el.dataset.i18n];
}

/**
 * Where to go once signed in: `?next=` when it resolves to a page of this site, else the home
 * page. Resolved as the browser will (it drops tabs and newlines, reads `\` as `/`), so
 * `/%09/evil.example` cannot leave the site.
 */
function next() {
  const target = new URL(new URLSearchParams(location.search).get("next") ?? "/", location.origin);
  return target.origin === location.origin ? target.pathname + target.search + target.hash : "/";
}

document.getElementById("signin").addEventListener("submit", async (event) => {
  event.preventDefault();
  const status = document.getElementById("status");
  status.textContent = "";
  const form = new FormData(event.target);
  try {
    const res = await fetch("/api/session", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ email: form.get("email"), password: form.get("password") }),
    });
    if (res.ok) location.assign(next());
    else status.textContent = res.status === 401 ? text("wrong") : text("failed");
  } catch {
    status.textContent = text("failed");
  }
});
