//! The `/metrics/resource` parser on every captured kubelet body in tests/fixtures/kubelet, plus
//! property tests: arbitrary bytes never panic, and good lines around a bad one still parse.

use kubemetrics::scrape::{IssueKind, NodeScrape};
use kubemetrics::scrape::{ParseOptions, Parser, parse_metrics_resource};
use proptest::prelude::*;
use std::path::PathBuf;

fn fixture_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/kubelet")
}

fn fixture(name: &str) -> Vec<u8> {
    let path = fixture_dir().join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

fn ts(rfc3339: &str) -> i64 {
    let t: jiff::Timestamp = rfc3339.parse().expect("timestamp");
    i64::try_from(t.as_nanosecond()).expect("fits")
}

const SCRAPE_TIME: i64 = 1_700_000_000_000_000_000;

fn parse(name: &str) -> NodeScrape {
    parse_metrics_resource(&fixture(name), SCRAPE_TIME).expect("parses")
}

#[test]
fn every_prom_fixture_parses_and_is_covered() {
    let mut names: Vec<String> = std::fs::read_dir(fixture_dir())
        .expect("fixture dir")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".prom"))
        .collect();
    names.sort();
    // A new fixture must get its own test below.
    assert_eq!(names, ["bad-negative-timestamp.prom", "duplicate-series.prom", "metrics-resource-kind-70pods.prom", "metrics-resource-with-start-time.prom"]);
    for name in &names {
        let body = fixture(name);
        let whole = parse(name);
        // Fed one byte at a time, the streaming parser gives the same result.
        let mut p = Parser::default();
        p.begin(SCRAPE_TIME);
        for b in body.chunks(1) {
            p.feed(b).expect("feed");
        }
        let streamed = p.finish().expect("finish");
        assert_eq!(streamed.node(), whole.node(), "{name}");
        assert!(streamed.containers().eq(whole.containers()), "{name}");
        assert_eq!(streamed.issues(), whole.issues(), "{name}");
    }
}

#[test]
fn with_start_time_matches_the_readme() {
    let s = parse("metrics-resource-with-start-time.prom");
    assert!(s.issues().is_empty(), "{:?}", s.issues());
    let node = s.node().expect("node");
    assert_eq!(node.timestamp_ns, ts("2021-10-03T09:36:49.720Z"));
    assert_eq!(node.cpu_ns, 357_354_910_000, "357.35491 core-seconds");
    assert_eq!(node.memory_bytes, 1_616_273_408);
    assert_eq!(node.swap_bytes, None);
    assert_eq!(s.len(), 1, "pod_* series are not containers");
    let c = s.container("kube-system", "coredns-558bd4d5db-4dpjz", "coredns").expect("coredns");
    assert_eq!(c.sample.timestamp_ns, ts("2021-10-03T09:36:52.125Z"));
    assert_eq!(c.sample.cpu_ns, 4_710_169_000, "4.710169 core-seconds");
    assert_eq!(c.sample.memory_bytes, 12_533_760);
    assert_eq!(c.sample.start_time_ns, Some(ts("2021-10-03T09:18:32Z")));
    assert_eq!(c.sample.swap_bytes, None);
    assert_eq!(c.sample.timestamp().to_string(), "2021-10-03T09:36:52.125Z");
}

#[test]
fn seventy_pods() {
    let s = parse("metrics-resource-kind-70pods.prom");
    assert!(s.issues().is_empty(), "{:?}", s.issues());
    assert_eq!(s.len(), 70);
    assert_eq!(s.containers().filter(|c| c.namespace == "sleeper-1").count(), 60);
    assert_eq!(s.containers().filter(|c| c.namespace == "kube-system").count(), 9);
    assert!(s.containers().all(|c| c.sample.start_time_ns.is_none()), "this kubelet sends no start times");
    let node = s.node().expect("node");
    assert_eq!((node.cpu_ns, node.memory_bytes, node.timestamp_ns), (357_354_910_000, 1_616_273_408, 1_633_253_809_720_000_000));
    let etcd = s.container("kube-system", "etcd-e2e-control-plane", "etcd").expect("etcd");
    assert_eq!((etcd.sample.cpu_ns, etcd.sample.memory_bytes, etcd.sample.timestamp_ns), (31_349_402_000, 40_783_872, 1_633_253_814_387_000_000));
    let ms = s.container("kube-system", "metrics-server-66547b68cb-z9lkj", "metrics-server").expect("metrics-server");
    assert_eq!((ms.sample.cpu_ns, ms.sample.memory_bytes), (5_102_405_000, 18_845_696));
    let sl = s.container("sleeper-1", "sleeper-9-5744dbc77c-q6mg9", "sleeper").expect("sleeper");
    assert_eq!((sl.sample.cpu_ns, sl.sample.memory_bytes, sl.sample.timestamp_ns), (1_055_063_000, 495_616, 1_633_253_813_998_000_000));
    // Sorted by (namespace, pod, container).
    let keys: Vec<_> = s.containers().map(|c| (c.namespace, c.pod, c.container)).collect();
    assert!(keys.windows(2).all(|w| w[0] < w[1]));
}

#[test]
fn negative_timestamp_costs_one_series() {
    let s = parse("bad-negative-timestamp.prom");
    assert_eq!(s.issues().len(), 2, "{:#?}", s.issues());
    let bad = &s.issues()[1];
    assert_eq!((bad.line, bad.kind), (2, IssueKind::Timestamp));
    assert!(bad.message.contains("Go's zero time") && bad.message.contains("kubernetes-dashboard-metrics-server-77db45cdf4-fppzx"), "{}", bad.message);
    // The body has no node series: that is reported, not an error.
    assert_eq!(s.issues()[0].kind, IssueKind::Incomplete);
    assert!(s.node().is_none() && s.is_empty());

    // Next to good series, the bad line takes nothing else down.
    let mut body = fixture("metrics-resource-with-start-time.prom");
    body.extend_from_slice(&fixture("bad-negative-timestamp.prom"));
    let s = parse_metrics_resource(&body, SCRAPE_TIME).expect("parses");
    assert!(s.node().is_some());
    assert_eq!(s.len(), 1);
    assert_eq!(s.container_at(0).map(|c| c.pod), Some("coredns-558bd4d5db-4dpjz"));
    assert_eq!(s.issues().iter().map(|i| i.kind).collect::<Vec<_>>(), [IssueKind::Timestamp]);
}

#[test]
fn duplicate_series_resolved_and_reported() {
    let mut body = fixture("metrics-resource-with-start-time.prom");
    body.extend_from_slice(&fixture("duplicate-series.prom"));
    body.extend_from_slice(
        b"container_memory_working_set_bytes{container=\"prometheus\",namespace=\"monitoring-system\",pod=\"prometheus-prometheus-k8s-0\"} 1e9 1773934038841\n\
          container_memory_working_set_bytes{container=\"prometheus\",namespace=\"monitoring-system\",pod=\"prometheus-prometheus-k8s-0\"} 2e9 1773934038962\n",
    );
    let s = parse_metrics_resource(&body, SCRAPE_TIME).expect("parses");
    assert_eq!(s.len(), 2);
    assert!(s.container("kube-system", "coredns-558bd4d5db-4dpjz", "coredns").is_some());
    let p = s.container("monitoring-system", "prometheus-prometheus-k8s-0", "prometheus").expect("kept copy");
    // Newest timestamp wins: the live container, not the zombie cgroup's frozen counter.
    assert_eq!(p.sample.cpu_ns, 295_207_606_798_000);
    assert_eq!(p.sample.memory_bytes, 2_000_000_000, "memory pairs with the CPU line of the same copy");
    assert_eq!(p.sample.timestamp_ns, 1_773_934_038_962_000_000);
    let dups: Vec<_> = s.issues().iter().filter(|i| i.kind == IssueKind::Duplicate).collect();
    assert_eq!(dups.len(), 1, "{:#?}", s.issues());
    assert!(dups[0].message.contains("monitoring-system/prometheus-prometheus-k8s-0/prometheus"));

    // The fixture alone: the CPU lines have no memory, so the container is incomplete, but the
    // duplicate is still resolved and reported.
    let s = parse("duplicate-series.prom");
    assert!(s.issues().iter().any(|i| i.kind == IssueKind::Incomplete && i.message.contains("prometheus-prometheus-k8s-0")));
    assert!(s.is_empty());
}

#[test]
fn huge_body_is_a_clear_error() {
    let body = fixture("metrics-resource-kind-70pods.prom");
    let err = Parser::new(ParseOptions { max_body_bytes: 10_000, ..ParseOptions::default() }).parse(&body, 0).expect_err("over the limit");
    assert_eq!(err.kind(), kubemetrics::ErrorKind::Api);
    assert!(err.message().contains("10000 bytes"), "{}", err.message());
}

fn wanted_lines(body: &str) -> Vec<usize> {
    body.lines().enumerate().filter(|(_, l)| l.starts_with("container_") || l.starts_with("node_")).map(|(i, _)| i).collect()
}

/// Every container of `base` not named in `spoiled` is in `mutated` with the same values, and
/// `mutated` has nothing `base` lacks.
fn good_series_survive(base: &NodeScrape, mutated: &NodeScrape, spoiled: Option<&str>) -> Result<(), TestCaseError> {
    for c in base.containers() {
        if spoiled.is_some_and(|line| line.contains(&format!("pod=\"{}\"", c.pod))) {
            continue;
        }
        let m = mutated.container(c.namespace, c.pod, c.container);
        prop_assert_eq!(m, Some(c), "{}/{}/{} lost", c.namespace, c.pod, c.container);
    }
    for m in mutated.containers() {
        prop_assert!(base.container(m.namespace, m.pod, m.container).is_some());
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(body in proptest::collection::vec(any::<u8>(), 0..2048), split in 1usize..64) {
        let whole = parse_metrics_resource(&body, SCRAPE_TIME).expect("no size error");
        let mut p = Parser::default();
        p.begin(SCRAPE_TIME);
        for chunk in body.chunks(split) {
            p.feed(chunk).expect("feed");
        }
        let streamed = p.finish().expect("finish");
        prop_assert!(streamed.containers().eq(whole.containers()));
        prop_assert_eq!(streamed.issues(), whole.issues());
    }

    #[test]
    fn arbitrary_text_lines_never_panic(lines in proptest::collection::vec(
        prop_oneof![
            "[^\n]{0,60}",
            "(container|node)_(cpu_usage_seconds_total|memory_working_set_bytes|start_time_seconds|swap_usage_bytes)[{}=\",a-z\\\\ ]{0,40}[ 0-9eE.+-]{0,20}",
        ], 0..40)) {
        let body = lines.join("\n");
        let s = parse_metrics_resource(body.as_bytes(), SCRAPE_TIME).expect("parses");
        prop_assert!(s.issues().len() <= 100);
    }

    #[test]
    fn garbage_line_inserted_anywhere(which in 0usize..4, at in any::<prop::sample::Index>(), garbage in "[^\n]{0,80}") {
        let names = ["metrics-resource-kind-70pods.prom", "metrics-resource-with-start-time.prom", "duplicate-series.prom", "bad-negative-timestamp.prom"];
        let text = String::from_utf8(fixture(names[which])).expect("utf-8");
        let base = parse_metrics_resource(text.as_bytes(), SCRAPE_TIME).expect("parses");
        let mut lines: Vec<&str> = text.lines().collect();
        let g = format!("{garbage}{{");
        lines.insert(at.index(lines.len() + 1), &g);
        let mutated = parse_metrics_resource(lines.join("\n").as_bytes(), SCRAPE_TIME).expect("parses");
        good_series_survive(&base, &mutated, None)?;
        prop_assert_eq!(base.node(), mutated.node());
    }

    #[test]
    fn spoiled_value_costs_only_its_series(at in any::<prop::sample::Index>(), bad in prop_oneof![
        Just("NaN"), Just("+Inf"), Just("-Inf"), Just("-1"), Just("abc"), Just("1e"), Just("0x1p3"), Just("1..2"),
    ]) {
        let text = String::from_utf8(fixture("metrics-resource-kind-70pods.prom")).expect("utf-8");
        let base = parse_metrics_resource(text.as_bytes(), SCRAPE_TIME).expect("parses");
        let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
        let wanted = wanted_lines(&text);
        let i = wanted[at.index(wanted.len())];
        let mut parts: Vec<&str> = lines[i].split(' ').collect();
        parts[1] = bad;
        let spoiled = parts.join(" ");
        lines[i] = spoiled.clone();
        let mutated = parse_metrics_resource(lines.join("\n").as_bytes(), SCRAPE_TIME).expect("parses");
        good_series_survive(&base, &mutated, Some(&spoiled))?;
        prop_assert!(mutated.issues().iter().any(|x| x.line as usize == i + 1 && x.kind == IssueKind::Value));
        if spoiled.starts_with("node_") {
            prop_assert!(mutated.node().is_none());
        } else {
            prop_assert_eq!(mutated.len(), base.len() - 1);
            prop_assert_eq!(base.node(), mutated.node());
        }
    }

    #[test]
    fn truncated_line_costs_only_its_series(at in any::<prop::sample::Index>(), cut in any::<prop::sample::Index>()) {
        let text = String::from_utf8(fixture("metrics-resource-kind-70pods.prom")).expect("utf-8");
        let base = parse_metrics_resource(text.as_bytes(), SCRAPE_TIME).expect("parses");
        let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
        let wanted: Vec<usize> = wanted_lines(&text).into_iter().filter(|&i| lines[i].starts_with("container_")).collect();
        let i = wanted[at.index(wanted.len())];
        // Cut inside the label set: never a valid line.
        let close = lines[i].find('}').expect("labels");
        let spoiled = lines[i][..cut.index(close)].to_string();
        let original = lines[i].clone();
        lines[i] = spoiled;
        let mutated = parse_metrics_resource(lines.join("\n").as_bytes(), SCRAPE_TIME).expect("parses");
        good_series_survive(&base, &mutated, Some(&original))?;
        prop_assert_eq!(mutated.len(), base.len() - 1);
    }
}
