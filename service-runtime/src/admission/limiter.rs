//! The slots: how many requests are in progress, against the limit, and who waits for one.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

use super::{AdmissionSettings, Priority};
use crate::deadline::Deadline;
use crate::limit::GradientLimit;

/// Why a request was not admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Every slot it may use stayed taken for as long as it could wait.
    Busy,
    /// It arrived with less time left than `min_budget`.
    Deadline,
}

impl Refusal {
    pub fn as_str(self) -> &'static str {
        match self {
            Refusal::Busy => "busy",
            Refusal::Deadline => "deadline",
        }
    }
}

/// Slots for requests in progress, up to an adaptive limit.
#[derive(Debug)]
pub struct Limiter {
    name: &'static str,
    settings: AdmissionSettings,
    state: Mutex<Slots>,
    released: Notify,
}

#[derive(Debug)]
struct Slots {
    limit: GradientLimit,
    in_flight: usize,
    waiting: usize,
}

impl Limiter {
    /// `name` labels its metrics (`admission_limit{limiter=...}`).
    pub fn new(name: &'static str, settings: AdmissionSettings) -> Arc<Self> {
        let limit = GradientLimit::new(
            settings.initial_limit,
            settings.min_limit,
            settings.max_limit,
            settings.tolerance,
        );
        crate::ops::prometheus(); // the first gauge must not go to no recorder
        metrics::gauge!("admission_limit", "limiter" => name).set(limit.limit() as f64);
        Arc::new(Self {
            name,
            settings,
            state: Mutex::new(Slots {
                limit,
                in_flight: 0,
                waiting: 0,
            }),
            released: Notify::new(),
        })
    }

    pub fn name(&self) -> &'static str {
        self.name
    }

    pub fn settings(&self) -> &AdmissionSettings {
        &self.settings
    }

    pub fn limit(&self) -> usize {
        self.slots().limit.limit()
    }

    pub fn in_flight(&self) -> usize {
        self.slots().in_flight
    }

    fn slots(&self) -> MutexGuard<'_, Slots> {
        // The counters stay consistent whatever panicked while holding the lock.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// How many slots requests of `priority` may fill at `limit`.
    fn capacity(&self, limit: usize, priority: Priority) -> usize {
        match priority {
            Priority::Ongoing => limit,
            Priority::New => {
                let reserved = (limit as f64 * self.settings.reserved_share).ceil() as usize;
                limit.saturating_sub(reserved).max(1)
            }
        }
    }

    fn try_admit(self: &Arc<Self>, route: &str, priority: Priority) -> Option<Permit> {
        let mut slots = self.slots();
        if slots.in_flight >= self.capacity(slots.limit.limit(), priority) {
            return None;
        }
        slots.in_flight += 1;
        metrics::gauge!("admission_in_flight", "limiter" => self.name).set(slots.in_flight as f64);
        Some(Permit {
            limiter: Arc::clone(self),
            route: route.to_owned(),
            started: Instant::now(),
            downstream: Duration::ZERO,
        })
    }

    /// A slot for a request of `route`, waiting at most `queue_timeout` (new work
    /// `new_work_queue_timeout`) and never past `deadline` less `min_budget`.
    pub async fn acquire(
        self: &Arc<Self>,
        route: &str,
        priority: Priority,
        deadline: Deadline,
    ) -> Result<Permit, Refusal> {
        let outcome = self.admit(route, priority, deadline).await;
        if let Err(refusal) = outcome {
            metrics::counter!("admission_refused_total", "limiter" => self.name,
                "priority" => priority.as_str(), "reason" => refusal.as_str())
            .increment(1);
        }
        outcome
    }

    async fn admit(
        self: &Arc<Self>,
        route: &str,
        priority: Priority,
        deadline: Deadline,
    ) -> Result<Permit, Refusal> {
        let usable = deadline
            .remaining()
            .saturating_sub(self.settings.min_budget);
        if usable.is_zero() {
            return Err(Refusal::Deadline);
        }
        if let Some(permit) = self.try_admit(route, priority) {
            return Ok(permit);
        }
        let queue = match priority {
            Priority::New => self.settings.new_work_queue_timeout,
            Priority::Ongoing => self.settings.queue_timeout,
        };
        let give_up = Instant::now() + queue.min(usable);
        let _waiting = {
            let mut slots = self.slots();
            // The queue holds at most as many requests as can run: more could not start in time.
            if slots.waiting >= slots.limit.limit() {
                return Err(Refusal::Busy);
            }
            slots.waiting += 1;
            Waiting(self)
        };
        loop {
            let released = self.released.notified();
            tokio::pin!(released);
            released.as_mut().enable();
            if let Some(permit) = self.try_admit(route, priority) {
                return Ok(permit);
            }
            if tokio::time::timeout_at(give_up, released).await.is_err() {
                return self.try_admit(route, priority).ok_or(Refusal::Busy);
            }
        }
    }

    fn release(&self, route: &str, latency: Duration) {
        {
            let mut slots = self.slots();
            let in_flight = slots.in_flight;
            slots.in_flight -= 1;
            let limit = slots.limit.on_sample(route, latency, in_flight);
            metrics::gauge!("admission_in_flight", "limiter" => self.name)
                .set(slots.in_flight as f64);
            metrics::gauge!("admission_limit", "limiter" => self.name).set(limit as f64);
        }
        // Every waiter looks: the one woken might be new work that may not take the slot.
        self.released.notify_waiters();
    }
}

/// Counts a request among the waiting until it stops waiting, however it stops.
struct Waiting<'a>(&'a Limiter);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.slots().waiting -= 1;
    }
}

/// A slot held by a request in progress; dropping it frees the slot and reports the request's
/// latency to the limit, less the time it spent waiting on another service.
#[derive(Debug)]
pub struct Permit {
    limiter: Arc<Limiter>,
    route: String,
    started: Instant,
    downstream: Duration,
}

impl Permit {
    /// Leaves `waited` (time spent on another service's answer) out of the latency reported:
    /// a dependency that is slow but healthy is not congestion here, and has its own bulkhead,
    /// breaker and timeout.
    pub fn discount(&mut self, waited: Duration) {
        self.downstream += waited;
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        let own = self.started.elapsed().saturating_sub(self.downstream);
        self.limiter.release(&self.route, own);
    }
}
