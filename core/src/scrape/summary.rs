//! A decoder for the kubelet `/stats/summary` JSON body, the fallback for kubelets without
//! `/metrics/resource` (before Kubernetes 1.18 or with it disabled), into the same
//! [`NodeScrape`] the Prometheus parser produces.
//!
//! Read: `node.cpu.usageCoreNanoSeconds`, `node.memory.workingSetBytes`,
//! `node.swap.swapUsageBytes`, and per container of every pod the same fields plus
//! `startTime`. Timestamps are the CPU stats' `time` (else the memory stats' `time`, else the
//! scrape time). Like metrics-server, a container with missing or zero CPU or memory is left out,
//! with an [`IssueKind::Incomplete`] issue; a pod or container whose JSON has the wrong shape
//! costs only itself ([`IssueKind::Syntax`]). The pod of a container left out is listed in
//! [`NodeScrape::partial_pods`] (metrics-server drops the whole pod; the store does the same by
//! default). Only a body that is not a JSON object with a `node`, or one over the size limit, is
//! an error.

use super::{ContainerSample, IssueKind, NodeSample, NodeScrape, NodeScrapeBuilder, UnixNanos, from_timestamp};
use crate::error::{Error, ErrorKind, Result};
use crate::metrics::Time;
use crate::scrape::parse::ParseOptions;
use serde::Deserialize;

#[derive(Deserialize)]
struct Summary {
    node: NodeStats,
    #[serde(default)]
    pods: Option<Vec<serde_json::Value>>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct NodeStats {
    node_name: String,
    cpu: Option<CpuStats>,
    memory: Option<MemoryStats>,
    swap: Option<SwapStats>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct PodRef {
    name: String,
    namespace: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PodHead {
    pod_ref: PodRef,
    #[serde(default)]
    containers: Option<Vec<serde_json::Value>>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct ContainerStats {
    name: String,
    start_time: Option<Time>,
    cpu: Option<CpuStats>,
    memory: Option<MemoryStats>,
    swap: Option<SwapStats>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CpuStats {
    #[serde(default)]
    time: Option<Time>,
    #[serde(default)]
    usage_core_nano_seconds: Option<u64>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct MemoryStats {
    #[serde(default)]
    time: Option<Time>,
    #[serde(default)]
    working_set_bytes: Option<u64>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SwapStats {
    #[serde(default)]
    swap_usage_bytes: Option<u64>,
}

fn time_ns(t: &Option<Time>) -> Option<UnixNanos> {
    t.as_ref().map(|t| from_timestamp(t.0))
}

/// Why a CPU + memory pair is unusable, as metrics-server judges it.
fn check(cpu: &Option<CpuStats>, memory: &Option<MemoryStats>) -> std::result::Result<(u64, u64), &'static str> {
    let cpu = usable(cpu.as_ref().map(|c| c.usage_core_nano_seconds), ["no cpu stats", "no cpu.usageCoreNanoSeconds", "cpu.usageCoreNanoSeconds is zero"])?;
    let memory = usable(memory.as_ref().map(|m| m.working_set_bytes), ["no memory stats", "no memory.workingSetBytes", "memory.workingSetBytes is zero"])?;
    Ok((cpu, memory))
}

/// A stats value that is there and not zero; else why not: `[no stats, no value, zero]`.
fn usable(value: Option<Option<u64>>, why: [&'static str; 3]) -> std::result::Result<u64, &'static str> {
    match value {
        None => Err(why[0]),
        Some(None) => Err(why[1]),
        Some(Some(0)) => Err(why[2]),
        Some(Some(v)) => Ok(v),
    }
}

fn timestamp(cpu: &Option<CpuStats>, memory: &Option<MemoryStats>, default: UnixNanos) -> UnixNanos {
    cpu.as_ref().and_then(|c| time_ns(&c.time)).or_else(|| memory.as_ref().and_then(|m| time_ns(&m.time))).unwrap_or(default)
}

/// Decodes a `/stats/summary` body. `scrape_time_ns` stands in for missing stats times.
///
/// Returns the scrape and the `nodeName` the kubelet reported (empty if none).
pub fn decode_summary(body: &[u8], scrape_time_ns: UnixNanos, opts: &ParseOptions) -> Result<(NodeScrape, String)> {
    if body.len() > opts.max_body_bytes {
        return Err(Error::new(
            ErrorKind::Api,
            format!("kubelet /stats/summary body is {} bytes, larger than the limit of {} bytes; refusing to decode it", body.len(), opts.max_body_bytes),
        ));
    }
    let summary: Summary = serde_json::from_slice(body)
        .map_err(|e| Error::new(ErrorKind::Api, format!("kubelet /stats/summary body is not a stats summary: {e}")).with_source(e))?;
    let mut b = NodeScrapeBuilder::new().max_issues(opts.max_issues);
    let n = &summary.node;
    match check(&n.cpu, &n.memory) {
        Ok((cpu_ns, memory_bytes)) => b.set_node(NodeSample {
            cpu_ns,
            memory_bytes,
            swap_bytes: n.swap.as_ref().and_then(|s| s.swap_usage_bytes),
            timestamp_ns: timestamp(&n.cpu, &n.memory, scrape_time_ns),
        }),
        Err(why) => b.push_issue(0, IssueKind::Incomplete, format!("node {:?} left out: {why}", n.node_name)),
    }
    for (i, pod) in summary.pods.unwrap_or_default().into_iter().enumerate() {
        let pod = match PodHead::deserialize(pod) {
            Ok(p) => p,
            Err(e) => {
                b.push_issue(0, IssueKind::Syntax, format!("pods[{i}] left out: {e}"));
                continue;
            }
        };
        let (ns, name) = (&pod.pod_ref.namespace, &pod.pod_ref.name);
        if ns.is_empty() || name.is_empty() {
            b.push_issue(0, IssueKind::Labels, format!("pods[{i}] left out: podRef has no name or namespace"));
            continue;
        }
        for (j, c) in pod.containers.unwrap_or_default().into_iter().enumerate() {
            let readable_name = c.get("name").and_then(|n| n.as_str()).filter(|n| !n.is_empty()).map(str::to_string);
            let c = match ContainerStats::deserialize(c) {
                Ok(c) => c,
                Err(e) => {
                    b.push_issue(0, IssueKind::Syntax, format!("container {ns}/{name}/[{j}] left out: {e}"));
                    b.push_partial(ns, name, readable_name.as_deref(), format!("containers[{j}] is not a container's stats: {e}"));
                    continue;
                }
            };
            if c.name.is_empty() {
                b.push_issue(0, IssueKind::Labels, format!("container {ns}/{name}/[{j}] left out: no name"));
                b.push_partial(ns, name, None, format!("containers[{j}] has no name"));
                continue;
            }
            match check(&c.cpu, &c.memory) {
                Ok((cpu_ns, memory_bytes)) => {
                    let sample = ContainerSample {
                        cpu_ns,
                        memory_bytes,
                        swap_bytes: c.swap.as_ref().and_then(|s| s.swap_usage_bytes),
                        start_time_ns: time_ns(&c.start_time).filter(|&t| t > 0),
                        timestamp_ns: timestamp(&c.cpu, &c.memory, scrape_time_ns),
                    };
                    b.push_container(ns, name, &c.name, sample, 0);
                }
                Err(why) => {
                    b.push_issue(0, IssueKind::Incomplete, format!("container {ns}/{name}/{} left out: {why}", c.name));
                    b.push_partial(ns, name, Some(&c.name), format!("container {}: {why}", c.name));
                }
            }
        }
    }
    Ok((b.build(), summary.node.node_name))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(body: &str) -> Result<(NodeScrape, String)> {
        decode_summary(body.as_bytes(), 42, &ParseOptions::default())
    }

    #[test]
    fn minimal_body() {
        let (s, name) = decode(
            r#"{"node":{"nodeName":"n1","cpu":{"time":"2020-04-16T20:25:28Z","usageCoreNanoSeconds":5},"memory":{"workingSetBytes":7},"swap":{"swapUsageBytes":3}},
                "pods":[{"podRef":{"name":"p","namespace":"ns"},"containers":[{"name":"c","startTime":"2020-04-16T20:17:46Z","cpu":{"usageCoreNanoSeconds":9},"memory":{"time":"2020-04-16T20:25:30Z","workingSetBytes":11}}]}]}"#,
        )
        .expect("decodes");
        assert_eq!(name, "n1");
        let node = s.node().copied().expect("node");
        assert_eq!((node.cpu_ns, node.memory_bytes, node.swap_bytes), (5, 7, Some(3)));
        assert_eq!(node.timestamp().to_string(), "2020-04-16T20:25:28Z");
        let c = s.container("ns", "p", "c").expect("container");
        assert_eq!((c.sample.cpu_ns, c.sample.memory_bytes, c.sample.swap_bytes), (9, 11, None));
        assert_eq!(c.sample.timestamp().to_string(), "2020-04-16T20:25:30Z", "memory time when CPU has none");
        assert_eq!(c.sample.start_time().map(|t| t.to_string()), Some("2020-04-16T20:17:46Z".into()));
    }

    #[test]
    fn wrong_shapes_cost_one_pod_or_container() {
        let (s, _) = decode(
            r#"{"node":{"nodeName":"n1"},"pods":[
                 {"podRef":"oops"},
                 {"podRef":{"name":"p","namespace":"ns"},"containers":[{"name":"bad","cpu":{"usageCoreNanoSeconds":"x"}},
                                                                       {"name":"good","cpu":{"usageCoreNanoSeconds":1},"memory":{"workingSetBytes":2}}]},
                 {"podRef":{"name":"","namespace":"ns"}},
                 {"podRef":{"name":"q","namespace":"ns"},"containers":null}]}"#,
        )
        .expect("decodes");
        assert_eq!(s.len(), 1);
        assert_eq!(s.container("ns", "p", "good").map(|c| c.sample.timestamp_ns), Some(42));
        let kinds: Vec<_> = s.issues().iter().map(|i| i.kind).collect();
        assert_eq!(kinds, [IssueKind::Incomplete, IssueKind::Syntax, IssueKind::Syntax, IssueKind::Labels]);
        // Pod p lost a container: it is partial. Pods without a readable podRef cannot be named.
        let partial: Vec<_> = s.partial_pods().iter().map(|p| (p.namespace.as_str(), p.pod.as_str())).collect();
        assert_eq!(partial, [("ns", "p")]);
        assert!(s.partial_pods()[0].reason.contains("containers[0]"), "{:?}", s.partial_pods());
    }

    #[test]
    fn a_container_without_memory_makes_its_pod_partial() {
        let (s, _) = decode(
            r#"{"node":{"nodeName":"n1"},"pods":[
                 {"podRef":{"name":"p","namespace":"ns"},"containers":[{"name":"a","cpu":{"usageCoreNanoSeconds":1}},
                                                                       {"name":"b","cpu":{"usageCoreNanoSeconds":1},"memory":{"workingSetBytes":2}}]},
                 {"podRef":{"name":"q","namespace":"ns"},"containers":[{"name":"c","cpu":{"usageCoreNanoSeconds":0},"memory":{"workingSetBytes":2}}]},
                 {"podRef":{"name":"r","namespace":"ns"},"containers":[{"name":"d","cpu":{"usageCoreNanoSeconds":3},"memory":{"workingSetBytes":2}}]}]}"#,
        )
        .expect("decodes");
        assert_eq!(s.len(), 2, "b and d are usable");
        let partial: Vec<_> = s.partial_pods().iter().map(|p| (p.pod.as_str(), p.reason.as_str())).collect();
        assert_eq!(partial, [("p", "container a: no memory stats"), ("q", "container c: cpu.usageCoreNanoSeconds is zero")]);
        assert!(s.is_partial("ns", "p") && !s.is_partial("ns", "r"));
    }

    #[test]
    fn not_a_summary_is_an_error() {
        for body in ["", "[]", "{}", "{\"node\":3}", "<html>"] {
            let e = decode(body).err().map(|e| e.kind());
            assert_eq!(e, Some(ErrorKind::Api), "{body:?}");
        }
        let e = decode_summary(b"{\"node\":{}}", 0, &ParseOptions { max_body_bytes: 5, max_issues: 1 }).err();
        assert!(e.is_some_and(|e| e.message().contains("limit of 5 bytes")));
    }
}
