//! The fast path against serde: for items built to reach its edges (escapes, control characters,
//! non-ASCII names, repeated keys, nulls, skipped values of every kind, numbers serde refuses,
//! bad quantities, timestamps and windows), cut anywhere, both decoders give the same table or
//! the same error.

use super::super::json_stream::JsonPodListDecoder;
use super::super::table::PodMetricsTable;
use crate::error::Result;
use proptest::prelude::*;

type Row = (String, String, String, i64, Vec<(String, String, String)>);

fn rows(table: &PodMetricsTable) -> Vec<Row> {
    table
        .iter()
        .map(|p| {
            let containers = p.containers().map(|c| (c.name().to_string(), format!("{:?}", c.cpu()), format!("{:?}", c.memory()))).collect();
            (p.namespace().to_string(), p.name().to_string(), p.timestamp().to_string(), p.window().0, containers)
        })
        .collect()
}

fn decode(mut decoder: JsonPodListDecoder, body: &[u8], piece: usize) -> Result<PodMetricsTable> {
    let mut table = PodMetricsTable::default();
    for chunk in body.chunks(piece.max(1)) {
        decoder.feed(chunk, &mut table)?;
    }
    decoder.finish(&mut table)?;
    Ok(table)
}

/// Decodes `body` in pieces of `piece` bytes with the fast path and whole through serde alone,
/// and checks they agree; returns how many pods were read (`None`: both failed).
fn agree(body: &[u8], piece: usize) -> Option<usize> {
    let fast = decode(JsonPodListDecoder::new(), body, piece);
    let serde = decode(JsonPodListDecoder::serde_only(), body, body.len());
    match (fast, serde) {
        (Ok(a), Ok(b)) => {
            assert_eq!(rows(&a), rows(&b), "{}", String::from_utf8_lossy(body));
            Some(a.len())
        }
        (Err(a), Err(b)) => {
            assert_eq!((a.kind(), a.message()), (b.kind(), b.message()), "{}", String::from_utf8_lossy(body));
            None
        }
        (a, b) => panic!("fast: {:?}, serde: {:?}, body {}", a.map(|t| t.len()), b.map(|t| t.len()), String::from_utf8_lossy(body)),
    }
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        8 => "\"[a-z0-9.-]{0,40}\"",
        2 => Just("\"kube-system\"".to_string()),
        1 => Just("\"\"".to_string()),
        1 => Just("\"caf\u{e9}-\u{1F600}\"".to_string()),
        1 => Just("\"a\\\"b\"".to_string()),
        1 => Just("\"a\\u0000b\"".to_string()),
        1 => Just("\"tab\there\"".to_string()),
        1 => Just("\"new\nline\"".to_string()),
        1 => Just("\"\\n\"".to_string()),
        1 => Just("null".to_string()),
        1 => Just("7".to_string()),
    ]
}

fn skipped() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        8 => text(),
        2 => Just("true".to_string()),
        2 => Just("false".to_string()),
        1 => Just("nul".to_string()),
        1 => Just("truth".to_string()),
        2 => Just("0".to_string()),
        2 => Just("-0.5".to_string()),
        1 => Just("01".to_string()),
        1 => Just("-".to_string()),
        1 => Just("1.".to_string()),
        1 => Just("1e3".to_string()),
        1 => Just("1e999".to_string()),
        2 => Just("123456789012345678901234567890".to_string()),
        1 => Just("2.5E-3".to_string()),
    ];
    leaf.prop_recursive(4, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(|v| format!("[{}]", v.join(","))),
            prop::collection::vec(("[a-z]{1,6}", inner), 0..4)
                .prop_map(|v| format!("{{{}}}", v.iter().map(|(k, v)| format!("\"{k}\": {v}")).collect::<Vec<_>>().join(", "))),
        ]
    })
}

fn quantity() -> impl Strategy<Value = String> {
    prop_oneof![
        2 => Just("\"250264852n\"".to_string()),
        2 => Just("\"8318172Ki\"".to_string()),
        1 => Just("\" 1m \"".to_string()),
        1 => Just("\"0\"".to_string()),
        1 => Just("\"1K\"".to_string()),
        1 => Just("\"\"".to_string()),
        1 => Just("12".to_string()),
        1 => Just("null".to_string()),
        8 => "\"[0-9]{1,12}(n|u|m|Ki|Mi|Gi|k|M|)\"",
    ]
}

fn members(parts: Vec<(String, String)>) -> String {
    format!("{{{}}}", parts.iter().map(|(k, v)| format!("\"{k}\":{v}")).collect::<Vec<_>>().join(","))
}

fn container() -> impl Strategy<Value = String> {
    let usage = prop::collection::vec(prop_oneof![("cpu", quantity()), ("memory", quantity()), ("swap", quantity()), ("x", skipped())], 0..4)
        .prop_map(|v| members(v.into_iter().map(|(k, v)| (k.to_string(), v)).collect()));
    let member = prop_oneof![
        3 => text().prop_map(|v| ("name".to_string(), v)),
        3 => usage.prop_map(|v| ("usage".to_string(), v)),
        1 => Just(("usage".to_string(), "null".to_string())),
        1 => skipped().prop_map(|v| ("other".to_string(), v)),
    ];
    prop::collection::vec(member, 0..4).prop_map(members)
}

fn item() -> impl Strategy<Value = String> {
    let metadata = prop::collection::vec(
        prop_oneof![
            2 => text().prop_map(|v| ("name".to_string(), v)),
            2 => text().prop_map(|v| ("namespace".to_string(), v)),
            1 => skipped().prop_map(|v| ("labels".to_string(), v)),
            1 => Just(("creationTimestamp".to_string(), "\"2026-12-04T10:15:00Z\"".to_string())),
        ],
        0..5,
    )
    .prop_map(members);
    let timestamp = prop_oneof![
        6 => Just("\"2026-12-04T10:14:52Z\""),
        1 => Just("\"2026-12-04T10:14:52.5+01:00\""),
        1 => Just("\"2026-13-04T10:14:52Z\""),
        1 => Just("\"yesterday\""),
        1 => Just("null"),
    ];
    let window = prop_oneof![6 => Just("\"15.012s\""), 2 => Just("\"1m0s\""), 1 => Just("\"-3ms\""), 1 => Just("\"15\""), 1 => Just("30")];
    let member = prop_oneof![
        3 => metadata.prop_map(|v| ("metadata".to_string(), v)),
        2 => timestamp.prop_map(|v| ("timestamp".to_string(), v.to_string())),
        2 => window.prop_map(|v| ("window".to_string(), v.to_string())),
        3 => prop::collection::vec(container(), 0..3).prop_map(|v| ("containers".to_string(), format!("[{}]", v.join(",")))),
        1 => Just(("containers".to_string(), "null".to_string())),
        1 => skipped().prop_map(|v| ("kind".to_string(), v)),
    ];
    prop::collection::vec(member, 0..6).prop_map(members)
}

/// White space after some of the structural characters, as a pretty printer would put it.
fn spaced(body: &str, every: usize) -> String {
    let mut out = String::with_capacity(body.len() * 2);
    for (i, c) in body.chars().enumerate() {
        out.push(c);
        if every > 0 && i % every == 0 && matches!(c, ',' | ':' | '[' | '{') {
            out.push_str("\n  ");
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]

    #[test]
    fn the_fast_path_agrees_with_serde(items in prop::collection::vec(item(), 0..4), piece in 1usize..400, every in 0usize..7, cut in any::<prop::sample::Index>()) {
        let body = format!("{{\"kind\":\"PodMetricsList\",\"items\":[{}]}}", items.join(","));
        let body = if every == 6 { body } else { spaced(&body, every) };
        agree(body.as_bytes(), piece);
        // Cut short anywhere: an error either way, or the same table.
        agree(&body.as_bytes()[..cut.index(body.len() + 1)], piece);
    }
}

#[test]
fn typical_items_are_read_by_the_fast_path_and_match_serde() {
    let item = r#"{"metadata":{"name":"web-1","namespace":"shop","creationTimestamp":"2026-12-04T10:15:00Z","labels":{"app":"web","n":1,"b":true,"z":null,"l":[1.5,-2,"x"]}},"timestamp":"2026-12-04T10:14:52Z","window":"15.012s","containers":[{"name":"app","usage":{"cpu":"250264852n","memory":"8318172Ki"}},{"name":"istio-proxy","usage":{"cpu":"3m","memory":"40Mi"}}]}"#;
    let mut table = PodMetricsTable::default();
    assert_eq!(super::ItemScanner::default().scan(item.as_bytes(), &mut table), super::Scan::Item(item.len()));
    for piece in [1, 7, 64, 4096] {
        let body = format!("{{\"kind\":\"PodMetricsList\",\"items\":[{item},{item}]}}");
        assert_eq!(agree(body.as_bytes(), piece), Some(2));
    }
}

#[test]
fn a_piece_ending_inside_a_number_waits_for_the_next_even_through_serde() {
    // The escaped name sends the item to serde, which calls a cut number invalid; the decoder
    // then waits for the rest instead of failing a valid body.
    let item = r#"{"metadata":{"name":"a\"b","labels":{"n":-25.5}},"containers":[{"name":"c","usage":{"cpu":"1m"}}]}"#;
    let body = format!("{{\"kind\":\"PodMetricsList\",\"items\":[{item}]}}");
    for piece in 1..body.len() {
        assert_eq!(agree(body.as_bytes(), piece), Some(1), "pieces of {piece}");
    }
}

#[test]
fn the_fast_path_steps_aside_and_takes_nothing_back() {
    let mut table = PodMetricsTable::default();
    let mut scanner = super::ItemScanner::default();
    for (item, want) in [
        (r#"{"metadata":{"name":"a\"b"}}"#, super::Scan::Other),
        (r#"{"containers":[{"name":"a","usage":{"cpu":"1m"}},{"name":"b","usage":{"cpu":"1K"}}]}"#, super::Scan::Other),
        (r#"{"timestamp":"2026-12-04T10:14:52Z","timestamp":"2026-12-04T10:14:52Z"}"#, super::Scan::Other),
        (r#"{"labels":{"x":1e3}}"#, super::Scan::Other),
        (r#"{"containers":[{"name":"a","usage":{"cpu":"1m"}},{"name":"b","usa"#, super::Scan::Incomplete),
        (r#"{"x":tru"#, super::Scan::Incomplete),
    ] {
        assert_eq!(scanner.scan(item.as_bytes(), &mut table), want, "{item}");
        assert_eq!((table.len(), super::RollbackSink::containers_len(&table)), (0, 0), "{item}");
    }
}

/// The readers that keep every field (columns for Node, the whole table for Python) decode a
/// list streamed in pieces exactly as they decode it whole: the same result, or an error both ways.
fn streamed_agree(body: &[u8], piece: usize) {
    use super::super::list_decoder::ListDecoder;
    use super::super::table_columns::{ColumnsSink, PodMetricsColumns};
    use super::super::whole_table::{WholePodMetricsTable, WholeSink};
    let shown = || String::from_utf8_lossy(body).into_owned();
    let columns = ListDecoder::new(false, ColumnsSink::default()).decode(body.chunks(piece.max(1))).map(ColumnsSink::end);
    match (columns, PodMetricsColumns::from_json(body)) {
        (Ok(a), Ok(b)) => assert_eq!(a, b, "{}", shown()),
        (Err(a), Err(b)) => assert_eq!(a.kind(), b.kind(), "{}", shown()),
        (a, b) => panic!("columns: streamed {:?}, whole {:?}, body {}", a.map(|c| c.len()), b.map(|c| c.len()), shown()),
    }
    let whole = ListDecoder::new(false, WholeSink::default()).decode(body.chunks(piece.max(1))).map(|s| s.table);
    match (whole, WholePodMetricsTable::from_json(body)) {
        (Ok(a), Ok(b)) => assert_eq!(a, b, "{}", shown()),
        (Err(a), Err(b)) => assert_eq!(a.kind(), b.kind(), "{}", shown()),
        (a, b) => panic!("whole table: streamed {:?}, whole {:?}, body {}", a.map(|t| t.len()), b.map(|t| t.len()), shown()),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1500, ..ProptestConfig::default() })]

    #[test]
    fn columns_and_whole_tables_streamed_agree_with_whole_bodies(items in prop::collection::vec(item(), 0..4), piece in 1usize..400, every in 0usize..7, cut in any::<prop::sample::Index>()) {
        let body = format!("{{\"kind\":\"PodMetricsList\",\"items\":[{}]}}", items.join(","));
        let body = if every == 6 { body } else { spaced(&body, every) };
        streamed_agree(body.as_bytes(), piece);
        streamed_agree(&body.as_bytes()[..cut.index(body.len() + 1)], piece);
    }
}

#[test]
fn columns_and_whole_tables_stream_typical_lists_in_pieces_of_every_size() {
    let item = r#"{"metadata":{"name":"web-1","namespace":"shop","creationTimestamp":"2026-12-04T10:15:00Z","labels":{"app":"web"}},"timestamp":"2026-12-04T10:14:52Z","window":"15.012s","containers":[{"name":"app","usage":{"cpu":"250264852n","memory":"8318172Ki"}},{"name":"istio-proxy","usage":{"cpu":"3m","memory":"40Mi","nvidia.com/gpu":"1"}}]}"#;
    let odd = r#"{"metadata":{"name":"a\"b","uid":"u-1","labels":{"n":"-25.5"}},"timestamp":"2026-12-04T10:14:52Z","window":"15s","containers":[{"name":"c","usage":{"cpu":"1m","cpu":"2m"}}]}"#;
    let body = format!("{{\"kind\":\"PodMetricsList\",\"apiVersion\":\"metrics.k8s.io/v1beta1\",\"metadata\":{{}},\"items\":[{item},{odd},{item}]}}");
    let whole = super::super::table_columns::PodMetricsColumns::from_json(body.as_bytes()).expect("a valid list");
    assert_eq!(whole.len(), 3);
    for piece in 1..body.len() {
        streamed_agree(body.as_bytes(), piece);
    }
}

/// What [`super::string_end`] computes, one byte at a time.
fn string_end_bytewise(rest: &[u8]) -> Option<Option<(usize, bool)>> {
    let mut ascii = true;
    for (at, &b) in rest.iter().enumerate() {
        match b {
            b'"' => return Some(Some((at, ascii))),
            b'\\' | 0..0x20 => return Some(None),
            0x80.. => ascii = false,
            _ => {}
        }
    }
    None
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 5000, ..ProptestConfig::default() })]

    /// The eight-byte loop stops where a byte-by-byte reading does, wherever in a word the
    /// special byte lies.
    #[test]
    fn string_ends_are_found_as_byte_by_byte(plain in prop::collection::vec(prop_oneof![20 => 0x20u8..0x7f, 1 => Just(b'"'), 1 => Just(b'\\'), 1 => 0u8..0x20, 1 => 0x80u8..=0xff], 0..70)) {
        let expected = string_end_bytewise(&plain);
        let got = match super::string_end(&plain) {
            Ok(end) => Some(Some(end)),
            Err(super::Stop::Other) => Some(None),
            Err(super::Stop::Incomplete) => None,
        };
        prop_assert_eq!(got, expected);
    }
}
