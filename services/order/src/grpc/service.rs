//! The `OrderService` RPCs: each reads its caller and its request as REST does, calls the use
//! case, and answers with the order or the problem's status.

use std::sync::Arc;
use std::time::Duration;
use tracing::Instrument;

use service_runtime::Role;
use tokio::sync::Semaphore;
use tokio_stream::wrappers::ReceiverStream;
use tokio_util::sync::CancellationToken;
use tonic::{Request, Response, Status};

use super::convert::{caller, status, text, uuid};
use super::proto::order_service_server::OrderService;
use super::proto::{
    CancelOrderRequest, ChangeOrderRequest, GetOrderRequest, ItemRequest, ListOrdersRequest,
    ListOrdersResponse, Order, OrderStatusChange, PlaceOrderRequest, WatchOrderRequest,
};
use super::{Grpc, GrpcSettings, watch};
use crate::domain::{OrderRequest, RequestedItem};
use crate::problems;
use crate::use_cases::{ChangeRequest, Orders};

#[derive(Clone)]
pub struct OrderRpc {
    orders: Orders,
    retry_after: u64,
    /// A permit per open `WatchOrder` stream.
    watches: Arc<Semaphore>,
    watch_poll: Duration,
    shutdown: CancellationToken,
}

impl OrderRpc {
    pub fn new(grpc: &Grpc, settings: &GrpcSettings, shutdown: CancellationToken) -> Self {
        Self {
            orders: grpc.orders.clone(),
            retry_after: grpc.retry_after,
            watches: Arc::new(Semaphore::new(settings.max_watches)),
            watch_poll: settings.watch_poll,
            shutdown,
        }
    }
}

#[tonic::async_trait]
impl OrderService for OrderRpc {
    async fn place_order(
        &self,
        request: Request<PlaceOrderRequest>,
    ) -> Result<Response<Order>, Status> {
        let identity = caller(&request)?;
        identity.require(&[Role::Customer]).map_err(status)?;
        let body = request.into_inner();
        let key = match &body.idempotency_key {
            None => None,
            Some(key) => Some(problems::idempotency_key(key).map_err(status)?.to_owned()),
        };
        let request = OrderRequest {
            store_id: uuid("store_id", &body.store_id)?,
            items: requested_items(&body.items)?,
            delivery_address: text(body.delivery_address)?,
        };
        // As in REST: placing runs to its end even if the caller stops waiting, since a charged
        // payment's answer must be recorded.
        let orders = self.orders.clone();
        let customer = identity.user_id;
        let (placement, _) = tokio::spawn(
            async move { orders.place(&customer, &request, key.as_deref()).await }
                .in_current_span(),
        )
        .await
        .map_err(|e| status(service_runtime::problem::internal_error(e)))?
        .map_err(|e| status(e.into()))?;
        let order = problems::placed(placement, self.retry_after).map_err(status)?;
        Ok(Response::new(order.into()))
    }

    async fn get_order(
        &self,
        request: Request<GetOrderRequest>,
    ) -> Result<Response<Order>, Status> {
        let identity = caller(&request)?;
        let order_id = uuid("order_id", &request.get_ref().order_id)?;
        let order = self
            .orders
            .get(&identity.user_id, order_id)
            .await
            .map_err(|e| status(e.into()))?;
        Ok(Response::new(order.into()))
    }

    async fn list_orders(
        &self,
        request: Request<ListOrdersRequest>,
    ) -> Result<Response<ListOrdersResponse>, Status> {
        let identity = caller(&request)?;
        let orders = self
            .orders
            .list(&identity.user_id)
            .await
            .map_err(|e| status(e.into()))?;
        Ok(Response::new(ListOrdersResponse {
            orders: orders.into_iter().map(Order::from).collect(),
        }))
    }

    async fn change_order(
        &self,
        request: Request<ChangeOrderRequest>,
    ) -> Result<Response<Order>, Status> {
        let identity = caller(&request)?;
        identity.require(&[Role::Customer]).map_err(status)?;
        let body = request.into_inner();
        let order_id = uuid("order_id", &body.order_id)?;
        if body.expected_version == 0 {
            return Err(status(problems::version_required()));
        }
        let items = requested_items(&body.items)?;
        let request = ChangeRequest {
            items: (!items.is_empty()).then_some(items),
            delivery_address: body.delivery_address.map(text).transpose()?,
        };
        // As in REST: a change runs to its end once started (a top-up charged is followed by
        // the change or its refund).
        let orders = self.orders.clone();
        let customer = identity.user_id;
        let expected = body.expected_version;
        let (modification, _) = tokio::spawn(
            async move { orders.change(&customer, order_id, expected, &request).await }
                .in_current_span(),
        )
        .await
        .map_err(|e| status(service_runtime::problem::internal_error(e)))?
        .map_err(|e| status(e.into()))?;
        let order = problems::changed(modification, self.retry_after).map_err(status)?;
        Ok(Response::new(order.into()))
    }

    async fn cancel_order(
        &self,
        request: Request<CancelOrderRequest>,
    ) -> Result<Response<Order>, Status> {
        let identity = caller(&request)?;
        identity.require(&[Role::Customer]).map_err(status)?;
        let order_id = uuid("order_id", &request.get_ref().order_id)?;
        let order = self
            .orders
            .cancel(&identity.user_id, order_id)
            .await
            .map_err(|e| status(e.into()))?;
        Ok(Response::new(order.into()))
    }

    type WatchOrderStream = ReceiverStream<Result<OrderStatusChange, Status>>;

    async fn watch_order(
        &self,
        request: Request<WatchOrderRequest>,
    ) -> Result<Response<Self::WatchOrderStream>, Status> {
        let identity = caller(&request)?;
        let order_id = uuid("order_id", &request.get_ref().order_id)?;
        let permit = Arc::clone(&self.watches).try_acquire_owned().map_err(|_| {
            Status::resource_exhausted("too many orders are being watched; try again later")
        })?;
        // The caller's own order, or NOT_FOUND before the stream starts.
        let order = self
            .orders
            .get(&identity.user_id, order_id)
            .await
            .map_err(|e| status(e.into()))?;
        let stream = watch::spawn(watch::Watch {
            orders: self.orders.clone(),
            customer_id: identity.user_id,
            order,
            poll: self.watch_poll,
            shutdown: self.shutdown.clone(),
            permit,
        });
        Ok(Response::new(stream))
    }
}

/// The lines of a request, each menu item id read as REST reads it.
fn requested_items(items: &[ItemRequest]) -> Result<Vec<RequestedItem>, Status> {
    items
        .iter()
        .map(|item| {
            Ok(RequestedItem {
                menu_item_id: uuid("items.menu_item_id", &item.menu_item_id)?,
                quantity: item.quantity,
            })
        })
        .collect()
}
