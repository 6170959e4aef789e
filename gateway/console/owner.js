// The owner's page: their stores (open one), the chosen store's menu (add, change the price,
// make unavailable, remove) and its orders (accept or reject, start and finish cooking), and
// the popular menus.

import { api, session } from "./api.js";
import { attempt, badge, field, flash, h, mount, section, short, table, won } from "./ui.js";

const ACTIONS = {
  Received: [["accept", "Accept"], ["reject", "Reject"]],
  Accepted: [["start-cooking", "Start cooking"]],
  Cooking: [["finish-cooking", "Finish cooking"]],
};

export async function ownerPage() {
  const me = session();
  const storeSelect = h("select", { name: "store" });
  const menu = h("div");
  const orders = h("div", { "data-testid": "store-orders" });
  const popular = h("div");
  const reason = h("input", { name: "reason", maxlength: 200, value: "sold out" });
  const storeName = h("input", { name: "storeName", required: true, maxlength: 100 });
  const itemName = h("input", { name: "itemName", required: true, maxlength: 100 });
  const itemPrice = h("input", { name: "itemPrice", type: "number", min: 0, required: true, value: 18000 });

  async function loadStores(select) {
    const mine = ((await attempt(() => api("GET", "/stores"))) || []).filter((s) => s.ownerId === me.userId);
    storeSelect.replaceChildren(...(mine.length ? mine.map((s) => h("option", { value: s.id }, s.name))
      : [h("option", { value: "" }, "No store yet")]));
    if (select) storeSelect.value = select;
  }

  async function drawMenu() {
    const id = storeSelect.value;
    if (!id) return menu.replaceChildren(h("p", {}, "Open a store first."));
    const items = (await attempt(() => api("GET", `/stores/${id}/menu`))) || [];
    menu.replaceChildren(table(["Item", "Price", "Available", ""], items.map((i) => {
      const price = h("input", { type: "number", min: 0, value: i.price, "aria-label": `Price of ${i.name}` });
      return h("tr", {}, h("td", {}, i.name), h("td", {}, price),
        h("td", {}, h("input", { type: "checkbox", checked: i.available, "aria-label": `${i.name} available`,
          onchange: (e) => change(i, { available: e.target.checked }) })),
        h("td", {}, h("button", { type: "button", onclick: () => change(i, { price: Number(price.value) }) }, "Save price"),
          " ", h("button", { type: "button", class: "danger", onclick: async () => {
            if (await attempt(() => api("DELETE", `/stores/${id}/menu/${i.id}`)) !== undefined) drawMenu();
          } }, "Remove")));
    }), "Menu"));
  }

  async function change(item, patch) {
    const done = await attempt(() => api("PATCH", `/stores/${item.storeId}/menu/${item.id}`, patch));
    if (done) { flash(`${item.name} saved`); drawMenu(); }
  }

  async function drawOrders() {
    const id = storeSelect.value;
    if (!id) return orders.replaceChildren();
    const list = (await attempt(() => api("GET", `/store-orders?storeId=${id}`))) || [];
    list.sort((a, b) => b.updatedAt.localeCompare(a.updatedAt));
    orders.replaceChildren(list.length
      ? table(["Order", "Customer", "Items", "Total", "Status", "Actions"], list.map((o) => h("tr", { "data-order": o.orderId },
          h("td", {}, h("a", { href: `#/order/${o.orderId}?store=${id}` }, short(o.orderId))),
          h("td", {}, o.customerId),
          h("td", {}, o.items.map((i) => `${i.quantity} × ${i.name}`).join(", ")),
          h("td", {}, won(o.totalPrice)), h("td", {}, badge("Status", o.status)),
          h("td", {}, (ACTIONS[o.status] || []).map(([action, label]) => h("button", {
            type: "button", class: action === "reject" ? "danger" : "",
            onclick: () => act(o.orderId, action),
          }, label))))), "Orders of this store")
      : h("p", {}, "No orders yet."));
  }

  async function act(orderId, action) {
    const body = action === "reject" ? { reason: reason.value.trim() || "sold out" } : undefined;
    const done = await attempt(() => api("POST", `/store-orders/${orderId}/${action}`, body));
    if (done) { flash(`order ${short(orderId)}: ${done.status}`); drawOrders(); }
  }

  async function drawPopular() {
    const top = (await attempt(() => api("GET", "/mypage/popular-menus?limit=10"))) || [];
    popular.replaceChildren(top.length
      ? h("ol", {}, top.map((m) => h("li", {}, `${m.name}: ${m.orderCount} ordered`)))
      : h("p", {}, "Nothing ordered yet."));
  }

  storeSelect.addEventListener("change", () => { drawMenu(); drawOrders(); });
  mount(
    section("My stores",
      h("div", { class: "row" }, field("Store", storeSelect)),
      h("form", { "aria-label": "Open a store", onsubmit: async (e) => {
        e.preventDefault();
        const store = await attempt(() => api("POST", "/stores", { name: storeName.value.trim() }));
        if (store) { flash(`${store.name} is open`); storeName.value = ""; await loadStores(store.id); drawMenu(); drawOrders(); }
      } }, field("New store's name", storeName), h("button", { type: "submit" }, "Open store"))),
    section("Menu", menu,
      h("form", { "aria-label": "Add a menu item", onsubmit: async (e) => {
        e.preventDefault();
        const item = await attempt(() => api("POST", `/stores/${storeSelect.value}/menu`,
          { name: itemName.value.trim(), price: Number(itemPrice.value) }));
        if (item) { flash(`${item.name} added`); itemName.value = ""; drawMenu(); }
      } }, field("Item", itemName), field("Price (won)", itemPrice), h("button", { type: "submit" }, "Add item"))),
    section("Orders", h("p", {}, "New orders appear here by themselves; open one to watch it live."),
      field("Reason given when rejecting", reason), orders),
    section("Popular menus", popular),
  );
  await loadStores();
  await Promise.all([drawMenu(), drawOrders(), drawPopular()]);
  const timer = setInterval(() => { drawOrders(); }, 2000);
  return () => clearInterval(timer);
}
