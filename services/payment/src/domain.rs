//! Payments and their rules. No I/O here.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaymentStatus {
    Approved,
    Declined,
    Refunded,
}

impl PaymentStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            PaymentStatus::Approved => "Approved",
            PaymentStatus::Declined => "Declined",
            PaymentStatus::Refunded => "Refunded",
        }
    }
}

impl FromStr for PaymentStatus {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "Approved" => Ok(PaymentStatus::Approved),
            "Declined" => Ok(PaymentStatus::Declined),
            "Refunded" => Ok(PaymentStatus::Refunded),
            other => Err(format!("unknown payment status {other:?}")),
        }
    }
}

impl fmt::Display for PaymentStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An amount to charge: a positive number of won.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Amount(i64);

impl Amount {
    pub fn parse(won: i64) -> Result<Self, String> {
        if won > 0 {
            Ok(Self(won))
        } else {
            Err(format!("amount must be positive, got {won}"))
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
    /// Refunds an approved payment. `Ok(false)` when there is nothing to refund (declined, or
    /// already refunded): refunding is idempotent.
    pub fn refund(&mut self) -> bool {
        if self.status == PaymentStatus::Approved {
            self.status = PaymentStatus::Refunded;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
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
    fn amounts_above_the_limit_are_declined_and_the_limit_itself_is_not() {
        let limit = 1_000_000;
        assert_eq!(decide(Amount::parse(limit).unwrap(), limit), PaymentStatus::Approved);
        assert_eq!(decide(Amount::parse(limit + 1).unwrap(), limit), PaymentStatus::Declined);
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
}
