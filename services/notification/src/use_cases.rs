//! What the notification service does, independent of how it is asked: show a customer or a
//! store's owner their notifications, and send the ones that are due. Each opens its own transaction and returns a
//! [`NotificationError`]; the HTTP layer and the dispatcher only call these.

use sqlx::{PgConnection, PgPool};

use crate::channel::Channel;
use crate::db;
use crate::domain::{Notification, Reader};
use crate::settings::RetrySettings;

#[derive(Debug, thiserror::Error)]
pub enum NotificationError {
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// The notifications `reader` sees, newest first.
pub async fn notifications_of(
    pool: &PgPool,
    reader: Reader<'_>,
) -> Result<Vec<Notification>, NotificationError> {
    Ok(db::list(pool, reader).await?)
}

/// Sends up to `batch` due notifications (new ones, and failed ones whose backoff has passed)
/// through `channel` and records each outcome; how many it tried. The rows stay locked until
/// the outcomes are committed, so another replica's dispatcher skips them meanwhile.
pub async fn dispatch_due(
    pool: &PgPool,
    channel: &dyn Channel,
    retry: &RetrySettings,
    batch: i64,
) -> Result<usize, NotificationError> {
    let mut tx = pool.begin().await?;
    let due = db::lock_due(&mut tx, retry.max_attempts, batch).await?;
    let results = futures::future::join_all(due.iter().map(|n| channel.send(n))).await;
    for (notification, result) in due.iter().zip(results) {
        match result {
            Ok(()) => db::mark_sent(&mut tx, notification.id).await?,
            Err(e) => record_failure(&mut tx, retry, notification, &e.0).await?,
        }
    }
    tx.commit().await?;
    Ok(due.len())
}

/// Records a failed send; the next attempt is due after the backoff, unless this was the last.
async fn record_failure(
    tx: &mut PgConnection,
    retry: &RetrySettings,
    notification: &Notification,
    error: &str,
) -> sqlx::Result<()> {
    let attempts = notification.attempts + 1;
    let retry_in = retry.backoff(attempts);
    db::mark_failed(tx, notification.id, error, retry_in).await?;
    if attempts >= retry.max_attempts {
        tracing::error!(notification.id = %notification.id, order.id = %notification.order_id,
            attempts, error, "notification failed for good");
    } else {
        tracing::warn!(notification.id = %notification.id, order.id = %notification.order_id,
            attempts, error, retry_in = ?retry_in, "notification failed; will retry");
    }
    Ok(())
}
