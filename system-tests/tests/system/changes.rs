//! A customer changes an order before its cooking starts, through the gateway: every refusal
//! (no If-Match, a stale version, bad lines, a declined difference, too late, someone else's
//! order) changes nothing; a dearer change is paid, a cheaper one refunded, and the store, the
//! notifications and mypage follow. A change racing the owner's start of cooking ends one way
//! everywhere.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::system::{PATIENCE, System, User, find, status_of};

/// Sends `PATCH /orders/{order_id}` with `If-Match: if_match` (none if `None`).
async fn change(
    customer: &User,
    order_id: &str,
    if_match: Option<&str>,
    body: Value,
) -> (StatusCode, Value) {
    let mut request = customer.request(Method::PATCH, &format!("/orders/{order_id}"));
    if let Some(version) = if_match {
        request = request.header("if-match", version);
    }
    let response = request.json(&body).send().await.unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// A second menu item (cola, 2,000 won) on the store, known to the order service.
async fn add_cola(system: &System, owner: &User, store_id: &str) -> String {
    let (status, item) = owner
        .send(
            Method::POST,
            &format!("/stores/{store_id}/menu"),
            Some(json!({ "name": "Cola", "price": 2_000 })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{item}");
    let item_id = item["id"].as_str().unwrap().to_owned();
    let item_uuid: Uuid = item_id.parse().unwrap();
    test_stack::eventually(PATIENCE, "the cola in the menu replica", || async {
        let known: i64 =
            sqlx::query_scalar("select count(*) from menu_item where menu_item_id = $1")
                .bind(item_uuid)
                .fetch_one(&system.order_db)
                .await
                .ok()?;
        (known == 1).then_some(())
    })
    .await;
    item_id
}

fn lines(items: &[(&str, u32)]) -> Value {
    items
        .iter()
        .map(|(id, quantity)| json!({ "menuItemId": id, "quantity": quantity }))
        .collect()
}

/// Waits until the customer's notifications hold `message` for `order_id`.
async fn told(user: &User, order_id: &str, message: &str) {
    user.wait_for("/notifications", message, |l| {
        l.as_array().is_some_and(|l| {
            l.iter()
                .any(|n| n["orderId"] == order_id && n["message"] == message)
        })
    })
    .await;
}

#[tokio::test]
async fn a_change_before_cooking_is_paid_or_refunded_and_followed_everywhere_and_a_refused_one_changes_nothing()
 {
    // Arrange: a store with chicken (18,000) and cola (2,000); alice's order of one chicken.
    let system = System::start().await;
    let (olivia, alice, bob) = (
        system.user("olivia", "owner").await,
        system.user("alice", "customer").await,
        system.user("bob", "customer").await,
    );
    let (store_id, chicken) = system.open_store(&olivia).await;
    let cola = add_cola(&system, &olivia, &store_id).await;
    let order_id = alice.place(&store_id, &chicken).await;
    let placed = alice.get(&format!("/orders/{order_id}")).await;
    assert_eq!(placed["version"], 1, "{placed}");

    // Refusals, each leaving the order as it was.
    let dearer = json!({
        "items": lines(&[(&chicken, 2), (&cola, 1)]),
        "deliveryAddress": "Busan, Haeundae-gu",
    });
    let (status, body) = change(&alice, &order_id, None, dearer.clone()).await;
    assert_eq!(status, StatusCode::PRECONDITION_REQUIRED, "{body}");
    assert_eq!(body["code"], "precondition_required");
    let (status, body) = change(&alice, &order_id, Some("\"7\""), dearer.clone()).await;
    assert_eq!(status, StatusCode::PRECONDITION_FAILED, "{body}");
    assert_eq!(body["code"], "stale_version");
    let zero = json!({ "items": lines(&[(&chicken, 0)]) });
    let (status, body) = change(&alice, &order_id, Some("1"), zero).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["code"], "invalid_quantity");
    let blank = json!({ "deliveryAddress": "   " });
    let (status, body) = change(&alice, &order_id, Some("1"), blank).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    // 99 chickens cost 1,764,000 won more, above what the payment service approves in one
    // charge: declined, nothing changed.
    let too_dear = json!({ "items": lines(&[(&chicken, 99)]) });
    let (status, body) = change(&alice, &order_id, Some("1"), too_dear).await;
    assert_eq!(status, StatusCode::PAYMENT_REQUIRED, "{body}");
    assert_eq!(body["code"], "payment_declined");
    let (status, body) = change(&bob, &order_id, Some("1"), dearer.clone()).await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "someone else's order: {body}"
    );
    assert_eq!(alice.get(&format!("/orders/{order_id}")).await, placed);

    // Act: dearer (2 chickens and a cola, elsewhere), then cheaper (one chicken).
    let (status, changed) = change(&alice, &order_id, Some("\"1\""), dearer.clone()).await;
    assert_eq!(status, StatusCode::OK, "{changed}");
    assert_eq!(changed["version"], 2);
    assert_eq!(changed["totalPrice"], 38_000);
    assert_eq!(changed["deliveryAddress"], "Busan, Haeundae-gu");
    // The same change again, from the version read before it: stale.
    let (status, body) = change(&alice, &order_id, Some("1"), dearer).await;
    assert_eq!(status, StatusCode::PRECONDITION_FAILED, "{body}");
    let cheaper = json!({ "items": lines(&[(&chicken, 1)]) });
    let (status, changed) = change(&alice, &order_id, Some("2"), cheaper).await;
    assert_eq!(status, StatusCode::OK, "{changed}");
    assert_eq!(changed["version"], 3);
    assert_eq!(changed["totalPrice"], 18_000);
    assert_eq!(changed["deliveryAddress"], "Busan, Haeundae-gu");

    // Assert: money, the store, the owner, mypage.
    told(
        &alice,
        &order_id,
        "You paid 20,000 won more for your order's change.",
    )
    .await;
    told(
        &alice,
        &order_id,
        "20,000 won was refunded for your order's change.",
    )
    .await;
    told(
        &alice,
        &order_id,
        "Your order was changed: it comes to 38,000 won now (was 18,000 won).",
    )
    .await;
    told(
        &olivia,
        &order_id,
        "An order was changed: 1 line(s), 18,000 won, to Busan, Haeundae-gu.",
    )
    .await;
    let store_orders = olivia
        .wait_for(
            &format!("/store-orders?storeId={store_id}"),
            "the store order at version 3",
            |l| find(l, "orderId", &order_id).is_some_and(|o| o["version"] == 3),
        )
        .await;
    let store_order = find(&store_orders, "orderId", &order_id).unwrap();
    assert_eq!(store_order["totalPrice"], 18_000);
    assert_eq!(store_order["items"][0]["quantity"], 1);
    assert_eq!(store_order["deliveryAddress"], "Busan, Haeundae-gu");
    let view = alice
        .wait_for(
            &format!("/mypage/orders/{order_id}"),
            "the view at version 3",
            |v| v["version"] == 3,
        )
        .await;
    assert_eq!(view["totalPrice"], 18_000);
    let previous: Vec<(i64, i64)> = view["previousVersions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["version"].as_i64().unwrap(),
                v["totalPrice"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(previous, [(1, 18_000), (2, 38_000)]);

    // Once cooking started: too late. A cooked order is handed to delivery at once, so it may
    // be out for delivery before a poll sees it cooked: any status from Cooked on will do.
    olivia.cook(&store_id, &order_id).await;
    alice
        .wait_for(&format!("/orders/{order_id}"), "the order cooked", |o| {
            ["Cooked", "Delivering", "Delivered"].contains(&o["status"].as_str().unwrap_or(""))
        })
        .await;
    let (status, body) = change(
        &alice,
        &order_id,
        Some("3"),
        json!({ "deliveryAddress": "Seoul" }),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["code"], "invalid_transition");

    // A dearer change, then a cancel: everything paid comes back.
    let canceled = alice.place(&store_id, &chicken).await;
    let two = json!({ "items": lines(&[(&chicken, 2)]) });
    let (status, body) = change(&alice, &canceled, Some("1"), two).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = alice.post(&format!("/orders/{canceled}/cancel")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    told(&alice, &canceled, "Your payment was refunded: 36,000 won.").await;
    system.finish().await;
}

#[tokio::test]
async fn a_change_racing_the_start_of_cooking_ends_one_way_in_every_service() {
    // Arrange
    let system = System::start().await;
    let (olivia, alice) = (
        system.user("olivia", "owner").await,
        system.user("alice", "customer").await,
    );
    let (store_id, chicken) = system.open_store(&olivia).await;
    let pairs = 12;
    let mut orders = Vec::new();
    for _ in 0..pairs {
        let order_id = alice.place(&store_id, &chicken).await;
        olivia
            .wait_for(
                &format!("/store-orders?storeId={store_id}"),
                "the store order",
                |l| status_of(l, "orderId", &order_id).as_deref() == Some("Received"),
            )
            .await;
        let (status, body) = olivia
            .post(&format!("/store-orders/{order_id}/accept"))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        orders.push(order_id);
    }

    // Act: for each order, a dearer change and the start of cooking at once, the change
    // lagging a little more each time.
    let mut outcomes = Vec::new();
    for (i, order_id) in orders.iter().enumerate() {
        let two = json!({ "items": lines(&[(&chicken, 2)]) });
        let start_path = format!("/store-orders/{order_id}/start-cooking");
        let start = olivia.post(&start_path);
        let lagging_change = async {
            tokio::time::sleep(std::time::Duration::from_millis(5 * i as u64)).await;
            change(&alice, order_id, Some("1"), two).await
        };
        let ((started, _), (changed, body)) = tokio::join!(start, lagging_change);
        assert_eq!(started, StatusCode::OK);
        assert!(
            changed == StatusCode::OK || changed == StatusCode::CONFLICT,
            "{changed}: {body}"
        );
        outcomes.push(changed == StatusCode::OK);
    }

    // Assert: the store's order holds the order's version (changed even while cooking, or
    // never), and the customer paid for exactly that version.
    for (order_id, changed) in orders.iter().zip(&outcomes) {
        let (version, total) = if *changed { (2, 36_000) } else { (1, 18_000) };
        let order = alice.get(&format!("/orders/{order_id}")).await;
        assert_eq!(
            (order["version"].clone(), order["totalPrice"].clone()),
            (json!(version), json!(total))
        );
        olivia
            .wait_for(
                &format!("/store-orders?storeId={store_id}"),
                "the store order at the order's version",
                |l| {
                    find(l, "orderId", order_id)
                        .is_some_and(|o| o["version"] == version && o["totalPrice"] == total)
                },
            )
            .await;
        if *changed {
            told(
                &alice,
                order_id,
                "You paid 18,000 won more for your order's change.",
            )
            .await;
        }
    }
    system.finish().await;
}
