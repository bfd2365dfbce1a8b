//! The one way kencho runs a background loop: a pass does what is due and says whether more
//! may be waiting; the runner runs it again at once if so, otherwise waits for its period or a
//! wake-up (the database wakes the outbox after each commit, see [`crate::db::Db::committed`]),
//! backs off after a failure, and stops between passes when the server shuts down.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{watch, Notify};

use crate::error::Result;

/// What a pass found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pass {
    /// Nothing more is waiting: wait for the period or a wake-up.
    Idle,
    /// It did a full batch: more may be waiting, so run again at once.
    More,
}

impl Pass {
    /// `More` when a pass handled as many items as it takes at once.
    pub fn more_if(busy: bool) -> Pass {
        if busy {
            Pass::More
        } else {
            Pass::Idle
        }
    }
}

/// How a loop runs.
#[derive(Clone)]
pub struct Every {
    /// Names the loop in the log.
    pub name: &'static str,
    /// How long it waits between passes when idle.
    pub period: Duration,
    /// Whether the first pass waits one period (sweeps and checkpoints) or runs at once.
    pub first_after_period: bool,
    /// Wakes it before the period ends.
    pub wake: Option<Arc<Notify>>,
}

impl Every {
    pub fn new(name: &'static str, period: Duration) -> Every {
        Every { name, period, first_after_period: false, wake: None }
    }

    pub fn after_period(mut self) -> Every {
        self.first_after_period = true;
        self
    }

    pub fn woken_by(mut self, wake: Arc<Notify>) -> Every {
        self.wake = Some(wake);
        self
    }
}

/// Told to stop: the runner ends between passes.
pub type Stop = watch::Receiver<bool>;

/// The longest wait after failures: 64 periods, at most this (at least one period).
const MAX_BACKOFF: Duration = Duration::from_secs(300);

/// How long to wait after `failures` failures in a row: doubling from the period.
fn backoff(period: Duration, failures: u32) -> Duration {
    let cap = period.saturating_mul(64).min(MAX_BACKOFF).max(period);
    period.saturating_mul(1 << failures.min(10)).min(cap)
}

/// Resolves once the server is told to stop. A server whose `Running` was dropped without
/// stopping (a second node in the tests) keeps its workers: this then never resolves.
pub async fn stopped(stop: &mut Stop) {
    loop {
        if *stop.borrow_and_update() {
            return;
        }
        if stop.changed().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

/// Waits `d`, or until woken; false when told to stop.
async fn wait(d: Duration, wake: Option<&Notify>, stop: &mut Stop) -> bool {
    if *stop.borrow() {
        return false;
    }
    let woken = async {
        match wake {
            Some(n) => n.notified().await,
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        _ = tokio::time::sleep(d) => true,
        _ = woken => true,
        _ = stopped(stop) => false,
    }
}

/// Runs `pass` as `every` says until `stop` turns true.
pub async fn run<F, Fut>(every: Every, mut stop: Stop, mut pass: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Pass>>,
{
    if every.first_after_period && !wait(every.period, None, &mut stop).await {
        return;
    }
    let mut failures = 0u32;
    loop {
        let pause = match pass().await {
            Ok(Pass::More) => {
                failures = 0;
                if *stop.borrow() {
                    return;
                }
                continue;
            }
            Ok(Pass::Idle) => {
                failures = 0;
                every.period
            }
            Err(e) => {
                failures = failures.saturating_add(1);
                tracing::warn!(worker = every.name, failures, error = %e.with_causes(), "background pass failed");
                backoff(every.period, failures)
            }
        };
        if !wait(pause, every.wake.as_deref(), &mut stop).await {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        let p = Duration::from_secs(1);
        assert_eq!(backoff(p, 0), p);
        assert_eq!(backoff(p, 1), Duration::from_secs(2));
        assert_eq!(backoff(p, 3), Duration::from_secs(8));
        assert_eq!(backoff(p, 30), Duration::from_secs(64));
        assert_eq!(backoff(Duration::from_secs(30), 30), MAX_BACKOFF);
        // A fast loop backs off to a few seconds, not minutes.
        assert_eq!(backoff(Duration::from_millis(50), 30), Duration::from_millis(3200));
        // A loop whose period is longer than the cap waits at least its period.
        let hour = Duration::from_secs(3600);
        assert_eq!(backoff(hour, 2), hour);
    }

    #[tokio::test]
    async fn runs_again_at_once_while_busy_and_stops_when_told() {
        let (tx, rx) = watch::channel(false);
        let count = Arc::new(std::sync::atomic::AtomicU32::new(0));
        let c = count.clone();
        let every = Every::new("test", Duration::from_secs(3600));
        let task = tokio::spawn(run(every, rx, move || {
            let n = c.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            async move { Ok(Pass::more_if(n < 4)) }
        }));
        // Five passes without waiting an hour: four busy ones and the idle one.
        for _ in 0..100 {
            if count.load(std::sync::atomic::Ordering::SeqCst) >= 5 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(count.load(std::sync::atomic::Ordering::SeqCst), 5);
        tx.send(true).unwrap();
        tokio::time::timeout(Duration::from_secs(5), task).await.unwrap().unwrap();
    }

    #[tokio::test]
    async fn a_dropped_sender_does_not_stop_or_spin() {
        let (tx, rx) = watch::channel(false);
        drop(tx);
        let count = Arc::new(std::sync::atomic::AtomicU32::new(0));
        let c = count.clone();
        let every = Every::new("test", Duration::from_millis(200));
        let task = tokio::spawn(run(every, rx, move || {
            c.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            async { Ok(Pass::Idle) }
        }));
        tokio::time::sleep(Duration::from_millis(500)).await;
        // About three passes in half a second, not thousands, and still running.
        let n = count.load(std::sync::atomic::Ordering::SeqCst);
        assert!((2..=4).contains(&n), "{n} passes");
        assert!(!task.is_finished());
        task.abort();
    }

    #[tokio::test]
    async fn a_wake_up_runs_a_pass_before_the_period() {
        let (_tx, rx) = watch::channel(false);
        let wake = Arc::new(Notify::new());
        let count = Arc::new(std::sync::atomic::AtomicU32::new(0));
        let c = count.clone();
        let every = Every::new("test", Duration::from_secs(3600)).woken_by(wake.clone());
        tokio::spawn(run(every, rx, move || {
            c.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            async { Ok(Pass::Idle) }
        }));
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(count.load(std::sync::atomic::Ordering::SeqCst), 1);
        wake.notify_one();
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(count.load(std::sync::atomic::Ordering::SeqCst), 2);
    }
}
