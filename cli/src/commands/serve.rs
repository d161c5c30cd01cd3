//! `kubemetrics serve`: the standalone metrics server, a drop-in metrics-server. Accepts
//! metrics-server's flags with the same names and defaults.

use kubemetrics::collector::{AddressOptions, Collector, CollectorOptions, Inventory, KubeletOptions};
use kubemetrics::server::{AuthOptions, Delegation, HttpOptions, MetricsServer, ServeConfig, ServerMetrics, TlsOptions};
use std::net::IpAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

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

fn duration(s: &str) -> Result<Duration, String> {
    s.parse::<kubemetrics::GoDuration>().map(|d| d.to_std()).map_err(|e| e.to_string())
}

/// Go's `strconv.ParseBool`, which pflag uses for `--flag=value`.
fn go_bool(s: &str) -> Result<bool, String> {
    match s {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Ok(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Ok(false),
        _ => Err(format!("strconv.ParseBool: parsing {s:?}: invalid syntax")),
    }
}

/// Go's `strconv.ParseInt(s, 0, 64)`, which pflag uses for int flags (`0x`, `0o`, `0b`, `_`).
fn go_int(s: &str) -> Result<i64, String> {
    let bad = || format!("strconv.ParseInt: parsing {s:?}: invalid syntax");
    let (neg, digits) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let lower = digits.to_ascii_lowercase();
    let (radix, body) = if let Some(b) = lower.strip_prefix("0x") {
        (16, b.to_string())
    } else if let Some(b) = lower.strip_prefix("0b") {
        (2, b.to_string())
    } else if let Some(b) = lower.strip_prefix("0o") {
        (8, b.to_string())
    } else if lower.len() > 1 && lower.starts_with('0') {
        (8, lower[1..].to_string())
    } else {
        (10, lower.clone())
    };
    let body = if radix != 10 || body.contains('_') { body.replace('_', "") } else { body };
    if body.is_empty() || body.starts_with('+') || body.starts_with('-') {
        return Err(bad());
    }
    let v = i64::from_str_radix(&body, radix).map_err(|_| bad())?;
    Ok(if neg { -v } else { v })
}

/// Go's `strconv.ParseFloat`, for float flags.
fn go_float(s: &str) -> Result<f64, String> {
    s.parse::<f64>().map_err(|_| format!("strconv.ParseFloat: parsing {s:?}: invalid syntax"))
}

/// How a flag without effect takes its value (checked as metrics-server checks it, then dropped).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `--flag` or `--flag=true|false`.
    Bool,
    /// An integer.
    Int,
    /// A floating-point number.
    Float,
    /// A Go duration (`10s`, `1m30s`).
    Duration,
    /// Any text (strings, lists, maps).
    Text,
}

const LOGGING: &str = "kubemetrics logs text to stderr; choose the level with -v or RUST_LOG";
const AUDIT: &str = "kubemetrics writes no audit log (the kube-apiserver in front of it audits the requests it proxies)";
const PROFILING: &str = "kubemetrics serves no pprof endpoints";
const FEATURES: &str = "kubemetrics has no Kubernetes feature gates, API enablement or version emulation";
const LIFECYCLE: &str = "kubemetrics stops at SIGTERM and serves no watches or long-running requests";
const CACHES: &str = "kubemetrics caches TokenReview and SubjectAccessReview answers for 10s";

/// metrics-server flags (and those of older releases) that `kubemetrics serve` accepts, checks
/// like metrics-server and does not act on, each with the reason said in its warning.
pub const NO_EFFECT_FLAGS: &[(&str, Kind, &str)] = &[
    // logging (component-base and klog)
    ("logging-format", Kind::Text, LOGGING),
    ("log-text-split-stream", Kind::Bool, LOGGING),
    ("log-text-info-buffer-size", Kind::Text, LOGGING),
    ("log-json-split-stream", Kind::Bool, LOGGING),
    ("log-json-info-buffer-size", Kind::Text, LOGGING),
    ("log-flush-frequency", Kind::Duration, LOGGING),
    ("vmodule", Kind::Text, LOGGING),
    ("alsologtostderr", Kind::Bool, LOGGING),
    ("logtostderr", Kind::Bool, LOGGING),
    ("log-dir", Kind::Text, LOGGING),
    ("log-file", Kind::Text, LOGGING),
    ("log-file-max-size", Kind::Int, LOGGING),
    ("log-backtrace-at", Kind::Text, LOGGING),
    ("stderrthreshold", Kind::Text, LOGGING),
    ("one-output", Kind::Bool, LOGGING),
    ("skip-headers", Kind::Bool, LOGGING),
    ("skip-log-headers", Kind::Bool, LOGGING),
    ("add-dir-header", Kind::Bool, LOGGING),
    // profiling and debugging
    ("profiling", Kind::Bool, PROFILING),
    ("contention-profiling", Kind::Bool, PROFILING),
    ("debug-socket-path", Kind::Text, PROFILING),
    // audit
    ("audit-policy-file", Kind::Text, AUDIT),
    ("audit-log-path", Kind::Text, AUDIT),
    ("audit-log-maxage", Kind::Int, AUDIT),
    ("audit-log-maxbackup", Kind::Int, AUDIT),
    ("audit-log-maxsize", Kind::Int, AUDIT),
    ("audit-log-format", Kind::Text, AUDIT),
    ("audit-log-version", Kind::Text, AUDIT),
    ("audit-log-compress", Kind::Bool, AUDIT),
    ("audit-log-mode", Kind::Text, AUDIT),
    ("audit-log-batch-buffer-size", Kind::Int, AUDIT),
    ("audit-log-batch-max-size", Kind::Int, AUDIT),
    ("audit-log-batch-max-wait", Kind::Duration, AUDIT),
    ("audit-log-batch-throttle-enable", Kind::Bool, AUDIT),
    ("audit-log-batch-throttle-qps", Kind::Float, AUDIT),
    ("audit-log-batch-throttle-burst", Kind::Int, AUDIT),
    ("audit-log-truncate-enabled", Kind::Bool, AUDIT),
    ("audit-log-truncate-max-batch-size", Kind::Int, AUDIT),
    ("audit-log-truncate-max-event-size", Kind::Int, AUDIT),
    ("audit-webhook-config-file", Kind::Text, AUDIT),
    ("audit-webhook-initial-backoff", Kind::Duration, AUDIT),
    ("audit-webhook-batch-initial-backoff", Kind::Duration, AUDIT),
    ("audit-webhook-version", Kind::Text, AUDIT),
    ("audit-webhook-mode", Kind::Text, AUDIT),
    ("audit-webhook-batch-buffer-size", Kind::Int, AUDIT),
    ("audit-webhook-batch-max-size", Kind::Int, AUDIT),
    ("audit-webhook-batch-max-wait", Kind::Duration, AUDIT),
    ("audit-webhook-batch-throttle-enable", Kind::Bool, AUDIT),
    ("audit-webhook-batch-throttle-qps", Kind::Float, AUDIT),
    ("audit-webhook-batch-throttle-burst", Kind::Int, AUDIT),
    ("audit-webhook-truncate-enabled", Kind::Bool, AUDIT),
    ("audit-webhook-truncate-max-batch-size", Kind::Int, AUDIT),
    ("audit-webhook-truncate-max-event-size", Kind::Int, AUDIT),
    // features, versions, API enablement
    ("feature-gates", Kind::Text, FEATURES),
    ("emulated-version", Kind::Text, FEATURES),
    ("emulation-forward-compatible", Kind::Bool, FEATURES),
    ("runtime-config", Kind::Text, FEATURES),
    ("runtime-config-emulation-forward-compatible", Kind::Bool, FEATURES),
    ("enable-priority-and-fairness", Kind::Bool, "kubemetrics limits requests with --max-requests-inflight only"),
    ("show-hidden-metrics-for-version", Kind::Text, "kubemetrics hides none of its /metrics"),
    // serving and lifecycle
    ("max-mutating-requests-inflight", Kind::Int, "kubemetrics serves no mutating requests; --max-requests-inflight limits all"),
    ("min-request-timeout", Kind::Int, LIFECYCLE),
    ("goaway-chance", Kind::Float, LIFECYCLE),
    ("livez-grace-period", Kind::Duration, LIFECYCLE),
    ("storage-initialization-timeout", Kind::Duration, "kubemetrics has no storage to initialize; /readyz waits for the first scrape"),
    ("shutdown-delay-duration", Kind::Duration, LIFECYCLE),
    ("shutdown-send-retry-after", Kind::Bool, LIFECYCLE),
    ("shutdown-watch-termination-grace-period", Kind::Duration, LIFECYCLE),
    ("tls-sni-cert-key", Kind::Text, "kubemetrics serves --tls-cert-file (or its self-signed certificate) to every SNI name"),
    // delegated authentication and authorization
    ("authentication-token-webhook-cache-ttl", Kind::Duration, CACHES),
    ("authorization-webhook-cache-authorized-ttl", Kind::Duration, CACHES),
    ("authorization-webhook-cache-unauthorized-ttl", Kind::Duration, CACHES),
    ("authorization-always-allow-groups", Kind::Text, "kubemetrics always allows system:masters, the default, and no other group"),
    ("requestheader-uid-headers", Kind::Text, "kubemetrics does not pass user UIDs to SubjectAccessReview"),
    // accepted by earlier kubemetrics releases
    ("permit-address-reuse", Kind::Bool, "not a metrics-server flag; see --permit-address-sharing"),
    ("kubelet-client-certificate-rotation", Kind::Bool, "kubemetrics reads the client certificate once at start"),
    ("kubelet-ca-file", Kind::Text, "not a metrics-server flag; see --kubelet-certificate-authority"),
];

/// The no-effect flags given on the command line (see [`NO_EFFECT_FLAGS`]).
#[derive(Debug, Clone, Default)]
pub struct NoEffect {
    /// Their names, in table order, each once.
    pub given: Vec<&'static str>,
}

impl NoEffect {
    /// One warning per flag given, naming it and why it does nothing here.
    pub fn warnings(&self) -> Vec<String> {
        self.given
            .iter()
            .filter_map(|name| NO_EFFECT_FLAGS.iter().find(|(n, ..)| n == name))
            .map(|(name, _, why)| format!("--{name} has no effect in kubemetrics serve ({why})"))
            .collect()
    }
}

impl clap::FromArgMatches for NoEffect {
    fn from_arg_matches(m: &clap::ArgMatches) -> Result<Self, clap::Error> {
        let given =
            NO_EFFECT_FLAGS.iter().filter(|(name, ..)| m.value_source(name) == Some(clap::parser::ValueSource::CommandLine)).map(|(name, ..)| *name).collect();
        Ok(NoEffect { given })
    }

    fn update_from_arg_matches(&mut self, m: &clap::ArgMatches) -> Result<(), clap::Error> {
        *self = Self::from_arg_matches(m)?;
        Ok(())
    }
}

impl clap::Args for NoEffect {
    fn augment_args(cmd: clap::Command) -> clap::Command {
        NO_EFFECT_FLAGS.iter().fold(cmd, |cmd, (name, kind, _)| {
            let arg = clap::Arg::new(*name).long(*name).hide(true).action(clap::ArgAction::Append);
            let arg = match kind {
                Kind::Bool => arg.num_args(0..=1).require_equals(true).default_missing_value("true").value_parser(go_bool),
                Kind::Int => arg.value_parser(go_int),
                Kind::Float => arg.value_parser(go_float),
                Kind::Duration => arg.value_parser(duration),
                Kind::Text => arg.allow_hyphen_values(true),
            };
            cmd.arg(arg)
        })
    }

    fn augment_args_for_update(cmd: clap::Command) -> clap::Command {
        Self::augment_args(cmd)
    }
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
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false", value_parser = go_bool, action = clap::ArgAction::Set)]
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
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false", value_parser = go_bool, action = clap::ArgAction::Set)]
    kubelet_use_node_status_port: bool,
    /// The priority of node address types to use when determining which address to use to connect to a particular node.
    #[arg(long, default_value = "Hostname,InternalDNS,InternalIP,ExternalDNS,ExternalIP", value_delimiter = ',')]
    kubelet_preferred_address_types: Vec<String>,
    /// Do not verify CA of serving certificates presented by Kubelets. For testing purposes only.
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false", value_parser = go_bool, action = clap::ArgAction::Set)]
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
    #[arg(long, short = 'l')]
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
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false", value_parser = go_bool, action = clap::ArgAction::Set)]
    custom_metrics_push: bool,
    /// Serve the built-in fixture metrics instead of scraping kubelets (tests of the serving
    /// stack with real clients; kubemetrics extension).
    #[arg(long, hide = true)]
    fixture_metrics: bool,
    /// Serve a generated cluster of this many pods (two containers each) instead of scraping
    /// kubelets: the benchmarks' `kubemetrics serve` answering kubectl in protobuf (kubemetrics
    /// extension, like --fixture-metrics).
    #[arg(long, hide = true, value_name = "PODS")]
    fixture_pods: Option<usize>,
    /// Nodes of the generated cluster (with --fixture-pods).
    #[arg(long, hide = true, default_value_t = 1000)]
    fixture_nodes: usize,
    /// Number for the log level verbosity (0 info, 2 debug, 4+ trace).
    #[arg(short = 'v', long = "v", default_value_t = 0)]
    verbosity: u8,

    // ---- metrics-server flags added for issue 17 (kept together) ----
    /// Show version (prints it and exits).
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false", value_parser = go_bool, action = clap::ArgAction::Set)]
    version: bool,
    /// Check the flags (values, TLS names, CORS patterns) and exit without reading files or
    /// contacting anything; warnings are printed as at a real start (kubemetrics extension).
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false", value_parser = go_bool, action = clap::ArgAction::Set)]
    dry_run: bool,
    /// The IP address on which to advertise the apiserver to members of the cluster; published in discovery (`/apis`).
    #[arg(long, value_parser = ip_flag)]
    advertise_address: Option<IpAddr>,
    /// The hostname to use when generating externalized URLs for this server; published in discovery (`/apis`).
    #[arg(long)]
    external_hostname: Option<String>,
    /// List of allowed origins for CORS, comma separated; each a regular expression pinned to the whole host (e.g. '//example\.com(:|$)'). Empty: no CORS.
    #[arg(long, value_delimiter = ',')]
    cors_allowed_origins: Vec<String>,
    /// List of directives for HSTS, comma separated (e.g. 'max-age=31536000,includeSubDomains,preload'). Empty: no HSTS header.
    #[arg(long, value_delimiter = ',')]
    strict_transport_security_directives: Vec<String>,
    /// Comma-separated list of cipher suites for the server (Go names); TLS 1.3 suites are always enabled.
    #[arg(long, value_delimiter = ',')]
    tls_cipher_suites: Vec<String>,
    /// Minimum TLS version supported: VersionTLS12 or VersionTLS13 (VersionTLS10 and VersionTLS11 mean TLS 1.2 here).
    #[arg(long)]
    tls_min_version: Option<String>,
    /// Comma-separated list of key exchange groups by TLS group ID (23 P-256, 24 P-384, 29 X25519).
    #[arg(long, value_delimiter = ',')]
    tls_curve_preferences: Vec<String>,
    /// If true, SO_REUSEADDR will be used when binding the port.
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false", value_parser = go_bool, action = clap::ArgAction::Set)]
    permit_address_sharing: bool,
    /// If true, SO_REUSEPORT will be used when binding the port, which allows more than one instance to bind on the same address and port.
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false", value_parser = go_bool, action = clap::ArgAction::Set)]
    permit_port_sharing: bool,
    /// If true, HTTP2 serving will be disabled (ALPN offers http/1.1 only).
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false", value_parser = go_bool, action = clap::ArgAction::Set)]
    disable_http2_serving: bool,
    /// The limit that the server gives to clients for the maximum number of streams in an HTTP/2 connection. Zero means the API server's default (100).
    #[arg(long, default_value_t = 0, value_parser = go_int_u32)]
    http2_max_streams_per_connection: u32,
    /// If false, the authentication-kubeconfig will be used to lookup missing authentication configuration from the cluster.
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false", value_parser = go_bool, action = clap::ArgAction::Set)]
    authentication_skip_lookup: bool,
    /// If true, failures to look up missing authentication configuration from the cluster are not considered fatal.
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false", value_parser = go_bool, action = clap::ArgAction::Set)]
    authentication_tolerate_lookup_failure: bool,
    /// DEPRECATED: Do not use any encryption, authorization, or authentication when communicating with the Kubelet.
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false", value_parser = go_bool, action = clap::ArgAction::Set)]
    deprecated_kubelet_completely_insecure: bool,
    /// metrics-server flags accepted without effect (hidden; each warned about once).
    #[command(flatten)]
    no_effect: NoEffect,
}

/// An IP flag, refused as pflag refuses it.
fn ip_flag(s: &str) -> Result<IpAddr, String> {
    s.trim().parse::<IpAddr>().map_err(|_| format!("failed to parse IP: {s:?}"))
}

/// A non-negative int flag that fits 32 bits.
fn go_int_u32(s: &str) -> Result<u32, String> {
    let v = go_int(s)?;
    u32::try_from(v).map_err(|_| format!("{v} is out of range (0 to {})", u32::MAX))
}

/// What `--version` prints: the version alone, as metrics-server prints its git version.
pub fn version_line() -> String {
    format!("v{}", env!("CARGO_PKG_VERSION"))
}

impl Args {
    /// The serving settings of these flags.
    fn serve_config(&self) -> ServeConfig {
        ServeConfig {
            bind_address: self.bind_address,
            secure_port: self.secure_port,
            cert_dir: self.cert_dir.clone(),
            tls_cert_file: self.tls_cert_file.clone(),
            tls_private_key_file: self.tls_private_key_file.clone(),
            client_ca_file: self.client_ca_file.clone(),
            requestheader_client_ca_file: self.requestheader_client_ca_file.clone(),
            auth: AuthOptions {
                requestheader_allowed_names: self.requestheader_allowed_names.clone(),
                username_headers: self.requestheader_username_headers.clone(),
                group_headers: self.requestheader_group_headers.clone(),
                extra_headers_prefix: self.requestheader_extra_headers_prefix.clone(),
                always_allow_paths: self.authorization_always_allow_paths.clone(),
                anonymous: self.anonymous_auth,
                always_allow_authenticated: self.authorization_always_allow_authenticated,
                ..AuthOptions::default()
            },
            tls: TlsOptions {
                cipher_suites: self.tls_cipher_suites.clone(),
                min_version: self.tls_min_version.clone(),
                curve_preferences: self.tls_curve_preferences.clone(),
            },
            http: HttpOptions {
                cors_allowed_origins: self.cors_allowed_origins.clone(),
                hsts_directives: self.strict_transport_security_directives.clone(),
                external_address: None,
                permit_address_sharing: self.permit_address_sharing,
                permit_port_sharing: self.permit_port_sharing,
                disable_http2: self.disable_http2_serving,
                http2_max_streams: self.http2_max_streams_per_connection,
            },
            advertise_address: self.advertise_address,
            external_hostname: self.external_hostname.clone(),
            max_requests_inflight: self.max_requests_inflight,
            request_timeout: self.request_timeout,
            authentication_skip_lookup: self.authentication_skip_lookup,
            authentication_tolerate_lookup_failure: self.authentication_tolerate_lookup_failure,
        }
    }

    /// Checks the flags as metrics-server checks them before it starts (its messages), and
    /// what kubemetrics can check without files or a cluster. Returns the warnings to log.
    pub fn validate(&self) -> kubemetrics::Result<Vec<String>> {
        let fail = |m: &str| Err(kubemetrics::Error::new(kubemetrics::ErrorKind::Config, m));
        let mut warnings = self.no_effect.warnings();
        if self.kubelet_certificate_authority.is_some() && self.kubelet_insecure_tls {
            return fail("cannot use both --kubelet-certificate-authority and --kubelet-insecure-tls");
        }
        if self.kubelet_client_key.is_some() != self.kubelet_client_certificate.is_some() {
            return fail("need both --kubelet-client-key and --kubelet-client-certificate");
        }
        if self.deprecated_kubelet_completely_insecure {
            for (given, name) in [
                (self.kubelet_client_key.is_some(), "--kubelet-client-key"),
                (self.kubelet_client_certificate.is_some(), "--kubelet-client-certificate"),
                (self.kubelet_insecure_tls, "--kubelet-insecure-tls"),
                (self.kubelet_certificate_authority.is_some(), "--kubelet-certificate-authority"),
            ] {
                if given {
                    return fail(&format!("cannot use both {name} and --deprecated-kubelet-completely-insecure"));
                }
            }
        }
        if self.kubelet_request_timeout.is_zero() {
            return fail("kubelet-request-timeout should be positive");
        }
        if let Some(ip) = self.advertise_address.filter(|ip| ip.is_unspecified()) {
            warnings.push(format!("--advertise-address={ip} is unspecified: no address is published in discovery"));
        }
        if self.metric_resolution < Duration::from_secs(10) {
            warnings.push("--metric-resolution below 10s gives inaccurate CPU rates (metrics-server refuses it); using it anyway".into());
        }
        self.serve_config().validate()?;
        Ok(warnings)
    }
}

/// The kubeconfig for the core API, the TokenReview client and the SubjectAccessReview client.
async fn kube_client(path: &Option<PathBuf>) -> kubemetrics::Result<kube::Client> {
    let client = match path {
        Some(p) => kubemetrics::Client::from_kubeconfig(Some(p), None).await?,
        None => kubemetrics::Client::try_default().await?,
    };
    Ok(client.kube_client().clone())
}

/// Runs the server until SIGTERM/Ctrl-C.
pub async fn run(args: Args) -> ExitCode {
    if args.version {
        println!("{}", version_line());
        return ExitCode::SUCCESS;
    }
    super::init_logging(args.verbosity);
    let warnings = match args.validate() {
        Ok(w) => w,
        Err(e) => {
            tracing::error!("{e}");
            eprintln!("error: {e}");
            return ExitCode::from(1);
        }
    };
    for w in &warnings {
        tracing::warn!("{w}");
    }
    if args.dry_run {
        // At a real start the server logs these when it builds its TLS configuration.
        let notes = args.serve_config().tls_options().resolve().map(|r| r.notes).unwrap_or_default();
        for n in &notes {
            tracing::warn!("{n}");
        }
        let warnings = [warnings, notes].concat();
        println!("flags ok ({} warning{})", warnings.len(), if warnings.len() == 1 { "" } else { "s" });
        return ExitCode::SUCCESS;
    }
    match serve(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e}");
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
}

/// The kubelet client settings: the `--kubelet-*` flags, completed from the REST configuration
/// of the cluster (CA, client certificate, bearer token) as metrics-server completes them.
fn kubelet_options(args: &Args, rest: &kube::Config) -> kubemetrics::Result<KubeletOptions> {
    if args.deprecated_kubelet_completely_insecure {
        // Plain HTTP, and no credentials: they would travel in the clear.
        return Ok(KubeletOptions { scheme: "http".into(), request_timeout: args.kubelet_request_timeout, ..Default::default() });
    }
    let mut options = KubeletOptions {
        insecure_tls: args.kubelet_insecure_tls,
        certificate_authority: args.kubelet_certificate_authority.clone(),
        client_certificate: args.kubelet_client_certificate.clone().zip(args.kubelet_client_key.clone()),
        request_timeout: args.kubelet_request_timeout,
        scheme: args.kubelet_scheme.clone(),
        max_body_bytes: args.kubelet_max_body_size,
        ..Default::default()
    };
    let got = options.inherit_rest_config(rest)?;
    tracing::info!(
        ca = got.certificate_authority,
        client_certificate = got.client_certificate,
        token = got.token,
        "kubelet client credentials taken from the kubeconfig where no --kubelet-* flag set them"
    );
    if got.insecure {
        tracing::warn!("the kubeconfig sets insecure-skip-tls-verify: kubelet serving certificates are not verified either (as metrics-server does)");
    }
    if !got.unusable.is_empty() {
        tracing::warn!(
            "the kubeconfig's {} cannot authenticate the kubelet client: use --kubelet-client-certificate/--kubelet-client-key or a token",
            got.unusable.join(", ")
        );
    }
    Ok(options)
}

async fn serve(args: Args) -> kubemetrics::Result<()> {
    let rest = kubemetrics::Client::config(args.kubeconfig.as_deref()).await?;
    let core = kubemetrics::Client::from_config(rest.clone())?.kube_client().clone();
    let delegation = Delegation {
        authentication: Some(match &args.authentication_kubeconfig {
            Some(_) => kube_client(&args.authentication_kubeconfig).await?,
            None => core.clone(),
        }),
        authorization: Some(match &args.authorization_kubeconfig {
            Some(_) => kube_client(&args.authorization_kubeconfig).await?,
            None => core.clone(),
        }),
    };
    if args.fixture_metrics || args.fixture_pods.is_some() {
        let state = match args.fixture_pods {
            Some(pods) => kubemetrics::testkit::loopback_api::fixtures::scaled(args.fixture_nodes, pods),
            None => kubemetrics::testkit::loopback_api::fixtures::varied(),
        };
        let snapshot = kubemetrics::server::MetricsSnapshot::sorted(state.node_metrics, state.pod_metrics);
        let provider = Arc::new(kubemetrics::server::StaticProvider(Arc::new(snapshot)));
        return serve_with(&args, provider, Arc::new(ServerMetrics::default()), delegation).await;
    }
    let stats = Arc::new(ServerMetrics::default());
    let inventory = Inventory::new();
    let collector = Collector::new(
        CollectorOptions {
            resolution: args.metric_resolution,
            concurrency: args.kubelet_concurrency,
            kubelet: kubelet_options(&args, &rest)?,
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
    // Scraping runs on a runtime of its own, so that neither starves the other of worker
    // threads: at 65,000 nodes, with the API saturated by list requests, scrape cycles kept
    // their 15 s pace (18 s mean against 22-33 s on one runtime) and an HPA controller's
    // lists had a p99 of 123 ms against 324 ms (BENCHMARKS.md, issue 18, session 7).
    let scrape = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("kubemetrics-scrape")
        .enable_all()
        .build()
        .map_err(|e| kubemetrics::Error::new(kubemetrics::ErrorKind::Io, format!("cannot start the scrape runtime: {e}")))?;
    scrape.spawn(collector.clone().run());
    let served = serve_with(&args, Arc::new(collector), stats, delegation).await;
    scrape.shutdown_background();
    served
}

async fn serve_with(
    args: &Args,
    provider: Arc<dyn kubemetrics::server::MetricsProvider>,
    stats: Arc<ServerMetrics>,
    delegation: Delegation,
) -> kubemetrics::Result<()> {
    // The API server library reads extension-apiserver-authentication with its authentication client.
    let options = args.serve_config().server_options(delegation.authentication.as_ref()).await?;
    let custom = if args.custom_metrics_push {
        let push = Arc::new(kubemetrics::custom::PushProvider::new());
        kubemetrics::server::CustomMetrics { custom: Some(push.clone()), external: Some(push.clone()), push: Some(push) }
    } else {
        Default::default()
    };
    let server = MetricsServer::start_with_delegation(options, provider, stats, delegation, custom).await?;
    tracing::info!(address = %server.addr(), "serving metrics.k8s.io/v1beta1");
    println!("serving on https://{}", server.addr());
    super::wait_for_shutdown().await;
    tracing::info!("shutting down");
    server.shutdown();
    Ok(())
}

#[cfg(test)]
mod byte_size_tests {
    use super::byte_size;

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
