//! Shared by the CLI tests: a loopback API server with varied fixtures, and runners for the
//! real kubectl and our binary against it.

#![allow(dead_code)]

use k8s_openapi::api::core::v1::{Node, NodeStatus, Pod, PodSpec, PodStatus};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity as K8sQuantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use kubemetrics::loopback_api::{ClusterState, LoopbackApiServer};
use kubemetrics::{ContainerMetrics, GoDuration, NodeMetrics, PodMetrics, Quantity};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A running loopback server with its own runtime, kubeconfig file and kubectl cache dir.
pub struct Cluster {
    pub server: LoopbackApiServer,
    pub dir: PathBuf,
    _rt: tokio::runtime::Runtime,
}

pub struct Output {
    pub stdout: String,
    pub stderr: String,
    pub code: i32,
}

impl std::fmt::Debug for Output {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "exit {}\n--- stdout\n{}--- stderr\n{}", self.code, self.stdout, self.stderr)
    }
}

fn labels(pairs: &[(&str, &str)]) -> Option<BTreeMap<String, String>> {
    Some(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect())
}

fn time(s: &str) -> Time {
    Time(s.parse().expect("timestamp"))
}

fn usage(cpu: &str, memory: &str) -> BTreeMap<String, Quantity> {
    [("cpu", cpu), ("memory", memory)].into_iter().map(|(k, v)| (k.to_string(), v.parse().expect(v))).collect()
}

fn rl(cpu: &str, memory: &str) -> Option<BTreeMap<String, K8sQuantity>> {
    Some([("cpu", cpu), ("memory", memory), ("pods", "110")].into_iter().map(|(k, v)| (k.to_string(), K8sQuantity(v.to_string()))).collect())
}

pub fn node(name: &str, alloc: (&str, &str), capacity: (&str, &str), l: &[(&str, &str)]) -> Node {
    Node {
        metadata: ObjectMeta { name: Some(name.into()), labels: labels(l), creation_timestamp: Some(time("2024-01-01T00:00:00Z")), ..Default::default() },
        status: Some(NodeStatus { allocatable: rl(alloc.0, alloc.1), capacity: rl(capacity.0, capacity.1), ..Default::default() }),
        ..Default::default()
    }
}

pub fn make_node_metrics(name: &str, cpu: &str, memory: &str, l: &[(&str, &str)]) -> NodeMetrics {
    NodeMetrics {
        metadata: ObjectMeta { name: Some(name.into()), labels: labels(l), creation_timestamp: Some(time("2024-01-01T00:10:00Z")), ..Default::default() },
        timestamp: time("2024-01-01T00:09:50Z"),
        window: GoDuration::from_secs(20),
        usage: usage(cpu, memory),
    }
}

pub fn pod(ns: &str, name: &str, l: &[(&str, &str)], created: &str) -> Pod {
    Pod {
        metadata: ObjectMeta { name: Some(name.into()), namespace: Some(ns.into()), labels: labels(l), creation_timestamp: Some(time(created)), ..Default::default() },
        spec: Some(PodSpec { node_name: Some("node-a".into()), ..Default::default() }),
        status: Some(PodStatus { phase: Some("Running".into()), ..Default::default() }),
    }
}

pub fn make_pod_metrics(ns: &str, name: &str, l: &[(&str, &str)], containers: &[(&str, &str, &str)]) -> PodMetrics {
    PodMetrics {
        metadata: ObjectMeta { name: Some(name.into()), namespace: Some(ns.into()), labels: labels(l), creation_timestamp: Some(time("2024-01-01T00:10:00Z")), ..Default::default() },
        timestamp: time("2024-01-01T00:09:50Z"),
        window: GoDuration::from_millis(14982),
        containers: containers.iter().map(|(n, c, m)| ContainerMetrics { name: n.to_string(), usage: usage(c, m) }).collect(),
    }
}

/// Three nodes (one without metrics), pods in three namespaces with multi-container pods,
/// quantities in every suffix, and ties in CPU and memory.
pub fn varied_state() -> ClusterState {
    let nodes = vec![
        node("node-a", ("3920m", "15Gi"), ("4", "16Gi"), &[("tier", "a"), ("zone", "z1")]),
        node("node-b", ("2", "8032120Ki"), ("2", "8132120Ki"), &[("tier", "b"), ("zone", "z1")]),
        node("node-c", ("8", "32Gi"), ("8", "32Gi"), &[("tier", "a"), ("zone", "z2")]),
    ];
    let node_metrics = vec![
        make_node_metrics("node-b", "551516196n", "13280692Ki", &[("tier", "b"), ("zone", "z1")]),
        make_node_metrics("node-a", "1630534153n", "8318172Ki", &[("tier", "a"), ("zone", "z1")]),
    ];
    let old = "2024-01-01T00:00:00Z";
    let mut pods = Vec::new();
    let mut pod_metrics = Vec::new();
    let spec: &[(&str, &str, &[(&str, &str)], &[(&str, &str, &str)])] = &[
        ("default", "web-7f9c-abcde", &[("app", "web")], &[("nginx", "969654n", "15012Ki"), ("sidecar", "1m", "2Mi")]),
        ("default", "web-7f9c-fghij", &[("app", "web")], &[("nginx", "1500m", "1.5Gi"), ("sidecar", "1m", "2Mi")]),
        ("default", "redis-master-fsx46", &[("app", "redis")], &[("master", "250264852n", "100M")]),
        ("default", "batch-1", &[("app", "batch")], &[("worker", "2", "12e6"), ("helper", "0.5", "1Gi"), ("init-copy", "0", "0")]),
        ("kube-system", "coredns-558bd4d5db-4dpjz", &[("k8s-app", "kube-dns")], &[("coredns", "4710169n", "12533760")]),
        ("kube-system", "etcd-node-a", &[("component", "etcd")], &[("etcd", "25m", "60Mi")]),
        ("kube-system", "kube-apiserver-node-a", &[("component", "kube-apiserver")], &[("kube-apiserver", "25m", "250Mi")]),
        ("monitoring", "prometheus-0", &[("app", "prometheus")], &[("prometheus", "120m", "1Gi"), ("config-reloader", "1m", "20Mi")]),
        ("monitoring", "alertmanager-0", &[("app", "alertmanager")], &[("alertmanager", "2m", "20Mi")]),
    ];
    for (ns, name, l, containers) in spec {
        pods.push(pod(ns, name, l, old));
        pod_metrics.push(make_pod_metrics(ns, name, l, containers));
    }
    ClusterState { nodes, pods, node_metrics, pod_metrics, metrics_api: true, fault: None }
}

impl Cluster {
    pub fn start(state: ClusterState) -> Cluster {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().expect("runtime");
        let server = rt.block_on(LoopbackApiServer::start(state)).expect("server");
        let dir = std::env::temp_dir().join(format!("km-cli-test-{}-{}", std::process::id(), server.addr().port()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        std::fs::write(dir.join("kubeconfig"), server.kubeconfig("default")).expect("kubeconfig");
        Cluster { server, dir, _rt: rt }
    }

    pub fn kubeconfig(&self) -> PathBuf {
        self.dir.join("kubeconfig")
    }

    pub fn state(&self) -> std::sync::Arc<std::sync::RwLock<ClusterState>> {
        self.server.state()
    }

    /// Runs the real kubectl (`version` e.g. "1.32"; `None` for the one on PATH).
    pub fn kubectl(&self, version: Option<&str>, args: &[&str]) -> Output {
        let program = match version {
            Some(v) => kubectl_dir().join(format!("kubectl.{v}")),
            None => PathBuf::from("kubectl"),
        };
        let cache = self.dir.join(format!("cache-{}", version.unwrap_or("path")));
        let mut cmd = Command::new(&program);
        cmd.arg("--kubeconfig").arg(self.kubeconfig()).arg("--cache-dir").arg(&cache).args(args);
        run(cmd, &program)
    }

    /// Runs `kubemetrics`.
    pub fn kubemetrics(&self, args: &[&str]) -> Output {
        let program = PathBuf::from(env!("CARGO_BIN_EXE_kubemetrics"));
        let mut cmd = Command::new(&program);
        cmd.args(args).arg("--kubeconfig").arg(self.kubeconfig());
        run(cmd, &program)
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn run(mut cmd: Command, program: &Path) -> Output {
    cmd.env_remove("KUBECONFIG").env("HOME", std::env::temp_dir());
    let out = cmd.output().unwrap_or_else(|e| panic!("cannot run {}: {e} (is it installed?)", program.display()));
    Output { stdout: String::from_utf8_lossy(&out.stdout).into(), stderr: String::from_utf8_lossy(&out.stderr).into(), code: out.status.code().unwrap_or(-1) }
}

/// The folder holding `kubectl.1.27` … `kubectl.1.33` (beside the file `kubectl` resolves to).
pub fn kubectl_dir() -> PathBuf {
    let which = Command::new("sh").args(["-c", "readlink -f \"$(command -v kubectl)\""]).output().expect("sh");
    let path = PathBuf::from(String::from_utf8_lossy(&which.stdout).trim());
    path.parent().map(Path::to_path_buf).expect("kubectl must be on PATH")
}
