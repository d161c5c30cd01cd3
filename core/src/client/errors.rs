//! Mapping `kube` errors and HTTP statuses onto the kubemetrics error model.

use crate::error::{Error, ErrorKind};

/// Maps a `kube::Error` to a kubemetrics [`Error`], keeping the server's message and status.
pub(crate) fn from_kube(e: kube::Error, server: &str) -> Error {
    match e {
        kube::Error::Api(status) => {
            let code = status.code;
            let kind = match code {
                404 => ErrorKind::NotFound,
                401 | 403 => ErrorKind::Auth,
                _ => ErrorKind::Api,
            };
            let message = if status.message.is_empty() { format!("the server answered HTTP {code}") } else { status.message.clone() };
            let mut err = Error::new(kind, message);
            if code != 0 {
                err = err.with_status(code);
            }
            err.with_source(kube::Error::Api(status))
        }
        kube::Error::InferConfig(_) | kube::Error::InferKubeconfig(_) => Error::new(ErrorKind::Config, e.to_string()).with_source(e),
        kube::Error::Auth(_) => Error::new(ErrorKind::Auth, e.to_string()).with_source(e),
        kube::Error::SerdeError(_) => Error::new(ErrorKind::Api, format!("the server at {server} sent a response that is not valid JSON: {e}")).with_source(e),
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
