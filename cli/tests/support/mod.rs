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
        let program = match version {
            Some(v) => kubectl_dir().join(format!("kubectl.{v}")),
            None => PathBuf::from("kubectl"),
        };
        let cache = self.dir.join(format!("cache-{}", version.unwrap_or("path")));
        let mut cmd = Command::new(&program);
        cmd.arg("--kubeconfig").arg(self.kubeconfig()).arg("--cache-dir").arg(&cache).args(args);
        run(cmd, &program)
    }

    /// Runs `kubemetrics`.
    pub fn kubemetrics(&self, args: &[&str]) -> Output {
        let program = PathBuf::from(env!("CARGO_BIN_EXE_kubemetrics"));
        let mut cmd = Command::new(&program);
        cmd.args(args).arg("--kubeconfig").arg(self.kubeconfig());
        run(cmd, &program)
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn run(mut cmd: Command, program: &Path) -> Output {
    cmd.env_remove("KUBECONFIG").env("HOME", std::env::temp_dir());
    let out = cmd.output().unwrap_or_else(|e| panic!("cannot run {}: {e} (is it installed?)", program.display()));
    Output { stdout: String::from_utf8_lossy(&out.stdout).into(), stderr: String::from_utf8_lossy(&out.stderr).into(), code: out.status.code().unwrap_or(-1) }
}

/// The folder holding `kubectl.1.27` … `kubectl.1.33` (beside the file `kubectl` resolves to).
pub fn kubectl_dir() -> PathBuf {
    let which = Command::new("sh").args(["-c", "readlink -f \"$(command -v kubectl)\""]).output().expect("sh");
    let path = PathBuf::from(String::from_utf8_lossy(&which.stdout).trim());
    path.parent().map(Path::to_path_buf).expect("kubectl must be on PATH")
}
