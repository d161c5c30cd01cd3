//! km-bench-fleet: the benchmark's helper process. Everything it binds or dials is 127.0.0.1.
//!
//! `fleet`: starts a simulated kubelet fleet (`kubemetrics::testkit::simulate::Fleet`), serves every
//! node's `/metrics/resource` (the fleet's own renderer) over **HTTPS** (rustls, one listener per
//! node on 127.0.0.1) — the fleet itself only speaks HTTP and metrics-server only HTTPS — and
//! registers the nodes (kubelet port = the HTTPS port) and their pods (Running) in a real
//! kube-apiserver. Writes a JSON info file when ready, serves until SIGTERM or `--max-seconds`.
//!
//! `load`: a bounded HTTPS load loop (client certificate auth): `--concurrency` workers issue GETs
//! round-robin over `--url`s until `--max-requests` or `--max-seconds`; prints a JSON summary
//! (latency percentiles, requests/s, bytes, statuses).

use bytes::Bytes;
use clap::{Parser, Subcommand};
use futures::StreamExt;
use http_body_util::{BodyExt, Empty, Full};
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use k8s_openapi::api::core::v1::{Namespace, Node, Pod};
use kube::api::{Api, Patch, PatchParams, PostParams};
use kubemetrics::testkit::simulate::{Fleet, FleetConfig, LoopbackPorts, loopback_address};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

#[derive(Parser, Debug)]
#[command(about = "kubemetrics benchmark helper (loopback only)")]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Simulated kubelets over HTTPS, registered in a kube-apiserver.
    Fleet(FleetArgs),
    /// Bounded HTTPS GET load against URLs on 127.0.0.1.
    Load(LoadArgs),
    /// A stand-in for kube-apiserver (plain HTTP on 127.0.0.1) serving the Nodes and Pod metadata
    /// written by `fleet --objects-out`: paginated lists, watches that stay open and send nothing,
    /// SubjectAccessReviews that allow. For fleets too large for a real kube-apiserver here.
    Api(ApiArgs),
}

#[derive(clap::Args, Debug)]
struct ApiArgs {
    /// Object files written by `fleet --objects-out` (one per shard).
    #[arg(long = "objects", required = true)]
    objects: Vec<PathBuf>,
    /// Where to write a kubeconfig pointing at this server.
    #[arg(long)]
    kubeconfig_out: PathBuf,
    #[arg(long, default_value_t = 7200)]
    max_seconds: u64,
}

#[derive(clap::Args, Debug)]
struct FleetArgs {
    #[arg(long)]
    nodes: usize,
    #[arg(long, default_value_t = 30)]
    pods_per_node: usize,
    #[arg(long, default_value_t = 2)]
    containers_per_pod: usize,
    #[arg(long, default_value_t = 20)]
    namespaces: usize,
    /// Node names are this prefix and a 5-digit index (one prefix per shard process).
    #[arg(long, default_value = "sim-node-")]
    node_prefix: String,
    /// Seed of the fleet's names and numbers (one per shard process, so pod names differ).
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Serving certificate (PEM) for every simulated kubelet.
    #[arg(long)]
    cert: PathBuf,
    #[arg(long)]
    key: PathBuf,
    /// Bind the HTTPS listeners on ports from here upwards (skipping busy ones) instead of
    /// ephemeral ports (needed above ~12,000 nodes: the fleet's own HTTP listeners also take
    /// ephemeral ports).
    #[arg(long)]
    port_base: Option<u16>,
    /// Spread the kubelets over this many loopback addresses (127.0.0.1 to 127.0.0.N, each with
    /// its own ports from --port-base; the Node objects' InternalIP follows): one address holds
    /// about 27,000 nodes here (fleet HTTP + HTTPS listener each).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u8).range(1..=254))]
    loopback_addresses: u8,
    /// Register Nodes and Pods in this cluster (admin kubeconfig).
    #[arg(long)]
    kubeconfig: Option<PathBuf>,
    /// Instead of registering: write the Node objects and the Pods' metadata (JSON lines) to
    /// this file, for `km-bench-fleet api`.
    #[arg(long)]
    objects_out: Option<PathBuf>,
    /// Requests in flight while registering.
    #[arg(long, default_value_t = 48)]
    register_concurrency: usize,
    /// Where to write the JSON info once serving (and registered).
    #[arg(long)]
    info_file: PathBuf,
    /// Stop after this long whatever happens (the benchmark's safety bound).
    #[arg(long, default_value_t = 7200)]
    max_seconds: u64,
}

#[derive(clap::Args, Debug)]
struct LoadArgs {
    /// URL(s) on 127.0.0.1, used round-robin.
    #[arg(long = "url", required = true)]
    urls: Vec<String>,
    #[arg(long)]
    ca: PathBuf,
    #[arg(long)]
    cert: PathBuf,
    #[arg(long)]
    key: PathBuf,
    #[arg(long, default_value_t = 4)]
    concurrency: usize,
    #[arg(long, default_value_t = 1000)]
    max_requests: u64,
    #[arg(long, default_value_t = 30.0)]
    max_seconds: f64,
    /// The Accept header (e.g. `application/vnd.kubernetes.protobuf`, what the HPA controller
    /// asks for); none by default (JSON).
    #[arg(long)]
    accept: Option<String>,
    /// Open loop: request k is due at k / RATE seconds after the start, whatever the answers take,
    /// and is timed from when it was due (as an HPA controller resyncs each HPA once a period
    /// with `--concurrency` workers). Without it, closed loop: each worker sends its next request
    /// when the last one answered.
    #[arg(long)]
    rate: Option<f64>,
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("tokio runtime");
    let r = rt.block_on(async move {
        match cli.cmd {
            Cmd::Fleet(a) => fleet(a).await,
            Cmd::Load(a) => load(a).await,
            Cmd::Api(a) => api(a).await,
        }
    });
    match r {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("km-bench-fleet: error: {e}");
            std::process::ExitCode::from(1)
        }
    }
}

fn certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, BoxError> {
    Ok(CertificateDer::pem_file_iter(path)?.collect::<Result<Vec<_>, _>>()?)
}

fn key(path: &Path) -> Result<PrivateKeyDer<'static>, BoxError> {
    Ok(PrivateKeyDer::from_pem_file(path)?)
}

// ------------------------------------------------------------------------------------------
// fleet
// ------------------------------------------------------------------------------------------

async fn bind_listeners(n: usize, base: Option<u16>, addresses: u8) -> Result<Vec<tokio::net::TcpListener>, BoxError> {
    // Node i listens on the fleet's address for node i, each address counting its own ports.
    let mut ports = LoopbackPorts::new(base, addresses);
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let ip = loopback_address(i, addresses);
        out.push(ports.bind(i).await.map_err(|e| format!("bind node {i} on {ip}: {e} (after {i} listeners; raise ulimit -n?)"))?);
    }
    Ok(out)
}

fn serve_node(listener: tokio::net::TcpListener, acceptor: tokio_rustls::TlsAcceptor, fleet: Arc<Fleet>, name: Arc<str>, served: Arc<AtomicU64>) {
    tokio::spawn(async move {
        loop {
            let (tcp, _) = match listener.accept().await {
                Ok(x) => x,
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                }
            };
            let _ = tcp.set_nodelay(true);
            let acceptor = acceptor.clone();
            let fleet = fleet.clone();
            let name = name.clone();
            let served = served.clone();
            tokio::spawn(async move {
                let Ok(Ok(tls)) = tokio::time::timeout(Duration::from_secs(30), acceptor.accept(tcp)).await else { return };
                let svc = service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                    let fleet = fleet.clone();
                    let name = name.clone();
                    let served = served.clone();
                    async move {
                        let resp = match req.uri().path() {
                            "/metrics/resource" => match fleet.render_metrics_resource(&name) {
                                Ok(body) => {
                                    served.fetch_add(1, Ordering::Relaxed);
                                    hyper::Response::builder()
                                        .header("content-type", "text/plain; version=0.0.4; charset=utf-8")
                                        .body(Full::new(Bytes::from(body)))
                                }
                                Err(e) => hyper::Response::builder().status(500).body(Full::new(Bytes::from(e.to_string()))),
                            },
                            "/healthz" => hyper::Response::builder().body(Full::new(Bytes::from_static(b"ok"))),
                            _ => hyper::Response::builder().status(404).body(Full::new(Bytes::from_static(b"404 page not found\n"))),
                        };
                        Ok::<_, std::convert::Infallible>(resp.expect("response"))
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new().timer(TokioTimer::new()).keep_alive(true).serve_connection(TokioIo::new(tls), svc).await;
            });
        }
    });
}

async fn with_retries<T, F, Fut>(what: &str, mut f: F) -> Result<T, BoxError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, kube::Error>>,
{
    let mut delay = Duration::from_millis(200);
    for attempt in 0..8 {
        match f().await {
            Ok(v) => return Ok(v),
            Err(kube::Error::Api(s)) if s.code == 409 && what.starts_with("create") => return Err(format!("{what}: AlreadyExists").into()),
            Err(e) if attempt < 7 => {
                eprintln!("km-bench-fleet: {what}: {e}; retrying");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(5));
            }
            Err(e) => return Err(format!("{what}: {e}").into()),
        }
    }
    unreachable!()
}

async fn register(client: kube::Client, nodes: Vec<Node>, pods: Vec<Pod>, conc: usize) -> Result<serde_json::Value, BoxError> {
    let t0 = Instant::now();
    let namespaces: BTreeSet<String> = pods.iter().filter_map(|p| p.metadata.namespace.clone()).collect();
    let ns_api: Api<Namespace> = Api::all(client.clone());
    for ns in &namespaces {
        let obj: Namespace = serde_json::from_value(json!({"metadata": {"name": ns}}))?;
        match ns_api.create(&PostParams::default(), &obj).await {
            Ok(_) => {}
            Err(kube::Error::Api(s)) if s.code == 409 => {}
            Err(e) => return Err(format!("create namespace {ns}: {e}").into()),
        }
    }
    let node_api: Api<Node> = Api::all(client.clone());
    let n_nodes = nodes.len();
    let mut s = futures::stream::iter(nodes.into_iter().map(|n| {
        let api = node_api.clone();
        async move {
            let name = n.metadata.name.clone().unwrap_or_default();
            let pp = PostParams::default();
            with_retries(&format!("create node {name}"), || api.create(&pp, &n)).await.map(|_| ())
        }
    }))
    .buffer_unordered(conc);
    while let Some(r) = s.next().await {
        r?;
    }
    let nodes_s = t0.elapsed().as_secs_f64();
    eprintln!("km-bench-fleet: {n_nodes} nodes registered in {nodes_s:.1}s");
    let t1 = Instant::now();
    let n_pods = pods.len();
    let done = Arc::new(AtomicU64::new(0));
    let mut s = futures::stream::iter(pods.into_iter().map(|mut p| {
        let client = client.clone();
        let done = done.clone();
        async move {
            let ns = p.metadata.namespace.clone().unwrap_or_default();
            let name = p.metadata.name.clone().unwrap_or_default();
            let api: Api<Pod> = Api::namespaced(client, &ns);
            let status = p.status.take();
            let pp = PostParams::default();
            let sp = PatchParams::default();
            with_retries(&format!("create pod {ns}/{name}"), || api.create(&pp, &p)).await?;
            let patch = Patch::Merge(json!({ "status": status }));
            with_retries(&format!("status of pod {ns}/{name}"), || api.patch_status(&name, &sp, &patch)).await?;
            let d = done.fetch_add(1, Ordering::Relaxed) + 1;
            if d % 20000 == 0 {
                eprintln!("km-bench-fleet: {d}/{n_pods} pods registered ({:.0}/s)", d as f64 / t1.elapsed().as_secs_f64());
            }
            Ok::<(), BoxError>(())
        }
    }))
    .buffer_unordered(conc);
    while let Some(r) = s.next().await {
        r?;
    }
    let pods_s = t1.elapsed().as_secs_f64();
    eprintln!("km-bench-fleet: {n_pods} pods registered and Running in {pods_s:.1}s");
    Ok(json!({"nodes_seconds": nodes_s, "pods_seconds": pods_s, "namespaces": namespaces.len()}))
}

async fn fleet(a: FleetArgs) -> Result<(), BoxError> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let t0 = Instant::now();
    let config = FleetConfig {
        nodes: a.nodes,
        pods_per_node: a.pods_per_node,
        containers_per_pod: a.containers_per_pod,
        namespaces: a.namespaces,
        node_name_prefix: a.node_prefix.clone(),
        seed: a.seed,
        loopback_addresses: a.loopback_addresses,
        ..Default::default()
    };
    let fleet = Arc::new(Fleet::start(config).await?);
    let mut tls = rustls::ServerConfig::builder().with_no_client_auth().with_single_cert(certs(&a.cert)?, key(&a.key)?)?;
    // As a kubelet's Go server does: stateless TLS 1.3 session tickets, one per handshake, so a
    // scraper that reconnects (past its open-file limit, or after an idle drop) resumes.
    tls.ticketer = rustls::crypto::ring::Ticketer::new()?;
    tls.send_tls13_tickets = 1;
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(tls));
    let listeners = bind_listeners(a.nodes, a.port_base, a.loopback_addresses).await?;
    let served = Arc::new(AtomicU64::new(0));
    let mut ports: BTreeMap<String, u16> = BTreeMap::new();
    for (name, l) in fleet.node_names().into_iter().zip(listeners) {
        ports.insert(name.clone(), l.local_addr()?.port());
        serve_node(l, acceptor.clone(), fleet.clone(), Arc::from(name.as_str()), served.clone());
    }
    let started_s = t0.elapsed().as_secs_f64();
    eprintln!("km-bench-fleet: {} simulated kubelets serving HTTPS on 127.0.0.1 after {started_s:.1}s", a.nodes);

    let mut registration = serde_json::Value::Null;
    if a.kubeconfig.is_some() || a.objects_out.is_some() {
        let nodes: Vec<Node> = fleet
            .nodes()
            .into_iter()
            .map(|mut n| {
                n.metadata.creation_timestamp = None;
                let name = n.metadata.name.clone().unwrap_or_default();
                if let Some(ep) = n.status.as_mut().and_then(|s| s.daemon_endpoints.as_mut()).and_then(|d| d.kubelet_endpoint.as_mut()) {
                    ep.port = i32::from(ports[&name]);
                }
                n
            })
            .collect();
        if let Some(out) = &a.objects_out {
            // Written object by object (a 5,000-node fleet has 150,000 pods: building them all
            // first took 1.8 GB, thirteen fleets at once more than this machine has).
            use std::io::Write;
            let mut w = std::io::BufWriter::new(std::fs::File::create(out)?);
            for (i, n) in nodes.iter().enumerate() {
                let mut v = serde_json::to_value(n)?;
                v["apiVersion"] = json!("v1");
                v["kind"] = json!("Node");
                v["metadata"]["resourceVersion"] = json!("1");
                v["metadata"]["uid"] = json!(format!("node-uid-{}-{i}", a.seed));
                writeln!(w, "N{}", serde_json::to_string(&v)?)?;
            }
            let mut i = 0usize;
            for n in fleet.inventory() {
                for p in &n.pods {
                    let m = json!({
                        "name": p.name, "namespace": p.namespace, "labels": p.labels,
                        "resourceVersion": "1", "uid": format!("pod-uid-{}-{i}", a.seed),
                        "creationTimestamp": "2026-01-01T00:00:00Z",
                    });
                    let v = json!({"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": m});
                    writeln!(w, "P{}", serde_json::to_string(&v)?)?;
                    i += 1;
                }
            }
            w.flush()?;
        }
        if let Some(kc) = &a.kubeconfig {
            let pods: Vec<Pod> = fleet
                .pods()
                .into_iter()
                .map(|mut p| {
                    p.metadata.creation_timestamp = None;
                    p.metadata.uid = None;
                    p
                })
                .collect();
            let client = kubemetrics::Client::from_kubeconfig(Some(kc), None).await?.kube_client().clone();
            registration = register(client, nodes, pods, a.register_concurrency.max(1)).await?;
        }
    }
    let info = {
        let inv = fleet.inventory();
        let containers: usize = inv.iter().flat_map(|n| &n.pods).map(|p| p.containers.len()).sum();
        let pods: usize = inv.iter().map(|n| n.pods.len()).sum();
        let namespaces: BTreeSet<&str> = inv.iter().flat_map(|n| &n.pods).map(|p| p.namespace.as_str()).collect();
        let apps: BTreeSet<(&str, &str)> =
            inv.iter().flat_map(|n| &n.pods).filter_map(|p| p.labels.get("app").map(|app| (p.namespace.as_str(), app.as_str()))).collect();
        let sample_body = fleet.render_metrics_resource(&inv[0].name).map(|b| b.len()).unwrap_or(0);
        let info = json!({
            "pid": std::process::id(),
            "nodes": inv.len(),
            "pods": pods,
            "containers": containers,
            "namespaces": namespaces.into_iter().collect::<Vec<_>>(),
            "ns_apps": apps.into_iter().take(200).map(|(n, a)| [n, a]).collect::<Vec<_>>(),
            "first_port": ports.values().next(),
            "body_bytes_node0": sample_body,
            "start_seconds": started_s,
            "registration": registration,
        });
        info
    };
    // Give the startup's garbage back to the system (glibc keeps freed heap otherwise).
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        unsafe extern "C" {
            fn malloc_trim(pad: usize) -> i32;
        }
        // SAFETY: malloc_trim only releases free memory of the process's own heap.
        unsafe { malloc_trim(0) };
    }
    let tmp = a.info_file.with_extension("tmp");
    std::fs::write(&tmp, serde_json::to_vec_pretty(&info)?)?;
    std::fs::rename(&tmp, &a.info_file)?;
    eprintln!("km-bench-fleet: ready ({})", a.info_file.display());

    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        _ = term.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
        _ = tokio::time::sleep(Duration::from_secs(a.max_seconds)) => eprintln!("km-bench-fleet: --max-seconds reached, stopping"),
    }
    eprintln!("km-bench-fleet: stopping after serving {} scrapes", served.load(Ordering::Relaxed));
    std::process::exit(0);
}

// ------------------------------------------------------------------------------------------
// load
// ------------------------------------------------------------------------------------------

/// The Kubernetes protobuf media type.
const PROTOBUF: &str = "application/vnd.kubernetes.protobuf";

async fn load(a: LoadArgs) -> Result<(), BoxError> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    for u in &a.urls {
        let uri: http::Uri = u.parse()?;
        if !matches!(uri.host(), Some("127.0.0.1") | Some("localhost") | Some("[::1]")) {
            return Err(format!("refusing non-loopback URL {u}").into());
        }
    }
    let mut roots = rustls::RootCertStore::empty();
    for c in certs(&a.ca)? {
        roots.add(c)?;
    }
    let tls = rustls::ClientConfig::builder().with_root_certificates(roots).with_client_auth_cert(certs(&a.cert)?, key(&a.key)?)?;
    let https = hyper_rustls::HttpsConnectorBuilder::new().with_tls_config(tls).https_only().enable_http1().build();
    let client: hyper_util::client::legacy::Client<_, Empty<Bytes>> = hyper_util::client::legacy::Client::builder(TokioExecutor::new()).build(https);
    let urls: Arc<Vec<http::Uri>> = Arc::new(a.urls.iter().map(|u| u.parse()).collect::<Result<_, _>>()?);
    let issued = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let deadline = start + Duration::from_secs_f64(a.max_seconds);
    let mut workers = Vec::new();
    for _ in 0..a.concurrency.max(1) {
        let client = client.clone();
        let urls = urls.clone();
        let issued = issued.clone();
        let max = a.max_requests;
        let accept = a.accept.clone();
        let rate = a.rate.filter(|r| *r > 0.0);
        workers.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut statuses: BTreeMap<u16, u64> = BTreeMap::new();
            let mut bytes = 0u64;
            let mut errors = 0u64;
            loop {
                let k = issued.fetch_add(1, Ordering::Relaxed);
                if k >= max || Instant::now() >= deadline {
                    break;
                }
                let uri = urls[(k as usize) % urls.len()].clone();
                let due = rate.map(|r| start + Duration::from_secs_f64(k as f64 / r));
                if let Some(due) = due {
                    if due >= deadline {
                        break;
                    }
                    tokio::time::sleep_until(due.into()).await;
                }
                let t = due.unwrap_or_else(Instant::now);
                let left = deadline.saturating_duration_since(t) + Duration::from_secs(60);
                let r = tokio::time::timeout(left, async {
                    let mut req = http::Request::get(uri);
                    if let Some(accept) = accept.as_deref() {
                        req = req.header(http::header::ACCEPT, accept);
                    }
                    let resp = client.request(req.body(Empty::new())?).await?;
                    let protobuf = resp.headers().get(http::header::CONTENT_TYPE).is_some_and(|v| v.as_bytes().starts_with(PROTOBUF.as_bytes()));
                    if accept.as_deref().is_some_and(|a| a.starts_with(PROTOBUF)) && resp.status().is_success() && !protobuf {
                        return Err("asked for protobuf, got another content type".into());
                    }
                    let status = resp.status().as_u16();
                    let body = resp.into_body().collect().await?.to_bytes();
                    Ok::<_, BoxError>((status, body.len() as u64))
                })
                .await;
                match r {
                    Ok(Ok((status, n))) => {
                        lat.push(t.elapsed().as_secs_f64());
                        *statuses.entry(status).or_default() += 1;
                        bytes += n;
                    }
                    _ => errors += 1,
                }
            }
            (lat, statuses, bytes, errors)
        }));
    }
    let mut lat = Vec::new();
    let mut statuses: BTreeMap<u16, u64> = BTreeMap::new();
    let (mut bytes, mut errors) = (0u64, 0u64);
    for w in workers {
        let (l, s, b, e) = w.await?;
        lat.extend(l);
        for (k, v) in s {
            *statuses.entry(k).or_default() += v;
        }
        bytes += b;
        errors += e;
    }
    let elapsed = start.elapsed().as_secs_f64();
    lat.sort_by(|a, b| a.total_cmp(b));
    let pct = |p: f64| -> f64 {
        if lat.is_empty() {
            return f64::NAN;
        }
        let i = ((p / 100.0) * (lat.len() as f64 - 1.0)).round() as usize;
        lat[i.min(lat.len() - 1)] * 1000.0
    };
    let ok = statuses.get(&200).copied().unwrap_or(0);
    let out = json!({
        "requests": lat.len(),
        "ok": ok,
        "errors": errors,
        "statuses": statuses.iter().map(|(k, v)| (k.to_string(), *v)).collect::<BTreeMap<_, _>>(),
        "elapsed_s": elapsed,
        "rps": lat.len() as f64 / elapsed,
        "mean_bytes": if lat.is_empty() { 0 } else { bytes / lat.len() as u64 },
        "p50_ms": pct(50.0), "p90_ms": pct(90.0), "p99_ms": pct(99.0),
        "max_ms": lat.last().map_or(f64::NAN, |x| x * 1000.0),
        "min_ms": lat.first().map_or(f64::NAN, |x| x * 1000.0),
        "concurrency": a.concurrency,
        "rate": a.rate,
    });
    println!("{out}");
    Ok(())
}

// ------------------------------------------------------------------------------------------
// api: a kube-apiserver stand-in for huge fleets
// ------------------------------------------------------------------------------------------

type ApiBody = http_body_util::combinators::BoxBody<Bytes, std::convert::Infallible>;

struct ApiState {
    nodes: Vec<Bytes>,
    pods: Vec<Bytes>,
    requests: AtomicU64,
}

fn query_param(q: Option<&str>, name: &str) -> Option<String> {
    q?.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
        (k == name).then(|| v.replace("%3D", "=").replace("%2C", ","))
    })
}

fn full(status: u16, body: impl Into<Bytes>) -> hyper::Response<ApiBody> {
    hyper::Response::builder().status(status).header("content-type", "application/json").body(Full::new(body.into()).boxed()).expect("response")
}

fn list_page(items: &[Bytes], kind: &str, api_version: &str, q: Option<&str>) -> hyper::Response<ApiBody> {
    let start: usize = query_param(q, "continue").and_then(|c| c.parse().ok()).unwrap_or(0).min(items.len());
    let limit: usize = query_param(q, "limit").and_then(|l| l.parse().ok()).filter(|&l| l > 0).unwrap_or(usize::MAX);
    let end = start.saturating_add(limit).min(items.len());
    let mut out = Vec::with_capacity(items[start..end].iter().map(Bytes::len).sum::<usize>() + end - start + 200);
    out.extend_from_slice(format!(r#"{{"kind":"{kind}","apiVersion":"{api_version}","metadata":{{"resourceVersion":"1""#).as_bytes());
    if end < items.len() {
        out.extend_from_slice(format!(r#","continue":"{end}","remainingItemCount":{}"#, items.len() - end).as_bytes());
    }
    out.extend_from_slice(br#"},"items":["#);
    for (i, it) in items[start..end].iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(it);
    }
    out.extend_from_slice(b"]}");
    full(200, out)
}

fn hold_watch(q: Option<&str>) -> hyper::Response<ApiBody> {
    let secs: u64 = query_param(q, "timeoutSeconds").and_then(|t| t.parse().ok()).unwrap_or(300).min(1800);
    let stream = futures::stream::once(async move {
        tokio::time::sleep(Duration::from_secs(secs)).await;
        Ok::<_, std::convert::Infallible>(hyper::body::Frame::data(Bytes::new()))
    });
    hyper::Response::builder()
        .status(200)
        .header("content-type", "application/json")
        .body(BodyExt::boxed(http_body_util::StreamBody::new(stream)))
        .expect("response")
}

async fn api_handle(req: hyper::Request<hyper::body::Incoming>, st: Arc<ApiState>) -> hyper::Response<ApiBody> {
    st.requests.fetch_add(1, Ordering::Relaxed);
    let q = req.uri().query().map(str::to_string);
    let q = q.as_deref();
    let watch = matches!(query_param(q, "watch").as_deref(), Some("true") | Some("1"));
    match (req.method().as_str(), req.uri().path()) {
        ("GET", "/api/v1/nodes") if watch => hold_watch(q),
        ("GET", "/api/v1/nodes") => list_page(&st.nodes, "NodeList", "v1", q),
        ("GET", "/api/v1/pods") if watch => hold_watch(q),
        ("GET", "/api/v1/pods") => list_page(&st.pods, "PartialObjectMetadataList", "meta.k8s.io/v1", q),
        ("POST", "/apis/authorization.k8s.io/v1/subjectaccessreviews") => {
            let body = req.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
            let mut v: serde_json::Value = serde_json::from_slice(&body).unwrap_or(json!({}));
            v["status"] = json!({"allowed": true, "reason": "km-bench-fleet api allows everything"});
            full(201, serde_json::to_vec(&v).unwrap_or_default())
        }
        ("GET", "/version") => full(200, r#"{"major":"1","minor":"33","gitVersion":"v1.33.13-km-bench-fleet","platform":"linux/amd64"}"#),
        (m, p) => {
            eprintln!("km-bench-fleet api: 404 for {m} {p}");
            full(404, r#"{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"NotFound","code":404}"#)
        }
    }
}

async fn api(a: ApiArgs) -> Result<(), BoxError> {
    use std::io::BufRead;
    let (mut nodes, mut pods) = (Vec::new(), Vec::new());
    for f in &a.objects {
        for line in std::io::BufReader::new(std::fs::File::open(f)?).lines() {
            let line = line?;
            match line.as_bytes().first() {
                Some(b'N') => nodes.push(Bytes::from(line[1..].to_string())),
                Some(b'P') => pods.push(Bytes::from(line[1..].to_string())),
                _ => {}
            }
        }
    }
    let state = Arc::new(ApiState { nodes, pods, requests: AtomicU64::new(0) });
    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
    let addr = listener.local_addr()?;
    let kc = json!({
        "apiVersion": "v1", "kind": "Config",
        "clusters": [{"name": "bench", "cluster": {"server": format!("http://{addr}")}}],
        "users": [{"name": "bench", "user": {}}],
        "contexts": [{"name": "bench", "context": {"cluster": "bench", "user": "bench"}}],
        "current-context": "bench",
    });
    let tmp = a.kubeconfig_out.with_extension("tmp");
    std::fs::write(&tmp, serde_json::to_vec_pretty(&kc)?)?;
    std::fs::rename(&tmp, &a.kubeconfig_out)?;
    eprintln!("km-bench-fleet api: {} nodes, {} pods on http://{addr}", state.nodes.len(), state.pods.len());
    let accept = {
        let state = state.clone();
        async move {
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                };
                let state = state.clone();
                tokio::spawn(async move {
                    let svc = service_fn(move |req| {
                        let state = state.clone();
                        async move { Ok::<_, std::convert::Infallible>(api_handle(req, state).await) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(tcp), svc).await;
                });
            }
        }
    };
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        _ = accept => {}
        _ = term.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
        _ = tokio::time::sleep(Duration::from_secs(a.max_seconds)) => eprintln!("km-bench-fleet api: --max-seconds reached"),
    }
    eprintln!("km-bench-fleet api: stopping after {} requests", state.requests.load(Ordering::Relaxed));
    std::process::exit(0);
}
