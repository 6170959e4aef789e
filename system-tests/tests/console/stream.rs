//! The live stream (`GET /live/orders/{id}`) read as a program reads it: who may open it, what
//! it sends as the order moves, and where a reconnecting client resumes.

use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::system::{PATIENCE, System, User};

/// One server-sent event.
#[derive(Debug)]
struct Message {
    event: String,
    id: Option<String>,
    data: Value,
}

/// An open stream, read message by message.
struct Stream {
    response: reqwest::Response,
    buffer: String,
}

impl Stream {
    async fn open(user: &User, path: &str, last_event_id: Option<&str>) -> Self {
        let mut request = user
            .request(Method::GET, path)
            .header("accept", "text/event-stream");
        if let Some(id) = last_event_id {
            request = request.header("last-event-id", id);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "GET {path}");
        assert_eq!(
            response.headers()["content-type"],
            "text/event-stream",
            "GET {path}"
        );
        Self {
            response,
            buffer: String::new(),
        }
    }

    /// The next message with data (comments and `retry` skipped), within the patience: the
    /// stream's keep-alive comments do not count as progress.
    async fn next(&mut self) -> Message {
        tokio::time::timeout(PATIENCE, self.read())
            .await
            .expect("a message within the patience")
    }

    async fn read(&mut self) -> Message {
        loop {
            if let Some(at) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..at + 2).collect();
                let (mut event, mut id, mut data) = ("message".to_owned(), None, String::new());
                for line in block.lines() {
                    match line.split_once(':') {
                        Some(("event", v)) => event = v.trim().to_owned(),
                        Some(("id", v)) => id = Some(v.trim().to_owned()),
                        Some(("data", v)) => data.push_str(v.trim()),
                        _ => {}
                    }
                }
                if !data.is_empty() {
                    let data = serde_json::from_str(&data).unwrap_or(Value::String(data));
                    return Message { event, id, data };
                }
                continue;
            }
            let chunk = self
                .response
                .chunk()
                .await
                .unwrap()
                .expect("the stream still open");
            self.buffer
                .push_str(&String::from_utf8_lossy(&chunk).replace("\r\n", "\n"));
        }
    }

    /// Reads until a `status` message whose order status is `status`; returns the event types
    /// seen on the way.
    async fn until_status(&mut self, status: &str) -> Vec<String> {
        let mut types = Vec::new();
        loop {
            let message = self.next().await;
            match message.event.as_str() {
                "event" => {
                    assert_eq!(message.id.as_deref(), message.data["eventId"].as_str());
                    types.push(message.data["eventType"].as_str().unwrap().to_owned());
                }
                "status" if message.data["orderStatus"] == status => return types,
                "status" => {}
                other => panic!("unexpected {other} before {status}: {message:?}"),
            }
        }
    }

    /// Reads until the stream's `end`; returns the event types seen on the way (mypage may
    /// fold a slower topic's event after the final status).
    async fn until_end(&mut self) -> Vec<String> {
        let mut types = Vec::new();
        loop {
            let message = self.next().await;
            match message.event.as_str() {
                "event" => types.push(message.data["eventType"].as_str().unwrap().to_owned()),
                "status" => {}
                "end" => return types,
                other => panic!("unexpected {other}: {message:?}"),
            }
        }
    }
}

async fn status_of_opening(user: &User, path: &str) -> (StatusCode, Value) {
    let response = user.request(Method::GET, path).send().await.unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread")]
async fn the_live_stream_follows_an_order_for_those_who_may_read_it_and_resumes_after_the_last_event()
 {
    let _alone = crate::ONE_SYSTEM.lock().await;
    let system = System::start().await;
    let owner = system.user("olivia", "owner").await;
    let other_owner = system.user("oscar", "owner").await;
    let alice = system.user("alice", "customer").await;
    let bob = system.user("bob", "customer").await;
    let rider = system.user("ryan", "rider").await;
    let (store, item) = system.open_store(&owner).await;
    let (other_store, _) = system.open_store(&other_owner).await;
    let order = alice.place(&store, &item).await;
    let live = format!("/live/orders/{order}");

    // Who may not: no token, another customer, an owner without the store, another store's
    // owner, a rider before there is a delivery.
    let anonymous = reqwest::Client::new()
        .get(format!("{}{live}", system.gateway.address))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        status_of_opening(&bob, &live).await.0,
        StatusCode::NOT_FOUND
    );
    let (status, problem) = status_of_opening(&owner, &live).await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("store_id_required"))
    );
    for path in [
        format!("{live}?storeId={store}"),
        format!("{live}?storeId={other_store}"),
    ] {
        assert_eq!(
            status_of_opening(&other_owner, &path).await.0,
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }
    assert_eq!(
        status_of_opening(&rider, &live).await.0,
        StatusCode::NOT_FOUND
    );

    // The customer and the store's owner watch it move.
    let mut customer = Stream::open(&alice, &live, None).await;
    // The owner may once the store has the order (its consumer heard of OrderPlaced).
    owner.wait_for_store_order(&store, &order).await;
    let mut store_owner = Stream::open(&owner, &format!("{live}?storeId={store}"), None).await;
    let placed = customer.until_status("Placed").await;
    assert!(placed.contains(&"OrderPlaced".to_owned()), "{placed:?}");
    owner.cook(&store, &order).await;
    let mut seen = placed;
    seen.extend(customer.until_status("Delivering").await);
    rider.deliver(&order).await;
    seen.extend(customer.until_status("Delivered").await);
    // Quiet after a final status: the stream says it ended.
    seen.extend(customer.until_end().await);
    let mut expected = [
        "OrderPlaced",
        "PaymentApproved",
        "StoreOrderAccepted",
        "CookingStarted",
        "CookingFinished",
        "DeliveryRequested",
        "DeliveryStarted",
        "DeliveryCompleted",
    ];
    seen.sort();
    expected.sort_unstable();
    assert_eq!(seen, expected, "each event once");
    let mut owners = store_owner.until_status("Delivered").await;
    owners.extend(store_owner.until_end().await);
    owners.sort();
    assert_eq!(owners, expected, "the owner's stream too");

    // A rider now may watch (there is a delivery), and a client resuming after the third event
    // gets the five after it, then the status.
    let mut all = Stream::open(&rider, &live, None).await;
    let mut ids = Vec::new();
    while ids.len() < expected.len() {
        let message = all.next().await;
        if message.event == "event" {
            ids.push(message.id.unwrap());
        }
    }
    let mut resumed = Stream::open(&alice, &live, Some(&ids[2])).await;
    let mut after = Vec::new();
    loop {
        let message = resumed.next().await;
        match message.event.as_str() {
            "event" => after.push(message.id.unwrap()),
            "status" => break,
            other => panic!("unexpected {other}"),
        }
    }
    assert_eq!(after, ids[3..], "the events after Last-Event-ID, in order");

    system.finish().await;
}
