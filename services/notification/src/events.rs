//! How notification reacts to events: each customer-facing status change becomes one Pending
//! notification for the customer, and each owner-facing one (a new order, its cancellation, an
//! accident on its way) one for the store's owner, written in the inbox transaction, so a
//! redelivered event never sends twice. The facts that address an owner (the store of an order,
//! the owner of a store) are remembered in the same transaction. Sending happens later, in the
//! dispatcher, so a slow channel never holds up the consumer.

use async_trait::async_trait;
use backbone::{EventHandler, HandleError};
use chrono::Utc;
use shared_events::contract::Reliance;
use shared_events::{Envelope, Event, Topic};
use sqlx::PgConnection;
use uuid::Uuid;

use crate::db;
use crate::domain::owner::{self, Fact};
use crate::domain::{Locale, Notification, NotificationStatus, messages};

const CUSTOMER: &[&str] = &["data.orderId: uuid", "data.customerId: string"];

/// What [`messages`] and [`owner::learn`] read in the events a customer or an owner hears
/// about, and in those that say who owns what: the contracts crate checks every producer's real
/// events against it (docs/contracts.md).
pub const RELIES_ON: &[Reliance] = &[
    Reliance {
        event: "OrderPlaced",
        fields: &[
            "data.orderId: uuid",
            "data.customerId: string",
            "data.storeId: uuid",
            "data.totalPrice: integer",
        ],
    },
    Reliance {
        event: "OrderCanceled",
        fields: &[
            "data.orderId: uuid",
            "data.customerId: string",
            "data.storeId: uuid",
            "data.reason: string",
        ],
    },
    Reliance {
        event: "StoreRegistered",
        fields: &[
            "data.storeId: uuid",
            "data.ownerId: string",
            "data.name: string",
        ],
    },
    Reliance {
        event: "DeliveryAccidentReported",
        fields: &[
            "data.orderId: uuid",
            "data.customerId: string",
            "data.reason: string",
        ],
    },
    Reliance {
        event: "StoreOrderAccepted",
        fields: CUSTOMER,
    },
    Reliance {
        event: "StoreOrderRejected",
        fields: &[
            "data.orderId: uuid",
            "data.customerId: string",
            "data.reason: string",
        ],
    },
    Reliance {
        event: "CookingStarted",
        fields: CUSTOMER,
    },
    Reliance {
        event: "CookingFinished",
        fields: CUSTOMER,
    },
    Reliance {
        event: "DeliveryStarted",
        fields: CUSTOMER,
    },
    Reliance {
        event: "DeliveryCompleted",
        fields: CUSTOMER,
    },
    Reliance {
        event: "OrderChanged",
        fields: &[
            "data.orderId: uuid",
            "data.customerId: string",
            "data.storeId: uuid",
            "data.current.items: array",
            "data.current.totalPrice: integer",
            "data.current.deliveryAddress: string",
            "data.previous.totalPrice: integer",
        ],
    },
    Reliance {
        event: "PaymentAdjusted",
        fields: &[
            "data.orderId: uuid",
            "data.customerId: string",
            "data.amount: integer",
        ],
    },
    Reliance {
        event: "PaymentCanceled",
        fields: &[
            "data.orderId: uuid",
            "data.customerId: string",
            "data.amount: integer",
        ],
    },
];

/// Turns events into notifications in the configured language for the configured channel, and
/// remembers who owns what.
pub struct Notifier {
    pub locale: Locale,
    pub channel: &'static str,
}

#[async_trait]
impl EventHandler for Notifier {
    fn name(&self) -> &'static str {
        "notification.notifier"
    }

    fn topics(&self) -> Vec<Topic> {
        vec![Topic::Order, Topic::Payment, Topic::Store, Topic::Delivery]
    }

    fn accepts(&self, event: &Event) -> bool {
        owner::learn(event).is_some() || !messages(event, self.locale).is_empty()
    }

    async fn handle(&self, tx: &mut PgConnection, envelope: &Envelope) -> Result<(), HandleError> {
        match owner::learn(&envelope.event) {
            Some(Fact::StoreOwner {
                store_id,
                owner_id,
                name,
            }) => db::remember_store_owner(tx, store_id, owner_id, name).await?,
            Some(Fact::OrderStore { order_id, store_id }) => {
                db::remember_order_store(tx, order_id, store_id).await?
            }
            None => {}
        }
        for message in messages(&envelope.event, self.locale) {
            let notification = Notification {
                id: Uuid::now_v7(),
                event_id: envelope.id,
                recipient: message.recipient,
                customer_id: message.customer_id,
                owner_id: None,
                order_id: message.order_id,
                event_type: envelope.type_name().to_owned(),
                message: message.text,
                channel: self.channel.to_owned(),
                status: NotificationStatus::Pending,
                attempts: 0,
                created_at: Utc::now(),
            };
            if db::insert_pending(tx, &notification).await? {
                tracing::debug!(notification.id = %notification.id, order.id = %notification.order_id,
                    recipient = %notification.recipient, "notification queued");
            }
        }
        Ok(())
    }
}
