// The rider's page: a delivery found by its order's id (the API lists deliveries by order),
// then completed or reported as an accident. The deliveries looked up stay listed here.

import { api } from "./api.js";
import { attempt, badge, field, flash, h, mount, section, short, table, time } from "./ui.js";

const KEY = "fooddelivery.rider.orders";

export async function riderPage() {
  const known = new Set(JSON.parse(sessionStorage.getItem(KEY) || "[]"));
  const orderId = h("input", { name: "orderId", required: true, pattern: "[0-9a-fA-F-]{36}", placeholder: "the order's id", size: 38 });
  const reason = h("input", { name: "reason", maxlength: 200, value: "scooter crash" });
  const list = h("div", { "data-testid": "deliveries" });

  async function draw() {
    const rows = [];
    for (const id of known) {
      const found = (await attempt(() => api("GET", `/deliveries?orderId=${id}`))) || [];
      rows.push(...found);
    }
    list.replaceChildren(rows.length
      ? table(["Order", "Address", "Since", "Status", "Actions"], rows.map((d) => h("tr", { "data-order": d.orderId },
          h("td", {}, h("a", { href: `#/order/${d.orderId}` }, short(d.orderId))), h("td", {}, d.address),
          h("td", {}, time(d.createdAt)), h("td", {}, badge("Status", d.status)),
          h("td", {}, d.status === "Started" ? [
            h("button", { type: "button", onclick: () => act(d, "complete") }, "Complete"), " ",
            h("button", { type: "button", class: "danger", onclick: () => act(d, "accident") }, "Report accident"),
          ] : []))), "My deliveries")
      : h("p", {}, "No delivery looked up yet. A delivery starts by itself once the store finishes cooking."));
  }

  async function act(delivery, action) {
    const body = action === "accident" ? { reason: reason.value.trim() || "accident" } : undefined;
    const done = await attempt(() => api("POST", `/deliveries/${delivery.id}/${action}`, body));
    if (done) { flash(`delivery of order ${short(delivery.orderId)}: ${done.status}`); draw(); }
  }

  mount(
    section("Find a delivery",
      h("form", { "aria-label": "Find a delivery", onsubmit: async (e) => {
        e.preventDefault();
        known.add(orderId.value.trim());
        sessionStorage.setItem(KEY, JSON.stringify([...known]));
        orderId.value = "";
        await draw();
      } }, field("Order id", orderId), h("button", { type: "submit" }, "Find"))),
    section("Deliveries", field("Reason given for an accident", reason), list),
  );
  await draw();
  const timer = setInterval(draw, 3000);
  return () => clearInterval(timer);
}
