//! The statuses a view shows, each ranked so that a status never moves backwards.

use serde::{Deserialize, Serialize};

/// A status with a place in its lifecycle; a higher rank is later (terminal states highest).
pub trait Ranked {
    fn rank(&self) -> u8;
}

macro_rules! ranked {
    ($(#[$doc:meta])* $name:ident { $($variant:ident = $rank:literal),* $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
        pub enum $name { $($variant),* }

        impl Ranked for $name {
            fn rank(&self) -> u8 {
                match self { $($name::$variant => $rank),* }
            }
        }
    };
}

ranked!(
    /// The order as a whole, as the customer sees it. Canceled is final.
    OrderStatus { Placed = 1, Accepted = 2, Cooking = 3, Cooked = 4, Delivering = 5, Delivered = 6, Canceled = 9 }
);
ranked!(PaymentStatus { Approved = 1, Refunded = 2 });
ranked!(
    /// The store's side of the order. The store cancels its order when the order is canceled
    /// (unless it rejected it first, which then stands).
    StoreStatus { Received = 1, Accepted = 2, Cooking = 3, Cooked = 4, Canceled = 9, Rejected = 10 }
);
ranked!(
    /// The rider's side of the order.
    DeliveryStatus { Started = 1, Completed = 2, Canceled = 3, Failed = 4 }
);
