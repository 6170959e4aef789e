//! Background tasks: the work a service does besides answering requests (its consumers, a
//! periodic repair, a dispatcher). They all need the database and Kafka ready first, so they are
//! handed to start-up as [`BackgroundTask`]s, started together once it has finished, and stopped
//! by the service's shutdown token, finishing the work in hand.

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::consumer::{Consumer, Processor};

/// Work started once the service's database and Kafka are ready, running until `shutdown`.
/// Every [`Consumer`] is one; anything else can be wrapped in a [`Task`] or implement it.
pub trait BackgroundTask: Send {
    /// Starts the task. An error stops the whole process: a service missing one of its tasks
    /// must not look healthy.
    fn spawn_task(self: Box<Self>, shutdown: CancellationToken) -> anyhow::Result<JoinHandle<()>>;
}

impl<P: Processor> BackgroundTask for Consumer<P> {
    fn spawn_task(self: Box<Self>, shutdown: CancellationToken) -> anyhow::Result<JoinHandle<()>> {
        (*self).spawn(shutdown)
    }
}

/// A background task given as a function that spawns it (e.g. a periodic repair).
pub struct Task<F>(pub F);

impl<F> BackgroundTask for Task<F>
where
    F: FnOnce(CancellationToken) -> JoinHandle<()> + Send,
{
    fn spawn_task(self: Box<Self>, shutdown: CancellationToken) -> anyhow::Result<JoinHandle<()>> {
        Ok((self.0)(shutdown))
    }
}
