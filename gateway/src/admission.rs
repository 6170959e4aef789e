//! Admission control at the entry: one limiter per service behind the gateway, so that a service
//! that stops answering fills its own slots and is refused at once (503) without holding up
//! the routes of the others, and the time budget each request gets.
//!
//! The limiters are wide (`AdmissionSettings::gateway`): each service's own, tighter limiter
//! decides what it can take, and refuses in microseconds; these are the backstop. Within each,
//! a new order is new work, refused before the reserved share of the limit is touched.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::http::{HeaderMap, Method};
use service_runtime::Problem;
use service_runtime::admission::{AdmissionSettings, Limiter, Permit, Refusal};
use service_runtime::deadline::Deadline;

use crate::rules::{Route, Upstream};
use crate::settings::Upstreams;

/// The time a service's answer needs to come back through the gateway: the budget sent on is
/// this much shorter than the gateway's own wait, so that a service that runs out of time
/// answers 503 itself, and the gateway's 504 means it did not answer at all.
pub const REPLY_RESERVE: Duration = Duration::from_millis(100);

#[derive(Clone)]
pub struct EntryAdmission {
    limiters: Arc<HashMap<Upstream, Arc<Limiter>>>,
    settings: Arc<AdmissionSettings>,
    upstreams: Arc<Upstreams>,
}

impl EntryAdmission {
    pub fn new(settings: AdmissionSettings, upstreams: &Upstreams) -> Self {
        let settings = settings.with_new_work(Method::POST, "/orders");
        let limiters = Upstream::ALL
            .into_iter()
            .map(|u| (u, Limiter::new(u.name(), settings.clone())))
            .collect();
        Self {
            limiters: Arc::new(limiters),
            settings: Arc::new(settings),
            upstreams: Arc::new(upstreams.clone()),
        }
    }

    /// The route's budget (its service's timeout), or less if the client asked for less.
    pub fn deadline(&self, route: &Route, headers: &HeaderMap) -> Deadline {
        Deadline::for_request(headers, self.upstreams.get(route.upstream).timeout)
    }

    /// A slot on the route's service, or the 503 that refuses the request.
    pub async fn admit(
        &self,
        route: &Route,
        method: &Method,
        deadline: Deadline,
    ) -> Result<Option<Permit>, Problem> {
        // What the service will be told it has: a request with less than it needs is refused
        // here rather than sent to be refused there.
        let deadline = deadline
            .instant()
            .checked_sub(REPLY_RESERVE)
            .map_or(deadline, Deadline::at);
        if !self.settings.enabled {
            return match deadline.remaining() < self.settings.min_budget {
                true => Err(self.settings.deadline_exceeded()),
                false => Ok(None),
            };
        }
        let Some(limiter) = self.limiters.get(&route.upstream) else {
            return Ok(None);
        };
        let key = route_key(method, &route.path);
        let priority = self.settings.priority(method, &route.path);
        match limiter.acquire(&key, priority, deadline).await {
            Ok(permit) => Ok(Some(permit)),
            Err(Refusal::Busy) => Err(self.settings.busy()),
            Err(Refusal::Deadline) => Err(self.settings.deadline_exceeded()),
        }
    }
}

/// Requests of one kind share a latency baseline: the method and the path with its ids (any
/// segment with a digit) left out, e.g. `POST /store-orders/*/accept`.
fn route_key(method: &Method, path: &str) -> String {
    let shape: Vec<&str> = path
        .split('/')
        .map(|s| match s.bytes().any(|b| b.is_ascii_digit()) {
            true => "*",
            false => s,
        })
        .collect();
    format!("{method} {}", shape.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_do_not_split_a_route_into_many() {
        assert_eq!(
            route_key(&Method::POST, "/store-orders/0193a0c2-7f/accept"),
            "POST /store-orders/*/accept"
        );
        assert_eq!(route_key(&Method::GET, "/orders"), "GET /orders");
    }
}
