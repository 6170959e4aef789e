//! The gRPC adapter against the real service: the same use cases as REST, the same answers as
//! status codes, the same caller (the gateway's `x-user-id`/`x-user-role`, as metadata).

use std::time::Duration;

use order_service::grpc::proto::order_service_client::OrderServiceClient;
use order_service::grpc::proto::{
    CancelOrderRequest, ChangeOrderRequest, GetOrderRequest, ItemRequest, ListOrdersRequest, Order,
    OrderStatus, PlaceOrderRequest, WatchOrderRequest,
};
use reqwest::StatusCode;
use serde_json::Value;
use shared_events::{CookingFinished, DeliveryCompleted, DeliveryStarted, Topic};
use tonic::transport::Channel;
use tonic::{Code, Status};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use uuid::Uuid;

use crate::helpers::{TestApp, spawn_app};

async fn channel(app: &TestApp) -> Channel {
    Channel::from_shared(format!("http://127.0.0.1:{}", app.grpc_port))
        .unwrap()
        .connect()
        .await
        .unwrap()
}

async fn client(app: &TestApp) -> OrderServiceClient<Channel> {
    OrderServiceClient::new(channel(app).await)
}

/// `message` sent as `user` with `role`, as the gateway names its callers.
fn as_user<T>(message: T, user: &str, role: &str) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    request
        .metadata_mut()
        .insert("x-user-id", user.parse().unwrap());
    request
        .metadata_mut()
        .insert("x-user-role", role.parse().unwrap());
    request
}

fn chickens(app: &TestApp, quantity: i64) -> PlaceOrderRequest {
    PlaceOrderRequest {
        store_id: app.store_id.to_string(),
        items: vec![ItemRequest {
            menu_item_id: app.chicken.to_string(),
            quantity,
        }],
        delivery_address: "Seoul, Gangnam-gu".to_owned(),
        idempotency_key: None,
    }
}

async fn place(app: &TestApp, quantity: i64) -> Order {
    client(app)
        .await
        .place_order(as_user(chickens(app, quantity), "alice", "customer"))
        .await
        .unwrap()
        .into_inner()
}

fn problem_code(status: &Status) -> &str {
    status
        .metadata()
        .get("problem-code")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

#[tokio::test]
async fn an_order_placed_over_grpc_is_got_and_listed_over_grpc_and_rest() {
    let app = spawn_app().await;
    let mut client = client(&app).await;

    let mut request = chickens(&app, 2);
    request.idempotency_key = Some("grpc-first".to_owned());
    let placed = client
        .place_order(as_user(request.clone(), "alice", "customer"))
        .await
        .unwrap()
        .into_inner();
    let again = client
        .place_order(as_user(request, "alice", "customer"))
        .await
        .unwrap()
        .into_inner();
    let got = client
        .get_order(as_user(
            GetOrderRequest {
                order_id: placed.id.clone(),
            },
            "alice",
            "customer",
        ))
        .await
        .unwrap()
        .into_inner();
    let listed = client
        .list_orders(as_user(ListOrdersRequest {}, "alice", "customer"))
        .await
        .unwrap()
        .into_inner()
        .orders;

    assert_eq!(placed.status(), OrderStatus::Placed);
    assert_eq!(placed.total_price, 36_000);
    assert_eq!(placed.customer_id, "alice");
    assert_eq!(placed.items[0].name, "Fried chicken");
    assert!(placed.payment_id.is_some());
    assert_eq!(
        again.id, placed.id,
        "the same idempotency key, the same order"
    );
    assert_eq!(got.id, placed.id);
    assert_eq!(got.status(), OrderStatus::Placed);
    assert_eq!(got.payment_id, placed.payment_id);
    assert_eq!(got, again, "read back as stored");
    assert_eq!(listed, vec![got]);
    let rest: Value = app
        .get_order("alice", &placed.id)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(rest["status"], "Placed");
    assert_eq!(rest["totalPrice"], 36_000);
    assert_eq!(app.payment_count().await, 1);
    app.finish().await;
}

#[tokio::test]
async fn a_cancel_over_grpc_refunds_and_a_second_cancel_is_failed_precondition() {
    let app = spawn_app().await;
    let order = place(&app, 1).await;
    let mut client = client(&app).await;
    let cancel = || {
        as_user(
            CancelOrderRequest {
                order_id: order.id.clone(),
            },
            "alice",
            "customer",
        )
    };

    let canceled = client.cancel_order(cancel()).await.unwrap().into_inner();
    let again = client.cancel_order(cancel()).await.unwrap_err();

    assert_eq!(canceled.status(), OrderStatus::Canceled);
    assert_eq!(canceled.cancel_reason.as_deref(), Some("customer"));
    app.wait_for_payment_status(&order.id, "Refunded").await;
    assert_eq!(again.code(), Code::FailedPrecondition);
    assert_eq!(problem_code(&again), "invalid_transition");
    app.finish().await;
}

#[tokio::test]
async fn a_change_over_grpc_needs_the_version_read_and_is_the_order_rest_reads() {
    let app = spawn_app().await;
    let order = place(&app, 1).await;
    assert_eq!(order.version, 1);
    let mut client = client(&app).await;
    let change = |expected_version: u32| {
        as_user(
            ChangeOrderRequest {
                order_id: order.id.clone(),
                expected_version,
                items: vec![ItemRequest {
                    menu_item_id: app.chicken.to_string(),
                    quantity: 2,
                }],
                delivery_address: Some("Busan".to_owned()),
            },
            "alice",
            "customer",
        )
    };

    let unnamed = client.change_order(change(0)).await.unwrap_err();
    let stale = client.change_order(change(7)).await.unwrap_err();
    let changed = client.change_order(change(1)).await.unwrap().into_inner();

    assert_eq!(unnamed.code(), Code::FailedPrecondition);
    assert_eq!(problem_code(&unnamed), "precondition_required");
    assert_eq!(stale.code(), Code::Aborted);
    assert_eq!(problem_code(&stale), "stale_version");
    assert_eq!((changed.version, changed.total_price), (2, 36_000));
    assert_eq!(changed.delivery_address, "Busan");
    let rest: Value = app
        .get_order("alice", &order.id)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        (rest["version"].clone(), rest["totalPrice"].clone()),
        (2.into(), 36_000.into())
    );
    let again = client.change_order(change(1)).await.unwrap_err();
    assert_eq!(
        again.code(),
        Code::Aborted,
        "made from the version before it"
    );
    app.finish().await;
}

#[tokio::test]
async fn watch_order_streams_each_status_until_delivered_then_ends() {
    let app = spawn_app().await;
    let order = place(&app, 1).await;
    let order_id: Uuid = order.id.parse().unwrap();
    let mut watch = client(&app)
        .await
        .watch_order(as_user(
            WatchOrderRequest {
                order_id: order.id.clone(),
            },
            "alice",
            "customer",
        ))
        .await
        .unwrap()
        .into_inner();
    let first = watch.message().await.unwrap().unwrap();
    assert_eq!(first.status(), OrderStatus::Placed);

    app.publish_accepted_and_cooking(order_id).await;
    let (store_id, customer_id) = (app.store_id, "alice".to_owned());
    app.publish(
        Topic::Store,
        CookingFinished {
            order_id,
            store_id,
            customer_id: customer_id.clone(),
            delivery_address: "Seoul, Gangnam-gu".to_owned(),
        },
    )
    .await;
    let delivery_id = Uuid::new_v4();
    app.publish(
        Topic::Delivery,
        DeliveryStarted {
            delivery_id,
            order_id,
            customer_id: customer_id.clone(),
            address: "Seoul, Gangnam-gu".to_owned(),
        },
    )
    .await;
    app.publish(
        Topic::Delivery,
        DeliveryCompleted {
            delivery_id,
            order_id,
            customer_id,
        },
    )
    .await;

    let mut seen = vec![first.status()];
    let ended = tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(change) = watch.message().await.unwrap() {
            assert_eq!(change.order_id, order.id);
            seen.push(change.status());
        }
    })
    .await;

    assert!(
        ended.is_ok(),
        "the stream ends after a final status: {seen:?}"
    );
    assert_eq!(seen.last(), Some(&OrderStatus::Delivered));
    let mut in_order = seen.clone();
    in_order.sort_by_key(|s| *s as i32);
    in_order.dedup();
    assert_eq!(seen, in_order, "each change once, never backwards");
    app.finish().await;
}

#[tokio::test]
async fn without_the_gateways_identity_a_call_is_unauthenticated_and_a_rider_may_not_order() {
    let app = spawn_app().await;
    let mut client = client(&app).await;

    let anonymous = client
        .list_orders(tonic::Request::new(ListOrdersRequest {}))
        .await
        .unwrap_err();
    let unknown_role = client
        .list_orders(as_user(ListOrdersRequest {}, "alice", "chef"))
        .await
        .unwrap_err();
    let rider = client
        .place_order(as_user(chickens(&app, 1), "ryan", "rider"))
        .await
        .unwrap_err();

    assert_eq!(anonymous.code(), Code::Unauthenticated);
    assert_eq!(unknown_role.code(), Code::Unauthenticated);
    assert_eq!(rider.code(), Code::PermissionDenied);
    assert_eq!(app.payment_count().await, 0);
    app.finish().await;
}

#[tokio::test]
async fn an_invalid_order_is_invalid_argument_with_the_rest_problem_code() {
    let app = spawn_app().await;
    let mut client = client(&app).await;
    let mut malformed = chickens(&app, 1);
    malformed.store_id = "not-a-uuid".to_owned();
    let mut nul = chickens(&app, 1);
    nul.delivery_address = "Seoul\0".to_owned();
    let mut bad_key = chickens(&app, 1);
    bad_key.idempotency_key = Some(" ".to_owned());

    let mut refusal = async |request| {
        client
            .place_order(as_user(request, "alice", "customer"))
            .await
            .unwrap_err()
    };
    let zero = refusal(chickens(&app, 0)).await;
    let too_many = refusal(chickens(&app, 100)).await;
    let malformed = refusal(malformed).await;
    let nul = refusal(nul).await;
    let bad_key = refusal(bad_key).await;

    for (status, code) in [
        (&zero, "invalid_quantity"),
        (&too_many, "invalid_quantity"),
        (&malformed, "malformed_body"),
        (&nul, "malformed_body"),
        (&bad_key, "invalid_idempotency_key"),
    ] {
        assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
        assert_eq!(problem_code(status), code, "{status:?}");
    }
    assert_eq!(app.payment_count().await, 0);
    app.finish().await;
}

#[tokio::test]
async fn another_customers_order_and_an_unknown_one_are_not_found() {
    let app = spawn_app().await;
    let order = place(&app, 1).await;
    let mut client = client(&app).await;
    let get = |id: &str, who: &str| {
        as_user(
            GetOrderRequest {
                order_id: id.to_owned(),
            },
            who,
            "customer",
        )
    };

    let bobs_view = client.get_order(get(&order.id, "bob")).await.unwrap_err();
    let unknown = client
        .get_order(get(&Uuid::new_v4().to_string(), "alice"))
        .await
        .unwrap_err();
    let bobs_cancel = client
        .cancel_order(as_user(
            CancelOrderRequest {
                order_id: order.id.clone(),
            },
            "bob",
            "customer",
        ))
        .await
        .unwrap_err();
    let bobs_watch = client
        .watch_order(as_user(
            WatchOrderRequest {
                order_id: order.id.clone(),
            },
            "bob",
            "customer",
        ))
        .await
        .unwrap_err();

    for status in [&bobs_view, &unknown, &bobs_cancel, &bobs_watch] {
        assert_eq!(status.code(), Code::NotFound, "{status:?}");
        assert_eq!(problem_code(status), "not_found", "{status:?}");
    }
    app.finish().await;
}

#[tokio::test]
async fn health_says_serving_and_reflection_names_the_order_service() {
    let app = spawn_app().await;
    let mut health = HealthClient::new(channel(&app).await);

    for service in ["", "fooddelivery.order.v1.OrderService"] {
        test_stack::eventually(Duration::from_secs(10), "SERVING", || {
            let mut health = health.clone();
            async move {
                let answer = health
                    .check(HealthCheckRequest {
                        service: service.to_owned(),
                    })
                    .await
                    .ok()?
                    .into_inner();
                (answer.status() == ServingStatus::Serving).then_some(())
            }
        })
        .await;
    }
    let unknown = health
        .check(HealthCheckRequest {
            service: "nope".to_owned(),
        })
        .await
        .unwrap_err();
    let services = reflected_services(&app).await;

    assert_eq!(unknown.code(), Code::NotFound);
    assert!(
        services.contains(&"fooddelivery.order.v1.OrderService".to_owned()),
        "{services:?}"
    );
    assert!(services.contains(&"grpc.health.v1.Health".to_owned()));
    // REST is still there, beside it.
    let ready = app.order.get("/health/ready").send().await.unwrap();
    assert_eq!(ready.status(), StatusCode::OK);
    app.finish().await;
}

/// The services the server lists through reflection (what grpcurl's `list` shows).
async fn reflected_services(app: &TestApp) -> Vec<String> {
    use tonic_reflection::pb::v1::ServerReflectionRequest;
    use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
    use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
    use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;

    let mut reflection = ServerReflectionClient::new(channel(app).await);
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut answers = reflection
        .server_reflection_info(tokio_stream::iter([request]))
        .await
        .unwrap()
        .into_inner();
    match answers.message().await.unwrap().unwrap().message_response {
        Some(MessageResponse::ListServicesResponse(list)) => {
            list.service.into_iter().map(|s| s.name).collect()
        }
        other => panic!("not a list of services: {other:?}"),
    }
}
