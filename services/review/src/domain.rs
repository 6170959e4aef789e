//! Reviews and their rules, and what the service knows of orders and stores. No I/O here.
//!
//! A customer may review an order of theirs once it is delivered, once; its author may change
//! the rating and the text within the edit window; the store's owner may reply. The facts come
//! from three topics in any order (a delivery may be known before its order), so they are
//! recorded as they come and the rule is decided when a customer posts.

use std::time::Duration;

use chrono::{DateTime, Utc};
use shared_events::{ReviewEdited, ReviewPosted, StoreRatingChanged};
use uuid::Uuid;

pub const MAX_TEXT_CHARS: usize = 1000;

/// A rating: 1 to 5 stars.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Rating(u8);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the rating must be a whole number from 1 to 5")]
pub struct InvalidRating;

impl Rating {
    pub fn parse(raw: i64) -> Result<Self, InvalidRating> {
        match u8::try_from(raw) {
            Ok(stars @ 1..=5) => Ok(Self(stars)),
            _ => Err(InvalidRating),
        }
    }

    pub fn stars(self) -> u8 {
        self.0
    }
}

/// A review's or a reply's text: trimmed, 1 to [`MAX_TEXT_CHARS`] characters, no U+0000.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Text(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the text must be 1 to {MAX_TEXT_CHARS} characters")]
pub struct InvalidText;

impl Text {
    pub fn parse(raw: &str) -> Result<Self, InvalidText> {
        shared_events::text::bounded(raw, MAX_TEXT_CHARS)
            .filter(|text| !text.contains('\0'))
            .map(|text| Self(text.to_owned()))
            .ok_or(InvalidText)
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

/// What the service knows of an order, from `OrderPlaced` and `DeliveryCompleted`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderFacts {
    pub order_id: Uuid,
    pub customer_id: String,
    pub store_id: Uuid,
    pub delivered: bool,
}

/// Why a customer may not review an order (now).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// Not an order of theirs, or one this service has not heard of yet.
    #[error("no order {0} of yours")]
    UnknownOrder(Uuid),
    #[error("order {0} is not delivered yet")]
    NotDelivered(Uuid),
}

/// The review `customer_id` posts of `order` (if the service knows of it), with its event.
pub fn post(
    order: Option<&OrderFacts>,
    order_id: Uuid,
    customer_id: &str,
    rating: Rating,
    text: Text,
    now: DateTime<Utc>,
) -> Result<(Review, ReviewPosted), Refusal> {
    let order = order
        .filter(|o| o.customer_id == customer_id)
        .ok_or(Refusal::UnknownOrder(order_id))?;
    if !order.delivered {
        return Err(Refusal::NotDelivered(order_id));
    }
    let review = Review {
        id: Uuid::now_v7(),
        order_id,
        store_id: order.store_id,
        customer_id: customer_id.to_owned(),
        rating,
        text: text.0,
        reply: None,
        replied_at: None,
        version: 1,
        created_at: now,
        updated_at: now,
    };
    let posted = ReviewPosted {
        review_id: review.id,
        store_id: review.store_id,
        order_id,
        customer_id: review.customer_id.clone(),
        rating: rating.stars(),
        text: review.text.clone(),
    };
    Ok((review, posted))
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Review {
    pub id: Uuid,
    pub order_id: Uuid,
    pub store_id: Uuid,
    pub customer_id: String,
    pub rating: Rating,
    pub text: String,
    pub reply: Option<String>,
    pub replied_at: Option<DateTime<Utc>>,
    /// Counts the changes of rating or text, from 1.
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Why an edit or a reply is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChangeRefusal {
    #[error("only its author may edit a review")]
    NotTheAuthor,
    #[error("a review may be edited only within {} hours of its posting", .0.as_secs() / 3600)]
    EditWindowClosed(Duration),
    #[error("only the owner of its store may reply to a review")]
    NotTheOwner,
}

impl Review {
    /// The author changes the rating and the text, within `window` of the posting.
    pub fn edit(
        &mut self,
        customer_id: &str,
        rating: Rating,
        text: Text,
        window: Duration,
        now: DateTime<Utc>,
    ) -> Result<ReviewEdited, ChangeRefusal> {
        if self.customer_id != customer_id {
            return Err(ChangeRefusal::NotTheAuthor);
        }
        let closes = chrono::Duration::from_std(window)
            .ok()
            .and_then(|w| self.created_at.checked_add_signed(w))
            .unwrap_or(DateTime::<Utc>::MAX_UTC);
        if now > closes {
            return Err(ChangeRefusal::EditWindowClosed(window));
        }
        self.rating = rating;
        self.text = text.0;
        self.version += 1;
        self.updated_at = now;
        Ok(ReviewEdited {
            review_id: self.id,
            store_id: self.store_id,
            customer_id: self.customer_id.clone(),
            rating: rating.stars(),
            text: self.text.clone(),
        })
    }

    /// The store's owner replies (again: the new reply replaces the old). `owner_id` is who
    /// owns the store, if the service has heard of it.
    pub fn reply(
        &mut self,
        caller: &str,
        owner_id: Option<&str>,
        text: Text,
        now: DateTime<Utc>,
    ) -> Result<(), ChangeRefusal> {
        if owner_id != Some(caller) {
            return Err(ChangeRefusal::NotTheOwner);
        }
        self.reply = Some(text.0);
        self.replied_at = Some(now);
        Ok(())
    }
}

/// A store's rating, from the count and the sum of its reviews' ratings.
pub fn store_rating(store_id: Uuid, review_count: u32, rating_sum: u64) -> StoreRatingChanged {
    // Hundredths, rounded half up: (100 × sum / count) + ½, in integers.
    let average_rating = match u64::from(review_count) {
        0 => 0,
        n => (rating_sum * 200 + n) / (2 * n),
    };
    // At most 500: an average of ratings from 1 to 5.
    let average_rating = u32::try_from(average_rating).unwrap_or(u32::MAX);
    StoreRatingChanged {
        store_id,
        review_count,
        average_rating,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
