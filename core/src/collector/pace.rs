//! When each scrape of a cycle starts: spread over the resolution in steady state; at startup, the
//! first cycle scrapes every node at once and the second follows it node by node, one window
//! later, so that every node gets its first rate one window after its first scrape (not after the
//! whole first cycle) and no node is scraped twice while another still waits for its second point.

use super::NodeTarget;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How a cycle's scrapes are timed.
#[derive(Debug, Clone)]
pub(super) enum Pace {
    /// Spread evenly over 80% of the resolution: every cycle after the first two.
    Spread,
    /// Every node at once (bounded by the concurrency), recording when each scrape started: the
    /// first cycle.
    AtOnce(Arc<StartupTimes>),
    /// Each node this long after the first cycle started its scrape: the second cycle.
    Follow(Arc<StartupTimes>, Duration),
}

/// The first cycle's nodes (the second cycle walks the same list) and when it started each
/// one's scrape, by position.
#[derive(Debug)]
pub(super) struct StartupTimes {
    nodes: Vec<Arc<NodeTarget>>,
    started: Mutex<Vec<Instant>>,
    finished: AtomicBool,
}

impl StartupTimes {
    /// For a first cycle over `nodes`.
    pub(super) fn new(nodes: Vec<Arc<NodeTarget>>) -> Arc<StartupTimes> {
        let started = Mutex::new(Vec::with_capacity(nodes.len()));
        Arc::new(StartupTimes { nodes, started, finished: AtomicBool::new(false) })
    }

    /// The nodes of the first cycle.
    pub(super) fn nodes(&self) -> Vec<Arc<NodeTarget>> {
        self.nodes.clone()
    }

    /// The first cycle got to the next node (started its scrape, or skipped it).
    pub(super) fn record(&self) {
        self.started.lock().unwrap_or_else(|e| e.into_inner()).push(Instant::now());
    }

    /// The first cycle will record no more.
    pub(super) fn finish(&self) {
        self.finished.store(true, Ordering::SeqCst);
    }

    /// When the first cycle got to the node at position `i`: waits for it to get there; `None`
    /// if it stopped before.
    pub(super) async fn started(&self, i: usize) -> Option<Instant> {
        loop {
            if let Some(&t) = self.started.lock().unwrap_or_else(|e| e.into_inner()).get(i) {
                return Some(t);
            }
            if self.finished.load(Ordering::SeqCst) {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// How far ahead of its time a scrape may start so that it joins a batch: scrapes due within this
/// window start together, on one timer wake-up.
///
/// A scrape started alone costs the scrape threads a wake-up for its timer and one more for each
/// read of its answer; started together, scrapes share them. At 5,000 nodes a window of 50 ms
/// instead of 1 ms took a cycle's CPU from 1.09-1.20 s to 0.72-0.76 s (BENCHMARKS.md, issue 18,
/// session 12). It is a hundredth of the resolution (50 ms at most, 1 ms at least), so a node is
/// scraped at most that much early and the spread of a cycle keeps its shape.
pub(super) fn batch_window(resolution: Duration) -> Duration {
    (resolution / 100).clamp(Duration::from_millis(1), Duration::from_millis(50))
}

impl Pace {
    /// Waits until the scrape of the `i`th of `count` nodes is due, for a cycle that started at
    /// `tick` with `resolution`.
    pub(super) async fn wait(&self, i: usize, count: usize, tick: Instant, resolution: Duration) {
        let at = match self {
            Pace::AtOnce(_) => return,
            Pace::Spread => tick + resolution.mul_f64(0.8).mul_f64(i as f64 / count.max(1) as f64),
            Pace::Follow(first, window) => match first.started(i).await {
                Some(t) => t + *window,
                None => return,
            },
        };
        // Scrapes due within one batch window start together: one timer per batch.
        if at > Instant::now() + batch_window(resolution) {
            tokio::time::sleep_until(tokio::time::Instant::from_std(at)).await;
        }
    }

    /// Records that the `AtOnce` cycle got to its next node.
    pub(super) fn record(&self) {
        if let Pace::AtOnce(times) = self {
            times.record();
        }
    }

    /// The cycle's dispatcher is done.
    pub(super) fn finish(&self) {
        if let Pace::AtOnce(times) = self {
            times.finish();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_second_cycle_follows_each_node_one_window_later() {
        let first = StartupTimes::new(Vec::new());
        let (at_once, follow) = (Pace::AtOnce(first.clone()), Pace::Follow(first.clone(), Duration::from_millis(100)));
        let t0 = Instant::now();
        at_once.record();
        let recorder = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(60)).await;
            at_once.record();
            at_once.finish();
        });
        follow.wait(0, 2, t0, Duration::ZERO).await;
        let e = t0.elapsed();
        assert!(e >= Duration::from_millis(100) && e < Duration::from_millis(400), "{e:?}");
        // The second node: it waits for the first cycle to get there, then one window more.
        follow.wait(1, 2, t0, Duration::ZERO).await;
        let e = t0.elapsed();
        assert!(e >= Duration::from_millis(160), "{e:?}");
        recorder.await.expect("recorder");
        // A node the first cycle never got to is not waited for.
        let now = Instant::now();
        follow.wait(2, 3, t0, Duration::ZERO).await;
        assert!(now.elapsed() < Duration::from_millis(300));
        // Spread: the i-th of n at 80% of the resolution times i / n; at once: no wait.
        let t1 = Instant::now();
        Pace::Spread.wait(1, 2, t1, Duration::from_millis(200)).await;
        let early = batch_window(Duration::from_millis(200));
        assert!(t1.elapsed() + early >= Duration::from_millis(80), "{:?}", t1.elapsed());
        let t2 = Instant::now();
        Pace::AtOnce(StartupTimes::new(Vec::new())).wait(5, 6, t2, Duration::from_secs(10)).await;
        assert!(t2.elapsed() < Duration::from_millis(300));
    }

    #[test]
    fn scrapes_are_batched_within_a_hundredth_of_the_resolution() {
        assert_eq!(batch_window(Duration::from_secs(15)), Duration::from_millis(50));
        assert_eq!(batch_window(Duration::from_secs(2)), Duration::from_millis(20));
        assert_eq!(batch_window(Duration::from_millis(50)), Duration::from_millis(1));
    }
}
