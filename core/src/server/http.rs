//! Small HTTP helpers shared by the loopback API server and the metrics server: query strings,
//! Kubernetes `Status` bodies, JSON responses.

use bytes::Bytes;
use http::{Response, StatusCode, header};
use http_body_util::Full;

/// The response type of every handler.
pub type HttpResponse = Response<Full<Bytes>>;

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
    Response::builder().status(status).header(header::CONTENT_TYPE, "application/json").body(Full::new(body.into())).unwrap_or_default()
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
}
