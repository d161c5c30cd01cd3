//! The server's own `/metrics`: metrics-server's six `metrics_server_*` families (same names,
//! types and labels) plus two of kubemetrics':
//! - `kubemetrics_scrape_errors_total{node,class}` (counter): failed kubelet scrapes, by the
//!   [`ScrapeErrorClass`] of the failure;
//! - `kubemetrics_partial_pods_total{node}` (counter): [partial pods](crate::store#partial-pods)
//!   met in successful scrapes (a container named in the body without a usable CPU and memory
//!   sample), counted once per pod per scrape. Such pods are not served unless
//!   `--keep-partial-pods`; the scrape itself is not a failure. A node appears once it had one;
//! - `kubemetrics_skipped_cycles_total` (counter): scrape cycles dropped because the previous
//!   one was still starting its scrapes when the next began (the collector is overloaded: every
//!   node is then scraped less often than the resolution).

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// Prometheus' default buckets (`metrics.DefBuckets`).
const DEF_BUCKETS: [f64; 11] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

#[derive(Debug, Clone)]
struct Histogram {
    /// Shared by every histogram of one metric (one per node for kubelet requests).
    bounds: &'static [f64],
    counts: Vec<u64>,
    sum: f64,
    count: u64,
}

impl Histogram {
    fn new(bounds: &'static [f64]) -> Self {
        let n = bounds.len();
        Histogram { bounds, counts: vec![0; n], sum: 0.0, count: 0 }
    }
    fn observe(&mut self, v: f64) {
        for (b, c) in self.bounds.iter().zip(self.counts.iter_mut()) {
            if v <= *b {
                *c += 1;
            }
        }
        self.sum += v;
        self.count += 1;
    }
    fn render(&self, out: &mut String, name: &str, labels: &str) {
        let sep = if labels.is_empty() { "" } else { "," };
        for (b, c) in self.bounds.iter().zip(&self.counts) {
            let _ = writeln!(out, "{name}_bucket{{{labels}{sep}le=\"{b}\"}} {c}");
        }
        let _ = writeln!(out, "{name}_bucket{{{labels}{sep}le=\"+Inf\"}} {}", self.count);
        let braces = if labels.is_empty() { String::new() } else { format!("{{{labels}}}") };
        let _ = writeln!(out, "{name}_sum{braces} {}", self.sum);
        let _ = writeln!(out, "{name}_count{braces} {}", self.count);
    }
}

/// Scrape error classes reported per node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ScrapeErrorClass {
    /// The node's address could not be resolved.
    Dns,
    /// TLS handshake or certificate verification failed.
    Tls,
    /// The kubelet refused our credentials (401/403).
    Auth,
    /// No answer within the request timeout.
    Timeout,
    /// The body could not be parsed (the whole body; per-series problems are not errors).
    Parse,
    /// The body was larger than `--kubelet-max-body-size`; it was not read past the limit.
    TooLarge,
    /// Anything else (connection refused, HTTP 5xx, ...).
    Other,
}

impl ScrapeErrorClass {
    /// Label value.
    pub fn as_str(self) -> &'static str {
        match self {
            ScrapeErrorClass::Dns => "dns",
            ScrapeErrorClass::Tls => "tls",
            ScrapeErrorClass::Auth => "auth",
            ScrapeErrorClass::Timeout => "timeout",
            ScrapeErrorClass::Parse => "parse",
            ScrapeErrorClass::TooLarge => "too-large",
            ScrapeErrorClass::Other => "other",
        }
    }
}

/// Counters and histograms updated by the collector and the API handlers.
#[derive(Debug)]
pub struct ServerMetrics {
    request_duration: Mutex<BTreeMap<String, Histogram>>,
    request_total: [AtomicU64; 2],
    last_request_time: Mutex<BTreeMap<String, f64>>,
    tick_duration: Mutex<Histogram>,
    storage_points: [AtomicU64; 2],
    freshness: Mutex<Histogram>,
    scrape_errors: Mutex<BTreeMap<(String, ScrapeErrorClass), u64>>,
    partial_pods: Mutex<BTreeMap<String, u64>>,
    skipped_cycles: AtomicU64,
}

impl Default for ServerMetrics {
    fn default() -> Self {
        static FRESHNESS: std::sync::OnceLock<Vec<f64>> = std::sync::OnceLock::new();
        let freshness = FRESHNESS.get_or_init(|| (0..20).map(|i| 1.364f64.powi(i)).collect());
        ServerMetrics {
            request_duration: Mutex::default(),
            request_total: Default::default(),
            last_request_time: Mutex::default(),
            tick_duration: Mutex::new(Histogram::new(&DEF_BUCKETS)),
            storage_points: Default::default(),
            freshness: Mutex::new(Histogram::new(freshness)),
            scrape_errors: Mutex::default(),
            partial_pods: Mutex::default(),
            skipped_cycles: AtomicU64::new(0),
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl ServerMetrics {
    /// Records one kubelet request: its duration, success, and the time it ended.
    pub fn kubelet_request(&self, node: &str, seconds: f64, success: bool, unix_now: f64) {
        // Keys are allocated only for a node seen the first time.
        let mut durations = lock(&self.request_duration);
        match durations.get_mut(node) {
            Some(h) => h.observe(seconds),
            None => {
                let mut h = Histogram::new(&DEF_BUCKETS);
                h.observe(seconds);
                durations.insert(node.to_string(), h);
            }
        }
        drop(durations);
        self.request_total[usize::from(success)].fetch_add(1, Ordering::Relaxed);
        let mut last = lock(&self.last_request_time);
        match last.get_mut(node) {
            Some(t) => *t = unix_now.floor(),
            None => {
                last.insert(node.to_string(), unix_now.floor());
            }
        }
    }

    /// Records a failed scrape's class.
    pub fn scrape_error(&self, node: &str, class: ScrapeErrorClass) {
        *lock(&self.scrape_errors).entry((node.to_string(), class)).or_default() += 1;
    }

    /// Records `count` partial pods in one successful scrape of `node` (nothing when 0).
    pub fn partial_pods(&self, node: &str, count: u64) {
        if count > 0 {
            *lock(&self.partial_pods).entry(node.to_string()).or_default() += count;
        }
    }

    /// Forgets a node that left the cluster.
    pub fn forget_node(&self, node: &str) {
        lock(&self.request_duration).remove(node);
        lock(&self.last_request_time).remove(node);
        lock(&self.scrape_errors).retain(|(n, _), _| n != node);
        lock(&self.partial_pods).remove(node);
    }

    /// Records one scrape cycle's duration.
    pub fn tick(&self, seconds: f64) {
        lock(&self.tick_duration).observe(seconds);
    }

    /// Counts a scrape cycle dropped for a newer one (see the module docs).
    pub fn skipped_cycle(&self) {
        self.skipped_cycles.fetch_add(1, Ordering::Relaxed);
    }

    /// Sets the number of stored node and container points.
    pub fn storage_points(&self, nodes: u64, containers: u64) {
        self.storage_points[0].store(nodes, Ordering::Relaxed);
        self.storage_points[1].store(containers, Ordering::Relaxed);
    }

    /// Records the age of a served metric (seconds since its timestamp).
    pub fn freshness(&self, seconds: f64) {
        lock(&self.freshness).observe(seconds);
    }

    /// Records the ages of many served metrics under one lock.
    pub fn freshness_many(&self, seconds: impl IntoIterator<Item = f64>) {
        let mut h = lock(&self.freshness);
        for s in seconds {
            h.observe(s);
        }
    }

    /// Prometheus text format.
    pub fn render(&self) -> String {
        let mut out = String::with_capacity(4096);
        out.push_str("# HELP metrics_server_api_metric_freshness_seconds [ALPHA] Freshness of metrics exported\n# TYPE metrics_server_api_metric_freshness_seconds histogram\n");
        lock(&self.freshness).render(&mut out, "metrics_server_api_metric_freshness_seconds", "");
        out.push_str("# HELP metrics_server_kubelet_last_request_time_seconds [ALPHA] Time of last request performed to Kubelet API since unix epoch in seconds\n# TYPE metrics_server_kubelet_last_request_time_seconds gauge\n");
        for (node, t) in lock(&self.last_request_time).iter() {
            let _ = writeln!(out, "metrics_server_kubelet_last_request_time_seconds{{node=\"{node}\"}} {t}");
        }
        out.push_str("# HELP metrics_server_kubelet_request_duration_seconds [ALPHA] Duration of requests to Kubelet API in seconds\n# TYPE metrics_server_kubelet_request_duration_seconds histogram\n");
        for (node, h) in lock(&self.request_duration).iter() {
            h.render(&mut out, "metrics_server_kubelet_request_duration_seconds", &format!("node=\"{node}\""));
        }
        out.push_str(
            "# HELP metrics_server_kubelet_request_total [ALPHA] Number of requests sent to Kubelet API\n# TYPE metrics_server_kubelet_request_total counter\n",
        );
        let _ = writeln!(out, "metrics_server_kubelet_request_total{{success=\"false\"}} {}", self.request_total[0].load(Ordering::Relaxed));
        let _ = writeln!(out, "metrics_server_kubelet_request_total{{success=\"true\"}} {}", self.request_total[1].load(Ordering::Relaxed));
        out.push_str("# HELP metrics_server_manager_tick_duration_seconds [ALPHA] The total time spent collecting and storing metrics in seconds\n# TYPE metrics_server_manager_tick_duration_seconds histogram\n");
        lock(&self.tick_duration).render(&mut out, "metrics_server_manager_tick_duration_seconds", "");
        out.push_str("# HELP metrics_server_storage_points [ALPHA] Number of metrics points stored.\n# TYPE metrics_server_storage_points gauge\n");
        let _ = writeln!(out, "metrics_server_storage_points{{type=\"container\"}} {}", self.storage_points[1].load(Ordering::Relaxed));
        let _ = writeln!(out, "metrics_server_storage_points{{type=\"node\"}} {}", self.storage_points[0].load(Ordering::Relaxed));
        out.push_str("# HELP kubemetrics_scrape_errors_total Failed kubelet scrapes by node and error class (dns, tls, auth, timeout, parse, too-large, other).\n# TYPE kubemetrics_scrape_errors_total counter\n");
        for ((node, class), n) in lock(&self.scrape_errors).iter() {
            let _ = writeln!(out, "kubemetrics_scrape_errors_total{{class=\"{}\",node=\"{node}\"}} {n}", class.as_str());
        }
        out.push_str("# HELP kubemetrics_partial_pods_total Pods met in successful kubelet scrapes with a container lacking a usable CPU and memory sample, by node (once per pod and scrape); not served unless --keep-partial-pods.\n# TYPE kubemetrics_partial_pods_total counter\n");
        for (node, n) in lock(&self.partial_pods).iter() {
            let _ = writeln!(out, "kubemetrics_partial_pods_total{{node=\"{node}\"}} {n}");
        }
        out.push_str("# HELP kubemetrics_skipped_cycles_total Scrape cycles dropped because the previous one was still starting its scrapes when a newer one began.\n# TYPE kubemetrics_skipped_cycles_total counter\n");
        let _ = writeln!(out, "kubemetrics_skipped_cycles_total {}", self.skipped_cycles.load(Ordering::Relaxed));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partial_pods_are_counted_per_node_and_forgotten_with_it() {
        let m = ServerMetrics::default();
        m.partial_pods("n1", 0);
        assert!(!m.render().contains("kubemetrics_partial_pods_total{"), "a node appears once it had one");
        m.partial_pods("n1", 2);
        m.partial_pods("n1", 1);
        m.partial_pods("n2", 1);
        let text = m.render();
        assert!(text.contains("# TYPE kubemetrics_partial_pods_total counter\n"), "{text}");
        assert!(text.contains("kubemetrics_partial_pods_total{node=\"n1\"} 3\n") && text.contains("kubemetrics_partial_pods_total{node=\"n2\"} 1\n"), "{text}");
        m.forget_node("n1");
        assert!(!m.render().contains("node=\"n1\""));
    }
}
