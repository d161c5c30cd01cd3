//! Fuzzing the protobuf decoders: random bytes and mutated valid bodies never panic, and
//! whatever decodes re-encodes to something that decodes to the same value.

use kubemetrics::metrics::protobuf;
use kubemetrics::metrics::table::PodMetricsTable;
use kubemetrics::testkit::loopback_api::fixtures;
use proptest::prelude::*;
use table_rows::{Decoders, rows};

mod table_rows;

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

const PROTOBUF: Decoders = Decoders {
    whole: PodMetricsTable::from_protobuf,
    pieces: |p| PodMetricsTable::from_protobuf_chunks(p),
    objects: |b| protobuf::decode_pod_metrics_list(b).ok().map(|l| l.items),
};

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

    /// Decoding a body in pieces (as it arrives) gives what decoding it whole gives, for valid,
    /// mutated and cut bodies.
    #[test]
    fn pieces_decode_like_the_whole(mutation in table_rows::mutations()) {
        table_rows::check_mutated(&PROTOBUF, valid_pod_list(), mutation);
    }
}

#[test]
fn every_split_of_a_valid_body_decodes_to_every_pod() {
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
