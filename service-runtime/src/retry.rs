//! Retries that cannot turn an overload into a bigger one.
//!
//! A retry is safe only when the first attempt cannot have done anything (the connection was
//! refused, the service refused the request at its door) or when the call is idempotent (a
//! charge keyed by its order id: a repeat finds what the first did), and it is worth making
//! only when it does not add load the callee cannot take. Two rules, after Finagle's and gRPC's retry budgets:
//!
//! - **A budget per callee.** Every first attempt deposits `ratio` of a token (0.1 by default),
//!   every retry withdraws one, and the balance never exceeds `burst`. So over any stretch of
//!   time retries are at most a tenth of the calls (plus `burst`, for a quiet service that has
//!   one bad moment): when everything fails, the callee sees 1.1× the load, never 2× or 3×.
//! - **Jittered, exponential backoff within the deadline.** The n-th retry waits a random time
//!   up to `base × 2ⁿ` (at most `cap`): callers refused together do not come back together. A
//!   retry whose wait would leave less than `min_left` of the request's time is not made.
//!
//! The policy decides; the caller says what is retryable (it knows what its errors mean).
//!
//! [`Backoff`] is the one backoff policy of the system: these retries, a consumer's retries of
//! a failing event, the notification dispatcher's resends, a service waiting for its database
//! at start-up and the chaos driver's retries all wait by it.

use std::sync::Mutex;
use std::time::Duration;

use rand::Rng;

use crate::deadline::Deadline;

/// Exponential backoff: the wait after failed attempt number `n` (1 for the first) is
/// `first × 2ⁿ⁻¹`, at most `cap`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    pub first: Duration,
    pub cap: Duration,
}

impl Backoff {
    pub const fn new(first: Duration, cap: Duration) -> Self {
        Self { first, cap }
    }

    /// The wait after failed attempt number `attempt` (1 for the first; 0 counts as 1).
    pub fn delay(&self, attempt: u32) -> Duration {
        self.first
            .saturating_mul(1 << attempt.saturating_sub(1).min(16))
            .min(self.cap)
    }

    /// [`Backoff::delay`] with "equal jitter": uniform in `[delay / 2, delay]`, never zero, so
    /// that callers refused together do not come back together, nor in the same instant.
    pub fn jittered(&self, attempt: u32, rng: &mut impl Rng) -> Duration {
        let ceiling = self.delay(attempt);
        let half = ceiling / 2;
        half + ceiling.saturating_sub(half).mul_f64(rng.random::<f64>())
    }
}

/// Retries for calls to one service: how many, how far apart, within what budget.
#[derive(Debug)]
pub struct RetryPolicy {
    /// Labels the `retries_total` metric.
    name: &'static str,
    /// Attempts in all, the first included.
    max_attempts: u32,
    backoff: Backoff,
    min_left: Duration,
    budget: RetryBudget,
}

impl RetryPolicy {
    /// The longest wait before a retry of [`RetryPolicy::new`]'s policy: its backoff's cap.
    pub const LONGEST_WAIT: Duration = Duration::from_millis(100);

    /// At most one retry, 5–10 ms after the first attempt, within a budget of a tenth of the calls (burst 10),
    /// and only with 50 ms of the request's time left after the wait.
    pub fn new(name: &'static str) -> Self {
        Self {
            name,
            max_attempts: 2,
            backoff: Backoff::new(Duration::from_millis(10), Self::LONGEST_WAIT),
            min_left: Duration::from_millis(50),
            budget: RetryBudget::new(0.1, 10.0),
        }
    }

    pub fn with_max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts.max(1);
        self
    }

    pub fn with_budget(mut self, budget: RetryBudget) -> Self {
        self.budget = budget;
        self
    }

    /// Call before each first attempt: it earns the budget its share of a retry.
    pub fn first_attempt(&self) {
        self.budget.deposit();
    }

    /// After failed attempt number `attempt` (1 for the first) with a retryable error: how long
    /// to wait before the next one, or `None` when no retry may be made (attempts used up, too
    /// little time left before `deadline`, or the budget spent).
    pub fn next_delay(&self, attempt: u32, deadline: Option<Deadline>) -> Option<Duration> {
        if attempt >= self.max_attempts {
            return None;
        }
        let delay = self.backoff.jittered(attempt, &mut rand::rng());
        if let Some(deadline) = deadline
            && deadline.remaining() < delay + self.min_left
        {
            metrics::counter!("retries_total", "client" => self.name, "outcome" => "no_time")
                .increment(1);
            return None;
        }
        if !self.budget.withdraw() {
            metrics::counter!("retries_total", "client" => self.name, "outcome" => "no_budget")
                .increment(1);
            return None;
        }
        metrics::counter!("retries_total", "client" => self.name, "outcome" => "retried")
            .increment(1);
        Some(delay)
    }
}

/// Tokens for retries: earned by first attempts, spent by retries (see the module's docs).
/// Counted in thousandths of a token, so that ten tenths make exactly one.
#[derive(Debug)]
pub struct RetryBudget {
    ratio: u64,
    burst: u64,
    balance: Mutex<u64>,
}

const TOKEN: u64 = 1_000;

impl RetryBudget {
    /// Each first attempt earns `ratio` of a retry; at most `burst` retries are saved up. It
    /// starts full, so that the first failure of a quiet service may be retried.
    pub fn new(ratio: f64, burst: f64) -> Self {
        let thousandths = |x: f64| (x.max(0.0) * TOKEN as f64).round() as u64;
        let burst = thousandths(burst);
        Self {
            ratio: thousandths(ratio),
            burst,
            balance: Mutex::new(burst),
        }
    }

    pub fn deposit(&self) {
        let mut balance = self.balance.lock().unwrap_or_else(|e| e.into_inner());
        *balance = (*balance + self.ratio).min(self.burst);
    }

    /// Takes one retry's token, if there is one.
    pub fn withdraw(&self) -> bool {
        let mut balance = self.balance.lock().unwrap_or_else(|e| e.into_inner());
        match balance.checked_sub(TOKEN) {
            Some(left) => {
                *balance = left;
                true
            }
            None => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    use super::*;

    #[test]
    fn retries_are_at_most_a_tenth_of_the_calls_plus_the_burst() {
        let budget = RetryBudget::new(0.1, 10.0);
        let mut retries = 0;
        // Every call fails and asks for a retry.
        for _ in 0..10_000 {
            budget.deposit();
            if budget.withdraw() {
                retries += 1;
            }
        }
        assert!(
            (1_000..=1_010).contains(&retries),
            "{retries} retries for 10,000 calls"
        );
    }

    #[test]
    fn a_quiet_callee_gets_its_burst_and_no_more() {
        let budget = RetryBudget::new(0.1, 3.0);
        assert!(budget.withdraw() && budget.withdraw() && budget.withdraw());
        assert!(!budget.withdraw());
        for _ in 0..9 {
            budget.deposit();
        }
        assert!(!budget.withdraw(), "nine calls earn less than one retry");
        budget.deposit();
        assert!(budget.withdraw());
    }

    #[test]
    fn the_balance_never_exceeds_the_burst() {
        let budget = RetryBudget::new(0.5, 2.0);
        for _ in 0..100 {
            budget.deposit();
        }
        assert!(budget.withdraw() && budget.withdraw());
        assert!(!budget.withdraw());
    }

    #[test]
    fn waits_double_within_their_jitter_and_stop_at_the_cap() {
        let mut rng = StdRng::seed_from_u64(7);
        let base = Duration::from_millis(10);
        let cap = Duration::from_millis(100);
        let backoff = Backoff::new(base, cap);
        for _ in 0..1_000 {
            let first = backoff.jittered(1, &mut rng);
            assert!(
                first >= Duration::from_millis(5) && first <= base,
                "{first:?}"
            );
            let third = backoff.jittered(3, &mut rng);
            assert!(third >= Duration::from_millis(20) && third <= Duration::from_millis(40));
            let late = backoff.jittered(40, &mut rng);
            assert!(late >= cap / 2 && late <= cap, "{late:?}");
        }
    }

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(1));
        let waits: Vec<_> = (0..=6).map(|a| backoff.delay(a).as_millis()).collect();
        assert_eq!(waits, [100, 100, 200, 400, 800, 1000, 1000]);
        assert_eq!(
            backoff.delay(u32::MAX),
            Duration::from_secs(1),
            "no overflow"
        );
    }

    #[test]
    fn no_retry_past_the_attempts_the_deadline_or_the_budget() {
        let policy = RetryPolicy::new("test").with_budget(RetryBudget::new(0.0, 1.0));
        assert_eq!(policy.next_delay(2, None), None, "two attempts at most");
        let soon = Deadline::after(Duration::from_millis(30));
        assert_eq!(policy.next_delay(1, Some(soon)), None, "no time for a wait");
        let later = Deadline::after(Duration::from_secs(5));
        assert!(policy.next_delay(1, Some(later)).is_some());
        assert_eq!(
            policy.next_delay(1, Some(later)),
            None,
            "the budget is spent"
        );
    }
}
