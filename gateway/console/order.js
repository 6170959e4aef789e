// One order, live: its status and each side's, its steps, and the timeline of its domain
// events as they arrive (GET /live/orders/{id}); the customer may cancel it here.

import { api, session } from "./api.js";
import { watchOrder } from "./live.js";
import { attempt, badge, field, flash, h, mount, section, short, time } from "./ui.js";

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
    cancel.hidden = !(me.role === "customer" && ["Placed", "Accepted"].includes(s.orderStatus));
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
      badges, steps, cancel, review),
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

