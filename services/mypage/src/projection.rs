//! How mypage reacts to events: the "MongoDB variant" of the idempotent consumer. There is no
//! inbox table: each view remembers the ids of the events folded into it, and menu counts keep
//! the sets of orders they counted, so a redelivered event changes nothing.

use async_trait::async_trait;
use backbone::{HandleError, Outcome, Processor};
use shared_events::{Envelope, Event, Topic};

use crate::domain::Merged;
use crate::store::{Store, Views};

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

    async fn process(&self, envelope: &Envelope) -> Result<Outcome, HandleError> {
        // Read per event: a rebuild that starts or finishes is seen at the next event.
        let generations = self.store.generations().await.map_err(transient)?;
        let mut outcome = apply(&self.store.views(&generations.active), envelope).await?;
        if let Some(building) = generations.building {
            // Events the rebuild may already be past; applying twice is harmless.
            outcome = apply(&self.store.views(&building), envelope).await?;
        }
        Ok(outcome)
    }
}

/// Applies `envelope` to one generation's collections.
pub async fn apply(views: &Views, envelope: &Envelope) -> Result<Outcome, HandleError> {
    let (merged, view) = views.apply(envelope).await.map_err(classify)?;
    // Menu counts follow the order topic only (placed, canceled): those events of one order
    // share a partition. Re-checked on duplicates too, in case a crash came between the writes.
    if matches!(
        envelope.event,
        Event::OrderPlaced(_) | Event::OrderCanceled(_)
    ) && let Some(view) = view
    {
        views.count_menus(&view).await.map_err(classify)?;
    }
    Ok(match merged {
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
