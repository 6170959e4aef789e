//! The adaptive concurrency limit behind admission control, as pure arithmetic: no clock, no
//! locks, so that its behaviour can be tested sample by sample.
//!
//! The shape is Netflix concurrency-limits' Gradient2 (and Envoy's adaptive concurrency): compare
//! the latency of the last few requests with a baseline, shrink the limit in proportion when they
//! are slower than `tolerance` times the baseline, and otherwise let it grow by about its square
//! root (a little headroom to find out whether more concurrency helps), smoothed. Two changes
//! make it fit services whose routes differ tenfold in latency and whose overload may last:
//!
//! - Latency is compared per route: each route keeps its own baseline, and what is averaged is
//!   the ratio of a request's latency to its route's baseline. A slow route is not congestion.
//! - A baseline follows the fast end of its route's latencies: faster requests pull it down
//!   fifty times harder than slower ones push it up, and only requests close to it (within a
//!   quarter) push, and none while the limit is shrinking. So a sustained overload cannot teach
//!   the limiter that slow is normal, which is how Gradient2's long average drifts under a long
//!   overload. At the minimum limit any request pushes: requests that are slow at the lowest
//!   concurrency are slow for another reason (a slower database), and that is the new baseline
//!   (Envoy measures its baseline at a pinned low concurrency for the same reason).
//!
//! The limit never leaves `[min, max]`: `max`, sized from Little's law, is the guarantee; the
//! gradient keeps the limit below it while latency says the service is congested.

use std::collections::HashMap;
use std::time::Duration;

/// How much slower than the baseline the recent requests may be before the limit shrinks.
pub const DEFAULT_TOLERANCE: f64 = 2.0;
/// The weight of a new limit against the old one (Gradient2's smoothing).
const SMOOTHING: f64 = 0.2;
/// Requests averaged into the recent latency ratio (one slow request among them is noise).
const SHORT_WINDOW: f64 = 25.0;
/// The weight a faster request has in its route's baseline: the baseline follows the fast end
/// of the latencies (about their tenth percentile), not the single fastest request ever.
const BASELINE_FALL: f64 = 0.1;
/// The weight a slower request has, if it is at most BASELINE_BAND times the baseline and the
/// limit is not shrinking; at the minimum limit, whatever its latency.
const BASELINE_RISE: f64 = 0.002;
const BASELINE_BAND: f64 = 1.25;
/// A shrink is never below half the limit at once.
const MIN_GRADIENT: f64 = 0.5;

#[derive(Debug, Clone)]
pub struct GradientLimit {
    limit: f64,
    min: f64,
    max: f64,
    tolerance: f64,
    /// Recent latency over baseline, exponentially averaged over about SHORT_WINDOW requests.
    ratio: f64,
    baselines: HashMap<String, f64>,
}

impl GradientLimit {
    /// Starts at `initial`, kept within `min..=max` (`min` at least 1).
    pub fn new(initial: usize, min: usize, max: usize, tolerance: f64) -> Self {
        let min = min.max(1) as f64;
        let max = (max as f64).max(min);
        Self {
            limit: (initial as f64).clamp(min, max),
            min,
            max,
            tolerance: tolerance.max(1.0),
            ratio: 1.0,
            baselines: HashMap::new(),
        }
    }

    /// The current limit, in whole requests.
    pub fn limit(&self) -> usize {
        self.limit.floor() as usize
    }

    /// The recent latency over the baseline (1.0 = as fast as ever).
    pub fn latency_ratio(&self) -> f64 {
        self.ratio
    }

    /// A request of `route` finished after `latency`, `in_flight` requests (itself included)
    /// having been admitted when it did. Returns the new limit.
    pub fn on_sample(&mut self, route: &str, latency: Duration, in_flight: usize) -> usize {
        let latency = latency.as_secs_f64().max(1e-6);
        let at_minimum = self.limit <= self.min;
        let congested = self.ratio > self.tolerance;
        let baseline = self.baselines.entry(route.to_owned()).or_insert(latency);
        // Faster pulls the baseline down at once; slower pushes it up only gradually, and not
        // while the limit is fighting congestion above its minimum. At the minimum, what requests
        // take is what they take now.
        if latency < *baseline {
            *baseline += (latency - *baseline) * BASELINE_FALL;
        } else if at_minimum || (!congested && latency < *baseline * BASELINE_BAND) {
            *baseline += (latency - *baseline) * BASELINE_RISE;
        }
        // One request far slower than the rest moves the average no more than a few would.
        let sample = (latency / *baseline).min(2.0 * self.tolerance);
        let alpha = 2.0 / (SHORT_WINDOW + 1.0);
        self.ratio = self.ratio * (1.0 - alpha) + sample * alpha;

        let gradient = (self.tolerance / self.ratio).clamp(MIN_GRADIENT, 1.0);
        let target = if gradient < 1.0 {
            self.limit * gradient
        } else if in_flight as f64 * 2.0 >= self.limit {
            self.limit + self.limit.sqrt()
        } else {
            // Growing is earned by using the limit: a half-idle service proves nothing.
            self.limit
        };
        self.limit =
            (self.limit * (1.0 - SMOOTHING) + target * SMOOTHING).clamp(self.min, self.max);
        self.limit()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn a_busy_service_at_steady_latency_grows_its_limit_up_to_the_maximum() {
        let mut limit = GradientLimit::new(10, 2, 40, DEFAULT_TOLERANCE);
        for _ in 0..50 {
            let in_flight = limit.limit();
            limit.on_sample("POST /orders", ms(20), in_flight);
        }
        assert_eq!(limit.limit(), 40);
    }

    #[test]
    fn a_half_idle_service_keeps_its_limit() {
        let mut limit = GradientLimit::new(10, 2, 40, DEFAULT_TOLERANCE);
        for _ in 0..50 {
            limit.on_sample("POST /orders", ms(20), 3);
        }
        assert_eq!(limit.limit(), 10);
    }

    #[test]
    fn latency_far_above_the_baseline_shrinks_the_limit_down_to_the_minimum() {
        let mut limit = GradientLimit::new(30, 4, 40, DEFAULT_TOLERANCE);
        for _ in 0..20 {
            limit.on_sample("POST /orders", ms(20), 30);
        }
        let before = limit.limit();
        for _ in 0..30 {
            limit.on_sample("POST /orders", ms(200), 30);
        }
        assert!(
            limit.limit() < before * 2 / 3,
            "{} vs {before}",
            limit.limit()
        );
        for _ in 0..200 {
            limit.on_sample("POST /orders", ms(200), 30);
        }
        assert_eq!(limit.limit(), 4);
    }

    /// A service that needs 10 requests at once to be busy and queues beyond: 20 ms each up to
    /// 10 in flight, proportionally more above, with some spread.
    fn queueing(in_flight: usize, i: usize) -> Duration {
        let spread = [0.7, 1.0, 1.3, 0.9, 1.1][i % 5];
        Duration::from_secs_f64(0.020 * (in_flight as f64 / 10.0).max(1.0) * spread)
    }

    #[test]
    fn a_sustained_overload_does_not_become_the_new_normal() {
        let mut limit = GradientLimit::new(16, 8, 64, DEFAULT_TOLERANCE);
        for i in 0..50 {
            limit.on_sample("r", queueing(5, i), 5);
        }
        // More demand than it can take, for ten thousand requests: every slot is always used.
        let mut highest = 0;
        for i in 0..10_000 {
            let in_flight = limit.limit();
            limit.on_sample("r", queueing(in_flight, i), in_flight);
            if i > 1_000 {
                highest = highest.max(limit.limit());
            }
        }
        // Latency stays within about twice the unloaded: some 20-odd requests in flight, never
        // drifting up to the 64 allowed.
        assert!(highest <= 28, "the limit reached {highest}");
        assert!(limit.limit() >= 10, "the limit fell to {}", limit.limit());
    }

    #[test]
    fn a_slow_route_beside_a_fast_one_is_not_congestion() {
        let mut limit = GradientLimit::new(20, 2, 40, DEFAULT_TOLERANCE);
        for i in 0..200 {
            let (route, latency) = if i % 2 == 0 {
                ("GET /orders", ms(2))
            } else {
                ("POST /orders", ms(30))
            };
            limit.on_sample(route, latency, 20);
        }
        assert!(limit.latency_ratio() < 1.1);
        assert_eq!(limit.limit(), 40);
    }

    #[test]
    fn when_latency_falls_back_the_limit_grows_again() {
        let mut limit = GradientLimit::new(30, 4, 40, DEFAULT_TOLERANCE);
        for _ in 0..20 {
            limit.on_sample("r", ms(20), 30);
        }
        for _ in 0..100 {
            limit.on_sample("r", ms(100), 30);
        }
        assert_eq!(limit.limit(), 4);
        for _ in 0..100 {
            let in_flight = limit.limit();
            limit.on_sample("r", ms(20), in_flight);
        }
        assert_eq!(limit.limit(), 40);
    }

    #[test]
    fn at_the_minimum_a_lasting_slowdown_becomes_the_new_baseline() {
        let mut limit = GradientLimit::new(30, 4, 40, DEFAULT_TOLERANCE);
        for _ in 0..20 {
            limit.on_sample("r", ms(20), 30);
        }
        for _ in 0..100 {
            limit.on_sample("r", ms(80), 4);
        }
        assert_eq!(limit.limit(), 4);
        // The database got slower for good: even one request at a time takes 80 ms.
        for _ in 0..3000 {
            let in_flight = limit.limit();
            limit.on_sample("r", ms(80), in_flight);
        }
        assert!(limit.latency_ratio() < DEFAULT_TOLERANCE);
        assert_eq!(limit.limit(), 40);
    }

    #[test]
    fn the_limit_starts_within_its_bounds() {
        assert_eq!(GradientLimit::new(100, 2, 40, 1.5).limit(), 40);
        assert_eq!(GradientLimit::new(0, 0, 40, 1.5).limit(), 1);
    }
}
