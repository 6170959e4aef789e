//! One order's world: every service's state for that order, held by its pure domain layer, and
//! a bus of four topic queues. Each consumer reads each topic it follows in order, at its own
//! pace, and may be rewound (a redelivery after a crash); its reactions are the same domain
//! decisions its event handler makes, and what they publish goes back on the bus.

use chrono::Utc;
use delivery_service::domain::{self as delivery, Delivery};
use mypage_service::domain::{Merged, OrderView, merge};
use order_service::domain::{Change, Order, OrderStatus};
use payment_service::domain::{OrderLedger, Payment, PaymentStatus};
use shared_events::{Envelope, Event, OrderLine, Topic};
use store_service::domain::{self as store, Cancellation, StoreOrder};
use uuid::Uuid;

mod actors;

pub use actors::{CancelOutcome, ChangeIntent, OwnerAction, RiderAction};

/// The topics one order's events travel on, in the bus's order.
pub const TOPICS: [Topic; 4] = [Topic::Order, Topic::Payment, Topic::Store, Topic::Delivery];

pub fn topic_index(topic: Topic) -> usize {
    TOPICS.iter().position(|t| *t == topic).unwrap()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Consumer {
    Order,
    Payment,
    Store,
    Delivery,
    Mypage,
}

impl Consumer {
    pub const ALL: [Consumer; 5] = [
        Consumer::Order,
        Consumer::Payment,
        Consumer::Store,
        Consumer::Delivery,
        Consumer::Mypage,
    ];

    /// The topics its event handlers subscribe to.
    fn follows(self, topic: Topic) -> bool {
        match self {
            Consumer::Order => matches!(topic, Topic::Store | Topic::Delivery),
            Consumer::Payment | Consumer::Store => topic == Topic::Order,
            Consumer::Delivery => topic == Topic::Order,
            Consumer::Mypage => true,
        }
    }
}

pub struct World {
    pub order: Order,
    pub ledger: OrderLedger,
    pub store_order: Option<StoreOrder>,
    store_tombstone: Option<String>,
    pub delivery: Option<Delivery>,
    delivery_knows_canceled: bool,
    pub view: Option<OrderView>,
    pub cancel: CancelOutcome,
    owner: Vec<OwnerAction>,
    rider: Vec<RiderAction>,
    /// A charge request still on its way to the payment service.
    late_charge: Option<Payment>,
    /// Every message ever published, per topic, in publication order.
    topics: [Vec<Envelope>; 4],
    /// The next offset each consumer reads, per topic.
    cursors: [[usize; 4]; 5],
}

impl World {
    /// The customer has ordered and the payment service approved the charge: the order is
    /// Placed. With `payment_times_out`, the order service gave up waiting instead (the order
    /// is PaymentFailed and announced canceled) and the charge reaches the payment service later.
    pub fn new(owner: Vec<OwnerAction>, rider: Vec<RiderAction>, payment_times_out: bool) -> Self {
        let now = Utc::now();
        let order_id = Uuid::now_v7();
        let order = Order {
            id: order_id,
            customer_id: "alice".into(),
            store_id: Uuid::now_v7(),
            items: vec![OrderLine {
                menu_item_id: Uuid::now_v7(),
                name: "bibimbap".into(),
                quantity: 2,
                unit_price: 9_000,
            }],
            total_price: 18_000,
            delivery_address: "1 Main St".into(),
            status: OrderStatus::PaymentPending,
            cancel_reason: None,
            payment_id: None,
            version: 1,
            created_at: now,
            updated_at: now,
        };
        let mut world = Self {
            order,
            ledger: OrderLedger::default(),
            store_order: None,
            store_tombstone: None,
            delivery: None,
            delivery_knows_canceled: false,
            view: None,
            cancel: CancelOutcome::NotAsked,
            owner: owner.into_iter().rev().collect(),
            rider: rider.into_iter().rev().collect(),
            late_charge: None,
            topics: Default::default(),
            cursors: [[0; 4]; 5],
        };
        let candidate = Payment {
            id: Uuid::now_v7(),
            order_id,
            customer_id: "alice".into(),
            amount: 18_000,
            status: PaymentStatus::Approved,
            created_at: now,
            updated_at: now,
        };
        if payment_times_out {
            let change = world.order.fail_payment().unwrap();
            world.commit_order(&change);
            world.late_charge = Some(candidate);
        } else {
            let charged = world.ledger.charge(candidate);
            world.publish_all("payment", charged.publish);
            let change = world.order.place(charged.payment.id).unwrap();
            world.commit_order(&change);
        }
        world
    }

    /// Every message published so far, in publication order per topic.
    pub fn published(&self) -> impl Iterator<Item = &Envelope> {
        self.topics.iter().flatten()
    }

    /// Pairs (consumer, topic) with a message waiting.
    pub fn pending(&self) -> Vec<(Consumer, usize)> {
        self.subscriptions()
            .filter(|&(c, t)| self.cursors[c as usize][t] < self.topics[t].len())
            .collect()
    }

    /// Pairs (consumer, topic) that have read something, and so can be rewound.
    pub fn rewindable(&self) -> Vec<(Consumer, usize)> {
        self.subscriptions()
            .filter(|&(c, t)| self.cursors[c as usize][t] > 0)
            .collect()
    }

    fn subscriptions(&self) -> impl Iterator<Item = (Consumer, usize)> {
        Consumer::ALL.into_iter().flat_map(|c| {
            (0..TOPICS.len())
                .filter(move |&t| c.follows(TOPICS[t]))
                .map(move |t| (c, t))
        })
    }

    pub fn quiescent(&self) -> bool {
        self.pending().is_empty()
    }

    /// The consumer goes `back` messages back on the topic: they will be delivered again.
    pub fn rewind(&mut self, consumer: Consumer, topic: usize, back: usize) {
        let cursor = &mut self.cursors[consumer as usize][topic];
        *cursor -= back.clamp(1, *cursor);
    }

    /// Delivers the consumer's next message of the topic.
    pub fn deliver(&mut self, consumer: Consumer, topic: usize) {
        let offset = self.cursors[consumer as usize][topic];
        let envelope = self.topics[topic][offset].clone();
        self.cursors[consumer as usize][topic] += 1;
        match consumer {
            Consumer::Order => self.order_reacts(&envelope.event),
            Consumer::Payment => self.payment_reacts(&envelope.event),
            Consumer::Store => self.store_reacts(&envelope.event),
            Consumer::Delivery => self.delivery_reacts(&envelope.event),
            Consumer::Mypage => {
                if let Merged::Changed(view) = merge(self.view.clone(), &envelope) {
                    self.view = Some(view);
                }
            }
        }
    }

    /// Delivers everything pending, then lets the owner and the rider do what is left (and a
    /// late charge arrive), until nothing more happens. Deliveries go consumer by consumer,
    /// topic by topic.
    pub fn settle(&mut self) {
        loop {
            while let Some(&(consumer, topic)) = self.pending().first() {
                self.deliver(consumer, topic);
            }
            if !self.owner_acts() && !self.rider_acts() && !self.late_charge_arrives() {
                return;
            }
        }
    }

    fn order_reacts(&mut self, event: &Event) {
        if let Some(change) = self.order.on_event(event) {
            self.commit_order(&change);
        }
    }

    /// What the payment service's `Settlements` decides.
    fn payment_reacts(&mut self, event: &Event) {
        let now = Utc::now();
        let publish = match event {
            Event::OrderCanceled(_) => self.ledger.cancel(),
            Event::OrderChanged(changed) => self.ledger.change(changed, now),
            Event::OrderChangeAbandoned(a) => {
                self.ledger
                    .abandon(a.order_id, &a.customer_id, a.change_id, now)
            }
            Event::DeliveryRequested(_) => self.ledger.settle_changes(),
            _ => vec![],
        };
        self.publish_all("payment", publish);
    }

    fn store_reacts(&mut self, event: &Event) {
        let now = Utc::now();
        match event {
            Event::OrderPlaced(placed) => {
                let tombstone = self.store_tombstone.as_deref();
                if let Some(created) =
                    store::on_order_placed(self.store_order.as_ref(), tombstone, placed, now)
                {
                    self.store_order = Some(created);
                }
            }
            Event::OrderChanged(changed) => {
                if let Some(order) = store::on_order_changed(self.store_order.clone(), changed, now)
                {
                    self.store_order = Some(order);
                }
            }
            Event::OrderCanceled(canceled) => {
                match store::on_order_canceled(self.store_order.clone(), canceled, now) {
                    Cancellation::Remember { reason } => self.store_tombstone = Some(reason),
                    Cancellation::Cancel(order) => self.store_order = Some(order),
                    Cancellation::Nothing => {}
                }
            }
            _ => {}
        }
    }

    fn delivery_reacts(&mut self, event: &Event) {
        let now = Utc::now();
        match event {
            Event::DeliveryRequested(requested) => {
                if let Some((started, event)) = delivery::on_delivery_requested(
                    self.delivery.as_ref(),
                    self.delivery_knows_canceled,
                    requested,
                    now,
                ) {
                    self.delivery = Some(started);
                    self.publish_all("delivery", vec![event.into()]);
                }
            }
            Event::OrderCanceled(_) => {
                self.delivery_knows_canceled = true;
                if let Some((canceled, event)) =
                    delivery::on_order_canceled(self.delivery.clone(), now)
                {
                    self.delivery = Some(canceled);
                    self.publish_all("delivery", vec![event.into()]);
                }
            }
            _ => {}
        }
    }

    fn commit_order(&mut self, change: &Change) {
        self.order.apply(change);
        self.publish_all("order", change.publish.clone().into_iter().collect());
    }

    fn publish_all(&mut self, source: &str, events: Vec<Event>) {
        for event in events {
            self.topics[topic_index(event.topic())].push(Envelope::new(source, event));
        }
    }
}
