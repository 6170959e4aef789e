//! `WatchOrder`: the order's status now, then each change, until it is final.
//!
//! The stream reads the order from the database every `GRPC_WATCH_POLL_MS`, through the same
//! use case as `GetOrder`. Polling rather than listening to the service's own events: a status
//! changes in whichever replica handled the event or the request (another replica's
//! cancellation, say), and the database is where every replica's changes meet. Each stream
//! holds one of `GRPC_MAX_WATCHES` permits, and ends on a final status, when the client goes
//! away, or when the service shuts down (`UNAVAILABLE`: watch again elsewhere).

use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, mpsc};
use tokio_stream::wrappers::ReceiverStream;
use tokio_util::sync::CancellationToken;
use tonic::Status;

use super::convert::status;
use super::proto::OrderStatusChange;
use crate::domain::{Order, OrderStatus};
use crate::use_cases::Orders;

pub struct Watch {
    pub orders: Orders,
    pub customer_id: String,
    /// As it was when the watch began: its status is the stream's first message.
    pub order: Order,
    pub poll: Duration,
    pub shutdown: CancellationToken,
    pub permit: OwnedSemaphorePermit,
}

/// Whether `status` can change no more.
pub fn is_final(status: OrderStatus) -> bool {
    status != OrderStatus::PaymentPending && !status.is_in_progress()
}

/// Starts watching; the stream the client reads.
pub fn spawn(watch: Watch) -> ReceiverStream<Result<OrderStatusChange, Status>> {
    // One message in hand: a client that reads slowly holds the polling back, rather than a
    // queue of statuses growing for it.
    let (tx, rx) = mpsc::channel(1);
    tokio::spawn(run(watch, tx));
    ReceiverStream::new(rx)
}

async fn run(watch: Watch, tx: mpsc::Sender<Result<OrderStatusChange, Status>>) {
    let Watch {
        orders,
        customer_id,
        mut order,
        poll,
        shutdown,
        permit: _permit,
    } = watch;
    if tx.send(Ok((&order).into())).await.is_err() {
        return;
    }
    while !is_final(order.status) {
        tokio::select! {
            () = tx.closed() => return,
            () = shutdown.cancelled() => {
                let _ = tx.send(Err(Status::unavailable("the service is shutting down; watch again"))).await;
                return;
            }
            () = tokio::time::sleep(poll) => {}
        }
        let current = match orders.get(&customer_id, order.id).await {
            Ok(current) => current,
            Err(e) => {
                let _ = tx.send(Err(status(e.into()))).await;
                return;
            }
        };
        let changed =
            current.status != order.status || current.cancel_reason != order.cancel_reason;
        if changed && tx.send(Ok((&current).into())).await.is_err() {
            return;
        }
        order = current;
    }
}
