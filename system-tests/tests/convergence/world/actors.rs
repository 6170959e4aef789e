//! The people in the story: the owner and the rider act on what their service knows, the
//! customer's cancel is decided by the order service on what it knows, and a charge request the
//! order service gave up on may still reach the payment service.

use chrono::Utc;
use delivery_service::domain as delivery;
use store_service::domain as store;

use order_service::domain::Contents;
use payment_service::domain::{Adjustment, AdjustmentStatus};
use shared_events::OrderLine;
use uuid::Uuid;

use super::World;

/// What the owner and the rider intend to do, in order. An action the service does not allow
/// yet (the store order has not arrived) is retried later; one it will never allow again (the
/// order is over) is given up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OwnerAction {
    Accept,
    Reject,
    StartCooking,
    FinishCooking,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RiderAction {
    Complete,
    ReportAccident,
}

/// A change the customer asks for: dearer (a top-up is charged first) or cheaper, and whether
/// its request dies between the top-up and the change (the order service never hears the end
/// of it, nor publishes anything).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChangeIntent {
    pub dearer: bool,
    pub dies_after_top_up: bool,
}

/// How the customer's cancel request was answered by the order service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CancelOutcome {
    NotAsked,
    Accepted,
    Refused,
}

impl World {
    /// The customer asks to cancel; the order service decides on what it knows now.
    pub fn customer_cancels(&mut self) {
        if self.cancel != CancelOutcome::NotAsked {
            return;
        }
        self.cancel = match self.order.cancel_by_customer() {
            Ok(change) => {
                self.commit_order(&change);
                CancelOutcome::Accepted
            }
            Err(_) => CancelOutcome::Refused,
        };
    }

    /// The customer changes the order to two or to one portion, from the version the order
    /// service holds; it decides on what it knows now. A dearer change's top-up is charged
    /// first, at the payment service, then the change is made (or the request dies).
    pub fn customer_changes(&mut self, intent: ChangeIntent) {
        let line = &self.order.items[0];
        let quantity = if intent.dearer { line.quantity + 1 } else { 1 };
        let contents = Contents {
            items: vec![OrderLine {
                quantity,
                ..line.clone()
            }],
            total_price: i64::from(quantity) * line.unit_price,
            delivery_address: "2 Side St".into(),
        };
        let change_id = Uuid::now_v7();
        let Ok(Some(changed)) = self.order.change(self.order.version, contents, change_id) else {
            return;
        };
        if changed.price_difference > 0 {
            let topped = self.ledger.top_up(Adjustment {
                change_id,
                order_id: self.order.id,
                customer_id: self.order.customer_id.clone(),
                amount: changed.price_difference,
                status: AdjustmentStatus::Approved,
                confirmed: false,
                created_at: Utc::now(),
                updated_at: Utc::now(),
            });
            self.publish_all("payment", topped.publish);
            if intent.dies_after_top_up {
                return;
            }
        }
        self.order.apply_change(&changed);
        self.publish_all("order", vec![changed.into()]);
    }

    /// The owner's next intended action, if the store allows it now; `true` if anything changed.
    pub fn owner_acts(&mut self) -> bool {
        let (Some(next), Some(store_order)) = (self.owner.last(), self.store_order.as_mut()) else {
            return false;
        };
        let action = match next {
            OwnerAction::Accept => store::Action::Accept,
            OwnerAction::Reject => store::Action::Reject(store::Reason::parse("sold out").unwrap()),
            OwnerAction::StartCooking => store::Action::StartCooking,
            OwnerAction::FinishCooking => store::Action::FinishCooking,
        };
        match store_order.act(action, Utc::now()) {
            Ok(event) => {
                self.owner.pop();
                self.publish_all("store", vec![event]);
            }
            // Only an order that is over refuses the owner's next step: nothing more to do.
            Err(_) => self.owner.clear(),
        }
        true
    }

    /// The rider's next intended action, if there is a delivery; `true` if anything changed.
    pub fn rider_acts(&mut self) -> bool {
        let (Some(&next), Some(delivery)) = (self.rider.last(), self.delivery.as_mut()) else {
            return false;
        };
        let action = match next {
            RiderAction::Complete => delivery::Action::Complete,
            RiderAction::ReportAccident => {
                delivery::Action::ReportAccident(delivery::Reason::parse("flat tyre").unwrap())
            }
        };
        match delivery.act(action, Utc::now()) {
            Ok(event) => {
                self.rider.pop();
                self.publish_all("delivery", vec![event]);
            }
            Err(_) => self.rider.clear(),
        }
        true
    }

    /// A charge request that outlived the order service's patience reaches the payment service;
    /// `true` if there was one.
    pub fn late_charge_arrives(&mut self) -> bool {
        let Some(candidate) = self.late_charge.take() else {
            return false;
        };
        let charged = self.ledger.charge(candidate);
        self.publish_all("payment", charged.publish);
        true
    }
}
