//! A simulated kubelet fleet for tests, benchmarks and `kubemetrics demo`.
//!
//! [`Fleet::start`] binds one HTTP/1.1 server per simulated node, **on 127.0.0.1 only** (an
//! ephemeral port each), all served from the current tokio runtime: plain HTTP, or HTTPS with
//! kubelet-style client authentication when [`FleetConfig::tls`] is set. Each node answers:
//! - `GET /metrics/resource`: the exact kubelet 1.29+ Prometheus text (see [`render`]), with
//!   CPU counters that grow at each container's configured rate (in millicores) and the
//!   configured memory working sets;
//! - `GET /stats/summary`: the same numbers as a kubelet stats summary (the fallback path);
//! - `GET /healthz`: `ok`.
//!
//! Bodies are rendered on demand from a few numbers per container (no per-node body is kept), so
//! one process can simulate 10,000+ nodes. Pods can be added, removed and restarted at runtime
//! and per-node [`Faults`] injected (HTTP errors, garbage lines, slow answers, hangs, huge
//! bodies, a kubelet without `/metrics/resource`), and per-container [`ContainerFault`]s (a `NaN`
//! CPU counter, a missing memory series) set. The inventory ([`Fleet::inventory`],
//! [`Fleet::nodes`], [`Fleet::pods`]) lets a fake API server list the matching Node and Pod
//! objects; each Node's `status.daemonEndpoints.kubeletEndpoint.port` is its simulated port.
//!
//! [`ControlServer`] serves a fleet's inventory and changes as JSON over HTTP, for processes that
//! drive a fleet running elsewhere (`kubemetrics simulate`).
//!
//! Every number is deterministic given [`FleetConfig::seed`], except the wall-clock time the
//! counters are read at. Times are whole milliseconds, like kubelet timestamps. A container's CPU
//! counter at a body's timestamp `t` is exactly `millicores × (t − start) / 1000`
//! nanocore-seconds (piecewise, when its rate was changed), so a metrics server computing
//! `Δcpu / Δt` between two scrapes gets the configured rate back exactly.

pub mod control;
pub mod render;
mod server;

pub use control::ControlServer;

use crate::error::{Error, ErrorKind, Result};
use k8s_openapi::api::core::v1::{
    Container, ContainerStatus, DaemonEndpoint, Node, NodeAddress, NodeCondition, NodeDaemonEndpoints, NodeStatus, NodeSystemInfo, Pod, PodSpec, PodStatus,
    ResourceRequirements,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity as K8sQuantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

/// Shape of a simulated fleet.
#[derive(Clone, Debug, PartialEq)]
pub struct FleetConfig {
    /// Number of nodes (each gets its own port on 127.0.0.1).
    pub nodes: usize,
    /// Pods per node at start.
    pub pods_per_node: usize,
    /// Containers per pod (at least 1).
    pub containers_per_pod: usize,
    /// Number of namespaces the pods are spread over.
    pub namespaces: usize,
    /// Range of per-container CPU rates, in millicores (inclusive).
    pub cpu_millicores: (u32, u32),
    /// Range of per-container memory working sets, in bytes (inclusive).
    pub memory_bytes: (u64, u64),
    /// Oldest a container may be at start (its start time is drawn in `[now − max, now − 1 min]`).
    pub max_container_age: Duration,
    /// Node names are this prefix and a 5-digit index (`sim-node-00000`).
    pub node_name_prefix: String,
    /// CPU the node uses besides its containers, in millicores.
    pub node_overhead_millicores: u32,
    /// Memory the node uses besides its containers, in bytes.
    pub node_overhead_bytes: u64,
    /// Node capacity `(millicores, bytes)` reported in the Node objects.
    pub node_capacity: (u32, u64),
    /// Emit the swap families (as Linux kubelets 1.29+ do, with the containers' swap values).
    pub swap: bool,
    /// Seed of every name and number drawn.
    pub seed: u64,
    /// Bind node `i` on the first free port from `first_port + i` upward instead of on an
    /// ephemeral port. `None` (the default) means ephemeral ports for fleets under 2,000 nodes
    /// and ports from 10000 upward for bigger ones: past about 5,000 listeners the kernel's
    /// search for a free ephemeral port slows down sharply (10,000 binds took 7.8 s instead of
    /// 0.4 s), and the ephemeral range is better left to client connections.
    pub first_port: Option<u16>,
    /// Serve every kubelet over HTTPS with this certificate (and optionally ask for client
    /// certificates), as kubelets do on port 10250. `None` (the default): plain HTTP.
    pub tls: Option<FleetTls>,
    /// Accept `Authorization: Bearer <this>` as an authenticated request (kubelet's webhook token
    /// authentication, reduced to one known token). See [`FleetTls::client_ca_file`] for when
    /// unauthenticated requests are refused.
    pub require_token: Option<String>,
    /// Spread the nodes over this many loopback addresses, `127.0.0.1` to `127.0.0.N` (1 to 254:
    /// never outside 127.0.0.0/8), node `i` on address `i mod N`, each address with its own
    /// ports from [`first_port`](Self::first_port): N addresses hold N times the listeners one
    /// address can (about 55,000 from port 10000), as a 65,000-node fleet needs. The Node
    /// objects' `InternalIP` and the Pods' `hostIP` follow. Default 1.
    pub loopback_addresses: u8,
}

/// The loopback address of node `index` among `count` addresses (`127.0.0.1` + `index mod count`).
pub fn loopback_address(index: usize, count: u8) -> std::net::Ipv4Addr {
    let count = usize::from(count.clamp(1, 254));
    std::net::Ipv4Addr::new(127, 0, 0, 1 + (index % count) as u8)
}

/// HTTPS for the simulated kubelets: kubelet's `--tls-cert-file`, `--tls-private-key-file` and
/// `--client-ca-file`.
///
/// Authentication works like a kubelet's with `--anonymous-auth=false`: when a client CA or
/// [`FleetConfig::require_token`] is set, every request must bring a client certificate that
/// verifies against the client CA or the bearer token, else it gets `401 Unauthorized`. As in
/// kubelet (Go's `tls.RequestClientCert`), the TLS handshake itself never fails for a missing or
/// untrusted client certificate; the certificate is checked per connection after it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FleetTls {
    /// PEM certificate chain every kubelet serves (re-read when the file changes).
    pub cert_file: std::path::PathBuf,
    /// Its PEM private key.
    pub key_file: std::path::PathBuf,
    /// PEM CA bundle that client certificates are verified against.
    pub client_ca_file: Option<std::path::PathBuf>,
}

impl Default for FleetConfig {
    fn default() -> Self {
        FleetConfig {
            nodes: 3,
            pods_per_node: 10,
            containers_per_pod: 1,
            namespaces: 3,
            cpu_millicores: (5, 500),
            memory_bytes: (16 << 20, 512 << 20),
            max_container_age: Duration::from_secs(6 * 3600),
            node_name_prefix: "sim-node-".into(),
            node_overhead_millicores: 150,
            node_overhead_bytes: 600 << 20,
            node_capacity: (4000, 16 << 30),
            swap: true,
            seed: 1,
            first_port: None,
            tls: None,
            require_token: None,
            loopback_addresses: 1,
        }
    }
}

/// Faults a simulated node can be told to show. They combine; the default is none.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Faults {
    /// Answer every request with this HTTP status (e.g. 500) and a short text body.
    pub status: Option<u16>,
    /// After every N series lines of `/metrics/resource`, add a garbage line (bad in one of
    /// several ways, never naming a real series).
    pub garbage_every: Option<u32>,
    /// Wait this long before answering.
    pub delay: Option<Duration>,
    /// Never answer (until the fleet shuts down).
    pub hang: bool,
    /// Pad `/metrics/resource` with comment lines up to at least this many bytes.
    pub body_bytes: Option<usize>,
    /// Answer 404 on `/metrics/resource`, as kubelets before 1.18 do (`/stats/summary` still works).
    pub no_resource_endpoint: bool,
}

/// How one simulated container's own series are spoiled, in both bodies (see
/// [`Fleet::set_container_fault`]). The pod-level and node series stay as they are.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ContainerFault {
    /// Nothing wrong (the default).
    #[default]
    None,
    /// `container_cpu_usage_seconds_total` reads `NaN` (in `/stats/summary`: no
    /// `usageCoreNanoSeconds`), as a kubelet writes a counter it could not read.
    NanCpu,
    /// No `container_memory_working_set_bytes` series (in `/stats/summary`: no `memory`), as a
    /// kubelet omits stats it has not collected yet.
    NoMemory,
}

/// A container to add with [`Fleet::add_pod`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SimContainer {
    /// Container name.
    pub name: String,
    /// CPU it uses, in millicores.
    pub cpu_millicores: u32,
    /// Its memory working set, in bytes.
    pub memory_bytes: u64,
    /// Swap it uses, in bytes.
    pub swap_bytes: u64,
    /// Its CPU request, in millicores (for the Pod object).
    pub cpu_request_millicores: u32,
    /// Its memory request, in bytes (for the Pod object).
    pub memory_request_bytes: u64,
}

/// A pod to add with [`Fleet::add_pod`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SimPod {
    /// Namespace.
    pub namespace: String,
    /// Pod name.
    pub name: String,
    /// The `app` label.
    pub app: String,
    /// Its containers.
    pub containers: Vec<SimContainer>,
}

/// A container as listed by [`Fleet::inventory`]: what it was added with (its fields read
/// through, `info.cpu_millicores`), when it started and how often it restarted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContainerInfo {
    /// Name, usage and requests, as [`Fleet::add_pod`] takes them.
    pub spec: SimContainer,
    /// When the current instance started.
    pub started: jiff::Timestamp,
    /// Restarts so far.
    pub restarts: u32,
}

impl std::ops::Deref for ContainerInfo {
    type Target = SimContainer;
    fn deref(&self) -> &SimContainer {
        &self.spec
    }
}

/// A pod as listed by [`Fleet::inventory`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PodInfo {
    /// Namespace.
    pub namespace: String,
    /// Pod name.
    pub name: String,
    /// A stable UID derived from the names and creation time.
    pub uid: String,
    /// Labels (`app`).
    pub labels: BTreeMap<String, String>,
    /// The node it runs on.
    pub node_name: String,
    /// Creation time.
    pub created: jiff::Timestamp,
    /// Containers.
    pub containers: Vec<ContainerInfo>,
}

/// A node as listed by [`Fleet::inventory`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeInfo {
    /// Node name.
    pub name: String,
    /// Where its kubelet listens (on a loopback address: 127.0.0.1 unless
    /// [`FleetConfig::loopback_addresses`] is more than 1).
    pub addr: SocketAddr,
    /// Labels (`kubernetes.io/hostname`, `kubernetes.io/os`, ...).
    pub labels: BTreeMap<String, String>,
    /// CPU capacity, in millicores.
    pub cpu_capacity_millicores: u32,
    /// Memory capacity, in bytes.
    pub memory_capacity_bytes: u64,
    /// Boot time.
    pub boot: jiff::Timestamp,
    /// Its pods.
    pub pods: Vec<PodInfo>,
}

/// One container's live state (about 80 bytes).
#[derive(Debug)]
pub(crate) struct ContainerState {
    pub(crate) name: Arc<str>,
    pub(crate) cpu_milli: u32,
    pub(crate) memory_bytes: u64,
    pub(crate) swap_bytes: u64,
    pub(crate) start_ns: i64,
    /// CPU counter at `acc_at_ns` (rates can change; the counter is piecewise linear).
    acc_ns: u64,
    acc_at_ns: i64,
    request_milli: u32,
    request_memory: u64,
    restarts: u32,
    pub(crate) fault: ContainerFault,
}

impl ContainerState {
    /// CPU counter at `now_ns`, in nanocore-seconds.
    pub(crate) fn cpu_ns(&self, now_ns: i64) -> u64 {
        let elapsed = now_ns.saturating_sub(self.acc_at_ns).max(0) as u128;
        let grown = u128::from(self.cpu_milli) * elapsed / 1000;
        self.acc_ns.saturating_add(u64::try_from(grown).unwrap_or(u64::MAX))
    }

    fn set_rate(&mut self, milli: u32, now_ns: i64) {
        self.acc_ns = self.cpu_ns(now_ns);
        self.acc_at_ns = now_ns;
        self.cpu_milli = milli;
    }
}

/// One pod's live state.
#[derive(Debug)]
pub(crate) struct PodState {
    pub(crate) namespace: Arc<str>,
    pub(crate) name: Box<str>,
    app: Arc<str>,
    pub(crate) created_ns: i64,
    pub(crate) containers: Vec<ContainerState>,
}

impl PodState {
    pub(crate) fn uid(&self) -> String {
        let h = hash64(&[self.namespace.as_bytes(), self.name.as_bytes(), &self.created_ns.to_le_bytes()]);
        let g = hash64(&[&h.to_le_bytes()]);
        format!("{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}", h >> 32, (h >> 16) & 0xffff, h & 0xfff, g >> 52, g & 0xffff_ffff_ffff)
    }
}

/// One node's live state.
#[derive(Debug)]
pub(crate) struct NodeState {
    pub(crate) name: Arc<str>,
    pub(crate) boot_ns: i64,
    overhead_milli: u32,
    overhead_bytes: u64,
    node_acc_ns: u64,
    node_acc_at_ns: i64,
    /// Sorted by (namespace, name), as kubelet sorts pod series.
    pub(crate) pods: Vec<PodState>,
    /// (pod, container) in the order kubelet sorts container series: (container, namespace, pod).
    order: Vec<(u32, u32)>,
    faults: Faults,
    body_hint: usize,
}

impl NodeState {
    pub(crate) fn order(&self) -> &[(u32, u32)] {
        &self.order
    }

    fn rate_milli(&self) -> u64 {
        u64::from(self.overhead_milli) + self.pods.iter().flat_map(|p| &p.containers).map(|c| u64::from(c.cpu_milli)).sum::<u64>()
    }

    /// Node CPU counter at `now_ns`.
    pub(crate) fn node_cpu_ns(&self, now_ns: i64) -> u64 {
        let elapsed = now_ns.saturating_sub(self.node_acc_at_ns).max(0) as u128;
        self.node_acc_ns.saturating_add(u64::try_from(u128::from(self.rate_milli()) * elapsed / 1000).unwrap_or(u64::MAX))
    }

    /// Node working set: its overhead plus its containers'.
    pub(crate) fn node_memory_bytes(&self) -> u64 {
        self.overhead_bytes + self.pods.iter().flat_map(|p| &p.containers).map(|c| c.memory_bytes).sum::<u64>()
    }

    /// Folds the node counter up to `now_ns` before its rate changes.
    fn advance(&mut self, now_ns: i64) {
        self.node_acc_ns = self.node_cpu_ns(now_ns);
        self.node_acc_at_ns = now_ns;
    }

    fn reorder(&mut self) {
        self.pods.sort_by(|a, b| (&*a.namespace, &*a.name).cmp(&(&*b.namespace, &*b.name)));
        let mut order: Vec<(u32, u32)> =
            self.pods.iter().enumerate().flat_map(|(p, pod)| (0..pod.containers.len()).map(move |c| (p as u32, c as u32))).collect();
        let key = |&(p, c): &(u32, u32)| {
            let pod = &self.pods[p as usize];
            (pod.containers[c as usize].name.clone(), pod.namespace.clone(), &*pod.name)
        };
        order.sort_by(|a, b| key(a).cmp(&key(b)));
        self.order = order;
    }

    fn pod_mut(&mut self, namespace: &str, name: &str) -> Result<&mut PodState> {
        let node = self.name.clone();
        self.pods
            .iter_mut()
            .find(|p| &*p.namespace == namespace && &*p.name == name)
            .ok_or_else(|| Error::new(ErrorKind::NotFound, format!("simulated node {node} has no pod {namespace}/{name}")))
    }
}

/// One node of the fleet: its address, its state and a request counter.
#[derive(Debug)]
pub(crate) struct NodeCell {
    pub(crate) name: Arc<str>,
    pub(crate) addr: SocketAddr,
    pub(crate) state: Mutex<NodeState>,
    pub(crate) requests: AtomicU64,
}

impl NodeCell {
    pub(crate) fn lock(&self) -> MutexGuard<'_, NodeState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A simulated fleet of kubelets. Dropping it stops every server.
#[derive(Debug)]
pub struct Fleet {
    shared: Arc<server::Shared>,
    by_name: HashMap<Arc<str>, usize>,
    config: FleetConfig,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

/// Unix time now, in nanoseconds, truncated to the millisecond (the resolution of kubelet
/// timestamps): with every start and rate change on a whole millisecond, a counter read at a
/// body's timestamp is exact, and never read before a change that preceded the request.
pub(crate) fn now_ns() -> i64 {
    let d = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX / 1_000_000) * 1_000_000
}

fn hash64(parts: &[&[u8]]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for &b in *part {
            h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
        h = (h ^ 0xff).wrapping_mul(0x0100_0000_01b3);
    }
    h ^ (h >> 29)
}

/// A small deterministic generator (splitmix64).
#[derive(Debug)]
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        if hi <= lo { lo } else { lo + self.next() % (hi - lo + 1) }
    }

    /// Kubernetes' name-suffix alphabet (no vowels, no look-alikes).
    fn suffix(&mut self, len: usize) -> String {
        const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
        (0..len).map(|_| ALPHABET[(self.next() % ALPHABET.len() as u64) as usize] as char).collect()
    }
}

const NAMESPACES: [&str; 8] = ["default", "kube-system", "monitoring", "web", "batch", "payments", "search", "ingress"];
const APPS: [&str; 10] = ["api", "web", "worker", "cache", "db-proxy", "frontend", "indexer", "scheduler", "auth", "gateway"];
const CONTAINERS: [&str; 4] = ["app", "sidecar", "envoy", "log-shipper"];

fn namespace_name(i: usize) -> String {
    if i < NAMESPACES.len() { NAMESPACES[i].to_string() } else { format!("team-{i}") }
}

fn container_state(spec: &SimContainer, start_ns: i64, name: Arc<str>) -> ContainerState {
    ContainerState {
        name,
        cpu_milli: spec.cpu_millicores,
        memory_bytes: spec.memory_bytes,
        swap_bytes: spec.swap_bytes,
        start_ns,
        acc_ns: 0,
        acc_at_ns: start_ns,
        request_milli: spec.cpu_request_millicores,
        request_memory: spec.memory_request_bytes,
        restarts: 0,
        fault: ContainerFault::None,
    }
}

/// Binds the listeners of nodes `0, 1, 2, ...` on their loopback addresses ([`loopback_address`]),
/// each address counting its own ports from a first port (ephemeral ports without one).
#[derive(Debug)]
pub struct LoopbackPorts {
    addresses: u8,
    next: Vec<Option<u32>>,
}

impl LoopbackPorts {
    /// Ports from `first_port` upward (`None`: ephemeral) on `addresses` loopback addresses.
    pub fn new(first_port: Option<u16>, addresses: u8) -> LoopbackPorts {
        let addresses = addresses.clamp(1, 254);
        LoopbackPorts { addresses, next: vec![first_port.map(u32::from); usize::from(addresses)] }
    }

    /// Binds node `node`'s listener on its address, on the next free port of that address.
    pub async fn bind(&mut self, node: usize) -> std::io::Result<tokio::net::TcpListener> {
        let slot = node % self.next.len();
        bind_loopback(loopback_address(node, self.addresses), &mut self.next[slot]).await
    }
}

/// Binds a listener on the loopback address `localhost` (never anything else): on the next free
/// port from `next` when given (advancing it), else on an ephemeral port.
async fn bind_loopback(localhost: std::net::Ipv4Addr, next: &mut Option<u32>) -> std::io::Result<tokio::net::TcpListener> {
    if !localhost.is_loopback() {
        return Err(std::io::Error::new(std::io::ErrorKind::AddrNotAvailable, format!("{localhost} is not a loopback address")));
    }
    let Some(port) = next else {
        return tokio::net::TcpListener::bind((localhost, 0)).await;
    };
    loop {
        let p = u16::try_from(*port).map_err(|_| std::io::Error::new(std::io::ErrorKind::AddrNotAvailable, "ran out of ports below 65536"))?;
        *port += 1;
        if p == 0 {
            continue;
        }
        match tokio::net::TcpListener::bind((localhost, p)).await {
            Ok(l) => return Ok(l),
            Err(e) if e.kind() == std::io::ErrorKind::AddrInUse || e.kind() == std::io::ErrorKind::PermissionDenied => {
                continue;
            }
            Err(e) => return Err(e),
        }
    }
}

impl Fleet {
    /// Binds every node's server on 127.0.0.1 and starts serving on the current tokio runtime.
    ///
    /// Fails (kind [`ErrorKind::Io`]) when a port cannot be bound, e.g. for lack of file
    /// descriptors (each node holds one listening socket; raise `ulimit -n` for big fleets).
    /// Fails (kind [`ErrorKind::Config`]) when [`FleetConfig::tls`] names unreadable or invalid
    /// certificate, key or CA files.
    pub async fn start(config: FleetConfig) -> Result<Fleet> {
        let tls = config.tls.as_ref().map(server::SimTls::new).transpose()?;
        let now = now_ns();
        let mut rng = Rng(config.seed);
        let names: Vec<Arc<str>> = (0..config.namespaces.max(1)).map(|i| Arc::from(namespace_name(i))).collect();
        let apps: Vec<Arc<str>> = APPS.iter().map(|a| Arc::from(*a)).collect();
        let container_names: Vec<Arc<str>> =
            (0..config.containers_per_pod.max(1)).map(|i| Arc::from(CONTAINERS.get(i).map_or_else(|| format!("c{i}"), |c| c.to_string()))).collect();
        let mut listeners = Vec::with_capacity(config.nodes);
        let mut cells = Vec::with_capacity(config.nodes);
        let first_port = config.first_port.or((config.nodes >= 2000).then_some(10_000));
        if config.loopback_addresses == 0 || config.loopback_addresses > 254 {
            return Err(Error::new(ErrorKind::Config, format!("loopback_addresses must be 1 to 254, not {}", config.loopback_addresses)));
        }
        let mut ports = LoopbackPorts::new(first_port, config.loopback_addresses);
        for i in 0..config.nodes {
            let listener = ports.bind(i).await.map_err(|e| {
                let ip = loopback_address(i, config.loopback_addresses);
                Error::new(ErrorKind::Io, format!("binding simulated kubelet {i} on {ip}: {e}")).with_source(e)
            })?;
            let addr = listener.local_addr().map_err(|e| Error::new(ErrorKind::Io, format!("simulated kubelet address: {e}")).with_source(e))?;
            let name: Arc<str> = Arc::from(format!("{}{i:05}", config.node_name_prefix));
            let boot_ns = now - 86_400_000_000_000 - (rng.next() % 3_600) as i64 * 1_000_000_000;
            let mut pods = Vec::with_capacity(config.pods_per_node);
            for _ in 0..config.pods_per_node {
                let app = apps[(rng.next() % apps.len() as u64) as usize].clone();
                let namespace = names[(rng.next() % names.len() as u64) as usize].clone();
                let name = format!("{app}-{}-{}", rng.suffix(10), rng.suffix(5));
                let age = rng.range(60, config.max_container_age.as_secs().max(60)) as i64;
                let start_ns = now - age * 1_000_000_000 - (rng.next() % 1000) as i64 * 1_000_000;
                let containers = container_names
                    .iter()
                    .map(|c| {
                        let cpu = rng.range(u64::from(config.cpu_millicores.0), u64::from(config.cpu_millicores.1)) as u32;
                        let memory = rng.range(config.memory_bytes.0, config.memory_bytes.1) & !4095;
                        let spec = SimContainer {
                            name: c.to_string(),
                            cpu_millicores: cpu,
                            memory_bytes: memory,
                            swap_bytes: 0,
                            cpu_request_millicores: cpu.div_ceil(50) * 50,
                            memory_request_bytes: memory.div_ceil(1 << 20) << 20,
                        };
                        container_state(&spec, start_ns, c.clone())
                    })
                    .collect();
                pods.push(PodState { namespace, name: name.into(), app, created_ns: start_ns - 2_000_000_000, containers });
            }
            let mut state = NodeState {
                name: name.clone(),
                boot_ns,
                overhead_milli: config.node_overhead_millicores,
                overhead_bytes: config.node_overhead_bytes,
                node_acc_ns: 0,
                node_acc_at_ns: now,
                pods,
                order: Vec::new(),
                faults: Faults::default(),
                body_hint: 0,
            };
            state.node_acc_ns = u64::try_from(u128::from(config.node_overhead_millicores) * (now - boot_ns) as u128 / 1000).unwrap_or(u64::MAX)
                + state.pods.iter().flat_map(|p| &p.containers).map(|c| c.cpu_ns(now)).sum::<u64>();
            state.reorder();
            cells.push(NodeCell { name, addr, state: Mutex::new(state), requests: AtomicU64::new(0) });
            listeners.push(listener);
        }
        let by_name = cells.iter().enumerate().map(|(i, c)| (c.name.clone(), i)).collect();
        let shared = Arc::new(server::Shared::new(cells, config.swap, tls, config.require_token.clone()));
        let tasks = listeners.into_iter().enumerate().map(|(i, l)| server::spawn(l, shared.clone(), i)).collect();
        Ok(Fleet { shared, by_name, config, tasks })
    }

    /// The configuration the fleet started with.
    pub fn config(&self) -> &FleetConfig {
        &self.config
    }

    /// `https` when the kubelets serve TLS ([`FleetConfig::tls`]), else `http`.
    pub fn scheme(&self) -> &'static str {
        if self.config.tls.is_some() { "https" } else { "http" }
    }

    /// Number of nodes.
    pub fn len(&self) -> usize {
        self.shared.nodes.len()
    }

    /// `true` for a fleet of no node.
    pub fn is_empty(&self) -> bool {
        self.shared.nodes.is_empty()
    }

    /// Node names, in index order.
    pub fn node_names(&self) -> Vec<String> {
        self.shared.nodes.iter().map(|n| n.name.to_string()).collect()
    }

    /// `(name, address)` of every node, in index order.
    pub fn addrs(&self) -> Vec<(String, SocketAddr)> {
        self.shared.nodes.iter().map(|n| (n.name.to_string(), n.addr)).collect()
    }

    /// The address of one node's kubelet.
    pub fn addr(&self, node: &str) -> Option<SocketAddr> {
        self.cell(node).ok().map(|c| c.addr)
    }

    /// Requests a node has received so far.
    pub fn requests(&self, node: &str) -> Result<u64> {
        Ok(self.cell(node)?.requests.load(Ordering::Relaxed))
    }

    fn cell(&self, node: &str) -> Result<&NodeCell> {
        self.by_name.get(node).map(|&i| &self.shared.nodes[i]).ok_or_else(|| Error::new(ErrorKind::NotFound, format!("no simulated node named {node:?}")))
    }

    /// Sets the faults a node shows from now on (`Faults::default()` clears them).
    pub fn set_faults(&self, node: &str, faults: Faults) -> Result<()> {
        self.cell(node)?.lock().faults = faults;
        Ok(())
    }

    /// Starts a pod on a node (its containers start now). Fails if the node has a pod of that name.
    pub fn add_pod(&self, node: &str, pod: SimPod) -> Result<()> {
        let cell = self.cell(node)?;
        let mut st = cell.lock();
        if st.pods.iter().any(|p| *p.namespace == *pod.namespace && *p.name == *pod.name) {
            return Err(Error::new(ErrorKind::Config, format!("simulated node {node} already runs pod {}/{}", pod.namespace, pod.name)));
        }
        let now = now_ns();
        st.advance(now);
        let containers = pod.containers.iter().map(|c| container_state(c, now, Arc::from(c.name.as_str()))).collect();
        st.pods.push(PodState { namespace: Arc::from(pod.namespace), name: pod.name.into(), app: Arc::from(pod.app), created_ns: now, containers });
        st.reorder();
        Ok(())
    }

    /// Removes a pod from a node (it goes away; the node counter keeps what it used).
    pub fn remove_pod(&self, node: &str, namespace: &str, name: &str) -> Result<()> {
        let cell = self.cell(node)?;
        let mut st = cell.lock();
        st.pod_mut(namespace, name)?;
        st.advance(now_ns());
        st.pods.retain(|p| !(&*p.namespace == namespace && &*p.name == name));
        st.reorder();
        Ok(())
    }

    /// Restarts one container: new start time now, CPU counter back to zero.
    pub fn restart_container(&self, node: &str, namespace: &str, pod: &str, container: &str) -> Result<()> {
        self.change_container(node, namespace, pod, container, |c, now| {
            c.start_ns = now;
            c.acc_ns = 0;
            c.acc_at_ns = now;
            c.restarts += 1;
        })
    }

    /// Brings `node`'s counters up to now, then applies `change` (given now) to one container.
    fn change_container(&self, node: &str, namespace: &str, pod: &str, container: &str, change: impl FnOnce(&mut ContainerState, i64)) -> Result<()> {
        let cell = self.cell(node)?;
        let mut st = cell.lock();
        let now = now_ns();
        st.advance(now);
        let p = st.pod_mut(namespace, pod)?;
        let c = p
            .containers
            .iter_mut()
            .find(|c| &*c.name == container)
            .ok_or_else(|| Error::new(ErrorKind::NotFound, format!("pod {namespace}/{pod} has no container {container}")))?;
        change(c, now);
        Ok(())
    }

    /// Changes what one container uses from now on.
    pub fn set_usage(&self, node: &str, namespace: &str, pod: &str, container: &str, cpu_millicores: u32, memory_bytes: u64) -> Result<()> {
        self.change_container(node, namespace, pod, container, |c, now| {
            c.set_rate(cpu_millicores, now);
            c.memory_bytes = memory_bytes;
        })
    }

    /// Spoils one container's series from now on (`ContainerFault::None` repairs them). Its
    /// counters keep running underneath, so a repaired container reports where it would have.
    pub fn set_container_fault(&self, node: &str, namespace: &str, pod: &str, container: &str, fault: ContainerFault) -> Result<()> {
        self.change_container(node, namespace, pod, container, |c, _| c.fault = fault)
    }

    /// Renders a node's `/metrics/resource` body as of now (no node faults applied; container
    /// faults are), as served.
    pub fn render_metrics_resource(&self, node: &str) -> Result<Vec<u8>> {
        let cell = self.cell(node)?;
        let st = cell.lock();
        let mut out = Vec::with_capacity(st.body_hint + 1024);
        render::metrics_resource(&st, now_ns() / 1_000_000, self.config.swap, None, &mut out);
        Ok(out)
    }

    /// The whole inventory: nodes, their pods and containers, with what each uses.
    pub fn inventory(&self) -> Vec<NodeInfo> {
        let (cap_cpu, cap_mem) = self.config.node_capacity;
        self.shared
            .nodes
            .iter()
            .map(|cell| {
                let st = cell.lock();
                NodeInfo {
                    name: cell.name.to_string(),
                    addr: cell.addr,
                    labels: node_labels(&cell.name),
                    cpu_capacity_millicores: cap_cpu,
                    memory_capacity_bytes: cap_mem,
                    boot: crate::scrape::to_timestamp(st.boot_ns),
                    pods: st
                        .pods
                        .iter()
                        .map(|p| PodInfo {
                            namespace: p.namespace.to_string(),
                            name: p.name.to_string(),
                            uid: p.uid(),
                            labels: [("app".to_string(), p.app.to_string())].into_iter().collect(),
                            node_name: cell.name.to_string(),
                            created: crate::scrape::to_timestamp(p.created_ns),
                            containers: p
                                .containers
                                .iter()
                                .map(|c| ContainerInfo {
                                    spec: SimContainer {
                                        name: c.name.to_string(),
                                        cpu_millicores: c.cpu_milli,
                                        memory_bytes: c.memory_bytes,
                                        swap_bytes: c.swap_bytes,
                                        cpu_request_millicores: c.request_milli,
                                        memory_request_bytes: c.request_memory,
                                    },
                                    started: crate::scrape::to_timestamp(c.start_ns),
                                    restarts: c.restarts,
                                })
                                .collect(),
                        })
                        .collect(),
                }
            })
            .collect()
    }

    /// The fleet as Kubernetes Node objects (Ready, `InternalIP` its kubelet's loopback address,
    /// kubelet port set).
    pub fn nodes(&self) -> Vec<Node> {
        self.inventory().iter().map(node_object).collect()
    }

    /// Every pod of the fleet as a Running Kubernetes Pod object, with its containers' requests.
    pub fn pods(&self) -> Vec<Pod> {
        self.inventory().iter().flat_map(|n| n.pods.iter().map(|p| pod_object(n, p)).collect::<Vec<_>>()).collect()
    }

    /// Stops every server and waits for the listeners to close.
    pub async fn shutdown(mut self) {
        self.shared.shutdown();
        for t in self.tasks.drain(..) {
            t.abort();
            let _ = t.await;
        }
    }
}

impl Drop for Fleet {
    fn drop(&mut self) {
        self.shared.shutdown();
        for t in &self.tasks {
            t.abort();
        }
    }
}

fn node_labels(name: &str) -> BTreeMap<String, String> {
    [
        ("beta.kubernetes.io/arch", "amd64"),
        ("beta.kubernetes.io/os", "linux"),
        ("kubernetes.io/arch", "amd64"),
        ("kubernetes.io/hostname", name),
        ("kubernetes.io/os", "linux"),
        ("node.kubernetes.io/instance-type", "simulated"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

fn quantities(cpu_milli: u32, memory: u64) -> BTreeMap<String, K8sQuantity> {
    [("cpu".to_string(), K8sQuantity(format!("{cpu_milli}m"))), ("memory".to_string(), K8sQuantity(memory.to_string()))].into_iter().collect()
}

fn node_object(n: &NodeInfo) -> Node {
    let mut capacity = quantities(n.cpu_capacity_millicores, n.memory_capacity_bytes);
    capacity.insert("pods".into(), K8sQuantity("110".into()));
    Node {
        metadata: ObjectMeta { name: Some(n.name.clone()), labels: Some(n.labels.clone()), creation_timestamp: Some(Time(n.boot)), ..Default::default() },
        status: Some(NodeStatus {
            addresses: Some(vec![
                NodeAddress { type_: "InternalIP".into(), address: n.addr.ip().to_string() },
                NodeAddress { type_: "Hostname".into(), address: n.name.clone() },
            ]),
            allocatable: Some(capacity.clone()),
            capacity: Some(capacity),
            conditions: Some(vec![NodeCondition { type_: "Ready".into(), status: "True".into(), reason: Some("KubeletReady".into()), ..Default::default() }]),
            daemon_endpoints: Some(NodeDaemonEndpoints { kubelet_endpoint: Some(DaemonEndpoint { port: i32::from(n.addr.port()) }) }),
            node_info: Some(NodeSystemInfo {
                architecture: "amd64".into(),
                container_runtime_version: "simulated://1".into(),
                kubelet_version: "v1.29.0-sim".into(),
                operating_system: "linux".into(),
                ..Default::default()
            }),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn pod_object(node: &NodeInfo, p: &PodInfo) -> Pod {
    Pod {
        metadata: ObjectMeta {
            name: Some(p.name.clone()),
            namespace: Some(p.namespace.clone()),
            uid: Some(p.uid.clone()),
            labels: Some(p.labels.clone()),
            creation_timestamp: Some(Time(p.created)),
            ..Default::default()
        },
        spec: Some(PodSpec {
            node_name: Some(p.node_name.clone()),
            containers: p
                .containers
                .iter()
                .map(|c| Container {
                    name: c.name.clone(),
                    image: Some(format!("registry.invalid/simulated/{}:1", c.name)),
                    resources: Some(ResourceRequirements {
                        requests: Some(quantities(c.cpu_request_millicores, c.memory_request_bytes)),
                        ..Default::default()
                    }),
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        }),
        status: Some(PodStatus {
            phase: Some("Running".into()),
            host_ip: Some(node.addr.ip().to_string()),
            start_time: Some(Time(p.created)),
            container_statuses: Some(
                p.containers
                    .iter()
                    .map(|c| ContainerStatus {
                        name: c.name.clone(),
                        ready: true,
                        restart_count: i32::try_from(c.restarts).unwrap_or(i32::MAX),
                        image: format!("registry.invalid/simulated/{}:1", c.name),
                        image_id: String::new(),
                        started: Some(true),
                        ..Default::default()
                    })
                    .collect(),
            ),
            ..Default::default()
        }),
    }
}

#[cfg(test)]
mod tests;
