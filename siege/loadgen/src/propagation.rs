//! Order → mypage propagation: for a sample of placed orders, poll GET /mypage/orders/{id}
//! through the gateway until it answers 200. The time counts from the moment the 201 arrived to
//! the moment the first 200 did. Polls start FIRST_POLL apart and back off by a quarter each
//! time (to at most LAST_POLL), so a backlog of followed orders does not flood mypage with
//! reads: the figure is late by at most about a fifth of itself (or FIRST_POLL), plus a GET.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::task::JoinHandle;

use crate::gateway::Gateway;
use crate::stats::{Percentiles, percentiles, round};

const FIRST_POLL: Duration = Duration::from_millis(25);
const LAST_POLL: Duration = Duration::from_secs(1);
/// An order not on mypage by then is counted as missing.
pub const GIVE_UP_AFTER: Duration = Duration::from_secs(300);

#[derive(Clone)]
pub struct Propagation {
    gateway: Gateway,
    followed: Arc<Mutex<Vec<JoinHandle<Option<f64>>>>>,
}

#[derive(Debug, Serialize)]
pub struct PropagationReport {
    pub samples: usize,
    /// Sampled orders mypage did not show within GIVE_UP_AFTER.
    pub missing: usize,
    pub give_up_s: u64,
    pub ms: Option<Percentiles>,
}

impl Propagation {
    pub fn new(gateway: Gateway) -> Self {
        Self {
            gateway,
            followed: Arc::default(),
        }
    }

    /// Follows one order, placed (its 201 received) at `placed`, to mypage.
    pub fn follow(&self, token: String, order_id: String, placed: Instant) {
        let gateway = self.gateway.clone();
        let handle = tokio::spawn(async move {
            let mut pause = FIRST_POLL;
            while placed.elapsed() < GIVE_UP_AFTER {
                if gateway.mypage_order_status(&token, &order_id).await == 200 {
                    return Some(round(placed.elapsed().as_secs_f64() * 1000.0));
                }
                tokio::time::sleep(pause).await;
                pause = (pause * 5 / 4).min(LAST_POLL);
            }
            None
        });
        if let Ok(mut followed) = self.followed.lock() {
            followed.push(handle);
        }
    }

    /// Waits for every followed order to show up (or be given up on).
    pub async fn finish(self) -> PropagationReport {
        let handles = match self.followed.lock() {
            Ok(mut followed) => std::mem::take(&mut *followed),
            Err(_) => Vec::new(),
        };
        let samples = handles.len();
        let mut times = Vec::with_capacity(samples);
        for handle in handles {
            if let Ok(Some(ms)) = handle.await {
                times.push(ms);
            }
        }
        PropagationReport {
            samples,
            missing: samples - times.len(),
            give_up_s: GIVE_UP_AFTER.as_secs(),
            ms: percentiles(&times),
        }
    }
}
