//! How the order service follows the other services: the menu replica from catalog events,
//! and the order's status from the store's and the delivery's events.

use async_trait::async_trait;
use backbone::{EventHandler, HandleError};
use shared_events::contract::Reliance;
use shared_events::{Envelope, Event, MenuItemChanged, MenuItemRegistered, Topic};
use sqlx::PgConnection;

use crate::db;
use crate::domain::MenuItem;
use crate::use_cases::commit_change;

const MENU_ITEM: &[&str] = &[
    "data.storeId: uuid",
    "data.menuItemId: uuid",
    "data.name: string",
    "data.price: integer",
    "data.available: boolean",
];

/// What the handlers below read in other services' events: the contracts crate checks every
/// producer's real events against it (docs/contracts.md).
pub const RELIES_ON: &[Reliance] = &[
    Reliance {
        event: "MenuItemRegistered",
        fields: MENU_ITEM,
    },
    Reliance {
        event: "MenuItemChanged",
        fields: MENU_ITEM,
    },
    Reliance {
        event: "MenuItemRemoved",
        fields: &["data.menuItemId: uuid"],
    },
    Reliance {
        event: "StoreOrderAccepted",
        fields: &["data.orderId: uuid"],
    },
    Reliance {
        event: "StoreOrderRejected",
        fields: &["data.orderId: uuid"],
    },
    Reliance {
        event: "CookingStarted",
        fields: &["data.orderId: uuid"],
    },
    Reliance {
        event: "CookingFinished",
        fields: &["data.orderId: uuid"],
    },
    Reliance {
        event: "DeliveryStarted",
        fields: &["data.orderId: uuid"],
    },
    Reliance {
        event: "DeliveryCompleted",
        fields: &["data.orderId: uuid"],
    },
    Reliance {
        event: "DeliveryAccidentReported",
        fields: &["data.orderId: uuid"],
    },
];

/// Keeps `menu_item` equal to the store service's catalog. Catalog events are keyed by store,
/// so one store's changes arrive in order and the last one wins.
pub struct MenuReplica;

#[async_trait]
impl EventHandler for MenuReplica {
    fn name(&self) -> &'static str {
        "order.menu"
    }

    fn topics(&self) -> Vec<Topic> {
        vec![Topic::Store]
    }

    fn accepts(&self, event: &Event) -> bool {
        matches!(
            event,
            Event::MenuItemRegistered(_) | Event::MenuItemChanged(_) | Event::MenuItemRemoved(_)
        )
    }

    async fn handle(&self, tx: &mut PgConnection, envelope: &Envelope) -> Result<(), HandleError> {
        match &envelope.event {
            Event::MenuItemRegistered(MenuItemRegistered {
                store_id,
                menu_item_id,
                name,
                price,
                available,
            })
            | Event::MenuItemChanged(MenuItemChanged {
                store_id,
                menu_item_id,
                name,
                price,
                available,
            }) => {
                let item = MenuItem {
                    menu_item_id: *menu_item_id,
                    store_id: *store_id,
                    name: name.clone(),
                    price: *price,
                    available: *available,
                };
                db::upsert_menu_item(tx, &item).await?;
            }
            Event::MenuItemRemoved(e) => db::delete_menu_item(tx, e.menu_item_id).await?,
            _ => {}
        }
        Ok(())
    }
}

/// Moves orders along as the store and the delivery report progress; a rejection or an
/// accident cancels the order (and so refunds it).
pub struct OrderProgress;

#[async_trait]
impl EventHandler for OrderProgress {
    fn name(&self) -> &'static str {
        "order.progress"
    }

    fn topics(&self) -> Vec<Topic> {
        vec![Topic::Store, Topic::Delivery]
    }

    fn accepts(&self, event: &Event) -> bool {
        matches!(
            event,
            Event::StoreOrderAccepted(_)
                | Event::StoreOrderRejected(_)
                | Event::CookingStarted(_)
                | Event::CookingFinished(_)
                | Event::DeliveryStarted(_)
                | Event::DeliveryCompleted(_)
                | Event::DeliveryAccidentReported(_)
        )
    }

    async fn handle(&self, tx: &mut PgConnection, envelope: &Envelope) -> Result<(), HandleError> {
        let Some(order_id) = envelope.event.order_id() else {
            return Ok(());
        };
        let Some(mut order) = db::get(&mut *tx, order_id, true).await? else {
            tracing::warn!(order.id = %order_id, event.type = envelope.type_name(), "event for an unknown order ignored");
            return Ok(());
        };
        if let Some(change) = order.on_event(&envelope.event) {
            commit_change(tx, &mut order, &change).await?;
            tracing::info!(order.id = %order.id, status = %order.status, "order status followed {}", envelope.type_name());
        }
        Ok(())
    }
}
