//! Node and pod lists answered as a stream: the body owns the snapshot and the positions of the
//! items the request selected, and writes about [`CHUNK`] bytes of items each time the
//! connection asks for more, so a list of 600,000 pods is never held whole. The bytes are those
//! of the whole-body encoders ([`list_to_wire_json`] with stamped items, and
//! [`protobuf::encode_pod_list`] / [`protobuf::encode_node_list`]), through the same item
//! writers: `Serialize for Stamped<..>` and the protobuf encoder's list items.
//!
//! A protobuf envelope starts with the length of the whole list, so a protobuf list is counted
//! first (the encoder run over a byte counter, nothing written), which also gives the
//! `Content-Length`; JSON goes chunked.

use super::http::Body;
use super::metrics_routes::{GROUP_VERSION, Picked};
use super::provider::MetricsSnapshot;
use crate::metrics::{Stamped, Time, list_to_wire_json, protobuf};
use crate::store::{ServedNode, ServedPod};
use bytes::Bytes;
use std::sync::Arc;

/// About how many bytes of items one chunk of a streamed list holds (a chunk ends after the
/// item that reaches it).
pub(crate) const CHUNK: usize = 64 * 1024;

/// How many chunks' worth of a protobuf list are written at once, before its size is known:
/// a list that fits (an HPA's selection: 2 MB for 9,750 pods) is encoded once instead of
/// counted and then written, and a longer one (a full list of a large cluster) has only what
/// is past this counted first, then written a chunk at a time.
const EAGER_CHUNKS: usize = 64;

/// Which list of the snapshot is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Of {
    /// `NodeMetricsList` of `snapshot.nodes`.
    Nodes,
    /// `PodMetricsList` of `snapshot.pods`.
    Pods,
}

/// How a streamed list is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    /// `application/json`.
    Json,
    /// `application/vnd.kubernetes.protobuf`.
    Protobuf,
}

/// The body of a list of `picked` items of `snapshot`, each stamped with `now`, written
/// `chunk` bytes at a time (about: see [`CHUNK`]). A protobuf body knows its size.
pub(crate) fn list_body(snapshot: Arc<MetricsSnapshot>, of: Of, format: Format, picked: Picked, now: Time, chunk: usize) -> Body {
    let mut list =
        Chunks { snapshot, of, format, picked, now, head: Vec::new(), ready: Bytes::new(), tail: Vec::new(), next: 0, done: false, chunk: chunk.max(1) };
    let len = match format {
        Format::Json => {
            // The whole-body encoder's own framing, from its answer for no items.
            let empty = match of {
                Of::Nodes => list_to_wire_json::<ServedNode>("NodeMetricsList", GROUP_VERSION, &[], Some(&list.now)),
                Of::Pods => list_to_wire_json::<ServedPod>("PodMetricsList", GROUP_VERSION, &[], Some(&list.now)),
            };
            let (head, tail) = empty.as_bytes().split_at(empty.len().saturating_sub(2)); // `]}`
            (list.head, list.tail) = (head.to_vec(), tail.to_vec());
            None
        }
        Format::Protobuf => {
            // The first items written now, the size of the others counted.
            let mut ready = Vec::new();
            while ready.len() < list.chunk.saturating_mul(EAGER_CHUNKS) {
                let Some(i) = list.picked.get(list.next) else { break };
                list.put_protobuf(&mut ready, i);
                list.next += 1;
            }
            let rest: usize = list.picked.iter().skip(list.next).map(|i| protobuf::encoded_len(|c| list.put_protobuf(c, i))).sum();
            list.head = protobuf::list_head(GROUP_VERSION, list.kind(), ready.len() + rest);
            protobuf::list_tail(&mut list.tail);
            let len = list.head.len() + ready.len() + rest + list.tail.len();
            list.ready = Bytes::from(ready);
            Some(len as u64)
        }
    };
    Body::chunks(list, len)
}

/// A list being written: the head goes out with the first chunk, the tail with the last.
struct Chunks {
    snapshot: Arc<MetricsSnapshot>,
    of: Of,
    format: Format,
    picked: Picked,
    now: Time,
    head: Vec<u8>,
    /// Items already written (a protobuf list's first ones), handed out a chunk at a time (slices
    /// of one buffer: no copy, and the connection never gets megabytes at once).
    ready: Bytes,
    tail: Vec<u8>,
    /// How many items were written.
    next: usize,
    done: bool,
    chunk: usize,
}

impl Chunks {
    fn kind(&self) -> &'static str {
        match self.of {
            Of::Nodes => "NodeMetricsList",
            Of::Pods => "PodMetricsList",
        }
    }

    /// Writes the item at position `i` of the snapshot's list in protobuf (or counts it).
    fn put_protobuf<S: protobuf::Sink>(&self, out: &mut S, i: usize) {
        match self.of {
            Of::Nodes => {
                if let Some(n) = self.snapshot.nodes.get(i) {
                    protobuf::put_node_item(out, n, Some(&self.now));
                }
            }
            Of::Pods => {
                if let Some(p) = self.snapshot.pods.get(i) {
                    protobuf::put_pod_item(out, p, Some(&self.now));
                }
            }
        }
    }

    /// Writes the item at position `i` of the snapshot's list in JSON, after a comma unless it
    /// is the first.
    fn put_json(&self, out: &mut Vec<u8>, i: usize, first: bool) {
        if !first {
            out.push(b',');
        }
        let created = &self.now;
        // Writing to a Vec fails only if an item's `Serialize` does, which ours never do.
        let _ = match self.of {
            Of::Nodes => self.snapshot.nodes.get(i).map(|object| serde_json::to_writer(&mut *out, &Stamped { object, created })),
            Of::Pods => self.snapshot.pods.get(i).map(|object| serde_json::to_writer(&mut *out, &Stamped { object, created })),
        };
    }
}

impl Iterator for Chunks {
    type Item = Bytes;

    fn next(&mut self) -> Option<Bytes> {
        if self.done {
            return None;
        }
        if !self.ready.is_empty() {
            let piece = self.ready.split_to(self.chunk.min(self.ready.len()));
            let last = self.ready.is_empty() && self.next >= self.picked.len();
            if self.head.is_empty() && !last {
                return Some(piece);
            }
            // The head goes with the first piece, the tail with the last.
            let mut out = std::mem::take(&mut self.head);
            out.extend_from_slice(&piece);
            if last {
                out.extend_from_slice(&self.tail);
                self.done = true;
            }
            return Some(Bytes::from(out));
        }
        let mut out = std::mem::take(&mut self.head);
        out.reserve(self.chunk.saturating_add(1024).min(2 * CHUNK));
        while out.len() < self.chunk {
            let Some(i) = self.picked.get(self.next) else { break };
            match self.format {
                Format::Json => self.put_json(&mut out, i, self.next == 0),
                Format::Protobuf => self.put_protobuf(&mut out, i),
            }
            self.next += 1;
        }
        if self.next >= self.picked.len() {
            out.extend_from_slice(&self.tail);
            self.done = true;
        }
        Some(Bytes::from(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::metrics_routes::{self, PodItem, Selected};
    use crate::server::route::Objects;
    use http_body::Body as _;
    use http_body_util::BodyExt;

    fn snapshot() -> Arc<MetricsSnapshot> {
        let state = crate::testkit::loopback_api::fixtures::varied();
        Arc::new(MetricsSnapshot::sorted(state.node_metrics, state.pod_metrics))
    }

    /// The chunks of a body, and its size hint before the first.
    fn chunks(body: Body) -> (Vec<Bytes>, Option<u64>) {
        let exact = body.size_hint().exact();
        let frames = futures::executor::block_on(async {
            let mut body = body;
            let mut out = Vec::new();
            while let Some(frame) = body.frame().await {
                out.push(frame.expect("infallible").into_data().expect("a data frame"));
            }
            out
        });
        (frames, exact)
    }

    /// Streams the list and checks it against the whole-body encoder: same bytes, every chunk
    /// but the last about `chunk` bytes, the protobuf size known up front.
    fn check(snapshot: &Arc<MetricsSnapshot>, of: Of, format: Format, picked: Picked, want: &[u8], chunk: usize, case: &str) {
        let now = Time(jiff::Timestamp::from_second(1_700_000_000).expect("time"));
        let n = picked.len();
        let head = protobuf_head_len(snapshot, of, &picked, &now);
        let (got, exact) = chunks(list_body(snapshot.clone(), of, format, picked, now, chunk));
        let joined: Vec<u8> = got.iter().flat_map(|c| c.iter().copied()).collect();
        assert_eq!(String::from_utf8_lossy(&joined), String::from_utf8_lossy(want), "{case}");
        assert_eq!(joined, want, "{case}");
        assert_eq!(exact, (format == Format::Protobuf).then_some(want.len() as u64), "{case}");
        assert!(got.iter().all(|c| !c.is_empty()), "{case}: no empty chunk");
        if chunk == 1 {
            match format {
                // The head alone, then one item per chunk (the tail with the last).
                Format::Json => assert_eq!(got.len(), 1 + n, "{case}"),
                // No item: the head and the tail. Else the first items, written before the size
                // of the others is counted, a byte at a time (the head with the first byte);
                // then one item per chunk.
                Format::Protobuf if n == 0 => assert_eq!(got.len(), 1, "{case}"),
                Format::Protobuf => assert!(got.len() > n && got[0].len() == head + 1, "{case}"),
            }
        }
        if chunk >= want.len() {
            assert_eq!(got.len(), 1, "{case}");
        }
    }

    /// The length of the head (envelope and list metadata) of a protobuf list of `picked`.
    fn protobuf_head_len(snapshot: &MetricsSnapshot, of: Of, picked: &Picked, now: &Time) -> usize {
        let items: usize = picked
            .iter()
            .map(|i| {
                protobuf::encoded_len(|c| match of {
                    Of::Nodes => protobuf::put_node_item(c, &snapshot.nodes[i], Some(now)),
                    Of::Pods => protobuf::put_pod_item(c, &snapshot.pods[i], Some(now)),
                })
            })
            .sum();
        let kind = if of == Of::Nodes { "NodeMetricsList" } else { "PodMetricsList" };
        protobuf::list_head(GROUP_VERSION, kind, items).len()
    }

    #[test]
    fn a_protobuf_list_past_what_is_written_at_once_is_counted_then_streamed() {
        let state = crate::testkit::loopback_api::fixtures::scaled(20, 1_000);
        let snapshot = Arc::new(MetricsSnapshot::sorted(state.node_metrics, state.pod_metrics));
        let now = Time(jiff::Timestamp::from_second(1_700_000_000).expect("time"));
        let all = Picked::Range(0..snapshot.pods.len());
        let want = protobuf::encode_pod_list(GROUP_VERSION, &snapshot.pods.iter().collect::<Vec<_>>(), Some(&now));
        let chunk = 100;
        assert!(want.len() > 4 * chunk * EAGER_CHUNKS, "{} bytes: long enough to be partly written at once", want.len());
        let (got, exact) = chunks(list_body(snapshot.clone(), Of::Pods, Format::Protobuf, all, now, chunk));
        assert_eq!(exact, Some(want.len() as u64));
        assert_eq!(got.concat(), want);
        // What was written at once (at least EAGER_CHUNKS chunks' worth) is handed out a chunk
        // at a time, then the other items about a chunk at a time.
        let head = protobuf_head_len(&snapshot, Of::Pods, &Picked::Range(0..snapshot.pods.len()), &now);
        assert_eq!(got[0].len(), head + chunk, "the head with the first slice");
        assert!(got[1..EAGER_CHUNKS].iter().all(|c| c.len() == chunk), "slices of what was written at once");
        assert!(got.iter().all(|c| c.len() < 2 * chunk + 1024), "about a chunk at a time");
        assert!(got.len() > 2 * EAGER_CHUNKS);
    }

    #[test]
    fn streamed_lists_are_the_whole_body_encoding() {
        let snapshot = snapshot();
        let now = Time(jiff::Timestamp::from_second(1_700_000_000).expect("time"));
        let empty = Arc::new(MetricsSnapshot::default());
        let pods: &[(Objects<'_>, Option<&str>)] = &[
            (Objects::Pods { namespace: None }, None),
            (Objects::Pods { namespace: Some("default") }, None),
            (Objects::Pods { namespace: Some("kube-system") }, Some("labelSelector=component%3Detcd")),
            (Objects::Pods { namespace: None }, Some("labelSelector=app+in+(web,redis)")),
            (Objects::Pods { namespace: None }, Some("fieldSelector=metadata.namespace!%3Ddefault")),
            (Objects::Pods { namespace: None }, Some("labelSelector=app%3Dnone")),
            (Objects::Pods { namespace: Some("absent") }, None),
        ];
        let nodes: &[Option<&str>] = &[None, Some("labelSelector=tier%3Da"), Some("fieldSelector=metadata.name%3Dnode-b"), Some("labelSelector=tier%3Dz")];
        for chunk in [1, 100, CHUNK] {
            for format in [Format::Json, Format::Protobuf] {
                for snap in [&snapshot, &empty] {
                    for (objects, query) in pods {
                        let case = format!("pods {objects:?} {query:?} {format:?} chunk {chunk} of {} pods", snap.pods.len());
                        let Some(Ok(Selected::Pods(items))) = metrics_routes::select(objects, *query, &snap.nodes, &snap.pods, true) else { panic!("{case}") };
                        let want = match format {
                            Format::Json => list_to_wire_json("PodMetricsList", GROUP_VERSION, &items.refs(), Some(&now)).into_bytes(),
                            Format::Protobuf => protobuf::encode_pod_list(GROUP_VERSION, &items.refs(), Some(&now)),
                        };
                        check(snap, Of::Pods, format, items.picked.clone(), &want, chunk, &case);
                    }
                    for query in nodes {
                        let case = format!("nodes {query:?} {format:?} chunk {chunk} of {} nodes", snap.nodes.len());
                        let Some(Ok(Selected::Nodes(items))) = metrics_routes::select(&Objects::Nodes, *query, &snap.nodes, &snap.pods, true) else {
                            panic!("{case}")
                        };
                        let want = match format {
                            Format::Json => list_to_wire_json("NodeMetricsList", GROUP_VERSION, &items.refs(), Some(&now)).into_bytes(),
                            Format::Protobuf => protobuf::encode_node_list(GROUP_VERSION, &items.refs(), Some(&now)),
                        };
                        check(snap, Of::Nodes, format, items.picked.clone(), &want, chunk, &case);
                    }
                }
            }
        }
    }

    #[test]
    fn selections_are_ranges_unless_a_selector_filters() {
        let snapshot = snapshot();
        let select = |objects, query| match metrics_routes::select(&objects, query, &snapshot.nodes, &snapshot.pods, true) {
            Some(Ok(Selected::Pods(items))) => items.picked,
            Some(Ok(Selected::Nodes(items))) => items.picked,
            other => panic!("{other:?}"),
        };
        assert_eq!(select(Objects::Pods { namespace: None }, None), Picked::Range(0..snapshot.pods.len()));
        assert_eq!(select(Objects::Nodes, None), Picked::Range(0..snapshot.nodes.len()));
        let Picked::Range(default) = select(Objects::Pods { namespace: Some("default") }, None) else { panic!("a range") };
        assert!(default.len() == 4 && snapshot.pods[default].iter().all(|p| p.namespace() == "default"));
        let Picked::Indices(web) = select(Objects::Pods { namespace: None }, Some("labelSelector=app%3Dweb")) else { panic!("indices") };
        assert!(web.len() == 2 && web.iter().all(|&i| snapshot.pods[i].name().starts_with("web-")));
    }

    /// The fixture's pods as the server answers them: sorted, stamped with `created`.
    fn answered(created: Option<Time>) -> Vec<crate::PodMetrics> {
        let mut pods = crate::testkit::loopback_api::fixtures::varied().pod_metrics;
        pods.sort_by(|a, b| (a.namespace(), a.name()).cmp(&(b.namespace(), b.name())));
        pods.iter_mut().for_each(|p| p.metadata.creation_timestamp = created);
        pods
    }

    #[tokio::test]
    async fn lists_are_served_streamed_over_http() {
        use crate::server::listener::{self, Peer, ServeOptions};
        use crate::server::{ServerMetrics, StaticProvider};
        use hyper::body::Incoming;
        let snapshot = snapshot();
        let provider = Arc::new(StaticProvider(snapshot.clone()));
        let tcp = tokio::net::TcpListener::bind((std::net::Ipv4Addr::LOCALHOST, 0)).await.expect("bind");
        let addr = tcp.local_addr().expect("addr");
        let (_stop, stopped) = tokio::sync::watch::channel(false);
        listener::spawn(tcp, ServeOptions::http1("test"), stopped, move |_: &Peer| {
            let provider = provider.clone();
            move |req: ::http::Request<Incoming>| {
                let provider = provider.clone();
                async move {
                    let accept = req.headers().get(::http::header::ACCEPT).and_then(|v| v.to_str().ok());
                    crate::server::routes::metrics(&Objects::Pods { namespace: None }, req.uri().query(), accept, provider.as_ref(), &ServerMetrics::default())
                        .unwrap_or_default()
                }
            }
        });
        let client: hyper_util::client::legacy::Client<_, http_body_util::Empty<Bytes>> =
            hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new()).build_http();
        let get = |accept: &'static str| {
            let client = client.clone();
            async move {
                let req = ::http::Request::get(format!("http://{addr}/apis/metrics.k8s.io/v1beta1/pods")).header("Accept", accept);
                let resp = client.request(req.body(http_body_util::Empty::new()).expect("request")).await.expect("answer");
                let headers = resp.headers().clone();
                (headers, resp.into_body().collect().await.expect("body").to_bytes())
            }
        };
        // Protobuf: sized up front.
        let (headers, body) = get(protobuf::CONTENT_TYPE).await;
        assert_eq!(headers.get("content-length").and_then(|v| v.to_str().ok()), Some(body.len().to_string().as_str()));
        let list = protobuf::decode_pod_metrics_list(&body).expect("a PodMetricsList");
        let created = list.items.first().and_then(|p| p.metadata.creation_timestamp);
        assert!(created.is_some() && list.items.iter().all(|p| p.metadata.creation_timestamp == created), "one time for the whole answer");
        assert_eq!(list.items, answered(created));
        // JSON: chunked.
        let (headers, body) = get("application/json").await;
        assert_eq!(headers.get("transfer-encoding").and_then(|v| v.to_str().ok()), Some("chunked"));
        assert_eq!(headers.get("content-type").and_then(|v| v.to_str().ok()), Some("application/json"));
        let list: crate::PodMetricsList = serde_json::from_slice(&body).expect("a PodMetricsList");
        let created = list.items.first().and_then(|p| p.metadata.creation_timestamp);
        assert_eq!(list.items, answered(created));
    }
}
