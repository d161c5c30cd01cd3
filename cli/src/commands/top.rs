//! `kubemetrics top node|pod`: kubectl's flags, kubectl's table byte for byte, plus `-o json|yaml`
//! and `--watch`.

use kubemetrics::top::{self, SortBy, TopNodeOptions, TopPodOptions};
use kubemetrics::{Client, Error, ErrorKind};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

/// Connection flags shared by every command that talks to a cluster (kubectl's names).
#[derive(Debug, Clone, clap::Args)]
pub struct ConnectionArgs {
    /// Path to the kubeconfig file to use (default: $KUBECONFIG or ~/.kube/config).
    #[arg(long, global = true)]
    pub kubeconfig: Option<PathBuf>,
    /// The name of the kubeconfig context to use.
    #[arg(long, global = true)]
    pub context: Option<String>,
    /// Time limit of each request to the API server, e.g. 30s, 1m.
    #[arg(long = "request-timeout", global = true, default_value = "30s", value_parser = parse_duration)]
    pub request_timeout: Duration,
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    let d: kubemetrics::GoDuration = s.parse().map_err(|e: Error| e.to_string())?;
    Ok(d.to_std())
}

impl ConnectionArgs {
    /// Builds the client like kubectl: explicit kubeconfig/context, else inferred.
    pub async fn client(&self) -> kubemetrics::Result<Client> {
        let client = if self.kubeconfig.is_some() || self.context.is_some() {
            Client::from_kubeconfig(self.kubeconfig.as_deref(), self.context.as_deref()).await?
        } else {
            Client::try_default().await?
        };
        Ok(client.with_timeout(self.request_timeout))
    }
}

/// Output flags shared by `top node` and `top pod`.
#[derive(Debug, Clone, clap::Args)]
pub struct OutputArgs {
    /// If present, print output without headers.
    #[arg(long)]
    no_headers: bool,
    /// If non-empty, sort the list using specified field. The field can be either 'cpu' or 'memory'.
    #[arg(long, default_value = "")]
    sort_by: String,
    /// Output format: the kubectl table (default), json or yaml (the row data, exact quantities).
    #[arg(short = 'o', long = "output", value_parser = ["json", "yaml"])]
    output: Option<String>,
    /// Refresh the output in place until interrupted.
    #[arg(short = 'w', long)]
    watch: bool,
    /// Refresh interval of --watch.
    #[arg(long, default_value = "2s", value_parser = parse_duration)]
    interval: Duration,
    /// Where usage comes from: the Metrics API (like kubectl), or the kubelets read directly
    /// through the API server's node proxy (no metrics server needed; takes two samples).
    #[arg(long, default_value = "metrics-api", value_parser = ["metrics-api", "kubelet"])]
    source: String,
    /// Accepted for kubectl compatibility; kubemetrics always reads JSON.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, hide = true)]
    use_protocol_buffers: bool,
}

/// `kubemetrics top ...`
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    what: What,
    #[command(flatten)]
    connection: ConnectionArgs,
}

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

/// Prints an error the way kubectl does and returns kubectl's exit status.
pub fn report(e: &Error) -> ExitCode {
    let text = match (e.kind(), e.status()) {
        (ErrorKind::MetricsUnavailable, _) if e.message().starts_with("Metrics API not available") => "error: Metrics API not available".to_string(),
        (_, Some(401)) => "error: You must be logged in to the server (the server has asked for the client to provide credentials)".to_string(),
        (_, Some(code)) => format!("Error from server ({}): {}", reason(code), e.message()),
        (ErrorKind::Io, _) => e.message().to_string(),
        _ => format!("error: {}", e.message()),
    };
    eprintln!("{text}");
    ExitCode::from(1)
}

fn reason(code: u16) -> &'static str {
    match code {
        400 => "BadRequest",
        403 => "Forbidden",
        404 => "NotFound",
        405 => "MethodNotAllowed",
        409 => "AlreadyExists",
        410 => "Expired",
        422 => "Invalid",
        429 => "TooManyRequests",
        503 => "ServiceUnavailable",
        504 => "Timeout",
        _ => "InternalError",
    }
}

/// Runs `top`.
pub async fn run(args: Args) -> ExitCode {
    let out = match &args.what {
        What::Node(n) => &n.out,
        What::Pod(p) => &p.out,
    };
    let sort_by: SortBy = match out.sort_by.parse() {
        Ok(s) => s,
        Err(e) => return report(&e),
    };
    if let What::Pod(p) = &args.what {
        if p.name.is_some() && (p.selector.is_some() || p.field_selector.is_some()) {
            return report(&Error::new(ErrorKind::Config, "only one of NAME or selector can be provided"));
        }
    }
    let client = match args.connection.client().await {
        Ok(c) => c,
        Err(e) => return report(&e),
    };
    loop {
        let rendered = render_once(&client, &args.what, sort_by).await;
        match rendered {
            Ok((text, stderr)) => {
                if out.watch {
                    print!("\x1b[H\x1b[2J");
                }
                print!("{text}");
                if let Some(msg) = stderr {
                    eprintln!("{msg}");
                }
            }
            Err(e) if out.watch => {
                print!("\x1b[H\x1b[2J");
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

fn encode<T: serde::Serialize>(value: &T, format: &str) -> String {
    if format == "yaml" { serde_yaml_ng::to_string(value).unwrap_or_default() } else { serde_json::to_string_pretty(value).unwrap_or_default() + "\n" }
}

/// One rendering: (stdout text, optional stderr line).
async fn render_once(client: &Client, what: &What, sort_by: SortBy) -> kubemetrics::Result<(String, Option<String>)> {
    match what {
        What::Node(n) => {
            let options = TopNodeOptions { name: n.name.clone(), label_selector: n.selector.clone(), show_capacity: n.show_capacity, sort_by };
            let rows = if n.out.source == "kubelet" {
                client.top_nodes_from_kubelets(&options, Default::default()).await?
            } else {
                client.top_nodes(&options).await?
            };
            Ok(match &n.out.output {
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
                sort_by,
                sum: p.sum,
            };
            let result =
                if p.out.source == "kubelet" { client.top_pods_from_kubelets(&options, Default::default()).await? } else { client.top_pods(&options).await? };
            let stderr = result.pods.is_empty().then(|| match &result.namespace {
                Some(ns) => format!("No resources found in {ns} namespace."),
                None => "No resources found".to_string(),
            });
            Ok(match &p.out.output {
                Some(format) => (encode(&result, format), None),
                None => (top::render_pods(&result, p.containers, p.out.no_headers, p.sum), stderr),
            })
        }
    }
}
