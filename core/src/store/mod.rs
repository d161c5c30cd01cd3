//! [`MetricsStore`]: the in-memory store of a metrics server.
//!
//! Two points per series (the last one and the one before), updated in place: a steady-state
//! scrape of a node rewrites numbers in existing entries and allocates nothing. Namespace and
//! container names are interned (reference-counted, freed when their last user goes); pod names
//! are stored once per pod. A node holds its pods (24 bytes each besides the name) and the
//! series of all of them, in order, in two arrays of their exact sizes (names and points: 60
//! bytes a series); a scrape that adds or removes a series rebuilds them, keeping the points of
//! the series that remain.
//!
//! # Rates
//!
//! CPU usage is `Δcpu / Δt` between the two points of a series, in nanocores, computed with
//! exact integers and truncated (metrics-server truncates a float). Memory (and swap, when the
//! kubelet reports it) is the last point's value.
//!
//! When a new point arrives for a series whose last point is `L`:
//! - **restart**: if the container's start time differs from `L`'s, or its CPU counter fell
//!   below `L`'s at a later (or equal) timestamp (a restart the kubelet did not date, a node
//!   reboot), the new point replaces `L` and there is **no rate until the next point**;
//! - **normal**: if it is newer than `L` and at most [`StoreConfig::max_rate_window`] after it,
//!   `L` becomes the previous point;
//! - **too old**: if it is newer than `L` by more than `max_rate_window`, `L` is dropped and the
//!   series waits for one more point;
//! - **same time**: if it has `L`'s timestamp (a kubelet cache hit), it replaces `L`; the
//!   previous point stays;
//! - **older**: if it is older than `L` (clock trouble), it replaces `L`, and the previous point
//!   stays only if it is older still with a counter no higher;
//! - **fresh container** (metrics-server's shortcut): a container with no usable previous point
//!   whose start time lies between [`StoreConfig::fresh_container_min_age`] (10 s) and
//!   [`StoreConfig::resolution`] before its point gets a rate at once, from a synthetic point
//!   `cpu = 0` at its start time: `cpu / (timestamp − start)`.
//!
//! # Grace period and recovery
//!
//! A node whose scrape failed ([`MetricsStore::mark_failed`]) keeps being served with its last
//! good value for [`StoreConfig::grace_period`] after its last good scrape, then disappears
//! (its points are dropped at the next [`MetricsStore::mark_failed`] or
//! [`MetricsStore::expire`], and queries stop serving it at once). A recovering node needs
//! **one** good scrape, not two, when its last stored point is at most
//! [`StoreConfig::max_rate_window`] older than the new one: the rate then spans the outage.
//! metrics-server forgets a node on its first failed scrape and needs two good ones.
//!
//! # Partial pods
//!
//! A pod is **partial** when one of its containers cannot be served, for either reason:
//! - **no usable sample** in the node's last scrape: the body named the container but gave no
//!   usable CPU and memory pair for it (a series missing from one family, a `NaN`, a rejected
//!   line, a zero value: the exact rule is in [the scrape docs](crate::scrape#partial-pods)),
//!   which [`NodeScrape::partial_pods`] lists;
//! - **no rate yet**: the container has a stored point but not two usable ones (it is new,
//!   restarted, or its previous point was too old).
//!
//! By default a partial pod is not served at all, as metrics-server does (it drops a pod with an
//! incomplete container when decoding, and serves a pod only when every container has a
//! previous point). With [`StoreConfig::keep_partial_pods`] it is served with the containers
//! that have a rate. Either way the usable containers keep their points, so the pod is whole
//! again as soon as the missing container has two usable points. Everything else stays per
//! series: a partial pod costs only itself, never its neighbours or the node.
//!
//! # Duplicates
//!
//! Within one scrape, [`NodeScrape`] already holds one copy per container. The same pod
//! reported by two nodes (a pod that moved while its old node is within its grace period) is
//! served once, from the node with the newest timestamp.
//!
//! # Queries
//!
//! [`node_metrics`](MetricsStore::node_metrics) and [`pod_metrics`](MetricsStore::pod_metrics)
//! build the crate's [`NodeMetrics`] / [`PodMetrics`] exactly as metrics-server does: CPU as
//! nanocores in DecimalSI (`"250264852n"`), memory in bytes as BinarySI (`8517808128` prints
//! `"8318172Ki"`), `timestamp` the end of the interval, `window` its real length, and
//! `creationTimestamp` the query time. Labels are not known here: callers copy them from the
//! Node and Pod objects. Results are sorted by name (pods by namespace, then name).
//!
//! Building objects dominates a full listing (about 3 µs per pod, all allocation: 600,000 pods
//! take about 2 s); [`visit_pods`](MetricsStore::visit_pods) walks the same served pods, in the
//! same order, with borrowed names and plain numbers (about 0.4 µs per pod).

mod served_json;
mod served_node;
mod served_pod;
mod shared_name;

use crate::metrics::Time;
use crate::metrics::table::prefix16;
use crate::metrics::{GoDuration, NodeMetrics, PodMetrics};
use crate::scrape::{NodeScrape, from_timestamp, to_timestamp};
pub use served_node::ServedNode;
pub use served_pod::{ServedContainer, ServedPod, ServedUsage, SharedLabels};
pub use shared_name::SharedName;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

/// Settings of a [`MetricsStore`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StoreConfig {
    /// The scrape period, metrics-server's `--metric-resolution` (default 15 s). The fresh-container
    /// shortcut applies to containers started less than this before their point.
    pub resolution: Duration,
    /// The youngest a container may be to get a rate from its start time (default 10 s, as in
    /// metrics-server: a shorter interval gives inaccurate rates).
    pub fresh_container_min_age: Duration,
    /// How long after its last good scrape a failing node keeps being served (default 60 s).
    pub grace_period: Duration,
    /// The longest interval a rate may span (default 75 s, one resolution plus the grace
    /// period). Past that, the older point is dropped and the series waits for a second point.
    pub max_rate_window: Duration,
    /// Serve [partial pods](self#partial-pods) with the containers that have a rate
    /// (`--keep-partial-pods`). Default `false`: a pod is served only when every container it
    /// has in the last scrape has a usable sample and a rate, as metrics-server does.
    pub keep_partial_pods: bool,
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            resolution: Duration::from_secs(15),
            fresh_container_min_age: Duration::from_secs(10),
            grace_period: Duration::from_secs(60),
            max_rate_window: Duration::from_secs(75),
            keep_partial_pods: false,
        }
    }
}

fn nanos(d: Duration) -> i64 {
    i64::try_from(d.as_nanos()).unwrap_or(i64::MAX)
}

/// Sizes of a [`MetricsStore`], kept up to date as it changes (reading them costs nothing).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StoreStats {
    /// Nodes with stored points (served or in their grace period).
    pub nodes: usize,
    /// Pods with stored points.
    pub pods: usize,
    /// Container series.
    pub containers: usize,
    /// Distinct interned names (namespaces and container names).
    pub interned: usize,
    /// Bytes of node and pod names plus interned names.
    pub name_bytes: usize,
}

/// What one [`MetricsStore::store`] call did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StoreReport {
    /// Whether the node point was updated (the scrape had one).
    pub node_updated: bool,
    /// Container series seen for the first time.
    pub new_series: usize,
    /// Series that no longer appear and were removed.
    pub removed_series: usize,
    /// Series that restarted (changed start time or falling counter).
    pub restarts: usize,
    /// Series that got a rate from their start time (fresh-container shortcut).
    pub fresh: usize,
    /// Series whose previous point was too old to make a rate with.
    pub too_old: usize,
    /// Series that have a rate after this scrape.
    pub with_rate: usize,
    /// Pods of the scrape with a container that has no usable sample
    /// ([`NodeScrape::partial_pods`]); not served unless [`StoreConfig::keep_partial_pods`].
    pub partial_pods: usize,
    /// `true` when the scrape held nothing usable and was treated as a failure.
    pub failed: bool,
}

const NO_SWAP: u64 = u64::MAX;

/// One point of a series.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Point {
    cpu: u64,
    memory: u64,
    /// [`NO_SWAP`] when not reported.
    swap: u64,
    ts: i64,
    /// 0 when unknown.
    start: i64,
}

/// The two points of a series: the last one whole, of the one before only what a rate needs
/// (56 bytes: 60 per container with its name, against 84 with two whole points).
#[derive(Clone, Copy, Debug, Default)]
struct Pair {
    last: Point,
    prev: Prev,
}

/// The CPU counter and timestamp of a series' previous point; `ts` is [`Prev::NONE`] when there
/// is none.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Prev {
    cpu: u64,
    ts: i64,
}

impl Prev {
    const NONE: i64 = i64::MIN;

    fn none() -> Prev {
        Prev { cpu: 0, ts: Prev::NONE }
    }

    fn of(p: &Point) -> Prev {
        Prev { cpu: p.cpu, ts: p.ts }
    }

    fn exists(&self) -> bool {
        self.ts != Prev::NONE
    }
}

impl Default for Prev {
    fn default() -> Prev {
        Prev::none()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Step {
    Advanced,
    Kept,
    Restarted,
    Fresh,
    TooOld,
}

/// A computed rate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Rate {
    nanocores: u64,
    memory: u64,
    swap: u64,
    ts: i64,
    window: i64,
}

impl Rate {
    /// The usage served for this rate: CPU in nanocores, memory and swap (when reported) in bytes.
    fn usage(&self) -> ServedUsage {
        ServedUsage::measured(self.nanocores, self.memory, (self.swap != NO_SWAP).then_some(self.swap))
    }
}

impl Pair {
    fn first(new: Point, fresh: Option<Point>) -> (Pair, Step) {
        match fresh {
            Some(f) => (Pair { last: new, prev: Prev::of(&f) }, Step::Fresh),
            None => (Pair { last: new, prev: Prev::none() }, Step::Kept),
        }
    }

    /// Takes a new point (the rules are in the module docs).
    fn update(&mut self, new: Point, fresh: Option<Point>, max_window: i64) -> Step {
        let old = self.last;
        let restarted = (new.start != 0 && old.start != 0 && new.start != old.start) || (new.ts >= old.ts && new.cpu < old.cpu);
        if restarted {
            *self = Pair::first(new, fresh).0;
            return Step::Restarted;
        }
        if new.ts > old.ts {
            if new.ts - old.ts <= max_window {
                *self = Pair { last: new, prev: Prev::of(&old) };
                return Step::Advanced;
            }
            let (pair, step) = Pair::first(new, fresh);
            *self = pair;
            return if step == Step::Fresh { Step::Fresh } else { Step::TooOld };
        }
        if new.ts == old.ts {
            self.last = new;
            return Step::Kept;
        }
        // Time went backwards: keep the previous point only if it is still before the new one.
        if !(self.prev.exists() && self.prev.ts < new.ts && self.prev.cpu <= new.cpu) {
            self.prev = Prev::none();
        }
        self.last = new;
        if !self.prev.exists()
            && let Some(f) = fresh
        {
            self.prev = Prev::of(&f);
        }
        Step::Kept
    }

    fn rate(&self) -> Option<Rate> {
        if !self.prev.exists() {
            return None;
        }
        let (l, p) = (&self.last, &self.prev);
        let window = l.ts.checked_sub(p.ts).filter(|&w| w > 0)?;
        let delta = l.cpu.checked_sub(p.cpu)?;
        // 64-bit division when the product fits (under 18.4 s of CPU time in the interval).
        let nanocores = match delta.checked_mul(1_000_000_000) {
            Some(product) => product / window as u64,
            None => u64::try_from(u128::from(delta) * 1_000_000_000 / window as u128).unwrap_or(u64::MAX),
        };
        Some(Rate { nanocores, memory: l.memory, swap: l.swap, ts: l.ts, window })
    }
}

type Sym = u32;

/// Reference-counted string interner.
#[derive(Debug, Default)]
struct Interner {
    ids: HashMap<SharedName, Sym>,
    names: Vec<Option<SharedName>>,
    refs: Vec<u32>,
    free: Vec<Sym>,
    bytes: usize,
}

impl Interner {
    fn intern(&mut self, s: &str) -> Sym {
        if let Some(&id) = self.ids.get(s) {
            self.refs[id as usize] += 1;
            return id;
        }
        let name = SharedName::from(s);
        self.bytes += s.len();
        let id = match self.free.pop() {
            Some(id) => {
                self.names[id as usize] = Some(name.clone());
                self.refs[id as usize] = 1;
                id
            }
            None => {
                self.names.push(Some(name.clone()));
                self.refs.push(1);
                (self.names.len() - 1) as Sym
            }
        };
        self.ids.insert(name, id);
        id
    }

    fn release(&mut self, id: Sym) {
        let r = &mut self.refs[id as usize];
        *r -= 1;
        if *r == 0
            && let Some(name) = self.names[id as usize].take()
        {
            self.bytes -= name.len();
            self.ids.remove(&*name);
            self.free.push(id);
        }
    }

    fn get(&self, id: Sym) -> &str {
        self.names.get(id as usize).and_then(|n| n.as_deref()).unwrap_or_default()
    }

    /// The interned string itself, shared (snapshots hold the store's copy of each name).
    fn shared(&self, id: Sym) -> SharedName {
        self.names.get(id as usize).and_then(|n| n.clone()).unwrap_or_else(|| SharedName::from(""))
    }

    fn lookup(&self, s: &str) -> Option<Sym> {
        self.ids.get(s).copied()
    }

    fn len(&self) -> usize {
        self.ids.len()
    }
}

/// A stored pod: what identifies it and how many series it has. Its series are the next
/// [`len`](PodEntry::len) of its node's [`names`](NodeEntry::names) and
/// [`pairs`](NodeEntry::pairs), after those of the pods before it (24 bytes a pod).
#[derive(Debug)]
struct PodEntry {
    name: Arc<str>,
    namespace: Sym,
    /// The number of containers, with [`PodEntry::PARTIAL`] set when the last scrape listed
    /// the pod in [`NodeScrape::partial_pods`].
    shape: u32,
}

impl PodEntry {
    /// The bit of `shape` that marks a partial pod; the bits below count the containers.
    const PARTIAL: u32 = 1 << 31;

    fn new(namespace: Sym, name: Arc<str>) -> PodEntry {
        PodEntry { name, namespace, shape: 0 }
    }

    /// Its number of containers (series).
    fn len(&self) -> usize {
        (self.shape & !PodEntry::PARTIAL) as usize
    }

    fn set_len(&mut self, len: usize) {
        debug_assert!(len < PodEntry::PARTIAL as usize);
        self.shape = (self.shape & PodEntry::PARTIAL) | len as u32;
    }

    fn partial(&self) -> bool {
        self.shape & PodEntry::PARTIAL != 0
    }

    fn set_partial(&mut self, partial: bool) {
        self.shape = (self.shape & !PodEntry::PARTIAL) | if partial { PodEntry::PARTIAL } else { 0 };
    }
}

#[derive(Debug)]
struct NodeEntry {
    node: Option<Pair>,
    last_good_scrape: i64,
    failed_since: Option<i64>,
    /// Sorted by (namespace, name): the order of [`NodeScrape`].
    pods: Box<[PodEntry]>,
    /// The container names of every pod, pod after pod in the order of `pods`, each pod's by
    /// name (the order of [`NodeScrape`]).
    names: Box<[Sym]>,
    /// The points of the same series, in the same order (kept apart from `names`, so that a
    /// series takes 56 + 4 bytes with no padding).
    pairs: Box<[Pair]>,
    /// How many of `pods` are marked partial (0 lets a whole scrape skip the marking walk).
    partial_pods: usize,
}

impl NodeEntry {
    fn new(now: i64) -> NodeEntry {
        NodeEntry { node: None, last_good_scrape: now, failed_since: None, pods: Box::default(), names: Box::default(), pairs: Box::default(), partial_pods: 0 }
    }

    /// A pod of this node with its series, which start at `start`.
    fn pod_at<'a>(&'a self, pod: &'a PodEntry, start: usize) -> PodRef<'a> {
        let series = start..start + pod.len();
        PodRef { pod, names: &self.names[series.clone()], pairs: &self.pairs[series] }
    }

    /// Every pod of this node with its series, in order.
    fn pod_refs(&self) -> impl Iterator<Item = PodRef<'_>> {
        let mut start = 0;
        self.pods.iter().map(move |pod| {
            let p = self.pod_at(pod, start);
            start += pod.len();
            p
        })
    }
}

/// A stored pod with its series (borrowed from its node).
#[derive(Clone, Copy, Debug)]
struct PodRef<'a> {
    pod: &'a PodEntry,
    names: &'a [Sym],
    pairs: &'a [Pair],
}

/// The in-memory store of a metrics server (see the [module docs](self) for every rule).
///
/// ```
/// use kubemetrics::scrape::parse_metrics_resource;
/// use kubemetrics::store::{MetricsStore, StoreConfig};
/// let mut store = MetricsStore::new(StoreConfig::default());
/// let t = |s: &str| s.parse::<jiff::Timestamp>().unwrap();
/// let body = |cpu: &str, ms: i64| format!(
///     "node_cpu_usage_seconds_total {cpu} {ms}\nnode_memory_working_set_bytes 8517808128 {ms}\n");
/// let first = parse_metrics_resource(body("100", 1_700_000_000_000).as_bytes(), 0)?;
/// store.store("n1", &first, t("2023-11-14T22:13:20Z"));
/// assert!(store.node_metrics(None, t("2023-11-14T22:13:21Z")).is_empty(), "one point: no rate yet");
/// let second = parse_metrics_resource(body("103.75", 1_700_000_015_000).as_bytes(), 0)?;
/// store.store("n1", &second, t("2023-11-14T22:13:35Z"));
/// let nodes = store.node_metrics(None, t("2023-11-14T22:13:36Z"));
/// assert_eq!(nodes[0].usage["cpu"].to_string(), "250m");
/// assert_eq!(nodes[0].usage["memory"].to_string(), "8318172Ki");
/// assert_eq!(nodes[0].window.to_string(), "15s");
/// # Ok::<(), kubemetrics::Error>(())
/// ```
#[derive(Debug, Default)]
pub struct MetricsStore {
    config: StoreConfig,
    nodes: HashMap<Box<str>, NodeEntry>,
    strings: Interner,
    stats: StoreStats,
}

/// A served pod, borrowed from the store by [`MetricsStore::visit_pods`].
#[derive(Clone, Copy, Debug)]
pub struct PodUsage<'a> {
    store: &'a MetricsStore,
    pod: PodRef<'a>,
    /// The earliest timestamp among its containers' rates (the pod's `timestamp`).
    pub timestamp_ns: i64,
    /// That container's interval (the pod's `window`), in nanoseconds.
    pub window_ns: i64,
}

impl<'a> PodUsage<'a> {
    /// The namespace.
    pub fn namespace(&self) -> &'a str {
        self.store.strings.get(self.pod.pod.namespace)
    }

    /// The pod name.
    pub fn name(&self) -> &'a str {
        &self.pod.pod.name
    }

    /// The containers that have a rate, in name order.
    pub fn containers(&self) -> impl Iterator<Item = ContainerUsage<'a>> + 'a {
        let store = self.store;
        self.pod.names.iter().zip(self.pod.pairs).filter_map(move |(&name, pair)| {
            let r = pair.rate()?;
            Some(ContainerUsage {
                name: store.strings.get(name),
                cpu_nanocores: r.nanocores,
                memory_bytes: r.memory,
                swap_bytes: (r.swap != NO_SWAP).then_some(r.swap),
                timestamp_ns: r.ts,
                window_ns: r.window,
            })
        })
    }
}

/// One container's usage, as [`PodUsage::containers`] yields it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ContainerUsage<'a> {
    /// Container name.
    pub name: &'a str,
    /// CPU rate, in nanocores.
    pub cpu_nanocores: u64,
    /// Memory working set, in bytes.
    pub memory_bytes: u64,
    /// Swap, in bytes, when reported.
    pub swap_bytes: Option<u64>,
    /// End of the interval.
    pub timestamp_ns: i64,
    /// Length of the interval, in nanoseconds.
    pub window_ns: i64,
}

fn point(cpu: u64, memory: u64, swap: Option<u64>, ts: i64, start: Option<i64>) -> Point {
    Point { cpu, memory, swap: swap.unwrap_or(NO_SWAP), ts, start: start.unwrap_or(0) }
}

impl MetricsStore {
    /// An empty store.
    pub fn new(config: StoreConfig) -> Self {
        MetricsStore { config, ..Default::default() }
    }

    /// The settings in force.
    pub fn config(&self) -> &StoreConfig {
        &self.config
    }

    /// The synthetic previous point of a fresh container, when the shortcut applies.
    fn fresh(&self, new: &Point) -> Option<Point> {
        if new.start == 0 || new.start >= new.ts {
            return None;
        }
        let age = new.ts - new.start;
        (age < nanos(self.config.resolution) && age >= nanos(self.config.fresh_container_min_age)).then_some(Point { cpu: 0, ts: new.start, ..*new })
    }

    /// Stores one node's scrape taken at `scrape_time` (the store's clock, used for the grace
    /// period; the points carry the kubelet's own timestamps).
    ///
    /// Containers absent from the scrape are removed. A scrape with neither a node point nor a
    /// container is treated as a failure ([`mark_failed`](Self::mark_failed)).
    pub fn store(&mut self, node: &str, scrape: &NodeScrape, scrape_time: jiff::Timestamp) -> StoreReport {
        let now = from_timestamp(scrape_time);
        let mut report = StoreReport::default();
        // Pod lengths and series offsets are 31 and 32 bits: a scrape past them (no kubelet body
        // under the size cap comes near) is a failure, never a panic.
        if (scrape.node().is_none() && scrape.is_empty()) || scrape.len() >= PodEntry::PARTIAL as usize {
            self.mark_failed(node, scrape_time);
            report.failed = true;
            return report;
        }
        let max_window = nanos(self.config.max_rate_window);
        // The entry is taken out of its slot while it is worked on, and put back in the same
        // slot (no new key: a steady-state scrape allocates nothing).
        let mut entry = match self.nodes.get_mut(node) {
            Some(e) => std::mem::replace(e, NodeEntry::new(now)),
            None => {
                self.stats.nodes += 1;
                self.stats.name_bytes += node.len();
                NodeEntry::new(now)
            }
        };
        entry.last_good_scrape = now;
        entry.failed_since = None;
        if let Some(n) = scrape.node() {
            report.node_updated = true;
            let new = point(n.cpu_ns, n.memory_bytes, n.swap_bytes, n.timestamp_ns, None);
            entry.node = Some(match entry.node {
                None => new_pair(new),
                Some(mut pair) => {
                    pair.update(new, None, max_window);
                    pair
                }
            });
        }
        if self.same_shape(&entry, scrape) {
            self.update_in_place(&mut entry.pairs, scrape, max_window, &mut report);
        } else {
            self.merge(&mut entry, scrape, max_window, &mut report);
        }
        report.partial_pods = scrape.partial_pods().len();
        if entry.partial_pods > 0 || report.partial_pods > 0 {
            let mut marked = 0;
            for p in entry.pods.iter_mut() {
                p.set_partial(scrape.is_partial(self.strings.get(p.namespace), &p.name));
                marked += usize::from(p.partial());
            }
            entry.partial_pods = marked;
        }
        match self.nodes.get_mut(node) {
            Some(slot) => *slot = entry,
            None => {
                self.nodes.insert(node.into(), entry);
            }
        }
        report
    }

    /// Whether the stored pods and containers are exactly those of the scrape, in order.
    fn same_shape(&self, e: &NodeEntry, scrape: &NodeScrape) -> bool {
        if e.names.len() != scrape.len() {
            return false;
        }
        let (mut it, mut names) = (scrape.containers(), e.names.iter());
        for p in e.pods.iter() {
            let ns = self.strings.get(p.namespace);
            for &c in names.by_ref().take(p.len()) {
                match it.next() {
                    Some(s) if s.container == self.strings.get(c) && s.pod == &*p.name && s.namespace == ns => {}
                    _ => return false,
                }
            }
        }
        true
    }

    fn step(&self, pair: &mut Pair, new: Point, max_window: i64, report: &mut StoreReport) {
        let step = pair.update(new, self.fresh(&new), max_window);
        match step {
            Step::Restarted => {
                report.restarts += 1;
                report.fresh += usize::from(pair.prev.exists());
            }
            Step::Fresh => report.fresh += 1,
            Step::TooOld => report.too_old += 1,
            Step::Advanced | Step::Kept => {}
        }
        report.with_rate += usize::from(pair.rate().is_some());
    }

    /// Takes the points of a scrape of the stored shape ([`same_shape`](Self::same_shape)).
    fn update_in_place(&self, pairs: &mut [Pair], scrape: &NodeScrape, max_window: i64, report: &mut StoreReport) {
        for (pair, s) in pairs.iter_mut().zip(scrape.containers()) {
            let s = s.sample;
            let new = point(s.cpu_ns, s.memory_bytes, s.swap_bytes, s.timestamp_ns, s.start_time_ns);
            self.step(pair, new, max_window, report);
        }
    }

    /// Rebuilds the pods and series of a node whose set of containers changed, at their exact
    /// sizes, keeping the series that remain (their points are kept).
    fn merge(&mut self, e: &mut NodeEntry, scrape: &NodeScrape, max_window: i64, report: &mut StoreReport) {
        // `store` takes no scrape past 2^31 containers (see there).
        let mut pod_count = 0;
        let mut last = None;
        for c in scrape.containers() {
            if last != Some((c.namespace, c.pod)) {
                pod_count += 1;
                last = Some((c.namespace, c.pod));
            }
        }
        let old_names = std::mem::take(&mut e.names);
        let old_pairs = std::mem::take(&mut e.pairs);
        let mut old = Vec::from(std::mem::take(&mut e.pods)).into_iter().peekable();
        // Where the series of the next old pod start.
        let mut old_at = 0;
        let mut pods = Vec::with_capacity(pod_count);
        let mut names = Vec::with_capacity(scrape.len());
        let mut pairs = Vec::with_capacity(scrape.len());
        let mut i = 0;
        while let Some(first) = scrape.container_at(i) {
            let (ns, pod) = (first.namespace, first.pod);
            let mut end = i + 1;
            while scrape.container_at(end).is_some_and(|c| c.namespace == ns && c.pod == pod) {
                end += 1;
            }
            // Old pods sorting before this one are gone.
            let mut kept = None;
            while let Some(o) = old.peek() {
                let order = (self.strings.get(o.namespace), &*o.name).cmp(&(ns, pod));
                if order == std::cmp::Ordering::Greater {
                    break;
                }
                let o = old.next().expect("peeked");
                let series = old_at..old_at + o.len();
                old_at = series.end;
                if order == std::cmp::Ordering::Equal {
                    kept = Some((o, series));
                    break;
                }
                report.removed_series += o.len();
                self.drop_pod(o, &old_names[series]);
            }
            let (mut entry, old_series) = kept.unwrap_or_else(|| {
                self.stats.pods += 1;
                self.stats.name_bytes += pod.len();
                (PodEntry::new(self.strings.intern(ns), pod.into()), 0..0)
            });
            let mut old_c = old_series.peekable();
            for k in i..end {
                let Some(s) = scrape.container_at(k) else {
                    break;
                };
                let mut found = None;
                while let Some(&j) = old_c.peek() {
                    match self.strings.get(old_names[j]).cmp(s.container) {
                        std::cmp::Ordering::Less => {
                            old_c.next();
                            report.removed_series += 1;
                            self.drop_container(old_names[j]);
                        }
                        std::cmp::Ordering::Equal => {
                            found = old_c.next();
                            break;
                        }
                        std::cmp::Ordering::Greater => break,
                    }
                }
                let sample = s.sample;
                let new = point(sample.cpu_ns, sample.memory_bytes, sample.swap_bytes, sample.timestamp_ns, sample.start_time_ns);
                let (name, pair) = match found {
                    Some(j) => {
                        let mut pair = old_pairs[j];
                        self.step(&mut pair, new, max_window, report);
                        (old_names[j], pair)
                    }
                    None => {
                        report.new_series += 1;
                        self.stats.containers += 1;
                        let (pair, step) = Pair::first(new, self.fresh(&new));
                        report.fresh += usize::from(step == Step::Fresh);
                        report.with_rate += usize::from(pair.rate().is_some());
                        (self.strings.intern(s.container), pair)
                    }
                };
                names.push(name);
                pairs.push(pair);
            }
            for j in old_c {
                report.removed_series += 1;
                self.drop_container(old_names[j]);
            }
            entry.set_len(end - i);
            pods.push(entry);
            i = end;
        }
        for gone in old {
            let series = old_at..old_at + gone.len();
            old_at = series.end;
            report.removed_series += gone.len();
            self.drop_pod(gone, &old_names[series]);
        }
        // Built at their exact capacities: no reallocation here.
        e.pods = pods.into_boxed_slice();
        e.names = names.into_boxed_slice();
        e.pairs = pairs.into_boxed_slice();
        self.stats.interned = self.strings.len();
    }

    fn drop_container(&mut self, name: Sym) {
        self.strings.release(name);
        self.stats.containers -= 1;
    }

    /// Releases a pod and its series' names.
    fn drop_pod(&mut self, p: PodEntry, names: &[Sym]) {
        for &c in names {
            self.drop_container(c);
        }
        self.strings.release(p.namespace);
        self.stats.pods -= 1;
        self.stats.name_bytes -= p.name.len();
        self.stats.interned = self.strings.len();
    }

    fn drop_node(&mut self, name: &str) -> bool {
        let Some(entry) = self.nodes.remove(name) else {
            return false;
        };
        let mut start = 0;
        for p in entry.pods {
            let series = start..start + p.len();
            start = series.end;
            self.drop_pod(p, &entry.names[series]);
        }
        self.stats.nodes -= 1;
        self.stats.name_bytes -= name.len();
        true
    }

    /// Records that scraping `node` failed at `now`. The node keeps being served until
    /// [`StoreConfig::grace_period`] after its last good scrape; past that it is removed.
    /// Returns whether the node is still served.
    pub fn mark_failed(&mut self, node: &str, now: jiff::Timestamp) -> bool {
        let now = from_timestamp(now);
        let grace = nanos(self.config.grace_period);
        let Some(entry) = self.nodes.get_mut(node) else {
            return false;
        };
        entry.failed_since.get_or_insert(now);
        if now.saturating_sub(entry.last_good_scrape) > grace {
            self.drop_node(node);
            return false;
        }
        true
    }

    /// Removes every failed node whose grace period is over; returns how many.
    pub fn expire(&mut self, now: jiff::Timestamp) -> usize {
        let now = from_timestamp(now);
        let expired: Vec<Box<str>> = self.nodes.iter().filter(|(_, e)| !self.servable(e, now)).map(|(n, _)| n.clone()).collect();
        for name in &expired {
            self.drop_node(name);
        }
        expired.len()
    }

    /// Forgets a node (deleted from the cluster). Returns whether it was known.
    pub fn remove_node(&mut self, node: &str) -> bool {
        self.drop_node(node)
    }

    /// Forgets every node for which `keep` returns `false`.
    pub fn retain_nodes(&mut self, mut keep: impl FnMut(&str) -> bool) {
        let gone: Vec<Box<str>> = self.nodes.keys().filter(|n| !keep(n)).cloned().collect();
        for name in &gone {
            self.drop_node(name);
        }
    }

    fn servable(&self, e: &NodeEntry, now: i64) -> bool {
        e.failed_since.is_none() || now.saturating_sub(e.last_good_scrape) <= nanos(self.config.grace_period)
    }

    /// Whether `node` is in its grace period (its last scrape failed, its last value is served).
    pub fn in_grace(&self, node: &str, now: jiff::Timestamp) -> bool {
        self.nodes.get(node).is_some_and(|e| e.failed_since.is_some() && self.servable(e, from_timestamp(now)))
    }

    /// Names of the nodes with stored points, sorted.
    pub fn node_names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.nodes.keys().map(|n| &**n).collect();
        names.sort_unstable();
        names
    }

    /// Node metrics of the given nodes (all when `None`) that have a rate and are served at
    /// `now`, sorted by name. Unknown names are skipped.
    pub fn node_metrics(&self, names: Option<&[&str]>, now: jiff::Timestamp) -> Vec<NodeMetrics> {
        let created = Time(now);
        self.served_nodes(names, now).iter().map(|n| n.to_node_metrics(Some(&created))).collect()
    }

    /// [`node_metrics`](Self::node_metrics) in the compact form a served snapshot keeps (usage
    /// as integers; labels unset: they come from the Node objects).
    pub fn served_nodes(&self, names: Option<&[&str]>, now: jiff::Timestamp) -> Vec<ServedNode> {
        let now_ns = from_timestamp(now);
        let mut selected: Vec<(&str, &NodeEntry)> = match names {
            Some(names) => names.iter().filter_map(|n| self.nodes.get_key_value(*n)).map(|(k, v)| (&**k, v)).collect(),
            None => self.nodes.iter().map(|(k, v)| (&**k, v)).collect(),
        };
        selected.sort_unstable_by(|a, b| a.0.cmp(b.0));
        selected.dedup_by(|a, b| a.0 == b.0);
        selected
            .into_iter()
            .filter(|(_, e)| self.servable(e, now_ns))
            .filter_map(|(name, e)| {
                let rate = e.node?.rate()?;
                Some(ServedNode {
                    name: Arc::from(name),
                    labels: None,
                    timestamp: Time(to_timestamp(rate.ts)),
                    window: GoDuration(rate.window),
                    usage: rate.usage(),
                    extra_metadata: None,
                })
            })
            .collect()
    }

    /// Pod metrics of every served pod (of one namespace when given), sorted by namespace and
    /// name. A pod is served when it is not [partial](self#partial-pods) (or, with
    /// [`StoreConfig::keep_partial_pods`], when at least one of its containers has a rate).
    pub fn pod_metrics(&self, namespace: Option<&str>, now: jiff::Timestamp) -> Vec<PodMetrics> {
        let ns = match namespace {
            Some(ns) => match self.strings.lookup(ns) {
                Some(id) => Some(id),
                None => return Vec::new(),
            },
            None => None,
        };
        self.pods_where(now, |p| ns.is_none_or(|id| p.namespace == id))
    }

    /// The pod metrics of one pod, when served.
    pub fn pod_metric(&self, namespace: &str, name: &str, now: jiff::Timestamp) -> Option<PodMetrics> {
        let ns = self.strings.lookup(namespace)?;
        self.pods_where(now, |p| p.namespace == ns && &*p.name == name).pop()
    }

    /// Visits every served pod (of one namespace when given) without building objects, in the
    /// same order and with the same rules as [`pod_metrics`](Self::pod_metrics).
    pub fn visit_pods<'a>(&'a self, namespace: Option<&str>, now: jiff::Timestamp, mut f: impl FnMut(PodUsage<'a>)) {
        let ns = match namespace {
            Some(ns) => match self.strings.lookup(ns) {
                Some(id) => Some(id),
                None => return,
            },
            None => None,
        };
        for (p, earliest) in self.served_pods(now, |p| ns.is_none_or(|id| p.namespace == id)) {
            f(PodUsage { store: self, pod: p, timestamp_ns: earliest.ts, window_ns: earliest.window });
        }
    }

    /// Served pods matching `want`, sorted by (namespace, name), one per name (the newest).
    fn served_pods(&self, now: jiff::Timestamp, want: impl Fn(&PodEntry) -> bool) -> Vec<(PodRef<'_>, Rate)> {
        let now_ns = from_timestamp(now);
        // Namespaces are few: rank them once so that sorting compares integers before names.
        let mut ranked: Vec<Sym> = (0..self.strings.names.len() as Sym).filter(|&id| self.strings.names[id as usize].is_some()).collect();
        ranked.sort_unstable_by(|&a, &b| self.strings.get(a).cmp(self.strings.get(b)));
        let mut rank = vec![0u32; self.strings.names.len()];
        for (r, &id) in ranked.iter().enumerate() {
            rank[id as usize] = r as u32;
        }
        // (namespace rank, first 16 bytes of the name, name, timestamp, pod, its node, where its
        // series start; 64 bytes): the inline prefix settles most comparisons without touching
        // the names, which are spread over the heap.
        let mut found: Vec<(u32, u128, &str, i64, &PodEntry, &NodeEntry, u32)> = Vec::new();
        for e in self.nodes.values() {
            if !self.servable(e, now_ns) {
                continue;
            }
            let mut start = 0;
            for pod in e.pods.iter() {
                let series = start;
                start += pod.len();
                if !want(pod) {
                    continue;
                }
                if let Some(earliest) = self.pod_rate(e.pod_at(pod, series)) {
                    // Fewer than 2^31 series on a node (`merge` checks).
                    found.push((rank[pod.namespace as usize], prefix16(&pod.name), &pod.name, earliest.ts, pod, e, series as u32));
                }
            }
        }
        // Newest first within one name, so that dedup keeps the freshest node's copy.
        found.sort_unstable_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)).then_with(|| a.2.cmp(b.2)).then(b.3.cmp(&a.3)));
        found.dedup_by(|a, b| a.0 == b.0 && a.2 == b.2);
        found
            .into_iter()
            .filter_map(|(.., pod, e, start)| {
                let p = e.pod_at(pod, start as usize);
                Some((p, self.pod_rate(p)?))
            })
            .collect()
    }

    fn pods_where(&self, now: jiff::Timestamp, want: impl Fn(&PodEntry) -> bool) -> Vec<PodMetrics> {
        let mut served = Vec::new();
        self.push_served_pods(self.nodes.values(), now, want, &mut served);
        sort_served_pods(&mut served);
        let created = Time(now);
        served.iter().map(|p| p.to_pod_metrics(Some(&created))).collect()
    }

    /// Every served pod in the compact form a served snapshot keeps (names shared with the
    /// store, usage as integers; labels unset: they come from the Pod objects), **unsorted**,
    /// and a pod that moved twice while its old node is within its grace period. Copying is the
    /// cheap part: a caller holding a lock on the store copies, unlocks, then calls
    /// [`sort_served_pods`], which sorts and keeps the newest copy of each pod, without the lock.
    pub fn served_pods_unsorted(&self, now: jiff::Timestamp) -> Vec<ServedPod> {
        let mut out = Vec::with_capacity(self.stats.pods);
        self.push_served_pods(self.nodes.values(), now, |_| true, &mut out);
        out
    }

    /// [`served_pods_unsorted`](Self::served_pods_unsorted) of the named nodes only (unknown
    /// names are skipped), appended to `out`: a large store is copied a few hundred nodes per
    /// lock, so that scrapes never wait long for a snapshot.
    pub fn append_served_pods(&self, nodes: &[&str], now: jiff::Timestamp, out: &mut Vec<ServedPod>) {
        self.push_served_pods(nodes.iter().filter_map(|n| self.nodes.get(*n)), now, |_| true, out);
    }

    fn push_served_pods<'a>(
        &'a self,
        nodes: impl Iterator<Item = &'a NodeEntry>,
        now: jiff::Timestamp,
        want: impl Fn(&PodEntry) -> bool,
        out: &mut Vec<ServedPod>,
    ) {
        let now_ns = from_timestamp(now);
        for e in nodes {
            if !self.servable(e, now_ns) {
                continue;
            }
            for p in e.pod_refs().filter(|p| want(p.pod)) {
                let Some(earliest) = self.pod_rate(p) else { continue };
                let mut containers = Vec::with_capacity(p.pairs.len());
                for (&name, pair) in p.names.iter().zip(p.pairs) {
                    if let Some(r) = pair.rate() {
                        containers.push(ServedContainer { name: self.strings.shared(name), usage: r.usage() });
                    }
                }
                out.push(ServedPod {
                    namespace: self.strings.shared(p.pod.namespace),
                    name: p.pod.name.clone(),
                    labels: None,
                    timestamp: Time(to_timestamp(earliest.ts)),
                    window: GoDuration(earliest.window),
                    containers: containers.into_boxed_slice(),
                    extra_metadata: None,
                });
            }
        }
    }

    /// The rate of the pod's container with the earliest timestamp, when the pod is served.
    fn pod_rate(&self, p: PodRef<'_>) -> Option<Rate> {
        let keep_partial = self.config.keep_partial_pods;
        if p.pod.partial() && !keep_partial {
            return None;
        }
        let mut earliest: Option<Rate> = None;
        for pair in p.pairs {
            match pair.rate() {
                Some(r) if earliest.is_none_or(|e| r.ts < e.ts) => earliest = Some(r),
                Some(_) => {}
                None if !keep_partial => return None,
                None => {}
            }
        }
        earliest
    }

    /// Current sizes.
    pub fn stats(&self) -> StoreStats {
        StoreStats { interned: self.strings.len(), ..self.stats }
    }

    /// Number of container series stored.
    pub fn len(&self) -> usize {
        self.stats.containers
    }

    /// `true` when no node is stored.
    pub fn is_empty(&self) -> bool {
        self.stats.nodes == 0
    }

    /// An estimate of the heap bytes held, from the sizes (no walk over the data).
    pub fn memory_estimate(&self) -> usize {
        use std::mem::size_of;
        let s = self.stats();
        // Hash map slots carry about 1/0.875 overhead plus a control byte.
        let node = (size_of::<(Box<str>, NodeEntry)>() + 1) * 8 / 7;
        // An interned name: its table slot, its position, its count, and the shared allocation
        // (two counters and the text's pointer and length) before the text.
        let interned = (size_of::<(SharedName, Sym)>() + 1) * 8 / 7 + size_of::<Option<SharedName>>() + size_of::<u32>() + 32;
        // A pod: its entry and its name's reference counts (the name bytes are in `name_bytes`).
        let pod = size_of::<PodEntry>() + 2 * size_of::<usize>();
        // A series: its name and its points, in two arrays of the node's.
        let series = size_of::<Sym>() + size_of::<Pair>();
        s.nodes * node + s.pods * pod + s.containers * series + s.interned * interned + s.name_bytes
    }
}

/// Sorts served pods by namespace, then name, as lists are served, keeping of a pod listed
/// twice (by two nodes) the copy with the newest timestamp.
pub fn sort_served_pods(pods: &mut Vec<ServedPod>) {
    // Namespaces are few: rank them once, so that sorting compares integers and an inline
    // prefix of the name, and touches the names (spread over the heap) only to break ties.
    let mut namespaces: Vec<&str> = pods.iter().map(|p| &*p.namespace).collect::<std::collections::HashSet<_>>().into_iter().collect();
    namespaces.sort_unstable();
    let rank: HashMap<&str, u32> = namespaces.iter().enumerate().map(|(r, ns)| (*ns, r as u32)).collect();
    let mut keys: Vec<(u32, u128, u32)> = pods.iter().enumerate().map(|(i, p)| (rank[&*p.namespace], prefix16(&p.name), i as u32)).collect();
    drop(rank);
    keys.sort_unstable_by(|a, b| {
        let (pa, pb) = (&pods[a.2 as usize], &pods[b.2 as usize]);
        (a.0, a.1).cmp(&(b.0, b.1)).then_with(|| pa.name.cmp(&pb.name)).then_with(|| pb.timestamp.0.cmp(&pa.timestamp.0))
    });
    // Apply the order in place, one cycle of the permutation at a time.
    let mut order: Vec<u32> = keys.into_iter().map(|k| k.2).collect();
    for start in 0..order.len() {
        let mut at = start;
        while order[at] as usize != start {
            let from = order[at] as usize;
            pods.swap(at, from);
            order[at] = at as u32;
            at = from;
        }
        order[at] = at as u32;
    }
    pods.dedup_by(|later, kept| later.namespace == kept.namespace && later.name == kept.name);
}

fn new_pair(new: Point) -> Pair {
    Pair { last: new, prev: Prev::none() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scrape::{ContainerSample, NodeSample, NodeScrapeBuilder};

    const S: i64 = 1_000_000_000;

    #[test]
    fn a_container_series_takes_60_bytes() {
        // 65,000 nodes x 60 containers: every byte here is 3.9 MB. A series is its points and its
        // name, in two arrays of its node's (no padding between them).
        let series = std::mem::size_of::<Pair>() + std::mem::size_of::<Sym>();
        assert_eq!(series, 60);
        // A pod: its name, namespace and container count (with the partial flag), nothing on
        // the heap of its own besides its name.
        assert_eq!(std::mem::size_of::<PodEntry>(), 24);
    }

    const T0: i64 = 1_700_000_000 * S;

    fn at(ns: i64) -> jiff::Timestamp {
        to_timestamp(ns)
    }

    /// A container spec: (namespace, pod, container, cpu seconds, memory, start offset from T0 in s).
    type C<'a> = (&'a str, &'a str, &'a str, u64, u64, Option<i64>);

    fn scrape(node: Option<(u64, i64)>, containers: &[C], ts: i64) -> NodeScrape {
        let mut b = NodeScrapeBuilder::new();
        if let Some((cpu, t)) = node {
            b.set_node(NodeSample { cpu_ns: cpu, memory_bytes: 8_517_808_128, swap_bytes: None, timestamp_ns: t });
        }
        for &(ns, pod, c, cpu, mem, start) in containers {
            let sample = ContainerSample { cpu_ns: cpu, memory_bytes: mem, swap_bytes: None, start_time_ns: start.map(|s| T0 + s * S), timestamp_ns: ts };
            b.push_container(ns, pod, c, sample, 0);
        }
        b.build()
    }

    fn cpu(m: &PodMetrics, container: &str) -> Option<String> {
        m.containers.iter().find(|c| c.name == container).map(|c| c.usage["cpu"].to_string())
    }

    #[test]
    fn rates_divide_in_64_bits_when_they_can_and_agree_with_128_bits() {
        let limit = u64::MAX / 1_000_000_000;
        for delta in [0, 1, 999_999_999, limit - 1, limit, limit + 1, u64::MAX / 2, u64::MAX] {
            for window in [1, 7, 15_000_000_001, i64::MAX] {
                let pair = Pair { last: Point { cpu: delta, ts: window, ..Point::default() }, prev: Prev { cpu: 0, ts: 0 } };
                let want = u64::try_from(u128::from(delta) * 1_000_000_000 / window as u128).unwrap_or(u64::MAX);
                assert_eq!(pair.rate().map(|r| r.nanocores), Some(want), "{delta} over {window}");
            }
        }
    }

    #[test]
    fn node_rate_quantities_and_window() {
        let mut st = MetricsStore::new(StoreConfig::default());
        st.store("n", &scrape(Some((100 * S as u64, T0)), &[], T0), at(T0));
        assert!(st.node_metrics(None, at(T0)).is_empty());
        // 3.754 core-seconds over 15 s = 250266666n (truncated).
        st.store("n", &scrape(Some((103_754_000_000, T0 + 15 * S)), &[], T0), at(T0 + 15 * S));
        let m = st.node_metrics(None, at(T0 + 16 * S));
        assert_eq!(m.len(), 1);
        assert_eq!(m[0].name(), "n");
        assert_eq!(m[0].usage["cpu"].to_string(), "250266666n");
        assert_eq!(m[0].usage["memory"].to_string(), "8318172Ki");
        assert!(!m[0].usage.contains_key("swap"));
        assert_eq!(m[0].window, GoDuration::from_secs(15));
        assert_eq!(m[0].timestamp.0, at(T0 + 15 * S));
        assert_eq!(m[0].metadata.creation_timestamp, Some(Time(at(T0 + 16 * S))));
        let json = crate::metrics::to_wire_json(&m[0], "metrics.k8s.io/v1beta1");
        assert!(json.contains(r#""usage":{"cpu":"250266666n","memory":"8318172Ki"}"#), "{json}");
        assert_eq!(st.node_metrics(Some(&["x", "n", "n"]), at(T0)).len(), 1);
    }

    #[test]
    fn container_rates_and_pod_timestamp_is_earliest() {
        let mut st = MetricsStore::new(StoreConfig::default());
        let mut b = NodeScrapeBuilder::new();
        let sample = |cpu, ts| ContainerSample { cpu_ns: cpu, memory_bytes: 1024, swap_bytes: Some(0), start_time_ns: Some(T0 - 3600 * S), timestamp_ns: ts };
        b.push_container("ns", "p", "a", sample(10 * S as u64, T0), 0);
        b.push_container("ns", "p", "b", sample(20 * S as u64, T0 + S), 0);
        st.store("n", &b.build(), at(T0));
        let mut b = NodeScrapeBuilder::new();
        b.push_container("ns", "p", "a", sample(13 * S as u64, T0 + 15 * S), 0);
        b.push_container("ns", "p", "b", sample(21 * S as u64, T0 + 11 * S), 0);
        let r = st.store("n", &b.build(), at(T0 + 15 * S));
        assert_eq!((r.with_rate, r.new_series, r.removed_series), (2, 0, 0));
        let pods = st.pod_metrics(Some("ns"), at(T0 + 16 * S));
        assert_eq!(pods.len(), 1);
        assert_eq!(cpu(&pods[0], "a").as_deref(), Some("200m"));
        assert_eq!(cpu(&pods[0], "b").as_deref(), Some("100m"));
        assert_eq!(pods[0].containers[0].usage["memory"].to_string(), "1Ki");
        assert_eq!(pods[0].containers[0].usage["swap"].to_string(), "0");
        assert_eq!(pods[0].timestamp.0, at(T0 + 11 * S), "earliest container timestamp");
        assert_eq!(pods[0].window, GoDuration::from_secs(10), "that container's own interval");
        assert!(st.pod_metrics(Some("other"), at(T0)).is_empty());
        assert!(st.pod_metric("ns", "p", at(T0)).is_some());
        assert!(st.pod_metric("ns", "q", at(T0)).is_none());
    }

    #[test]
    fn restart_by_start_time_and_by_falling_counter() {
        let mut st = MetricsStore::new(StoreConfig::default());
        let c = |cpu: u64, start: i64| [("ns", "p", "c", cpu * S as u64, 1, Some(start))];
        st.store("n", &scrape(None, &c(100, -3600), T0), at(T0));
        st.store("n", &scrape(None, &c(103, -3600), T0 + 15 * S), at(T0));
        assert_eq!(st.pod_metrics(None, at(T0)).len(), 1);
        // Restart with a new start time, counter happens to be higher: no rate.
        let r = st.store("n", &scrape(None, &c(200, 25), T0 + 30 * S), at(T0));
        assert_eq!((r.restarts, r.fresh), (1, 0));
        assert!(st.pod_metrics(None, at(T0)).is_empty());
        let r = st.store("n", &scrape(None, &c(201, 25), T0 + 45 * S), at(T0));
        assert_eq!((r.restarts, r.with_rate), (0, 1));
        assert_eq!(cpu(&st.pod_metrics(None, at(T0))[0], "c").as_deref(), Some("66666666n"));
        // Falling counter, same start time (e.g. a restart the kubelet did not date).
        let r = st.store("n", &scrape(None, &c(5, 25), T0 + 60 * S), at(T0));
        assert_eq!(r.restarts, 1);
        assert!(st.pod_metrics(None, at(T0)).is_empty());
        // Node counter falling (reboot): no node rate until the next point.
        st.store("n", &scrape(Some((500 * S as u64, T0)), &[], T0), at(T0));
        st.store("n", &scrape(Some((501 * S as u64, T0 + 15 * S)), &[], T0), at(T0));
        assert_eq!(st.node_metrics(None, at(T0)).len(), 1);
        st.store("n", &scrape(Some((2 * S as u64, T0 + 30 * S)), &[], T0), at(T0));
        assert!(st.node_metrics(None, at(T0)).is_empty());
        st.store("n", &scrape(Some((3 * S as u64, T0 + 45 * S)), &[], T0), at(T0));
        assert_eq!(st.node_metrics(None, at(T0))[0].usage["cpu"].to_string(), "66666666n");
    }

    #[test]
    fn fresh_container_gets_a_rate_from_its_start() {
        let mut st = MetricsStore::new(StoreConfig::default());
        // Started 12 s before its first point, within (10 s, 15 s): rate = 3 s / 12 s.
        let r = st.store("n", &scrape(None, &[("ns", "p", "c", 3 * S as u64, 1, Some(-12))], T0), at(T0));
        assert_eq!((r.fresh, r.with_rate, r.new_series), (1, 1, 1));
        let pods = st.pod_metrics(None, at(T0));
        assert_eq!(cpu(&pods[0], "c").as_deref(), Some("250m"));
        assert_eq!(pods[0].window, GoDuration::from_secs(12));
        assert_eq!(pods[0].timestamp.0, at(T0));
        // Too young (5 s) or too old (20 s): no shortcut.
        for age in [5, 20] {
            let mut st = MetricsStore::new(StoreConfig::default());
            let r = st.store("n", &scrape(None, &[("ns", "p", "c", 3 * S as u64, 1, Some(-age))], T0), at(T0));
            assert_eq!(r.fresh, 0, "age {age}");
            assert!(st.pod_metrics(None, at(T0)).is_empty());
        }
        // A restarted container that is fresh gets the shortcut too.
        let mut st = MetricsStore::new(StoreConfig::default());
        st.store("n", &scrape(None, &[("ns", "p", "c", 100 * S as u64, 1, Some(-3600))], T0 - 15 * S), at(T0));
        let r = st.store("n", &scrape(None, &[("ns", "p", "c", S as u64, 1, Some(-11))], T0), at(T0));
        assert_eq!((r.restarts, r.fresh, r.with_rate), (1, 1, 1));
    }

    #[test]
    fn pods_need_every_container_unless_configured() {
        for require in [true, false] {
            let mut st = MetricsStore::new(StoreConfig { keep_partial_pods: !require, ..StoreConfig::default() });
            st.store("n", &scrape(None, &[("ns", "p", "a", 10 * S as u64, 1, None)], T0), at(T0));
            // Container `b` appears later: it has one point only.
            let r = st.store("n", &scrape(None, &[("ns", "p", "a", 11 * S as u64, 1, None), ("ns", "p", "b", 5 * S as u64, 1, None)], T0 + 10 * S), at(T0));
            assert_eq!((r.new_series, r.with_rate), (1, 1));
            let pods = st.pod_metrics(None, at(T0));
            if require {
                assert!(pods.is_empty());
            } else {
                assert_eq!(pods.len(), 1);
                assert_eq!(pods[0].containers.len(), 1);
                assert_eq!(cpu(&pods[0], "a").as_deref(), Some("100m"));
            }
        }
    }

    #[test]
    fn grace_period_and_one_scrape_recovery() {
        let cfg = StoreConfig::default();
        let mut st = MetricsStore::new(cfg);
        let c = |cpu: u64| [("ns", "p", "c", cpu * S as u64, 1, None)];
        let node = |cpu: u64, t: i64| Some((cpu * S as u64, t));
        st.store("n", &scrape(node(100, T0), &c(10), T0), at(T0));
        st.store("n", &scrape(node(101, T0 + 15 * S), &c(11), T0 + 15 * S), at(T0 + 15 * S));
        assert!(st.mark_failed("n", at(T0 + 30 * S)));
        assert!(st.in_grace("n", at(T0 + 30 * S)));
        // Still served with the last good value within the grace period.
        let m = st.node_metrics(None, at(T0 + 70 * S));
        assert_eq!(m.len(), 1);
        assert_eq!(m[0].timestamp.0, at(T0 + 15 * S));
        assert_eq!(st.pod_metrics(None, at(T0 + 70 * S)).len(), 1);
        // Recovery 45 s after the last point (within max_rate_window): one scrape suffices.
        let r = st.store("n", &scrape(node(110, T0 + 60 * S), &c(20), T0 + 60 * S), at(T0 + 60 * S));
        assert_eq!((r.with_rate, r.too_old), (1, 0));
        assert!(!st.in_grace("n", at(T0 + 60 * S)));
        let m = st.node_metrics(None, at(T0 + 61 * S));
        assert_eq!(m[0].usage["cpu"].to_string(), "200m");
        assert_eq!(m[0].window, GoDuration::from_secs(45));
        assert_eq!(cpu(&st.pod_metrics(None, at(T0 + 61 * S))[0], "c").as_deref(), Some("200m"));
        // Failing past the grace period: no longer served, then removed.
        st.mark_failed("n", at(T0 + 75 * S));
        assert_eq!(st.node_metrics(None, at(T0 + 120 * S)).len(), 1);
        assert!(st.node_metrics(None, at(T0 + 121 * S)).is_empty());
        assert!(st.pod_metrics(None, at(T0 + 121 * S)).is_empty());
        assert!(!st.mark_failed("n", at(T0 + 121 * S)));
        assert!(st.is_empty());
        assert_eq!(st.stats(), StoreStats::default(), "everything released");
    }

    #[test]
    fn too_old_point_needs_two_scrapes() {
        let mut st = MetricsStore::new(StoreConfig::default());
        st.store("n", &scrape(Some((S as u64, T0)), &[], T0), at(T0));
        st.store("n", &scrape(Some((2 * S as u64, T0 + 15 * S)), &[], T0), at(T0));
        let r = st.store("n", &scrape(Some((3 * S as u64, T0 + 120 * S)), &[("ns", "p", "c", S as u64, 1, None)], T0 + 120 * S), at(T0));
        assert_eq!(r.new_series, 1);
        assert!(st.node_metrics(None, at(T0)).is_empty(), "105 s > max_rate_window");
        st.store("n", &scrape(Some((4 * S as u64, T0 + 135 * S)), &[("ns", "p", "c", 2 * S as u64, 1, None)], T0 + 135 * S), at(T0));
        assert_eq!(st.node_metrics(None, at(T0)).len(), 1);
    }

    #[test]
    fn same_timestamp_keeps_the_rate_and_backwards_time_is_safe() {
        let mut st = MetricsStore::new(StoreConfig::default());
        let c = |cpu: u64| [("ns", "p", "c", cpu * S as u64, 1, None)];
        st.store("n", &scrape(None, &c(10), T0), at(T0));
        st.store("n", &scrape(None, &c(13), T0 + 15 * S), at(T0));
        // Kubelet cache hit: the same point again.
        st.store("n", &scrape(None, &c(13), T0 + 15 * S), at(T0));
        assert_eq!(cpu(&st.pod_metrics(None, at(T0))[0], "c").as_deref(), Some("200m"));
        // An older point than the last one: previous kept only while it is older still.
        st.store("n", &scrape(None, &c(12), T0 + 10 * S), at(T0));
        let pods = st.pod_metrics(None, at(T0));
        assert_eq!(cpu(&pods[0], "c").as_deref(), Some("200m"));
        assert_eq!(pods[0].window, GoDuration::from_secs(10));
    }

    #[test]
    fn pods_come_and_go_and_names_are_released() {
        let mut st = MetricsStore::new(StoreConfig::default());
        let all = [
            ("a", "p1", "c", S as u64, 1, None),
            ("a", "p2", "c", S as u64, 1, None),
            ("b", "p1", "x", S as u64, 1, None),
            ("b", "p1", "y", S as u64, 1, None),
        ];
        let r = st.store("n", &scrape(None, &all, T0), at(T0));
        assert_eq!(r.new_series, 4);
        assert_eq!(st.stats().pods, 3);
        assert_eq!(st.stats().interned, 5, "a, b, c, x, y");
        // p2 goes, y goes, a new pod comes.
        let next = [("a", "p1", "c", 2 * S as u64, 1, None), ("a", "p3", "c", S as u64, 1, None), ("b", "p1", "x", 2 * S as u64, 1, None)];
        let r = st.store("n", &scrape(None, &next, T0 + 15 * S), at(T0));
        assert_eq!((r.new_series, r.removed_series, r.with_rate), (1, 2, 2));
        assert_eq!(st.stats().interned, 4, "y released");
        let pods = st.pod_metrics(None, at(T0));
        let names: Vec<_> = pods.iter().map(|p| (p.namespace(), p.name())).collect();
        assert_eq!(names, [("a", "p1"), ("b", "p1")]);
        assert!(st.memory_estimate() > 0);
        assert!(st.remove_node("n"));
        assert_eq!(st.stats(), StoreStats::default());
    }

    #[test]
    fn visiting_matches_the_objects() {
        let mut st = MetricsStore::new(StoreConfig::default());
        let c = |cpu: u64| [("b", "p", "x", cpu * S as u64, 7, None), ("a", "q", "y", 2 * cpu * S as u64, 9, None)];
        st.store("n", &scrape(None, &c(10), T0), at(T0));
        st.store("n", &scrape(None, &c(13), T0 + 10 * S), at(T0));
        let mut seen = Vec::new();
        st.visit_pods(None, at(T0), |p| {
            let c: Vec<_> = p.containers().collect();
            seen.push((p.namespace(), p.name(), p.window_ns, c[0].name, c[0].cpu_nanocores, c[0].memory_bytes));
        });
        assert_eq!(seen, [("a", "q", 10 * S, "y", 600_000_000, 9), ("b", "p", 10 * S, "x", 300_000_000, 7)]);
        let objects = st.pod_metrics(None, at(T0));
        assert_eq!(objects.iter().map(|p| (p.namespace(), p.name())).collect::<Vec<_>>(), [("a", "q"), ("b", "p")]);
        let mut only_b = 0;
        st.visit_pods(Some("b"), at(T0), |_| only_b += 1);
        st.visit_pods(Some("none"), at(T0), |_| only_b += 100);
        assert_eq!(only_b, 1);
    }

    #[test]
    fn a_pod_on_two_nodes_is_served_once_from_the_newest() {
        let mut st = MetricsStore::new(StoreConfig::default());
        for (node, t) in [("old", T0), ("new", T0 + 100 * S)] {
            st.store(node, &scrape(None, &[("ns", "p", "c", S as u64, 1, None)], t), at(t));
            st.store(node, &scrape(None, &[("ns", "p", "c", 2 * S as u64, 1, None)], t + 10 * S), at(t));
        }
        let pods = st.pod_metrics(None, at(T0));
        assert_eq!(pods.len(), 1);
        assert_eq!(pods[0].timestamp.0, at(T0 + 110 * S));
        let mut served = st.served_pods_unsorted(at(T0));
        assert_eq!(served.len(), 2, "both copies before sorting");
        sort_served_pods(&mut served);
        assert_eq!(served.iter().map(|p| p.to_pod_metrics(pods[0].metadata.creation_timestamp.as_ref())).collect::<Vec<_>>(), pods);
    }

    #[test]
    fn served_pods_sort_and_dedup_like_the_objects() {
        // Many pods over several nodes and namespaces, names sharing long prefixes, some pods on
        // two nodes: the snapshot's order and copies are those of `pod_metrics`.
        let mut st = MetricsStore::new(StoreConfig::default());
        for node in 0..6_i64 {
            let t = T0 + node * S;
            let names: Vec<(String, String)> =
                (0..40).map(|i| (format!("ns-{}", (i * 7 + node) % 5), format!("a-very-long-common-workload-prefix-{}", (i * 13 + node * 3) % 50))).collect();
            let mut specs: Vec<C> = names.iter().map(|(ns, p)| (ns.as_str(), p.as_str(), "c", S as u64, 1, None)).collect();
            specs.sort_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));
            specs.dedup_by(|a, b| (a.0, a.1) == (b.0, b.1));
            st.store(&format!("n{node}"), &scrape(None, &specs, t), at(t));
            let later: Vec<C> = specs.iter().map(|c| (c.0, c.1, c.2, 2 * S as u64, 1, None)).collect();
            st.store(&format!("n{node}"), &scrape(None, &later, t + 10 * S), at(t));
        }
        let objects = st.pod_metrics(None, at(T0));
        assert!(objects.len() > 100, "{}", objects.len());
        let mut served = st.served_pods_unsorted(at(T0));
        assert!(served.len() > objects.len(), "some pods are on two nodes");
        sort_served_pods(&mut served);
        let created = objects[0].metadata.creation_timestamp;
        assert_eq!(served.iter().map(|p| p.to_pod_metrics(created.as_ref())).collect::<Vec<_>>(), objects);
        // The visit (its own sort over the stored entries) sees the same pods in the same order.
        let mut visited = Vec::new();
        st.visit_pods(None, at(T0), |p| visited.push((p.namespace().to_string(), p.name().to_string(), p.timestamp_ns)));
        let sorted: Vec<_> = served.iter().map(|p| (p.namespace.to_string(), p.name.to_string(), crate::scrape::from_timestamp(p.timestamp.0))).collect();
        assert_eq!(sorted, visited);
        // Copied a few nodes at a time (as the collector does, releasing its lock between), the same.
        let mut chunked = Vec::new();
        for chunk in st.node_names().chunks(4) {
            st.append_served_pods(chunk, at(T0), &mut chunked);
        }
        st.append_served_pods(&["no-such-node"], at(T0), &mut chunked);
        sort_served_pods(&mut chunked);
        assert_eq!(chunked, served);
    }

    #[test]
    fn a_changed_node_keeps_its_untouched_series_in_exact_arrays() {
        // One node changes shape (a pod added in the middle, a container and a pod removed); a
        // second store saw only the series that stay. Both serve exactly the same afterwards.
        type Key = (&'static str, &'static str, &'static str);
        let before: [Key; 6] = [("a", "p1", "c"), ("a", "p1", "d"), ("a", "p3", "c"), ("b", "p1", "x"), ("b", "p1", "y"), ("b", "p2", "z")];
        let after: [Key; 5] = [("a", "p1", "c"), ("a", "p2", "c"), ("a", "p3", "c"), ("b", "p1", "x"), ("b", "p1", "y")];
        let untouched: Vec<Key> = before.iter().filter(|k| after.contains(k)).copied().collect();
        // Each series' counter grows at a pace of its own; `partial` marks a pod of the scrape.
        let build = |keys: &[Key], round: i64, partial: Option<(&str, &str)>| {
            let mut b = NodeScrapeBuilder::new();
            b.set_node(NodeSample { cpu_ns: (round as u64 + 1) * S as u64, memory_bytes: 1, swap_bytes: None, timestamp_ns: T0 + round * 15 * S });
            for &(ns, pod, c) in keys {
                let pace = u64::from(pod.as_bytes()[1] + c.as_bytes()[0]);
                let sample = ContainerSample {
                    cpu_ns: (round as u64 + 1) * pace * S as u64 / 10,
                    memory_bytes: pace,
                    swap_bytes: None,
                    start_time_ns: None,
                    timestamp_ns: T0 + round * 15 * S,
                };
                b.push_container(ns, pod, c, sample, 0);
            }
            if let Some((ns, pod)) = partial {
                b.push_partial(ns, pod, Some("w"), "no usable sample");
            }
            b.build()
        };
        let (mut changed, mut reference) = (MetricsStore::new(StoreConfig::default()), MetricsStore::new(StoreConfig::default()));
        for round in 0..2 {
            changed.store("n", &build(&before, round, None), at(T0 + round * 15 * S));
            reference.store("n", &build(&untouched, round, None), at(T0 + round * 15 * S));
        }
        let served = |st: &MetricsStore| {
            let mut visited = Vec::new();
            st.visit_pods(None, at(T0), |p| {
                let containers: Vec<_> = p.containers().map(|c| (c.name.to_string(), c.cpu_nanocores, c.memory_bytes, c.timestamp_ns, c.window_ns)).collect();
                visited.push((p.namespace().to_string(), p.name().to_string(), p.timestamp_ns, p.window_ns, containers));
            });
            let mut snapshot = st.served_pods_unsorted(at(T0));
            sort_served_pods(&mut snapshot);
            (st.pod_metrics(None, at(T0)), st.node_metrics(None, at(T0)), visited, snapshot, st.stats(), st.memory_estimate())
        };
        // The change, with pod a/p3 partial, then a steady-state scrape where it is whole again.
        for (round, partial) in [(2, Some(("a", "p3"))), (3, None)] {
            let r = changed.store("n", &build(&after, round, partial), at(T0 + round * 15 * S));
            let want = reference.store("n", &build(&after, round, partial), at(T0 + round * 15 * S));
            let removed = if round == 2 { 2 } else { 0 };
            assert_eq!(r, StoreReport { removed_series: removed, ..want }, "round {round}");
            assert_eq!(served(&changed), served(&reference), "round {round}");
            // Kept points: a/p1/c has its 15 s rate at once (14.8 s of CPU); a/p2 (new) needs a
            // second point.
            let p1 = changed.pod_metric("a", "p1", at(T0)).expect("served");
            assert_eq!((cpu(&p1, "c").as_deref(), p1.containers.len(), p1.window), (Some("986666666n"), 1, GoDuration::from_secs(15)));
            assert_eq!(changed.pod_metric("a", "p2", at(T0)).is_some(), round == 3);
            assert_eq!(changed.pod_metric("a", "p3", at(T0)).is_some(), partial.is_none(), "round {round}");
        }
        let pairs_at = changed.nodes["n"].pairs.as_ptr();
        changed.store("n", &build(&after, 4, None), at(T0 + 60 * S));
        let e = &changed.nodes["n"];
        assert_eq!(e.pairs.as_ptr(), pairs_at, "a steady-state scrape updates in place");
        // The layout: the pods and the series of all of them, each at its exact size.
        let pods: Vec<_> = e.pods.iter().map(|p| (changed.strings.get(p.namespace), &*p.name, p.len(), p.partial())).collect();
        assert_eq!(pods, [("a", "p1", 1, false), ("a", "p2", 1, false), ("a", "p3", 1, false), ("b", "p1", 2, false)]);
        assert_eq!(e.names.iter().map(|&n| changed.strings.get(n)).collect::<Vec<_>>(), ["c", "c", "c", "x", "y"]);
        assert_eq!((e.pairs.len(), changed.stats().containers, changed.stats().interned), (5, 5, 5), "d and z released: a, b, c, x, y");
        assert_eq!(std::mem::size_of::<PodEntry>(), 24);
        assert_eq!(std::mem::size_of::<Pair>() + std::mem::size_of::<Sym>(), 60);
    }

    #[test]
    fn empty_scrape_counts_as_failure() {
        let mut st = MetricsStore::new(StoreConfig::default());
        st.store("n", &scrape(Some((S as u64, T0)), &[], T0), at(T0));
        let r = st.store("n", &NodeScrape::default(), at(T0 + 15 * S));
        assert!(r.failed);
        assert!(st.in_grace("n", at(T0 + 15 * S)));
        st.retain_nodes(|n| n != "n");
        assert!(st.is_empty());
    }
}
