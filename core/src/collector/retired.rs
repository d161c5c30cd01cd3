//! Snapshots replaced while requests were still writing answers from them are freed by a
//! thread of their own once the last of those requests is done. Otherwise the request that
//! finished last would free the whole snapshot on an API worker: about half a second for the
//! 1,950,000 pods of 65,000 nodes, during which every request queued on that worker waits.

use crate::server::MetricsSnapshot;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, channel};
use std::time::Duration;

/// How often the thread looks whether the requests holding a retired snapshot are done.
const POLL: Duration = Duration::from_millis(100);

/// Where replaced snapshots go (cheap to clone).
#[derive(Debug, Clone)]
pub(super) struct Retired {
    to_free: Option<Sender<Arc<MetricsSnapshot>>>,
}

impl Retired {
    /// Starts the freeing thread; if the thread cannot start, snapshots are freed where they
    /// are dropped, as before.
    pub(super) fn start() -> Retired {
        let (tx, rx) = channel();
        let started = std::thread::Builder::new().name("kubemetrics-free".into()).spawn(move || free_when_unused(rx));
        Retired { to_free: started.ok().map(|_| tx) }
    }

    /// Hands over a replaced snapshot: freed at once if nothing else holds it, else once the
    /// requests holding it are done with it.
    pub(super) fn retire(&self, snapshot: Arc<MetricsSnapshot>) {
        if let Some(tx) = &self.to_free {
            // The thread only stops when every sender is gone, so this cannot fail while
            // `self` exists; if it ever did, the snapshot is dropped here.
            let _ = tx.send(snapshot);
        }
    }
}

fn free_when_unused(rx: Receiver<Arc<MetricsSnapshot>>) {
    let mut held: Vec<Arc<MetricsSnapshot>> = Vec::new();
    loop {
        match rx.recv_timeout(POLL) {
            Ok(s) => held.push(s),
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) if held.is_empty() => return,
            Err(RecvTimeoutError::Disconnected) => std::thread::sleep(POLL),
        }
        // Held only here: no request can take it any more (it left the slot), so it is freed.
        held.retain(|s| Arc::strong_count(s) > 1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    #[test]
    fn a_retired_snapshot_is_freed_once_its_last_reader_is_done() {
        let retired = Retired::start();
        let snapshot = Arc::new(MetricsSnapshot::default());
        let reader = snapshot.clone();
        let watch = Arc::downgrade(&snapshot);
        retired.retire(snapshot);
        std::thread::sleep(POLL * 3);
        assert!(watch.upgrade().is_some(), "kept while a reader holds it");
        drop(reader);
        let start = Instant::now();
        while watch.upgrade().is_some() {
            assert!(start.elapsed() < POLL * 20, "freed after its last reader");
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}
