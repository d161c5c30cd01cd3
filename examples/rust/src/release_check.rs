//! Release gate in Rust: the CPU and memory of the pods (and their containers) matching a label
//! selector, in millicores and bytes, with an optional limit per pod.
//!
//! ```text
//! release_check --namespace shop --selector app=web [--max-cpu 1500m] [--max-memory 2Gi] [--kubeconfig FILE]
//! ```
//!
//! Prints one line per pod and one per container; exits 1 when a pod is over a limit, 2 when the
//! metrics cannot be read (with kubectl's message) or the arguments are wrong.

use kubemetrics::top::TopPodOptions;
use kubemetrics::{Client, Quantity};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Default)]
struct Args {
    namespace: Option<String>,
    selector: Option<String>,
    kubeconfig: Option<PathBuf>,
    max_cpu: Option<Quantity>,
    max_memory: Option<Quantity>,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args::default();
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "-n" | "--namespace" => args.namespace = Some(value()?),
            "-l" | "--selector" => args.selector = Some(value()?),
            "--kubeconfig" => args.kubeconfig = Some(PathBuf::from(value()?)),
            "--max-cpu" => args.max_cpu = Some(value()?.parse().map_err(|e| format!("--max-cpu: {e}"))?),
            "--max-memory" => args.max_memory = Some(value()?.parse().map_err(|e| format!("--max-memory: {e}"))?),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(args)
}

/// Millicores (rounded up, as kubectl shows them) and bytes of one usage map.
fn millis_and_bytes(cpu: &Quantity, memory: &Quantity) -> (i128, i128) {
    (cpu.milli_value().unwrap_or(i128::MAX), memory.value().unwrap_or(i128::MAX))
}

async fn run(args: Args) -> Result<bool, kubemetrics::Error> {
    let client = Client::from_kubeconfig(args.kubeconfig.as_deref(), None).await?;
    let namespace = args.namespace.clone().unwrap_or_else(|| client.default_namespace().to_string());
    let options = TopPodOptions { namespace: Some(namespace.clone()), label_selector: args.selector.clone(), containers: true, ..Default::default() };
    let top = client.top_pods(&options).await?;
    println!("{} pod(s) in {namespace} matching {}", top.pods.len(), args.selector.as_deref().unwrap_or("everything"));
    let mut over = Vec::new();
    for pod in &top.pods {
        let (cpu_m, mem_b) = millis_and_bytes(&pod.cpu, &pod.memory);
        println!("pod {} cpu_millicores={cpu_m} memory_bytes={mem_b}", pod.name);
        for c in &pod.containers {
            let (cpu_m, mem_b) = millis_and_bytes(&c.cpu, &c.memory);
            println!("  container {} cpu_millicores={cpu_m} memory_bytes={mem_b}", c.name);
        }
        let cpu_over = args.max_cpu.as_ref().is_some_and(|max| pod.cpu > *max);
        let mem_over = args.max_memory.as_ref().is_some_and(|max| pod.memory > *max);
        if cpu_over || mem_over {
            over.push(pod.name.clone());
        }
    }
    if !over.is_empty() {
        eprintln!("{} pod(s) over the limit: {}", over.len(), over.join(", "));
    }
    Ok(over.is_empty())
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let rt = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::from(2);
        }
    };
    match rt.block_on(run(args)) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}
