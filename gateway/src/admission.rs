//! Admission control at the entry: one limiter per service behind the gateway, so that a service
//! that stops answering fills its own slots and is refused at once (503) without holding up
//! the routes of the others, and the time budget each request gets.
//!
//! The limiters are wide (`AdmissionSettings::gateway`): each service's own, tighter limiter
//! decides what it can take, and refuses in microseconds; these are the backstop. Within each,
//! a new order is new work, refused before the reserved share of the limit is touched; and once
//! the service refuses new work itself, the gateway refuses what the service would
//! ([`crate::shedding`]).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::Response;
use service_runtime::admission::{
    AdmissionSettings, Limiter, Permit, Priority, REFUSED_HEADER, Refusal,
};
use service_runtime::deadline::Deadline;

use crate::rules::{Route, Upstream};
use crate::settings::Upstreams;
use crate::shedding::{GatePass, NewWorkGate};

/// The time a service's answer needs to come back through the gateway: the budget sent on is
/// this much shorter than the gateway's own wait, so that a service that runs out of time
/// answers 503 itself, and the gateway's 504 means it did not answer at all.
pub const REPLY_RESERVE: Duration = Duration::from_millis(100);

#[derive(Clone)]
pub struct EntryAdmission {
    limiters: Arc<HashMap<Upstream, Arc<Limiter>>>,
    gates: Arc<HashMap<Upstream, Arc<NewWorkGate>>>,
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
        let gates = Upstream::ALL
            .into_iter()
            .map(|u| (u, NewWorkGate::new(u.name())))
            .collect();
        Self {
            limiters: Arc::new(limiters),
            gates: Arc::new(gates),
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
    ) -> Result<Admitted, Response> {
        // What the service will be told it has: a request with less than it needs is refused
        // here rather than sent to be refused there.
        let deadline = deadline
            .instant()
            .checked_sub(REPLY_RESERVE)
            .map_or(deadline, Deadline::at);
        if !self.settings.enabled {
            return match deadline.remaining() < self.settings.min_budget {
                true => Err(self.settings.refuse(Refusal::Deadline)),
                false => Ok(Admitted::default()),
            };
        }
        let priority = self.settings.priority(method, &route.path);
        let pass = match priority {
            Priority::New => match self.gates.get(&route.upstream).map(NewWorkGate::enter) {
                Some(None) => return Err(self.settings.refuse(Refusal::Busy)),
                Some(pass) => pass,
                None => None,
            },
            Priority::Ongoing => None,
        };
        let Some(limiter) = self.limiters.get(&route.upstream) else {
            return Ok(Admitted { permit: None, pass });
        };
        let key = route_key(method, &route.path);
        match limiter.acquire(&key, priority, deadline).await {
            Ok(permit) => Ok(Admitted {
                permit: Some(permit),
                pass,
            }),
            Err(refusal) => Err(self.settings.refuse(refusal)),
        }
    }
}

/// What a request admitted holds until its answer is back: its slot, and for new work its pass
/// through the service's gate.
#[derive(Debug, Default)]
pub struct Admitted {
    permit: Option<Permit>,
    pass: Option<GatePass>,
}

impl Admitted {
    /// Gives the slot back, and tells the gate whether the service refused the request.
    pub fn settle(self, answer: &Response) {
        drop(self.permit);
        if let Some(pass) = self.pass {
            pass.settle(refused_busy(answer));
        }
    }
}

/// Whether `answer` is the service's admission control refusing for lack of capacity.
fn refused_busy(answer: &Response) -> bool {
    answer.status() == StatusCode::SERVICE_UNAVAILABLE
        && answer
            .headers()
            .get(REFUSED_HEADER)
            .is_some_and(|v| v.as_bytes() == Refusal::Busy.as_str().as_bytes())
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
