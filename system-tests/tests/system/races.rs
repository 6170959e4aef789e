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

#[tokio::test]
async fn cancel_racing_start_cooking_ends_consistent_every_time() {
    // Arrange: accepted orders, ready for both decisions.
    let system = System::start().await;
    let (owner, alice) = (
        system.user("olivia", "owner").await,
        system.user("alice", "customer").await,
    );
    let (owner, alice) = (&owner, &alice);
    let (store_id, item_id) = system.open_store(owner).await;
    let store_orders = format!("/store-orders?storeId={store_id}");
    let n = pairs();
    let mut orders = Vec::with_capacity(n);
    for _ in 0..n {
        orders.push(alice.place(&store_id, &item_id).await);
    }
    owner
        .wait_for(&store_orders, "every store order", |l| {
            l.as_array().is_some_and(|l| l.len() == n)
        })
        .await;
    for chunk in orders.chunks(20) {
        futures::future::join_all(chunk.iter().map(|id| async move {
            let accepted = owner.post(&format!("/store-orders/{id}/accept")).await.0;
            assert_eq!(accepted, StatusCode::OK);
            alice
                .wait_for(&format!("/orders/{id}"), "Accepted", |o| {
                    o["status"] == "Accepted"
                })
                .await;
        }))
        .await;
    }

    // Act: fire both decisions together for every order, the cancel lagging by 0 to 475 ms so
    // that it sometimes crosses the CookingStarted event in flight and sometimes comes after it.
    for chunk in orders.chunks(20) {
        futures::future::join_all(chunk.iter().enumerate().map(|(i, id)| async move {
            let (cancel_path, cook_path) = (
                format!("/orders/{id}/cancel"),
                format!("/store-orders/{id}/start-cooking"),
            );
            let lag = std::time::Duration::from_millis(25 * i as u64);
            let cancel = async {
                tokio::time::sleep(lag).await;
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
