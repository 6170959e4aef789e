//! Payments and their rules. No I/O here.

use chrono::{DateTime, Utc};
use shared_events::{Event, PaymentApproved, PaymentCanceled};
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

/// Everything the payment service knows about one order: its payment, if any, and whether the
/// order was canceled. Charges and cancellations may arrive in either order, and more than once;
/// these decisions make every arrival order end the same way.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OrderLedger {
    pub payment: Option<Payment>,
    pub canceled: bool,
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

    /// The order was canceled: refund its payment once, or remember for a payment to come.
    pub fn cancel(&mut self) -> Vec<Event> {
        self.canceled = true;
        match &mut self.payment {
            Some(payment) => {
                if payment.refund() {
                    vec![payment.canceled_event()]
                } else {
                    vec![]
                }
            }
            None => vec![],
        }
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
}
