//! Decoding a `PodMetricsList` JSON body in pieces, as it arrives: the same table as decoding it
//! whole and as decoding whole objects, for valid, mutated and cut bodies, split anywhere.

use kubemetrics::metrics::table::PodMetricsTable;
use kubemetrics::metrics::{PodMetricsList, to_wire_json};
use kubemetrics::testkit::loopback_api::fixtures;
use proptest::prelude::*;
use table_rows::Decoders;

mod table_rows;

fn valid_body() -> Vec<u8> {
    let list = PodMetricsList { items: fixtures::varied().pod_metrics, ..Default::default() };
    to_wire_json(&list, "metrics.k8s.io/v1beta1").into_bytes()
}

const JSON: Decoders = Decoders {
    whole: PodMetricsTable::from_json,
    pieces: |p| PodMetricsTable::from_json_chunks(p),
    objects: |b| serde_json::from_slice::<PodMetricsList>(b).ok().map(|l| l.items),
};

fn check(body: &[u8], cuts: &[prop::sample::Index]) {
    table_rows::check(&JSON, body, cuts);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

    #[test]
    fn pieces_decode_like_the_whole(mutation in table_rows::mutations()) {
        table_rows::check_mutated(&JSON, valid_body(), mutation);
    }

    #[test]
    fn random_text_never_panics(text in "[\\[\\]{}\",:a-z0-9 \\\\]{0,200}", cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..6)) {
        check(format!("{{\"items\":[{text}").as_bytes(), &cuts);
        check(text.as_bytes(), &cuts);
    }
}

#[test]
fn every_split_of_a_valid_body_decodes_to_every_pod() {
    let body = valid_body();
    // JSON has nothing optional after the list: every cut is an error.
    assert_eq!(table_rows::check_every_split(&JSON, &body, fixtures::varied().pod_metrics.len()), body.len());
}

#[test]
fn the_list_around_the_items_is_checked_and_odd_shapes_still_decode() {
    let pod = r#"{"metadata":{"name":"p","namespace":"n"},"timestamp":"2024-01-01T00:00:00Z","window":"15s","containers":[{"name":"c","usage":{"cpu":"1m","memory":"1Ki"}}]}"#;
    let names = |body: &str| -> Vec<String> {
        let t = PodMetricsTable::from_json_chunks(body.as_bytes().chunks(3)).unwrap_or_else(|e| panic!("{body}: {e}"));
        t.iter().map(|p| p.name().to_string()).collect()
    };
    // The kind is checked wherever it stands, also after the items.
    let e = PodMetricsTable::from_json_chunks([format!(r#"{{"items":[{pod}],"kind":"NodeMetricsList"}}"#).as_bytes()]).expect_err("kind");
    assert!(e.message().contains("expected kind PodMetricsList"), "{}", e.message());
    // An "items" key inside metadata is not the list's.
    assert_eq!(names(&format!(r#"{{"metadata":{{"items":[1,2]}},"items":[{pod}]}}"#)), ["p"]);
    // An escaped key, null items, no items, white space everywhere.
    assert_eq!(names(&format!(r#"{{"it\u0065ms":[{pod}]}}"#)), ["p"]);
    assert!(names(r#"{"items":null}"#).is_empty());
    assert!(names(r#"{"kind":"PodMetricsList"}"#).is_empty());
    assert_eq!(names(&format!(" {{ \"items\" :\n [ {pod} ,\t{pod} ] }} ")), ["p", "p"]);
    // Broken arrays are errors.
    for bad in [format!(r#"{{"items":[{pod},]}}"#), format!(r#"{{"items":[{pod} {pod}]}}"#), r#"{"items":[1]}"#.to_string(), format!(r#"{{"items":[{pod}]"#)] {
        assert_eq!(PodMetricsTable::from_json_chunks(bad.as_bytes().chunks(4)).expect_err(&bad).kind(), kubemetrics::ErrorKind::Api, "{bad}");
        assert!(PodMetricsTable::from_json(bad.as_bytes()).is_err(), "{bad}");
    }
}
