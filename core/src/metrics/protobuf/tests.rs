use super::encode::{put_bytes, put_int, put_message};
use super::*;
use crate::metrics::{NodeMetricsList, PodMetricsList};
use std::path::PathBuf;

fn fixture<T: serde::de::DeserializeOwned>(name: &str) -> T {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/api").join(name);
    let text = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    serde_json::from_str(&text).expect("fixture json")
}

#[test]
fn fixtures_round_trip_through_protobuf() {
    let pods: Vec<crate::PodMetrics> = ["pod-metrics-metrics-server.json", "pod-metrics-redis.json"].iter().map(|n| fixture(n)).collect();
    for pod in &pods {
        assert_eq!(&decode_pod_metrics(&encode_pod("metrics.k8s.io/v1beta1", pod, None)).expect("pod"), pod);
    }
    let list = PodMetricsList { items: pods, ..Default::default() };
    let body = encode_pod_metrics_list(&list, "metrics.k8s.io/v1beta1");
    assert_eq!(decode_pod_metrics_list(&body).expect("list").items, list.items);
    for name in ["node-metrics-list-3-nodes.json"] {
        let list: NodeMetricsList = fixture(name);
        let body = encode_node_metrics_list(&list, "metrics.k8s.io/v1beta1");
        assert_eq!(decode_node_metrics_list(&body).expect(name).items, list.items);
    }
    let node: crate::NodeMetrics = fixture("node-metrics-docker-desktop.json");
    assert_eq!(decode_node_metrics(&encode_node("metrics.k8s.io/v1beta1", &node, None)).expect("node"), node);
}

#[test]
fn stamped_lists_carry_the_answer_time() {
    let list = PodMetricsList { items: vec![fixture("pod-metrics-redis.json")], ..Default::default() };
    let now = Time("2026-12-04T10:00:00Z".parse().expect("time"));
    let body = encode_pod_list("metrics.k8s.io/v1beta1", &list.items.iter().collect::<Vec<_>>(), Some(&now));
    let back = decode_pod_metrics_list(&body).expect("decode");
    assert!(back.items.iter().all(|p| p.metadata.creation_timestamp == Some(now)));
}

fn kind_error(body: &[u8]) -> String {
    let e = decode_pod_metrics_list(body).expect_err("must fail");
    assert_eq!(e.kind(), ErrorKind::Api);
    e.message().to_string()
}

#[test]
fn bad_bodies_are_api_errors_that_say_what_was_wrong() {
    let list = PodMetricsList { items: vec![fixture("pod-metrics-redis.json")], ..Default::default() };
    let good = encode_pod_metrics_list(&list, "metrics.k8s.io/v1beta1");
    assert!(kind_error(b"{\"kind\":\"PodMetricsList\"}").contains("k8s\\0 magic"));
    assert!(kind_error(b"").contains("magic"));
    // Every truncation of a valid body fails cleanly (or, cut at a field boundary, decodes to
    // fewer fields — never to a wrong number: a cut inside the message is caught by lengths).
    for cut in 4..good.len() {
        let _ = decode_pod_metrics_list(&good[..cut]);
    }
    assert!(kind_error(&good[..good.len() - 10]).contains("runs past the end"));
    // Cut after the type, before the list: an error, whole or streamed, not an empty list.
    // (The magic, then field 1, typeMeta: its key, its one-byte length and its bytes.)
    let cut = &good[..MAGIC.len() + 2 + usize::from(good[MAGIC.len() + 1])];
    assert!(kind_error(cut).contains("no object (field 2, raw)"), "{}", kind_error(cut));
    let streamed = crate::metrics::table::PodMetricsTable::from_protobuf_chunks(cut.chunks(3)).expect_err("must fail");
    assert!(streamed.message().contains("no object (field 2, raw)"), "{}", streamed.message());
    // The wrong kind.
    let nodes = encode_node_metrics_list(&NodeMetricsList::default(), "metrics.k8s.io/v1beta1");
    assert!(kind_error(&nodes).contains("expected kind PodMetricsList, got \"NodeMetricsList\""));
    // An unknown field in PodMetrics.
    let mut raw = Vec::new();
    put_message(&mut raw, 2, |p| put_int(p, 9, 1));
    assert!(kind_error(&envelope("metrics.k8s.io/v1beta1", "PodMetricsList", &raw)).contains("PodMetrics: unknown field 9"));
    // A wrong wire type.
    let mut raw = Vec::new();
    put_int(&mut raw, 2, 5);
    assert!(kind_error(&envelope("metrics.k8s.io/v1beta1", "PodMetricsList", &raw)).contains("wire type 0, expected 2"));
    // An invalid quantity names the resource.
    let mut raw = Vec::new();
    put_message(&mut raw, 2, |p| {
        put_message(p, 4, |c| {
            put_bytes(c, 1, b"app");
            put_message(c, 2, |e| {
                put_bytes(e, 1, b"cpu");
                put_message(e, 2, |q| put_bytes(q, 1, b"12XYZ"));
            });
        })
    });
    let msg = kind_error(&envelope("metrics.k8s.io/v1beta1", "PodMetricsList", &raw));
    assert!(msg.contains("usage of cpu") && msg.contains("12XYZ"), "{msg}");
    // A compressed envelope is refused, not misread.
    let mut env = MAGIC.to_vec();
    put_bytes(&mut env, 3, b"gzip");
    assert!(kind_error(&env).contains("content encoding \"gzip\""));
    // A varint that never ends.
    let mut body = MAGIC.to_vec();
    body.extend_from_slice(&[0x12, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]);
    assert!(kind_error(&body).contains("varint"));
}

#[test]
fn go_empty_strings_read_as_unset() {
    let mut raw = Vec::new();
    put_message(&mut raw, 2, |p| {
        put_message(p, 1, |m| {
            put_bytes(m, 1, b"pod-a");
            put_bytes(m, 2, b"");
            put_bytes(m, 3, b"ns");
        })
    });
    let list = decode_pod_metrics_list(&envelope("metrics.k8s.io/v1beta1", "PodMetricsList", &raw)).expect("decode");
    assert_eq!(list.items[0].name(), "pod-a");
    assert_eq!(list.items[0].metadata.generate_name, None);
}

#[test]
fn status_round_trips() {
    let body = encode_status("podmetrics.metrics.k8s.io \"x\" not found", "NotFound", 404);
    let st = decode_status(&body).expect("status");
    assert_eq!((st.status.as_str(), st.reason.as_str(), st.code), ("Failure", "NotFound", 404));
    assert_eq!(st.message, "podmetrics.metrics.k8s.io \"x\" not found");
    assert!(decode_pod_metrics(&body).expect_err("not a pod").message().contains("expected kind PodMetrics, got \"Status\""));
}

#[test]
fn counted_sizes_and_list_pieces_are_the_whole_encoding() {
    // Full metadata (the fixtures carry uids, creation times...), and pods big enough for two-
    // and three-byte length prefixes.
    let mut pods: Vec<crate::PodMetrics> = ["pod-metrics-metrics-server.json", "pod-metrics-redis.json"].iter().map(|n| fixture(n)).collect();
    for containers in [20, 400] {
        let mut big = pods[1].clone();
        big.containers = (0..containers).map(|i| crate::ContainerMetrics { name: format!("c-{i}"), ..big.containers[0].clone() }).collect();
        pods.push(big);
    }
    let nodes: NodeMetricsList = fixture("node-metrics-list-3-nodes.json");
    let now = Time("2026-12-04T10:00:00.5Z".parse().expect("time"));
    for created in [None, Some(&now)] {
        for n in 0..=pods.len() {
            let items: Vec<&crate::PodMetrics> = pods[..n].iter().collect();
            let mut streamed = Vec::new();
            let mut counted = 0;
            for p in &items {
                let before = streamed.len();
                put_pod_item(&mut streamed, *p, created);
                let size = encoded_len(|c| put_pod_item(c, *p, created));
                assert_eq!(size, streamed.len() - before);
                counted += size;
            }
            let mut body = list_head("v", "PodMetricsList", counted);
            body.extend_from_slice(&streamed);
            list_tail(&mut body);
            assert_eq!(body, encode_pod_list("v", &items, created), "{n} pods");
        }
        let items: Vec<&crate::NodeMetrics> = nodes.items.iter().collect();
        let counted: usize = items.iter().map(|n| encoded_len(|c| put_node_item(c, *n, created))).sum();
        let mut body = list_head("v", "NodeMetricsList", counted);
        items.iter().for_each(|n| put_node_item(&mut body, *n, created));
        list_tail(&mut body);
        assert_eq!(body, encode_node_list("v", &items, created));
    }
}

#[test]
fn lengths_are_the_shortest_varint_however_long_the_body() {
    use super::encode::{Count, Sink};
    // Bodies around every varint length boundary, written in place and counted.
    for len in [0usize, 1, 127, 128, 129, 16_383, 16_384, 16_385, 2_097_151, 2_097_152] {
        let body = vec![0xAB_u8; len];
        let mut want = vec![7u8];
        let mut n = len as u64;
        while n >= 0x80 {
            want.push((n as u8) | 0x80);
            n >>= 7;
        }
        want.push(n as u8);
        want.extend_from_slice(&body);
        let mut written = vec![7u8];
        written.delimited(|o| o.put(&body));
        assert!(written == want, "a body of {len} bytes");
        let mut counted = Count(1);
        counted.delimited(|o| o.put(&body));
        assert_eq!(counted.0, want.len(), "a body of {len} bytes, counted");
    }
}

/// A pod item as Go writes it (every string of `ObjectMeta`, empty or not, and the generation),
/// with labels and usage entries that may repeat keys.
fn go_style_item(raw: &mut Vec<u8>, i: u64, extra: u8, labels: &[(&str, &str)], usage: &[(&str, &str)]) {
    put_message(raw, 2, |item| {
        put_message(item, 1, |m| {
            put_bytes(m, 1, format!("pod-{i}").as_bytes());
            put_bytes(m, 2, if extra == 1 { b"pod-" } else { b"" });
            put_bytes(m, 3, b"ns");
            put_bytes(m, 4, b"");
            put_bytes(m, 5, if extra == 2 { b"0b6f" } else { b"" });
            put_bytes(m, 6, b"");
            put_int(m, 7, i64::from(extra == 3));
            put_message(m, 8, |t| put_int(t, 1, 1_700_000_000));
            for (k, v) in labels {
                put_message(m, 11, |e| {
                    put_bytes(e, 1, k.as_bytes());
                    put_bytes(e, 2, v.as_bytes());
                });
            }
            if extra == 4 {
                put_message(m, 12, |e| put_bytes(e, 1, b"note"));
            }
            put_message(m, 13, |o| put_bytes(o, 1, b"ReplicaSet"));
        });
        put_message(item, 2, |t| put_int(t, 1, 1_700_000_005));
        put_message(item, 3, |d| put_int(d, 1, 15_000_000_000));
        for c in ["app", "sidecar"] {
            put_message(item, 4, |cm| {
                put_bytes(cm, 1, c.as_bytes());
                for (resource, q) in usage {
                    put_message(cm, 2, |e| {
                        put_bytes(e, 1, resource.as_bytes());
                        put_message(e, 2, |qm| put_bytes(qm, 1, q.as_bytes()));
                    });
                }
            });
        }
    });
}

/// The whole table read item by item (straight from the bytes where it can) against the table
/// of the decoded objects: the same pods, or the same error.
fn whole_tables_agree(body: &[u8]) {
    use crate::metrics::table_columns::PodMetricsColumns;
    use crate::metrics::whole_table::WholePodMetricsTable;
    let message = |e: Error| e.message().to_string();
    let list = decode_pod_metrics_list(body).map_err(message);
    let direct = WholePodMetricsTable::from_protobuf(body).map_err(message);
    match (direct, &list) {
        (Ok(a), Ok(l)) => assert_eq!(a.to_pods(), WholePodMetricsTable::from_pods(&l.items).to_pods()),
        (a, l) => assert_eq!(a.map(|t| t.len()), l.clone().map(|l| l.items.len())),
    }
    let columns = PodMetricsColumns::from_protobuf(body).map_err(message);
    assert_eq!(columns, list.map(|l| PodMetricsColumns::from_pods(&l.items)));
}

/// Columns and whole tables streamed from `body` in pieces of `piece` bytes: what the whole body
/// decodes to, or an error both ways.
fn streamed_tables_agree(body: &[u8], piece: usize) {
    use crate::metrics::list_decoder::ListDecoder;
    use crate::metrics::table_columns::{ColumnsSink, PodMetricsColumns};
    use crate::metrics::whole_table::{WholePodMetricsTable, WholeSink};
    let pieces = || body.chunks(piece.max(1));
    let columns = ListDecoder::new(true, ColumnsSink::default()).decode(pieces()).map(ColumnsSink::end).ok();
    assert_eq!(columns, PodMetricsColumns::from_protobuf(body).ok());
    let whole = ListDecoder::new(true, WholeSink::default()).decode(pieces()).map(|s| s.table.to_pods()).ok();
    assert_eq!(whole, WholePodMetricsTable::from_protobuf(body).map(|t| t.to_pods()).ok());
}

#[test]
fn go_style_items_fill_the_whole_table_as_their_objects_do() {
    let mut raw = Vec::new();
    for extra in 0..5u8 {
        go_style_item(
            &mut raw,
            u64::from(extra),
            extra,
            &[("app", "web"), ("tier", "x"), ("app", "api")],
            &[("memory", "10Mi"), ("cpu", "5m"), ("cpu", "7m"), ("gpu", "1")],
        );
    }
    let body = envelope("metrics.k8s.io/v1beta1", "PodMetricsList", &raw);
    whole_tables_agree(&body);
    for piece in 1..body.len() {
        streamed_tables_agree(&body, piece);
    }
    let list = decode_pod_metrics_list(&body).expect("decodes");
    // Go's zero generation and empty strings are unset, as in its JSON; the last of a repeated
    // key wins, as in a map.
    assert_eq!(list.items[0].metadata.generation, None);
    assert!(list.items[0].metadata.only_names_labels_created());
    assert_eq!(list.items[3].metadata.generation, Some(1));
    assert_eq!(list.items[0].metadata.labels.as_ref().and_then(|l| l.get("app")).map(String::as_str), Some("api"));
    assert_eq!(list.items[0].containers[0].usage.get("cpu").map(|q| q.to_string()), Some("7m".to_string()));
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 2000, ..proptest::prelude::ProptestConfig::default() })]

    /// Bodies with bytes changed or cut anywhere: the direct reading gives the objects' table or
    /// the objects' error, and streamed in pieces it gives what the whole body gives.
    #[test]
    fn whole_tables_from_mutated_bodies_agree(flips in proptest::collection::vec((proptest::prelude::any::<proptest::sample::Index>(), proptest::prelude::any::<u8>()), 0..4), cut in proptest::prelude::any::<proptest::sample::Index>(), extra in 0u8..5, piece in 1usize..200) {
        let mut raw = Vec::new();
        go_style_item(&mut raw, 1, extra, &[("app", "web"), ("app", "api")], &[("cpu", "250264852n"), ("memory", "8318172Ki")]);
        go_style_item(&mut raw, 2, 0, &[], &[("cpu", "1m"), ("cpu", "2m")]);
        let mut body = envelope("metrics.k8s.io/v1beta1", "PodMetricsList", &raw);
        for (at, byte) in &flips {
            let i = at.index(body.len());
            body[i] = *byte;
        }
        body.truncate(cut.index(body.len() + 1).max(body.len() * usize::from(flips.is_empty())));
        whole_tables_agree(&body);
        streamed_tables_agree(&body, piece);
    }
}

#[test]
fn a_recycled_item_reader_keeps_its_vectors_memory() {
    let body = String::from("x");
    let mut pod = super::PodRef { labels: Some(Vec::with_capacity(8)), ..super::PodRef::default() };
    pod.containers.reserve(4);
    pod.usage.push((body.as_str(), crate::Quantity::ZERO));
    let (labels, containers, usage) = (8, pod.containers.capacity(), pod.usage.capacity());
    let kept: super::PodRef<'static> = pod.recycle();
    assert!(kept.usage.is_empty() && kept.containers.is_empty());
    assert_eq!((kept.labels.as_ref().map(Vec::capacity), kept.containers.capacity(), kept.usage.capacity()), (Some(labels), containers, usage));
}
