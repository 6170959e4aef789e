//! How notification reacts to events: each customer-facing status change becomes one Pending
//! notification, written in the inbox transaction, so a redelivered event never sends twice.
//! Sending happens later, in the dispatcher, so a slow channel never holds up the consumer.

use async_trait::async_trait;
use backbone::{EventHandler, HandleError};
use chrono::Utc;
use shared_events::contract::Reliance;
use shared_events::{Envelope, Event, Topic};
use sqlx::PgConnection;
use uuid::Uuid;

use crate::db;
use crate::domain::{Locale, Notification, NotificationStatus, compose};

const CUSTOMER: &[&str] = &["data.orderId: uuid", "data.customerId: string"];

/// What [`compose`] reads in the events a customer hears about: the contracts crate checks
/// every producer's real events against it (docs/contracts.md).
pub const RELIES_ON: &[Reliance] = &[
    Reliance {
        event: "OrderPlaced",
        fields: &[
            "data.orderId: uuid",
            "data.customerId: string",
            "data.totalPrice: integer",
        ],
    },
    Reliance {
        event: "OrderCanceled",
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
        event: "PaymentCanceled",
        fields: &[
            "data.orderId: uuid",
            "data.customerId: string",
            "data.amount: integer",
        ],
    },
];

/// Turns events into notifications in the configured language for the configured channel.
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
        compose(event, self.locale).is_some()
    }

    async fn handle(&self, tx: &mut PgConnection, envelope: &Envelope) -> Result<(), HandleError> {
        let Some(message) = compose(&envelope.event, self.locale) else {
            return Ok(());
        };
        let notification = Notification {
            id: Uuid::now_v7(),
            event_id: envelope.id,
            customer_id: message.customer_id,
            order_id: message.order_id,
            event_type: envelope.type_name().to_owned(),
            message: message.text,
            channel: self.channel.to_owned(),
            status: NotificationStatus::Pending,
            attempts: 0,
            created_at: Utc::now(),
        };
        if db::insert_pending(tx, &notification).await? {
            tracing::debug!(notification.id = %notification.id, order.id = %notification.order_id, "notification queued");
        }
        Ok(())
    }
}
