//! A kubelet answering with a huge body costs about the body size limit in memory, not the body:
//! a loopback server streams 1 GiB (generated as it goes, never held), the collector scrapes it,
//! and the peak RSS of this process (VmHWM) must stay well under the limit plus 20 MiB.
//!
//! One test in its own binary (test binaries run their tests as threads of one process, and the
//! peak RSS is per process). Rerun with the figures printed:
//! `cargo test -p kubemetrics --test kubelet_body_cap -- --nocapture`.

mod common;

use common::Logs;
use kubemetrics::collector::{Collector, CollectorOptions, Inventory, KubeletOptions, NodeTarget};
use kubemetrics::server::ServerMetrics;
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

const GIB: u64 = 1 << 30;
const MIB: u64 = 1 << 20;

/// A field of /proc/self/status, in bytes.
fn status_bytes(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let kib = status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':')?.trim().strip_suffix(" kB")?.trim().parse::<u64>().ok())
        .unwrap_or_else(|| panic!("no {field} in /proc/self/status"));
    kib * 1024
}

/// Writes up to `total` bytes of `/metrics/resource` lines (one new pod per line, as a kubelet gone
/// wrong might), 64 KiB at a time from one reused buffer; stops at the first write error (the
/// client hung up).
fn flood(stream: &mut TcpStream, total: u64, chunked: bool) -> u64 {
    let mut buf = Vec::with_capacity(70 * 1024);
    let mut sent = 0u64;
    let mut pod = 0u64;
    while sent < total {
        buf.clear();
        if chunked {
            buf.extend_from_slice(b"0000000\r\n");
        }
        let start = buf.len();
        while buf.len() - start < 64 * 1024 {
            pod += 1;
            let _ =
                writeln!(buf, "container_memory_working_set_bytes{{container=\"app\",namespace=\"flood\",pod=\"flood-{pod:010}\"}} 1.048576e+06 1633253812125");
        }
        let len = buf.len() - start;
        if chunked {
            let head = format!("{len:07x}\r\n");
            buf[..9].copy_from_slice(head.as_bytes());
            buf.extend_from_slice(b"\r\n");
        }
        if stream.write_all(&buf).is_err() {
            return sent;
        }
        sent += len as u64;
    }
    if chunked {
        let _ = stream.write_all(b"0\r\n\r\n");
    }
    sent
}

/// A loopback "kubelet" answering one request per connection (`Connection: close`, so the client
/// never reuses a connection this server has closed): `/flood/...` streams 1 GiB chunked (no length announced),
/// `/announced/...` announces 1 GiB in `Content-Length` and streams it, `/small/...` answers the
/// captured 70-pod body.
fn kubelet() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
    let addr = listener.local_addr().expect("address");
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().expect("clone"));
                let mut request = String::new();
                let _ = reader.read_line(&mut request);
                let mut header = String::new();
                while reader.read_line(&mut header).is_ok_and(|n| n > 2) {
                    header.clear();
                }
                let path = request.split(' ').nth(1).unwrap_or_default().to_string();
                if path.starts_with("/flood/") {
                    let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n");
                    flood(&mut stream, GIB, true);
                } else if path.starts_with("/announced/") {
                    let _ = stream
                        .write_all(format!("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: {GIB}\r\n\r\n").as_bytes());
                    flood(&mut stream, GIB, false);
                } else {
                    let body =
                        std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures/kubelet/metrics-resource-kind-70pods.prom")).expect("fixture");
                    let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n");
                    for piece in body.chunks(1000) {
                        let _ = stream.write_all(format!("{:x}\r\n", piece.len()).as_bytes());
                        let _ = stream.write_all(piece);
                        let _ = stream.write_all(b"\r\n");
                    }
                    let _ = stream.write_all(b"0\r\n\r\n");
                }
            });
        }
    });
    addr
}

fn target(name: &str, addr: SocketAddr, prefix: &str) -> NodeTarget {
    NodeTarget { name: name.into(), address: Some(addr.to_string()), path: format!("{prefix}/metrics/resource"), labels: Default::default(), ready: true }
}

#[test]
fn a_huge_kubelet_body_costs_about_the_limit_in_memory() {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let logs = Logs::default();
    let _guard = tracing::subscriber::set_default(logs.clone());
    let addr = kubelet();
    let flood_node = target("flood", addr, "/flood");
    let announced = target("announced", addr, "/announced");
    let small = target("small", addr, "/small");
    let inventory = Inventory::new();
    inventory.replace_nodes([flood_node.clone(), announced.clone(), small.clone()]);
    inventory.mark_synced();
    let stats = Arc::new(ServerMetrics::default());
    let options = CollectorOptions {
        kubelet: KubeletOptions { scheme: "http".into(), request_timeout: Duration::from_secs(60), ..Default::default() },
        ..Default::default()
    };
    let limit = options.kubelet.max_body_bytes as u64;
    let collector = Collector::new(options, inventory, stats.clone()).expect("collector");
    // Warm up the client (connection pool, TLS-free path) on a normal body first.
    rt.block_on(collector.scrape(&small));

    let before = status_bytes("VmRSS");
    // Reset the peak to the current RSS (Linux 4.0+); if refused, the peak so far counts too.
    let reset = std::fs::write("/proc/self/clear_refs", "5").is_ok();
    let started = Instant::now();
    rt.block_on(collector.scrape(&flood_node));
    let took = started.elapsed();
    let peak = status_bytes("VmHWM");
    let grown = peak.saturating_sub(before);
    eprintln!(
        "1 GiB body, limit {} MiB: RSS before {:.1} MiB, peak {:.1} MiB, growth {:.1} MiB (peak reset: {reset}), scrape took {took:?}",
        limit / MIB,
        before as f64 / MIB as f64,
        peak as f64 / MIB as f64,
        grown as f64 / MIB as f64
    );
    assert_eq!(limit, 10 * MIB, "the default limit");
    assert!(grown < limit + 20 * MIB, "scraping a 1 GiB body grew the peak RSS by {} MiB (limit {} MiB)", grown / MIB, limit / MIB);

    let metrics = stats.render();
    assert!(metrics.contains("kubemetrics_scrape_errors_total{class=\"too-large\",node=\"flood\"} 1\n"), "{metrics}");
    let warned = logs.matching("node=flood ");
    assert_eq!(warned.len(), 1, "{warned:#?}");
    let line = &warned[0];
    eprintln!("logged: {line}");
    assert!(line.contains("node flood: ") && line.contains("10485760 bytes") && line.contains("--kubelet-max-body-size"), "{line}");
    assert!(line.contains(&format!("GET http://{addr}/flood/metrics/resource")), "{line}");

    // A body announced larger than the limit is refused before reading any of it.
    let started = Instant::now();
    rt.block_on(collector.scrape(&announced));
    assert!(started.elapsed() < Duration::from_secs(5));
    let line = logs.matching("node=announced ").pop().unwrap_or_default();
    assert!(line.contains(&format!("announces {GIB} bytes")) && line.contains("10485760 bytes"), "{line}");
    assert!(stats.render().contains("kubemetrics_scrape_errors_total{class=\"too-large\",node=\"announced\"} 1\n"));

    // The normal body, sent in pieces, was read and parsed: the one successful request.
    let metrics = stats.render();
    assert!(metrics.contains("metrics_server_kubelet_request_total{success=\"true\"} 1\n"), "{metrics}");
    assert!(metrics.contains("metrics_server_kubelet_request_total{success=\"false\"} 2\n"), "{metrics}");
    assert!(!metrics.lines().any(|l| l.starts_with("kubemetrics_scrape_errors_total") && l.contains("small")), "{metrics}");
    assert!(logs.matching("node=small ").is_empty());
}
