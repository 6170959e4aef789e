//! Events as the producers really make them: each by its producer's own domain code, wrapped in
//! the envelope its outbox writes (`Envelope::new(SOURCE, event)`, stored as `to_json()`), along
//! the lives of a few orders — delivered (and reviewed), rejected by the store, ended by an
//! accident, canceled by the customer — each producer reacting to what the others produced
//! before it.

use chrono::Utc;
use shared_events::{DeliveryRequested, Envelope, Event, OrderPlaced};
use uuid::Uuid;

use delivery_service::domain as delivery;
use order_service::domain as order;
use payment_service::domain as payment;
use review_service::domain as review;
use store_service::domain as store;

/// Envelopes of every event type, as the outboxes of the five producers hold them.
pub fn produced() -> Vec<Envelope> {
    let mut out = Outbox::default();
    let menu = catalog(&mut out);

    // Delivered. (A copy of its delivery is canceled too, as if the order had been canceled
    // while it was on the road: what the delivery service does with a late OrderCanceled.)
    let (order, placed) = place(&mut out, &menu);
    let (_, requested) = cook(&mut out, order, &placed);
    let mut on_the_road = start_delivery(&mut out, &requested);
    let (_, canceled) = delivery::on_order_canceled(Some(on_the_road.clone()), Utc::now()).unwrap();
    out.push(delivery_service::events::SOURCE, canceled);
    let completed = on_the_road.act(delivery::Action::Complete, Utc::now());
    out.push(delivery_service::events::SOURCE, completed.unwrap());
    let delivered = placed;

    // Rejected by the store: the order service cancels it.
    let (order, placed) = place(&mut out, &menu);
    let mut store_order = receive(&placed);
    let reason = store::Reason::parse("out of chicken").unwrap();
    let rejection = store_order.act(store::Action::Reject(reason), Utc::now());
    follow(
        &mut out,
        order,
        store_service::events::SOURCE,
        rejection.unwrap(),
    );

    // An accident on the road: the order service cancels it.
    let (order, placed) = place(&mut out, &menu);
    let (order, requested) = cook(&mut out, order, &placed);
    let mut on_the_road = start_delivery(&mut out, &requested);
    let accident = delivery::Reason::parse("the scooter slid on ice").unwrap();
    let report = on_the_road.act(delivery::Action::ReportAccident(accident), Utc::now());
    follow(
        &mut out,
        order,
        delivery_service::events::SOURCE,
        report.unwrap(),
    );

    // Canceled by the customer once accepted; the payment is refunded.
    let (mut order, placed) = place(&mut out, &menu);
    let mut store_order = receive(&placed);
    let accepted = store_order.act(store::Action::Accept, Utc::now()).unwrap();
    order.apply(&order.on_event(&accepted).unwrap());
    let change = order.cancel_by_customer().unwrap();
    out.push(order_service::SOURCE, change.publish.unwrap());
    let mut ledger = payment::OrderLedger::default();
    ledger.charge(payment_for(&order));
    for refund in ledger.cancel() {
        out.push(payment_service::events::SOURCE, refund);
    }

    review(&mut out, &delivered);
    change_twice(&mut out, &menu);
    out.0
}

/// The customer changes an order twice before cooking: dearer (a top-up, charged first), then
/// cheaper (the payment refunds the difference); a third change is given up after its top-up.
fn change_twice(out: &mut Outbox, menu: &[order::MenuItem]) {
    let (mut order, _) = place(out, menu);
    let mut ledger = payment::OrderLedger::default();
    ledger.charge(payment_for(&order));
    for quantity in [3, 1] {
        let request = order::OrderRequest {
            store_id: order.store_id,
            items: vec![order::RequestedItem {
                menu_item_id: menu[0].menu_item_id,
                quantity,
            }],
            delivery_address: "Seoul, Mapo-gu".to_owned(),
        };
        let (items, total_price, delivery_address) = order::price_order(&request, menu).unwrap();
        let contents = order::Contents {
            items,
            total_price,
            delivery_address,
        };
        let changed = order
            .change(order.version, contents, Uuid::now_v7())
            .unwrap()
            .unwrap();
        if changed.price_difference > 0 {
            let top_up = ledger.top_up(payment::Adjustment {
                change_id: changed.change_id,
                order_id: order.id,
                customer_id: order.customer_id.clone(),
                amount: changed.price_difference,
                status: payment::AdjustmentStatus::Approved,
                confirmed: false,
                created_at: Utc::now(),
                updated_at: Utc::now(),
            });
            for event in top_up.publish {
                out.push(payment_service::events::SOURCE, event);
            }
        }
        order.apply_change(&changed);
        out.push(order_service::SOURCE, changed.clone());
        for event in ledger.change(&changed, Utc::now()) {
            out.push(payment_service::events::SOURCE, event);
        }
    }
    let given_up = Uuid::now_v7();
    out.push(order_service::SOURCE, order.change_abandoned(given_up));
}

#[derive(Default)]
struct Outbox(Vec<Envelope>);

impl Outbox {
    fn push(&mut self, source: &str, event: impl Into<Event>) {
        self.0.push(Envelope::new(source, event));
    }
}

/// The owner opens a store and fills its menu; the order service's replica is what its events
/// say.
fn catalog(out: &mut Outbox) -> Vec<order::MenuItem> {
    let name = store::Name::parse("Chicken House").unwrap();
    let (opened, registered) = store::Store::open(name, "olivia", Utc::now());
    out.push(store_service::events::SOURCE, registered);
    let store_id = opened.id;
    let (name, price) = (
        store::Name::parse("Fried chicken"),
        store::Price::parse(18_000),
    );
    let (mut chicken, registered) =
        store::MenuItem::register(store_id, name.unwrap(), price.unwrap());
    out.push(store_service::events::SOURCE, registered);
    let patch = store::MenuItemPatch {
        price: Some(store::Price::parse(19_000).unwrap()),
        ..Default::default()
    };
    let changed = chicken.change(patch).unwrap();
    out.push(store_service::events::SOURCE, changed.clone());
    let (name, price) = (store::Name::parse("Seasoned"), store::Price::parse(20_000));
    let (seasoned, _) = store::MenuItem::register(store_id, name.unwrap(), price.unwrap());
    out.push(store_service::events::SOURCE, seasoned.remove());
    vec![order::MenuItem {
        menu_item_id: changed.menu_item_id,
        store_id: changed.store_id,
        name: changed.name,
        price: changed.price,
        available: changed.available,
    }]
}

/// A customer orders two from the replica; the payment is approved; the order is placed.
fn place(out: &mut Outbox, menu: &[order::MenuItem]) -> (order::Order, OrderPlaced) {
    let request = order::OrderRequest {
        store_id: menu[0].store_id,
        items: vec![order::RequestedItem {
            menu_item_id: menu[0].menu_item_id,
            quantity: 2,
        }],
        delivery_address: "Seoul, Gangnam-gu".to_owned(),
    };
    let (items, total_price, delivery_address) = order::price_order(&request, menu).unwrap();
    let now = Utc::now();
    let mut pending = order::Order {
        id: Uuid::now_v7(),
        customer_id: "alice".to_owned(),
        store_id: request.store_id,
        items,
        total_price,
        delivery_address,
        status: order::OrderStatus::PaymentPending,
        cancel_reason: None,
        payment_id: None,
        version: 1,
        created_at: now,
        updated_at: now,
    };
    let charged = payment::OrderLedger::default().charge(payment_for(&pending));
    for event in charged.publish {
        out.push(payment_service::events::SOURCE, event);
    }
    let change = pending.place(charged.payment.id).unwrap();
    let Some(Event::OrderPlaced(placed)) = change.publish.clone() else {
        panic!("placing publishes OrderPlaced");
    };
    out.push(order_service::SOURCE, placed.clone());
    pending.apply(&change);
    (pending, placed)
}

/// The charge the order service asks for, decided by the payment service's rule.
fn payment_for(order: &order::Order) -> payment::Payment {
    let amount = payment::Amount::parse(order.total_price).unwrap();
    payment::Payment {
        id: Uuid::now_v7(),
        order_id: order.id,
        customer_id: order.customer_id.clone(),
        amount: amount.won(),
        status: payment::decide(amount, 1_000_000),
        created_at: order.created_at,
        updated_at: order.created_at,
    }
}

fn receive(placed: &OrderPlaced) -> store::StoreOrder {
    store::on_order_placed(None, None, placed, Utc::now()).unwrap()
}

/// The order service follows one event of another service, publishing what it decides.
fn follow(out: &mut Outbox, mut order: order::Order, source: &str, event: Event) -> order::Order {
    out.push(source, event.clone());
    if let Some(change) = order.on_event(&event) {
        if let Some(published) = change.publish.clone() {
            out.push(order_service::SOURCE, published);
        }
        order.apply(&change);
    }
    order
}

/// The store accepts and cooks; the order service follows and asks for the delivery.
fn cook(
    out: &mut Outbox,
    mut order: order::Order,
    placed: &OrderPlaced,
) -> (order::Order, DeliveryRequested) {
    let mut store_order = receive(placed);
    for action in [
        store::Action::Accept,
        store::Action::StartCooking,
        store::Action::FinishCooking,
    ] {
        let event = store_order.act(action, Utc::now()).unwrap();
        order = follow(out, order, store_service::events::SOURCE, event);
    }
    let requested = out.0.iter().rev().find_map(|e| match &e.event {
        Event::DeliveryRequested(r) if r.order_id == order.id => Some(r.clone()),
        _ => None,
    });
    (
        order,
        requested.expect("a cooked order is handed to delivery"),
    )
}

fn start_delivery(out: &mut Outbox, requested: &DeliveryRequested) -> delivery::Delivery {
    let (delivery, started) =
        delivery::on_delivery_requested(None, false, requested, Utc::now()).unwrap();
    out.push(delivery_service::events::SOURCE, started);
    delivery
}

/// The customer reviews the delivered order and edits the review; the store's rating follows
/// each, as the review service computes it.
fn review(out: &mut Outbox, delivered: &OrderPlaced) {
    let order = review::OrderFacts {
        order_id: delivered.order_id,
        customer_id: delivered.customer_id.clone(),
        store_id: delivered.store_id,
        delivered: true,
    };
    let (rating, text) = (review::Rating::parse(4), review::Text::parse("Crispy."));
    let (mut posted, event) = review::post(
        Some(&order),
        order.order_id,
        &order.customer_id,
        rating.unwrap(),
        text.unwrap(),
        Utc::now(),
    )
    .unwrap();
    out.push(review_service::events::SOURCE, event);
    let rating = review::store_rating(order.store_id, 1, 4);
    out.push(review_service::events::SOURCE, rating);
    let (rating, text) = (
        review::Rating::parse(5),
        review::Text::parse("Crispy, early."),
    );
    let window = std::time::Duration::from_secs(3600);
    let customer = order.customer_id.clone();
    let edited = posted.edit(
        &customer,
        rating.unwrap(),
        text.unwrap(),
        window,
        Utc::now(),
    );
    out.push(review_service::events::SOURCE, edited.unwrap());
}
