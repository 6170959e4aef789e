//! Deadlines that travel with a request.
//!
//! The gateway gives each request a budget (its route's timeout) and tells the service how much
//! of it is left in the `x-request-budget-ms` header: milliseconds, relative like gRPC's
//! `grpc-timeout`, so that no two clocks need to agree. A service stops working on a request
//! when its budget runs out, refuses one that arrives with too little left to do anything
//! useful, and passes what remains on to the services it calls in turn.

use std::time::Duration;

use axum::http::{HeaderMap, HeaderValue};
use tokio::time::Instant;

/// Milliseconds the caller will still wait for the answer, counted from when it sent the request.
pub const HEADER: &str = "x-request-budget-ms";

tokio::task_local! {
    static CURRENT: Deadline;
}

/// The moment by which a request must be answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Deadline(Instant);

impl Deadline {
    pub fn after(budget: Duration) -> Self {
        Self(Instant::now() + budget)
    }

    pub fn at(instant: Instant) -> Self {
        Self(instant)
    }

    /// The caller's deadline from its `x-request-budget-ms`, if it sent a valid one.
    pub fn from_headers(headers: &HeaderMap) -> Option<Self> {
        let millis: u64 = headers.get(HEADER)?.to_str().ok()?.trim().parse().ok()?;
        Some(Self::after(Duration::from_millis(millis)))
    }

    /// The earlier of the caller's deadline, if any, and `budget` from now.
    pub fn for_request(headers: &HeaderMap, budget: Duration) -> Self {
        let own = Self::after(budget);
        Self::from_headers(headers).map_or(own, |caller| caller.min(own))
    }

    pub fn instant(self) -> Instant {
        self.0
    }

    /// Time left; zero once passed.
    pub fn remaining(self) -> Duration {
        self.0.saturating_duration_since(Instant::now())
    }

    /// The header value that passes the time left on to the next hop, less `reserve` (the time
    /// this hop needs to send the answer back).
    pub fn header_value(self, reserve: Duration) -> HeaderValue {
        HeaderValue::from(self.remaining().saturating_sub(reserve).as_millis() as u64)
    }

    /// The deadline of the request the current task is serving, if any.
    pub fn current() -> Option<Self> {
        CURRENT.try_with(|d| *d).ok()
    }

    /// Runs `fut` with this as the current deadline.
    pub async fn scope<F: Future>(self, fut: F) -> F::Output {
        CURRENT.scope(self, fut).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(HEADER, HeaderValue::from_str(value).unwrap());
        headers
    }

    #[tokio::test(start_paused = true)]
    async fn the_budget_counts_down_from_when_the_request_arrived() {
        let deadline = Deadline::from_headers(&headers("250")).unwrap();
        assert_eq!(deadline.remaining(), Duration::from_millis(250));
        tokio::time::advance(Duration::from_millis(100)).await;
        assert_eq!(deadline.remaining(), Duration::from_millis(150));
        tokio::time::advance(Duration::from_millis(200)).await;
        assert_eq!(deadline.remaining(), Duration::ZERO);
    }

    #[tokio::test(start_paused = true)]
    async fn the_earlier_of_the_callers_deadline_and_the_services_own_wins() {
        let caller = Deadline::for_request(&headers("300"), Duration::from_secs(10));
        assert_eq!(caller.remaining(), Duration::from_millis(300));
        let own = Deadline::for_request(&headers("60000"), Duration::from_secs(10));
        assert_eq!(own.remaining(), Duration::from_secs(10));
        let none = Deadline::for_request(&HeaderMap::new(), Duration::from_secs(10));
        assert_eq!(none.remaining(), Duration::from_secs(10));
    }

    #[tokio::test(start_paused = true)]
    async fn a_malformed_budget_is_ignored() {
        for bad in ["", "soon", "-5", "1.5"] {
            assert_eq!(Deadline::from_headers(&headers(bad)), None, "{bad}");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn the_next_hop_gets_what_is_left_less_the_reserve() {
        let deadline = Deadline::after(Duration::from_millis(1000));
        tokio::time::advance(Duration::from_millis(300)).await;
        let value = deadline.header_value(Duration::from_millis(50));
        assert_eq!(value, HeaderValue::from(650u64));
        tokio::time::advance(Duration::from_secs(1)).await;
        assert_eq!(deadline.header_value(Duration::from_millis(50)), "0");
    }

    #[tokio::test(start_paused = true)]
    async fn the_current_deadline_is_known_inside_its_scope_only() {
        let deadline = Deadline::after(Duration::from_secs(1));
        assert_eq!(
            deadline.scope(async { Deadline::current() }).await,
            Some(deadline)
        );
        assert_eq!(Deadline::current(), None);
    }
}
