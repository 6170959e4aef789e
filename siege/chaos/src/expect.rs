//! What an order must look like everywhere once the system is quiet, given the steps the
//! system acknowledged: the order's status, its payment, its store order, its delivery, and
//! the notifications its customer got (one per status change). Pure: no I/O.

use crate::ledger::{OrderRecord, Step};

/// The state of one order across every service that owns a part of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub order_status: &'static str,
    pub cancel_reason: Option<&'static str>,
    /// The payment's status: Approved, or Refunded.
    pub payment: &'static str,
    pub store: &'static str,
    pub delivery: Option<&'static str>,
    /// The event types the customer is notified of, sorted.
    pub notifications: Vec<&'static str>,
}

/// The outcome of an order whose acknowledged steps are `acked` (in order), or why that
/// sequence is not one the driver can produce.
pub fn outcome(acked: &[Step]) -> Result<Outcome, String> {
    use Step::*;
    let has = |step| acked.contains(&step);
    if acked.first() != Some(&Placed) {
        return Err(format!(
            "steps {acked:?} do not start with placing the order"
        ));
    }
    let accepted = has(Accepted);
    let mut notifications = vec!["OrderPlaced"];
    let last = *acked.last().unwrap_or(&Placed);
    let refunded = |notifications: &mut Vec<&'static str>| {
        notifications.extend(["OrderCanceled", "PaymentCanceled"]);
    };
    // Steps before `last` that the outcome shows (each a status change the customer heard of).
    if accepted && last != Accepted {
        notifications.push("StoreOrderAccepted");
    }
    if has(Cooking) && last != Cooking {
        notifications.push("CookingStarted");
    }
    if has(Cooked) && last != Cooked {
        notifications.extend(["CookingFinished", "DeliveryStarted"]);
    }
    let mut out = Outcome {
        order_status: "Placed",
        cancel_reason: None,
        payment: "Approved",
        store: "Received",
        delivery: None,
        notifications: Vec::new(),
    };
    match last {
        Placed => {}
        Accepted => {
            out.order_status = "Accepted";
            out.store = "Accepted";
            notifications.push("StoreOrderAccepted");
        }
        Cooking => {
            out.order_status = "Cooking";
            out.store = "Cooking";
            notifications.push("CookingStarted");
        }
        // The delivery starts by itself once cooking is finished.
        Cooked => {
            out.order_status = "Delivering";
            out.store = "Cooked";
            out.delivery = Some("Started");
            notifications.extend(["CookingFinished", "DeliveryStarted"]);
        }
        Delivered => {
            out.order_status = "Delivered";
            out.store = "Cooked";
            out.delivery = Some("Completed");
            notifications.push("DeliveryCompleted");
        }
        Accident => {
            out.order_status = "Canceled";
            out.cancel_reason = Some("delivery_accident");
            out.payment = "Refunded";
            // A cancellation is final everywhere: the store cancels even a cooked order.
            out.store = "Canceled";
            out.delivery = Some("Failed");
            refunded(&mut notifications);
        }
        Canceled => {
            out.order_status = "Canceled";
            out.cancel_reason = Some("customer");
            out.payment = "Refunded";
            out.store = "Canceled";
            refunded(&mut notifications);
        }
        Rejected => {
            out.order_status = "Canceled";
            out.cancel_reason = Some("store_rejected");
            out.payment = "Refunded";
            out.store = "Rejected";
            notifications.push("StoreOrderRejected");
            refunded(&mut notifications);
        }
    }
    let needs: &[Step] = match last {
        Placed | Canceled | Rejected | Accepted => &[],
        Cooking => &[Accepted],
        Cooked => &[Accepted, Cooking],
        Delivered | Accident => &[Accepted, Cooking, Cooked],
    };
    if let Some(missing) = needs.iter().find(|s| !has(**s)) {
        return Err(format!("{last:?} acknowledged without {missing:?}"));
    }
    notifications.sort_unstable();
    out.notifications = notifications;
    Ok(out)
}

/// Every outcome the order may rightly have: that of its acknowledged steps and, when the
/// driver gave up on a step without knowing whether it was applied, that of the step too.
pub fn candidates(record: &OrderRecord) -> Result<Vec<Outcome>, String> {
    let mut all = vec![outcome(&record.acked)?];
    if let Some(step) = record.doubt {
        let mut more = record.acked.clone();
        more.push(step);
        all.push(outcome(&more)?);
    }
    Ok(all)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use Step::*;

    #[test]
    fn a_delivered_order_is_paid_cooked_delivered_and_told_each_status_change_once() {
        let o = outcome(&[Placed, Accepted, Cooking, Cooked, Delivered]).unwrap();
        assert_eq!(o.order_status, "Delivered");
        assert_eq!(
            (o.payment, o.store, o.delivery),
            ("Approved", "Cooked", Some("Completed"))
        );
        assert_eq!(
            o.notifications,
            [
                "CookingFinished",
                "CookingStarted",
                "DeliveryCompleted",
                "DeliveryStarted",
                "OrderPlaced",
                "StoreOrderAccepted"
            ]
        );
    }

    #[test]
    fn a_customer_cancel_refunds_and_cancels_the_store_order_without_a_delivery() {
        let early = outcome(&[Placed, Canceled]).unwrap();
        assert_eq!(
            (early.order_status, early.cancel_reason),
            ("Canceled", Some("customer"))
        );
        assert_eq!(
            (early.payment, early.store, early.delivery),
            ("Refunded", "Canceled", None)
        );
        assert_eq!(
            early.notifications,
            ["OrderCanceled", "OrderPlaced", "PaymentCanceled"]
        );
        let late = outcome(&[Placed, Accepted, Canceled]).unwrap();
        assert!(late.notifications.contains(&"StoreOrderAccepted"));
        assert_eq!(late.store, "Canceled");
    }

    #[test]
    fn a_rejection_and_an_accident_each_cancel_with_their_reason_and_refund() {
        let rejected = outcome(&[Placed, Rejected]).unwrap();
        assert_eq!(rejected.cancel_reason, Some("store_rejected"));
        assert_eq!(rejected.store, "Rejected");
        assert!(rejected.notifications.contains(&"StoreOrderRejected"));
        let accident = outcome(&[Placed, Accepted, Cooking, Cooked, Accident]).unwrap();
        assert_eq!(accident.cancel_reason, Some("delivery_accident"));
        assert_eq!(
            (accident.payment, accident.store, accident.delivery),
            ("Refunded", "Canceled", Some("Failed"))
        );
        assert!(accident.notifications.contains(&"DeliveryStarted"));
    }

    #[test]
    fn an_order_left_after_cooking_is_out_for_delivery_by_itself() {
        let o = outcome(&[Placed, Accepted, Cooking, Cooked]).unwrap();
        assert_eq!(
            (o.order_status, o.delivery),
            ("Delivering", Some("Started"))
        );
        assert_eq!(o.notifications.len(), 5);
    }

    #[test]
    fn sequences_the_driver_cannot_produce_are_refused() {
        assert!(outcome(&[]).is_err());
        assert!(outcome(&[Accepted]).is_err());
        assert!(outcome(&[Placed, Delivered]).is_err());
    }

    #[test]
    fn a_doubted_step_allows_both_outcomes() {
        let record = OrderRecord {
            customer: "c".into(),
            acked: vec![Placed],
            doubt: Some(Rejected),
        };
        let all = candidates(&record).unwrap();
        assert_eq!(all.len(), 2);
        assert_eq!(all[0].order_status, "Placed");
        assert_eq!(all[1].cancel_reason, Some("store_rejected"));
    }
}
