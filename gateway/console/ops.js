// The operator's page (admins): each service's readiness and watched metrics (GET
// /ops/services, read by the gateway from the services' own endpoints), the outbox rows each
// relay parked, and the payment fault switch for experiments (PUT /admin/payment/faults).

import { api } from "./api.js";
import { attempt, field, flash, h, mount, section, table } from "./ui.js";

const OUTBOXES = ["order", "payment", "store", "delivery", "notification", "review"];
const num = (m, name) => (m[name] === undefined ? "—" : String(m[name]));

export async function opsPage() {
  const services = h("div", { "data-testid": "services" });
  const parked = h("div");
  const minMs = h("input", { type: "number", min: 0, max: 60000, name: "minMs" });
  const maxMs = h("input", { type: "number", min: 0, max: 60000, name: "maxMs" });
  const failureRate = h("input", { type: "number", min: 0, max: 1, step: 0.05, name: "failureRate" });

  async function draw() {
    const all = (await attempt(() => api("GET", "/ops/services"))) || [];
    services.replaceChildren(table(
      ["Service", "Ready", "Breaker", "Consumer lag", "Outbox backlog", "Oldest pending (s)", "Parked", "Dead letters", "Events consumed", "In flight"],
      all.map((s) => h("tr", { "data-service": s.service },
        h("th", { scope: "row" }, s.service),
        h("td", { class: s.ready ? "ok" : "bad" }, s.reachable ? (s.ready ? "ready" : "not ready") : "unreachable"),
        h("td", {}, s.metrics.payment_breaker_open === undefined ? "—" : s.metrics.payment_breaker_open > 0 ? "open" : "closed"),
        h("td", {}, num(s.metrics, "kafka_consumer_lag")), h("td", {}, num(s.metrics, "outbox_pending")),
        h("td", {}, num(s.metrics, "outbox_oldest_pending_age_seconds")),
        h("td", {}, num(s.metrics, "outbox_parked")), h("td", {}, num(s.metrics, "events_dead_lettered_total")),
        h("td", {}, num(s.metrics, "events_consumed_total")),
        h("td", {}, num(s.metrics, "admission_in_flight")))),
      "Each service, as its own /health/ready and /metrics say"));
    const counts = await Promise.all(OUTBOXES.map(async (name) => {
      const rows = await api("GET", `/admin/${name}/outbox`).catch(() => null);
      return h("li", {}, `${name}: ${rows === null ? "unknown" : `${rows.length} parked`}`);
    }));
    parked.replaceChildren(h("ul", {}, counts));
  }

  async function loadFaults() {
    const f = await attempt(() => api("GET", "/admin/payment/faults"));
    if (!f) return;
    minMs.value = f.delay.minMs; maxMs.value = f.delay.maxMs; failureRate.value = f.failureRate;
  }

  mount(
    section("Services", services),
    section("Parked outbox rows", h("p", {}, "Events a relay gave up publishing (retry or drop them with ./dev outbox)."), parked),
    section("Payment faults",
      h("p", {}, "Slow or failing payments, for experiments with the order service's circuit breaker."),
      h("form", { "aria-label": "Payment faults", onsubmit: async (e) => {
        e.preventDefault();
        const saved = await attempt(() => api("PUT", "/admin/payment/faults", {
          delay: { minMs: Number(minMs.value), maxMs: Number(maxMs.value) }, failureRate: Number(failureRate.value),
        }));
        if (saved) flash("payment faults saved");
      } }, field("Delay from (ms)", minMs), field("Delay to (ms)", maxMs), field("Failure rate (0–1)", failureRate),
        h("button", { type: "submit" }, "Save faults"), " ",
        h("button", { type: "button", onclick: async () => {
          const saved = await attempt(() => api("PUT", "/admin/payment/faults", { delay: { minMs: 0, maxMs: 0 }, failureRate: 0 }));
          if (saved) { flash("payment faults off"); loadFaults(); }
        } }, "Turn off"))),
  );
  await Promise.all([draw(), loadFaults()]);
  const timer = setInterval(draw, 3000);
  return () => clearInterval(timer);
}
