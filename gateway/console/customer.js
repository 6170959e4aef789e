// The customer's page: stores and their menus, an order placed from them, the customer's
// orders (each opening its live page), notifications, the mypage view and popular menus.

import { api } from "./api.js";
import { attempt, badge, field, h, mount, section, short, table, time, won } from "./ui.js";

export async function customerPage() {
  const storeSelect = h("select", { name: "store" }, h("option", { value: "" }, "Choose a store"));
  const menu = h("div", { "data-testid": "menu" }, h("p", {}, "Choose a store to see its menu."));
  const address = h("input", { name: "address", required: true, maxlength: 200, value: "Seoul, Gangnam-gu", autocomplete: "street-address" });
  const orders = h("div");
  const notes = h("div");
  const popular = h("div");

  storeSelect.addEventListener("change", async () => {
    const id = storeSelect.value;
    if (!id) return menu.replaceChildren(h("p", {}, "Choose a store to see its menu."));
    const items = (await attempt(() => api("GET", `/stores/${id}/menu`))) || [];
    menu.replaceChildren(items.length
      ? table(["Item", "Price", "Quantity"], items.map((i) => h("tr", {},
          h("td", {}, i.name), h("td", {}, won(i.price)),
          h("td", {}, i.available
            ? h("input", { type: "number", min: 0, max: 99, value: 0, "data-item": i.id, "aria-label": `Quantity of ${i.name}`, class: "qty" })
            : "unavailable"))), "Menu")
      : h("p", {}, "This store has nothing on its menu yet."));
  });

  const form = h("form", { "aria-label": "Place an order", onsubmit: async (e) => {
    e.preventDefault();
    const items = [...menu.querySelectorAll("input.qty")]
      .map((q) => ({ menuItemId: q.dataset.item, quantity: Number(q.value) }))
      .filter((l) => l.quantity > 0);
    const order = await attempt(() => api("POST", "/orders",
      { storeId: storeSelect.value, items, deliveryAddress: address.value },
      { "idempotency-key": crypto.randomUUID() }));
    if (order) location.hash = `#/order/${order.id}`;
  } }, field("Store", storeSelect), menu, field("Delivery address", address),
    h("button", { type: "submit" }, "Place order"));

  async function refresh() {
    const mine = (await attempt(() => api("GET", "/orders"))) || [];
    mine.sort((a, b) => b.createdAt.localeCompare(a.createdAt));
    orders.replaceChildren(mine.length
      ? table(["Order", "Placed", "Total", "Status"], mine.map((o) => h("tr", {},
          h("td", {}, h("a", { href: `#/order/${o.id}` }, short(o.id))), h("td", {}, time(o.createdAt)),
          h("td", {}, won(o.totalPrice)), h("td", {}, badge("Status", o.status)))), "My orders")
      : h("p", {}, "No orders yet."));
    const list = (await attempt(() => api("GET", "/notifications"))) || [];
    notes.replaceChildren(list.length
      ? h("ul", { class: "notes" }, list.slice(-20).reverse().map((n) =>
          h("li", {}, h("time", { datetime: n.createdAt }, time(n.createdAt)), " ", n.message)))
      : h("p", {}, "No notifications yet."));
    const top = (await attempt(() => api("GET", "/mypage/popular-menus?limit=5"))) || [];
    popular.replaceChildren(top.length
      ? h("ol", {}, top.map((m) => h("li", {}, `${m.name}: ${m.orderCount} ordered`)))
      : h("p", {}, "Nothing ordered yet."));
  }

  mount(
    section("Order food", form),
    section("My orders", h("p", {}, "Open an order to watch it move, live."), orders),
    h("div", { class: "columns" }, section("Notifications", notes), section("Popular menus", popular)),
  );
  const stores = (await attempt(() => api("GET", "/stores"))) || [];
  storeSelect.append(...stores.map((s) => h("option", { value: s.id }, s.name)));
  await refresh();
  const timer = setInterval(refresh, 3000);
  return () => clearInterval(timer);
}
