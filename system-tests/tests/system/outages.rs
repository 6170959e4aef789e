//! A service that is down while orders flow catches up when it comes back.

use std::collections::HashSet;

use reqwest::StatusCode;
use serde_json::Value;
use test_stack::AsUser;

use crate::system::{PATIENCE, System};

#[tokio::test]
async fn orders_are_taken_while_the_store_is_down_and_it_catches_up_with_each_exactly_once() {
    // Arrange
    let mut system = System::start().await;
    let (owner, alice) = (
        system.user("olivia", "owner").await,
        system.user("alice", "customer").await,
    );
    let (store_id, item_id) = system.open_store(&owner).await;

    // Act: the store service stops; customers keep ordering.
    system.stop_store().await;
    let mut placed = HashSet::new();
    for _ in 0..5 {
        placed.insert(alice.place(&store_id, &item_id).await);
    }
    let store = system.restart_store().await;

    // Assert: every missed order appears, once.
    let path = format!("/store-orders?storeId={store_id}");
    let orders: Vec<Value> = test_stack::eventually(PATIENCE, "the store to catch up", || async {
        let response = store
            .get(&path)
            .as_user("olivia", "owner")
            .send()
            .await
            .ok()?;
        if response.status() != StatusCode::OK {
            return None;
        }
        let orders: Vec<Value> = response.json().await.ok()?;
        (orders.len() >= placed.len()).then_some(orders)
    })
    .await;
    let seen: HashSet<String> = orders
        .iter()
        .map(|o| o["orderId"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(orders.len(), placed.len(), "no order twice");
    assert_eq!(seen, placed);
    system.finish().await;
}
