//! kubectl sorts with Go's `sort.Sort`, which is not stable: rows that tie (same millicores)
//! come out in an order that depends on the algorithm. This runs a real Go program on the same
//! input and checks that `top` orders ties exactly like it, for sizes where Go switches from
//! insertion sort to pdqsort, heapsort fallbacks and pattern breaking.

use kubemetrics::testkit::loopback_api::fixtures::make_pod_metrics;
use kubemetrics::top::{SortBy, TopPodOptions, top_pods_from};
use std::io::Write;
use std::process::{Command, Stdio};

const GO_PROGRAM: &str = r#"package main

import (
	"bufio"
	"fmt"
	"os"
	"sort"
)

type rows struct {
	names []string
	keys  []int64
}

func (r rows) Len() int           { return len(r.names) }
func (r rows) Less(i, j int) bool { return r.keys[i] > r.keys[j] }
func (r rows) Swap(i, j int) {
	r.names[i], r.names[j] = r.names[j], r.names[i]
	r.keys[i], r.keys[j] = r.keys[j], r.keys[i]
}

func main() {
	in := bufio.NewScanner(os.Stdin)
	var r rows
	for in.Scan() {
		var name string
		var key int64
		fmt.Sscan(in.Text(), &name, &key)
		r.names = append(r.names, name)
		r.keys = append(r.keys, key)
	}
	sort.Sort(r)
	for _, n := range r.names {
		fmt.Println(n)
	}
}
"#;

fn go_order(input: &[(String, i64)]) -> Vec<String> {
    let dir = std::env::temp_dir().join(format!("km-gosort-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let src = dir.join("main.go");
    std::fs::write(&src, GO_PROGRAM).expect("write go");
    let mut child = Command::new("go")
        .args(["run", src.to_str().expect("utf8")])
        .env("GOTOOLCHAIN", "local")
        .env("GOFLAGS", "-mod=mod")
        .current_dir(&dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("the Go toolchain (`go`) is required for this test: it compares against Go's own sort");
    let mut stdin = child.stdin.take().expect("stdin");
    for (n, k) in input {
        writeln!(stdin, "{n} {k}").expect("feed");
    }
    drop(stdin);
    let out = child.wait_with_output().expect("go run");
    let _ = std::fs::remove_dir_all(&dir);
    assert!(out.status.success(), "go run failed");
    String::from_utf8(out.stdout).expect("utf8").lines().map(str::to_string).collect()
}

#[test]
fn ties_sort_exactly_like_go() {
    let mut state = 12345u64;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut inputs: Vec<Vec<(String, i64)>> = Vec::new();
    for &(n, distinct) in &[(5usize, 2u64), (13, 3), (40, 4), (64, 5), (300, 7), (1000, 3), (5000, 50), (2000, 1)] {
        inputs.push((0..n).map(|i| (format!("p{i:05}"), (next() % distinct) as i64)).collect());
    }
    // Already sorted and reversed inputs take pdqsort's other branches.
    inputs.push((0..500).map(|i| (format!("s{i:05}"), (i / 10) as i64)).collect());
    inputs.push((0..500).map(|i| (format!("r{i:05}"), (500 - i / 10) as i64)).collect());
    for input in inputs {
        let metrics = input.iter().map(|(name, milli)| make_pod_metrics("ns", name, &[], &[("c", &format!("{milli}m"), "1Mi")])).collect();
        let top = top_pods_from(metrics, &TopPodOptions { sort_by: SortBy::Cpu, ..Default::default() });
        let ours: Vec<String> = top.pods.into_iter().map(|p| p.name).collect();
        assert_eq!(ours, go_order(&input), "order of {} rows", input.len());
    }
}
