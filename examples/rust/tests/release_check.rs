//! Runs the release_check example against the test kit's loopback API server (the built-in
//! cluster of fixtures) and checks its numbers against the fixture pods.

use kubemetrics::testkit::loopback_api::{LoopbackApiServer, fixtures};
use std::process::Command;

struct Cluster {
    _rt: tokio::runtime::Runtime,
    _server: LoopbackApiServer,
    kubeconfig: std::path::PathBuf,
}

fn start() -> Cluster {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().expect("runtime");
    let server = rt.block_on(LoopbackApiServer::start(fixtures::varied())).expect("loopback API server");
    let dir = std::env::temp_dir().join(format!("km-example-{}-{}", std::process::id(), server.addr().port()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let kubeconfig = dir.join("kubeconfig");
    std::fs::write(&kubeconfig, server.kubeconfig("default")).expect("kubeconfig");
    Cluster { _rt: rt, _server: server, kubeconfig }
}

fn run(cluster: &Cluster, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_release_check")).arg("--kubeconfig").arg(&cluster.kubeconfig).args(args).output().expect("run example");
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn prints_millicores_and_bytes_of_the_matching_pods_and_containers() {
    let cluster = start();
    let (code, stdout, stderr) = run(&cluster, &["-n", "default", "-l", "app=web"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines[0], "2 pod(s) in default matching app=web");
    // 1969654n rounds up to 2m; 17060Ki is 17469440 bytes (the fixture's pod, one container).
    assert!(lines.contains(&"pod web-7f9c-abcde cpu_millicores=2 memory_bytes=17469440"), "{stdout}");
    // Every pod of the fixture cluster matching app=web, computed here from the fixtures.
    let state = fixtures::varied();
    for pod in
        state.pod_metrics.iter().filter(|p| p.namespace() == "default" && p.metadata.labels.as_ref().and_then(|l| l.get("app")).is_some_and(|v| v == "web"))
    {
        let cpu = pod.total("cpu").milli_value().expect("cpu");
        let mem = pod.total("memory").value().expect("memory");
        let line = format!("pod {} cpu_millicores={cpu} memory_bytes={mem}", pod.name());
        assert!(lines.contains(&line.as_str()), "missing {line:?} in\n{stdout}");
        for c in &pod.containers {
            let line = format!(
                "  container {} cpu_millicores={} memory_bytes={}",
                c.name,
                c.usage["cpu"].milli_value().expect("cpu"),
                c.usage["memory"].value().expect("memory")
            );
            assert!(lines.contains(&line.as_str()), "missing {line:?} in\n{stdout}");
        }
    }
}

#[test]
fn exits_1_over_a_limit_and_2_on_errors() {
    let cluster = start();
    let (code, _, stderr) = run(&cluster, &["-n", "default", "-l", "app=web", "--max-cpu", "1"]);
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(stderr.trim(), "1 pod(s) over the limit: web-7f9c-fghij");
    let (code, _, stderr) = run(&cluster, &["--max-cpu", "1K"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("--max-cpu: invalid quantity \"1K\""), "{stderr}");
    let (code, _, stderr) = run(&cluster, &["-n", "default", "-l", "app in (", "--max-cpu", "1"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.starts_with("error: "), "{stderr}");
}
