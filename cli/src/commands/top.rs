//! `kubemetrics top node|pod`: kubectl's flags, kubectl's table byte for byte, plus `-o json|yaml`
//! and `--watch`.

use crate::connection::report;
use crate::flags::{Rejected, go_duration, value_names};
use crate::output;
use kubemetrics::top::{self, SortBy, TopNodeOptions, TopPodOptions};
use kubemetrics::{Client, Error, ErrorKind};
use std::process::ExitCode;
use std::time::Duration;

/// `--sort-by`: kubectl's two sort columns, or none.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortKey {
    /// No `--sort-by` (or an empty one): kubectl's order, by name (namespace first with `-A`).
    /// Not a value of the flag: kubectl refuses `--sort-by=name`.
    #[default]
    Name,
    /// `--sort-by=cpu`: highest CPU usage first.
    Cpu,
    /// `--sort-by=memory`: highest memory usage first.
    Memory,
}

impl clap::ValueEnum for SortKey {
    fn value_variants<'a>() -> &'a [Self] {
        &[SortKey::Cpu, SortKey::Memory]
    }

    fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
        match self {
            SortKey::Name => None,
            SortKey::Cpu => Some(clap::builder::PossibleValue::new("cpu")),
            SortKey::Memory => Some(clap::builder::PossibleValue::new("memory")),
        }
    }
}

impl From<SortKey> for SortBy {
    fn from(key: SortKey) -> SortBy {
        match key {
            SortKey::Name => SortBy::Name,
            SortKey::Cpu => SortBy::Cpu,
            SortKey::Memory => SortBy::Memory,
        }
    }
}

/// Parses `--sort-by` as kubectl does: `cpu`, `memory` or empty. Anything else, `name` included,
/// is refused with kubectl's message and exit status.
fn sort_key(s: &str) -> Result<SortKey, Rejected> {
    if s.is_empty() {
        return Ok(SortKey::Name);
    }
    <SortKey as clap::ValueEnum>::from_str(s, false).map_err(|_| Rejected("--sort-by accepts only cpu or memory".into()))
}

/// `-o`: the row data, with exact quantities, instead of kubectl's table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Pretty-printed JSON.
    Json,
    /// YAML.
    Yaml,
}
value_names!(Format { Json => "json", Yaml => "yaml" });

/// `--source`: where usage comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Source {
    /// The Metrics API (`metrics.k8s.io`), like kubectl.
    #[default]
    MetricsApi,
    /// The kubelets, read directly through the API server's node proxy.
    Kubelet,
}
value_names!(Source { MetricsApi => "metrics-api", Kubelet => "kubelet" });

/// Output flags shared by `top node` and `top pod`.
#[derive(Debug, Clone, clap::Args)]
pub struct OutputArgs {
    /// If present, print output without headers.
    #[arg(long)]
    no_headers: bool,
    /// If non-empty, sort the list using specified field. The field can be either 'cpu' or 'memory'.
    #[arg(long, default_value = "", value_parser = sort_key)]
    sort_by: SortKey,
    /// Output format: the kubectl table (default), json or yaml (the row data, exact quantities).
    #[arg(short = 'o', long = "output", value_enum)]
    output: Option<Format>,
    /// Refresh the output in place until interrupted.
    #[arg(short = 'w', long)]
    watch: bool,
    /// Refresh interval of --watch.
    #[arg(long, default_value = "2s", value_parser = go_duration)]
    interval: Duration,
    /// Where usage comes from: the Metrics API (like kubectl), or the kubelets read directly
    /// through the API server's node proxy (no metrics server needed; takes two samples).
    #[arg(long, value_enum, default_value_t = Source::MetricsApi)]
    source: Source,
    /// Accepted for kubectl compatibility; kubemetrics always asks for protobuf, JSON as fallback.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, hide = true)]
    use_protocol_buffers: bool,
}

crate::connection::command_with_connection!(
    /// `kubemetrics top ...`
    What
);

#[derive(Debug, clap::Subcommand)]
enum What {
    /// Display resource (CPU/memory) usage of nodes.
    #[command(visible_aliases = ["nodes", "no"])]
    Node(NodeArgs),
    /// Display resource (CPU/memory) usage of pods.
    #[command(visible_aliases = ["pods", "po"])]
    Pod(PodArgs),
}

/// `kubemetrics top node` flags.
#[derive(Debug, clap::Args)]
pub struct NodeArgs {
    /// Show one node.
    name: Option<String>,
    /// Selector (label query) to filter on, supports '=', '==', '!=', 'in', 'notin'.
    #[arg(short = 'l', long = "selector")]
    selector: Option<String>,
    /// Print node resources based on Capacity instead of Allocatable(default) of the nodes.
    #[arg(long)]
    show_capacity: bool,
    #[command(flatten)]
    out: OutputArgs,
}

/// `kubemetrics top pod` flags.
#[derive(Debug, clap::Args)]
pub struct PodArgs {
    /// Show one pod.
    name: Option<String>,
    /// If present, the namespace scope for this request.
    #[arg(short = 'n', long)]
    namespace: Option<String>,
    /// If present, list the requested object(s) across all namespaces.
    #[arg(short = 'A', long)]
    all_namespaces: bool,
    /// Selector (label query) to filter on, supports '=', '==', '!=', 'in', 'notin'.
    #[arg(short = 'l', long = "selector")]
    selector: Option<String>,
    /// Selector (field query) to filter on, supports '=', '==', and '!='.
    #[arg(long)]
    field_selector: Option<String>,
    /// If present, print usage of containers within a pod.
    #[arg(long)]
    containers: bool,
    /// Print the sum of the resource usage.
    #[arg(long)]
    sum: bool,
    #[command(flatten)]
    out: OutputArgs,
}

/// Runs `top`.
pub async fn run(args: Args) -> ExitCode {
    let out = match &args.what {
        What::Node(n) => &n.out,
        What::Pod(p) => &p.out,
    };
    if let What::Pod(p) = &args.what
        && p.name.is_some()
        && (p.selector.is_some() || p.field_selector.is_some())
    {
        return report(&Error::new(ErrorKind::Config, "only one of NAME or selector can be provided"));
    }
    let client = match args.connection.client().await {
        Ok(c) => c,
        Err(e) => return report(&e),
    };
    let clear = if out.watch { "\x1b[H\x1b[2J" } else { "" };
    loop {
        match render_once(&client, &args.what).await {
            Ok((text, stderr)) => {
                // (Two writes when watching: no copy of a large table to put the clear in front.)
                if let Err(code) = output::print(clear).and_then(|()| output::print(&text)) {
                    return code;
                }
                if let Some(msg) = stderr {
                    output::eprint(&format!("{msg}\n"));
                }
            }
            Err(e) if out.watch => {
                if let Err(code) = output::print(clear) {
                    return code;
                }
                let _ = report(&e);
            }
            Err(e) => return report(&e),
        }
        if !out.watch {
            return ExitCode::SUCCESS;
        }
        tokio::select! {
            _ = tokio::time::sleep(out.interval) => {}
            _ = tokio::signal::ctrl_c() => return ExitCode::SUCCESS,
        }
    }
}

fn encode<T: serde::Serialize>(value: &T, format: Format) -> String {
    match format {
        Format::Yaml => serde_yaml_ng::to_string(value).unwrap_or_default(),
        Format::Json => serde_json::to_string_pretty(value).unwrap_or_default() + "\n",
    }
}

/// One rendering: (stdout text, optional stderr line).
async fn render_once(client: &Client, what: &What) -> kubemetrics::Result<(String, Option<String>)> {
    match what {
        What::Node(n) => {
            let options =
                TopNodeOptions { name: n.name.clone(), label_selector: n.selector.clone(), show_capacity: n.show_capacity, sort_by: n.out.sort_by.into() };
            let rows = match n.out.source {
                Source::Kubelet => client.top_nodes_from_kubelets(&options, Default::default()).await?,
                Source::MetricsApi => client.top_nodes(&options).await?,
            };
            Ok(match n.out.output {
                Some(format) => (encode(&rows, format), None),
                None => (top::render_nodes(&rows, n.out.no_headers), None),
            })
        }
        What::Pod(p) => {
            let options = TopPodOptions {
                name: p.name.clone(),
                namespace: p.namespace.clone(),
                all_namespaces: p.all_namespaces,
                label_selector: p.selector.clone(),
                field_selector: p.field_selector.clone(),
                containers: p.containers,
                sort_by: p.out.sort_by.into(),
                sum: p.sum,
            };
            let none_found = |namespace: Option<&str>| match namespace {
                Some(ns) => format!("No resources found in {ns} namespace."),
                None => "No resources found".to_string(),
            };
            if let (Source::MetricsApi, None) = (p.out.source, p.out.output) {
                // The table straight from the compact result: no row objects.
                let table = client.top_pods_table(&options).await?;
                let stderr = table.is_empty().then(|| none_found(table.namespace()));
                let text = top::render_pods_table(&table, p.containers, p.out.no_headers, p.sum);
                if !p.out.watch {
                    // The process prints and exits: freeing the table entry by entry first would
                    // only cost time (the operating system takes the memory back at once).
                    std::mem::forget(table);
                }
                return Ok((text, stderr));
            }
            let result = match p.out.source {
                Source::Kubelet => client.top_pods_from_kubelets(&options, Default::default()).await?,
                Source::MetricsApi => client.top_pods(&options).await?,
            };
            let stderr = result.pods.is_empty().then(|| none_found(result.namespace.as_deref()));
            Ok(match p.out.output {
                Some(format) => (encode(&result, format), None),
                None => (top::render_pods(&result, p.containers, p.out.no_headers, p.sum), stderr),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Top {
        #[command(flatten)]
        args: Args,
    }

    fn parse(args: &[&str]) -> Result<Args, clap::Error> {
        Top::try_parse_from(std::iter::once("top").chain(args.iter().copied())).map(|t| t.args)
    }

    fn out(args: &Args) -> &OutputArgs {
        match &args.what {
            What::Node(n) => &n.out,
            What::Pod(p) => &p.out,
        }
    }

    #[test]
    fn flags_parse_into_typed_values() {
        let args = parse(&["pod", "-A", "--sort-by=memory", "-o", "yaml", "--source", "kubelet", "--interval", "1m", "--request-timeout=5s"]).expect("valid");
        let o = out(&args);
        assert_eq!((o.sort_by, o.output, o.source, o.interval), (SortKey::Memory, Some(Format::Yaml), Source::Kubelet, Duration::from_secs(60)));
        assert_eq!(args.connection.request_timeout, Duration::from_secs(5));
        let args = parse(&["node"]).expect("defaults");
        let o = out(&args);
        assert_eq!((o.sort_by, o.output, o.source, o.interval), (SortKey::Name, None, Source::MetricsApi, Duration::from_secs(2)));
        assert_eq!(args.connection.request_timeout, Duration::from_secs(30));
        assert_eq!(out(&parse(&["node", "--sort-by="]).expect("empty")).sort_by, SortKey::Name);
        assert_eq!(SortBy::from(SortKey::Cpu), SortBy::Cpu);
    }

    #[test]
    fn sort_by_is_refused_like_kubectl() {
        for bad in ["disk", "name", "CPU", " cpu"] {
            let e = parse(&["node", "--sort-by", bad]).expect_err(bad);
            assert_eq!(crate::flags::rejected(&e), Some(&Rejected("--sort-by accepts only cpu or memory".into())), "{bad}");
        }
    }

    #[test]
    fn other_bad_values_stay_usage_errors() {
        for args in [&["pod", "-o", "xml"][..], &["node", "--source", "metrics"], &["node", "--interval", "soon"]] {
            let e = parse(args).expect_err("refused");
            assert!(matches!(e.kind(), clap::error::ErrorKind::InvalidValue | clap::error::ErrorKind::ValueValidation), "{args:?}: {e}");
            assert_eq!(crate::flags::rejected(&e), None);
            assert_eq!(e.exit_code(), 2);
        }
    }
}
