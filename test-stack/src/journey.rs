//! Events of one order as the services would publish them, for tests of the services that
//! consume them (notification, mypage): build an [`Order`] and ask it for its events.

use shared_events::{
    CancelReason, CookingFinished, CookingStarted, DeliveryCompleted, DeliveryStarted, Envelope,
    OrderCanceled, OrderLine, OrderPlaced, PaymentApproved, PaymentCanceled, StoreOrderAccepted,
    StoreOrderRejected,
};
use uuid::Uuid;

pub struct Order {
    pub id: Uuid,
    pub items: Vec<OrderLine>,
    pub customer: String,
    pub store_id: Uuid,
    pub payment_id: Uuid,
    pub delivery_id: Uuid,
}

impl Order {
    pub fn new(customer: &str) -> Self {
        Self::with_items(customer, vec![line(Uuid::new_v4(), "Fried chicken")])
    }

    pub fn with_items(customer: &str, items: Vec<OrderLine>) -> Self {
        Self {
            id: Uuid::new_v4(),
            items,
            customer: customer.to_owned(),
            store_id: Uuid::new_v4(),
            payment_id: Uuid::new_v4(),
            delivery_id: Uuid::new_v4(),
        }
    }

    pub fn placed(&self) -> Envelope {
        Envelope::new(
            "order",
            OrderPlaced {
                order_id: self.id,
                customer_id: self.customer.clone(),
                store_id: self.store_id,
                items: self.items.clone(),
                total_price: 36_000,
                delivery_address: "Seoul".into(),
                payment_id: self.payment_id,
            },
        )
    }

    pub fn approved(&self) -> Envelope {
        Envelope::new(
            "payment",
            PaymentApproved {
                payment_id: self.payment_id,
                order_id: self.id,
                customer_id: self.customer.clone(),
                amount: 36_000,
            },
        )
    }

    pub fn accepted(&self) -> Envelope {
        Envelope::new(
            "store",
            StoreOrderAccepted {
                order_id: self.id,
                store_id: self.store_id,
                customer_id: self.customer.clone(),
            },
        )
    }

    pub fn rejected(&self) -> Envelope {
        Envelope::new(
            "store",
            StoreOrderRejected {
                order_id: self.id,
                store_id: self.store_id,
                customer_id: self.customer.clone(),
                reason: "sold out".into(),
            },
        )
    }

    pub fn cooking(&self) -> Envelope {
        Envelope::new(
            "store",
            CookingStarted {
                order_id: self.id,
                store_id: self.store_id,
                customer_id: self.customer.clone(),
            },
        )
    }

    pub fn cooked(&self) -> Envelope {
        Envelope::new(
            "store",
            CookingFinished {
                order_id: self.id,
                store_id: self.store_id,
                customer_id: self.customer.clone(),
                delivery_address: "Seoul".into(),
            },
        )
    }

    pub fn delivering(&self) -> Envelope {
        Envelope::new(
            "delivery",
            DeliveryStarted {
                delivery_id: self.delivery_id,
                order_id: self.id,
                customer_id: self.customer.clone(),
                address: "Seoul".into(),
            },
        )
    }

    pub fn delivered(&self) -> Envelope {
        Envelope::new(
            "delivery",
            DeliveryCompleted {
                delivery_id: self.delivery_id,
                order_id: self.id,
                customer_id: self.customer.clone(),
            },
        )
    }

    pub fn canceled(&self, reason: CancelReason) -> Envelope {
        Envelope::new(
            "order",
            OrderCanceled {
                order_id: self.id,
                customer_id: self.customer.clone(),
                store_id: self.store_id,
                reason,
            },
        )
    }

    pub fn refunded(&self) -> Envelope {
        Envelope::new(
            "payment",
            PaymentCanceled {
                payment_id: self.payment_id,
                order_id: self.id,
                customer_id: self.customer.clone(),
                amount: 36_000,
            },
        )
    }

    /// Placed, paid, accepted, cooked and delivered, in the order it happens.
    pub fn happy_path(&self) -> Vec<Envelope> {
        vec![
            self.placed(),
            self.approved(),
            self.accepted(),
            self.cooking(),
            self.cooked(),
            self.delivering(),
            self.delivered(),
        ]
    }
}

pub fn line(menu_item_id: Uuid, name: &str) -> OrderLine {
    OrderLine {
        menu_item_id,
        name: name.into(),
        quantity: 2,
        unit_price: 18_000,
    }
}
