// One order, live: its status and each side's, its steps, and the timeline of its domain
// events as they arrive (GET /live/orders/{id}); the customer may change or cancel it here.

import { api, session } from "./api.js";
import { watchOrder } from "./live.js";
import { attempt, badge, field, flash, h, mount, section, short, table, time, won } from "./ui.js";

const STEPS = ["Placed", "Paid", "Accepted", "Cooking", "Picked up", "Delivered"];

function reached(status) {
  const s = status || {};
  const done = new Set();
  if (s.orderStatus) done.add("Placed");
  if (s.paymentStatus) done.add("Paid");
  if (["Accepted", "Cooking", "Cooked"].includes(s.storeStatus)) done.add("Accepted");
  if (["Cooking", "Cooked"].includes(s.storeStatus)) done.add("Cooking");
  if (s.deliveryStatus) { done.add("Accepted"); done.add("Cooking"); done.add("Picked up"); }
  if (s.orderStatus === "Delivered") STEPS.forEach((x) => done.add(x));
  return done;
}

export async function orderPage(orderId, storeId) {
  const me = session();
  const state = h("span", { class: "live-state", "data-testid": "live-state" }, "connecting…");
  // Announced as it changes: a screen reader hears the order move too.
  const badges = h("p", { class: "badges", "data-testid": "status", "aria-live": "polite" });
  const steps = h("ol", { class: "steps", "aria-label": "Progress" });
  const rows = h("tbody", { "data-testid": "timeline" });
  const cancel = h("button", { type: "button", class: "danger", hidden: true, onclick: async () => {
    const order = await attempt(() => api("POST", `/orders/${orderId}/cancel`));
    if (order) flash(`order ${short(orderId)} canceled`);
  } }, "Cancel order");
  const change = changeForm(orderId);
  const seen = new Set();
  // Once delivered, its customer may review it (the review service knows it is delivered once
  // DeliveryCompleted reached it: until then a 409 not_delivered, shown as a message).
  const rating = h("select", { name: "rating" }, [5, 4, 3, 2, 1].map((n) => h("option", { value: n }, `${n} ★`)));
  const text = h("input", { name: "review", maxlength: 1000, required: true, value: "Crispy and still hot." });
  const review = h("form", { "aria-label": "Review this order", hidden: true, onsubmit: async (e) => {
    e.preventDefault();
    const posted = await attempt(() => api("POST", "/reviews", { orderId, rating: Number(rating.value), text: text.value.trim() }));
    if (posted) { flash("review posted"); review.hidden = true; }
  } }, field("Rating", rating), field("Review", text), h("button", { type: "submit" }, "Post review"));

  function drawStatus(s) {
    badges.replaceChildren(...[badge("Order", s.orderStatus), badge("Payment", s.paymentStatus),
      badge("Store", s.storeStatus), badge("Delivery", s.deliveryStatus),
      s.cancelReason && badge("Reason", s.cancelReason)].filter(Boolean));
    badges.dataset.order = s.orderStatus || "";
    const done = reached(s);
    const canceled = s.orderStatus === "Canceled";
    steps.replaceChildren(...STEPS.map((x) => h("li", { class: done.has(x) ? "done" : canceled ? "skipped" : "" }, x)),
      ...(canceled ? [h("li", { class: "canceled" }, s.paymentStatus === "Refunded" ? "Canceled, refunded" : "Canceled")] : []));
    const changeable = me.role === "customer" && ["Placed", "Accepted"].includes(s.orderStatus);
    cancel.hidden = !changeable;
    change.show(changeable);
    if (me.role === "customer" && s.orderStatus === "Delivered" && review.dataset.done !== "yes") {
      review.hidden = false;
      review.dataset.done = "yes";
    }
  }

  function addEvent(e) {
    if (seen.has(e.eventId)) return;
    seen.add(e.eventId);
    const row = h("tr", { "data-event": e.eventType },
      h("td", {}, h("time", { datetime: e.occurredAt }, time(e.occurredAt))),
      h("td", {}, e.eventType), h("td", {}, h("code", {}, e.topic)), h("td", {}, e.producer));
    const after = [...rows.children].find((r) => r.querySelector("time").getAttribute("datetime") > e.occurredAt);
    rows.insertBefore(row, after || null);
  }

  mount(
    section(`Order ${short(orderId)}`,
      h("p", {}, "Live: ", state, " ", h("small", {}, "Each change arrives as it happens, without reloading.")),
      badges, steps, cancel, change.form, review),
    section("Domain events",
      h("table", {}, h("caption", {}, "Each event of this order, from every service's topic"),
        h("thead", {}, h("tr", {}, ["Time", "Event", "Topic", "Producer"].map((x) => h("th", { scope: "col" }, x)))),
        rows)),
    h("p", {}, h("a", { href: me.role === "owner" ? "#/owner" : me.role === "rider" ? "#/rider" : "#/customer" }, "Back")),
  );
  const watch = watchOrder(orderId, {
    storeId,
    onStatus: drawStatus,
    onEvent: addEvent,
    onState: (s, detail) => { state.textContent = detail ? `${s}: ${detail}` : s; state.dataset.state = s; },
    onEnd: () => { state.textContent = "final"; state.dataset.state = "final"; },
  });
  window.__liveStream = watch; // lets a test cut the connection to see it resume
  return () => watch.close();
}


// The customer's change of an order still Placed or Accepted: its lines' quantities (0 drops a
// line, another item of the store's menu may be added) and its delivery address, sent as
// PATCH /orders/{id} with the version it was read at (If-Match). A dearer change is paid first
// (402 or 503 leave the order as it was); a cheaper one is refunded. Someone else's change in
// between is a 412: the form reads the order again.
function changeForm(orderId) {
  const lines = h("div", { "data-testid": "change-lines" });
  const address = h("input", { name: "new-address", required: true, maxlength: 200, autocomplete: "street-address" });
  let version = null;
  let loaded = false;

  async function load() {
    const order = await attempt(() => api("GET", `/orders/${orderId}`));
    if (!order) return;
    version = order.version;
    address.value = order.deliveryAddress;
    const menu = (await attempt(() => api("GET", `/stores/${order.storeId}/menu`))) || [];
    const ordered = new Map(order.items.map((i) => [i.menuItemId, i]));
    const rows = [...order.items.map((i) => ({ id: i.menuItemId, name: i.name, price: i.unitPrice, quantity: i.quantity })),
      ...menu.filter((m) => m.available && !ordered.has(m.id)).map((m) => ({ id: m.id, name: m.name, price: m.price, quantity: 0 }))];
    lines.replaceChildren(table(["Item", "Price", "Quantity"], rows.map((r) => h("tr", {},
      h("td", {}, r.name), h("td", {}, won(r.price)),
      h("td", {}, h("input", { type: "number", min: 0, max: 99, value: r.quantity, "data-item": r.id,
        "aria-label": `New quantity of ${r.name}`, class: "qty" })))), `Its lines now: ${won(order.totalPrice)} in all`));
  }

  const form = h("form", { "aria-label": "Change this order", hidden: true, onsubmit: async (e) => {
    e.preventDefault();
    const items = [...lines.querySelectorAll("input.qty")]
      .map((q) => ({ menuItemId: q.dataset.item, quantity: Number(q.value) }))
      .filter((l) => l.quantity > 0);
    if (!items.length) return flash("an order keeps at least one item: cancel it instead", "error");
    try {
      const order = await api("PATCH", `/orders/${orderId}`, { items, deliveryAddress: address.value },
        { "if-match": `"${version}"` });
      flash(`order ${short(orderId)} changed: ${won(order.totalPrice)}`);
    } catch (err) {
      const stale = err.status === 412;
      flash(stale ? "the order changed meanwhile: here it is now, change it again"
        : err.code ? `${err.message} (${err.code})` : err.message, "error");
    }
    await load();
  } }, h("h3", {}, "Change it"), lines, field("New delivery address", address),
    h("button", { type: "submit" }, "Change order"));

  return {
    form,
    show(visible) {
      form.hidden = !visible;
      if (visible && !loaded) { loaded = true; load(); }
    },
  };
}
