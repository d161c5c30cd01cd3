//! Fuzzing the protobuf decoders: random bytes and mutated valid bodies never panic, and
//! whatever decodes re-encodes to something that decodes to the same value.

use kubemetrics::metrics::protobuf;
use kubemetrics::testkit::loopback_api::fixtures;
use proptest::prelude::*;

fn valid_pod_list() -> Vec<u8> {
    let state = fixtures::varied();
    protobuf::encode_pod_list("metrics.k8s.io/v1beta1", &state.pod_metrics.iter().collect::<Vec<_>>(), None)
}

fn valid_node_list() -> Vec<u8> {
    let state = fixtures::varied();
    protobuf::encode_node_list("metrics.k8s.io/v1beta1", &state.node_metrics.iter().collect::<Vec<_>>(), None)
}

fn check(body: &[u8]) {
    if let Ok(list) = protobuf::decode_pod_metrics_list(body) {
        let again = protobuf::encode_pod_metrics_list(&list, "metrics.k8s.io/v1beta1");
        assert_eq!(protobuf::decode_pod_metrics_list(&again).expect("re-decode").items, list.items);
    }
    if let Ok(list) = protobuf::decode_node_metrics_list(body) {
        let again = protobuf::encode_node_metrics_list(&list, "metrics.k8s.io/v1beta1");
        assert_eq!(protobuf::decode_node_metrics_list(&again).expect("re-decode").items, list.items);
    }
    let _ = protobuf::decode_pod_metrics(body);
    let _ = protobuf::decode_node_metrics(body);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(mut body in proptest::collection::vec(any::<u8>(), 0..512), magic in any::<bool>()) {
        if magic {
            let mut b = protobuf::MAGIC.to_vec();
            b.append(&mut body);
            body = b;
        }
        check(&body);
    }

    #[test]
    fn mutated_bodies_never_panic(flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8), cut in any::<prop::sample::Index>(), nodes in any::<bool>()) {
        let mut body = if nodes { valid_node_list() } else { valid_pod_list() };
        for (at, byte) in flips {
            let i = at.index(body.len());
            body[i] = byte;
        }
        check(&body);
        let n = cut.index(body.len() + 1);
        check(&body[..n]);
    }
}

#[test]
fn the_fixture_cluster_round_trips() {
    let state = fixtures::varied();
    let list = protobuf::decode_pod_metrics_list(&valid_pod_list()).expect("pods");
    assert_eq!(list.items, state.pod_metrics);
    let list = protobuf::decode_node_metrics_list(&valid_node_list()).expect("nodes");
    assert_eq!(list.items, state.node_metrics);
}

/// A table's content, to compare two decodes.
type Row = (String, String, String, i64, Vec<(String, String, String)>);

fn rows(table: &kubemetrics::metrics::table::PodMetricsTable) -> Vec<Row> {
    table
        .iter()
        .map(|p| {
            let containers = p.containers().map(|c| (c.name().to_string(), c.cpu().to_string(), c.memory().to_string())).collect();
            (p.namespace().to_string(), p.name().to_string(), p.timestamp().to_string(), p.window().0, containers)
        })
        .collect()
}

/// The body cut into pieces at `cuts` (positions taken modulo the length).
fn pieces<'a>(body: &'a [u8], cuts: &[prop::sample::Index]) -> Vec<&'a [u8]> {
    let mut at: Vec<usize> = cuts.iter().map(|c| c.index(body.len() + 1)).collect();
    at.push(0);
    at.push(body.len());
    at.sort_unstable();
    at.windows(2).map(|w| &body[w[0]..w[1]]).collect()
}

fn decode_in_pieces(body: &[u8], cuts: &[prop::sample::Index]) {
    use kubemetrics::metrics::table::PodMetricsTable;
    let whole = PodMetricsTable::from_protobuf(body);
    let chunked = PodMetricsTable::from_protobuf_chunks(pieces(body, cuts));
    match (&whole, &chunked) {
        (Ok(a), Ok(b)) => assert_eq!(rows(a), rows(b)),
        (Err(a), Err(b)) => assert_eq!(a.kind(), b.kind()),
        _ => panic!("whole: {:?}, in pieces: {:?}", whole.map(|t| t.len()), chunked.map(|t| t.len())),
    }
    // What the table decoder accepts, the object decoder reads the same.
    if let Ok(table) = whole
        && let Ok(list) = protobuf::decode_pod_metrics_list(body)
    {
        assert_eq!(rows(&table), rows(&PodMetricsTable::from_pods(&list.items)));
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

    /// Decoding a body in pieces (as it arrives) gives what decoding it whole gives, for valid,
    /// mutated and cut bodies.
    #[test]
    fn pieces_decode_like_the_whole(cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..12),
                                    flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..4),
                                    cut in any::<prop::sample::Index>()) {
        let mut body = valid_pod_list();
        for (at, byte) in flips {
            let i = at.index(body.len());
            body[i] = byte;
        }
        decode_in_pieces(&body, &cuts);
        decode_in_pieces(&body[..cut.index(body.len() + 1)], &cuts);
    }
}

#[test]
fn every_split_of_a_valid_body_decodes_to_every_pod() {
    use kubemetrics::metrics::table::PodMetricsTable;
    let body = valid_pod_list();
    let whole = rows(&PodMetricsTable::from_protobuf(&body).expect("whole"));
    assert_eq!(whole.len(), fixtures::varied().pod_metrics.len());
    for at in 0..=body.len() {
        let (a, b) = body.split_at(at);
        assert_eq!(rows(&PodMetricsTable::from_protobuf_chunks([a, b]).expect("two pieces")), whole, "split at {at}");
    }
    // One byte at a time.
    assert_eq!(rows(&PodMetricsTable::from_protobuf_chunks(body.chunks(1)).expect("bytes")), whole);
    // A cut body is an error, never fewer pods: cut inside the list it fails; cut after the
    // list (before the optional content type) it still holds every pod.
    let mut errors = 0;
    for cut in 0..body.len() {
        match PodMetricsTable::from_protobuf_chunks(body[..cut].chunks(7)) {
            Err(e) => {
                assert_eq!(e.kind(), kubemetrics::ErrorKind::Api, "cut at {cut}");
                errors += 1;
            }
            Ok(table) => assert_eq!(rows(&table), whole, "cut at {cut}"),
        }
    }
    assert!(errors > body.len() - 8, "{errors} of {} cuts failed", body.len());
}
