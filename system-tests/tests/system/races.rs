//! Decisions that cross in flight: a customer cancels in the same instant the owner starts
//! cooking. Whichever wins, every service must end agreeing.

use reqwest::StatusCode;
use serde_json::Value;

use crate::system::{System, User, find};

/// How many cancel/start-cooking pairs to fire (`SYSTEM_RACE_PAIRS`, default 200).
fn pairs() -> usize {
    std::env::var("SYSTEM_RACE_PAIRS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200)
}

/// The status of `order_id` in a list from `path`, as `user` sees it.
async fn status_in(user: &User, path: &str, key: &str, order_id: &str) -> Option<String> {
    find(&user.get(path).await, key, order_id)
        .and_then(|v| v["status"].as_str())
        .map(str::to_owned)
}

/// A store with `n` orders of alice's, every one accepted by its owner (and seen Accepted by the
/// order service), driven `at_once` at a time; the store orders' path and the order ids.
async fn accepted_orders(
    system: &System,
    owner: &User,
    alice: &User,
    n: usize,
    at_once: usize,
) -> (String, Vec<String>) {
    let (store_id, item_id) = system.open_store(owner).await;
    let store_orders = format!("/store-orders?storeId={store_id}");
    let mut orders = Vec::with_capacity(n);
    for _ in 0..n {
        orders.push(alice.place(&store_id, &item_id).await);
    }
    owner
        .wait_for(&store_orders, "every store order", |l| {
            l.as_array().is_some_and(|l| l.len() == n)
        })
        .await;
    for chunk in orders.chunks(at_once) {
        futures::future::join_all(chunk.iter().map(|id| async move {
            let accepted = owner.post(&format!("/store-orders/{id}/accept")).await;
            assert_eq!(accepted.0, StatusCode::OK, "accept: {}", accepted.1);
            alice
                .wait_for(&format!("/orders/{id}"), "Accepted", |o| {
                    o["status"] == "Accepted"
                })
                .await;
        }))
        .await;
    }
    (store_orders, orders)
}

#[tokio::test]
async fn cancel_racing_start_cooking_ends_consistent_every_time() {
    // Arrange: accepted orders, ready for both decisions.
    let system = System::start().await;
    let (owner, alice) = (
        system.user("olivia", "owner").await,
        system.user("alice", "customer").await,
    );
    let (owner, alice) = (&owner, &alice);
    let (store_orders, orders) = accepted_orders(&system, owner, alice, pairs(), 20).await;
    let n = orders.len();

    // Act: fire both decisions together for every order, the cancel lagging by 0 to 950 ms so
    // that it sometimes crosses the CookingStarted event in flight and sometimes comes after it.
    // One order in four waits instead until the order service has seen the cooking start, so
    // that both outcomes occur however slow the machine makes the events.
    for chunk in orders.chunks(20) {
        futures::future::join_all(chunk.iter().enumerate().map(|(i, id)| async move {
            let (cancel_path, cook_path) = (
                format!("/orders/{id}/cancel"),
                format!("/store-orders/{id}/start-cooking"),
            );
            let lag = std::time::Duration::from_millis(50 * i as u64);
            let cancel = async {
                if i % 4 == 3 {
                    alice
                        .wait_for(&format!("/orders/{id}"), "Cooking", |o| {
                            o["status"] == "Cooking"
                        })
                        .await;
                } else {
                    tokio::time::sleep(lag).await;
                }
                alice.post(&cancel_path).await
            };
            let cook = owner.post(&cook_path);
            let ((cancel, _), (cook, _)) = tokio::join!(cancel, cook);
            assert!(
                matches!(cancel, StatusCode::OK | StatusCode::CONFLICT),
                "cancel: {cancel}"
            );
            assert!(
                matches!(cook, StatusCode::OK | StatusCode::CONFLICT),
                "cook: {cook}"
            );
        }))
        .await;
    }

    // Assert: each order converges to one of the two consistent outcomes.
    let (mut canceled, mut cooking) = (0, 0);
    for id in &orders {
        let order = alice
            .wait_for(&format!("/orders/{id}"), "a settled order", |o| {
                o["status"] == "Canceled" || o["status"] == "Cooking"
            })
            .await;
        let expected = if order["status"] == "Canceled" {
            canceled += 1;
            ("Canceled", "Refunded")
        } else {
            cooking += 1;
            ("Cooking", "Approved")
        };
        let settled = alice
            .wait_for(
                &format!("/payments?orderId={id}"),
                "the payment to agree",
                |l: &Value| find(l, "orderId", id).is_some_and(|p| p["status"] == expected.1),
            )
            .await;
        assert!(find(&settled, "orderId", id).is_some());
        let store_status =
            test_stack::eventually(crate::system::PATIENCE, "the store to agree", || async {
                let status = status_in(owner, &store_orders, "orderId", id).await?;
                (status == expected.0).then_some(status)
            })
            .await;
        assert_eq!(store_status, expected.0, "order {id}");
    }
    eprintln!("{n} races: {canceled} canceled, {cooking} cooking");
    if n >= 50 {
        assert!(
            canceled > 0 && cooking > 0,
            "both decisions should win some races: {canceled} canceled, {cooking} cooking"
        );
    }
    system.finish().await;
}

/// Orders driven at once: below a service's initial admission limit, so nothing is shed.
const CHUNK: usize = 10;

/// How many cancel/finish-cooking pairs to fire (`SYSTEM_FINISH_RACE_PAIRS`, default 1,000).
fn finish_pairs() -> usize {
    std::env::var("SYSTEM_FINISH_RACE_PAIRS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000)
}

/// A rider who completes the order's delivery the moment it exists. Gives up once the order
/// has been canceled for a while (a delivery started for it would have shown by then).
async fn ride(rider: &User, alice: &User, order_id: &str) {
    let deliveries = format!("/deliveries?orderId={order_id}");
    let mut canceled_since = None;
    let deadline = std::time::Instant::now() + crate::system::PATIENCE;
    while std::time::Instant::now() < deadline {
        if let Some(delivery) = find(&rider.get(&deliveries).await, "orderId", order_id)
            && delivery["status"] == "Started"
        {
            let id = delivery["id"].as_str().unwrap();
            let (status, body) = rider.post(&format!("/deliveries/{id}/complete")).await;
            assert!(
                matches!(status, StatusCode::OK | StatusCode::CONFLICT),
                "complete: {status} {body}"
            );
            return;
        }
        let order = alice.get(&format!("/orders/{order_id}")).await;
        if order["status"] == "Canceled" {
            let since = *canceled_since.get_or_insert_with(std::time::Instant::now);
            if since.elapsed() > std::time::Duration::from_millis(300) {
                return;
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!("order {order_id}: neither a delivery nor a cancellation");
}

#[tokio::test]
async fn cancel_racing_finish_cooking_never_ends_delivered_and_refunded() {
    // Arrange: accepted orders, and a rider at the door.
    let system = System::start().await;
    let (owner, alice, rider) = (
        system.user("olivia", "owner").await,
        system.user("alice", "customer").await,
        system.user("ryan", "rider").await,
    );
    let (owner, alice, rider) = (&owner, &alice, &rider);
    let (_, orders) = accepted_orders(&system, owner, alice, finish_pairs(), CHUNK).await;
    let n = orders.len();

    // Act: the owner starts cooking and at once finishes, while the customer cancels (0–45 ms
    // later), so that the cancel sometimes reaches the order service before the store's
    // CookingStarted does and sometimes after; the rider completes any delivery at once.
    for chunk in orders.chunks(CHUNK) {
        futures::future::join_all(chunk.iter().enumerate().map(|(i, id)| async move {
            let started = owner
                .post(&format!("/store-orders/{id}/start-cooking"))
                .await;
            assert_eq!(started.0, StatusCode::OK, "start cooking: {}", started.1);
            let lag = std::time::Duration::from_millis(5 * i as u64);
            let (cancel_path, finish_path) = (
                format!("/orders/{id}/cancel"),
                format!("/store-orders/{id}/finish-cooking"),
            );
            // One order in four: the cancel waits until the order service has seen the cooking
            // start, so that both outcomes occur however slow the machine makes the events.
            let cancel = async {
                if i % 4 == 3 {
                    alice
                        .wait_for(&format!("/orders/{id}"), "Cooking", |o| {
                            ["Cooking", "Cooked", "Delivering", "Delivered"]
                                .contains(&o["status"].as_str().unwrap_or_default())
                        })
                        .await;
                } else {
                    tokio::time::sleep(lag).await;
                }
                alice.post(&cancel_path).await
            };
            let finish = owner.post(&finish_path);
            let ((cancel, _), (finish, _)) = tokio::join!(cancel, finish);
            assert!(
                matches!(cancel, StatusCode::OK | StatusCode::CONFLICT),
                "cancel: {cancel}"
            );
            assert!(
                matches!(finish, StatusCode::OK | StatusCode::CONFLICT),
                "finish: {finish}"
            );
            ride(rider, alice, id).await;
        }))
        .await;
    }

    // Assert: canceled and refunded with no delivery, or delivered and paid; never both.
    let (mut canceled, mut delivered) = (0, 0);
    for id in &orders {
        let order = alice
            .wait_for(&format!("/orders/{id}"), "a settled order", |o| {
                o["status"] == "Canceled" || o["status"] == "Delivered"
            })
            .await;
        let deliveries = rider.get(&format!("/deliveries?orderId={id}")).await;
        let payment = if order["status"] == "Canceled" {
            canceled += 1;
            assert_eq!(
                find(&deliveries, "orderId", id),
                None,
                "order {id}: canceled, yet a delivery started"
            );
            "Refunded"
        } else {
            delivered += 1;
            "Approved"
        };
        alice
            .wait_for(
                &format!("/payments?orderId={id}"),
                "the payment to agree",
                |l: &Value| find(l, "orderId", id).is_some_and(|p| p["status"] == payment),
            )
            .await;
    }
    eprintln!("{n} races: {canceled} canceled, {delivered} delivered");
    if n >= 50 {
        assert!(
            canceled > 0 && delivered > 0,
            "both decisions should win some races: {canceled} canceled, {delivered} delivered"
        );
    }
    system.finish().await;
}
