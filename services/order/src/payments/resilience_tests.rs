//! The resilience policy, deterministically: tokio's paused clock drives the timeout, and
//! failsafe's frozen clock drives the breaker's open period. The payment service here is a
//! scripted stand-in (a unit test of the policy; the real service is in the integration tests).

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::time::Instant;
use uuid::Uuid;

use super::*;

/// How the stand-in answers its next calls.
#[derive(Clone, Copy)]
enum Script {
    Approve,
    Decline,
    Hang,
    Fail(u16),
}

struct Scripted {
    script: Mutex<Script>,
    calls: AtomicUsize,
}

impl Scripted {
    fn new(script: Script) -> Self {
        Self {
            script: Mutex::new(script),
            calls: AtomicUsize::new(0),
        }
    }
}

#[async_trait]
impl PaymentPort for Arc<Scripted> {
    async fn charge(&self, _: &ChargeRequest) -> Result<PaymentOutcome, PaymentError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let script = *self.script.lock().unwrap();
        match script {
            Script::Approve => Ok(PaymentOutcome::Approved {
                payment_id: Uuid::nil(),
            }),
            Script::Decline => Ok(PaymentOutcome::Declined),
            Script::Hang => {
                tokio::time::sleep(Duration::from_secs(3600)).await;
                Ok(PaymentOutcome::Declined)
            }
            Script::Fail(status) => Err(PaymentError::Upstream(status)),
        }
    }
}

fn request() -> ChargeRequest {
    ChargeRequest {
        order_id: Uuid::new_v4(),
        customer_id: "alice".into(),
        amount: 1000,
    }
}

fn settings() -> BreakerSettings {
    BreakerSettings {
        timeout: Duration::from_millis(610),
        max_concurrency: 4,
        failures: 3,
        open_for: Duration::from_secs(5),
    }
}

/// Runs `test` on a paused current-thread runtime inside failsafe's frozen clock.
fn with_frozen_time(test: impl AsyncFnOnce(&mut failsafe::clock::MockClock)) {
    failsafe::clock::freeze(|clock| {
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .start_paused(true)
            .build()
            .unwrap()
            .block_on(test(clock))
    });
}

#[test]
fn a_slow_payment_times_out_at_the_configured_timeout() {
    with_frozen_time(async |_| {
        let port = Arc::new(Scripted::new(Script::Hang));
        let payments = Resilient::new(port.clone(), settings());
        let started = Instant::now();

        let outcome = payments.charge(&request()).await;

        assert_eq!(outcome, Err(PaymentError::Timeout));
        assert_eq!(started.elapsed(), Duration::from_millis(610));
    });
}

#[test]
fn the_breaker_opens_after_consecutive_failures_and_then_sheds_without_calling() {
    with_frozen_time(async |_| {
        let port = Arc::new(Scripted::new(Script::Hang));
        let payments = Resilient::new(port.clone(), settings());
        for _ in 0..3 {
            assert_eq!(
                payments.charge(&request()).await,
                Err(PaymentError::Timeout)
            );
        }

        let started = Instant::now();
        let shed = payments.charge(&request()).await;

        assert_eq!(shed, Err(PaymentError::BreakerOpen));
        assert_eq!(started.elapsed(), Duration::ZERO, "shed at once");
        assert_eq!(
            port.calls.load(Ordering::SeqCst),
            3,
            "the payment service saw no 4th call"
        );
    });
}

#[test]
fn after_the_open_period_a_successful_probe_closes_the_breaker() {
    with_frozen_time(async |clock| {
        let port = Arc::new(Scripted::new(Script::Fail(503)));
        let payments = Resilient::new(port.clone(), settings());
        for _ in 0..3 {
            let _ = payments.charge(&request()).await;
        }
        assert_eq!(
            payments.charge(&request()).await,
            Err(PaymentError::BreakerOpen)
        );

        *port.script.lock().unwrap() = Script::Approve;
        clock.advance(Duration::from_millis(4_999));
        assert_eq!(
            payments.charge(&request()).await,
            Err(PaymentError::BreakerOpen)
        );
        clock.advance(Duration::from_millis(2));
        let probe = payments.charge(&request()).await;

        assert!(matches!(probe, Ok(PaymentOutcome::Approved { .. })));
        assert!(payments.charge(&request()).await.is_ok(), "closed again");
        assert_eq!(port.calls.load(Ordering::SeqCst), 5);
    });
}

#[test]
fn declines_and_client_errors_do_not_open_the_breaker() {
    with_frozen_time(async |_| {
        let port = Arc::new(Scripted::new(Script::Decline));
        let payments = Resilient::new(port.clone(), settings());
        for _ in 0..5 {
            assert_eq!(
                payments.charge(&request()).await,
                Ok(PaymentOutcome::Declined)
            );
        }
        *port.script.lock().unwrap() = Script::Fail(409);
        for _ in 0..5 {
            assert_eq!(
                payments.charge(&request()).await,
                Err(PaymentError::Upstream(409))
            );
        }
        assert_eq!(
            port.calls.load(Ordering::SeqCst),
            10,
            "every call reached the service"
        );
    });
}

#[test]
fn calls_beyond_the_bulkhead_fail_at_once() {
    with_frozen_time(async |_| {
        let port = Arc::new(Scripted::new(Script::Hang));
        let payments = Arc::new(Resilient::new(
            port.clone(),
            BreakerSettings {
                max_concurrency: 2,
                ..settings()
            },
        ));
        let in_flight: Vec<_> = (0..2)
            .map(|_| {
                let payments = payments.clone();
                tokio::spawn(async move { payments.charge(&request()).await })
            })
            .collect();
        tokio::task::yield_now().await;

        let started = Instant::now();
        let third = payments.charge(&request()).await;

        assert_eq!(third, Err(PaymentError::Saturated));
        assert_eq!(started.elapsed(), Duration::ZERO);
        for call in in_flight {
            assert_eq!(call.await.unwrap(), Err(PaymentError::Timeout));
        }
    });
}
