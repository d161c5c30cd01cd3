use super::*;
use crate::testkit::simulate::FleetConfig;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn call(fleet: &Fleet, method: &str, path: &str, body: Value) -> Reply {
    let body = if body.is_null() { Vec::new() } else { serde_json::to_vec(&body).unwrap_or_default() };
    handle(fleet, &ControlRequest { method, path, body: &body })
}

fn small_fleet() -> FleetConfig {
    FleetConfig { nodes: 2, pods_per_node: 1, containers_per_pod: 1, namespaces: 1, ..Default::default() }
}

#[tokio::test]
async fn control_api_routes() {
    let fleet = Fleet::start(small_fleet()).await.expect("fleet");
    let node = fleet.node_names()[0].clone();
    let inv = call(&fleet, "GET", "/inventory", Value::Null).expect("inventory");
    let nodes = inv["nodes"].as_array().expect("nodes");
    assert_eq!(nodes.len(), 2);
    assert_eq!(nodes[0]["address"], "127.0.0.1");
    assert_eq!(nodes[0]["port"], json!(fleet.addr(&node).map(|a| a.port())));
    assert_eq!(nodes[0]["pods"].as_array().map(Vec::len), Some(1));
    let list = call(&fleet, "GET", "/nodes", Value::Null).expect("nodes");
    assert_eq!(list["kind"], "NodeList");
    assert_eq!(list["items"][0]["status"]["daemonEndpoints"]["kubeletEndpoint"]["Port"], nodes[0]["port"]);

    let pod = json!({"node": node, "namespace": "ns", "name": "p", "labels": {"app": "web"},
                     "containers": [{"name": "c", "cpu_millicores": 300, "memory_bytes": 1048576}]});
    call(&fleet, "POST", "/pods", pod.clone()).expect("add");
    assert_eq!(call(&fleet, "POST", "/pods", pod).map_err(|e| e.0), Err(409));
    let added = fleet.inventory()[0].pods.iter().find(|p| p.name == "p").cloned().expect("added pod");
    assert_eq!(added.labels.get("app").map(String::as_str), Some("web"));
    assert_eq!((added.containers[0].cpu_request_millicores, added.containers[0].memory_request_bytes), (300, 1 << 20));

    let usage = json!({"node": node, "namespace": "ns", "pod": "p", "container": "c", "cpu_millicores": 50});
    let r = call(&fleet, "POST", "/usage", usage).expect("usage");
    assert_eq!((r["cpu_millicores"].as_u64(), r["memory_bytes"].as_u64()), (Some(50), Some(1 << 20)), "memory unchanged");
    let missing = json!({"node": node, "namespace": "ns", "pod": "nope", "container": "c", "cpu_millicores": 1});
    assert_eq!(call(&fleet, "POST", "/usage", missing).map_err(|e| e.0), Err(404));

    let f = call(&fleet, "POST", "/faults", json!({"node": node, "status": 500, "delay_ms": 10})).expect("faults");
    assert_eq!((f["status"].as_u64(), f["delay_ms"].as_u64(), f["hang"].as_bool()), (Some(500), Some(10), Some(false)));
    assert_eq!(call(&fleet, "POST", "/faults", json!({"node": node, "status": 5})).map_err(|e| e.0), Err(400));
    assert_eq!(call(&fleet, "POST", "/faults", json!({"node": "nope"})).map_err(|e| e.0), Err(404));
    call(&fleet, "POST", "/faults", json!({"node": node})).expect("clear");

    call(&fleet, "POST", "/restart", json!({"node": node, "namespace": "ns", "pod": "p", "container": "c"})).expect("restart");
    call(&fleet, "DELETE", &format!("/pods/{node}/ns/p"), Value::Null).expect("delete");
    assert_eq!(call(&fleet, "DELETE", &format!("/pods/{node}/ns/p"), Value::Null).map_err(|e| e.0), Err(404));
    assert_eq!(call(&fleet, "PUT", "/inventory", Value::Null).map_err(|e| e.0), Err(405));
    assert_eq!(call(&fleet, "GET", "/nope", Value::Null).map_err(|e| e.0), Err(404));
    assert_eq!(handle(&fleet, &ControlRequest { method: "POST", path: "/usage", body: b"{" }).map_err(|e| e.0), Err(400));
    fleet.shutdown().await;
}

#[tokio::test]
async fn http_round_trip() {
    let fleet = Arc::new(Fleet::start(small_fleet()).await.expect("fleet"));
    let server = ControlServer::start(fleet.clone(), 0).await.expect("control server");
    let addr = server.addr();
    assert!(addr.ip().is_loopback());
    assert_eq!(server.url(), format!("http://{addr}"));
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
    assert!(out.to_ascii_lowercase().contains("content-type: application/json\r\n"), "{out}");
    assert!(out.ends_with("}\n"), "one JSON document and a newline: {out}");
    let mut c = TcpStream::connect(addr).await.expect("connect");
    c.write_all(b"GET /nope HTTP/1.1\r\nHost: x\r\n\r\n").await.expect("write");
    let mut out = String::new();
    c.read_to_string(&mut out).await.expect("read");
    assert!(out.starts_with("HTTP/1.1 404 Not Found\r\n") && out.contains("no route GET /nope"), "{out}");
    // chunked bodies are read too; bodies over the limit are refused
    let mut c = TcpStream::connect(addr).await.expect("connect");
    let chunk = format!(r#"{{"node":"{node}"}}"#);
    c.write_all(format!("POST /faults HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n{:x}\r\n{chunk}\r\n0\r\n\r\n", chunk.len()).as_bytes())
        .await
        .expect("write");
    let mut out = String::new();
    c.read_to_string(&mut out).await.expect("read");
    assert!(out.starts_with("HTTP/1.1 200 OK\r\n"), "{out}");
    let mut c = TcpStream::connect(addr).await.expect("connect");
    c.write_all(format!("POST /pods HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n", MAX_BODY + 1).as_bytes()).await.expect("write");
    let mut out = String::new();
    c.read_to_string(&mut out).await.expect("read");
    assert!(out.starts_with("HTTP/1.1 400 Bad Request\r\n") && out.contains("request body too large"), "{out}");
    server.shutdown().await;
    assert!(TcpStream::connect(addr).await.is_err(), "closed after shutdown");
}
