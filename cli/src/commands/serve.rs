//! `kubemetrics serve`: the standalone metrics server, a drop-in metrics-server. Accepts
//! metrics-server's flags with the same names and defaults.

use kubemetrics::collector::{AddressOptions, Collector, CollectorOptions, Inventory, KubeletOptions};
use kubemetrics::server::{MetricsServer, ServeConfig, ServerMetrics};
use std::net::IpAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

fn duration(s: &str) -> Result<Duration, String> {
    s.parse::<kubemetrics::GoDuration>().map(|d| d.to_std()).map_err(|e| e.to_string())
}

/// A size in bytes, as a Kubernetes quantity: `10Mi`, `512Ki`, `1Gi`, `10M` or plain bytes.
fn byte_size(s: &str) -> Result<usize, String> {
    let q: kubemetrics::Quantity = s.trim().parse().map_err(|e: kubemetrics::Error| e.to_string())?;
    let bytes = q.value().ok_or_else(|| format!("{s} is too large"))?;
    // `value` rounds up: a whole number of bytes is one whose nanos are exactly its bytes' nanos.
    let whole = bytes.checked_mul(1_000_000_000).is_some_and(|n| q.scaled_value(-9) == Some(n));
    match usize::try_from(bytes) {
        Ok(b) if b > 0 && whole => Ok(b),
        Ok(0) => Err("the size must be at least 1 byte".into()),
        _ => Err(format!("{s} is not a whole number of bytes that fits this machine")),
    }
}

/// Trims the items of a comma-separated flag and drops empty ones.
/// metrics-server flags that kubemetrics accepts and ignores (with a warning), so existing
/// manifests keep working.
pub const IGNORED_FLAGS: &[&str] = &[
    "logging-format",
    "log-json-split-stream",
    "log-json-info-buffer-size",
    "log-flush-frequency",
    "vmodule",
    "alsologtostderr",
    "logtostderr",
    "log-dir",
    "log-file",
    "log-file-max-size",
    "stderrthreshold",
    "one-output",
    "skip-headers",
    "skip-log-headers",
    "add-dir-header",
    "profiling",
    "contention-profiling",
    "tls-cipher-suites",
    "tls-min-version",
    "tls-sni-cert-key",
    "http2-max-streams-per-connection",
    "permit-port-sharing",
    "permit-address-reuse",
    "shutdown-delay-duration",
    "shutdown-send-retry-after",
    "shutdown-watch-termination-grace-period",
    "audit-log-path",
    "audit-policy-file",
    "audit-log-maxage",
    "audit-log-maxbackup",
    "audit-log-maxsize",
    "audit-log-format",
    "audit-webhook-config-file",
    "authentication-skip-lookup",
    "authentication-token-webhook-cache-ttl",
    "authentication-tolerate-lookup-failure",
    "authorization-webhook-cache-authorized-ttl",
    "authorization-webhook-cache-unauthorized-ttl",
    "authorization-always-allow-groups",
    "show-hidden-metrics-for-version",
    "feature-gates",
    "disable-http2-serving",
    "goaway-chance",
    "livez-grace-period",
    "min-request-timeout",
    "max-mutating-requests-inflight",
    "enable-priority-and-fairness",
    "requestheader-uid-headers",
    "kubelet-client-certificate-rotation",
    "kubelet-ca-file",
];

/// Drops ignored metrics-server flags (and their values) from `args`, warning about each.
pub fn strip_ignored(args: Vec<String>) -> Vec<String> {
    let mut out = Vec::with_capacity(args.len());
    let mut iter = args.into_iter().peekable();
    while let Some(a) = iter.next() {
        let name = a.trim_start_matches('-').split('=').next().unwrap_or_default().to_string();
        if a.starts_with("--") && IGNORED_FLAGS.contains(&name.as_str()) {
            eprintln!("warning: flag --{name} is a metrics-server flag kubemetrics does not use; ignored");
            if !a.contains('=') && iter.peek().is_some_and(|n| !n.starts_with('-')) {
                iter.next();
            }
            continue;
        }
        out.push(a);
    }
    out
}

/// Flags of `kubemetrics serve` (metrics-server's names and defaults).
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The port on which to serve HTTPS with authentication and authorization.
    #[arg(long, default_value_t = 10250)]
    secure_port: u16,
    /// The IP address on which to listen for the --secure-port port.
    #[arg(long, default_value = "0.0.0.0")]
    bind_address: IpAddr,
    /// The directory where the self-signed TLS certs are written (ignored if --tls-cert-file and --tls-private-key-file are set).
    #[arg(long, default_value = "apiserver.local.config/certificates")]
    cert_dir: PathBuf,
    /// File containing the default x509 certificate for HTTPS (CA cert, if any, concatenated after).
    #[arg(long)]
    tls_cert_file: Option<PathBuf>,
    /// File containing the default x509 private key matching --tls-cert-file.
    #[arg(long)]
    tls_private_key_file: Option<PathBuf>,
    /// If set, any request presenting a client certificate signed by one of these authorities is authenticated with CN as user and O as groups.
    #[arg(long)]
    client_ca_file: Option<PathBuf>,
    /// Root certificate bundle to verify client certificates on incoming requests before trusting usernames in --requestheader-username-headers.
    #[arg(long)]
    requestheader_client_ca_file: Option<PathBuf>,
    /// List of client certificate common names to allow to provide usernames in headers; empty allows any.
    #[arg(long, value_delimiter = ',')]
    requestheader_allowed_names: Vec<String>,
    /// List of request headers to inspect for usernames.
    #[arg(long, default_value = "x-remote-user", value_delimiter = ',')]
    requestheader_username_headers: Vec<String>,
    /// List of request headers to inspect for groups.
    #[arg(long, default_value = "x-remote-group", value_delimiter = ',')]
    requestheader_group_headers: Vec<String>,
    /// List of request header prefixes to inspect.
    #[arg(long, default_value = "x-remote-extra-", value_delimiter = ',')]
    requestheader_extra_headers_prefix: Vec<String>,
    /// A list of HTTP paths to skip during authorization.
    #[arg(long, default_value = "/healthz,/readyz,/livez", value_delimiter = ',')]
    authorization_always_allow_paths: Vec<String>,
    /// Allow anonymous requests to reach authorization (they are refused by default).
    #[arg(long, default_value_t = false, action = clap::ArgAction::Set)]
    anonymous_auth: bool,
    /// Authorize every authenticated request without SubjectAccessReview (local testing only).
    #[arg(long, hide = true)]
    authorization_always_allow_authenticated: bool,
    /// kubeconfig file pointing at the 'core' kubernetes server (default: in-cluster).
    #[arg(long)]
    kubeconfig: Option<PathBuf>,
    /// kubeconfig for TokenReview (default: --kubeconfig).
    #[arg(long)]
    authentication_kubeconfig: Option<PathBuf>,
    /// kubeconfig for SubjectAccessReview (default: --kubeconfig).
    #[arg(long)]
    authorization_kubeconfig: Option<PathBuf>,
    /// The resolution at which metrics-server will retain metrics, must be set to a value at least 10s.
    #[arg(long, default_value = "15s", value_parser = duration)]
    metric_resolution: Duration,
    /// The port to use to connect to Kubelets.
    #[arg(long, default_value_t = 10250)]
    kubelet_port: u16,
    /// Use the port in node status. Takes precedence over --kubelet-port flag.
    #[arg(long)]
    kubelet_use_node_status_port: bool,
    /// The priority of node address types to use when determining which address to use to connect to a particular node.
    #[arg(long, default_value = "Hostname,InternalDNS,InternalIP,ExternalDNS,ExternalIP", value_delimiter = ',')]
    kubelet_preferred_address_types: Vec<String>,
    /// Do not verify CA of serving certificates presented by Kubelets. For testing purposes only.
    #[arg(long)]
    kubelet_insecure_tls: bool,
    /// Path to the CA to use to validate the Kubelet's serving certificates.
    #[arg(long)]
    kubelet_certificate_authority: Option<PathBuf>,
    /// Path to a client cert file for TLS.
    #[arg(long)]
    kubelet_client_certificate: Option<PathBuf>,
    /// Path to a client key file for TLS.
    #[arg(long)]
    kubelet_client_key: Option<PathBuf>,
    /// The length of time to wait before giving up on a single request to Kubelet. Non-zero values should contain a corresponding time unit (e.g. 1s, 2m, 3h).
    #[arg(long, default_value = "10s", value_parser = duration)]
    kubelet_request_timeout: Duration,
    /// Largest answer read from a kubelet, as a quantity (10Mi, 512Ki, 1Gi or bytes). The body
    /// is parsed as it arrives and reading stops at this size (at once when the kubelet announces
    /// more), so a kubelet costs at most about this much memory; such a scrape fails with class
    /// too-large in kubemetrics_scrape_errors_total. A 110-pod kubelet sends about 60Ki
    /// (kubemetrics extension).
    #[arg(long, default_value = "10Mi", value_parser = byte_size)]
    kubelet_max_body_size: usize,
    /// Scheme to reach kubelets with (kubemetrics extension: `http` for simulated fleets).
    #[arg(long, default_value = "https", value_parser = ["https", "http"], hide = true)]
    kubelet_scheme: String,
    /// Selector (label query) to filter on, not including uninitialized ones, supports '=', '==', and '!='.(e.g. -l key1=value1,key2=value2).
    #[arg(long)]
    node_selector: Option<String>,
    /// Most kubelet scrapes in flight at once.
    #[arg(long, default_value_t = 256)]
    kubelet_concurrency: usize,
    /// How long a node whose scrapes fail keeps its last value (kubemetrics extension).
    #[arg(long, default_value = "60s", value_parser = duration)]
    node_grace_period: Duration,
    /// Serve a pod even when one of its containers has no usable sample (a NaN counter, a
    /// series missing from the kubelet's answer) or no CPU rate yet, with the containers that
    /// have one. By default such a pod is not served at all, as metrics-server does; each such
    /// pod is logged once and counted in kubemetrics_partial_pods_total (kubemetrics extension).
    #[arg(long)]
    keep_partial_pods: bool,
    /// This and --max-mutating-requests-inflight are summed to determine the server's total concurrency limit. 0 disables the limit.
    #[arg(long, default_value_t = 400)]
    max_requests_inflight: usize,
    /// An optional field indicating the duration a handler must keep a request open before timing it out.
    #[arg(long, default_value = "1m0s", value_parser = duration)]
    request_timeout: Duration,
    /// Also serve custom.metrics.k8s.io and external.metrics.k8s.io from values applications
    /// push with `PUT /push/custom/...` and `PUT /push/external/...` (authorized as non-resource
    /// paths with verb `put`); kubemetrics extension.
    #[arg(long)]
    custom_metrics_push: bool,
    /// Serve the built-in fixture metrics instead of scraping kubelets (tests of the serving
    /// stack with real clients; kubemetrics extension).
    #[arg(long, hide = true)]
    fixture_metrics: bool,
    /// Number for the log level verbosity (0 info, 2 debug, 4+ trace).
    #[arg(short = 'v', long = "v", default_value_t = 0)]
    verbosity: u8,
}

async fn kube_client(path: &Option<PathBuf>) -> kubemetrics::Result<kube::Client> {
    let client = match path {
        Some(p) => kubemetrics::Client::from_kubeconfig(Some(p), None).await?,
        None => kubemetrics::Client::try_default().await?,
    };
    Ok(client.kube_client().clone())
}

/// Runs the server until SIGTERM/Ctrl-C.
pub async fn run(args: Args) -> ExitCode {
    super::init_logging(args.verbosity);
    match serve(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e}");
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
}

async fn serve(args: Args) -> kubemetrics::Result<()> {
    if args.metric_resolution < Duration::from_secs(10) {
        tracing::warn!("--metric-resolution below 10s gives inaccurate CPU rates (metrics-server refuses it); using it anyway");
    }
    let core = kube_client(&args.kubeconfig).await?;
    let authz = match &args.authorization_kubeconfig {
        Some(_) => kube_client(&args.authorization_kubeconfig).await?,
        None => core.clone(),
    };
    let _ = &args.authentication_kubeconfig;
    if args.fixture_metrics {
        let state = kubemetrics::testkit::loopback_api::fixtures::varied();
        let snapshot = kubemetrics::server::MetricsSnapshot::sorted(state.node_metrics, state.pod_metrics);
        let provider = Arc::new(kubemetrics::server::StaticProvider(Arc::new(snapshot)));
        return serve_with(&args, provider, Arc::new(ServerMetrics::default()), authz).await;
    }
    let token = std::fs::read_to_string("/var/run/secrets/kubernetes.io/serviceaccount/token").ok().map(|t| t.trim().to_string());
    let stats = Arc::new(ServerMetrics::default());
    let inventory = Inventory::new();
    let collector = Collector::new(
        CollectorOptions {
            resolution: args.metric_resolution,
            concurrency: args.kubelet_concurrency,
            kubelet: KubeletOptions {
                insecure_tls: args.kubelet_insecure_tls,
                certificate_authority: args.kubelet_certificate_authority.clone(),
                client_certificate: args.kubelet_client_certificate.clone().zip(args.kubelet_client_key.clone()),
                token,
                request_timeout: args.kubelet_request_timeout,
                scheme: args.kubelet_scheme.clone(),
                max_body_bytes: args.kubelet_max_body_size,
            },
            store: kubemetrics::store::StoreConfig { grace_period: args.node_grace_period, keep_partial_pods: args.keep_partial_pods, ..Default::default() },
            summary_fallback: true,
        },
        inventory,
        stats.clone(),
    )?;
    collector.watch_cluster(
        core.clone(),
        args.node_selector.clone(),
        AddressOptions {
            preferred_types: kubemetrics::server::flag_list(&args.kubelet_preferred_address_types),
            port: args.kubelet_port,
            use_node_status_port: args.kubelet_use_node_status_port,
        },
    );
    tokio::spawn(collector.clone().run());
    serve_with(&args, Arc::new(collector), stats, authz).await
}

async fn serve_with(
    args: &Args,
    provider: Arc<dyn kubemetrics::server::MetricsProvider>,
    stats: Arc<ServerMetrics>,
    authz: kube::Client,
) -> kubemetrics::Result<()> {
    let config = ServeConfig {
        bind_address: args.bind_address,
        secure_port: args.secure_port,
        cert_dir: args.cert_dir.clone(),
        tls_cert_file: args.tls_cert_file.clone(),
        tls_private_key_file: args.tls_private_key_file.clone(),
        client_ca_file: args.client_ca_file.clone(),
        requestheader_client_ca_file: args.requestheader_client_ca_file.clone(),
        requestheader_allowed_names: args.requestheader_allowed_names.clone(),
        requestheader_username_headers: args.requestheader_username_headers.clone(),
        requestheader_group_headers: args.requestheader_group_headers.clone(),
        requestheader_extra_headers_prefix: args.requestheader_extra_headers_prefix.clone(),
        authorization_always_allow_paths: args.authorization_always_allow_paths.clone(),
        anonymous_auth: args.anonymous_auth,
        authorization_always_allow_authenticated: args.authorization_always_allow_authenticated,
        max_requests_inflight: args.max_requests_inflight,
        request_timeout: args.request_timeout,
    };
    let options = config.server_options(Some(&authz)).await?;
    let custom = if args.custom_metrics_push {
        let push = Arc::new(kubemetrics::custom::PushProvider::new());
        kubemetrics::server::CustomMetrics { custom: Some(push.clone()), external: Some(push.clone()), push: Some(push) }
    } else {
        Default::default()
    };
    let server = MetricsServer::start_with_custom(options, provider, stats, Some(authz), custom).await?;
    tracing::info!(address = %server.addr(), "serving metrics.k8s.io/v1beta1");
    println!("serving on https://{}", server.addr());
    super::wait_for_shutdown().await;
    tracing::info!("shutting down");
    server.shutdown();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_sizes_read_as_quantities() {
        assert_eq!(byte_size("10Mi"), Ok(10 << 20));
        assert_eq!(byte_size("512Ki"), Ok(512 << 10));
        assert_eq!(byte_size("1Gi"), Ok(1 << 30));
        assert_eq!(byte_size("10M"), Ok(10_000_000));
        assert_eq!(byte_size("65536"), Ok(65536));
        for bad in ["0", "-1Mi", "1.5", "100m", "ten", ""] {
            assert!(byte_size(bad).is_err(), "{bad:?}");
        }
    }
}
