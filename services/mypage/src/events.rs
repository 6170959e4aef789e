//! How mypage reacts to events: the "MongoDB variant" of the idempotent consumer. There is no
//! inbox table: each view remembers the ids of the events folded into it, and the count changes
//! they caused with their positions in Kafka; menu counts take each change once (see
//! [`crate::db::menus`]), so a redelivered event changes nothing.

use async_trait::async_trait;
use backbone::consumer::{BatchError, Delivered};
use backbone::{HandleError, Outcome, Position, Processor};
use shared_events::contract::Reliance;
use shared_events::{Envelope, Event, Topic};

use crate::db::menus::{Counter, Take};
use crate::db::ratings::StoreRating;
use crate::db::store::{Generations, Store, Views};
use crate::db::views::Applied;
use crate::domain::Merged;

/// Folds every order-related event into the live view (and into one being rebuilt).
pub struct Projection {
    pub store: Store,
}

pub const TOPICS: [Topic; 4] = [Topic::Order, Topic::Payment, Topic::Store, Topic::Delivery];

const AN_ORDERS: &[&str] = &["data.orderId: uuid", "data.customerId: string"];
const A_STORES: &[&str] = &[
    "data.orderId: uuid",
    "data.customerId: string",
    "data.storeId: uuid",
];

/// What the projection reads in every order-related event (the envelope's `id` and
/// `occurredAt` too): the contracts crate checks every producer's real events against it
/// (docs/contracts.md).
pub const RELIES_ON: &[Reliance] = &[
    Reliance {
        event: "OrderPlaced",
        fields: &[
            "data.orderId: uuid",
            "data.customerId: string",
            "data.storeId: uuid",
            "data.items[].menuItemId: uuid",
            "data.items[].name: string",
            "data.items[].quantity: integer",
            "data.items[].unitPrice: integer",
            "data.totalPrice: integer",
            "data.deliveryAddress: string",
        ],
    },
    Reliance {
        event: "OrderChanged",
        fields: &[
            "data.orderId: uuid",
            "data.customerId: string",
            "data.storeId: uuid",
            "data.current.version: integer",
            "data.current.items[].menuItemId: uuid",
            "data.current.items[].name: string",
            "data.current.totalPrice: integer",
            "data.current.deliveryAddress: string",
            "data.previous.version: integer",
            "data.previous.items[].menuItemId: uuid",
            "data.previous.totalPrice: integer",
            "data.previous.deliveryAddress: string",
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
        event: "PaymentApproved",
        fields: AN_ORDERS,
    },
    Reliance {
        event: "PaymentCanceled",
        fields: AN_ORDERS,
    },
    Reliance {
        event: "StoreOrderAccepted",
        fields: A_STORES,
    },
    Reliance {
        event: "StoreOrderRejected",
        fields: A_STORES,
    },
    Reliance {
        event: "CookingStarted",
        fields: A_STORES,
    },
    Reliance {
        event: "CookingFinished",
        fields: A_STORES,
    },
    Reliance {
        event: "DeliveryRequested",
        fields: A_STORES,
    },
    Reliance {
        event: "DeliveryStarted",
        fields: AN_ORDERS,
    },
    Reliance {
        event: "DeliveryCompleted",
        fields: AN_ORDERS,
    },
    Reliance {
        event: "DeliveryCanceled",
        fields: AN_ORDERS,
    },
    Reliance {
        event: "DeliveryAccidentReported",
        fields: AN_ORDERS,
    },
];

#[async_trait]
impl Processor for Projection {
    fn name(&self) -> &'static str {
        "mypage.projection"
    }

    fn topics(&self) -> Vec<Topic> {
        TOPICS.to_vec()
    }

    async fn process(&self, envelope: &Envelope) -> Result<Outcome, HandleError> {
        Err(HandleError::Failed(anyhow::anyhow!(
            "event {}: the projection counts by the message's position (process_at)",
            envelope.id
        )))
    }

    async fn process_at(
        &self,
        envelope: &Envelope,
        position: &Position,
    ) -> Result<Outcome, HandleError> {
        let events = [(envelope, *position)];
        let mut outcomes = self.project(&events).await.map_err(|(_, e)| e)?;
        Ok(outcomes.pop().unwrap_or(Outcome::Ignored))
    }

    async fn process_batch(&self, batch: &[Delivered]) -> Result<Vec<Outcome>, BatchError> {
        let events: Vec<_> = batch.iter().map(|d| (&d.envelope, d.position)).collect();
        self.project(&events)
            .await
            .map_err(|(committed, error)| BatchError { committed, error })
    }
}

impl Projection {
    /// Folds `events` into the live generation (and one being rebuilt); on failure, the
    /// outcomes of the events fully applied, from the first.
    async fn project(
        &self,
        events: &[(&Envelope, Position)],
    ) -> Result<Vec<Outcome>, (Vec<Outcome>, HandleError)> {
        // Read per batch: a rebuild that starts or finishes is seen at the next one.
        let generations = self
            .store
            .generations()
            .await
            .map_err(|e| (Vec::new(), transient(e)))?;
        let active = self.store.views(&generations.active);
        let outcomes = apply_batch(&active, events, |_, _| Ok(Counts::Yes(Counter::Live))).await?;
        let Some(building) = &generations.building else {
            return Ok(outcomes);
        };
        // Events the rebuild may already be past; folding twice is harmless.
        let building = self.store.views(building);
        let counts = |envelope: &Envelope, position: Position| {
            building_counts(&generations, envelope, &position)
        };
        match apply_batch(&building, events, counts).await {
            Ok(_) => Ok(outcomes),
            Err((done, error)) => Err((outcomes[..done.len()].to_vec(), error)),
        }
    }
}

/// Whether the caller applies the count changes of the events it folds, and as whom.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Counts {
    Yes(Counter),
    No,
}

/// The live consumer counts in a generation being built only from the offsets the rebuild does
/// not read; until the rebuild has said where it stops, it waits (a moment, at most).
fn building_counts(
    generations: &Generations,
    envelope: &Envelope,
    position: &Position,
) -> Result<Counts, HandleError> {
    if envelope.event.topic() != Topic::Order {
        return Ok(Counts::No); // count changes come from order events only
    }
    let Some(ends) = &generations.building_ends else {
        return Err(HandleError::Transient(anyhow::anyhow!(
            "a rebuild is starting: waiting for its end offsets"
        )));
    };
    let end = ends.get(&position.partition).copied().unwrap_or(0);
    Ok(if position.offset >= end {
        Counts::Yes(Counter::Live)
    } else {
        Counts::No
    })
}

/// How many orders of a batch are folded at once.
pub const CONCURRENCY: usize = 16;

/// Applies a batch of events to one generation's collections: the views first (each order once,
/// several at a time), then the count changes. On failure nothing is reported applied: folding
/// again is harmless, and the marks let each change be taken once.
pub async fn apply_batch(
    views: &Views,
    events: &[(&Envelope, Position)],
    counts: impl Fn(&Envelope, Position) -> Result<Counts, HandleError>,
) -> Result<Vec<Outcome>, (Vec<Outcome>, HandleError)> {
    let counts: Vec<Counts> = events
        .iter()
        .map(|(envelope, position)| counts(envelope, *position))
        .collect::<Result<_, _>>()
        .map_err(|e| (Vec::new(), e))?;
    let applied = views
        .apply_all(events, CONCURRENCY)
        .await
        .map_err(|e| (Vec::new(), classify(e)))?;
    // Every change of the batch or, for some menu items, none: the retry re-applies what is
    // missing, and the marks skip what is not.
    views
        .count_all(&takes(events, &applied, &counts), CONCURRENCY)
        .await
        .map_err(|e| (Vec::new(), classify(e)))?;
    Ok(applied
        .iter()
        .map(|applied| match applied.merged {
            Merged::Changed(_) => Outcome::Applied,
            Merged::Duplicate => Outcome::Duplicate,
            Merged::Ignored => Outcome::Ignored,
        })
        .collect())
}

/// The count changes to take for a batch's events, as folded into `applied`. A change is
/// counted when the message that first brought its event is handled (again, after a crash); a
/// copy of the event published twice changes no count.
pub fn takes<'a>(
    events: &[(&Envelope, Position)],
    applied: &'a [Applied],
    counts: &[Counts],
) -> Vec<Take<'a>> {
    events
        .iter()
        .zip(applied)
        .zip(counts)
        .filter_map(|(((_, position), applied), counts)| {
            let (Counts::Yes(counter), Some(change), Some(view)) =
                (*counts, &applied.change, &applied.view)
            else {
                return None;
            };
            (change.at == *position).then_some(Take {
                counter,
                view,
                change,
            })
        })
        .collect()
}

fn transient(e: mongodb::error::Error) -> HandleError {
    HandleError::Transient(e.into())
}

/// A document that cannot be (de)serialized will not get better; anything else from the
/// database (unreachable, timed out) is retried until it clears.
pub(crate) fn classify(e: anyhow::Error) -> HandleError {
    use mongodb::error::ErrorKind;
    // A write the server refuses for what it is (a document grown too large, a validation
    // failure) fails again on every retry: dead-letter it rather than stall every order behind it.
    // Duplicate keys are handled where they are expected and never reach here.
    let permanent = match e.downcast_ref::<mongodb::error::Error>() {
        Some(m) => matches!(
            *m.kind,
            ErrorKind::BsonSerialization(_)
                | ErrorKind::BsonDeserialization(_)
                | ErrorKind::Write(mongodb::error::WriteFailure::WriteError(_))
        ),
        None => true,
    };
    if permanent {
        HandleError::Failed(e)
    } else {
        HandleError::Transient(e)
    }
}

/// What [`Ratings`] reads in the review service's events.
pub const RATINGS_RELY_ON: &[Reliance] = &[Reliance {
    event: "StoreRatingChanged",
    fields: &[
        "data.storeId: uuid",
        "data.reviewCount: integer",
        "data.averageRating: integer",
    ],
}];

/// Keeps each store's rating, shown with the popular menus, from the review service's
/// `StoreRatingChanged` (one partition per store, in the order they were computed; a replayed
/// older one is kept out by its time).
pub struct Ratings {
    pub store: Store,
}

#[async_trait]
impl Processor for Ratings {
    fn name(&self) -> &'static str {
        "mypage.ratings"
    }

    fn topics(&self) -> Vec<Topic> {
        vec![Topic::Review]
    }

    async fn process(&self, envelope: &Envelope) -> Result<Outcome, HandleError> {
        let Event::StoreRatingChanged(changed) = &envelope.event else {
            return Ok(Outcome::Ignored);
        };
        let rating = StoreRating {
            review_count: changed.review_count,
            average_rating: changed.average_rating,
        };
        let newer = self
            .store
            .record_rating(&changed.store_id.to_string(), rating, envelope.occurred_at)
            .await
            .map_err(transient)?;
        Ok(if newer {
            Outcome::Applied
        } else {
            Outcome::Duplicate
        })
    }
}
