//! `kubemetrics demo --once`: the README's main command runs on a machine with nothing else
//! installed and shows every simulated node and pod with real numbers.

use std::process::Command;

#[test]
fn demo_shows_every_node_and_pod() {
    let out = Command::new(env!("CARGO_BIN_EXE_kubemetrics"))
        .args(["demo", "--once", "--nodes", "3", "--pods-per-node", "4", "--resolution", "2s"])
        .output()
        .expect("run kubemetrics demo");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "exit {:?}\n{stdout}\n{}", out.status, String::from_utf8_lossy(&out.stderr));
    let node_rows: Vec<&str> = stdout.lines().filter(|l| l.starts_with("demo-node-")).collect();
    assert_eq!(node_rows.len(), 3, "{stdout}");
    for row in &node_rows {
        assert!(!row.contains("<unknown>"), "every node has metrics: {row}");
        let cpu: u32 = row.split_whitespace().nth(1).and_then(|c| c.strip_suffix('m')).and_then(|c| c.parse().ok()).expect("cpu column");
        assert!(cpu > 0, "{row}");
    }
    let pod_rows =
        stdout.lines().skip_while(|l| !l.starts_with("$ kubemetrics top pod")).skip(2).take_while(|l| !l.trim_start().starts_with("________")).count();
    assert_eq!(pod_rows, 12, "3 nodes x 4 pods\n{stdout}");
    assert!(stdout.contains("kubectl --kubeconfig"), "tells how to use real kubectl");
}
