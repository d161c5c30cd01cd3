//! The streaming list decoders, JSON and protobuf: a body decoded in pieces, as it arrives, gives
//! the same table as decoding it whole and as decoding whole objects, for valid, mutated and cut
//! bodies, split anywhere.

use kubemetrics::Result;
use kubemetrics::metrics::table::PodMetricsTable;
use kubemetrics::metrics::{PodMetricsList, protobuf, to_wire_json};
use kubemetrics::testkit::loopback_api::fixtures;
use proptest::prelude::*;

/// One pod of a table: namespace, name, timestamp, window, containers (name, CPU, memory).
type Row = (String, String, String, i64, Vec<(String, String, String)>);

/// A table's content, to compare two decodes.
fn rows(table: &PodMetricsTable) -> Vec<Row> {
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

/// Both decodes give the same table, or both fail with the same kind of error; returns the
/// whole decode.
fn same(whole: Result<PodMetricsTable>, chunked: Result<PodMetricsTable>) -> Option<PodMetricsTable> {
    match (whole, chunked) {
        (Ok(a), Ok(b)) => {
            assert_eq!(rows(&a), rows(&b));
            Some(a)
        }
        (Err(a), Err(b)) => {
            assert_eq!(a.kind(), b.kind());
            None
        }
        (whole, chunked) => panic!("whole: {:?}, in pieces: {:?}", whole.map(|t| t.len()), chunked.map(|t| t.len())),
    }
}

/// A list decoder's three forms: the table from a whole body, the table from pieces, and the
/// objects (`None` when they do not decode).
struct Decoders {
    whole: fn(&[u8]) -> Result<PodMetricsTable>,
    pieces: for<'a> fn(Vec<&'a [u8]>) -> Result<PodMetricsTable>,
    objects: fn(&[u8]) -> Option<Vec<kubemetrics::PodMetrics>>,
}

/// `body` with bytes replaced at `flips` (positions taken modulo the length).
fn mutate(mut body: Vec<u8>, flips: &[(prop::sample::Index, u8)]) -> Vec<u8> {
    for (at, byte) in flips {
        let i = at.index(body.len());
        body[i] = *byte;
    }
    body
}

/// Whole and in pieces agree, and what the table decoder accepts the object decoder reads the
/// same.
fn check(d: &Decoders, body: &[u8], cuts: &[prop::sample::Index]) {
    if let Some(table) = same((d.whole)(body), (d.pieces)(pieces(body, cuts)))
        && let Some(items) = (d.objects)(body)
    {
        assert_eq!(rows(&table), rows(&PodMetricsTable::from_pods(&items)));
    }
}

/// Cuts, byte flips and a truncation for [`check_mutated`].
type Mutation = (Vec<prop::sample::Index>, Vec<(prop::sample::Index, u8)>, prop::sample::Index);

/// Up to 12 cuts, 3 flipped bytes and a truncation point.
fn mutations() -> impl Strategy<Value = Mutation> {
    (
        proptest::collection::vec(any::<prop::sample::Index>(), 0..12),
        proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..4),
        any::<prop::sample::Index>(),
    )
}

/// [`check`] on `body` with `flips` applied, whole and truncated.
fn check_mutated(d: &Decoders, body: Vec<u8>, (cuts, flips, cut): Mutation) {
    let body = mutate(body, &flips);
    check(d, &body, &cuts);
    check(d, &body[..cut.index(body.len() + 1)], &cuts);
}

/// A valid body of `pods` pods: split anywhere into two pieces, or fed one byte at a time, it
/// decodes to every pod; cut short, it is an error or (cut after the list, where only optional
/// fields follow) every pod — never fewer. Returns how many cuts were errors.
fn check_every_split(d: &Decoders, body: &[u8], pods: usize) -> usize {
    let whole = rows(&(d.whole)(body).expect("whole"));
    assert_eq!(whole.len(), pods);
    for at in 0..=body.len() {
        let (a, b) = body.split_at(at);
        assert_eq!(rows(&(d.pieces)(vec![a, b]).expect("two pieces")), whole, "split at {at}");
    }
    assert_eq!(rows(&(d.pieces)(body.chunks(1).collect()).expect("bytes")), whole);
    let mut errors = 0;
    for cut in 0..body.len() {
        match (d.pieces)(body[..cut].chunks(7).collect()) {
            Err(e) => {
                assert_eq!(e.kind(), kubemetrics::ErrorKind::Api, "cut at {cut}");
                errors += 1;
            }
            Ok(table) => assert_eq!(rows(&table), whole, "cut at {cut}"),
        }
    }
    errors
}

fn valid_json_body() -> Vec<u8> {
    let list = PodMetricsList { items: fixtures::varied().pod_metrics, ..Default::default() };
    to_wire_json(&list, "metrics.k8s.io/v1beta1").into_bytes()
}

fn valid_protobuf_body() -> Vec<u8> {
    protobuf::encode_pod_list("metrics.k8s.io/v1beta1", &fixtures::varied().pod_metrics.iter().collect::<Vec<_>>(), None)
}

const PROTOBUF: Decoders = Decoders {
    whole: PodMetricsTable::from_protobuf,
    pieces: |p| PodMetricsTable::from_protobuf_chunks(p),
    objects: |b| protobuf::decode_pod_metrics_list(b).ok().map(|l| l.items),
};

const JSON: Decoders = Decoders {
    whole: PodMetricsTable::from_json,
    pieces: |p| PodMetricsTable::from_json_chunks(p),
    objects: |b| serde_json::from_slice::<PodMetricsList>(b).ok().map(|l| l.items),
};

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

    #[test]
    fn json_pieces_decode_like_the_whole(mutation in mutations()) {
        check_mutated(&JSON, valid_json_body(), mutation);
    }

    #[test]
    fn protobuf_pieces_decode_like_the_whole(mutation in mutations()) {
        check_mutated(&PROTOBUF, valid_protobuf_body(), mutation);
    }

    #[test]
    fn random_text_never_panics(text in "[\\[\\]{}\",:a-z0-9 \\\\]{0,200}", cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..6)) {
        check(&JSON, format!("{{\"items\":[{text}").as_bytes(), &cuts);
        check(&JSON, text.as_bytes(), &cuts);
    }
}

#[test]
fn every_split_of_a_valid_json_body_decodes_to_every_pod() {
    let body = valid_json_body();
    // JSON has nothing optional after the list: every cut is an error.
    assert_eq!(check_every_split(&JSON, &body, fixtures::varied().pod_metrics.len()), body.len());
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

#[test]
fn every_split_of_a_valid_protobuf_body_decodes_to_every_pod() {
    let body = valid_protobuf_body();
    // Only the envelope's content type follows the list.
    let errors = check_every_split(&PROTOBUF, &body, fixtures::varied().pod_metrics.len());
    assert!(errors > body.len() - 8, "{errors} of {} cuts failed", body.len());
}

/// The readers that keep every field, from a body in pieces and whole: the same columns and the
/// same whole table (compared as objects), or an error both ways.
fn check_kept(body: &[u8], cuts: &[prop::sample::Index], is_protobuf: bool) {
    use kubemetrics::metrics::table_columns::PodMetricsColumns;
    use kubemetrics::metrics::whole_table::WholePodMetricsTable;
    let (columns_whole, columns_pieces, table_whole, table_pieces) = if is_protobuf {
        (
            PodMetricsColumns::from_protobuf(body),
            PodMetricsColumns::from_protobuf_chunks(pieces(body, cuts)),
            WholePodMetricsTable::from_protobuf(body),
            WholePodMetricsTable::from_protobuf_chunks(pieces(body, cuts)),
        )
    } else {
        (
            PodMetricsColumns::from_json(body),
            PodMetricsColumns::from_json_chunks(pieces(body, cuts)),
            WholePodMetricsTable::from_json(body),
            WholePodMetricsTable::from_json_chunks(pieces(body, cuts)),
        )
    };
    assert_eq!(columns_whole.ok(), columns_pieces.ok());
    assert_eq!(table_whole.map(|t| t.to_pods()).ok(), table_pieces.map(|t| t.to_pods()).ok());
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 500, ..ProptestConfig::default() })]

    #[test]
    fn columns_and_whole_tables_in_pieces_decode_like_the_whole((cuts, flips, cut) in mutations()) {
        for (is_protobuf, body) in [(false, valid_json_body()), (true, valid_protobuf_body())] {
            let body = mutate(body, &flips);
            check_kept(&body, &cuts, is_protobuf);
            check_kept(&body[..cut.index(body.len() + 1)], &cuts, is_protobuf);
        }
    }
}

#[test]
fn columns_and_whole_tables_of_real_fixtures_decode_in_pieces_of_every_size() {
    use kubemetrics::metrics::table_columns::PodMetricsColumns;
    for (is_protobuf, body) in [(false, valid_json_body()), (true, valid_protobuf_body())] {
        let whole = if is_protobuf { PodMetricsColumns::from_protobuf(&body) } else { PodMetricsColumns::from_json(&body) };
        assert_eq!(whole.expect("a valid body").len(), fixtures::varied().pod_metrics.len());
        for size in [1, 2, 3, 7, 64, 4096] {
            let chunked =
                if is_protobuf { PodMetricsColumns::from_protobuf_chunks(body.chunks(size)) } else { PodMetricsColumns::from_json_chunks(body.chunks(size)) };
            let again = if is_protobuf { PodMetricsColumns::from_protobuf(&body) } else { PodMetricsColumns::from_json(&body) };
            assert_eq!(chunked.expect("in pieces"), again.expect("whole"), "pieces of {size}");
        }
    }
}
