//! Partial pods (a container named by the kubelet without a usable sample) are not served, as
//! metrics-server does, unless `keep_partial_pods`: through the store with the captured kubelet
//! body of tests/fixtures/kubelet, and through the whole server (simulated kubelets in kubelet
//! wire format, the collector, the HTTPS metrics API, `/metrics` and the logs).

mod common;

use common::Logs;
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use kubemetrics::collector::{AddressOptions, Collector, CollectorOptions, Inventory, KubeletOptions, NodeTarget};
use kubemetrics::scrape::parse_metrics_resource;
use kubemetrics::server::{AuthOptions, MetricsProvider, MetricsServer, ServerMetrics, ServerOptions, ServingCert};
use kubemetrics::store::{MetricsStore, StoreConfig};
use kubemetrics::testkit::simulate::{ContainerFault, Fleet, FleetConfig};
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair, KeyUsagePurpose};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn fixture(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/kubelet").join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

/// The body with every sample timestamp moved `ms` later (the captured kubelet, one scrape on).
fn later(body: &str, ms: i64) -> String {
    let mut out = String::with_capacity(body.len());
    for line in body.lines() {
        let mut parts: Vec<String> = line.split(' ').map(str::to_string).collect();
        let stamped = !line.starts_with('#') && parts.len() == 3 && parts[2].len() == 13;
        if let Some(ts) = parts.last().filter(|_| stamped).and_then(|t| t.parse::<i64>().ok()) {
            *parts.last_mut().expect("three parts") = (ts + ms).to_string();
        }
        out.push_str(&parts.join(" "));
        out.push('\n');
    }
    out
}

const POD: &str = r#"namespace="kube-system",pod="etcd-e2e-control-plane""#;
/// The timestamp of etcd's series in the fixture.
const ETCD_TS: i64 = 1_633_253_814_387;

/// The lines of a second container, `backup`, in the etcd pod, `ms` after the fixture, in the
/// kubelet's format; `cpu` is its counter (as the kubelet writes it), `memory` its line or none.
fn backup(ms: i64, cpu: &str, memory: bool) -> String {
    let ts = ETCD_TS + ms;
    let mut lines = format!("container_cpu_usage_seconds_total{{container=\"backup\",{POD}}} {cpu} {ts}\n");
    if memory {
        lines += &format!("container_memory_working_set_bytes{{container=\"backup\",{POD}}} 1.048576e+06 {ts}\n");
    }
    lines
}

fn at(ms: i64) -> jiff::Timestamp {
    jiff::Timestamp::from_millisecond(ETCD_TS + ms).expect("timestamp")
}

/// `(namespace/name, containers)` of every served pod.
fn served(store: &MetricsStore, ms: i64) -> Vec<(String, Vec<String>)> {
    store.pod_metrics(None, at(ms)).iter().map(|p| (format!("{}/{}", p.namespace(), p.name()), p.containers.iter().map(|c| c.name.clone()).collect())).collect()
}

fn etcd(pods: &[(String, Vec<String>)]) -> Option<Vec<&str>> {
    pods.iter().find(|(name, _)| name == "kube-system/etcd-e2e-control-plane").map(|(_, c)| c.iter().map(String::as_str).collect())
}

#[test]
fn a_pod_missing_a_container_sample_is_not_served_unless_kept() {
    let base = fixture("metrics-resource-kind-70pods.prom");
    // What the kubelet can do to one container of a two-container pod at the second scrape.
    let spoiled: [(&str, String); 4] = [
        ("NaN CPU counter", backup(15_000, "NaN", true)),
        ("no memory series", backup(15_000, "4", false)),
        ("no CPU series", backup(15_000, "4", true).lines().nth(1).map(|l| format!("{l}\n")).unwrap_or_default()),
        ("text after the timestamp", backup(15_000, "4 7", true)),
    ];
    for (what, bad) in spoiled {
        for keep in [false, true] {
            let mut store = MetricsStore::new(StoreConfig { keep_partial_pods: keep, ..StoreConfig::default() });
            let store_body = |store: &mut MetricsStore, ms: i64, extra: &str| {
                let body = format!("{}{extra}", later(&base, ms));
                let scrape = parse_metrics_resource(body.as_bytes(), 0).expect("parses");
                store.store("e2e-control-plane", &scrape, at(ms))
            };
            let first = store_body(&mut store, 0, &backup(0, "2.5", true));
            assert_eq!(first.partial_pods, 0);
            let second = store_body(&mut store, 15_000, &bad);
            assert_eq!(second.partial_pods, 1, "{what}");
            let pods = served(&store, 16_000);
            if keep {
                assert_eq!(pods.len(), 70, "{what}: every pod, the etcd pod without its bad container");
                assert_eq!(etcd(&pods), Some(vec!["etcd"]), "{what}");
            } else {
                assert_eq!(pods.len(), 69, "{what}: the 69 whole pods are served");
                assert_eq!(etcd(&pods), None, "{what}: a partial pod is not served");
            }

            // The kubelet recovers: `backup` has one point, so no rate yet (still partial)...
            let third = store_body(&mut store, 30_000, &backup(30_000, "5.5", true));
            assert_eq!(third.partial_pods, 0);
            let pods = served(&store, 31_000);
            assert_eq!(etcd(&pods), if keep { Some(vec!["etcd"]) } else { None }, "{what}");
            // ... and is whole at the next scrape: 3 core-seconds over 15 s.
            store_body(&mut store, 45_000, &backup(45_000, "8.5", true));
            let metrics = store.pod_metric("kube-system", "etcd-e2e-control-plane", at(46_000)).expect("served again");
            let names: Vec<_> = metrics.containers.iter().map(|c| (c.name.as_str(), c.usage["cpu"].to_string())).collect();
            assert_eq!(names, [("backup", "200m".to_string()), ("etcd", "0".to_string())], "{what}");
            assert_eq!(served(&store, 46_000).len(), 70);
        }
    }
}

#[test]
fn a_bad_start_time_or_swap_line_costs_only_that_series() {
    let base = fixture("metrics-resource-kind-70pods.prom");
    let mut store = MetricsStore::new(StoreConfig::default());
    let extra = |ms: i64, cpu: &str| {
        format!(
            "{}container_start_time_seconds{{container=\"backup\",{POD}}} -6.7953645788713455e+09 -62135596800000\n\
             container_swap_usage_bytes{{container=\"backup\",{POD}}} NaN {}\n",
            backup(ms, cpu, true),
            ETCD_TS + ms
        )
    };
    for (ms, cpu) in [(0, "2.5"), (15_000, "4")] {
        let scrape = parse_metrics_resource(format!("{}{}", later(&base, ms), extra(ms, cpu)).as_bytes(), 0).expect("parses");
        assert!(scrape.partial_pods().is_empty(), "{:?}", scrape.partial_pods());
        assert_eq!(scrape.issues().len(), 2, "{:?}", scrape.issues());
        store.store("e2e-control-plane", &scrape, at(ms));
    }
    assert_eq!(etcd(&served(&store, 16_000)), Some(vec!["backup", "etcd"]));
}

// ---- the whole server ----

/// A CA, a serving certificate for 127.0.0.1 and a `system:masters` client certificate, in
/// a temp dir removed on drop.
struct Pki {
    dir: PathBuf,
    ca: CertificateDer<'static>,
    client: (Vec<CertificateDer<'static>>, Vec<u8>),
}

impl Pki {
    fn new() -> Pki {
        let dir = std::env::temp_dir().join(format!("km-partial-pods-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
        params.distinguished_name.push(DnType::CommonName, "partial pods test CA");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::DigitalSignature];
        let issuer = CertifiedIssuer::self_signed(params, KeyPair::generate().expect("key")).expect("ca");
        let leaf = |sans: &[&str], name: &str, org: Option<&str>, usage: ExtendedKeyUsagePurpose| {
            let key = KeyPair::generate().expect("key");
            let mut params = CertificateParams::new(sans.iter().map(|s| s.to_string()).collect::<Vec<_>>()).expect("params");
            params.distinguished_name.push(DnType::CommonName, name);
            if let Some(org) = org {
                params.distinguished_name.push(DnType::OrganizationName, org);
            }
            params.extended_key_usages = vec![usage];
            (params.signed_by(&key, &issuer).expect("sign"), key)
        };
        let (serving, serving_key) = leaf(&["127.0.0.1"], "metrics-server", None, ExtendedKeyUsagePurpose::ServerAuth);
        std::fs::write(dir.join("serving.crt"), serving.pem()).expect("write");
        std::fs::write(dir.join("serving.key"), serving_key.serialize_pem()).expect("write");
        let (client, client_key) = leaf(&[], "test-admin", Some("system:masters"), ExtendedKeyUsagePurpose::ClientAuth);
        Pki { dir, ca: issuer.der().clone(), client: (vec![client.der().clone()], client_key.serialize_der()) }
    }

    fn serving(&self) -> ServingCert {
        ServingCert::Files { cert: self.dir.join("serving.crt"), key: self.dir.join("serving.key") }
    }

    fn https_client(&self) -> Client<hyper_rustls::HttpsConnector<HttpConnector>, Empty<bytes::Bytes>> {
        let mut roots = rustls::RootCertStore::empty();
        roots.add(self.ca.clone()).expect("root");
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.client.1.clone()));
        let tls = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .expect("versions")
            .with_root_certificates(roots)
            .with_client_auth_cert(self.client.0.clone(), key)
            .expect("client certificate");
        let connector = hyper_rustls::HttpsConnectorBuilder::new().with_tls_config(tls).https_only().enable_http1().build();
        Client::builder(TokioExecutor::new()).build(connector)
    }
}

impl Drop for Pki {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

async fn get(client: &Client<hyper_rustls::HttpsConnector<HttpConnector>, Empty<bytes::Bytes>>, url: &str) -> (u16, String) {
    let resp = client.get(url.parse().expect("uri")).await.unwrap_or_else(|e| panic!("GET {url}: {e}"));
    let status = resp.status().as_u16();
    let body = resp.into_body().collect().await.expect("body").to_bytes();
    (status, String::from_utf8_lossy(&body).into_owned())
}

/// `namespace/name` → container names, from a `PodMetricsList`.
fn pod_list(json: &str) -> Vec<(String, Vec<String>)> {
    let v: serde_json::Value = serde_json::from_str(json).unwrap_or_else(|e| panic!("{e}: {json}"));
    let items = v["items"].as_array().cloned().unwrap_or_default();
    items
        .iter()
        .map(|p| {
            let name = format!("{}/{}", p["metadata"]["namespace"].as_str().unwrap_or_default(), p["metadata"]["name"].as_str().unwrap_or_default());
            let containers =
                p["containers"].as_array().map(|cs| cs.iter().map(|c| c["name"].as_str().unwrap_or_default().to_string()).collect()).unwrap_or_default();
            (name, containers)
        })
        .collect()
}

fn collector(fleet: &Fleet, keep_partial_pods: bool, stats: Arc<ServerMetrics>) -> (Collector, Vec<NodeTarget>) {
    let inventory = Inventory::new();
    let address = AddressOptions { preferred_types: vec!["InternalIP".into()], port: 10250, use_node_status_port: true };
    let targets: Vec<NodeTarget> = fleet.nodes().iter().map(|n| NodeTarget::from_node(n, &address)).collect();
    inventory.replace_nodes(targets.clone());
    inventory.replace_pods(fleet.pods().iter().map(|p| {
        let m = &p.metadata;
        ((m.namespace.clone().unwrap_or_default(), m.name.clone().unwrap_or_default()), m.labels.clone().unwrap_or_default())
    }));
    inventory.mark_synced();
    let options = CollectorOptions {
        resolution: Duration::from_secs(15),
        kubelet: KubeletOptions { scheme: "http".into(), request_timeout: Duration::from_secs(5), ..Default::default() },
        store: StoreConfig { keep_partial_pods, ..StoreConfig::default() },
        ..Default::default()
    };
    (Collector::new(options, inventory, stats).expect("collector"), targets)
}

/// Scrapes every node once, then waits a little more than a second (kubelet timestamps are in
/// milliseconds, and a rate needs two distinct ones).
async fn cycle(collector: &Collector, targets: &[NodeTarget]) {
    for t in targets {
        collector.scrape(t).await;
    }
    tokio::time::sleep(Duration::from_millis(1100)).await;
}

/// Polls the served pod list until `done` holds (a snapshot may be up to a second stale).
async fn pods_until(
    client: &Client<hyper_rustls::HttpsConnector<HttpConnector>, Empty<bytes::Bytes>>,
    url: &str,
    done: impl Fn(&[(String, Vec<String>)]) -> bool,
) -> Vec<(String, Vec<String>)> {
    let started = Instant::now();
    loop {
        let (status, body) = get(client, url).await;
        assert_eq!(status, 200, "{body}");
        let pods = pod_list(&body);
        if done(&pods) || started.elapsed() > Duration::from_secs(10) {
            return pods;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn the_metrics_api_leaves_out_a_pod_with_a_nan_container_and_logs_it_once() {
    let logs = Logs::default();
    let _guard = tracing::subscriber::set_default(logs.clone());
    let fleet =
        Fleet::start(FleetConfig { nodes: 2, pods_per_node: 3, containers_per_pod: 2, node_name_prefix: "partial-".into(), seed: 5, ..Default::default() })
            .await
            .expect("fleet");
    let inventory = fleet.inventory();
    let node = &inventory[0];
    let (victim, container) = (&node.pods[0], &node.pods[0].containers[1]);
    let victim_name = format!("{}/{}", victim.namespace, victim.name);
    fleet.set_container_fault(&node.name, &victim.namespace, &victim.name, &container.name, ContainerFault::NanCpu).expect("fault");

    let pki = Pki::new();
    let stats = Arc::new(ServerMetrics::default());
    let (collector, targets) = collector(&fleet, false, stats.clone());
    let server = MetricsServer::start(
        ServerOptions {
            address: "127.0.0.1:0".parse().expect("address"),
            serving: pki.serving(),
            auth: AuthOptions { client_ca: vec![pki.ca.clone()], ..Default::default() },
            max_requests_inflight: 0,
            request_timeout: Duration::from_secs(30),
            tls: Default::default(),
            http: Default::default(),
        },
        Arc::new(collector.clone()),
        stats,
        None,
    )
    .await
    .expect("server");
    let client = pki.https_client();
    let base = format!("https://{}", server.addr());
    let pods_url = format!("{base}/apis/metrics.k8s.io/v1beta1/pods");

    for _ in 0..3 {
        cycle(&collector, &targets).await;
    }
    let pods = pods_until(&client, &pods_url, |p| p.len() == 5).await;
    assert_eq!(pods.len(), 5, "six pods, one partial: {pods:?}");
    assert!(pods.iter().all(|(name, containers)| name != &victim_name && containers.len() == 2), "{pods:?}");
    let (status, _) = get(&client, &format!("{base}/apis/metrics.k8s.io/v1beta1/namespaces/{}/pods/{}", victim.namespace, victim.name)).await;
    assert_eq!(status, 404, "the partial pod is not served alone either");
    let (_, metrics) = get(&client, &format!("{base}/metrics")).await;
    let counted = format!("kubemetrics_partial_pods_total{{node=\"{}\"}} 3\n", node.name);
    assert!(metrics.contains(&counted), "three scrapes, one partial pod each:\n{metrics}");
    assert!(!metrics.contains(&format!("kubemetrics_partial_pods_total{{node=\"{}\"}}", inventory[1].name)), "{metrics}");
    let warned = logs.matching(&victim_name);
    assert_eq!(warned.len(), 1, "logged once, not every cycle: {warned:#?}");
    let line = &warned[0];
    assert!(line.starts_with("WARN "), "{line}");
    assert!(line.contains(&format!("container {}: container_cpu_usage_seconds_total on line", container.name)), "{line}");
    assert!(line.contains("the value is not a finite number") && line.contains("--keep-partial-pods"), "{line}");
    assert!(line.contains(&format!("node=\"{}\"", node.name)), "{line}");

    // Repaired: one scrape gives the container a point, the next a rate; the pod is whole again.
    fleet.set_container_fault(&node.name, &victim.namespace, &victim.name, &container.name, ContainerFault::None).expect("repair");
    cycle(&collector, &targets).await;
    cycle(&collector, &targets).await;
    let pods = pods_until(&client, &pods_url, |p| p.len() == 6).await;
    assert_eq!(pods.iter().find(|(n, _)| n == &victim_name).map(|(_, c)| c.len()), Some(2), "{pods:?}");
    let whole = logs.matching("pod whole again");
    assert_eq!(whole.len(), 1, "{whole:#?}");
    assert!(whole[0].contains(&victim_name), "{}", whole[0]);
    assert_eq!(logs.matching(&victim_name).len(), 2, "no more warnings");

    // The same fault with --keep-partial-pods: the pod is served without the bad container.
    fleet.set_container_fault(&node.name, &victim.namespace, &victim.name, &container.name, ContainerFault::NoMemory).expect("fault");
    let (kept, targets) = self::collector(&fleet, true, Arc::new(ServerMetrics::default()));
    cycle(&kept, &targets).await;
    cycle(&kept, &targets).await;
    let snapshot = kept.snapshot();
    assert_eq!(snapshot.pods.len(), 6);
    let served = snapshot.pods.iter().find(|p| *p.namespace == *victim.namespace && *p.name == *victim.name).expect("kept");
    assert_eq!(served.containers.iter().map(|c| &*c.name).collect::<Vec<_>>(), [node.pods[0].containers[0].name.as_str()]);
    let kept_log = logs.matching("served without a container");
    assert_eq!(kept_log.len(), 1, "{kept_log:#?}");
    assert!(kept_log[0].contains("no container_memory_working_set_bytes series"), "{}", kept_log[0]);

    server.shutdown();
    fleet.shutdown().await;
}
