//! Scraping kubelets the way a metrics server does.
//!
//! - [`Parser`] and [`parse_metrics_resource`]: a streaming parser for the kubelet `/metrics/resource` Prometheus text body.
//! - [`decode_summary`]: a decoder for the kubelet `/stats/summary` JSON body (older kubelets).
//! - [`store`](crate::store): [`MetricsStore`](crate::store::MetricsStore), the in-memory two-point store that turns cumulative CPU
//!   counters into rates and answers with [`NodeMetrics`](crate::NodeMetrics) /
//!   [`PodMetrics`](crate::PodMetrics).
//!
//! Both decoders produce a [`NodeScrape`]: one node's point in time, with exact integers
//! (CPU in nanocore-seconds, memory in bytes, times in Unix nanoseconds) and the
//! [`ParseIssue`]s met on the way. A bad series costs that series only, never the node.
//!
//! # Partial pods
//!
//! A pod is **partial** in a scrape when the body names one of its containers but that
//! container ends up without a usable CPU and memory pair. Exactly:
//! - a container key `(namespace, pod, container)` appears in a container family
//!   (`container_cpu_usage_seconds_total`, `container_memory_working_set_bytes`,
//!   `container_start_time_seconds`, `container_swap_usage_bytes`) but has no usable line in the
//!   CPU family or in the memory family (the series is missing, or its line was rejected: `NaN`,
//!   `±Inf`, negative, malformed value or timestamp, text after the timestamp), or its CPU or
//!   memory value is zero;
//! - a CPU or memory line whose `namespace` and `pod` labels can be read is rejected and no
//!   usable copy of that container remains (this covers a container label that is missing,
//!   empty or not UTF-8);
//! - in `/stats/summary`, a container of the pod lacks CPU or memory stats, reports zero for
//!   either, has no name or has the wrong JSON shape.
//!
//! A rejected swap or start-time line alone does not make a pod partial (the container is still
//! served, without swap or without a start time), nor does a line too malformed to name its pod
//! (an unterminated label set). The usable containers of a partial pod stay in the scrape; the
//! pod is listed by [`NodeScrape::partial_pods`], and the [store](crate::store) decides whether
//! to serve it (by default not, as metrics-server, which drops the whole pod from its batch).
//!
//! ```
//! use kubemetrics::scrape::parse_metrics_resource;
//! let body = b"node_cpu_usage_seconds_total 357.35491 1633253809720\n\
//!              node_memory_working_set_bytes 1.616273408e+09 1633253809720\n";
//! let scrape = parse_metrics_resource(body, 0)?;
//! let node = scrape.node().expect("node sample");
//! assert_eq!(node.cpu_ns, 357_354_910_000);
//! assert_eq!(node.memory_bytes, 1_616_273_408);
//! # Ok::<(), kubemetrics::Error>(())
//! ```

#[cfg(feature = "server")]
pub mod kubelet;
#[cfg(feature = "server")]
mod kubelet_rest;
mod parse;
mod summary;

pub use parse::{ParseOptions, Parser, parse_metrics_resource};
pub use summary::decode_summary;

use std::fmt;

/// A point in time as nanoseconds since the Unix epoch (what kubelets report, exactly).
pub type UnixNanos = i64;

/// Converts Unix nanoseconds to a [`jiff::Timestamp`] (saturating at jiff's range).
pub fn to_timestamp(ns: UnixNanos) -> jiff::Timestamp {
    jiff::Timestamp::from_nanosecond(i128::from(ns)).unwrap_or(if ns < 0 { jiff::Timestamp::MIN } else { jiff::Timestamp::MAX })
}

/// Converts a [`jiff::Timestamp`] to Unix nanoseconds (saturating at the `i64` range, year 1677..2262).
pub fn from_timestamp(t: jiff::Timestamp) -> UnixNanos {
    i64::try_from(t.as_nanosecond()).unwrap_or(if t.as_nanosecond() < 0 { i64::MIN } else { i64::MAX })
}

/// The node-level point of one scrape.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NodeSample {
    /// Cumulative CPU time of the node, in nanocore-seconds (`node_cpu_usage_seconds_total` × 10^9).
    pub cpu_ns: u64,
    /// Working set of the node, in bytes.
    pub memory_bytes: u64,
    /// Swap in use on the node, in bytes, when the kubelet reports it.
    pub swap_bytes: Option<u64>,
    /// When the CPU counter was read (the series' own timestamp, else the scrape time).
    pub timestamp_ns: UnixNanos,
}

impl NodeSample {
    /// [`timestamp_ns`](Self::timestamp_ns) as a [`jiff::Timestamp`].
    pub fn timestamp(&self) -> jiff::Timestamp {
        to_timestamp(self.timestamp_ns)
    }
}

/// The point of one container in one scrape.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ContainerSample {
    /// Cumulative CPU time of the container, in nanocore-seconds.
    pub cpu_ns: u64,
    /// Working set of the container, in bytes.
    pub memory_bytes: u64,
    /// Swap in use by the container, in bytes, when reported.
    pub swap_bytes: Option<u64>,
    /// When the container started, when reported (`container_start_time_seconds`).
    pub start_time_ns: Option<UnixNanos>,
    /// When the CPU counter was read (the series' own timestamp, else the scrape time).
    pub timestamp_ns: UnixNanos,
}

impl ContainerSample {
    /// [`timestamp_ns`](Self::timestamp_ns) as a [`jiff::Timestamp`].
    pub fn timestamp(&self) -> jiff::Timestamp {
        to_timestamp(self.timestamp_ns)
    }

    /// [`start_time_ns`](Self::start_time_ns) as a [`jiff::Timestamp`].
    pub fn start_time(&self) -> Option<jiff::Timestamp> {
        self.start_time_ns.map(to_timestamp)
    }
}

/// What kind of problem a [`ParseIssue`] reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum IssueKind {
    /// The line is not valid Prometheus text (or the JSON field is malformed).
    Syntax,
    /// The value is not a finite, non-negative number that fits (`NaN`, `+Inf`, `-1`, ...).
    Value,
    /// The timestamp is missing where required, zero, negative (Go's zero time) or out of range.
    Timestamp,
    /// A required label (`namespace`, `pod`, `container`) is missing, empty, repeated or not UTF-8.
    Labels,
    /// The same series appeared more than once; the one kept is named in the message.
    Duplicate,
    /// A container or the node lacks a required value (CPU or memory), or reports zero for it.
    Incomplete,
}

/// One problem met while decoding a scrape. It cost only the series it names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseIssue {
    /// 1-based line of the body (0 when the body is JSON or the issue is not tied to a line).
    pub line: u32,
    /// The kind of problem.
    pub kind: IssueKind,
    /// What was wrong, for people, naming the series.
    pub message: String,
}

impl fmt::Display for ParseIssue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line > 0 { write!(f, "line {}: {}", self.line, self.message) } else { f.write_str(&self.message) }
    }
}

/// A byte range of [`NodeScrape`]'s name arena.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Span {
    start: u32,
    len: u32,
}

impl Span {
    fn get(self, arena: &str) -> &str {
        arena.get(self.start as usize..(self.start + self.len) as usize).unwrap_or_default()
    }

    /// The same range as bytes (no character-boundary check; byte order is string order).
    fn bytes(self, arena: &str) -> &[u8] {
        arena.as_bytes().get(self.start as usize..(self.start + self.len) as usize).unwrap_or_default()
    }
}

#[derive(Clone, Debug)]
struct Entry {
    namespace: Span,
    pod: Span,
    container: Span,
    sample: ContainerSample,
}

/// One container of a [`NodeScrape`], with its names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ContainerRef<'a> {
    /// The pod's namespace.
    pub namespace: &'a str,
    /// The pod name.
    pub pod: &'a str,
    /// The container name.
    pub container: &'a str,
    /// The values.
    pub sample: &'a ContainerSample,
}

/// A pod of a [`NodeScrape`] one of whose containers has no usable sample (see
/// [Partial pods](self#partial-pods)).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartialPod {
    /// The pod's namespace.
    pub namespace: String,
    /// The pod name.
    pub pod: String,
    /// Why, for people: the first container found unusable and what was wrong with it.
    pub reason: String,
}

/// One container reported unusable while decoding; see [`NodeScrapeBuilder::push_partial`].
#[derive(Clone, Debug)]
struct PartialCandidate {
    namespace: String,
    pod: String,
    container: Option<String>,
    reason: String,
}

/// The decoded result of scraping one kubelet once.
///
/// Containers are unique by `(namespace, pod, container)` and sorted by that key (byte order),
/// so a consumer can merge them with its own sorted state in one pass. All names live in one
/// string arena owned by the scrape: decoding allocates a handful of buffers per node, not one
/// string per name.
#[derive(Clone, Debug, Default)]
pub struct NodeScrape {
    node: Option<NodeSample>,
    names: String,
    containers: Vec<Entry>,
    issues: Vec<ParseIssue>,
    suppressed_issues: u32,
    /// Sorted by `(namespace, pod)`, one entry per pod.
    partial_pods: Vec<PartialPod>,
}

impl NodeScrape {
    /// The node point, when the body had a usable `node_cpu_usage_seconds_total` and
    /// `node_memory_working_set_bytes`.
    pub fn node(&self) -> Option<&NodeSample> {
        self.node.as_ref()
    }

    /// Number of usable containers.
    pub fn len(&self) -> usize {
        self.containers.len()
    }

    /// `true` when no container is usable.
    pub fn is_empty(&self) -> bool {
        self.containers.is_empty()
    }

    /// The usable containers, sorted by `(namespace, pod, container)`.
    pub fn containers(&self) -> impl ExactSizeIterator<Item = ContainerRef<'_>> + '_ {
        self.containers.iter().map(|e| self.view(e))
    }

    /// The `i`-th container in sort order.
    pub fn container_at(&self, i: usize) -> Option<ContainerRef<'_>> {
        self.containers.get(i).map(|e| self.view(e))
    }

    /// One container by its key (binary search).
    pub fn container(&self, namespace: &str, pod: &str, container: &str) -> Option<ContainerRef<'_>> {
        let key = (namespace, pod, container);
        self.containers
            .binary_search_by(|e| (e.namespace.get(&self.names), e.pod.get(&self.names), e.container.get(&self.names)).cmp(&key))
            .ok()
            .map(|i| self.view(&self.containers[i]))
    }

    /// The problems met while decoding (at most [`ParseOptions::max_issues`] are kept).
    pub fn issues(&self) -> &[ParseIssue] {
        &self.issues
    }

    /// How many further issues were counted but not kept.
    pub fn suppressed_issues(&self) -> u32 {
        self.suppressed_issues
    }

    /// The pods one of whose containers has no usable sample (see
    /// [Partial pods](self#partial-pods)), sorted by `(namespace, pod)`, each once, with the
    /// first reason found. Their usable containers are still in [`containers`](Self::containers).
    pub fn partial_pods(&self) -> &[PartialPod] {
        &self.partial_pods
    }

    /// Whether the pod is in [`partial_pods`](Self::partial_pods) (binary search).
    pub fn is_partial(&self, namespace: &str, pod: &str) -> bool {
        self.partial_pods.binary_search_by(|p| (p.namespace.as_str(), p.pod.as_str()).cmp(&(namespace, pod))).is_ok()
    }

    /// Approximate heap bytes held by this scrape.
    pub fn heap_bytes(&self) -> usize {
        self.names.capacity()
            + self.containers.capacity() * std::mem::size_of::<Entry>()
            + self.issues.iter().map(|i| i.message.capacity() + std::mem::size_of::<ParseIssue>()).sum::<usize>()
            + self
                .partial_pods
                .iter()
                .map(|p| p.namespace.capacity() + p.pod.capacity() + p.reason.capacity() + std::mem::size_of::<PartialPod>())
                .sum::<usize>()
    }

    fn view<'a>(&'a self, e: &'a Entry) -> ContainerRef<'a> {
        ContainerRef { namespace: e.namespace.get(&self.names), pod: e.pod.get(&self.names), container: e.container.get(&self.names), sample: &e.sample }
    }
}

/// Builds a [`NodeScrape`] from containers in any order, possibly repeated.
///
/// Duplicate `(namespace, pod, container)` keys are resolved deterministically, whatever their
/// order: the copy with the **newest timestamp** wins; on a tie, the **larger CPU counter**; then
/// the larger memory value; then the one pushed first. Every dropped copy is reported as an
/// [`IssueKind::Duplicate`] issue on its own line. (A zombie cgroup left behind by a restarted
/// container keeps reporting its old, frozen counters: its timestamp stops moving, so the live
/// container wins.)
///
/// ```
/// use kubemetrics::scrape::{ContainerSample, NodeScrapeBuilder};
/// let s = |cpu, ts| ContainerSample { cpu_ns: cpu, memory_bytes: 1, swap_bytes: None, start_time_ns: None, timestamp_ns: ts };
/// let mut b = NodeScrapeBuilder::new();
/// b.push_container("ns", "p", "c", s(900, 10), 1);
/// b.push_container("ns", "p", "c", s(100, 20), 2);
/// let scrape = b.build();
/// assert_eq!(scrape.len(), 1);
/// assert_eq!(scrape.container("ns", "p", "c").unwrap().sample.cpu_ns, 100);
/// assert_eq!(scrape.issues().len(), 1);
/// ```
#[derive(Debug, Default)]
pub struct NodeScrapeBuilder {
    scrape: NodeScrape,
    lines: Vec<u32>,
    max_issues: usize,
    partial: Vec<PartialCandidate>,
}

impl NodeScrapeBuilder {
    /// An empty builder keeping at most 100 issues.
    pub fn new() -> Self {
        NodeScrapeBuilder { max_issues: 100, ..Default::default() }
    }

    /// Keeps at most `max` issues (the rest are only counted).
    pub fn max_issues(mut self, max: usize) -> Self {
        self.max_issues = max;
        self
    }

    /// A builder whose name arena already holds the names that [`push_spans`](Self::push_spans) refers to.
    fn with_arena(names: String, max_issues: usize) -> Self {
        let mut b = NodeScrapeBuilder { max_issues, ..Default::default() };
        b.scrape.names = names;
        b
    }

    /// Adds a container whose names are already in the arena.
    fn push_spans(&mut self, namespace: Span, pod: Span, container: Span, sample: ContainerSample, line: u32) {
        self.scrape.containers.push(Entry { namespace, pod, container, sample });
        self.lines.push(line);
    }

    /// Takes over issues recorded elsewhere.
    fn extend_issues(&mut self, issues: Vec<ParseIssue>, suppressed: u32) {
        self.scrape.suppressed_issues = self.scrape.suppressed_issues.saturating_add(suppressed);
        for issue in issues {
            push_issue(&mut self.scrape.issues, &mut self.scrape.suppressed_issues, self.max_issues, issue);
        }
    }

    /// Sets the node point.
    pub fn set_node(&mut self, node: NodeSample) {
        self.scrape.node = Some(node);
    }

    /// Adds a container; `line` is where it came from (for duplicate reports; 0 if none).
    pub fn push_container(&mut self, namespace: &str, pod: &str, container: &str, sample: ContainerSample, line: u32) {
        let namespace = self.intern_last(namespace, |e| e.namespace);
        let pod = self.intern_last(pod, |e| e.pod);
        let container = self.push_name(container);
        self.scrape.containers.push(Entry { namespace, pod, container, sample });
        self.lines.push(line);
    }

    /// Records that a container of pod `namespace/pod` has no usable sample: `container` names
    /// it (`None` when the body did not name it usably), `reason` says what was wrong.
    ///
    /// At [`build`](Self::build), the pod is listed in [`NodeScrape::partial_pods`] unless
    /// `container` is named and a usable copy of it was pushed after all (a duplicate series).
    pub fn push_partial(&mut self, namespace: &str, pod: &str, container: Option<&str>, reason: impl Into<String>) {
        self.partial.push(PartialCandidate { namespace: namespace.into(), pod: pod.into(), container: container.map(str::to_string), reason: reason.into() });
    }

    /// Records an issue (kept while fewer than the maximum are kept, counted otherwise).
    pub fn push_issue(&mut self, line: u32, kind: IssueKind, message: impl Into<String>) {
        push_issue(&mut self.scrape.issues, &mut self.scrape.suppressed_issues, self.max_issues, ParseIssue { line, kind, message: message.into() });
    }

    /// Reuses the previous entry's span when the name repeats (containers of one pod, pods of
    /// one namespace), which keeps the arena small.
    fn intern_last(&mut self, name: &str, field: fn(&Entry) -> Span) -> Span {
        if let Some(last) = self.scrape.containers.last() {
            let span = field(last);
            if span.get(&self.scrape.names) == name {
                return span;
            }
        }
        self.push_name(name)
    }

    fn push_name(&mut self, name: &str) -> Span {
        let start = self.scrape.names.len();
        self.scrape.names.push_str(name);
        Span { start: start as u32, len: name.len() as u32 }
    }

    /// Sorts, resolves duplicates and returns the scrape.
    pub fn build(mut self) -> NodeScrape {
        let names = std::mem::take(&mut self.scrape.names);
        let entries = std::mem::take(&mut self.scrape.containers);
        let mut order: Vec<u32> = (0..entries.len() as u32).collect();
        let key = |i: u32| {
            let e = &entries[i as usize];
            (e.namespace.bytes(&names), e.pod.bytes(&names), e.container.bytes(&names))
        };
        let preference = |a: u32, b: u32| {
            let (x, y) = (&entries[a as usize].sample, &entries[b as usize].sample);
            // Best first: newest timestamp, larger CPU, larger memory, earlier push.
            y.timestamp_ns.cmp(&x.timestamp_ns).then(y.cpu_ns.cmp(&x.cpu_ns)).then(y.memory_bytes.cmp(&x.memory_bytes)).then(a.cmp(&b))
        };
        let sorted = order.windows(2).all(|w| key(w[0]) < key(w[1]));
        if !sorted {
            // Kubelets sort series by container name first, so a body's containers come as one
            // sorted run per container name: the stable sort merges runs (the comparison is a
            // total order, so stable or not gives the same result).
            order.sort_by(|&a, &b| key(a).cmp(&key(b)).then_with(|| preference(a, b)));
        }
        let mut out = Vec::with_capacity(entries.len());
        let mut kept: Option<u32> = None;
        for &i in &order {
            if let Some(k) = kept
                && key(k) == key(i)
            {
                let e = &entries[i as usize];
                let (ns, pod, c) = (e.namespace.get(&names), e.pod.get(&names), e.container.get(&names));
                let (w, l) = (&entries[k as usize].sample, &entries[i as usize].sample);
                let message = format!(
                    "duplicate series for container {ns}/{pod}/{c}: kept the copy with timestamp {} and CPU {}ns (line {}), dropped timestamp {} and CPU {}ns",
                    to_timestamp(w.timestamp_ns),
                    w.cpu_ns,
                    self.lines[k as usize],
                    to_timestamp(l.timestamp_ns),
                    l.cpu_ns
                );
                let line = self.lines[i as usize];
                push_issue(
                    &mut self.scrape.issues,
                    &mut self.scrape.suppressed_issues,
                    self.max_issues,
                    ParseIssue { line, kind: IssueKind::Duplicate, message },
                );
                continue;
            }
            kept = Some(i);
            out.push(entries[i as usize].clone());
        }
        self.scrape.names = names;
        self.scrape.containers = out;
        self.scrape.issues.sort_by_key(|i| i.line);
        self.scrape.partial_pods = self.settle_partial();
        self.scrape
    }

    /// The pods of the recorded candidates that really lack a container, in order, each once
    /// (the first reason recorded wins).
    fn settle_partial(&mut self) -> Vec<PartialPod> {
        let candidates = std::mem::take(&mut self.partial);
        let mut pods: Vec<PartialPod> = Vec::new();
        for c in candidates {
            if let Some(name) = &c.container
                && self.scrape.container(&c.namespace, &c.pod, name).is_some()
            {
                continue;
            }
            pods.push(PartialPod { namespace: c.namespace, pod: c.pod, reason: c.reason });
        }
        // Stable: the first reason of each pod survives the dedup.
        pods.sort_by(|a, b| (&a.namespace, &a.pod).cmp(&(&b.namespace, &b.pod)));
        pods.dedup_by(|a, b| a.namespace == b.namespace && a.pod == b.pod);
        pods
    }
}

fn push_issue(issues: &mut Vec<ParseIssue>, suppressed: &mut u32, max: usize, issue: ParseIssue) {
    if issues.len() < max {
        issues.push(issue);
    } else {
        *suppressed = suppressed.saturating_add(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(cpu: u64, mem: u64, ts: i64) -> ContainerSample {
        ContainerSample { cpu_ns: cpu, memory_bytes: mem, swap_bytes: None, start_time_ns: None, timestamp_ns: ts }
    }

    #[test]
    fn builder_sorts_and_looks_up() {
        let mut b = NodeScrapeBuilder::new();
        b.push_container("b", "p", "c", s(1, 1, 1), 1);
        b.push_container("a", "q", "c", s(2, 2, 2), 2);
        b.push_container("a", "p", "z", s(3, 3, 3), 3);
        b.push_container("a", "p", "c", s(4, 4, 4), 4);
        let scrape = b.build();
        let keys: Vec<_> = scrape.containers().map(|c| (c.namespace, c.pod, c.container)).collect();
        assert_eq!(keys, vec![("a", "p", "c"), ("a", "p", "z"), ("a", "q", "c"), ("b", "p", "c")]);
        assert_eq!(scrape.container("a", "p", "z").map(|c| c.sample.cpu_ns), Some(3));
        assert!(scrape.container("a", "p", "y").is_none());
        assert!(scrape.issues().is_empty());
    }

    #[test]
    fn duplicates_resolved_whatever_the_order() {
        for flip in [false, true] {
            let mut b = NodeScrapeBuilder::new();
            let (x, y) = (s(994_631, 5, 100), s(295_207, 6, 200));
            let (first, second) = if flip { (y, x) } else { (x, y) };
            b.push_container("ns", "p", "c", first, 10);
            b.push_container("ns", "p", "c", second, 11);
            let scrape = b.build();
            assert_eq!(scrape.len(), 1);
            assert_eq!(scrape.container_at(0).map(|c| c.sample.timestamp_ns), Some(200));
            assert_eq!(scrape.issues().len(), 1);
            assert_eq!(scrape.issues()[0].kind, IssueKind::Duplicate);
        }
        // Same timestamp: the larger CPU counter wins.
        let mut b = NodeScrapeBuilder::new();
        b.push_container("ns", "p", "c", s(5, 1, 100), 1);
        b.push_container("ns", "p", "c", s(7, 1, 100), 2);
        let scrape = b.build();
        assert_eq!(scrape.container_at(0).map(|c| c.sample.cpu_ns), Some(7));
        assert_eq!(scrape.issues()[0].line, 1);
    }

    #[test]
    fn issues_are_capped() {
        let mut b = NodeScrapeBuilder::new().max_issues(2);
        for i in 0..5 {
            b.push_issue(i, IssueKind::Syntax, "x");
        }
        let scrape = b.build();
        assert_eq!(scrape.issues().len(), 2);
        assert_eq!(scrape.suppressed_issues(), 3);
    }

    #[test]
    fn timestamps_convert() {
        assert_eq!(to_timestamp(1_633_253_809_720_000_000).to_string(), "2021-10-03T09:36:49.72Z");
        assert_eq!(from_timestamp(to_timestamp(-5)), -5);
    }
}
