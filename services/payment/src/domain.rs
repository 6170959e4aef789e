//! Payments and their rules. No I/O here.

use chrono::{DateTime, Utc};
use shared_events::{Event, OrderChanged, PaymentAdjusted, PaymentApproved, PaymentCanceled};
use uuid::Uuid;

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    strum::Display,
    strum::EnumString,
    strum::IntoStaticStr,
    strum::VariantArray,
)]
pub enum PaymentStatus {
    Approved,
    Declined,
    Refunded,
}

impl PaymentStatus {
    /// The name stored and answered (the variant's).
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// An amount to charge: a positive number of won.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Amount(i64);

/// The amount is zero or negative (a 422 at the HTTP edge).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("amount must be positive, got {0}")]
pub struct InvalidAmount(pub i64);

impl Amount {
    pub fn parse(won: i64) -> Result<Self, InvalidAmount> {
        if won > 0 {
            Ok(Self(won))
        } else {
            Err(InvalidAmount(won))
        }
    }

    pub fn won(self) -> i64 {
        self.0
    }
}

/// The charging decision, deterministic so tests and demos can provoke a decline.
pub fn decide(amount: Amount, decline_above: i64) -> PaymentStatus {
    if amount.won() > decline_above {
        PaymentStatus::Declined
    } else {
        PaymentStatus::Approved
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payment {
    pub id: Uuid,
    pub order_id: Uuid,
    pub customer_id: String,
    pub amount: i64,
    pub status: PaymentStatus,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Payment {
    /// Refunds an approved payment. `false` when there is nothing to refund (declined, or
    /// already refunded): refunding is idempotent.
    pub fn refund(&mut self) -> bool {
        if self.status == PaymentStatus::Approved {
            self.status = PaymentStatus::Refunded;
            true
        } else {
            false
        }
    }

    fn approved_event(&self) -> Event {
        Event::PaymentApproved(PaymentApproved {
            payment_id: self.id,
            order_id: self.order_id,
            customer_id: self.customer_id.clone(),
            amount: self.amount,
        })
    }

    fn canceled_event(&self) -> Event {
        Event::PaymentCanceled(PaymentCanceled {
            payment_id: self.id,
            order_id: self.order_id,
            customer_id: self.customer_id.clone(),
            amount: self.amount,
        })
    }
}

/// Where an adjustment stands.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    strum::Display,
    strum::EnumString,
    strum::IntoStaticStr,
    strum::VariantArray,
)]
pub enum AdjustmentStatus {
    /// A top-up charged (kept once its change is confirmed).
    Approved,
    /// A top-up refused: above the limit, or for an order canceled or never paid.
    Declined,
    /// Money given back: a cheaper change's refund (negative amount), or a top-up returned.
    Refunded,
    /// A change given up before its top-up arrived: the top-up is refused when it does.
    Voided,
}

impl AdjustmentStatus {
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// Money moved for an order after its payment, for one change (its id is the key): a top-up
/// (positive amount) or a refund of the difference (negative).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Adjustment {
    pub change_id: Uuid,
    pub order_id: Uuid,
    pub customer_id: String,
    pub amount: i64,
    pub status: AdjustmentStatus,
    /// The order service announced the change (`OrderChanged`): its top-up is kept.
    pub confirmed: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Adjustment {
    fn adjusted_event(&self, amount: i64) -> Event {
        Event::PaymentAdjusted(PaymentAdjusted {
            order_id: self.order_id,
            customer_id: self.customer_id.clone(),
            change_id: self.change_id,
            amount,
        })
    }

    /// Gives an approved top-up back; the event that says so.
    fn give_back(&mut self) -> Option<Event> {
        (self.status == AdjustmentStatus::Approved && self.amount > 0).then(|| {
            self.status = AdjustmentStatus::Refunded;
            self.adjusted_event(-self.amount)
        })
    }
}

/// Everything the payment service knows about one order: its payment, if any, whether the
/// order was canceled, and the adjustments of its changes. Charges, top-ups, changes, given-up
/// changes and cancellations may arrive in any order, and more than once; these decisions make
/// every arrival order end the same way.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OrderLedger {
    pub payment: Option<Payment>,
    pub canceled: bool,
    pub adjustments: Vec<Adjustment>,
}

/// The answer to a top-up request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToppedUp {
    pub adjustment: Adjustment,
    /// `false` when the change had its adjustment already (returned instead).
    pub created: bool,
    pub publish: Vec<Event>,
}

/// The answer to a charge request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Charged {
    pub payment: Payment,
    /// `false` when the order already had a payment (which is returned instead).
    pub created: bool,
    pub publish: Vec<Event>,
}

impl OrderLedger {
    /// Charges the order with `candidate` unless it has a payment already. A payment for an
    /// order that was canceled first is approved and refunded at once.
    pub fn charge(&mut self, mut candidate: Payment) -> Charged {
        if let Some(existing) = &self.payment {
            return Charged {
                payment: existing.clone(),
                created: false,
                publish: vec![],
            };
        }
        let mut publish = Vec::new();
        if candidate.status == PaymentStatus::Approved {
            publish.push(candidate.approved_event());
            if self.canceled && candidate.refund() {
                publish.push(candidate.canceled_event());
            }
        }
        self.payment = Some(candidate.clone());
        Charged {
            payment: candidate,
            created: true,
            publish,
        }
    }

    /// The order was canceled: refund its payment once (with every top-up kept, less what was
    /// refunded already), or remember for a payment to come.
    pub fn cancel(&mut self) -> Vec<Event> {
        self.canceled = true;
        let Some(payment) = &mut self.payment else {
            return vec![];
        };
        if !payment.refund() {
            return vec![];
        }
        let mut returned = payment.amount;
        for adjustment in &mut self.adjustments {
            match adjustment.status {
                AdjustmentStatus::Approved => {
                    returned += adjustment.amount;
                    adjustment.status = AdjustmentStatus::Refunded;
                }
                // A cheaper change's refund: already given back.
                AdjustmentStatus::Refunded if adjustment.amount < 0 => {
                    returned += adjustment.amount
                }
                _ => {}
            }
        }
        let mut canceled = payment.canceled_event();
        if let Event::PaymentCanceled(c) = &mut canceled {
            c.amount = returned;
        }
        vec![canceled]
    }

    /// A change's top-up: approved once per change (a repeat answers with the first), declined
    /// for an order canceled, never paid, or whose change was given up first.
    pub fn top_up(&mut self, mut candidate: Adjustment) -> ToppedUp {
        if let Some(existing) = self.adjustment(candidate.change_id) {
            return ToppedUp {
                adjustment: existing.clone(),
                created: false,
                publish: vec![],
            };
        }
        let paid = self
            .payment
            .as_ref()
            .is_some_and(|p| p.status == PaymentStatus::Approved);
        if self.canceled || !paid {
            candidate.status = AdjustmentStatus::Declined;
        }
        let publish = match candidate.status {
            AdjustmentStatus::Approved => vec![candidate.adjusted_event(candidate.amount)],
            _ => vec![],
        };
        self.adjustments.push(candidate.clone());
        ToppedUp {
            adjustment: candidate,
            created: true,
            publish,
        }
    }

    /// The order service made a change: its top-up is kept, or the difference of a cheaper
    /// one refunded (once; not for an order already canceled, whose refund covered it).
    pub fn change(&mut self, changed: &OrderChanged, now: DateTime<Utc>) -> Vec<Event> {
        if let Some(existing) = self.adjustment_mut(changed.change_id) {
            existing.confirmed = true;
            return vec![];
        }
        let paid = self
            .payment
            .as_ref()
            .is_some_and(|p| p.status == PaymentStatus::Approved);
        if changed.price_difference >= 0 || self.canceled || !paid {
            return vec![];
        }
        let refund = Adjustment {
            change_id: changed.change_id,
            order_id: changed.order_id,
            customer_id: changed.customer_id.clone(),
            amount: changed.price_difference,
            status: AdjustmentStatus::Refunded,
            confirmed: true,
            created_at: now,
            updated_at: now,
        };
        let event = refund.adjusted_event(refund.amount);
        self.adjustments.push(refund);
        vec![event]
    }

    /// A change was given up: its top-up is given back, or refused if it comes later.
    pub fn abandon(
        &mut self,
        order_id: Uuid,
        customer_id: &str,
        change_id: Uuid,
        now: DateTime<Utc>,
    ) -> Vec<Event> {
        if let Some(existing) = self.adjustment_mut(change_id) {
            // A confirmed change is never given up; refuse to undo one all the same.
            return match existing.confirmed {
                true => vec![],
                false => existing.give_back().into_iter().collect(),
            };
        }
        self.adjustments.push(Adjustment {
            change_id,
            order_id,
            customer_id: customer_id.to_owned(),
            amount: 0,
            status: AdjustmentStatus::Voided,
            confirmed: false,
            created_at: now,
            updated_at: now,
        });
        vec![]
    }

    /// The order was cooked and can change no more: a top-up whose change was never made (its
    /// request died between the charge and the change) is given back.
    pub fn settle_changes(&mut self) -> Vec<Event> {
        self.adjustments
            .iter_mut()
            .filter(|a| !a.confirmed)
            .filter_map(Adjustment::give_back)
            .collect()
    }

    fn adjustment(&self, change_id: Uuid) -> Option<&Adjustment> {
        self.adjustments.iter().find(|a| a.change_id == change_id)
    }

    fn adjustment_mut(&mut self, change_id: Uuid) -> Option<&mut Adjustment> {
        self.adjustments
            .iter_mut()
            .find(|a| a.change_id == change_id)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn payment(status: PaymentStatus) -> Payment {
        Payment {
            id: Uuid::new_v4(),
            order_id: Uuid::new_v4(),
            customer_id: "alice".into(),
            amount: 1000,
            status,
            created_at: Utc::now(),
            updated_at: Utc::now(),
        }
    }

    #[test]
    fn statuses_keep_their_stored_names_and_read_back() {
        use strum::VariantArray;

        let names: Vec<&str> = PaymentStatus::VARIANTS.iter().map(|s| s.as_str()).collect();
        assert_eq!(names, ["Approved", "Declined", "Refunded"]);
        for &status in PaymentStatus::VARIANTS {
            assert_eq!(status.as_str().parse(), Ok(status));
            assert_eq!(status.to_string(), status.as_str());
        }
    }

    #[test]
    fn amounts_above_the_limit_are_declined_and_the_limit_itself_is_not() {
        let limit = 1_000_000;
        assert_eq!(
            decide(Amount::parse(limit).unwrap(), limit),
            PaymentStatus::Approved
        );
        assert_eq!(
            decide(Amount::parse(limit + 1).unwrap(), limit),
            PaymentStatus::Declined
        );
    }

    #[test]
    fn zero_and_negative_amounts_are_refused() {
        assert!(Amount::parse(0).is_err());
        assert!(Amount::parse(-5).is_err());
    }

    #[test]
    fn a_payment_is_refunded_once_and_a_declined_one_never() {
        let mut approved = payment(PaymentStatus::Approved);
        assert!(approved.refund());
        assert!(!approved.refund());
        assert_eq!(approved.status, PaymentStatus::Refunded);
        let mut declined = payment(PaymentStatus::Declined);
        assert!(!declined.refund());
        assert_eq!(declined.status, PaymentStatus::Declined);
    }

    fn candidate(status: PaymentStatus) -> Payment {
        Payment {
            status,
            ..payment(PaymentStatus::Approved)
        }
    }

    #[test]
    fn a_payment_made_after_its_order_was_canceled_is_refunded_at_once() {
        let mut ledger = OrderLedger::default();
        assert!(ledger.cancel().is_empty());

        let charged = ledger.charge(candidate(PaymentStatus::Approved));

        assert_eq!(charged.payment.status, PaymentStatus::Refunded);
        let types: Vec<_> = charged.publish.iter().map(Event::type_name).collect();
        assert_eq!(types, ["PaymentApproved", "PaymentCanceled"]);
    }

    #[test]
    fn a_second_charge_returns_the_first_payment_and_publishes_nothing() {
        let mut ledger = OrderLedger::default();
        let first = ledger.charge(candidate(PaymentStatus::Approved));
        let second = ledger.charge(candidate(PaymentStatus::Approved));
        assert!(!second.created);
        assert_eq!(second.payment.id, first.payment.id);
        assert!(second.publish.is_empty());
    }

    #[derive(Debug, Clone, Copy)]
    enum Step {
        Charge,
        Cancel,
    }

    proptest! {
        /// Charges and cancellations in any order and any number: the payment ends Refunded
        /// exactly when the order was canceled (and the charge approved), each event is
        /// published at most once, and a declined payment is never refunded.
        #[test]
        fn any_arrival_order_converges(
            steps in proptest::collection::vec(prop_oneof![Just(Step::Charge), Just(Step::Cancel)], 1..8),
            approved in any::<bool>(),
        ) {
            let status = if approved { PaymentStatus::Approved } else { PaymentStatus::Declined };
            let mut ledger = OrderLedger::default();
            let mut published = Vec::new();
            for step in &steps {
                match step {
                    Step::Charge => published.extend(ledger.charge(candidate(status)).publish),
                    Step::Cancel => published.extend(ledger.cancel()),
                }
            }
            let charged = steps.iter().any(|s| matches!(s, Step::Charge));
            let canceled = steps.iter().any(|s| matches!(s, Step::Cancel));
            let count = |t: &str| published.iter().filter(|e| e.type_name() == t).count();
            prop_assert_eq!(count("PaymentApproved"), usize::from(charged && approved));
            prop_assert_eq!(count("PaymentCanceled"), usize::from(charged && approved && canceled));
            let expected = match (charged, approved, canceled) {
                (false, _, _) => None,
                (true, false, _) => Some(PaymentStatus::Declined),
                (true, true, false) => Some(PaymentStatus::Approved),
                (true, true, true) => Some(PaymentStatus::Refunded),
            };
            prop_assert_eq!(ledger.payment.map(|p| p.status), expected);
        }
    }

    fn adjustment(change_id: Uuid, amount: i64) -> Adjustment {
        Adjustment {
            change_id,
            order_id: Uuid::nil(),
            customer_id: "alice".into(),
            amount,
            status: AdjustmentStatus::Approved,
            confirmed: false,
            created_at: Utc::now(),
            updated_at: Utc::now(),
        }
    }

    fn changed(change_id: Uuid, price_difference: i64) -> OrderChanged {
        let version = shared_events::OrderVersion {
            version: 1,
            items: vec![],
            total_price: 0,
            delivery_address: "Seoul".into(),
        };
        OrderChanged {
            order_id: Uuid::nil(),
            customer_id: "alice".into(),
            store_id: Uuid::nil(),
            change_id,
            current: version.clone(),
            previous: version,
            price_difference,
        }
    }

    /// What the customer paid, all told, by the events published: charges and top-ups less
    /// refunds.
    fn paid(events: &[Event]) -> i64 {
        events
            .iter()
            .map(|e| match e {
                Event::PaymentApproved(a) => a.amount,
                Event::PaymentAdjusted(a) => a.amount,
                Event::PaymentCanceled(c) => -c.amount,
                _ => 0,
            })
            .sum()
    }

    #[test]
    fn a_top_up_needs_a_paid_order_that_is_not_canceled() {
        let mut ledger = OrderLedger::default();
        let unpaid = ledger.top_up(adjustment(Uuid::now_v7(), 500));
        assert_eq!(unpaid.adjustment.status, AdjustmentStatus::Declined);
        ledger.charge(candidate(PaymentStatus::Approved));
        let first = ledger.top_up(adjustment(Uuid::now_v7(), 500));
        assert_eq!(first.adjustment.status, AdjustmentStatus::Approved);
        let again = ledger.top_up(first.adjustment.clone());
        assert!(!again.created && again.publish.is_empty());
        ledger.cancel();
        let late = ledger.top_up(adjustment(Uuid::now_v7(), 500));
        assert_eq!(late.adjustment.status, AdjustmentStatus::Declined);
    }

    #[test]
    fn a_change_given_up_before_its_top_up_arrives_refuses_it() {
        let mut ledger = OrderLedger::default();
        ledger.charge(candidate(PaymentStatus::Approved));
        let change_id = Uuid::now_v7();
        assert!(
            ledger
                .abandon(Uuid::nil(), "alice", change_id, Utc::now())
                .is_empty()
        );
        let late = ledger.top_up(adjustment(change_id, 500));
        assert!(!late.created);
        assert_eq!(late.adjustment.status, AdjustmentStatus::Voided);
        assert!(late.publish.is_empty());
    }

    /// What becomes of one change of the order.
    #[derive(Debug, Clone, Copy)]
    enum Fate {
        /// Made: its top-up (if dearer) before `OrderChanged`.
        Made,
        /// Given up after its top-up was asked for (which may arrive after the abandonment).
        GivenUp,
        /// Its request died between the top-up and the change: no event about it.
        Orphaned,
    }

    proptest! {
        /// Changes of a paid order, made, given up or orphaned, their top-ups arriving at any
        /// moment they could, the order's events redelivered: once the order is cooked the
        /// customer has paid exactly the price of its last version, and once canceled, nothing.
        #[test]
        fn money_follows_the_changes_the_order_service_made(
            changes in proptest::collection::vec(
                (-3_000i64..3_000, prop_oneof![Just(Fate::Made), Just(Fate::GivenUp), Just(Fate::Orphaned)]),
                0..4,
            ),
            top_up_delays in proptest::collection::vec(0usize..6, 4),
            canceled in any::<bool>(),
            duplicate in any::<bool>(),
        ) {
            let mut ledger = OrderLedger::default();
            let payment = candidate(PaymentStatus::Approved);
            let mut published = ledger.charge(payment.clone()).publish;
            // The order topic, in order; top-ups (HTTP) are slotted in at generated moments.
            let mut topic = Vec::new();
            let mut top_ups: Vec<(usize, Adjustment)> = Vec::new();
            let mut price = payment.amount;
            for (i, &(difference, fate)) in changes.iter().enumerate() {
                let difference = if difference == 0 { 1 } else { difference };
                let change_id = Uuid::from_u128(i as u128 + 1);
                if difference > 0 {
                    // Made: the top-up was answered before the change was. Otherwise it may
                    // come any time after the request.
                    let at = match fate {
                        Fate::Made => topic.len(),
                        _ => topic.len() + top_up_delays[i],
                    };
                    top_ups.push((at, adjustment(change_id, difference)));
                }
                match fate {
                    Fate::Made => {
                        price += difference;
                        topic.push(Event::OrderChanged(changed(change_id, difference)));
                    }
                    Fate::GivenUp if difference > 0 => topic.push(Event::OrderChangeAbandoned(
                        shared_events::OrderChangeAbandoned {
                            order_id: Uuid::nil(),
                            customer_id: "alice".into(),
                            change_id,
                        },
                    )),
                    _ => {}
                }
            }
            let end = if canceled { "canceled" } else { "cooked" };
            topic.push(Event::DeliveryRequested(shared_events::DeliveryRequested {
                order_id: Uuid::nil(),
                customer_id: "alice".into(),
                store_id: Uuid::nil(),
                delivery_address: "Seoul".into(),
            }));
            if canceled {
                // A cancel instead of the cooking: the last event.
                topic.pop();
                topic.push(Event::OrderCanceled(shared_events::OrderCanceled {
                    order_id: Uuid::nil(),
                    customer_id: "alice".into(),
                    store_id: Uuid::nil(),
                    reason: shared_events::CancelReason::Customer,
                }));
            }
            let deliveries: Vec<Event> = if duplicate {
                topic.iter().flat_map(|e| [e.clone(), e.clone()]).collect()
            } else {
                topic.clone()
            };
            for (position, event) in deliveries.iter().enumerate() {
                let at = if duplicate { position / 2 } else { position };
                for (_, top_up) in top_ups.iter().filter(|(when, _)| *when == at) {
                    if !duplicate || position % 2 == 0 {
                        published.extend(ledger.top_up(top_up.clone()).publish);
                    }
                }
                published.extend(match event {
                    Event::OrderChanged(c) => ledger.change(c, Utc::now()),
                    Event::OrderChangeAbandoned(a) => ledger.abandon(a.order_id, "alice", a.change_id, Utc::now()),
                    Event::DeliveryRequested(_) => ledger.settle_changes(),
                    Event::OrderCanceled(_) => ledger.cancel(),
                    _ => vec![],
                });
            }
            // Top-ups later than every event: refused or given back only if their change was
            // given up or the order canceled; an orphan after the cooking is left approved, and
            // this property says how much then (the next test's case).
            let late: Vec<_> = top_ups.iter().filter(|(when, _)| *when >= topic.len()).collect();
            prop_assume!(late.is_empty());
            let expected = if canceled { 0 } else { price };
            prop_assert_eq!(paid(&published), expected, "{} after {:?}", end, changes);
        }
    }
}
