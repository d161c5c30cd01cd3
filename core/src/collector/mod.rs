//! The collection half of `kubemetrics serve`: keeps an [`Inventory`] of nodes (from watches or
//! set directly), scrapes every kubelet once per resolution with start times spread evenly over
//! the interval, bounded concurrency and connection reuse, stores points in the two-point
//! [`MetricsStore`], and serves consistent [`MetricsSnapshot`]s to the API.
//!
//! Differences from metrics-server, on purpose: no blind random sleep (deterministic spreading);
//! a node that fails keeps its last value for the store's grace period instead of vanishing;
//! a hung kubelet never delays the others (each scrape has its own deadline and the scheduler
//! never waits for a cycle to finish); unreachable nodes back off; NotReady nodes log quietly.
//!
//! A [partial pod](crate::store#partial-pods) (a container named by the kubelet without a usable
//! sample) is logged once, with its reason, when it turns partial (not at every cycle), and once
//! more when it is whole again; every scrape counts it in `kubemetrics_partial_pods_total`.

mod inventory;
mod pace;
mod retired;
mod watch;

pub use crate::scrape::kubelet::{KubeletClient, KubeletOptions, ScrapeFailure};
pub use inventory::{AddressOptions, Inventory, NodeTarget, PodLabels, PodRelist};
use pace::{Pace, StartupTimes};
use retired::Retired;

use crate::error::Result;
use crate::scrape::{ParseOptions, Parser, PartialPod, decode_summary};
use crate::server::{MetricsProvider, MetricsSnapshot, ScrapeErrorClass, ServerMetrics};
use crate::store::{MetricsStore, StoreConfig};
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

/// The interval between the first two cycles: the shortest window that gives accurate CPU
/// rates (metrics-server's minimum container age for a rate).
pub const FIRST_WINDOW: Duration = Duration::from_secs(10);

/// Collection settings.
#[derive(Debug, Clone)]
pub struct CollectorOptions {
    /// `--metric-resolution`: how often each kubelet is scraped.
    pub resolution: Duration,
    /// Most scrapes in flight at once.
    pub concurrency: usize,
    /// Kubelet client settings.
    pub kubelet: KubeletOptions,
    /// Store settings (grace period, fresh-container rule, ...).
    pub store: StoreConfig,
    /// Fall back to `/stats/summary` when `/metrics/resource` answers 404.
    pub summary_fallback: bool,
}

impl Default for CollectorOptions {
    fn default() -> Self {
        CollectorOptions {
            resolution: Duration::from_secs(15),
            concurrency: 256,
            kubelet: KubeletOptions::default(),
            store: StoreConfig::default(),
            summary_fallback: true,
        }
    }
}

struct Inner {
    options: CollectorOptions,
    inventory: Inventory,
    client: KubeletClient,
    store: Mutex<MetricsStore>,
    stats: Arc<ServerMetrics>,
    permits: Arc<tokio::sync::Semaphore>,
    /// Held by a cycle's dispatcher while it walks its nodes (all but the startup cycle's): a
    /// cycle that starts while the previous one is still starting scrapes (an overrun) waits
    /// for it, so cycles stay in order and each node's interval stays about one resolution.
    dispatching: tokio::sync::Mutex<()>,
    generation: AtomicU64,
    snapshot: RwLock<SnapshotSlot>,
    /// Held by a request building the snapshot it waits for ([`Collector::build_now`]).
    building_now: Mutex<()>,
    retired: Retired,
    last_tick: Mutex<Option<Instant>>,
    ready: AtomicBool,
    in_flight: Mutex<HashSet<String>>,
    failures: Mutex<HashMap<String, u32>>,
    cycle: AtomicU64,
    warned_keep_alive: AtomicBool,
    /// The partial pods of each node's last successful scrape, sorted (nodes with none absent).
    partial_seen: Mutex<HashMap<String, Vec<(String, String)>>>,
}

/// The served snapshot and how it was built.
struct SnapshotSlot {
    generation: u64,
    built: Option<Instant>,
    took: Duration,
    building: bool,
    /// Snapshots built so far.
    builds: u64,
    snapshot: Arc<MetricsSnapshot>,
}

/// Scrapes kubelets and serves what it stored; cheap to clone.
#[derive(Clone)]
pub struct Collector {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Collector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Collector").field("options", &self.inner.options).finish()
    }
}

fn now() -> jiff::Timestamp {
    jiff::Timestamp::now()
}

impl Collector {
    /// A collector over `inventory`, reporting into `stats`.
    pub fn new(options: CollectorOptions, inventory: Inventory, stats: Arc<ServerMetrics>) -> Result<Collector> {
        let client = KubeletClient::new(options.kubelet.clone())?;
        let store = MetricsStore::new(StoreConfig { resolution: options.resolution, ..options.store });
        Ok(Collector {
            inner: Arc::new(Inner {
                permits: Arc::new(tokio::sync::Semaphore::new(options.concurrency.max(1))),
                dispatching: tokio::sync::Mutex::new(()),
                options,
                inventory,
                client,
                store: Mutex::new(store),
                stats,
                generation: AtomicU64::new(0),
                snapshot: RwLock::new(SnapshotSlot {
                    generation: u64::MAX,
                    built: None,
                    took: Duration::ZERO,
                    building: false,
                    builds: 0,
                    snapshot: Arc::default(),
                }),
                building_now: Mutex::new(()),
                retired: Retired::start(),
                last_tick: Mutex::new(None),
                ready: AtomicBool::new(false),
                in_flight: Mutex::default(),
                failures: Mutex::default(),
                cycle: AtomicU64::new(0),
                warned_keep_alive: AtomicBool::new(false),
                partial_seen: Mutex::default(),
            }),
        })
    }

    /// The inventory scraped.
    pub fn inventory(&self) -> &Inventory {
        &self.inner.inventory
    }

    /// Starts watching Nodes (optionally filtered by `--node-selector`) and Pod metadata through
    /// `client`, feeding the inventory.
    pub fn watch_cluster(&self, client: kube::Client, node_selector: Option<String>, address: AddressOptions) {
        watch::spawn(client, self.inner.inventory.clone(), node_selector, address);
    }

    /// Runs the scrape loop forever (spawn it).
    ///
    /// The first cycle starts as soon as the inventory is synced (or after one resolution), and
    /// scrapes every node at once (bounded by the concurrency); the second scrapes each node
    /// [`FIRST_WINDOW`] after the first cycle started it, so every node has a rate about ten
    /// seconds after its first scrape. Later cycles run once per resolution, spread evenly over
    /// it.
    pub async fn run(self) {
        let resolution = self.inner.options.resolution;
        let waiting = Instant::now();
        while !self.inner.inventory.synced() && waiting.elapsed() < resolution {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let window = FIRST_WINDOW.min(resolution);
        let first = StartupTimes::new(self.inner.inventory.nodes());
        self.start_paced(Pace::AtOnce(first.clone()));
        tokio::time::sleep(window).await;
        let second = tokio::time::Instant::now();
        self.start_paced(Pace::Follow(first, window));
        let mut interval = tokio::time::interval_at(second + resolution, resolution);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            interval.tick().await;
            self.start_cycle();
        }
    }

    /// Starts one cycle: schedules every node's scrape, spread over the resolution, and returns
    /// at once with a handle that completes when the cycle's scrapes are done (dropping it does
    /// not cancel them). Nodes whose previous scrape is still running are skipped.
    pub fn start_cycle(&self) -> tokio::task::JoinHandle<()> {
        self.start_paced(Pace::Spread)
    }

    fn start_paced(&self, pace: Pace) -> tokio::task::JoinHandle<()> {
        let inner = &self.inner;
        let tick = Instant::now();
        *inner.last_tick.lock().unwrap_or_else(|e| e.into_inner()) = Some(tick);
        let cycle = inner.cycle.fetch_add(1, Ordering::Relaxed);
        let nodes = inner.inventory.nodes();
        {
            let names: HashSet<&str> = nodes.iter().map(|n| n.name.as_str()).collect();
            let mut store = inner.store.lock().unwrap_or_else(|e| e.into_inner());
            let gone: Vec<String> = store.node_names().into_iter().filter(|n| !names.contains(n)).map(str::to_string).collect();
            for n in &gone {
                store.remove_node(n);
                inner.stats.forget_node(n);
                inner.partial_seen.lock().unwrap_or_else(|e| e.into_inner()).remove(n);
            }
            store.expire(now());
            let s = store.stats();
            inner.stats.storage_points(s.nodes as u64, s.containers as u64);
        }
        // The startup cycles walk one list, so that the second finds each node where the first
        // recorded it.
        let nodes = match &pace {
            Pace::Spread => nodes,
            Pace::AtOnce(first) | Pace::Follow(first, _) => first.nodes(),
        };
        let count = nodes.len();
        let budget = inner.client.keep_alive_budget();
        if nodes.len() > budget && !inner.warned_keep_alive.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                nodes = nodes.len(),
                keep_alive = budget,
                "more kubelets than the open-file limit allows idle connections for: the rest are scraped over a new connection each time (raise `ulimit -n` to avoid the extra TLS handshakes)"
            );
        }
        // One dispatcher walks the nodes and starts each scrape at its time: a task per node
        // exists only while its scrape runs (a sleeping task per node cost ~1.7 KiB each).
        let this = self.clone();
        tokio::spawn(async move {
            let inner = &this.inner;
            let turn = match pace {
                Pace::AtOnce(_) => None,
                Pace::Spread | Pace::Follow(..) => Some(inner.dispatching.lock().await),
            };
            // A cycle that waited its turn while a newer one started is dropped: the newer one
            // scrapes every node, and overruns do not pile up cycles.
            if matches!(pace, Pace::Spread) && inner.cycle.load(Ordering::Relaxed) > cycle + 1 {
                inner.stats.skipped_cycle();
                return;
            }
            let mut tasks = tokio::task::JoinSet::new();
            for (i, node) in nodes.into_iter().enumerate() {
                let failures = inner.failures.lock().unwrap_or_else(|e| e.into_inner()).get(&node.name).copied().unwrap_or(0);
                if failures >= 3 {
                    let every = 1u64 << (failures - 2).min(3);
                    if !cycle.is_multiple_of(every) {
                        pace.record();
                        continue;
                    }
                }
                pace.wait(i, count, tick, inner.options.resolution).await;
                // The dispatcher takes the permit before it starts the scrape: a cycle waits in
                // line as one dispatcher, not as a task per node (at startup, the second cycle
                // takes turns with the first instead of queueing behind all of its nodes).
                let Ok(permit) = inner.permits.clone().acquire_owned().await else { break };
                pace.record();
                while tasks.try_join_next().is_some() {}
                if !inner.in_flight.lock().unwrap_or_else(|e| e.into_inner()).insert(node.name.clone()) {
                    continue;
                }
                let this = this.clone();
                let keep_alive = i < budget;
                tasks.spawn(async move {
                    let _permit = permit;
                    if this.inner.inventory.has_node(&node.name) {
                        this.scrape_node(&node, keep_alive).await;
                    }
                    this.inner.in_flight.lock().unwrap_or_else(|e| e.into_inner()).remove(&node.name);
                });
            }
            pace.finish();
            drop(turn);
            while tasks.join_next().await.is_some() {}
            inner.stats.tick(tick.elapsed().as_secs_f64());
            if !inner.store.lock().unwrap_or_else(|e| e.into_inner()).is_empty() {
                inner.ready.store(true, Ordering::SeqCst);
            }
        })
    }

    /// Scrapes one node now and stores the result.
    pub async fn scrape(&self, node: &NodeTarget) {
        self.scrape_node(node, true).await
    }

    async fn scrape_node(&self, node: &NodeTarget, keep_alive: bool) {
        let inner = &self.inner;
        let started = Instant::now();
        let result = match &node.address {
            None => {
                Err(ScrapeFailure { class: ScrapeErrorClass::Dns, message: format!("node {} has no address of a preferred type", node.name), status: None })
            }
            Some(address) => self.fetch(&node.name, address, &node.path, keep_alive).await,
        };
        let unix_now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or(0.0);
        inner.stats.kubelet_request(&node.name, started.elapsed().as_secs_f64(), result.is_ok(), unix_now);
        let at = now();
        match result {
            Ok(scrape) => {
                if !scrape.issues().is_empty() {
                    tracing::debug!(node = %node.name, issues = scrape.issues().len(), first = %scrape.issues()[0], "skipped bad series");
                }
                let report = inner.store.lock().unwrap_or_else(|e| e.into_inner()).store(&node.name, &scrape, at);
                inner.failures.lock().unwrap_or_else(|e| e.into_inner()).remove(&node.name);
                inner.stats.partial_pods(&node.name, report.partial_pods as u64);
                self.log_partial(&node.name, scrape.partial_pods());
            }
            Err(failure) => {
                inner.store.lock().unwrap_or_else(|e| e.into_inner()).mark_failed(&node.name, at);
                inner.stats.scrape_error(&node.name, failure.class);
                *inner.failures.lock().unwrap_or_else(|e| e.into_inner()).entry(node.name.clone()).or_default() += 1;
                if node.ready {
                    tracing::warn!(node = %node.name, class = failure.class.as_str(), "failed to scrape node: {}", failure.message);
                } else {
                    tracing::debug!(node = %node.name, "failed to scrape NotReady node: {}", failure.message);
                }
            }
        }
        inner.generation.fetch_add(1, Ordering::Relaxed);
    }

    /// Logs the pods that turned partial since the node's last successful scrape (with their
    /// reason) and those that are whole again; the others were logged already.
    fn log_partial(&self, node: &str, now: &[PartialPod]) {
        let mut seen = self.inner.partial_seen.lock().unwrap_or_else(|e| e.into_inner());
        let before = seen.get(node).map(Vec::as_slice).unwrap_or_default();
        if before.is_empty() && now.is_empty() {
            return;
        }
        let (turned, whole) = partial_changes(before, now);
        let keep = self.inner.options.store.keep_partial_pods;
        for p in turned {
            let pod = format!("{}/{}", p.namespace, p.pod);
            if keep {
                tracing::warn!(node, pod = %pod, "pod served without a container (--keep-partial-pods): {}", p.reason);
            } else {
                tracing::warn!(
                    node,
                    pod = %pod,
                    "pod not served until every container has a usable sample (as metrics-server; --keep-partial-pods serves the others): {}",
                    p.reason
                );
            }
        }
        for (namespace, pod) in whole {
            tracing::info!(node, pod = %format!("{namespace}/{pod}"), "pod whole again: every container has a usable sample");
        }
        if now.is_empty() {
            seen.remove(node);
        } else {
            seen.insert(node.to_string(), now.iter().map(|p| (p.namespace.clone(), p.pod.clone())).collect());
        }
    }

    /// Scrapes one kubelet: `/metrics/resource` parsed as it arrives (never held whole), or
    /// `/stats/summary` when the former answers 404. Both stop at
    /// [`KubeletOptions::max_body_bytes`], which the parsers share.
    async fn fetch(&self, node: &str, address: &str, path: &str, keep_alive: bool) -> std::result::Result<crate::scrape::NodeScrape, ScrapeFailure> {
        let client = &self.inner.client;
        let limits = ParseOptions { max_body_bytes: self.inner.options.kubelet.max_body_bytes, ..ParseOptions::default() };
        let name_node = |mut f: ScrapeFailure| {
            if f.class == ScrapeErrorClass::TooLarge {
                f.message = format!("node {node}: {}", f.message);
            }
            f
        };
        let mut parser = Parser::new(limits);
        parser.begin(crate::scrape::from_timestamp(now()));
        match client.get_streaming(address, path, keep_alive, |chunk| parser.feed(chunk)).await {
            Err(f) if f.status == Some(404) && self.inner.options.summary_fallback => {
                let body = client.get_with(address, "/stats/summary", keep_alive).await.map_err(name_node)?;
                let at = crate::scrape::from_timestamp(now());
                return decode_summary(&body, at, &limits).map(|(scrape, _node)| scrape).map_err(|e| ScrapeFailure {
                    class: ScrapeErrorClass::Parse,
                    message: e.to_string(),
                    status: None,
                });
            }
            other => other.map_err(name_node)?,
        };
        parser.finish().map_err(|e| ScrapeFailure { class: ScrapeErrorClass::Parse, message: e.to_string(), status: None })
    }

    fn build_snapshot(&self) -> MetricsSnapshot {
        let at = now();
        // Copied a few hundred nodes per lock (a scrape waits at most that long to store), sorted
        // and labelled after the lock is released.
        let lock = || self.inner.store.lock().unwrap_or_else(|e| e.into_inner());
        let (names, stats) = {
            let store = lock();
            (store.node_names().into_iter().map(str::to_string).collect::<Vec<String>>(), store.stats())
        };
        // Room for every stored pod at once: growing by doubling would copy the pods (hundreds
        // of MB at 65,000 nodes) several times per build.
        let (mut nodes, mut pods) = (Vec::with_capacity(names.len()), Vec::with_capacity(stats.pods + stats.pods / 64));
        for chunk in names.chunks(256) {
            let chunk: Vec<&str> = chunk.iter().map(String::as_str).collect();
            let store = lock();
            nodes.extend(store.served_nodes(Some(&chunk), at));
            store.append_served_pods(&chunk, at, &mut pods);
        }
        crate::store::sort_served_pods(&mut pods);
        self.inner.inventory.with_labels(|node_labels, pod_labels| {
            // Nodes deleted from the cluster stop being served at once, not at the next cycle.
            nodes.retain(|n| node_labels.contains_key(&*n.name));
            for n in &mut nodes {
                if let Some(t) = node_labels.get(&*n.name)
                    && !t.labels.is_empty()
                {
                    n.labels = Some(t.labels.clone());
                }
            }
            if let Some(known) = pod_labels {
                let mut key = String::new();
                // Deleted (or no longer Running) pods stop being served at once.
                pods.retain_mut(|p| match known.get(&p.namespace, &p.name, &mut key) {
                    Some(l) => {
                        p.labels = (!l.is_empty()).then(|| l.clone());
                        true
                    }
                    None => false,
                });
            }
        });
        MetricsSnapshot { nodes, pods }
    }
}

/// Compares a node's partial pods before and now (both sorted by `(namespace, pod)`): the pods
/// that turned partial, and those that are whole again.
fn partial_changes<'a, 'b>(before: &'b [(String, String)], now: &'a [PartialPod]) -> (Vec<&'a PartialPod>, Vec<&'b (String, String)>) {
    let key = |p: &'a PartialPod| (p.namespace.as_str(), p.pod.as_str());
    let was = |p: &'a PartialPod| before.binary_search_by(|(ns, name)| (ns.as_str(), name.as_str()).cmp(&key(p))).is_ok();
    let turned = now.iter().filter(|p| !was(p)).collect();
    let whole = before.iter().filter(|(ns, name)| now.binary_search_by(|p| key(p).cmp(&(ns.as_str(), name.as_str()))).is_err()).collect();
    (turned, whole)
}

impl Collector {
    fn generation(&self) -> u64 {
        self.inner.generation.load(Ordering::Relaxed).wrapping_mul(1_000_003).wrapping_add(self.inner.inventory.generation())
    }

    /// Builds a snapshot for a request that cannot be answered from the current one, unless
    /// another request built one since it saw `seen` builds: requests that arrive together
    /// (the first ones, or after a quiet period) wait for one build instead of each making
    /// its own copy of every pod.
    fn build_now(&self, seen: u64) -> Arc<MetricsSnapshot> {
        let _one_at_a_time = self.inner.building_now.lock().unwrap_or_else(|e| e.into_inner());
        if self.inner.snapshot.read().unwrap_or_else(|e| e.into_inner()).builds == seen {
            self.rebuild();
        }
        self.inner.snapshot.read().unwrap_or_else(|e| e.into_inner()).snapshot.clone()
    }

    fn rebuild(&self) {
        let generation = self.generation();
        let started = Instant::now();
        let snapshot = Arc::new(self.build_snapshot());
        let took = started.elapsed();
        let replaced = {
            let mut slot = self.inner.snapshot.write().unwrap_or_else(|e| e.into_inner());
            let builds = slot.builds + 1;
            std::mem::replace(&mut *slot, SnapshotSlot { generation, built: Some(Instant::now()), took, building: false, builds, snapshot })
        };
        self.inner.retired.retire(replaced.snapshot);
    }
}

impl MetricsProvider for Collector {
    /// The latest snapshot. Scrapes and inventory changes (deleted pods and nodes, new labels)
    /// make it stale; a stale snapshot is rebuilt at most once per second, or once per three
    /// build times for large clusters (300,000 pods take about a second), by one background
    /// task at a time, while requests keep being answered from the previous one. A request
    /// waits for a build only when the snapshot is older than twice that (the first request,
    /// or after a quiet period), so what is served is never more than a few seconds behind;
    /// requests that wait together wait for one build.
    fn snapshot(&self) -> Arc<MetricsSnapshot> {
        let generation = self.generation();
        {
            let mut slot = self.inner.snapshot.write().unwrap_or_else(|e| e.into_inner());
            let Some(built) = slot.built else {
                let seen = slot.builds;
                drop(slot);
                return self.build_now(seen);
            };
            let min_age = Duration::from_secs(1).max(slot.took * 3);
            let age = built.elapsed();
            if slot.generation == generation || age < min_age {
                return slot.snapshot.clone();
            }
            if slot.building {
                return slot.snapshot.clone();
            }
            slot.building = true;
            // Too old to answer with (a client would notice): build now, as the first time,
            // while concurrent requests keep the previous one.
            if age >= min_age * 2 {
                let seen = slot.builds;
                drop(slot);
                return self.build_now(seen);
            }
            let this = self.clone();
            let current = slot.snapshot.clone();
            match tokio::runtime::Handle::try_current() {
                Ok(rt) => {
                    rt.spawn_blocking(move || this.rebuild());
                    return current;
                }
                Err(_) => drop(slot),
            }
        }
        self.rebuild();
        self.inner.snapshot.read().unwrap_or_else(|e| e.into_inner()).snapshot.clone()
    }

    fn storage_ready(&self) -> bool {
        self.inner.ready.load(Ordering::SeqCst)
    }

    fn collection_timely(&self) -> bool {
        let limit = self.inner.options.resolution.mul_f64(1.5) + Duration::from_secs(1);
        self.inner.last_tick.lock().unwrap_or_else(|e| e.into_inner()).is_none_or(|t| t.elapsed() <= limit)
    }

    fn informers_synced(&self) -> bool {
        self.inner.inventory.synced()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(namespace: &str, name: &str) -> PartialPod {
        PartialPod { namespace: namespace.into(), pod: name.into(), reason: format!("container c of {name}: no memory series") }
    }

    #[test]
    fn requests_that_arrive_together_wait_for_one_build() {
        use crate::scrape::{ContainerSample, NodeScrapeBuilder};
        let collector = Collector::new(CollectorOptions::default(), Inventory::new(), Arc::new(ServerMetrics::default())).expect("collector");
        // Enough pods that a build takes a while (about 10 ms here, for 20,000 pods).
        let second = 1_000_000_000_i64;
        let t0 = crate::scrape::from_timestamp(now()) - 20 * second;
        for node in 0..200 {
            let name = format!("node-{node}");
            for (k, ts) in [(1, t0), (2, t0 + 10 * second)] {
                let mut b = NodeScrapeBuilder::new();
                for pod in 0..100 {
                    let sample = ContainerSample { cpu_ns: k * 1_000_000_000, memory_bytes: 1, swap_bytes: None, start_time_ns: None, timestamp_ns: ts };
                    b.push_container("ns", &format!("pod-{node}-{pod}"), "c", sample, 0);
                }
                collector.inner.store.lock().unwrap_or_else(|e| e.into_inner()).store(&name, &b.build(), now());
            }
        }
        let start = Arc::new(std::sync::Barrier::new(8));
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let (collector, start) = (collector.clone(), start.clone());
                std::thread::spawn(move || {
                    start.wait();
                    collector.snapshot()
                })
            })
            .collect();
        let got: Vec<Arc<MetricsSnapshot>> = threads.into_iter().map(|t| t.join().expect("thread")).collect();
        assert_eq!(got[0].pods.len(), 20_000);
        assert!(got.iter().all(|s| Arc::ptr_eq(s, &got[0])), "one snapshot for all");
        assert_eq!(collector.inner.snapshot.read().unwrap_or_else(|e| e.into_inner()).builds, 1);
    }

    #[test]
    fn partial_pods_are_reported_when_they_change() {
        let before = vec![("a".to_string(), "p".to_string()), ("b".to_string(), "q".to_string())];
        let now = [pod("a", "p"), pod("a", "z"), pod("c", "r")];
        let (turned, whole) = partial_changes(&before, &now);
        assert_eq!(turned.iter().map(|p| p.pod.as_str()).collect::<Vec<_>>(), ["z", "r"], "a/p was partial already");
        assert_eq!(whole, [&("b".to_string(), "q".to_string())]);
        let (turned, whole) = partial_changes(&[], &now[..1]);
        assert_eq!((turned.len(), whole.len()), (1, 0));
        let (turned, whole) = partial_changes(&before, &[]);
        assert_eq!((turned.len(), whole.len()), (0, 2));
    }
}
