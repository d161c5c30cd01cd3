//! Renders a simulated node as a kubelet would: the `/metrics/resource` Prometheus text (as
//! kubelet 1.29+ writes it) and the `/stats/summary` JSON.
//!
//! Kubelet's output goes through client_golang's registry, which sorts families by name and
//! series by label values (labels themselves sorted by name: `container`, `namespace`, `pod`),
//! and writes floats with Go's `strconv.FormatFloat(v, 'g', -1, 64)`. So the families come in
//! the order `container_*`, `node_*`, `pod_*`, `resource_scrape_error`, `scrape_error`, CPU,
//! memory and swap series carry millisecond timestamps, and `container_start_time_seconds`
//! carries none (it is a plain gauge since 1.29).

use super::{ContainerFault, NodeState, PodState};
use std::io::Write;

/// HELP and TYPE lines, as kubelet 1.29+ writes them.
const CONTAINER_CPU: &str = "# HELP container_cpu_usage_seconds_total [STABLE] Cumulative cpu time consumed by the container in core-seconds\n# TYPE container_cpu_usage_seconds_total counter\n";
const CONTAINER_MEMORY: &str =
    "# HELP container_memory_working_set_bytes [STABLE] Current working set of the container in bytes\n# TYPE container_memory_working_set_bytes gauge\n";
const CONTAINER_START: &str =
    "# HELP container_start_time_seconds [STABLE] Start time of the container since unix epoch in seconds\n# TYPE container_start_time_seconds gauge\n";
const CONTAINER_SWAP: &str = "# HELP container_swap_usage_bytes [ALPHA] Current amount of the container swap usage in bytes. Reported only on non-windows systems\n# TYPE container_swap_usage_bytes gauge\n";
const NODE_CPU: &str =
    "# HELP node_cpu_usage_seconds_total [STABLE] Cumulative cpu time consumed by the node in core-seconds\n# TYPE node_cpu_usage_seconds_total counter\n";
const NODE_MEMORY: &str =
    "# HELP node_memory_working_set_bytes [STABLE] Current working set of the node in bytes\n# TYPE node_memory_working_set_bytes gauge\n";
const NODE_SWAP: &str =
    "# HELP node_swap_usage_bytes [ALPHA] Current swap usage of the node in bytes. Reported only on non-windows systems\n# TYPE node_swap_usage_bytes gauge\n";
const POD_CPU: &str =
    "# HELP pod_cpu_usage_seconds_total [STABLE] Cumulative cpu time consumed by the pod in core-seconds\n# TYPE pod_cpu_usage_seconds_total counter\n";
const POD_MEMORY: &str = "# HELP pod_memory_working_set_bytes [STABLE] Current working set of the pod in bytes\n# TYPE pod_memory_working_set_bytes gauge\n";
const POD_SWAP: &str = "# HELP pod_swap_usage_bytes [ALPHA] Current amount of the pod swap usage in bytes. Reported only on non-windows systems\n# TYPE pod_swap_usage_bytes gauge\n";
const SCRAPE_ERRORS: &str = "# HELP resource_scrape_error [STABLE] 1 if there was an error while getting container metrics, 0 otherwise\n# TYPE resource_scrape_error gauge\nresource_scrape_error 0\n# HELP scrape_error [ALPHA] (Deprecated since 1.29.0) 1 if there was an error while getting container metrics, 0 otherwise\n# TYPE scrape_error gauge\nscrape_error 0\n";

/// Lines the `garbage` fault mixes in, in turn: each is bad in a different way, and none names a
/// real series.
const GARBAGE: [&[u8]; 5] = [
    b"container_cpu_usage_seconds_total{container=\"garbage\",namespace=\"garbage\",pod=\"garbage\"} NaN 1\n",
    b"container_memory_working_set_bytes{container=\"garbage\",namespace=\n",
    b"\x00\xff\xfe not prometheus at all \x01\n",
    b"container_start_time_seconds{container=\"garbage\",namespace=\"garbage\",pod=\"garbage\"} -6.7953645788713455e+09 -62135596800000\n",
    b"container_cpu_usage_seconds_total{container=\"garbage\",namespace=\"garbage\",pod=\"garbage\"} 1 2 3\n",
];

/// Writes `v` exactly as Go's `strconv.FormatFloat(v, 'g', -1, 64)` (and Prometheus' `1`, `0`,
/// `NaN`, `+Inf`, `-Inf` special cases) does.
pub fn write_go_float(out: &mut Vec<u8>, v: f64) {
    if v.is_nan() {
        out.extend_from_slice(b"NaN");
        return;
    }
    if v.is_infinite() {
        out.extend_from_slice(if v > 0.0 { b"+Inf" } else { b"-Inf" });
        return;
    }
    if v == 0.0 {
        out.push(b'0');
        return;
    }
    // Rust's `{:e}` gives the shortest round-trip digits, as Go's -1 precision does.
    let mut buf = [0u8; 40];
    let n = {
        let mut cursor = std::io::Cursor::new(&mut buf[..]);
        let _ = write!(cursor, "{v:e}");
        cursor.position() as usize
    };
    let text = &buf[..n];
    let (negative, text) = match text.first() {
        Some(b'-') => (true, &text[1..]),
        _ => (false, text),
    };
    let e_at = text.iter().position(|&b| b == b'e').unwrap_or(text.len());
    let mut digits = [0u8; 24];
    let mut nd = 0;
    for &b in &text[..e_at] {
        if b.is_ascii_digit() && nd < digits.len() {
            digits[nd] = b;
            nd += 1;
        }
    }
    let digits = &digits[..nd];
    let exp: i32 = std::str::from_utf8(&text[(e_at + 1).min(text.len())..]).ok().and_then(|s| s.parse().ok()).unwrap_or(0);
    if negative {
        out.push(b'-');
    }
    // Go: %e when the exponent is < -4 or >= 6 (the shortest-precision rule), else %f.
    if !(-4..6).contains(&exp) {
        out.push(digits[0]);
        if digits.len() > 1 {
            out.push(b'.');
            out.extend_from_slice(&digits[1..]);
        }
        out.push(b'e');
        out.push(if exp < 0 { b'-' } else { b'+' });
        let e = exp.unsigned_abs();
        if e < 10 {
            out.push(b'0');
        }
        let _ = write!(out, "{e}");
    } else if exp >= 0 {
        let int_len = exp as usize + 1;
        for i in 0..int_len {
            out.push(digits.get(i).copied().unwrap_or(b'0'));
        }
        if digits.len() > int_len {
            out.push(b'.');
            out.extend_from_slice(&digits[int_len..]);
        }
    } else {
        out.extend_from_slice(b"0.");
        for _ in 0..(-exp - 1) {
            out.push(b'0');
        }
        out.extend_from_slice(digits);
    }
}

/// Writes a label value with Prometheus escaping.
fn write_label_value(out: &mut Vec<u8>, v: &str) {
    if !v.bytes().any(|b| matches!(b, b'\\' | b'"' | b'\n')) {
        out.extend_from_slice(v.as_bytes());
        return;
    }
    for b in v.bytes() {
        match b {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'"' => out.extend_from_slice(b"\\\""),
            b'\n' => out.extend_from_slice(b"\\n"),
            b => out.push(b),
        }
    }
}

/// Writes a series' name and labels (`name{container="c",namespace="n",pod="p"} `, the
/// container label only for container series), up to its value.
fn write_series_start(out: &mut Vec<u8>, name: &str, container: Option<&str>, pod: &PodState) {
    out.extend_from_slice(name.as_bytes());
    out.push(b'{');
    if let Some(container) = container {
        out.extend_from_slice(b"container=\"");
        write_label_value(out, container);
        out.extend_from_slice(b"\",");
    }
    out.extend_from_slice(b"namespace=\"");
    write_label_value(out, &pod.namespace);
    out.extend_from_slice(b"\",pod=\"");
    write_label_value(out, &pod.name);
    out.extend_from_slice(b"\"} ");
}

/// Renders the node's `/metrics/resource` body at `now_ms` into `out`.
pub(super) fn metrics_resource(node: &NodeState, now_ms: i64, swap: bool, garbage_every: Option<u32>, out: &mut Vec<u8>) {
    let now_ns = now_ms * 1_000_000;
    let mut series = 0u32;
    let mut garbage_turn = 0usize;
    let mut line_done = |out: &mut Vec<u8>| {
        series += 1;
        if let Some(every) = garbage_every
            && every > 0
            && series.is_multiple_of(every)
        {
            out.extend_from_slice(GARBAGE[garbage_turn % GARBAGE.len()]);
            garbage_turn += 1;
        }
    };
    let order = node.order();
    type Value = fn(&super::ContainerState, i64) -> f64;
    let families: [(&str, &str, Value, bool); 4] = [
        (CONTAINER_CPU, "container_cpu_usage_seconds_total", |c, now| c.cpu_ns(now) as f64 / 1e9, true),
        (CONTAINER_MEMORY, "container_memory_working_set_bytes", |c, _| c.memory_bytes as f64, true),
        (CONTAINER_START, "container_start_time_seconds", |c, _| c.start_ns as f64 / 1e9, false),
        (CONTAINER_SWAP, "container_swap_usage_bytes", |c, _| c.swap_bytes as f64, true),
    ];
    for (head, name, value, stamped) in families {
        if name == "container_swap_usage_bytes" && !swap {
            continue;
        }
        out.extend_from_slice(head.as_bytes());
        for &(p, c) in order {
            let pod = &node.pods[p as usize];
            let container = &pod.containers[c as usize];
            let memory_family = name == "container_memory_working_set_bytes";
            if memory_family && container.fault == ContainerFault::NoMemory {
                continue;
            }
            write_series_start(out, name, Some(&container.name), pod);
            let nan_cpu = name == "container_cpu_usage_seconds_total" && container.fault == ContainerFault::NanCpu;
            write_go_float(out, if nan_cpu { f64::NAN } else { value(container, now_ns) });
            if stamped {
                let _ = write!(out, " {now_ms}");
            }
            out.push(b'\n');
            line_done(out);
        }
    }
    out.extend_from_slice(NODE_CPU.as_bytes());
    out.extend_from_slice(b"node_cpu_usage_seconds_total ");
    write_go_float(out, node.node_cpu_ns(now_ns) as f64 / 1e9);
    let _ = writeln!(out, " {now_ms}");
    out.extend_from_slice(NODE_MEMORY.as_bytes());
    out.extend_from_slice(b"node_memory_working_set_bytes ");
    write_go_float(out, node.node_memory_bytes() as f64);
    let _ = writeln!(out, " {now_ms}");
    if swap {
        out.extend_from_slice(NODE_SWAP.as_bytes());
        out.extend_from_slice(b"node_swap_usage_bytes ");
        write_go_float(out, node.pods.iter().flat_map(|p| &p.containers).map(|c| c.swap_bytes).sum::<u64>() as f64);
        let _ = writeln!(out, " {now_ms}");
    }
    type PodValue = fn(&PodState, i64) -> f64;
    let pod_families: [(&str, &str, PodValue); 3] = [
        (POD_CPU, "pod_cpu_usage_seconds_total", |p, now| p.containers.iter().map(|c| c.cpu_ns(now)).sum::<u64>() as f64 / 1e9),
        (POD_MEMORY, "pod_memory_working_set_bytes", |p, _| p.containers.iter().map(|c| c.memory_bytes).sum::<u64>() as f64),
        (POD_SWAP, "pod_swap_usage_bytes", |p, _| p.containers.iter().map(|c| c.swap_bytes).sum::<u64>() as f64),
    ];
    for (head, name, value) in pod_families {
        if name == "pod_swap_usage_bytes" && !swap {
            continue;
        }
        out.extend_from_slice(head.as_bytes());
        for pod in &node.pods {
            write_series_start(out, name, None, pod);
            write_go_float(out, value(pod, now_ns));
            let _ = writeln!(out, " {now_ms}");
        }
    }
    out.extend_from_slice(SCRAPE_ERRORS.as_bytes());
}

fn rfc3339(ns: i64) -> String {
    crate::scrape::to_timestamp(ns).to_string()
}

/// Renders the node's `/stats/summary` body (the fields a metrics server reads) at `now_ms`.
pub(super) fn stats_summary(node: &NodeState, now_ms: i64, swap: bool) -> Vec<u8> {
    use serde_json::{Value, json};
    let now_ns = now_ms * 1_000_000;
    let time = rfc3339(now_ns);
    let swap_of = |bytes: u64| {
        if swap { json!({"time": time, "swapUsageBytes": bytes}) } else { Value::Null }
    };
    let pods: Vec<Value> = node
        .pods
        .iter()
        .map(|p| {
            let containers: Vec<Value> = p
                .containers
                .iter()
                .map(|c| {
                    let mut v = json!({
                        "name": &*c.name,
                        "startTime": rfc3339(c.start_ns - c.start_ns % 1_000_000_000),
                        "cpu": {"time": time, "usageCoreNanoSeconds": c.cpu_ns(now_ns)},
                        "memory": {"time": time, "workingSetBytes": c.memory_bytes},
                    });
                    if swap && let Some(o) = v.as_object_mut() {
                        o.insert("swap".into(), swap_of(c.swap_bytes));
                    }
                    if let Some(o) = v.as_object_mut() {
                        match c.fault {
                            ContainerFault::None => {}
                            ContainerFault::NanCpu => {
                                o.insert("cpu".into(), json!({"time": time}));
                            }
                            ContainerFault::NoMemory => {
                                o.remove("memory");
                            }
                        }
                    }
                    v
                })
                .collect();
            json!({
                "podRef": {"name": &*p.name, "namespace": &*p.namespace, "uid": p.uid()},
                "startTime": rfc3339(p.created_ns),
                "containers": containers,
            })
        })
        .collect();
    let mut node_v = json!({
        "nodeName": &*node.name,
        "startTime": rfc3339(node.boot_ns),
        "cpu": {"time": time, "usageCoreNanoSeconds": node.node_cpu_ns(now_ns)},
        "memory": {"time": time, "workingSetBytes": node.node_memory_bytes()},
    });
    if swap && let Some(o) = node_v.as_object_mut() {
        o.insert("swap".into(), swap_of(node.pods.iter().flat_map(|p| &p.containers).map(|c| c.swap_bytes).sum()));
    }
    serde_json::to_vec(&json!({"node": node_v, "pods": pods})).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn go(v: f64) -> String {
        let mut out = Vec::new();
        write_go_float(&mut out, v);
        String::from_utf8(out).unwrap_or_default()
    }

    #[test]
    fn floats_print_like_go() {
        // Expected strings are what Go's strconv.FormatFloat(v, 'g', -1, 64) prints (and what
        // the captured kubelet bodies contain).
        let cases = [
            (357.35491, "357.35491"),
            (12_533_760.0, "1.253376e+07"),
            (1_616_273_408.0, "1.616273408e+09"),
            (4.710169, "4.710169"),
            (1_704_801_672.613_504_2, "1.7048016726135042e+09"),
            (994_631.562_157, "994631.562157"),
            (495_616.0, "495616"),
            (1_000_000.0, "1e+06"),
            (100.0, "100"),
            (0.5, "0.5"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (1.0, "1"),
            (0.0, "0"),
            (-1.0, "-1"),
            (-2.5e-7, "-2.5e-07"),
            (1e21, "1e+21"),
            (1.5e300, "1.5e+300"),
            (123_456.789, "123456.789"),
            (f64::NAN, "NaN"),
            (f64::INFINITY, "+Inf"),
            (f64::NEG_INFINITY, "-Inf"),
        ];
        for (v, want) in cases {
            assert_eq!(go(v), want, "{v:e}");
        }
    }

    #[test]
    fn label_values_are_escaped() {
        let mut out = Vec::new();
        write_label_value(&mut out, "a\"b\\c\nd");
        assert_eq!(out, b"a\\\"b\\\\c\\nd");
    }
}
