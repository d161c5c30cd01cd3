use super::*;
use crate::scrape::parse_metrics_resource;

const S: i64 = 1_000_000_000;
const T0: i64 = 1_633_253_800 * S;

fn container(name: &str, milli: u32, memory: u64, start_ns: i64) -> ContainerState {
    let spec = SimContainer {
        name: name.into(),
        cpu_millicores: milli,
        memory_bytes: memory,
        swap_bytes: 0,
        cpu_request_millicores: 100,
        memory_request_bytes: 1 << 20,
    };
    container_state(&spec, start_ns, Arc::from(name))
}

fn node() -> NodeState {
    let pods = vec![
        PodState {
            namespace: Arc::from("kube-system"),
            name: "coredns-558bd4d5db-4dpjz".into(),
            app: Arc::from("coredns"),
            created_ns: T0 - 1200 * S,
            containers: vec![container("coredns", 250, 12_533_760, T0 - 1000 * S)],
        },
        PodState {
            namespace: Arc::from("default"),
            name: "web-1".into(),
            app: Arc::from("web"),
            created_ns: T0 - 100 * S,
            containers: vec![container("app", 100, 1 << 20, T0 - 100 * S), container("sidecar", 5, 4096, T0 - 50 * S)],
        },
    ];
    let mut st = NodeState {
        name: Arc::from("n1"),
        boot_ns: T0 - 86_400 * S,
        overhead_milli: 150,
        overhead_bytes: 600 << 20,
        node_acc_ns: 1000 * S as u64,
        node_acc_at_ns: T0,
        pods,
        order: Vec::new(),
        faults: Faults::default(),
        body_hint: 0,
    };
    st.reorder();
    st
}

#[test]
fn body_is_exactly_what_a_kubelet_writes() {
    let st = node();
    let mut out = Vec::new();
    render::metrics_resource(&st, (T0 + 10 * S) / 1_000_000, false, None, &mut out);
    let body = String::from_utf8(out).unwrap_or_default();
    let expected = "\
# HELP container_cpu_usage_seconds_total [STABLE] Cumulative cpu time consumed by the container in core-seconds
# TYPE container_cpu_usage_seconds_total counter
container_cpu_usage_seconds_total{container=\"app\",namespace=\"default\",pod=\"web-1\"} 11 1633253810000
container_cpu_usage_seconds_total{container=\"coredns\",namespace=\"kube-system\",pod=\"coredns-558bd4d5db-4dpjz\"} 252.5 1633253810000
container_cpu_usage_seconds_total{container=\"sidecar\",namespace=\"default\",pod=\"web-1\"} 0.3 1633253810000
# HELP container_memory_working_set_bytes [STABLE] Current working set of the container in bytes
# TYPE container_memory_working_set_bytes gauge
container_memory_working_set_bytes{container=\"app\",namespace=\"default\",pod=\"web-1\"} 1.048576e+06 1633253810000
container_memory_working_set_bytes{container=\"coredns\",namespace=\"kube-system\",pod=\"coredns-558bd4d5db-4dpjz\"} 1.253376e+07 1633253810000
container_memory_working_set_bytes{container=\"sidecar\",namespace=\"default\",pod=\"web-1\"} 4096 1633253810000
# HELP container_start_time_seconds [STABLE] Start time of the container since unix epoch in seconds
# TYPE container_start_time_seconds gauge
container_start_time_seconds{container=\"app\",namespace=\"default\",pod=\"web-1\"} 1.6332537e+09
container_start_time_seconds{container=\"coredns\",namespace=\"kube-system\",pod=\"coredns-558bd4d5db-4dpjz\"} 1.6332528e+09
container_start_time_seconds{container=\"sidecar\",namespace=\"default\",pod=\"web-1\"} 1.63325375e+09
# HELP node_cpu_usage_seconds_total [STABLE] Cumulative cpu time consumed by the node in core-seconds
# TYPE node_cpu_usage_seconds_total counter
node_cpu_usage_seconds_total 1005.05 1633253810000
# HELP node_memory_working_set_bytes [STABLE] Current working set of the node in bytes
# TYPE node_memory_working_set_bytes gauge
node_memory_working_set_bytes 6.42732032e+08 1633253810000
# HELP pod_cpu_usage_seconds_total [STABLE] Cumulative cpu time consumed by the pod in core-seconds
# TYPE pod_cpu_usage_seconds_total counter
pod_cpu_usage_seconds_total{namespace=\"default\",pod=\"web-1\"} 11.3 1633253810000
pod_cpu_usage_seconds_total{namespace=\"kube-system\",pod=\"coredns-558bd4d5db-4dpjz\"} 252.5 1633253810000
# HELP pod_memory_working_set_bytes [STABLE] Current working set of the pod in bytes
# TYPE pod_memory_working_set_bytes gauge
pod_memory_working_set_bytes{namespace=\"default\",pod=\"web-1\"} 1.052672e+06 1633253810000
pod_memory_working_set_bytes{namespace=\"kube-system\",pod=\"coredns-558bd4d5db-4dpjz\"} 1.253376e+07 1633253810000
# HELP resource_scrape_error [STABLE] 1 if there was an error while getting container metrics, 0 otherwise
# TYPE resource_scrape_error gauge
resource_scrape_error 0
# HELP scrape_error [ALPHA] (Deprecated since 1.29.0) 1 if there was an error while getting container metrics, 0 otherwise
# TYPE scrape_error gauge
scrape_error 0
";
    assert_eq!(body, expected);
}

#[test]
fn rendered_body_parses_back_to_the_counters() {
    let st = node();
    let now_ms = (T0 + 10 * S) / 1_000_000 + 123;
    let mut out = Vec::new();
    render::metrics_resource(&st, now_ms, true, None, &mut out);
    let s = parse_metrics_resource(&out, 0).unwrap_or_default();
    assert!(s.issues().is_empty(), "{:?}", s.issues());
    assert_eq!(s.len(), 3);
    let now = now_ms * 1_000_000;
    let c = s.container("kube-system", "coredns-558bd4d5db-4dpjz", "coredns").map(|c| *c.sample);
    assert_eq!(
        c.map(|c| (c.cpu_ns, c.memory_bytes, c.start_time_ns, c.swap_bytes, c.timestamp_ns)),
        Some((250 * 1_010_123_000_000 / 1000, 12_533_760, Some(T0 - 1000 * S), Some(0), now))
    );
    let n = s.node().copied();
    assert_eq!(n.map(|n| (n.cpu_ns, n.memory_bytes, n.swap_bytes)), Some((st.node_cpu_ns(now), st.node_memory_bytes(), Some(0))));
}

#[test]
fn garbage_lines_are_mixed_in_and_cost_nothing_real() {
    let st = node();
    let mut out = Vec::new();
    render::metrics_resource(&st, T0 / 1_000_000, false, Some(2), &mut out);
    let s = parse_metrics_resource(&out, 0).unwrap_or_default();
    assert_eq!(s.len(), 3);
    assert!(s.node().is_some());
    // NaN value, cut line, Go zero time; the binary line is not a wanted family and is skipped.
    assert_eq!(s.issues().len(), 3, "{:?}", s.issues());
    assert!(s.containers().all(|c| c.pod != "garbage"));
    // The garbage lines name a pod of their own, which is partial; no real pod is.
    assert_eq!(s.partial_pods().iter().map(|p| (p.namespace.as_str(), p.pod.as_str())).collect::<Vec<_>>(), [("garbage", "garbage")]);
}

#[test]
fn container_faults_make_their_pod_partial_in_both_bodies() {
    let web = |st: &NodeState| st.pods.iter().position(|p| &*p.name == "web-1").unwrap_or_default();
    for fault in [ContainerFault::NanCpu, ContainerFault::NoMemory] {
        let mut st = node();
        let i = web(&st);
        st.pods[i].containers[1].fault = fault;
        let mut out = Vec::new();
        render::metrics_resource(&st, T0 / 1_000_000, false, None, &mut out);
        let text = String::from_utf8_lossy(&out).into_owned();
        let sidecar_cpu = text.lines().find(|l| l.starts_with("container_cpu_usage_seconds_total{container=\"sidecar\"")).unwrap_or_default();
        let sidecar_memory = text.lines().any(|l| l.starts_with("container_memory_working_set_bytes{container=\"sidecar\""));
        match fault {
            ContainerFault::NanCpu => assert!(sidecar_cpu.ends_with(" NaN 1633253800000") && sidecar_memory, "{text}"),
            _ => assert!(!sidecar_cpu.is_empty() && !sidecar_memory, "{text}"),
        }
        let s = parse_metrics_resource(&out, 0).unwrap_or_default();
        let summary = render::stats_summary(&st, T0 / 1_000_000, false);
        let (from_summary, _) = crate::scrape::decode_summary(&summary, 0, &crate::scrape::ParseOptions::default()).unwrap_or_default();
        for s in [&s, &from_summary] {
            assert_eq!(s.len(), 2, "{fault:?}: coredns and web-1/app stay");
            assert!(s.container("default", "web-1", "app").is_some());
            assert_eq!(s.partial_pods().iter().map(|p| p.pod.as_str()).collect::<Vec<_>>(), ["web-1"], "{fault:?}");
            assert!(s.partial_pods()[0].reason.starts_with("container sidecar: "), "{:?}", s.partial_pods());
        }
    }
}

#[test]
fn counters_are_piecewise_linear_and_node_keeps_what_pods_used() {
    let mut st = node();
    let coredns = st.pods.iter().position(|p| &*p.namespace == "kube-system").unwrap_or_default();
    let c = &mut st.pods[coredns].containers[0];
    assert_eq!(c.cpu_ns(T0 - 1000 * S), 0);
    assert_eq!(c.cpu_ns(T0 - 2000 * S), 0, "no negative time");
    assert_eq!(c.cpu_ns(T0), 250 * S as u64);
    c.set_rate(1000, T0);
    assert_eq!(c.cpu_ns(T0 + 10 * S), 260 * S as u64);
    let before = st.node_cpu_ns(T0 + 20 * S);
    st.advance(T0 + 20 * S);
    st.pods.clear();
    st.reorder();
    assert_eq!(st.node_cpu_ns(T0 + 20 * S), before);
    assert_eq!(st.node_cpu_ns(T0 + 30 * S), before + 1_500_000_000, "overhead only: 150m over 10 s");
}

#[test]
fn uids_are_stable_and_shaped_like_uuids() {
    let st = node();
    let uid = st.pods[0].uid();
    assert_eq!(uid, st.pods[0].uid());
    assert_ne!(uid, st.pods[1].uid());
    let parts: Vec<usize> = uid.split('-').map(str::len).collect();
    assert_eq!(parts, [8, 4, 4, 4, 12], "{uid}");
}

#[test]
fn summary_body_decodes_to_the_same_numbers() {
    let st = node();
    let now_ms = T0 / 1_000_000;
    let body = render::stats_summary(&st, now_ms, true);
    let (s, name) = crate::scrape::decode_summary(&body, 0, &crate::scrape::ParseOptions::default()).unwrap_or_default();
    assert_eq!(name, "n1");
    assert!(s.issues().is_empty(), "{:?}", s.issues());
    assert_eq!(s.len(), 3);
    assert_eq!(s.node().map(|n| n.cpu_ns), Some(st.node_cpu_ns(T0)));
    assert_eq!(s.container("default", "web-1", "app").map(|c| c.sample.cpu_ns), Some(10 * S as u64));
}
