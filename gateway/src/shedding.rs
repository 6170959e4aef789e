//! New work refused at the gateway once its service has started refusing it.
//!
//! Past capacity, most new orders are refused by the order service's own limiter, in
//! microseconds there; but each refusal still costs a proxy hop, an HTTP exchange and the CPU
//! of both processes, on the same cores as the orders being served, and its latency is that of
//! the busiest link. So when a service answers a new-work request with an admission refusal
//! (`503` with `x-refused: busy`), the gateway learns how much new work the service takes: the
//! number of new-work requests it had in flight to that service at that moment, less one. While
//! the service keeps refusing, the gateway lets no more than that through and refuses the rest
//! itself. The cap creeps up by a tenth of a request for each new-work answer that was not a
//! refusal, so it keeps probing for capacity (about one probe refused upstream per ten orders
//! served), and it is lifted when the service has refused nothing for `HOLD`.
//!
//! Only new work is gated: requests on existing orders are never refused here for this reason.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::time::Instant;

/// How long after the service's last refusal the cap holds.
pub const HOLD: Duration = Duration::from_secs(1);
/// What each answer that was not a refusal adds to the cap.
const PROBE: f64 = 0.1;

/// One service's new work, as seen from the gateway.
#[derive(Debug)]
pub struct NewWorkGate {
    name: &'static str,
    state: Mutex<Gate>,
}

#[derive(Debug, Default)]
struct Gate {
    in_flight: usize,
    /// The most new-work requests let through at once while the service refuses some.
    cap: Option<f64>,
    last_refusal: Option<Instant>,
}

impl Gate {
    /// The cap, if the service refused something within `HOLD` of `now`.
    fn cap(&mut self, now: Instant) -> Option<f64> {
        if self
            .last_refusal
            .is_some_and(|at| now.saturating_duration_since(at) >= HOLD)
        {
            self.cap = None;
            self.last_refusal = None;
        }
        self.cap
    }
}

impl NewWorkGate {
    /// `name` (the service) labels its metrics.
    pub fn new(name: &'static str) -> Arc<Self> {
        Arc::new(Self {
            name,
            state: Mutex::new(Gate::default()),
        })
    }

    fn gate(&self) -> MutexGuard<'_, Gate> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A pass for one new-work request, or `None` when the gateway refuses it itself.
    pub fn enter(self: &Arc<Self>) -> Option<GatePass> {
        self.enter_at(Instant::now())
    }

    fn enter_at(self: &Arc<Self>, now: Instant) -> Option<GatePass> {
        let mut gate = self.gate();
        if let Some(cap) = gate.cap(now)
            && gate.in_flight as f64 >= cap.floor()
        {
            metrics::counter!("gateway_new_work_shed_total", "upstream" => self.name).increment(1);
            return None;
        }
        gate.in_flight += 1;
        Some(GatePass {
            gate: Arc::clone(self),
            settled: false,
        })
    }

    /// The cap now, if one holds (for tests and metrics).
    pub fn cap(&self) -> Option<usize> {
        self.gate().cap(Instant::now()).map(|c| c.floor() as usize)
    }

    fn settle(&self, refused: bool, now: Instant) {
        let mut gate = self.gate();
        let in_flight = gate.in_flight;
        gate.in_flight -= 1;
        let cap = gate.cap(now);
        let cap = if refused {
            gate.last_refusal = Some(now);
            // It had `in_flight` (this one included) and took no more.
            let seen = in_flight.saturating_sub(1).max(1) as f64;
            Some(cap.map_or(seen, |c| c.min(seen)))
        } else {
            cap.map(|c| c + PROBE)
        };
        gate.cap = cap;
        metrics::gauge!("gateway_new_work_cap", "upstream" => self.name)
            .set(cap.unwrap_or(0.0).floor());
    }
}

/// A new-work request let through the gate. Settle it with the service's answer; one dropped
/// unsettled (the client went away, the gateway refused it after all) only frees its place.
#[derive(Debug)]
pub struct GatePass {
    gate: Arc<NewWorkGate>,
    settled: bool,
}

impl GatePass {
    /// `refused`: the service answered with an admission refusal (`x-refused: busy`).
    pub fn settle(mut self, refused: bool) {
        // Marked first: `Drop` runs when this returns.
        self.settled = true;
        self.gate.settle(refused, Instant::now());
    }
}

impl Drop for GatePass {
    fn drop(&mut self) {
        if !self.settled {
            self.gate.gate().in_flight -= 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn passes(gate: &Arc<NewWorkGate>, n: usize, now: Instant) -> Vec<GatePass> {
        (0..n)
            .map(|_| gate.enter_at(now).expect("let through"))
            .collect()
    }

    #[test]
    fn nothing_is_refused_here_until_the_service_refuses() {
        let gate = NewWorkGate::new("order");
        let now = Instant::now();
        let held = passes(&gate, 1_000, now);
        assert_eq!(gate.cap(), None);
        drop(held);
    }

    #[test]
    fn after_a_refusal_no_more_than_the_service_took_go_through() {
        let gate = NewWorkGate::new("order");
        let now = Instant::now();
        let mut held = passes(&gate, 10, now);
        // The tenth is refused by the service: it takes nine at once.
        let refused = held.pop().unwrap();
        gate.settle(true, now);
        std::mem::forget(refused);
        assert_eq!(gate.cap(), Some(9));
        assert!(
            gate.enter_at(now).is_none(),
            "nine in flight: the tenth waits here"
        );
        // One served: a slot is free again.
        let served = held.pop().unwrap();
        gate.settle(false, now);
        std::mem::forget(served);
        assert!(gate.enter_at(now).is_some());
    }

    #[test]
    fn answers_served_raise_the_cap_by_a_tenth_each() {
        let gate = NewWorkGate::new("order");
        let now = Instant::now();
        let mut held = passes(&gate, 5, now);
        std::mem::forget(held.pop().unwrap());
        gate.settle(true, now);
        assert_eq!(gate.cap(), Some(4));
        std::mem::forget(held);
        // Fifteen served (each making room for the next): the cap is 4 + 1.5.
        for _ in 0..15 {
            gate.settle(false, now);
            std::mem::forget(gate.enter_at(now).expect("below the cap"));
        }
        assert_eq!(gate.cap(), Some(5));
    }

    #[test]
    fn the_cap_is_lifted_when_the_service_stops_refusing() {
        let gate = NewWorkGate::new("order");
        let start = Instant::now();
        let mut held = passes(&gate, 3, start);
        std::mem::forget(held.pop().unwrap());
        gate.settle(true, start);
        assert!(gate.enter_at(start).is_none());
        let later = start + HOLD;
        let more = passes(&gate, 100, later);
        drop(more);
        drop(held);
    }

    #[test]
    fn a_pass_dropped_unsettled_frees_its_place() {
        let gate = NewWorkGate::new("order");
        let now = Instant::now();
        let mut held = passes(&gate, 2, now);
        std::mem::forget(held.pop().unwrap());
        gate.settle(true, now);
        assert_eq!(gate.cap(), Some(1));
        assert!(gate.enter_at(now).is_none());
        drop(held);
        assert!(gate.enter_at(now).is_some());
    }
}
