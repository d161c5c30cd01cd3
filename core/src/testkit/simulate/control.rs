//! The control API of a simulated fleet, for processes that drive a fleet running in another
//! process (`kubemetrics simulate`): JSON over plain HTTP/1.1 on 127.0.0.1, one request per
//! connection.
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
//! Errors answer `{"error": "..."}` with 400 (bad request, or a body over 4 MiB), 404 (no such
//! node, pod, container or path), 405 (a known path with another method) or 409 (the pod
//! already exists).

use super::{Faults, Fleet, NodeInfo, SimContainer, SimPod};
use crate::error::{Error, ErrorKind, Result};
use crate::server::listener::{self, ServeOptions};
use crate::server::route::segments;
use bytes::Bytes;
use http::{Request, Response, StatusCode, header};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use serde_json::{Value, json};
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::watch;

/// Largest request body the control API accepts.
const MAX_BODY: usize = 4 << 20;

/// The control API of a fleet, served on 127.0.0.1 until [`ControlServer::shutdown`] or drop.
#[derive(Debug)]
pub struct ControlServer {
    addr: SocketAddr,
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl ControlServer {
    /// Binds `127.0.0.1:port` (0: any free port) and serves the control API of `fleet` on the
    /// current tokio runtime. Fails (kind [`ErrorKind::Io`]) when the port cannot be bound.
    pub async fn start(fleet: Arc<Fleet>, port: u16) -> Result<ControlServer> {
        let tcp = TcpListener::bind((Ipv4Addr::LOCALHOST, port))
            .await
            .map_err(|e| Error::new(ErrorKind::Io, format!("binding the control port 127.0.0.1:{port}: {e}")).with_source(e))?;
        let addr = tcp.local_addr().map_err(|e| Error::new(ErrorKind::Io, format!("control address: {e}")).with_source(e))?;
        let (stop, stopped) = watch::channel(false);
        let options = ServeOptions { keep_alive: false, header_timeout: true, ..ServeOptions::http1("simulator control API") };
        let task = listener::spawn(tcp, options, stopped, move |_| {
            let fleet = fleet.clone();
            move |req| serve(fleet.clone(), req)
        });
        Ok(ControlServer { addr, stop, task })
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops accepting and serving, and waits for the listener to close.
    pub async fn shutdown(mut self) {
        self.stop.send_replace(true);
        let _ = (&mut self.task).await;
    }
}

impl Drop for ControlServer {
    fn drop(&mut self) {
        self.stop.send_replace(true);
    }
}

/// The request body, refused (before it is read, when the length is announced) over
/// [`MAX_BODY`].
async fn read_body(mut body: Incoming) -> std::result::Result<Vec<u8>, String> {
    const TOO_LARGE: &str = "request body too large";
    if http_body::Body::size_hint(&body).lower() > MAX_BODY as u64 {
        return Err(TOO_LARGE.into());
    }
    let mut out = Vec::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| format!("reading the request body: {e}"))?;
        if let Some(data) = frame.data_ref() {
            if out.len() + data.len() > MAX_BODY {
                return Err(TOO_LARGE.into());
            }
            out.extend_from_slice(data);
        }
    }
    Ok(out)
}

/// One request, as [`handle`] reads it.
#[derive(Debug)]
struct ControlRequest<'a> {
    method: &'a str,
    path: &'a str,
    body: &'a [u8],
}

async fn serve(fleet: Arc<Fleet>, req: Request<Incoming>) -> Response<Full<Bytes>> {
    let (parts, body) = req.into_parts();
    let (status, value) = match read_body(body).await {
        Ok(body) => match handle(&fleet, &ControlRequest { method: parts.method.as_str(), path: parts.uri.path(), body: &body }) {
            Ok(v) => (200, v),
            Err((status, msg)) => (status, json!({ "error": msg })),
        },
        Err(msg) => (400, json!({ "error": msg })),
    };
    let mut text = serde_json::to_vec(&value).unwrap_or_default();
    text.push(b'\n');
    let mut response = Response::new(Full::new(Bytes::from(text)));
    *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    response.headers_mut().insert(header::CONTENT_TYPE, header::HeaderValue::from_static("application/json"));
    response
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

fn parse_body(r: &ControlRequest<'_>) -> Result<Value, (u16, String)> {
    let v: Value = serde_json::from_slice(r.body).map_err(|e| (400, format!("request body is not JSON: {e}")))?;
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

/// Answers one control request.
fn handle(fleet: &Fleet, r: &ControlRequest<'_>) -> Reply {
    let parts: Vec<&str> = segments(r.path).collect();
    match (r.method, parts.as_slice()) {
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
mod tests;
