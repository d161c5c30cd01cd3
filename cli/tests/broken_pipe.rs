//! `kubemetrics ... | head -1`: when the reader of its output goes away, every printing command
//! stops at once and quietly, killed by SIGPIPE as kubectl (a Go program) is: no panic message, no
//! error text, and a shell sees status 141 as it does for kubectl.
//!
//! Most tests close the reader before the child starts, so the child's first write fails with
//! EPIPE whatever the timing; `top_pod_into_head` reads one line first, as `head -1` does.

#![cfg(unix)]

mod support;

use std::io::BufRead;
use std::os::unix::process::ExitStatusExt;
use std::process::Stdio;
use support::{Closed, Cluster, Ended, StaticApi, kubemetrics_command, run_with_closed, varied_state};

/// SIGPIPE's number (13 on Linux, the BSDs and macOS).
const SIGPIPE: i32 = 13;

fn assert_quiet_sigpipe(what: &str, ended: &Ended) {
    assert_eq!(ended.status.signal(), Some(SIGPIPE), "{what}: killed by SIGPIPE\n{ended:?}");
    assert!(!ended.other.contains("panicked") && !ended.other.contains("Broken pipe"), "{what}: nothing about it on the other stream\n{ended:?}");
}

#[test]
fn top_stops_like_kubectl_when_stdout_is_closed() {
    let cluster = Cluster::start(varied_state());
    for args in [&["top", "pod", "-A"][..], &["top", "node"], &["top", "node", "-o", "json"]] {
        let what = args.join(" ");
        let ours = run_with_closed(cluster.kubemetrics_command(args), Closed::Stdout);
        assert_quiet_sigpipe(&format!("kubemetrics {what}"), &ours);
        assert_eq!(ours.other, "", "kubemetrics {what}: no stderr");
    }
    // kubectl itself, for the record: the same death, the same empty stderr.
    for version in ["1.32", "1.33"] {
        let theirs = run_with_closed(cluster.kubectl_command(Some(version), &["top", "pod", "-A"]), Closed::Stdout);
        assert_eq!(theirs.status.signal(), Some(SIGPIPE), "kubectl {version}: {theirs:?}");
        assert_eq!(theirs.other, "", "kubectl {version}");
    }
}

#[test]
fn top_stops_like_kubectl_when_stderr_is_closed() {
    // "No resources found in empty-namespace namespace." goes to stderr.
    let cluster = Cluster::start(varied_state());
    let args = ["top", "pod", "-n", "empty-namespace"];
    let ours = run_with_closed(cluster.kubemetrics_command(&args), Closed::Stderr);
    let theirs = run_with_closed(cluster.kubectl_command(Some("1.33"), &args), Closed::Stderr);
    assert_eq!(theirs.status.signal(), Some(SIGPIPE), "kubectl: {theirs:?}");
    assert_eq!(ours.status.signal(), theirs.status.signal(), "kubemetrics: {ours:?}");
    assert_eq!(ours.other, theirs.other, "stdout");
}

#[test]
fn top_pod_into_head() {
    // Far more than a pipe buffer (64 KiB) of rows: the write is still going when `head` leaves.
    let cluster = Cluster::start(kubemetrics::testkit::loopback_api::fixtures::scaled(20, 4000));
    let mut child = cluster.kubemetrics_command(&["top", "pod", "-A"]).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("spawn");
    let mut reader = std::io::BufReader::new(child.stdout.take().expect("stdout"));
    let mut first = String::new();
    reader.read_line(&mut first).expect("first line");
    drop(reader);
    let out = child.wait_with_output().expect("wait");
    assert!(first.starts_with("NAMESPACE"), "{first}");
    let ended = Ended { status: out.status, other: String::from_utf8_lossy(&out.stderr).into() };
    assert_quiet_sigpipe("top pod -A | head -1", &ended);
    assert_eq!(ended.other, "");
}

#[test]
fn help_stops_like_kubectl_when_stdout_is_closed() {
    let ours = run_with_closed(kubemetrics_command(&["top", "--help"]), Closed::Stdout);
    assert_quiet_sigpipe("kubemetrics top --help", &ours);
    let cluster = Cluster::start(varied_state());
    let theirs = run_with_closed(cluster.kubectl_command(Some("1.33"), &["top", "--help"]), Closed::Stdout);
    assert_eq!(theirs.status.signal(), Some(SIGPIPE), "kubectl: {theirs:?}");
}

#[test]
fn quantity_stops_quietly() {
    let ended = run_with_closed(kubemetrics_command(&["quantity", "250264852n", "8318172Ki"]), Closed::Stdout);
    assert_quiet_sigpipe("quantity", &ended);
    assert_eq!(ended.other, "");
    let ended = run_with_closed(kubemetrics_command(&["quantity", "-o", "json", "1", "nope"]), Closed::Stdout);
    assert_quiet_sigpipe("quantity -o json", &ended);
    assert_eq!(ended.other, "");
}

fn custom_metrics_api() -> StaticApi {
    let group = r#"{"kind":"APIGroupList","apiVersion":"v1","groups":[{"name":"custom.metrics.k8s.io","versions":[{"groupVersion":"custom.metrics.k8s.io/v1beta2","version":"v1beta2"}],"preferredVersion":{"groupVersion":"custom.metrics.k8s.io/v1beta2","version":"v1beta2"}}]}"#;
    let resources = r#"{"kind":"APIResourceList","apiVersion":"v1","groupVersion":"custom.metrics.k8s.io/v1beta2","resources":[{"name":"pods/http_requests","singularName":"","namespaced":true,"kind":"MetricValueList","verbs":["get"]},{"name":"namespaces/queue_length","singularName":"","namespaced":false,"kind":"MetricValueList","verbs":["get"]}]}"#;
    StaticApi::start(vec![("/apis", group.to_string()), ("/apis/custom.metrics.k8s.io/v1beta2", resources.to_string())])
}

#[test]
fn get_stops_quietly() {
    let api = custom_metrics_api();
    let kubeconfig = api.kubeconfig();
    let kubeconfig = kubeconfig.to_str().expect("utf-8 path");
    // The stand-in really answers: with a reader, the names are printed.
    let out = kubemetrics_command(&["get", "custom", "--kubeconfig", kubeconfig]).output().expect("run");
    assert!(out.status.success(), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "pods/http_requests\nnamespaces/queue_length\n");
    let ended = run_with_closed(kubemetrics_command(&["get", "custom", "--kubeconfig", kubeconfig]), Closed::Stdout);
    assert_quiet_sigpipe("get custom", &ended);
    assert_eq!(ended.other, "");
}

#[test]
fn demo_once_stops_quietly() {
    let cmd = kubemetrics_command(&["demo", "--once", "--nodes", "1", "--pods-per-node", "2", "--resolution", "1s"]);
    let ended = run_with_closed(cmd, Closed::Stdout);
    assert_quiet_sigpipe("demo --once", &ended);
    assert!(ended.other.starts_with("starting 1 simulated kubelets"), "its progress lines still reach stderr: {ended:?}");
}
