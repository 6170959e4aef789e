//! The gateway's route table and role rules, as data and pure functions: which service a path
//! belongs to, what path it has there, and which roles may call it. Services still check
//! ownership; these rules only keep callers away from actions their role never has.

use axum::http::Method;
use service_runtime::Role;

/// A service behind the gateway.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Upstream {
    Order,
    Payment,
    Store,
    Delivery,
    Notification,
    Mypage,
    Review,
}

impl Upstream {
    pub const ALL: [Upstream; 7] = [
        Upstream::Order,
        Upstream::Payment,
        Upstream::Store,
        Upstream::Delivery,
        Upstream::Notification,
        Upstream::Mypage,
        Upstream::Review,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Upstream::Order => "order",
            Upstream::Payment => "payment",
            Upstream::Store => "store",
            Upstream::Delivery => "delivery",
            Upstream::Notification => "notification",
            Upstream::Mypage => "mypage",
            Upstream::Review => "review",
        }
    }
}

/// Who may call a route, for reads (GET, HEAD) and for everything else.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Allowed {
    Anyone,
    Only(&'static [Role]),
}

/// One row of the table: paths equal to `prefix` or below it.
#[derive(Debug, Clone, Copy)]
pub struct Rule {
    pub prefix: &'static str,
    pub upstream: Upstream,
    pub reads: Allowed,
    pub writes: Allowed,
}

use Allowed::{Anyone, Only};
use Role::{Customer, Owner, Rider};

/// The public routes. Admins pass every role rule (services still decide ownership).
pub const TABLE: &[Rule] = &[
    rule("/orders", Upstream::Order, Anyone, Only(&[Customer])),
    rule("/stores", Upstream::Store, Anyone, Only(&[Owner])),
    rule(
        "/store-orders",
        Upstream::Store,
        Only(&[Owner]),
        Only(&[Owner]),
    ),
    rule("/deliveries", Upstream::Delivery, Anyone, Only(&[Rider])),
    // POST /payments is the order service's call; through the gateway only admins may make it.
    rule("/payments", Upstream::Payment, Anyone, Only(&[])),
    rule("/notifications", Upstream::Notification, Anyone, Anyone),
    rule("/mypage", Upstream::Mypage, Anyone, Anyone),
    // Customers post and edit reviews, owners reply; the service checks which is whose.
    rule(
        "/reviews",
        Upstream::Review,
        Anyone,
        Only(&[Customer, Owner]),
    ),
];

const fn rule(prefix: &'static str, upstream: Upstream, reads: Allowed, writes: Allowed) -> Rule {
    Rule {
        prefix,
        upstream,
        reads,
        writes,
    }
}

/// Admin endpoints of a service, `/admin/<service>/…`, become `/admin/…` on that service.
pub const ADMIN_PREFIX: &str = "/admin";

/// Where a request goes and who may send it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub upstream: Upstream,
    /// The path on the upstream (the query string is appended unchanged).
    pub path: String,
    reads: Allowed,
    writes: Allowed,
}

/// The route for `path`, or `None` (a 404).
pub fn resolve(path: &str) -> Option<Route> {
    // `..` would be resolved after the rule was chosen (by the URL parser on the way out), so
    // `/stores/../store-orders` could pass the rule of one prefix and reach another route.
    if has_dot_segment(path) {
        return None;
    }
    if let Some(rest) = below(path, ADMIN_PREFIX) {
        let (service, tail) = match rest.trim_start_matches('/').split_once('/') {
            Some((service, tail)) => (service, format!("/{tail}")),
            None => (rest.trim_start_matches('/'), String::new()),
        };
        let upstream = Upstream::ALL.into_iter().find(|u| u.name() == service)?;
        return Some(Route {
            upstream,
            path: format!("{ADMIN_PREFIX}{tail}"),
            reads: Only(&[]),
            writes: Only(&[]),
        });
    }
    TABLE
        .iter()
        .find(|r| below(path, r.prefix).is_some())
        .map(|r| Route {
            upstream: r.upstream,
            path: path.to_owned(),
            reads: r.reads,
            writes: r.writes,
        })
}

/// Whether `path` has a `.` or `..` segment, plain or percent-encoded.
fn has_dot_segment(path: &str) -> bool {
    path.split('/').any(|segment| {
        let decoded = segment.to_ascii_lowercase().replace("%2e", ".");
        decoded == "." || decoded == ".."
    })
}

/// The part of `path` after `prefix` if `path` is `prefix` or below it (`/ordersx` is not).
fn below<'a>(path: &'a str, prefix: &str) -> Option<&'a str> {
    let rest = path.strip_prefix(prefix)?;
    (rest.is_empty() || rest.starts_with('/')).then_some(rest)
}

impl Route {
    /// `Err` with the reason when `role` may not send `method` here.
    pub fn authorize(&self, role: Role, method: &Method) -> Result<(), String> {
        let allowed = if method == Method::GET || method == Method::HEAD {
            self.reads
        } else {
            self.writes
        };
        match allowed {
            _ if role == Role::Admin => Ok(()),
            Anyone => Ok(()),
            Only(roles) if roles.contains(&role) => Ok(()),
            Only(_) => Err(format!("the {role} role may not {method} this resource")),
        }
    }
}

#[cfg(test)]
#[path = "rules_tests.rs"]
mod tests;
