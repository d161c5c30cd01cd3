//! `kubemetrics top` against the real kubectl 1.32 and 1.33 (the versioned binaries, not the
//! `kubectl` on PATH, which dispatches by server version), on the same loopback API server:
//! stdout, stderr and exit status must be identical for every supported flag combination.

mod support;

use kubemetrics::testkit::loopback_api::Fault;
use support::{Cluster, varied_state};

fn assert_same(cluster: &Cluster, args: &[&str]) {
    let ours = cluster.kubemetrics(args);
    for version in ["1.32", "1.33"] {
        let theirs = cluster.kubectl(Some(version), args);
        assert_same_output(&theirs, &ours, version, args);
    }
}

fn assert_same_output(theirs: &support::Output, ours: &support::Output, version: &str, args: &[&str]) {
    let _ = version;
    assert_eq!(theirs.code, ours.code, "kubectl {version}: exit status of `top {}`\nkubectl: {theirs:?}\nkubemetrics: {ours:?}", args.join(" "));
    assert_eq!(theirs.stdout, ours.stdout, "stdout of `{}`\nkubectl: {theirs:?}\nkubemetrics: {ours:?}", args.join(" "));
    assert_eq!(theirs.stderr, ours.stderr, "stderr of `{}`", args.join(" "));
}

#[test]
fn top_node_tables_are_identical() {
    let cluster = Cluster::start(varied_state());
    for args in [
        &["top", "node"][..],
        &["top", "node", "--no-headers"],
        &["top", "node", "--sort-by=cpu"],
        &["top", "node", "--sort-by=memory"],
        &["top", "node", "--sort-by="],
        &["top", "node", "--show-capacity"],
        &["top", "node", "-l", "tier=b"],
        &["top", "node", "-l", "zone in (z1)", "--sort-by=memory"],
        &["top", "nodes", "node-a"],
        &["top", "no", "node-a", "--show-capacity", "--no-headers"],
    ] {
        assert_same(&cluster, args);
    }
    // Sanity: the table really has data (a test that compares two empty outputs proves nothing).
    let out = cluster.kubemetrics(&["top", "node"]);
    assert!(out.stdout.contains("node-a") && out.stdout.contains("1631m") && out.stdout.contains("<unknown>"), "{out:?}");
}

#[test]
fn top_pod_tables_are_identical() {
    let cluster = Cluster::start(varied_state());
    for args in [
        &["top", "pod"][..],
        &["top", "pod", "-A"],
        &["top", "pod", "-A", "--containers"],
        &["top", "pod", "-A", "--sum"],
        &["top", "pod", "-A", "--containers", "--sum"],
        &["top", "pod", "-A", "--sum", "--no-headers"],
        &["top", "pod", "-A", "--containers", "--sum", "--no-headers"],
        &["top", "pod", "--sum"],
        &["top", "pod", "-n", "kube-system"],
        &["top", "pod", "-n", "kube-system", "--containers", "--sort-by=memory"],
        &["top", "pod", "-A", "--sort-by=cpu"],
        &["top", "pod", "-A", "--sort-by=memory"],
        &["top", "pod", "-A", "--sort-by=cpu", "--containers"],
        &["top", "pod", "-A", "-l", "app=web"],
        &["top", "pod", "-A", "-l", "app notin (web,redis)", "--sum"],
        &["top", "pod", "-A", "--field-selector", "metadata.namespace=monitoring"],
        &["top", "pod", "batch-1", "--containers"],
        &["top", "pods", "-n", "monitoring", "prometheus-0"],
        &["top", "po", "-n", "default", "--no-headers", "--sort-by=memory"],
    ] {
        assert_same(&cluster, args);
    }
    let out = cluster.kubemetrics(&["top", "pod", "-A", "--sum"]);
    assert!(out.stdout.contains("coredns-558bd4d5db-4dpjz") && out.stdout.contains("________"), "{out:?}");
}

#[test]
fn errors_and_exit_codes_are_identical() {
    let cluster = Cluster::start(varied_state());
    for args in [
        &["top", "node", "node-zzz"][..],
        &["top", "pod", "missing-pod"],
        &["top", "pod", "-n", "empty-namespace"],
        &["top", "node", "--sort-by=disk"],
        &["top", "node", "--sort-by=name"],
        &["top", "pod", "-A", "--sort-by=CPU"],
        &["top", "pod", "--sort-by", "name", "-n", "kube-system"],
        &["top", "pod", "web-7f9c-abcde", "-l", "app=web"],
    ] {
        assert_same(&cluster, args);
    }
    cluster.state().write().expect("lock").metrics_api = false;
    assert_same(&cluster, &["top", "node"]);
    assert_same(&cluster, &["top", "pod", "-A"]);
    cluster.state().write().expect("lock").metrics_api = true;
    for fault in [Fault::Forbidden, Fault::InternalError, Fault::Unauthorized] {
        cluster.state().write().expect("lock").fault = Some(fault);
        assert_same(&cluster, &["top", "node"]);
    }
}

#[test]
fn no_metrics_yet_messages_match() {
    let mut state = varied_state();
    state.pod_metrics.clear();
    state.node_metrics.clear();
    let cluster = Cluster::start(state);
    assert_same(&cluster, &["top", "node"]);
    // Pods older than two minutes without metrics: kubectl names the first one and its age.
    let ours = cluster.kubemetrics(&["top", "pod", "-n", "kube-system"]);
    let theirs = cluster.kubectl(Some("1.32"), &["top", "pod", "-n", "kube-system"]);
    assert_eq!((ours.code, theirs.code), (1, 1));
    let prefix = "error: Metrics not available for pod kube-system/coredns-558bd4d5db-4dpjz, age: ";
    assert!(ours.stderr.starts_with(prefix), "{ours:?}");
    assert!(theirs.stderr.starts_with(prefix), "{theirs:?}");
}
