//! The rules of ARCHITECTURE.md that are cheap to check: what the pure build pulls in, which
//! rooms may import which, and that the repository stands alone.

use std::path::{Path, PathBuf};
use std::process::Command;

fn core_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read dir").flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The production part of a source file: everything before its test module.
fn production_source(path: &Path) -> String {
    let text = std::fs::read_to_string(path).expect("read source");
    match text.find("#[cfg(test)]") {
        Some(i) => text[..i].to_string(),
        None => text,
    }
}

fn room_sources(room: &str) -> Vec<(PathBuf, String)> {
    let dir = core_dir().join("src").join(room);
    let mut files = Vec::new();
    if dir.is_dir() {
        rust_files(&dir, &mut files);
    } else {
        files.push(core_dir().join("src").join(format!("{room}.rs")));
    }
    assert!(!files.is_empty(), "room {room} has no files");
    files.into_iter().map(|p| (p.clone(), production_source(&p))).collect()
}

#[test]
fn production_rooms_never_use_the_testkit() {
    for room in ["server", "collector", "custom", "scrape", "store", "client", "top", "metrics", "quantity", "selector", "error"] {
        for (path, source) in room_sources(room) {
            // Paths into the test kit (a `cfg(feature = "testkit")` attribute names the feature only).
            assert!(!source.contains("testkit::"), "{} (room {room}) refers to the test kit", path.display());
        }
    }
}

#[test]
fn client_imports_no_room_above_it() {
    for (path, source) in room_sources("client") {
        for above in ["crate::top", "crate::scrape", "crate::store", "crate::server", "crate::collector", "crate::custom"] {
            assert!(!source.contains(above), "{} imports {above}", path.display());
        }
    }
}

#[test]
fn pure_rooms_import_only_pure_rooms() {
    for room in ["quantity", "metrics", "selector", "error"] {
        for (path, source) in room_sources(room) {
            for above in ["crate::client", "crate::top", "crate::scrape", "crate::store", "crate::server", "crate::collector", "crate::custom"] {
                assert!(!source.contains(above), "{} (pure room {room}) imports {above}", path.display());
            }
        }
    }
}

fn cargo() -> Command {
    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
}

#[test]
fn pure_build_has_no_io_dependencies() {
    let out = cargo()
        .current_dir(core_dir())
        .args(["tree", "-p", "kubemetrics", "--no-default-features", "-e", "normal", "--prefix", "none", "--format", "{p}"])
        .output()
        .expect("run cargo tree");
    assert!(out.status.success(), "cargo tree failed: {}", String::from_utf8_lossy(&out.stderr));
    let tree = String::from_utf8_lossy(&out.stdout);
    let crates: std::collections::BTreeSet<&str> = tree.lines().filter_map(|l| l.split_whitespace().next()).collect();
    for banned in ["tokio", "hyper", "kube", "k8s-openapi", "rustls", "rcgen", "x509-parser", "http"] {
        assert!(!crates.contains(banned), "the pure build depends on {banned}: {crates:?}");
    }
    assert!(crates.len() <= 20, "the pure build has {} crates: {crates:?}", crates.len());
}

/// `cargo check --no-default-features` in a scratch target directory, without any
/// `K8S_OPENAPI_ENABLED_VERSION`: a Quantity-only user needs no Kubernetes version.
#[test]
fn pure_build_compiles_alone() {
    let target = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("pure-build");
    let out = cargo()
        .current_dir(core_dir())
        .env_remove("K8S_OPENAPI_ENABLED_VERSION")
        .env("CARGO_TARGET_DIR", &target)
        .args(["check", "-q", "-p", "kubemetrics", "--no-default-features", "--lib"])
        .output()
        .expect("run cargo check");
    assert!(out.status.success(), "the pure build does not compile: {}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn repository_stands_alone() {
    let root = core_dir().join("..");
    let mut offenders = Vec::new();
    fn walk(dir: &Path, offenders: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).expect("read dir").flatten() {
            let path = entry.path();
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if path.is_dir() {
                if !matches!(name.as_ref(), "target" | "node_modules" | ".git" | ".venv" | "__pycache__" | ".pytest_cache") {
                    walk(&path, offenders);
                }
            } else if let Ok(text) = std::fs::read_to_string(&path) {
                // The sibling checkout's name, spelled so this file does not name it itself.
                let sibling = ["..", "shared"].join("/");
                let folders = ["fixtures", "notes"].map(|f| format!("shared/{f}"));
                if text.contains(&sibling) || folders.iter().any(|f| text.contains(f.as_str())) {
                    offenders.push(path);
                }
            }
        }
    }
    walk(&root, &mut offenders);
    assert!(offenders.is_empty(), "files refer to a sibling checkout: {offenders:?}");
}
