//! Shared by the CLI tests: a loopback API server with varied fixtures, and runners for the
//! real kubectl and our binary against it.

#![allow(dead_code)]

use kubemetrics::testkit::loopback_api::{ClusterState, LoopbackApiServer};
use std::path::{Path, PathBuf};
use std::process::Command;

/// A running loopback server with its own runtime, kubeconfig file and kubectl cache dir.
pub struct Cluster {
    pub server: LoopbackApiServer,
    pub dir: PathBuf,
    _rt: tokio::runtime::Runtime,
}

/// What a finished command printed, and its exit status (-1 when killed by a signal).
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

pub use kubemetrics::testkit::loopback_api::fixtures::varied as varied_state;

impl Cluster {
    /// Serves `state` on 127.0.0.1 and writes a kubeconfig for it.
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
        run(self.kubectl_command(version, args))
    }

    /// The command line of [`Cluster::kubectl`], not started yet.
    pub fn kubectl_command(&self, version: Option<&str>, args: &[&str]) -> Command {
        let program = match version {
            Some(v) => kubectl_dir().join(format!("kubectl.{v}")),
            None => PathBuf::from("kubectl"),
        };
        let cache = self.dir.join(format!("cache-{}", version.unwrap_or("path")));
        let mut cmd = Command::new(&program);
        cmd.arg("--kubeconfig").arg(self.kubeconfig()).arg("--cache-dir").arg(&cache).args(args);
        isolate(&mut cmd);
        cmd
    }

    /// Runs `kubemetrics`.
    pub fn kubemetrics(&self, args: &[&str]) -> Output {
        run(self.kubemetrics_command(args))
    }

    /// The command line of [`Cluster::kubemetrics`], not started yet.
    pub fn kubemetrics_command(&self, args: &[&str]) -> Command {
        let mut cmd = kubemetrics_command(args);
        cmd.arg("--kubeconfig").arg(self.kubeconfig());
        cmd
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// `kubemetrics ARGS` with no kubeconfig of the user's, not started yet.
pub fn kubemetrics_command(args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_kubemetrics"));
    cmd.args(args);
    isolate(&mut cmd);
    cmd
}

/// Keeps the user's own kubeconfig and caches out of a test run.
fn isolate(cmd: &mut Command) {
    cmd.env_remove("KUBECONFIG").env("HOME", std::env::temp_dir());
}

fn run(mut cmd: Command) -> Output {
    let program = cmd.get_program().to_owned();
    let out = cmd.output().unwrap_or_else(|e| panic!("cannot run {}: {e} (is it installed?)", Path::new(&program).display()));
    Output { stdout: String::from_utf8_lossy(&out.stdout).into(), stderr: String::from_utf8_lossy(&out.stderr).into(), code: out.status.code().unwrap_or(-1) }
}

/// How a process ended whose stdout (or stderr) was a pipe nobody reads any more.
#[cfg(unix)]
pub struct Ended {
    /// Exit status or killing signal.
    pub status: std::process::ExitStatus,
    /// Everything it wrote to the other stream.
    pub other: String,
}

#[cfg(unix)]
impl std::fmt::Debug for Ended {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}\n--- the other stream\n{}", self.status, self.other)
    }
}

/// Which stream of a child goes to a pipe whose reader is already gone.
#[cfg(unix)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Closed {
    /// The child's stdout; its stderr is captured.
    Stdout,
    /// The child's stderr; its stdout is captured.
    Stderr,
}

/// Runs `cmd` with `closed` connected to a pipe whose read end is closed before the child starts
/// (so its first write there fails with EPIPE, deterministically), and the other stream captured.
#[cfg(unix)]
pub fn run_with_closed(mut cmd: Command, closed: Closed) -> Ended {
    let (reader, writer) = std::io::pipe().expect("pipe");
    drop(reader);
    match closed {
        Closed::Stdout => cmd.stdout(writer).stderr(std::process::Stdio::piped()),
        Closed::Stderr => cmd.stderr(writer).stdout(std::process::Stdio::piped()),
    };
    let out = cmd.stdin(std::process::Stdio::null()).output().expect("spawn");
    let other = if closed == Closed::Stdout { out.stderr } else { out.stdout };
    Ended { status: out.status, other: String::from_utf8_lossy(&other).into() }
}

/// A plain-HTTP stand-in for a Kubernetes API server on 127.0.0.1 answering fixed JSON documents
/// by path (query ignored; anything else 404), for commands the loopback API does not serve.
pub struct StaticApi {
    /// Where it listens.
    pub addr: std::net::SocketAddr,
    /// Holds its kubeconfig; removed on drop.
    pub dir: PathBuf,
}

impl StaticApi {
    /// Serves `routes` (path, JSON body) from a background thread until the test process ends.
    pub fn start(routes: Vec<(&'static str, String)>) -> StaticApi {
        use std::io::{BufRead, BufReader, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut reader = BufReader::new(stream.try_clone().expect("clone"));
                let mut request_line = String::new();
                if reader.read_line(&mut request_line).is_err() {
                    continue;
                }
                loop {
                    let mut header = String::new();
                    match reader.read_line(&mut header) {
                        Ok(0) | Err(_) => break,
                        Ok(_) if header == "\r\n" => break,
                        Ok(_) => {}
                    }
                }
                let target = request_line.split_whitespace().nth(1).unwrap_or("");
                let path = target.split('?').next().unwrap_or("");
                let (status, body) = match routes.iter().find(|(p, _)| *p == path) {
                    Some((_, body)) => ("200 OK", body.clone()),
                    None => ("404 Not Found", r#"{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"NotFound","code":404}"#.to_string()),
                };
                let _ =
                    write!(stream, "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len());
            }
        });
        let dir = std::env::temp_dir().join(format!("km-cli-static-{}-{}", std::process::id(), addr.port()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let kubeconfig = format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: static\n  cluster:\n    server: http://{addr}\ncontexts:\n- name: static\n  context:\n    cluster: static\n    user: static\n    namespace: default\ncurrent-context: static\nusers:\n- name: static\n  user:\n    token: static-token\n"
        );
        std::fs::write(dir.join("kubeconfig"), kubeconfig).expect("kubeconfig");
        StaticApi { addr, dir }
    }

    /// A kubeconfig pointing at it (namespace `default`, a dummy token).
    pub fn kubeconfig(&self) -> PathBuf {
        self.dir.join("kubeconfig")
    }
}

impl Drop for StaticApi {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The folder holding `kubectl.1.27` … `kubectl.1.33` (beside the file `kubectl` resolves to).
pub fn kubectl_dir() -> PathBuf {
    let which = Command::new("sh").args(["-c", "readlink -f \"$(command -v kubectl)\""]).output().expect("sh");
    let path = PathBuf::from(String::from_utf8_lossy(&which.stdout).trim());
    path.parent().map(Path::to_path_buf).expect("kubectl must be on PATH")
}
