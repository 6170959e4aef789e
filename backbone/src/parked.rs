//! Parked outbox rows, for operators.
//!
//! The relay parks a row it could not publish after `max_attempts` (an unknown topic, a message
//! the broker refuses), so the rows behind it flow. Once the cause is fixed, a parked row is
//! retried (it goes back to the relay's queue, its attempts reset) or, if it should never be
//! published, dropped. The same three actions are offered by the `outbox` command (`./dev outbox`)
//! and by each service's admin routes ([`http`]); the gauge `outbox_parked` counts the rows
//! parked now ([`crate::backlog`]).
//!
//! A retried row is published after rows of the same key that were published while it was
//! parked: consumers ignore an event that would move a status backwards.

pub mod http;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use uuid::Uuid;

/// A parked row, as an operator needs to see it to decide.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ParkedRow {
    /// The row's place in the outbox (publication order).
    pub seq: i64,
    pub event_id: Uuid,
    #[schema(example = "OrderPlaced")]
    pub event_type: String,
    /// The topic's base name, e.g. `fooddelivery.order`.
    #[schema(example = "fooddelivery.order")]
    pub topic: String,
    pub message_key: String,
    /// Failed sends before it was parked.
    pub attempts: i32,
    pub created_at: DateTime<Utc>,
    pub parked_at: DateTime<Utc>,
    /// The envelope that would be published.
    #[schema(value_type = Object)]
    pub payload: serde_json::Value,
}

/// Which parked rows an action applies to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selection {
    All,
    Events(Vec<Uuid>),
}

impl Selection {
    /// The event ids to match, `None` for every parked row.
    fn ids(&self) -> Option<&[Uuid]> {
        match self {
            Selection::All => None,
            Selection::Events(ids) => Some(ids),
        }
    }
}

/// Every parked row, oldest first.
#[tracing::instrument(skip_all)]
pub async fn list(pool: &PgPool) -> sqlx::Result<Vec<ParkedRow>> {
    sqlx::query_as(
        "select seq, event_id, event_type, topic, message_key, attempts, created_at, parked_at,
                payload
         from outbox where parked_at is not null order by seq",
    )
    .fetch_all(pool)
    .await
}

/// Puts the selected parked rows back in the relay's queue with their attempts reset; returns
/// their event ids. This process's relay is woken for them; run from elsewhere (the `outbox`
/// command), the service's relay takes them at its next poll.
#[tracing::instrument(skip_all)]
pub async fn retry(pool: &PgPool, which: &Selection) -> sqlx::Result<Vec<Uuid>> {
    let ids: Vec<Uuid> = sqlx::query_scalar(
        "update outbox set parked_at = null, attempts = 0
         where parked_at is not null and ($1::uuid[] is null or event_id = any($1))
         returning event_id",
    )
    .bind(which.ids())
    .fetch_all(pool)
    .await?;
    for id in &ids {
        tracing::warn!(event.id = %id, "parked outbox row retried");
    }
    crate::outbox::committed();
    Ok(ids)
}

/// Deletes the selected parked rows: their events are never published. Returns their ids.
#[tracing::instrument(skip_all)]
pub async fn drop(pool: &PgPool, which: &Selection) -> sqlx::Result<Vec<Uuid>> {
    let dropped: Vec<(Uuid, String)> = sqlx::query_as(
        "delete from outbox
         where parked_at is not null and ($1::uuid[] is null or event_id = any($1))
         returning event_id, event_type",
    )
    .bind(which.ids())
    .fetch_all(pool)
    .await?;
    for (id, event_type) in &dropped {
        tracing::warn!(event.id = %id, event.type = %event_type, "parked outbox row dropped: never published");
    }
    Ok(dropped.into_iter().map(|(id, _)| id).collect())
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SelectionBody {
    /// The parked rows to act on, by event id.
    #[serde(default)]
    #[schema(max_items = 1000)]
    pub event_ids: Vec<Uuid>,
    /// `true` to act on every parked row instead (then `eventIds` must be empty).
    #[serde(default)]
    pub all: bool,
}

impl SelectionBody {
    /// The selection, or why the body names none (or both ways).
    pub fn selection(self) -> Result<Selection, &'static str> {
        match (self.all, self.event_ids.is_empty()) {
            (true, true) => Ok(Selection::All),
            (false, false) if self.event_ids.len() <= 1000 => Ok(Selection::Events(self.event_ids)),
            (false, false) => Err("at most 1000 eventIds at a time"),
            (false, true) => Err("name the rows: eventIds, or all: true"),
            (true, false) => Err("either eventIds or all: true, not both"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(all: bool, ids: usize) -> SelectionBody {
        SelectionBody {
            all,
            event_ids: (0..ids).map(|_| Uuid::new_v4()).collect(),
        }
    }

    #[test]
    fn a_selection_names_its_rows_one_way() {
        assert_eq!(body(true, 0).selection(), Ok(Selection::All));
        assert!(matches!(body(false, 2).selection(), Ok(Selection::Events(ids)) if ids.len() == 2));
        assert!(body(false, 0).selection().is_err());
        assert!(body(true, 1).selection().is_err());
        assert!(body(false, 1001).selection().is_err());
    }
}
