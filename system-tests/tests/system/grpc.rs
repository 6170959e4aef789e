//! The order service's gRPC front through the gateway, beside REST: a customer places and
//! watches an order over gRPC while the owner and the rider do their part over REST.

use std::time::Duration;

use order_service::grpc::proto::order_service_client::OrderServiceClient;
use order_service::grpc::proto::{
    ItemRequest, ListOrdersRequest, OrderStatus, PlaceOrderRequest, WatchOrderRequest,
};
use tonic::transport::Channel;

use crate::system::{System, User};

fn with_token<T>(message: T, user: &User) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    request.metadata_mut().insert(
        "authorization",
        format!("Bearer {}", user.token()).parse().unwrap(),
    );
    request
}

#[tokio::test]
async fn an_order_placed_and_watched_over_grpc_through_the_gateway_is_delivered() {
    // Arrange
    let system = System::start().await;
    let (owner, alice, rider) = (
        system.user("olivia", "owner").await,
        system.user("alice", "customer").await,
        system.user("ryan", "rider").await,
    );
    let (store_id, item_id) = system.open_store(&owner).await;
    let channel = Channel::from_shared(system.gateway.address.clone())
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut orders = OrderServiceClient::new(channel);

    // Act: the customer orders and watches over gRPC; the owner cooks, the rider delivers.
    let placed = orders
        .place_order(with_token(
            PlaceOrderRequest {
                store_id: store_id.clone(),
                items: vec![ItemRequest {
                    menu_item_id: item_id,
                    quantity: 2,
                }],
                delivery_address: "Seoul, Gangnam-gu".to_owned(),
                idempotency_key: Some("grpc-through-the-gateway".to_owned()),
            },
            &alice,
        ))
        .await
        .unwrap()
        .into_inner();
    let order_id = placed.id.clone();
    let mut watch = orders
        .watch_order(with_token(
            WatchOrderRequest {
                order_id: order_id.clone(),
            },
            &alice,
        ))
        .await
        .unwrap()
        .into_inner();
    let watching = tokio::spawn(async move {
        let mut seen = Vec::new();
        while let Some(change) = watch.message().await.unwrap() {
            seen.push(change.status());
        }
        seen
    });
    owner.cook(&store_id, &order_id).await;
    rider.deliver(&order_id).await;

    // Assert: the stream went from Placed to Delivered and ended; REST and gRPC agree.
    let seen = tokio::time::timeout(Duration::from_secs(30), watching)
        .await
        .expect("the stream ends once the order is delivered")
        .unwrap();
    assert_eq!(placed.status(), OrderStatus::Placed);
    assert_eq!(placed.total_price, 36_000);
    assert_eq!(seen.first(), Some(&OrderStatus::Placed), "{seen:?}");
    assert_eq!(seen.last(), Some(&OrderStatus::Delivered), "{seen:?}");
    let rest = alice.get(&format!("/orders/{order_id}")).await;
    assert_eq!(rest["status"], "Delivered");
    let listed = orders
        .list_orders(with_token(ListOrdersRequest {}, &alice))
        .await
        .unwrap()
        .into_inner()
        .orders;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].status(), OrderStatus::Delivered);
    system.finish().await;
}
