//! A transaction committed through `outbox::commit` wakes the relay: its events are published
//! without waiting for the relay's poll. (Its own test binary: the wake-up is the process's,
//! and no other test may commit meanwhile.)

#![allow(clippy::unwrap_used)]

// The suite's support, of which this binary uses a part.
#[allow(dead_code)]
#[path = "backbone/support.rs"]
mod support;

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::support::{Stack, event};

#[tokio::test]
async fn a_commit_through_the_outbox_wakes_the_relay_long_before_its_poll() {
    let stack = Stack::start().await;
    let shutdown = CancellationToken::new();
    // A poll so rare that within the test only the wake-up can publish anything.
    stack.relay_with(
        |relay| relay.poll_interval = Duration::from_secs(3_600),
        &shutdown,
    );
    stack.consumer("a", &shutdown);
    // The relay's first turn finds nothing; it is waiting by now.
    tokio::time::sleep(Duration::from_millis(500)).await;

    for n in 1..=3 {
        stack.enqueue(&[event()]).await;
        stack.wait_for_effects(n).await;
    }

    shutdown.cancel();
    stack.finish().await;
}
