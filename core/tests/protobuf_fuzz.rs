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
