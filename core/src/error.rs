//! The one error model of kubemetrics: an [`Error`] carrying a small, stable [`ErrorKind`].
//!
//! Every binding maps [`ErrorKind`] once (Python exception classes, Node `code` strings, C status
//! numbers), so the kinds are few and never renamed.

use std::fmt;

/// What went wrong, in a form that is stable across releases and languages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// No usable configuration: kubeconfig missing or invalid, unknown context, bad flag value.
    Config,
    /// The server refused who we are or what we asked (HTTP 401 or 403).
    Auth,
    /// The named object does not exist (HTTP 404 from the server, or an unknown name locally).
    NotFound,
    /// No Metrics API is served by the cluster (kubectl: "Metrics API not available").
    MetricsUnavailable,
    /// The server answered with an error or with a body that could not be decoded.
    Api,
    /// A quantity string is not a valid Kubernetes quantity, or a value does not fit.
    Quantity,
    /// Network or file I/O failed: connection refused, timeout, unreadable file.
    Io,
    /// A bug or an invariant broken inside kubemetrics.
    Internal,
}

impl ErrorKind {
    /// The kind's name as used in every language (`"NotFound"`, `"Quantity"`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Config => "Config",
            ErrorKind::Auth => "Auth",
            ErrorKind::NotFound => "NotFound",
            ErrorKind::MetricsUnavailable => "MetricsUnavailable",
            ErrorKind::Api => "Api",
            ErrorKind::Quantity => "Quantity",
            ErrorKind::Io => "Io",
            ErrorKind::Internal => "Internal",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The error type of every fallible kubemetrics operation.
///
/// The message is meant for people: it says what was wrong and shows the offending input or the
/// server's own message. The HTTP status is set when a server answered.
#[derive(Debug)]
#[non_exhaustive]
pub struct Error {
    kind: ErrorKind,
    message: String,
    status: Option<u16>,
    source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
}

impl Error {
    /// A new error of `kind` with a human-readable `message`.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error { kind, message: message.into(), status: None, source: None }
    }

    /// Attaches the HTTP status code the server answered with.
    pub fn with_status(mut self, status: u16) -> Self {
        self.status = Some(status);
        self
    }

    /// Attaches the underlying cause.
    pub fn with_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.source = Some(Box::new(source));
        self
    }

    /// The stable kind of this error.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The human-readable message (also what `Display` prints).
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The HTTP status code, when a server answered.
    pub fn status(&self) -> Option<u16> {
        self.status
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source.as_deref().map(|e| e as &(dyn std::error::Error + 'static))
    }
}

/// `Result` with the kubemetrics [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The error for a `Status` a server answered with: the kind from the HTTP code (404 NotFound,
/// 401/403 Auth, else Api), the server's message (or the code when it sent none).
#[cfg(feature = "client")]
pub(crate) fn from_status(code: u16, message: &str) -> Error {
    let kind = match code {
        404 => ErrorKind::NotFound,
        401 | 403 => ErrorKind::Auth,
        _ => ErrorKind::Api,
    };
    let message = if message.is_empty() { format!("the server answered HTTP {code}") } else { message.to_string() };
    let err = Error::new(kind, message);
    if code != 0 { err.with_status(code) } else { err }
}

/// Mapping `kube` errors onto the error model (the client and the server both call the API).
#[cfg(feature = "client")]
mod from_kube_error {
    use super::{Error, ErrorKind};
    /// Maps a `kube::Error` to a kubemetrics [`Error`], keeping the server's message and status.
    pub(crate) fn from_kube(e: kube::Error, server: &str) -> Error {
        match e {
            kube::Error::Api(status) => {
                let err = super::from_status(status.code, &status.message);
                err.with_source(kube::Error::Api(status))
            }
            kube::Error::InferConfig(_) | kube::Error::InferKubeconfig(_) => Error::new(ErrorKind::Config, e.to_string()).with_source(e),
            kube::Error::Auth(_) => Error::new(ErrorKind::Auth, e.to_string()).with_source(e),
            kube::Error::SerdeError(_) => {
                Error::new(ErrorKind::Api, format!("the server at {server} sent a response that is not valid JSON: {e}")).with_source(e)
            }
            kube::Error::HyperError(_) | kube::Error::Service(_) => {
                let text = error_chain(&e);
                let message = if text.contains("onnection refused") {
                    format!("The connection to the server {} was refused - did you specify the right host or port?", host_port(server))
                } else {
                    format!("Unable to connect to the server {server}: {text}")
                };
                Error::new(ErrorKind::Io, message).with_source(e)
            }
            other => Error::new(ErrorKind::Api, other.to_string()).with_source(other),
        }
    }

    /// `host:port` of a URL, as kubectl names the server in connection errors.
    pub(crate) fn host_port(url: &str) -> &str {
        let rest = url.split_once("://").map_or(url, |(_, r)| r);
        rest.split('/').next().unwrap_or(rest)
    }

    /// The error and all its sources, joined with ": ".
    fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
        let mut text = e.to_string();
        let mut cur = e.source();
        while let Some(s) = cur {
            let part = s.to_string();
            if !text.contains(&part) {
                text.push_str(": ");
                text.push_str(&part);
            }
            cur = s.source();
        }
        text
    }

    impl From<kube::Error> for Error {
        /// Maps a `kube::Error`, keeping the server's message and HTTP status.
        fn from(e: kube::Error) -> Self {
            from_kube(e, "the server")
        }
    }
}
#[cfg(feature = "client")]
pub(crate) use from_kube_error::{from_kube, host_port};
