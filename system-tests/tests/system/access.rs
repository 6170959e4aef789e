//! Who may do what, as one table through the gateway with every service behind it: each
//! endpoint asked by the resource's own user and by others (another customer, another store's
//! owner, the wrong role), bodies that try to set what the server decides (mass assignment),
//! oversized and deeply nested JSON, and identity headers a client forges. The gateway's own
//! refusals of bad tokens and rate limits per caller are in `gateway/tests/api`.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::system::{System, User, find};

/// What a row expects.
#[derive(Debug, Clone, Copy)]
enum Expect {
    /// Exactly this status.
    Status(StatusCode),
    /// Refused as if the resource were not there, or forbidden: 403 or 404.
    Refused,
    /// 200 with an empty list: the caller sees nothing of it.
    Nothing,
}

use Expect::{Nothing, Refused, Status};

struct Row<'a> {
    who: &'a str,
    caller: &'a User,
    method: Method,
    path: String,
    body: Option<Value>,
    expect: Expect,
}

fn row<'a>(
    who: &'a str,
    caller: &'a User,
    method: Method,
    path: String,
    expect: Expect,
) -> Row<'a> {
    Row {
        who,
        caller,
        method,
        path,
        body: None,
        expect,
    }
}

async fn check(rows: Vec<Row<'_>>) {
    let mut failures = Vec::new();
    for r in rows {
        let (status, body) = r
            .caller
            .send(r.method.clone(), &r.path, r.body.clone())
            .await;
        let ok = match r.expect {
            Status(wanted) => status == wanted,
            Refused => status == StatusCode::FORBIDDEN || status == StatusCode::NOT_FOUND,
            Nothing => status == StatusCode::OK && body.as_array().is_some_and(Vec::is_empty),
        };
        if !ok {
            failures.push(format!(
                "{} {} {} as {}: expected {:?}, got {status} {body}",
                r.method,
                r.path,
                r.body.map(|b| b.to_string()).unwrap_or_default(),
                r.who,
                r.expect
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[tokio::test]
async fn every_endpoint_refuses_other_users_resources_wrong_roles_forged_fields_and_hostile_bodies()
{
    // Arrange: two owners with a store each, two customers, a rider, an admin; alice's order at
    // olivia's store, cooked, so that it has a payment, a store order and a delivery.
    let system = System::start().await;
    let olivia = system.user("olivia", "owner").await;
    let oscar = system.user("oscar", "owner").await;
    let alice = system.user("alice", "customer").await;
    let bob = system.user("bob", "customer").await;
    let ryan = system.user("ryan", "rider").await;
    let ada = system.user("ada", "admin").await;
    let (store, item) = system.open_store(&olivia).await;
    let (other_store, _) = system.open_store(&oscar).await;
    let order = alice.place(&store, &item).await;
    alice.wait_for_payment(&order, "Approved").await;
    olivia.wait_for_store_order(&store, &order).await;
    for step in ["accept", "start-cooking", "finish-cooking"] {
        let (status, body) = olivia.post(&format!("/store-orders/{order}/{step}")).await;
        assert_eq!(status, StatusCode::OK, "{step}: {body}");
    }
    let deliveries = format!("/deliveries?orderId={order}");
    let delivery = ryan
        .wait_for(&deliveries, "the delivery", |l| {
            find(l, "orderId", &order).is_some()
        })
        .await[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    alice
        .wait_for(&format!("/mypage/orders/{order}"), "the view", |_| true)
        .await;
    let ok = Status(StatusCode::OK);
    let forbidden = Status(StatusCode::FORBIDDEN);
    let menu_item = format!("/stores/{store}/menu/{item}");

    // Act + Assert, 1: the owners of each resource reach it (so that a refusal below means
    // something), everyone else is refused or sees nothing.
    let mut rows = vec![
        row("alice", &alice, Method::GET, format!("/orders/{order}"), ok),
        row(
            "bob",
            &bob,
            Method::GET,
            format!("/orders/{order}"),
            Refused,
        ),
        row(
            "olivia",
            &olivia,
            Method::GET,
            format!("/store-orders?storeId={store}"),
            ok,
        ),
        row(
            "oscar",
            &oscar,
            Method::GET,
            format!("/store-orders?storeId={store}"),
            Refused,
        ),
        row(
            "bob",
            &bob,
            Method::GET,
            format!("/payments?orderId={order}"),
            Nothing,
        ),
        row(
            "olivia",
            &olivia,
            Method::GET,
            format!("/payments?orderId={order}"),
            Nothing,
        ),
        row(
            "ryan",
            &ryan,
            Method::GET,
            format!("/payments?orderId={order}"),
            Nothing,
        ),
        row("bob", &bob, Method::GET, deliveries.clone(), Nothing),
        row(
            "olivia",
            &olivia,
            Method::GET,
            deliveries.clone(),
            forbidden,
        ),
        row(
            "alice",
            &alice,
            Method::GET,
            format!("/mypage/orders/{order}"),
            ok,
        ),
        row(
            "bob",
            &bob,
            Method::GET,
            format!("/mypage/orders/{order}"),
            Refused,
        ),
        row(
            "bob",
            &bob,
            Method::POST,
            format!("/orders/{order}/cancel"),
            Refused,
        ),
        row(
            "olivia",
            &olivia,
            Method::POST,
            format!("/orders/{order}/cancel"),
            forbidden,
        ),
        row(
            "ryan",
            &ryan,
            Method::POST,
            format!("/orders/{order}/cancel"),
            forbidden,
        ),
        // Reviews: customers post and edit, owners reply (whose review or store it is, the
        // reviews' test checks).
        Row {
            body: Some(json!({ "orderId": order, "rating": 5, "text": "great" })),
            ..row(
                "olivia",
                &olivia,
                Method::POST,
                "/reviews".into(),
                forbidden,
            )
        },
        Row {
            body: Some(json!({ "orderId": order, "rating": 5, "text": "great" })),
            ..row("ryan", &ryan, Method::POST, "/reviews".into(), forbidden)
        },
        Row {
            body: Some(json!({ "rating": 1, "text": "cold" })),
            ..row(
                "olivia",
                &olivia,
                Method::PUT,
                format!("/reviews/{}", uuid::Uuid::now_v7()),
                forbidden,
            )
        },
        Row {
            body: Some(json!({ "text": "thank you" })),
            ..row(
                "alice",
                &alice,
                Method::PUT,
                format!("/reviews/{}/reply", uuid::Uuid::now_v7()),
                forbidden,
            )
        },
        // Changing an order is a customer's (bob's attempt at alice's, with If-Match, is 404
        // in the changes' test).
        Row {
            body: Some(json!({ "deliveryAddress": "Busan" })),
            ..row(
                "olivia",
                &olivia,
                Method::PATCH,
                format!("/orders/{order}"),
                forbidden,
            )
        },
        Row {
            body: Some(json!({ "deliveryAddress": "Busan" })),
            ..row(
                "ryan",
                &ryan,
                Method::PATCH,
                format!("/orders/{order}"),
                forbidden,
            )
        },
        row(
            "alice",
            &alice,
            Method::POST,
            format!("/deliveries/{delivery}/complete"),
            forbidden,
        ),
        row(
            "olivia",
            &olivia,
            Method::POST,
            format!("/deliveries/{delivery}/complete"),
            forbidden,
        ),
        row(
            "ryan",
            &ryan,
            Method::PUT,
            "/admin/payment/faults".into(),
            forbidden,
        ),
        row(
            "olivia",
            &olivia,
            Method::GET,
            "/admin/order/outbox".into(),
            forbidden,
        ),
        row("ada", &ada, Method::GET, "/admin/order/outbox".into(), ok),
    ];
    for step in ["accept", "reject", "start-cooking", "finish-cooking"] {
        let path = format!("/store-orders/{order}/{step}");
        let body = (step == "reject").then(|| json!({ "reason": "closed" }));
        for (who, caller, expect) in [
            ("oscar", &oscar, Refused),
            ("alice", &alice, forbidden),
            ("ryan", &ryan, forbidden),
        ] {
            let mut r = row(who, caller, Method::POST, path.clone(), expect);
            r.body.clone_from(&body);
            rows.push(r);
        }
    }
    for (method, path) in [
        (Method::POST, format!("/stores/{store}/menu")),
        (Method::PATCH, menu_item.clone()),
        (Method::DELETE, menu_item.clone()),
    ] {
        let body = json!({ "name": "Stolen chicken", "price": 1 });
        let mut other_owner = row("oscar", &oscar, method.clone(), path.clone(), Refused);
        other_owner.body = Some(body.clone());
        let mut customer = row("alice", &alice, method, path, forbidden);
        customer.body = Some(body);
        rows.extend([other_owner, customer]);
    }
    // 2: fields the server decides, in a body, are refused whole (every request body denies
    // unknown fields), so nothing is created or changed.
    let bad_request = Status(StatusCode::BAD_REQUEST);
    for (caller, who, method, path, body) in [
        (
            &alice,
            "alice",
            Method::POST,
            "/orders".to_owned(),
            json!({
            "storeId": store, "items": [{ "menuItemId": item, "quantity": 1, "price": 1 }],
            "deliveryAddress": "Seoul" }),
        ),
        (
            &alice,
            "alice",
            Method::POST,
            "/orders".to_owned(),
            json!({
            "storeId": store, "items": [{ "menuItemId": item, "quantity": 1 }],
            "deliveryAddress": "Seoul", "totalPrice": 1, "status": "Delivered", "customerId": "bob" }),
        ),
        (
            &olivia,
            "olivia",
            Method::POST,
            "/stores".to_owned(),
            json!({ "name": "Mine", "ownerId": "oscar" }),
        ),
        (
            &olivia,
            "olivia",
            Method::POST,
            format!("/stores/{store}/menu"),
            json!({
            "name": "Cheap", "price": 100, "storeId": other_store }),
        ),
        (
            &olivia,
            "olivia",
            Method::PATCH,
            menu_item.clone(),
            json!({ "storeId": other_store }),
        ),
        (
            &olivia,
            "olivia",
            Method::PATCH,
            menu_item.clone(),
            json!({ "id": order }),
        ),
        (
            &olivia,
            "olivia",
            Method::POST,
            format!("/store-orders/{order}/reject"),
            json!({
            "reason": "late", "status": "Accepted" }),
        ),
        (
            &ryan,
            "ryan",
            Method::POST,
            format!("/deliveries/{delivery}/accident"),
            json!({
            "reason": "rain", "orderId": order }),
        ),
    ] {
        let mut r = row(who, caller, method, path, bad_request);
        r.body = Some(body);
        rows.push(r);
    }
    check(rows).await;
    let orders = alice.get("/orders").await;
    assert_eq!(orders.as_array().map(Vec::len), Some(1), "{orders}");
    let menu: Vec<(String, i64)> =
        sqlx::query_as("select name, price from menu_item order by name")
            .fetch_all(&system.order_db)
            .await
            .unwrap();
    assert_eq!(
        menu,
        [
            ("Fried chicken".to_owned(), 18_000),
            ("Fried chicken".to_owned(), 18_000)
        ],
        "the menus as the order service knows them"
    );

    // 3: hostile bodies: JSON nested far deeper than any parser should follow, and a body over
    // the gateway's limit, are refused, and the services answer as before.
    let nested = format!("{}{}", "[".repeat(20_000), "]".repeat(20_000));
    for path in ["/orders", "/stores", "/auth/dev-token"] {
        let caller = if path == "/stores" { &olivia } else { &alice };
        let response = caller
            .request(Method::POST, path)
            .header("content-type", "application/json")
            .body(nested.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{path}");
    }
    let huge = json!({ "name": "x".repeat(200_000) }).to_string();
    let response = olivia
        .request(Method::POST, "/stores")
        .header("content-type", "application/json")
        .body(huge)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    alice.get(&format!("/orders/{order}")).await;

    // 4: identity headers from a client are replaced by the gateway's, whatever their case.
    for (name, value) in [
        ("x-user-id", "alice"),
        ("X-User-Role", "admin"),
        ("x-user-role", "admin"),
    ] {
        let response = bob
            .request(Method::GET, &format!("/orders/{order}"))
            .header(name, value)
            .send()
            .await
            .unwrap();
        let status = response.status();
        assert!(
            status == StatusCode::FORBIDDEN || status == StatusCode::NOT_FOUND,
            "bob with {name}: {value} got {status}"
        );
        let faults = bob
            .request(Method::GET, "/admin/payment/faults")
            .header(name, value)
            .send()
            .await
            .unwrap();
        assert_eq!(faults.status(), StatusCode::FORBIDDEN, "{name}: {value}");
    }
    let forged_only = reqwest::Client::new()
        .get(system.gateway.url(&format!("/orders/{order}")))
        .header("x-user-id", "alice")
        .header("x-user-role", "customer")
        .send()
        .await
        .unwrap();
    assert_eq!(forged_only.status(), StatusCode::UNAUTHORIZED);

    system.finish().await;
}
