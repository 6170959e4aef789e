//! How mypage reacts to events: the "MongoDB variant" of the idempotent consumer. There is no
//! inbox table: each view remembers the ids of the events folded into it, and the count changes
//! they caused with their positions in Kafka; menu counts take each change once (see
//! [`crate::menus`]), so a redelivered event changes nothing.

use async_trait::async_trait;
use backbone::{HandleError, Outcome, Position, Processor};
use shared_events::{Envelope, Topic};

use crate::domain::Merged;
use crate::menus::Counter;
use crate::store::{Generations, Store, Views};

/// Folds every order-related event into the live view (and into one being rebuilt).
pub struct Projection {
    pub store: Store,
}

pub const TOPICS: [Topic; 4] = [Topic::Order, Topic::Payment, Topic::Store, Topic::Delivery];

#[async_trait]
impl Processor for Projection {
    fn name(&self) -> &'static str {
        "mypage.projection"
    }

    fn topics(&self) -> Vec<Topic> {
        TOPICS.to_vec()
    }

    async fn process(&self, _envelope: &Envelope) -> Result<Outcome, HandleError> {
        Err(HandleError::Failed(anyhow::anyhow!(
            "the projection counts by the message's position: use process_at"
        )))
    }

    async fn process_at(
        &self,
        envelope: &Envelope,
        position: &Position,
    ) -> Result<Outcome, HandleError> {
        // Read per event: a rebuild that starts or finishes is seen at the next event.
        let generations = self.store.generations().await.map_err(transient)?;
        let active = self.store.views(&generations.active);
        let outcome = apply(&active, envelope, *position, Counts::Yes(Counter::Live)).await?;
        if let Some(building) = &generations.building {
            // Events the rebuild may already be past; folding twice is harmless.
            let counts = building_counts(&generations, envelope, position)?;
            apply(&self.store.views(building), envelope, *position, counts).await?;
        }
        Ok(outcome)
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

/// Applies `envelope`, read at `position`, to one generation's collections.
pub async fn apply(
    views: &Views,
    envelope: &Envelope,
    position: Position,
    counts: Counts,
) -> Result<Outcome, HandleError> {
    let applied = views.apply(envelope, position).await.map_err(classify)?;
    // A change is counted when the message that first brought its event is handled (again,
    // after a crash); a copy of the event published twice changes no count.
    if let (Counts::Yes(counter), Some(change), Some(view)) =
        (counts, &applied.change, &applied.view)
        && change.at == position
    {
        views.count(view, change, counter).await.map_err(classify)?;
    }
    Ok(match applied.merged {
        Merged::Changed(_) => Outcome::Applied,
        Merged::Duplicate => Outcome::Duplicate,
        Merged::Ignored => Outcome::Ignored,
    })
}

fn transient(e: mongodb::error::Error) -> HandleError {
    HandleError::Transient(e.into())
}

/// A document that cannot be (de)serialized will not get better; anything else from the
/// database (unreachable, timed out) is retried until it clears.
fn classify(e: anyhow::Error) -> HandleError {
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
