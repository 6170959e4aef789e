//! Admission control: a service takes on only as much work as it can finish in time, and refuses
//! the rest at once (503, `Retry-After`, problem+json) instead of queueing it until timeouts.
//!
//! A [`Limiter`] admits up to an adaptive concurrency limit ([`crate::limit`]) and lets a request
//! wait for a free slot only briefly (`queue_timeout`, new work less, and never past its
//! deadline). New work
//! (a new order) may use only part of the limit: a share is reserved for work on what exists
//! already (accepting, cooking, delivering or cancelling an order), so when something must be
//! refused, new work is refused first. The operational endpoints are never behind it.
//!
//! Why not `tower::limit::ConcurrencyLimit` with `tower::load_shed`: that pair is a fixed limit
//! with no queue at all (refuse the moment every slot is taken) or, without `load_shed`, an
//! unbounded one, and it has no notion of priority. The slots here are a counter under a mutex
//! beside the limit it is compared with, because the limit changes with every request.

mod limiter;

pub use limiter::{Limiter, Permit, Refusal};

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::Problem;
use crate::deadline::Deadline;
use crate::limit::DEFAULT_TOLERANCE;
use crate::settings::var;

/// On every answer of admission control's (`busy` or `deadline`): the request was refused
/// before any work was done on it. A caller may tell it from the service's other 503s (payment
/// unavailable, a database pool timeout): the gateway sheds new work on it, and a client knows
/// that a retry is safe, whatever the method.
pub const REFUSED_HEADER: &str = "x-refused";

/// Which requests are refused first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Priority {
    /// Starts something new (places an order): refused first.
    New,
    /// Moves something that exists already (an order paid for): the reserved share is its own.
    Ongoing,
}

impl Priority {
    pub fn as_str(self) -> &'static str {
        match self {
            Priority::New => "new",
            Priority::Ongoing => "ongoing",
        }
    }
}

/// Admission control's settings. Environment variables (read by [`from_env`](Self::from_env)):
///
/// | variable | default (services / gateway) | meaning |
/// |---|---|---|
/// | `ADMISSION_ENABLED` | `true` | `false` admits everything (deadlines still apply) |
/// | `ADMISSION_MAX_LIMIT` | `32` / `512` | most requests in progress at once; size it from Little's law |
/// | `ADMISSION_MIN_LIMIT` | `8` / `256` | the limit never shrinks below this |
/// | `ADMISSION_INITIAL_LIMIT` | `16` / `256` | the limit at start-up |
/// | `ADMISSION_LATENCY_TOLERANCE` | `2.0` | how much slower than its baseline a route may get before the limit shrinks |
/// | `ADMISSION_QUEUE_MS` | `100` | the longest work on what exists waits for a free slot before it is refused |
/// | `ADMISSION_NEW_WORK_QUEUE_MS` | `10` | the same for new work, refused first and fastest |
/// | `ADMISSION_RESERVED_SHARE` | `0.25` | share of the limit new work may not use |
/// | `ADMISSION_MIN_BUDGET_MS` | `20` | a request with less time left than this is refused at once |
/// | `ADMISSION_RETRY_AFTER_S` | `1` | `Retry-After` of a refusal |
#[derive(Debug, Clone)]
pub struct AdmissionSettings {
    pub enabled: bool,
    pub max_limit: usize,
    pub min_limit: usize,
    pub initial_limit: usize,
    pub tolerance: f64,
    pub queue_timeout: Duration,
    pub new_work_queue_timeout: Duration,
    pub reserved_share: f64,
    pub min_budget: Duration,
    pub retry_after: u64,
    /// Routes (method and route pattern, e.g. `POST /orders`) that start new work. Declared in
    /// code by the service, not read from the environment.
    pub new_work: Vec<(Method, &'static str)>,
}

impl Default for AdmissionSettings {
    /// A service's defaults.
    fn default() -> Self {
        Self {
            enabled: true,
            max_limit: 32,
            min_limit: 8,
            initial_limit: 16,
            tolerance: DEFAULT_TOLERANCE,
            // Work on what exists (an owner accepting, a rider delivering) must not fail for a
            // burst or a stall of the machine of a few tens of milliseconds: it waits longer
            // than new work, which is refused first and fastest.
            queue_timeout: Duration::from_millis(100),
            new_work_queue_timeout: Duration::from_millis(10),
            reserved_share: 0.25,
            min_budget: Duration::from_millis(20),
            retry_after: 1,
            new_work: Vec::new(),
        }
    }
}

impl AdmissionSettings {
    /// The gateway's defaults: one limiter per upstream service, wide enough that the services'
    /// own limiters decide (the order service's covers its payment bulkhead, 163 by default,
    /// and the gateway cannot tell payment's wait from congestion), there to stop a service that
    /// hangs from piling requests up here.
    pub fn gateway() -> Self {
        Self {
            max_limit: 512,
            min_limit: 256,
            initial_limit: 256,
            ..Self::default()
        }
    }

    /// `defaults`, overridden by the `ADMISSION_*` variables that are set.
    pub fn from_env(defaults: Self) -> anyhow::Result<Self> {
        Ok(Self {
            enabled: var("ADMISSION_ENABLED", defaults.enabled)?,
            max_limit: var("ADMISSION_MAX_LIMIT", defaults.max_limit)?,
            min_limit: var("ADMISSION_MIN_LIMIT", defaults.min_limit)?,
            initial_limit: var("ADMISSION_INITIAL_LIMIT", defaults.initial_limit)?,
            tolerance: var("ADMISSION_LATENCY_TOLERANCE", defaults.tolerance)?,
            queue_timeout: Duration::from_millis(var(
                "ADMISSION_QUEUE_MS",
                defaults.queue_timeout.as_millis() as u64,
            )?),
            new_work_queue_timeout: Duration::from_millis(var(
                "ADMISSION_NEW_WORK_QUEUE_MS",
                defaults.new_work_queue_timeout.as_millis() as u64,
            )?),
            reserved_share: var("ADMISSION_RESERVED_SHARE", defaults.reserved_share)?,
            min_budget: Duration::from_millis(var(
                "ADMISSION_MIN_BUDGET_MS",
                defaults.min_budget.as_millis() as u64,
            )?),
            retry_after: var("ADMISSION_RETRY_AFTER_S", defaults.retry_after)?,
            new_work: defaults.new_work,
        })
    }

    /// A limit that does not adapt (tests, or a service sized by hand).
    pub fn fixed(limit: usize) -> Self {
        Self {
            max_limit: limit,
            min_limit: limit,
            initial_limit: limit,
            ..Self::default()
        }
    }

    /// Marks `method route` as new work, refused before anything else.
    pub fn with_new_work(mut self, method: Method, route: &'static str) -> Self {
        self.new_work.push((method, route));
        self
    }

    pub fn priority(&self, method: &Method, route: &str) -> Priority {
        if self
            .new_work
            .iter()
            .any(|(m, r)| m == method && *r == route)
        {
            Priority::New
        } else {
            Priority::Ongoing
        }
    }

    /// The answer to a request refused at the door: a 503 problem, `Retry-After`, and
    /// [`REFUSED_HEADER`] saying why.
    pub fn refuse(&self, refusal: Refusal) -> Response {
        let problem = match refusal {
            Refusal::Busy => self.busy(),
            Refusal::Deadline => self.deadline_exceeded(),
        };
        let mut response = problem.into_response();
        response
            .headers_mut()
            .insert(REFUSED_HEADER, HeaderValue::from_static(refusal.as_str()));
        response
    }

    /// 503 for a request refused because the service is at its limit.
    pub fn busy(&self) -> Problem {
        Problem::unavailable(
            "overloaded",
            "the service is at capacity; try again shortly",
            self.retry_after,
        )
    }

    /// 503 for a request whose time budget is (nearly) spent.
    pub fn deadline_exceeded(&self) -> Problem {
        Problem::unavailable(
            "deadline_exceeded",
            "the request's time ran out before it could be served; try again",
            self.retry_after,
        )
    }
}

/// The middleware in front of a service's own routes: the caller's deadline (refused at once if
/// nearly spent), a slot from the limiter (or 503), and the handler cut off when the deadline
/// passes (503).
#[derive(Clone)]
pub struct Admission {
    limiter: Arc<Limiter>,
    request_timeout: Duration,
}

impl Admission {
    pub fn new(limiter: Arc<Limiter>, request_timeout: Duration) -> Self {
        Self {
            limiter,
            request_timeout,
        }
    }
}

/// Time a request spent waiting on another service's answer. A handler that calls one puts it
/// in its response's extensions, and the limit leaves it out of the request's latency: a slow
/// but healthy dependency (payment answering in 400–620 ms) is not this service's congestion,
/// and the dependency has its own bulkhead, breaker and timeout. The request still holds its
/// slot while it waits, so a service with such a dependency needs a limit that covers it
/// (the order service: its payment bulkhead).
#[derive(Debug, Clone, Copy)]
pub struct Downstream(pub Duration);

pub async fn admit(State(admission): State<Admission>, request: Request, next: Next) -> Response {
    let limiter = &admission.limiter;
    let settings = limiter.settings();
    let deadline = Deadline::for_request(request.headers(), admission.request_timeout);
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", MatchedPath::as_str);
    let key = format!("{} {route}", request.method());
    let priority = settings.priority(request.method(), route);
    let mut permit = if settings.enabled {
        match limiter.acquire(&key, priority, deadline).await {
            Ok(permit) => Some(permit),
            Err(refusal) => return settings.refuse(refusal),
        }
    } else if deadline.remaining() < settings.min_budget {
        return settings.refuse(Refusal::Deadline);
    } else {
        None
    };
    let answer =
        tokio::time::timeout_at(deadline.instant(), deadline.scope(next.run(request))).await;
    if let (Some(permit), Ok(response)) = (permit.as_mut(), answer.as_ref())
        && let Some(Downstream(waited)) = response.extensions().get()
    {
        permit.discount(*waited);
    }
    drop(permit);
    match answer {
        Ok(response) => response,
        Err(_) => {
            tracing::warn!(route = %key, "request cut off at its deadline");
            metrics::counter!("admission_deadline_expired_total", "limiter" => limiter.name())
                .increment(1);
            // Not a refusal: the handler had begun, and may have done part of its work.
            settings.deadline_exceeded().into_response()
        }
    }
}

#[cfg(test)]
mod tests;
