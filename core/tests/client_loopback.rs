//! The Metrics API client against the loopback API server: every method, every error kind.

use kubemetrics::testkit::loopback_api::{ClusterState, Fault, LoopbackApiServer, fixtures};
use kubemetrics::top::{SortBy, TopNodeOptions, TopPodOptions};
use kubemetrics::{Client, ErrorKind, ListOptions};
use std::time::Duration;

async fn client_for(server: &LoopbackApiServer) -> Client {
    let dir = std::env::temp_dir().join(format!("km-client-test-{}-{}", std::process::id(), server.addr().port()));
    std::fs::create_dir_all(&dir).expect("dir");
    let path = dir.join("kubeconfig");
    std::fs::write(&path, server.kubeconfig("default")).expect("write");
    let client = Client::from_kubeconfig(Some(&path), None).await.expect("client");
    let _ = std::fs::remove_dir_all(&dir);
    client
}

#[tokio::test]
async fn reads_node_and_pod_metrics() {
    let server = LoopbackApiServer::start(fixtures::varied()).await.expect("server");
    let client = client_for(&server).await;
    assert_eq!(client.metrics_api_version().await.expect("version"), "v1beta1");
    assert_eq!(client.default_namespace(), "default");
    let nodes = client.list_node_metrics(&ListOptions::default()).await.expect("nodes");
    assert_eq!(nodes.iter().map(|n| n.name()).collect::<Vec<_>>(), ["node-b", "node-a"]);
    assert_eq!(nodes[1].usage["cpu"].to_string(), "1630534153n");
    let b = client.list_node_metrics(&ListOptions::labels("tier=b")).await.expect("selector");
    assert_eq!(b.len(), 1);
    let a = client.get_node_metrics("node-a").await.expect("get");
    assert_eq!(a.usage["memory"].to_string(), "8318172Ki");
    let all = client.list_pod_metrics(None, &ListOptions::default()).await.expect("pods");
    assert_eq!(all.len(), 9);
    let ks = client.list_pod_metrics(Some("kube-system"), &ListOptions::default()).await.expect("ns");
    assert_eq!(ks.len(), 3);
    let fs = ListOptions { label_selector: None, field_selector: Some("metadata.name=prometheus-0".into()) };
    assert_eq!(client.list_pod_metrics(None, &fs).await.expect("field").len(), 1);
    let p = client.get_pod_metrics("default", "batch-1").await.expect("pod");
    assert_eq!(p.containers.len(), 3);
    assert_eq!(p.total("cpu").to_string(), "2500m");
}

#[tokio::test]
async fn top_rows_are_data() {
    let server = LoopbackApiServer::start(fixtures::varied()).await.expect("server");
    let client = client_for(&server).await;
    let rows = client.top_nodes(&TopNodeOptions { sort_by: SortBy::Cpu, ..Default::default() }).await.expect("top nodes");
    assert_eq!(rows.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(), ["node-a", "node-b", "node-c"]);
    assert_eq!(rows[0].cpu_percent, Some(41));
    assert_eq!(rows[1].memory_percent, Some(165));
    assert!(!rows[2].has_metrics() && rows[2].cpu_available.is_some(), "node-c is unknown, not dropped and not zero");
    let top = client.top_pods(&TopPodOptions { all_namespaces: true, sum: true, ..Default::default() }).await.expect("top pods");
    assert_eq!(top.pods.len(), 9);
    assert_eq!(top.total_cpu.milli_value(), Some(4431));
    assert_eq!(top.namespace, None);
    let one = client.top_pods(&TopPodOptions { name: Some("batch-1".into()), containers: true, ..Default::default() }).await.expect("one");
    assert_eq!(one.pods[0].containers.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(), ["helper", "init-copy", "worker"]);
}

#[tokio::test]
async fn every_error_kind_is_clear() {
    let server = LoopbackApiServer::start(fixtures::varied()).await.expect("server");
    let client = client_for(&server).await.with_timeout(Duration::from_millis(500));
    let e = client.get_node_metrics("node-zzz").await.expect_err("404");
    assert_eq!((e.kind(), e.status()), (ErrorKind::NotFound, Some(404)));
    assert_eq!(e.message(), r#"nodemetrics.metrics.k8s.io "node-zzz" not found"#);
    let e = client.get_pod("default", "nope").await.expect_err("404");
    assert_eq!(e.message(), r#"pods "nope" not found"#);

    let state = server.state();
    for (fault, kind, status) in [
        (Fault::Unauthorized, ErrorKind::Auth, Some(401)),
        (Fault::Forbidden, ErrorKind::Auth, Some(403)),
        (Fault::InternalError, ErrorKind::Api, Some(500)),
        (Fault::MalformedJson, ErrorKind::Api, None),
        (Fault::Hang, ErrorKind::Io, None),
    ] {
        state.write().expect("lock").fault = Some(fault);
        let e = client.list_node_metrics(&ListOptions::default()).await.expect_err("fault");
        assert_eq!((e.kind(), e.status()), (kind, status), "{fault:?}: {e}");
        assert!(!e.message().is_empty());
    }
    state.write().expect("lock").fault = None;

    // No Metrics API at all: kubectl's words and what to do.
    let bare = LoopbackApiServer::start(ClusterState::default()).await.expect("server");
    let fresh = client_for(&bare).await;
    let e = fresh.list_node_metrics(&ListOptions::default()).await.expect_err("unavailable");
    assert_eq!(e.kind(), ErrorKind::MetricsUnavailable);
    assert!(e.message().starts_with("Metrics API not available") && e.message().contains("kubemetrics serve"), "{e}");
}

#[tokio::test]
async fn connection_refused_and_bad_config() {
    // A port nothing listens on: bind, note the port, drop the listener.
    let port = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
    let dir = std::env::temp_dir().join(format!("km-refused-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let path = dir.join("kubeconfig");
    std::fs::write(&path, format!("apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: http://127.0.0.1:{port}\ncontexts:\n- name: c\n  context:\n    cluster: c\n    user: u\ncurrent-context: c\nusers:\n- name: u\n  user: {{}}\n")).expect("write");
    let client = Client::from_kubeconfig(Some(&path), None).await.expect("client");
    let e = client.list_node_metrics(&ListOptions::default()).await.expect_err("refused");
    assert_eq!(e.kind(), ErrorKind::Io);
    assert_eq!(e.message(), format!("The connection to the server 127.0.0.1:{port} was refused - did you specify the right host or port?"));

    let e = Client::from_kubeconfig(Some(&path), Some("nope")).await.expect_err("context");
    assert_eq!((e.kind(), e.message()), (ErrorKind::Config, "context \"nope\" does not exist"));
    let e = Client::from_kubeconfig(Some(&dir.join("missing")), None).await.expect_err("missing file");
    assert_eq!(e.kind(), ErrorKind::Config);
    assert!(e.message().contains("missing"), "{e}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn pod_requests_and_percent_of_request() {
    let server = LoopbackApiServer::start(fixtures::varied()).await.expect("server");
    let client = client_for(&server).await;
    let requests = client.pod_requests(Some("default"), &ListOptions::labels("app=web")).await.expect("requests");
    assert_eq!(requests.len(), 2);
    let r = &requests[0];
    assert_eq!((r.cpu.map(|q| q.to_string()), r.memory.map(|q| q.to_string())), (Some("200m".into()), Some("128Mi".into())));
    let top = client.top_pods(&TopPodOptions { label_selector: Some("app=web".into()), ..Default::default() }).await.expect("top");
    let row = top.pods.iter().find(|p| p.name == r.name).expect("row");
    // web-7f9c-abcde uses 969654n + 1m, 2m in millicores rounded up, of 200m requested: 1%.
    assert_eq!(r.cpu_percent(&row.cpu), Some(1));
    assert_eq!(r.memory_percent(&row.memory), Some(13), "15012Ki + 2Mi of 128Mi");
}
