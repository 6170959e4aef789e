// The console's entry: sign-in, the navigation for the signed-in role, and the routes
// (#/customer, #/owner, #/rider, #/ops, #/order/<id>).

import { claims, devToken, session, setSession } from "./api.js";
import { attempt, field, flash, h, mount, section } from "./ui.js";
import { customerPage } from "./customer.js";
import { ownerPage } from "./owner.js";
import { riderPage } from "./rider.js";
import { opsPage } from "./ops.js";
import { orderPage } from "./order.js";

const HOME = { customer: "#/customer", owner: "#/owner", rider: "#/rider", admin: "#/ops" };
const PAGES = [
  ["customer", "Order food", "#/customer"],
  ["owner", "My stores", "#/owner"],
  ["rider", "Deliveries", "#/rider"],
  ["admin", "Operations", "#/ops"],
];
const devTokens = document.querySelector('meta[name="dev-tokens"]')?.content === "on";

let leave = null; // what the current page stops when another is shown (streams, timers)
let shown = 0; // the route being shown: a page that finishes loading after another began stops

function header() {
  const s = session();
  const nav = document.getElementById("nav");
  nav.replaceChildren(...PAGES.filter(([role]) => s?.role === role)
    .map(([, label, href]) => h("a", { href, "aria-current": location.hash.startsWith(href) ? "page" : null }, label)));
  const who = document.getElementById("who");
  who.replaceChildren(...(s
    ? [h("span", { "data-testid": "signed-in" }, `${s.userId} (${s.role})`), " ",
       h("button", { type: "button", onclick: () => { setSession(null); location.hash = "#/"; } }, "Sign out")]
    : []));
}

function signInPage() {
  const user = h("input", { name: "userId", required: true, autocomplete: "username", pattern: "[A-Za-z0-9._@-]{1,64}", value: "alice" });
  const role = h("select", { name: "role" },
    ["customer", "owner", "rider", "admin"].map((r) => h("option", { value: r }, r)));
  const token = h("textarea", { name: "token", rows: 3, required: true });
  const form = devTokens
    ? h("form", { onsubmit: async (e) => {
        e.preventDefault();
        const t = await attempt(() => devToken(user.value.trim(), role.value));
        if (t) signedIn(t);
      } },
      h("p", {}, "A development user of any role: the gateway signs a token for it (local and test stacks only)."),
      field("User id", user), field("Role", role),
      h("button", { type: "submit" }, "Sign in"))
    : h("form", { onsubmit: (e) => { e.preventDefault(); signedIn(token.value.trim()); } },
      h("p", {}, "Development sign-in is off here: paste a token from your identity provider."),
      field("Bearer token", token), h("button", { type: "submit" }, "Use token"));
  mount(section("Sign in", form));
  user.focus();
}

function signedIn(token) {
  const c = claims(token);
  if (!c?.sub || !c?.role) return flash("that is not a token the console can read", "error");
  setSession({ token, userId: c.sub, role: c.role });
  location.hash = HOME[c.role] || "#/";
}

async function route() {
  leave?.();
  leave = null;
  header();
  const s = session();
  if (!s) return signInPage();
  const [, page, id] = location.hash.split("/");
  const params = new URLSearchParams(location.hash.split("?")[1] || "");
  const show = {
    customer: customerPage, owner: ownerPage, rider: riderPage, ops: opsPage,
    order: () => orderPage(id.split("?")[0], params.get("store")),
  }[page];
  if (!show) {
    location.hash = HOME[s.role] || "#/customer";
    return;
  }
  const mine = ++shown;
  const stop = (await show()) || null;
  if (mine !== shown) return stop?.();
  leave = stop;
  document.getElementById("page").focus({ preventScroll: true });
}

window.addEventListener("hashchange", route);
route();
