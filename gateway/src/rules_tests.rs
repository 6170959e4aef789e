//! The route table and role rules, request by request.

use axum::http::Method;
use service_runtime::Role::{self, Admin, Customer, Owner, Rider};

use super::{Upstream, resolve};

fn upstream_of(path: &str) -> Option<(Upstream, String)> {
    resolve(path).map(|r| (r.upstream, r.path))
}

fn may(role: Role, method: Method, path: &str) -> bool {
    resolve(path)
        .unwrap_or_else(|| panic!("no route for {path}"))
        .authorize(role, &method)
        .is_ok()
}

#[test]
fn each_public_prefix_goes_to_its_service_with_the_path_unchanged() {
    let cases = [
        ("/orders", Upstream::Order),
        ("/orders/5f0c/cancel", Upstream::Order),
        ("/stores", Upstream::Store),
        ("/stores/9a1e/menu/1", Upstream::Store),
        ("/store-orders", Upstream::Store),
        ("/store-orders/1/accept", Upstream::Store),
        ("/deliveries", Upstream::Delivery),
        ("/deliveries/1/complete", Upstream::Delivery),
        ("/payments", Upstream::Payment),
        ("/notifications", Upstream::Notification),
        ("/mypage/orders/1", Upstream::Mypage),
        ("/mypage/popular-menus", Upstream::Mypage),
        ("/reviews", Upstream::Review),
        ("/reviews/1/reply", Upstream::Review),
    ];
    for (path, upstream) in cases {
        assert_eq!(
            upstream_of(path),
            Some((upstream, path.to_owned())),
            "{path}"
        );
    }
}

#[test]
fn admin_paths_name_the_service_and_lose_that_segment() {
    assert_eq!(
        upstream_of("/admin/payment/faults"),
        Some((Upstream::Payment, "/admin/faults".to_owned()))
    );
    assert_eq!(
        upstream_of("/admin/order"),
        Some((Upstream::Order, "/admin".to_owned()))
    );
    assert_eq!(upstream_of("/admin/nonsense/faults"), None);
    assert_eq!(upstream_of("/admin"), None);
}

#[test]
fn unknown_paths_and_lookalike_prefixes_have_no_route() {
    for path in [
        "/",
        "/auth/dev-token",
        "/ordersx",
        "/store",
        "/payment",
        "/mypages",
        "/review",
        "/health/live",
    ] {
        assert_eq!(upstream_of(path), None, "{path}");
    }
}

#[test]
fn customers_cannot_call_owner_actions() {
    assert!(!may(Customer, Method::POST, "/stores"));
    assert!(!may(Customer, Method::POST, "/stores/1/menu"));
    assert!(!may(Customer, Method::PATCH, "/stores/1/menu/2"));
    assert!(!may(Customer, Method::DELETE, "/stores/1/menu/2"));
    assert!(!may(Customer, Method::GET, "/store-orders"));
    assert!(!may(Customer, Method::POST, "/store-orders/1/accept"));
}

#[test]
fn customers_cannot_call_rider_actions() {
    assert!(!may(Customer, Method::POST, "/deliveries/1/complete"));
    assert!(!may(Customer, Method::POST, "/deliveries/1/accident"));
}

#[test]
fn riders_cannot_write_reviews() {
    assert!(!may(Rider, Method::POST, "/reviews"));
    assert!(!may(Rider, Method::PUT, "/reviews/1"));
    assert!(!may(Rider, Method::PUT, "/reviews/1/reply"));
}

#[test]
fn owners_and_riders_cannot_place_or_cancel_orders() {
    for role in [Owner, Rider] {
        assert!(!may(role, Method::POST, "/orders"));
        assert!(!may(role, Method::POST, "/orders/1/cancel"));
    }
}

#[test]
fn each_role_may_do_its_own_actions() {
    assert!(may(Customer, Method::POST, "/orders"));
    assert!(may(Customer, Method::POST, "/orders/1/cancel"));
    assert!(may(Owner, Method::POST, "/stores"));
    assert!(may(Owner, Method::PATCH, "/stores/1/menu/2"));
    assert!(may(Owner, Method::GET, "/store-orders"));
    assert!(may(Owner, Method::POST, "/store-orders/1/finish-cooking"));
    assert!(may(Rider, Method::POST, "/deliveries/1/complete"));
    assert!(may(Customer, Method::POST, "/reviews"));
    assert!(may(Customer, Method::PUT, "/reviews/1"));
    assert!(may(Owner, Method::PUT, "/reviews/1/reply"));
}

#[test]
fn every_signed_in_role_may_read_shared_resources() {
    for role in [Customer, Owner, Rider, Admin] {
        for path in [
            "/stores",
            "/stores/1/menu",
            "/orders",
            "/deliveries",
            "/payments",
            "/notifications",
            "/mypage/orders",
            "/mypage/popular-menus",
            "/reviews",
        ] {
            assert!(may(role, Method::GET, path), "{role} GET {path}");
        }
    }
}

#[test]
fn only_admins_create_payments_or_reach_admin_endpoints() {
    for role in [Customer, Owner, Rider] {
        assert!(!may(role, Method::POST, "/payments"), "{role}");
        assert!(!may(role, Method::GET, "/admin/payment/faults"), "{role}");
        assert!(!may(role, Method::PUT, "/admin/payment/faults"), "{role}");
    }
    assert!(may(Admin, Method::POST, "/payments"));
    assert!(may(Admin, Method::PUT, "/admin/payment/faults"));
}

#[test]
fn admins_pass_every_role_rule() {
    for (method, path) in [
        (Method::POST, "/orders"),
        (Method::POST, "/stores"),
        (Method::POST, "/store-orders/1/accept"),
        (Method::POST, "/deliveries/1/complete"),
    ] {
        assert!(may(Admin, method.clone(), path), "{method} {path}");
    }
}

#[test]
fn dot_segments_have_no_route() {
    for path in [
        "/stores/../store-orders",
        "/payments/../admin/faults",
        "/orders/%2e%2e/x",
        "/orders/.%2E/x",
        "/orders/./1",
    ] {
        assert!(resolve(path).is_none(), "{path}");
    }
    assert!(
        resolve("/orders/..a").is_some(),
        "a segment merely starting with dots is fine"
    );
}
