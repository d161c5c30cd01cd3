//! Small HTTP helpers shared by the loopback API server and the metrics server: the response
//! [`Body`], query strings, Kubernetes `Status` bodies, JSON responses.

use bytes::Bytes;
use http::{Response, StatusCode, header};
use http_body::{Frame, SizeHint};
use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};

/// The response type of every handler.
pub type HttpResponse = Response<Body>;

/// The body of an answer: whole bytes, or chunks made one at a time as the connection asks for
/// them (a long list written from the snapshot, never held whole).
pub struct Body(Inner);

enum Inner {
    /// What is left to send (empty once sent).
    Whole(Bytes),
    Chunks(Box<Chunks>),
}

struct Chunks {
    chunks: Box<dyn Iterator<Item = Bytes> + Send>,
    /// The bytes still to come, when the total is known.
    remaining: Option<u64>,
}

impl Body {
    /// A body of chunks, each made when the connection is ready for it; `len` is the total
    /// size when known (then sent as `Content-Length`, else the body goes chunked).
    pub fn chunks(chunks: impl Iterator<Item = Bytes> + Send + 'static, len: Option<u64>) -> Body {
        Body(Inner::Chunks(Box::new(Chunks { chunks: Box::new(chunks), remaining: len })))
    }
}

impl Default for Body {
    fn default() -> Body {
        Body(Inner::Whole(Bytes::new()))
    }
}

impl std::fmt::Debug for Body {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.0 {
            Inner::Whole(bytes) => f.debug_tuple("Body::Whole").field(bytes).finish(),
            Inner::Chunks(c) => f.debug_struct("Body::Chunks").field("remaining", &c.remaining).finish_non_exhaustive(),
        }
    }
}

impl From<Bytes> for Body {
    fn from(bytes: Bytes) -> Body {
        Body(Inner::Whole(bytes))
    }
}

impl http_body::Body for Body {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        let chunk = match &mut self.get_mut().0 {
            Inner::Whole(bytes) => Some(std::mem::take(bytes)).filter(|b| !b.is_empty()),
            Inner::Chunks(c) => {
                let chunk = c.chunks.find(|b| !b.is_empty());
                if let (Some(b), Some(left)) = (&chunk, &mut c.remaining) {
                    *left = left.saturating_sub(b.len() as u64);
                }
                chunk
            }
        };
        Poll::Ready(chunk.map(|b| Ok(Frame::data(b))))
    }

    fn is_end_stream(&self) -> bool {
        match &self.0 {
            Inner::Whole(bytes) => bytes.is_empty(),
            Inner::Chunks(_) => false,
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.0 {
            Inner::Whole(bytes) => SizeHint::with_exact(bytes.len() as u64),
            Inner::Chunks(c) => c.remaining.map(SizeHint::with_exact).unwrap_or_default(),
        }
    }
}

/// Decodes `%XX` escapes and `+` (as a space) of a query string component.
pub fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => {
                let hex = |c: u8| (c as char).to_digit(16);
                match (hex(b[i + 1]), hex(b[i + 2])) {
                    (Some(h), Some(l)) => {
                        out.push((h * 16 + l) as u8);
                        i += 2;
                    }
                    _ => out.push(b'%'),
                }
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Decodes the `%XX` escapes of a URL path (`+` stays a plus), as Go's `net/http` does before
/// Kubernetes routes a request: clients written in Go send `pods/%2A/metric` for `pods/*/metric`.
pub fn percent_decode_path(path: &str) -> std::borrow::Cow<'_, str> {
    if !path.contains('%') {
        return std::borrow::Cow::Borrowed(path);
    }
    std::borrow::Cow::Owned(percent_decode(&path.replace('+', "%2B")))
}

/// The value of one query parameter, decoded.
pub fn query_param(query: Option<&str>, name: &str) -> Option<String> {
    query?.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
        (percent_decode(k) == name).then(|| percent_decode(v))
    })
}

/// A JSON response.
pub fn json(status: StatusCode, body: impl Into<Bytes>) -> HttpResponse {
    Response::builder().status(status).header(header::CONTENT_TYPE, "application/json").body(Body::from(body.into())).unwrap_or_default()
}

/// A `metav1.Status` failure body, as kube-apiserver writes it.
pub fn status(code: StatusCode, reason: &str, message: &str, details: Option<(&str, &str, &str)>) -> HttpResponse {
    let details = match details {
        Some((name, group, kind)) => {
            let mut d = serde_json::Map::new();
            d.insert("name".into(), name.into());
            if !group.is_empty() {
                d.insert("group".into(), group.into());
            }
            d.insert("kind".into(), kind.into());
            serde_json::Value::Object(d)
        }
        None => serde_json::json!({}),
    };
    // Field order as Go writes it.
    let body = format!(
        r#"{{"kind":"Status","apiVersion":"v1","metadata":{{}},"status":"Failure","message":{},"reason":{},"details":{},"code":{}}}"#,
        serde_json::Value::from(message),
        serde_json::Value::from(reason),
        details,
        code.as_u16()
    );
    json(code, body + "\n")
}

/// kube-apiserver's answer for a path nothing serves.
pub fn not_found_path() -> HttpResponse {
    status(StatusCode::NOT_FOUND, "NotFound", "the server could not find the requested resource", None)
}

/// `NotFound` for a named object: `<resource>.<group> "<name>" not found`.
pub fn not_found_object(resource: &str, group: &str, name: &str) -> HttpResponse {
    let qualified = if group.is_empty() { resource.to_string() } else { format!("{resource}.{group}") };
    status(StatusCode::NOT_FOUND, "NotFound", &format!("{qualified} \"{name}\" not found"), Some((name, group, resource)))
}

/// `BadRequest` with a message (invalid selectors and the like).
pub fn bad_request(message: &str) -> HttpResponse {
    status(StatusCode::BAD_REQUEST, "BadRequest", message, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decoding() {
        // Query text: `+` is a space; a `%` not followed by two hex digits stays as it is.
        for (query, want) in [("app%3Dweb%2Ctier+in+%28a%29", "app=web,tier in (a)"), ("100%", "100%"), ("%zz", "%zz")] {
            assert_eq!(percent_decode(query), want, "{query}");
        }
        assert_eq!(percent_decode_path("/pods/%2A/a+b"), "/pods/*/a+b");
        assert!(matches!(percent_decode_path("/pods/*/m"), std::borrow::Cow::Borrowed("/pods/*/m")));
        assert_eq!(query_param(Some("a=1&labelSelector=x%3Dy"), "labelSelector").as_deref(), Some("x=y"));
        assert_eq!(query_param(Some("a=1"), "b"), None);
        assert_eq!(query_param(None, "b"), None);
    }

    #[test]
    fn bodies() {
        use http_body::Body as _;
        use http_body_util::BodyExt;
        let collect = |b: Body| futures::executor::block_on(b.collect()).map(|c| c.to_bytes()).unwrap_or_default();
        // Whole: once, sized; empty: ended at once.
        let whole = Body::from(Bytes::from_static(b"abc"));
        assert_eq!((whole.size_hint().exact(), whole.is_end_stream()), (Some(3), false));
        assert_eq!(collect(whole), "abc");
        assert!(Body::default().is_end_stream());
        // Chunks: in order, empty ones skipped, the size counting down.
        let parts = ["ab", "", "cd", "e"].map(|s| Bytes::from_static(s.as_bytes()));
        let mut body = Body::chunks(parts.into_iter(), Some(5));
        let frame = futures::executor::block_on(body.frame()).and_then(|f| f.ok()).and_then(|f| f.into_data().ok());
        assert_eq!((frame.as_deref(), body.size_hint().exact()), (Some(&b"ab"[..]), Some(3)));
        assert_eq!(collect(body), "cde");
        assert_eq!(Body::chunks(std::iter::empty(), None).size_hint().exact(), None);
        // No bigger than the `Full<Bytes>` it replaced: every answer carries one.
        assert!(std::mem::size_of::<Body>() <= std::mem::size_of::<http_body_util::Full<Bytes>>());
    }
}
