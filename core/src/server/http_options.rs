//! Settings of the serving port beyond certificates and authentication, as the Kubernetes API
//! server library applies them: CORS (`--cors-allowed-origins`), HSTS
//! (`--strict-transport-security-directives`), the address published in discovery
//! (`--advertise-address`, `--external-hostname`) and socket sharing
//! (`--permit-address-sharing`, `--permit-port-sharing`).

use crate::error::{Error, ErrorKind, Result};
use ::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use std::net::SocketAddr;
use tokio::net::{TcpListener, TcpSocket};

/// The help the API server gives with a refused `--cors-allowed-origins` pattern.
const CORS_HELP: &str = "each pattern must match the whole host of the Origin header: anchor its start with '^' or \
     the '//' after the scheme, and its end with '$' or the ':' before the port, e.g. '//example\\.com(:|$)' or \
     '^https://example\\.com(:|$)'";

/// Methods and headers the API server's CORS filter allows (its defaults, which metrics-server keeps).
const CORS_METHODS: &str = "POST, GET, OPTIONS, PUT, DELETE, PATCH";
const CORS_HEADERS: &str = "Content-Type, Content-Length, Accept-Encoding, X-CSRF-Token, Authorization, X-Requested-With, If-Modified-Since";
const CORS_EXPOSE: &str = "Date";

/// Serving-port settings with metrics-server's flag names.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HttpOptions {
    /// `--cors-allowed-origins`: regular expressions (Go RE2 syntax, which Rust's `regex` shares)
    /// matched against the `Origin` header; empty disables CORS.
    pub cors_allowed_origins: Vec<String>,
    /// `--strict-transport-security-directives`: `max-age=N`, `includeSubDomains`, `preload`.
    pub hsts_directives: Vec<String>,
    /// The address published in `/apis` as `serverAddressByClientCIDRs` (`host:port`), from
    /// `--external-hostname` or `--advertise-address`.
    pub external_address: Option<String>,
    /// `--permit-address-sharing`: `SO_REUSEADDR` on the listening socket.
    pub permit_address_sharing: bool,
    /// `--permit-port-sharing`: `SO_REUSEPORT` on the listening socket, so that several servers
    /// may listen on one port.
    pub permit_port_sharing: bool,
    /// `--disable-http2-serving`: ALPN offers `http/1.1` only and connections speak HTTP/1.1.
    pub disable_http2: bool,
    /// `--http2-max-streams-per-connection` (0: 100, the API server's default).
    pub http2_max_streams: u32,
}

impl HttpOptions {
    /// The HTTP/2 stream limit in force.
    pub fn max_concurrent_streams(&self) -> u32 {
        if self.http2_max_streams == 0 { 100 } else { self.http2_max_streams }
    }
}

/// [`HttpOptions`] compiled for serving.
#[derive(Debug, Default)]
pub(crate) struct HttpFilters {
    cors: Vec<regex::Regex>,
    hsts: Option<HeaderValue>,
    external_address: Option<String>,
}

fn config_err(message: String) -> Error {
    Error::new(ErrorKind::Config, message)
}

/// Checks `--cors-allowed-origins` patterns as the API server does: each compiles, and each is
/// pinned to the start (`^` or `//`) and end (`$` or `:`) of the origin's host.
pub fn compile_cors(patterns: &[String]) -> Result<Vec<regex::Regex>> {
    let mut out = Vec::with_capacity(patterns.len());
    for p in patterns {
        if p.is_empty() {
            return Err(config_err(format!("empty value in --cors-allowed-origins: {CORS_HELP}")));
        }
        let re = regex::Regex::new(p).map_err(|e| config_err(format!("--cors-allowed-origins has an invalid regular expression {p:?}: {e}")))?;
        let start = p.contains('^') || p.contains("//");
        let end = p.contains('$') || p.contains(':');
        if !start || !end {
            return Err(config_err(format!(
                "--cors-allowed-origins has an invalid regular expression {p:?}: it does not pin to the start and end of the host in the origin header; {CORS_HELP}"
            )));
        }
        out.push(re);
    }
    Ok(out)
}

/// Checks `--strict-transport-security-directives` as the API server does and joins them into
/// the header value.
pub fn hsts_header(directives: &[String]) -> Result<Option<HeaderValue>> {
    if directives.is_empty() {
        return Ok(None);
    }
    for d in directives {
        if d.trim().is_empty() {
            return Err(config_err("empty value in --strict-transport-security-directives".into()));
        }
        let ok = d == "includeSubDomains" || d == "preload" || d.split_once('=').is_some_and(|(k, v)| k == "max-age" && !v.contains('='));
        if !ok {
            return Err(config_err(format!(
                "--strict-transport-security-directives: invalid directive {d:?}; allowed are max-age=expireTime, includeSubDomains and preload (RFC 6797 section 6.1)"
            )));
        }
    }
    HeaderValue::from_str(&directives.join("; ")).map(Some).map_err(|e| config_err(format!("--strict-transport-security-directives: {e}")))
}

impl HttpOptions {
    /// Checks every setting without binding anything.
    pub fn validate(&self) -> Result<()> {
        self.filters().map(|_| ())
    }

    pub(crate) fn filters(&self) -> Result<HttpFilters> {
        Ok(HttpFilters {
            cors: compile_cors(&self.cors_allowed_origins)?,
            hsts: hsts_header(&self.hsts_directives)?,
            external_address: self.external_address.clone().filter(|a| !a.is_empty()),
        })
    }

    /// Binds the listening socket: `SO_REUSEADDR` as Go's listeners always set it on Unix (and
    /// explicitly with `--permit-address-sharing`), `SO_REUSEPORT` with `--permit-port-sharing`.
    pub async fn listen(&self, address: SocketAddr) -> Result<TcpListener> {
        let io = |what: &str, e: std::io::Error| Error::new(ErrorKind::Io, format!("cannot listen on {address}: {what}: {e}")).with_source(e);
        let socket = if address.is_ipv4() { TcpSocket::new_v4() } else { TcpSocket::new_v6() }.map_err(|e| io("socket", e))?;
        #[cfg(unix)]
        {
            socket.set_reuseaddr(true).map_err(|e| io("SO_REUSEADDR", e))?;
            if self.permit_port_sharing {
                socket.set_reuseport(true).map_err(|e| io("SO_REUSEPORT", e))?;
            }
        }
        #[cfg(not(unix))]
        {
            if self.permit_address_sharing {
                socket.set_reuseaddr(true).map_err(|e| io("SO_REUSEADDR", e))?;
            }
        }
        socket.bind(address).map_err(|e| io("bind", e))?;
        socket.listen(1024).map_err(|e| io("listen", e))
    }
}

/// The `host:port` published in discovery: `--external-hostname` (with the port added when it
/// has none), else `--advertise-address` and the port; `None` when neither is set.
pub fn external_address(external_hostname: Option<&str>, advertise_address: Option<std::net::IpAddr>, port: u16) -> Option<String> {
    if let Some(host) = external_hostname.filter(|h| !h.is_empty()) {
        let has_port =
            host.rsplit_once(':').is_some_and(|(h, p)| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) && (!h.contains(':') || h.ends_with(']')));
        return Some(if has_port {
            host.to_string()
        } else if host.contains(':') && !host.starts_with('[') {
            format!("[{host}]:{port}")
        } else {
            format!("{host}:{port}")
        });
    }
    let ip = advertise_address.filter(|ip| !ip.is_unspecified())?;
    Some(SocketAddr::new(ip, port).to_string())
}

impl HttpFilters {
    /// The CORS headers for a request whose `Origin` matches an allowed pattern.
    fn cors(&self, headers: &HeaderMap) -> Option<Vec<(header::HeaderName, HeaderValue)>> {
        if self.cors.is_empty() {
            return None;
        }
        let origin = headers.get(header::ORIGIN)?;
        let text = origin.to_str().ok()?;
        if text.is_empty() || !self.cors.iter().any(|re| re.is_match(text)) {
            return None;
        }
        Some(vec![
            (header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone()),
            (header::ACCESS_CONTROL_ALLOW_METHODS, HeaderValue::from_static(CORS_METHODS)),
            (header::ACCESS_CONTROL_ALLOW_HEADERS, HeaderValue::from_static(CORS_HEADERS)),
            (header::ACCESS_CONTROL_EXPOSE_HEADERS, HeaderValue::from_static(CORS_EXPOSE)),
            (header::ACCESS_CONTROL_ALLOW_CREDENTIALS, HeaderValue::from_static("true")),
        ])
    }

    /// Before routing: the answer to a CORS preflight (`OPTIONS` from an allowed origin: 204,
    /// without authentication, as the API server's filter stops there), and the headers to add to
    /// whatever answer the request gets.
    pub(crate) fn before(&self, method: &Method, headers: &HeaderMap) -> (Option<super::http::HttpResponse>, Vec<(header::HeaderName, HeaderValue)>) {
        let mut add = self.cors(headers).unwrap_or_default();
        let preflight = !add.is_empty() && method == Method::OPTIONS;
        if let Some(h) = &self.hsts {
            add.push((header::STRICT_TRANSPORT_SECURITY, h.clone()));
        }
        if preflight {
            let mut r = super::http::HttpResponse::default();
            *r.status_mut() = StatusCode::NO_CONTENT;
            for (k, v) in &add {
                r.headers_mut().insert(k.clone(), v.clone());
            }
            return (Some(r), Vec::new());
        }
        (None, add)
    }

    /// The published address, if any.
    pub(crate) fn external_address(&self) -> Option<&str> {
        self.external_address.as_deref()
    }
}

/// Adds `serverAddressByClientCIDRs` (one entry, every client: `0.0.0.0/0`) after the
/// `preferredVersion` of each group of an `APIGroupList` body, where the API server's
/// discovery puts it.
pub(crate) fn with_server_address(body: &str, address: &str) -> String {
    let field = format!(r#","serverAddressByClientCIDRs":[{{"clientCIDR":"0.0.0.0/0","serverAddress":{}}}]"#, serde_json::Value::from(address));
    let key = r#""preferredVersion":{"#;
    let mut out = String::with_capacity(body.len() + 2 * field.len());
    let mut rest = body;
    while let Some(at) = rest.find(key) {
        let after = at + key.len();
        let Some(close) = rest[after..].find('}') else { break };
        let end = after + close + 1;
        out.push_str(&rest[..end]);
        out.push_str(&field);
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn cors_patterns_must_compile_and_pin_the_host() {
        assert!(compile_cors(&strings(&["//example\\.com(:|$)", "^https://a\\.b$"])).is_ok());
        let e = compile_cors(&strings(&["example\\.com"])).unwrap_err().to_string();
        assert!(e.contains("does not pin"), "{e}");
        let e = compile_cors(&strings(&["^(unclosed$"])).unwrap_err().to_string();
        assert!(e.contains("invalid regular expression"), "{e}");
        let e = compile_cors(&strings(&[""])).unwrap_err().to_string();
        assert!(e.contains("empty value"), "{e}");
    }

    #[test]
    fn cors_headers_only_for_allowed_origins_and_preflight_stops() {
        let f = HttpOptions { cors_allowed_origins: strings(&["//ok\\.example(:|$)"]), ..Default::default() }.filters().unwrap();
        let mut h = HeaderMap::new();
        assert!(f.before(&Method::GET, &h).1.is_empty());
        h.insert(header::ORIGIN, HeaderValue::from_static("https://evil.example"));
        assert!(f.before(&Method::GET, &h).1.is_empty());
        assert!(f.before(&Method::OPTIONS, &h).0.is_none());
        h.insert(header::ORIGIN, HeaderValue::from_static("https://ok.example:8443"));
        let (early, add) = f.before(&Method::GET, &h);
        assert!(early.is_none());
        assert_eq!(add.len(), 5);
        let (early, _) = f.before(&Method::OPTIONS, &h);
        let r = early.unwrap();
        assert_eq!(r.status(), StatusCode::NO_CONTENT);
        assert_eq!(r.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN], "https://ok.example:8443");
        assert_eq!(r.headers()[header::ACCESS_CONTROL_ALLOW_CREDENTIALS], "true");
    }

    #[test]
    fn hsts_directives_are_checked_and_joined() {
        assert_eq!(
            hsts_header(&strings(&["max-age=31536000", "includeSubDomains", "preload"])).unwrap().unwrap(),
            "max-age=31536000; includeSubDomains; preload"
        );
        assert!(hsts_header(&strings(&["maxage=1"])).is_err());
        assert!(hsts_header(&[]).unwrap().is_none());
    }

    #[test]
    fn external_address_prefers_the_hostname_and_adds_the_port() {
        assert_eq!(external_address(Some("ms.example"), None, 4443).as_deref(), Some("ms.example:4443"));
        assert_eq!(external_address(Some("ms.example:1"), "10.0.0.1".parse().ok(), 4443).as_deref(), Some("ms.example:1"));
        assert_eq!(external_address(None, "10.0.0.1".parse().ok(), 4443).as_deref(), Some("10.0.0.1:4443"));
        assert_eq!(external_address(None, "::1".parse().ok(), 4443).as_deref(), Some("[::1]:4443"));
        assert_eq!(external_address(None, "0.0.0.0".parse().ok(), 4443), None);
        assert_eq!(external_address(Some("::1"), None, 1).as_deref(), Some("[::1]:1"));
    }

    #[test]
    fn server_address_goes_after_each_preferred_version() {
        let body = r#"{"groups":[{"name":"a","preferredVersion":{"groupVersion":"a/v1","version":"v1"}},{"name":"b","preferredVersion":{"version":"v2"}}]}"#;
        let out = with_server_address(body, "10.0.0.1:443");
        assert_eq!(out.matches("serverAddressByClientCIDRs").count(), 2);
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["groups"][1]["serverAddressByClientCIDRs"][0]["serverAddress"], "10.0.0.1:443");
    }

    #[tokio::test]
    async fn port_sharing_lets_two_listeners_share_a_port() {
        let share = HttpOptions { permit_port_sharing: true, ..Default::default() };
        let first = share.listen("127.0.0.1:0".parse().unwrap()).await.unwrap();
        let addr = first.local_addr().unwrap();
        let second = share.listen(addr).await;
        assert!(second.is_ok(), "{second:?}");
        let alone = HttpOptions::default().listen(addr).await;
        assert!(alone.is_err(), "a listener without SO_REUSEPORT must not share the port");
    }
}
