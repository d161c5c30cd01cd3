//! How `top` and `get` reach the cluster: the connection flags they share (kubectl's names), the
//! client built from them, and kubectl's way of printing that client's errors.
//!
//! The namespace flags are not here: `top pod` (`-n`, `-A`), `get custom` (`-n`, defaulting to the
//! context's namespace for namespaced resources) and `get external` (`-n`, default `default`)
//! each mean something different by them.

use crate::flags::go_duration;
use crate::output;
use kubemetrics::{Client, Error, ErrorKind};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

/// Connection flags of every command that talks to a cluster, accepted before or after its
/// subcommand (`top --context c node` and `top node --context c`).
#[derive(Debug, Clone, clap::Args)]
pub struct ConnectionArgs {
    /// Path to the kubeconfig file to use (default: $KUBECONFIG or ~/.kube/config).
    #[arg(long, global = true)]
    pub kubeconfig: Option<PathBuf>,
    /// The name of the kubeconfig context to use.
    #[arg(long, global = true)]
    pub context: Option<String>,
    /// Time limit of each request to the API server, e.g. 30s, 1m.
    #[arg(long = "request-timeout", global = true, default_value = "30s", value_parser = go_duration)]
    pub request_timeout: Duration,
}

impl ConnectionArgs {
    /// Builds the client like kubectl: the given kubeconfig and/or context, else the inferred
    /// configuration (in-cluster, then `$KUBECONFIG` or `~/.kube/config`).
    pub async fn client(&self) -> kubemetrics::Result<Client> {
        let client = if self.kubeconfig.is_some() || self.context.is_some() {
            Client::from_kubeconfig(self.kubeconfig.as_deref(), self.context.as_deref()).await?
        } else {
            Client::try_default().await?
        };
        Ok(client.with_timeout(self.request_timeout))
    }
}

/// Prints an error the way kubectl does and returns kubectl's exit status (1).
pub fn report(e: &Error) -> ExitCode {
    let text = match (e.kind(), e.status()) {
        (ErrorKind::MetricsUnavailable, _) if e.message().starts_with("Metrics API not available") => "error: Metrics API not available".to_string(),
        (_, Some(401)) => "error: You must be logged in to the server (the server has asked for the client to provide credentials)".to_string(),
        (_, Some(code)) => format!("Error from server ({}): {}", reason(code), e.message()),
        (ErrorKind::Io, _) => e.message().to_string(),
        _ => format!("error: {}", e.message()),
    };
    output::eprint(&format!("{text}\n"));
    ExitCode::from(1)
}

/// The `reason` kube-apiserver gives with an HTTP status, as kubectl names it.
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

/// `pub struct Args`: a command whose subcommand is the enum `$what`, with the connection flags
/// (`top` and `get`).
macro_rules! command_with_connection {
    ($(#[$doc:meta])* $what:ty) => {
        $(#[$doc])*
        #[derive(Debug, clap::Args)]
        pub struct Args {
            #[command(subcommand)]
            what: $what,
            #[command(flatten)]
            connection: $crate::connection::ConnectionArgs,
        }
    };
}
pub(crate) use command_with_connection;
