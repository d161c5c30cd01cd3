//! `kubemetrics simulate`: a simulated kubelet fleet on 127.0.0.1 as its own process, with a
//! loopback control endpoint (inventory, usage changes, pods, faults) for tests and benchmarks.
//!
//! The kubelets speak plain HTTP, or HTTPS with `--tls-cert-file`/`--tls-private-key-file`
//! (kubelet's flags); `--client-ca-file` and `--require-token` make them refuse (401) requests
//! without a trusted client certificate or the token, as kubelets with `--anonymous-auth=false`.
//!
//! The first line on stdout is `serving on http://127.0.0.1:PORT`, the control URL. The control
//! API speaks JSON over plain HTTP/1.1 (one request per connection), on 127.0.0.1 only:
//!
//! | request | what |
//! | --- | --- |
//! | `GET /healthz` | `ok` |
//! | `GET /inventory` | nodes (name, kubelet address, port and scheme, labels, capacity, requests served) with their pods and containers (usage, requests, start, restarts) |
//! | `GET /nodes`, `GET /pods` | the fleet as Kubernetes `NodeList` / `PodList` objects |
//! | `POST /pods` | `{"node", "namespace", "name", "app" or "labels": {"app"}, "containers": [{"name", "cpu_millicores", "memory_bytes", "cpu_request_millicores", "memory_request_bytes", "swap_bytes"}]}` starts a pod |
//! | `DELETE /pods/{node}/{namespace}/{name}` | removes a pod |
//! | `POST /usage` | `{"node", "namespace", "pod", "container", "cpu_millicores", "memory_bytes"}` (memory optional: unchanged) |
//! | `POST /restart` | `{"node", "namespace", "pod", "container"}` restarts a container (counter back to 0) |
//! | `POST /faults` | `{"node", "status", "garbage_every", "delay_ms", "hang", "body_bytes", "no_resource_endpoint"}` replaces the node's faults (`{"node"}` alone clears them) |
//!
//! Errors answer `{"error": "..."}` with 400 (bad request), 404 (no such node, pod, container or
//! path) or 409 (the pod already exists).

use kubemetrics::testkit::simulate::{Faults, Fleet, FleetConfig, FleetTls, NodeInfo, SimContainer, SimPod};
use kubemetrics::{Error, ErrorKind};
use serde_json::{Value, json};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Flags of `kubemetrics simulate`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Number of simulated nodes (one kubelet port each on 127.0.0.1).
    #[arg(long, default_value_t = 3)]
    nodes: usize,
    /// Pods per node at start.
    #[arg(long, default_value_t = 10)]
    pods_per_node: usize,
    /// Containers per pod at start.
    #[arg(long, default_value_t = 1)]
    containers_per_pod: usize,
    /// Number of namespaces the initial pods are spread over.
    #[arg(long, default_value_t = 3)]
    namespaces: usize,
    /// Seed of every generated name and number.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Node names are this prefix and a 5-digit index.
    #[arg(long, default_value = "sim-node-")]
    node_name_prefix: String,
    /// Port of the control API on 127.0.0.1 (0: any free port).
    #[arg(long, default_value_t = 0)]
    control_port: u16,
    /// Serve every simulated kubelet over HTTPS with this PEM certificate (chain), as kubelet's
    /// --tls-cert-file (give it an IP SAN 127.0.0.1).
    #[arg(long, requires = "tls_private_key_file")]
    tls_cert_file: Option<PathBuf>,
    /// PEM private key of --tls-cert-file.
    #[arg(long, requires = "tls_cert_file")]
    tls_private_key_file: Option<PathBuf>,
    /// Authenticate requests by client certificates verified against this PEM CA bundle (kubelet's
    /// --client-ca-file); requests with neither such a certificate nor --require-token's token
    /// get 401, like a kubelet with --anonymous-auth=false.
    #[arg(long, requires = "tls_cert_file")]
    client_ca_file: Option<PathBuf>,
    /// Authenticate requests bearing `Authorization: Bearer TOKEN`; requests with neither this
    /// token nor a trusted client certificate get 401.
    #[arg(long, value_name = "TOKEN")]
    require_token: Option<String>,
}

/// Runs the fleet until SIGTERM/Ctrl-C.
pub async fn run(args: Args) -> ExitCode {
    super::init_logging(0);
    match simulate(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
}

async fn simulate(args: Args) -> kubemetrics::Result<()> {
    let config = FleetConfig {
        nodes: args.nodes,
        pods_per_node: args.pods_per_node,
        containers_per_pod: args.containers_per_pod.max(1),
        namespaces: args.namespaces.max(1),
        seed: args.seed,
        node_name_prefix: args.node_name_prefix.clone(),
        tls: args.tls_cert_file.clone().zip(args.tls_private_key_file.clone()).map(|(cert_file, key_file)| FleetTls {
            cert_file,
            key_file,
            client_ca_file: args.client_ca_file.clone(),
        }),
        require_token: args.require_token.clone(),
        ..Default::default()
    };
    let fleet = Arc::new(Fleet::start(config).await?);
    let listener = TcpListener::bind((std::net::Ipv4Addr::LOCALHOST, args.control_port))
        .await
        .map_err(|e| Error::new(ErrorKind::Io, format!("binding the control port 127.0.0.1:{}: {e}", args.control_port)))?;
    let addr = listener.local_addr().map_err(|e| Error::new(ErrorKind::Io, format!("control address: {e}")))?;
    // The first stdout line is the control URL (test helpers wait for it).
    println!("serving on http://{addr}");
    let auth = match (&args.client_ca_file, &args.require_token) {
        (None, None) => "",
        (Some(_), None) => ", client certificates required",
        (None, Some(_)) => ", bearer token required",
        (Some(_), Some(_)) => ", client certificate or bearer token required",
    };
    eprintln!(
        "simulating {} kubelets with {} pods each on 127.0.0.1 over {}{auth} (ports {})",
        fleet.len(),
        args.pods_per_node,
        fleet.scheme().to_ascii_uppercase(),
        fleet.addrs().iter().map(|(_, a)| a.port().to_string()).collect::<Vec<_>>().join(",")
    );
    let accept = {
        let fleet = fleet.clone();
        tokio::spawn(async move {
            loop {
                match listener.accept().await {
                    Ok((stream, _)) => {
                        let fleet = fleet.clone();
                        tokio::spawn(async move {
                            let _ = serve_connection(stream, &fleet).await;
                        });
                    }
                    Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
                }
            }
        })
    };
    super::wait_for_shutdown().await;
    accept.abort();
    let _ = accept.await;
    match Arc::try_unwrap(fleet) {
        Ok(fleet) => fleet.shutdown().await,
        Err(fleet) => drop(fleet), // a control request still runs: dropping stops the servers too
    }
    Ok(())
}

/// Largest request head and body the control API accepts.
const MAX_HEAD: usize = 64 << 10;
const MAX_BODY: usize = 4 << 20;

struct Request {
    method: String,
    path: String,
    body: Vec<u8>,
}

/// Reads one HTTP/1.1 request (Content-Length bodies only), answers it and closes.
async fn serve_connection(mut stream: TcpStream, fleet: &Fleet) -> std::io::Result<()> {
    let request = match tokio::time::timeout(Duration::from_secs(30), read_request(&mut stream)).await {
        Ok(Ok(Some(r))) => r,
        Ok(Ok(None)) => return Ok(()),
        Ok(Err(msg)) => return write_response(&mut stream, 400, &json!({ "error": msg })).await,
        Err(_) => return Ok(()),
    };
    let (status, body) = match handle(fleet, &request) {
        Ok(v) => (200, v),
        Err((status, msg)) => (status, json!({ "error": msg })),
    };
    write_response(&mut stream, status, &body).await
}

async fn read_request(stream: &mut TcpStream) -> Result<Option<Request>, String> {
    let mut buf = Vec::with_capacity(1024);
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        if buf.len() > MAX_HEAD {
            return Err("request head too large".into());
        }
        let mut chunk = [0u8; 4096];
        let n = stream.read(&mut chunk).await.map_err(|e| e.to_string())?;
        if n == 0 {
            return if buf.is_empty() { Ok(None) } else { Err("connection closed mid-request".into()) };
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = std::str::from_utf8(&buf[..head_end]).map_err(|_| "request head is not UTF-8".to_string())?;
    let mut lines = head.split("\r\n");
    let mut first = lines.next().unwrap_or_default().split(' ');
    let method = first.next().unwrap_or_default().to_string();
    let target = first.next().unwrap_or_default();
    let path = target.split('?').next().unwrap_or_default().to_string();
    let mut length = 0usize;
    for line in lines {
        if let Some((k, v)) = line.split_once(':') {
            let k = k.trim().to_ascii_lowercase();
            if k == "content-length" {
                length = v.trim().parse().map_err(|_| "bad Content-Length".to_string())?;
            } else if k == "transfer-encoding" && !v.trim().eq_ignore_ascii_case("identity") {
                return Err("chunked request bodies are not supported; send Content-Length".into());
            }
        }
    }
    if length > MAX_BODY {
        return Err("request body too large".into());
    }
    let mut body = buf[head_end + 4..].to_vec();
    while body.len() < length {
        let mut chunk = vec![0u8; (length - body.len()).min(64 << 10)];
        let n = stream.read(&mut chunk).await.map_err(|e| e.to_string())?;
        if n == 0 {
            return Err("connection closed mid-body".into());
        }
        body.extend_from_slice(&chunk[..n]);
    }
    body.truncate(length);
    Ok(Some(Request { method, path, body }))
}

async fn write_response(stream: &mut TcpStream, status: u16, body: &Value) -> std::io::Result<()> {
    let reason = match status {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        409 => "Conflict",
        _ => "Internal Server Error",
    };
    let mut text = serde_json::to_vec(body).unwrap_or_default();
    text.push(b'\n');
    let head = format!("HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", text.len());
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(&text).await?;
    stream.shutdown().await
}

type Reply = Result<Value, (u16, String)>;

fn fleet_error(e: Error) -> (u16, String) {
    let status = match e.kind() {
        ErrorKind::NotFound => 404,
        _ if e.to_string().contains("already runs pod") => 409,
        _ => 400,
    };
    (status, e.to_string())
}

fn parse_body(r: &Request) -> Result<Value, (u16, String)> {
    let v: Value = serde_json::from_slice(&r.body).map_err(|e| (400, format!("request body is not JSON: {e}")))?;
    if !v.is_object() {
        return Err((400, "request body must be a JSON object".into()));
    }
    Ok(v)
}

fn str_field<'a>(v: &'a Value, name: &str) -> Result<&'a str, (u16, String)> {
    v.get(name).and_then(Value::as_str).filter(|s| !s.is_empty()).ok_or_else(|| (400, format!("missing string field {name:?}")))
}

fn u64_field(v: &Value, name: &str) -> Result<Option<u64>, (u16, String)> {
    match v.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(x) => x.as_u64().map(Some).ok_or_else(|| (400, format!("field {name:?} must be a non-negative integer"))),
    }
}

fn u32_field(v: &Value, name: &str) -> Result<Option<u32>, (u16, String)> {
    u64_field(v, name)?.map(|x| u32::try_from(x).map_err(|_| (400, format!("field {name:?} is too large")))).transpose()
}

fn handle(fleet: &Fleet, r: &Request) -> Reply {
    let segments: Vec<&str> = r.path.trim_matches('/').split('/').filter(|s| !s.is_empty()).collect();
    match (r.method.as_str(), segments.as_slice()) {
        ("GET", ["healthz"]) => Ok(json!("ok")),
        ("GET", ["inventory"]) => Ok(inventory_json(fleet)),
        ("GET", ["nodes"]) => Ok(json!({ "apiVersion": "v1", "kind": "NodeList", "items": fleet.nodes() })),
        ("GET", ["pods"]) => Ok(json!({ "apiVersion": "v1", "kind": "PodList", "items": fleet.pods() })),
        ("POST", ["pods"]) => add_pod(fleet, &parse_body(r)?),
        ("DELETE", ["pods", node, ns, name]) => {
            fleet.remove_pod(node, ns, name).map_err(fleet_error)?;
            Ok(json!({ "removed": format!("{ns}/{name}"), "node": node }))
        }
        ("POST", ["usage"]) => set_usage(fleet, &parse_body(r)?),
        ("POST", ["restart"]) => {
            let v = parse_body(r)?;
            let (node, ns, pod, container) = (str_field(&v, "node")?, str_field(&v, "namespace")?, str_field(&v, "pod")?, str_field(&v, "container")?);
            fleet.restart_container(node, ns, pod, container).map_err(fleet_error)?;
            Ok(json!({ "restarted": format!("{ns}/{pod}/{container}") }))
        }
        ("POST", ["faults"]) => set_faults(fleet, &parse_body(r)?),
        (_, ["healthz" | "inventory" | "nodes" | "pods" | "usage" | "restart" | "faults"]) | (_, ["pods", _, _, _]) => {
            Err((405, format!("{} is not allowed on {}", r.method, r.path)))
        }
        _ => Err((404, format!("no route {} {}", r.method, r.path))),
    }
}

fn inventory_json(fleet: &Fleet) -> Value {
    let nodes: Vec<Value> = fleet.inventory().iter().map(|n| node_json(fleet, n)).collect();
    json!({ "nodes": nodes })
}

fn node_json(fleet: &Fleet, n: &NodeInfo) -> Value {
    json!({
        "name": n.name,
        "address": n.addr.ip().to_string(),
        "port": n.addr.port(),
        "scheme": fleet.scheme(),
        "labels": n.labels,
        "cpu_capacity_millicores": n.cpu_capacity_millicores,
        "memory_capacity_bytes": n.memory_capacity_bytes,
        "boot": n.boot.to_string(),
        "requests": fleet.requests(&n.name).unwrap_or(0),
        "pods": n.pods.iter().map(|p| json!({
            "namespace": p.namespace,
            "name": p.name,
            "uid": p.uid,
            "labels": p.labels,
            "node": p.node_name,
            "created": p.created.to_string(),
            "containers": p.containers.iter().map(|c| json!({
                "name": c.name,
                "cpu_millicores": c.cpu_millicores,
                "memory_bytes": c.memory_bytes,
                "swap_bytes": c.swap_bytes,
                "cpu_request_millicores": c.cpu_request_millicores,
                "memory_request_bytes": c.memory_request_bytes,
                "started": c.started.to_string(),
                "restarts": c.restarts,
            })).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
    })
}

fn add_pod(fleet: &Fleet, v: &Value) -> Reply {
    let node = str_field(v, "node")?;
    let namespace = str_field(v, "namespace")?.to_string();
    let name = str_field(v, "name")?.to_string();
    let app = v
        .get("app")
        .and_then(Value::as_str)
        .or_else(|| v.get("labels").and_then(|l| l.get("app")).and_then(Value::as_str))
        .unwrap_or(name.as_str())
        .to_string();
    let list =
        v.get("containers").and_then(Value::as_array).filter(|c| !c.is_empty()).ok_or_else(|| (400, "\"containers\" must be a non-empty array".to_string()))?;
    let mut containers = Vec::with_capacity(list.len());
    for c in list {
        let cpu = u32_field(c, "cpu_millicores")?.unwrap_or(0);
        let memory = u64_field(c, "memory_bytes")?.unwrap_or(0);
        containers.push(SimContainer {
            name: str_field(c, "name")?.to_string(),
            cpu_millicores: cpu,
            memory_bytes: memory,
            swap_bytes: u64_field(c, "swap_bytes")?.unwrap_or(0),
            cpu_request_millicores: u32_field(c, "cpu_request_millicores")?.unwrap_or(cpu),
            memory_request_bytes: u64_field(c, "memory_request_bytes")?.unwrap_or(memory),
        });
    }
    fleet.add_pod(node, SimPod { namespace: namespace.clone(), name: name.clone(), app, containers }).map_err(fleet_error)?;
    Ok(json!({ "added": format!("{namespace}/{name}"), "node": node }))
}

fn set_usage(fleet: &Fleet, v: &Value) -> Reply {
    let (node, ns, pod, container) = (str_field(v, "node")?, str_field(v, "namespace")?, str_field(v, "pod")?, str_field(v, "container")?);
    let cpu = u32_field(v, "cpu_millicores")?;
    let memory = u64_field(v, "memory_bytes")?;
    // Unset fields keep their current value.
    let current = fleet
        .inventory()
        .into_iter()
        .find(|n| n.name == node)
        .and_then(|n| n.pods.into_iter().find(|p| p.namespace == ns && p.name == pod))
        .and_then(|p| p.containers.into_iter().find(|c| c.name == container));
    let Some(current) = current else {
        return Err((404, format!("no container {ns}/{pod}/{container} on simulated node {node:?}")));
    };
    let cpu = cpu.unwrap_or(current.cpu_millicores);
    let memory = memory.unwrap_or(current.memory_bytes);
    fleet.set_usage(node, ns, pod, container, cpu, memory).map_err(fleet_error)?;
    Ok(json!({ "node": node, "namespace": ns, "pod": pod, "container": container, "cpu_millicores": cpu, "memory_bytes": memory }))
}

fn set_faults(fleet: &Fleet, v: &Value) -> Reply {
    let node = str_field(v, "node")?;
    let status = match u64_field(v, "status")? {
        Some(s) if (100..=999).contains(&s) => Some(s as u16),
        Some(s) => return Err((400, format!("status {s} is not an HTTP status"))),
        None => None,
    };
    let flag = |name: &str| -> Result<bool, (u16, String)> {
        match v.get(name) {
            None | Some(Value::Null) => Ok(false),
            Some(Value::Bool(b)) => Ok(*b),
            Some(_) => Err((400, format!("field {name:?} must be a boolean"))),
        }
    };
    let faults = Faults {
        status,
        garbage_every: u32_field(v, "garbage_every")?.filter(|&n| n > 0),
        delay: u64_field(v, "delay_ms")?.map(Duration::from_millis),
        hang: flag("hang")?,
        body_bytes: u64_field(v, "body_bytes")?.map(|b| usize::try_from(b).unwrap_or(usize::MAX)),
        no_resource_endpoint: flag("no_resource_endpoint")?,
    };
    fleet.set_faults(node, faults).map_err(fleet_error)?;
    Ok(json!({
        "node": node,
        "status": faults.status,
        "garbage_every": faults.garbage_every,
        "delay_ms": faults.delay.map(|d| d.as_millis() as u64),
        "hang": faults.hang,
        "body_bytes": faults.body_bytes,
        "no_resource_endpoint": faults.no_resource_endpoint,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(method: &str, path: &str, body: Value) -> Request {
        let body = if body.is_null() { Vec::new() } else { serde_json::to_vec(&body).unwrap_or_default() };
        Request { method: method.into(), path: path.into(), body }
    }

    fn small_fleet() -> FleetConfig {
        FleetConfig { nodes: 2, pods_per_node: 1, containers_per_pod: 1, namespaces: 1, ..Default::default() }
    }

    #[tokio::test]
    async fn control_api_routes() {
        let fleet = Fleet::start(small_fleet()).await.expect("fleet");
        let node = fleet.node_names()[0].clone();
        let inv = handle(&fleet, &req("GET", "/inventory", Value::Null)).expect("inventory");
        let nodes = inv["nodes"].as_array().expect("nodes");
        assert_eq!(nodes.len(), 2);
        assert_eq!(nodes[0]["address"], "127.0.0.1");
        assert_eq!(nodes[0]["port"], json!(fleet.addr(&node).map(|a| a.port())));
        assert_eq!(nodes[0]["pods"].as_array().map(Vec::len), Some(1));
        let list = handle(&fleet, &req("GET", "/nodes", Value::Null)).expect("nodes");
        assert_eq!(list["kind"], "NodeList");
        assert_eq!(list["items"][0]["status"]["daemonEndpoints"]["kubeletEndpoint"]["Port"], nodes[0]["port"]);

        let pod = json!({"node": node, "namespace": "ns", "name": "p", "labels": {"app": "web"},
                         "containers": [{"name": "c", "cpu_millicores": 300, "memory_bytes": 1048576}]});
        handle(&fleet, &req("POST", "/pods", pod.clone())).expect("add");
        assert_eq!(handle(&fleet, &req("POST", "/pods", pod)).map_err(|e| e.0), Err(409));
        let added = fleet.inventory()[0].pods.iter().find(|p| p.name == "p").cloned().expect("added pod");
        assert_eq!(added.labels.get("app").map(String::as_str), Some("web"));
        assert_eq!((added.containers[0].cpu_request_millicores, added.containers[0].memory_request_bytes), (300, 1 << 20));

        let usage = json!({"node": node, "namespace": "ns", "pod": "p", "container": "c", "cpu_millicores": 50});
        let r = handle(&fleet, &req("POST", "/usage", usage)).expect("usage");
        assert_eq!((r["cpu_millicores"].as_u64(), r["memory_bytes"].as_u64()), (Some(50), Some(1 << 20)), "memory unchanged");
        let missing = json!({"node": node, "namespace": "ns", "pod": "nope", "container": "c", "cpu_millicores": 1});
        assert_eq!(handle(&fleet, &req("POST", "/usage", missing)).map_err(|e| e.0), Err(404));

        let f = handle(&fleet, &req("POST", "/faults", json!({"node": node, "status": 500, "delay_ms": 10}))).expect("faults");
        assert_eq!((f["status"].as_u64(), f["delay_ms"].as_u64(), f["hang"].as_bool()), (Some(500), Some(10), Some(false)));
        assert_eq!(handle(&fleet, &req("POST", "/faults", json!({"node": node, "status": 5}))).map_err(|e| e.0), Err(400));
        assert_eq!(handle(&fleet, &req("POST", "/faults", json!({"node": "nope"}))).map_err(|e| e.0), Err(404));
        handle(&fleet, &req("POST", "/faults", json!({"node": node}))).expect("clear");

        handle(&fleet, &req("POST", "/restart", json!({"node": node, "namespace": "ns", "pod": "p", "container": "c"}))).expect("restart");
        handle(&fleet, &req("DELETE", &format!("/pods/{node}/ns/p"), Value::Null)).expect("delete");
        assert_eq!(handle(&fleet, &req("DELETE", &format!("/pods/{node}/ns/p"), Value::Null)).map_err(|e| e.0), Err(404));
        assert_eq!(handle(&fleet, &req("PUT", "/inventory", Value::Null)).map_err(|e| e.0), Err(405));
        assert_eq!(handle(&fleet, &req("GET", "/nope", Value::Null)).map_err(|e| e.0), Err(404));
        assert_eq!(handle(&fleet, &Request { method: "POST".into(), path: "/usage".into(), body: b"{".to_vec() }).map_err(|e| e.0), Err(400));
        fleet.shutdown().await;
    }

    #[tokio::test]
    async fn http_round_trip() {
        let fleet = Arc::new(Fleet::start(small_fleet()).await.expect("fleet"));
        let listener = TcpListener::bind((std::net::Ipv4Addr::LOCALHOST, 0)).await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let server = {
            let fleet = fleet.clone();
            tokio::spawn(async move {
                for _ in 0..2 {
                    let (stream, _) = listener.accept().await.expect("accept");
                    serve_connection(stream, &fleet).await.expect("serve");
                }
            })
        };
        let node = fleet.node_names()[1].clone();
        // a body split from its head, as clients may send it
        let body = format!(r#"{{"node":"{node}","garbage_every":3}}"#);
        let mut c = TcpStream::connect(addr).await.expect("connect");
        c.write_all(format!("POST /faults HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n", body.len()).as_bytes()).await.expect("head");
        c.write_all(body.as_bytes()).await.expect("body");
        let mut out = String::new();
        c.read_to_string(&mut out).await.expect("read");
        assert!(out.starts_with("HTTP/1.1 200 OK\r\n"), "{out}");
        assert!(out.contains("\"garbage_every\":3"), "{out}");
        let mut c = TcpStream::connect(addr).await.expect("connect");
        c.write_all(b"GET /nope HTTP/1.1\r\n\r\n").await.expect("write");
        let mut out = String::new();
        c.read_to_string(&mut out).await.expect("read");
        assert!(out.starts_with("HTTP/1.1 404 Not Found\r\n") && out.contains("no route GET /nope"), "{out}");
        server.await.expect("server");
    }
}
