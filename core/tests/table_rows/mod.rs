//! Shared by the tests of the streaming list decoders: a table's content as plain values, a body
//! cut into pieces, and the check that decoding it whole and in pieces agree.

#![allow(dead_code)]

use kubemetrics::Result;
use kubemetrics::metrics::table::PodMetricsTable;
use proptest::prelude::*;

/// One pod of a table: namespace, name, timestamp, window, containers (name, CPU, memory).
pub type Row = (String, String, String, i64, Vec<(String, String, String)>);

/// A table's content, to compare two decodes.
pub fn rows(table: &PodMetricsTable) -> Vec<Row> {
    table
        .iter()
        .map(|p| {
            let containers = p.containers().map(|c| (c.name().to_string(), c.cpu().to_string(), c.memory().to_string())).collect();
            (p.namespace().to_string(), p.name().to_string(), p.timestamp().to_string(), p.window().0, containers)
        })
        .collect()
}

/// The body cut into pieces at `cuts` (positions taken modulo the length).
pub fn pieces<'a>(body: &'a [u8], cuts: &[prop::sample::Index]) -> Vec<&'a [u8]> {
    let mut at: Vec<usize> = cuts.iter().map(|c| c.index(body.len() + 1)).collect();
    at.push(0);
    at.push(body.len());
    at.sort_unstable();
    at.windows(2).map(|w| &body[w[0]..w[1]]).collect()
}

/// Both decodes give the same table, or both fail with the same kind of error; returns the
/// whole decode.
pub fn same(whole: Result<PodMetricsTable>, chunked: Result<PodMetricsTable>) -> Option<PodMetricsTable> {
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
pub struct Decoders {
    pub whole: fn(&[u8]) -> Result<PodMetricsTable>,
    pub pieces: for<'a> fn(Vec<&'a [u8]>) -> Result<PodMetricsTable>,
    pub objects: fn(&[u8]) -> Option<Vec<kubemetrics::PodMetrics>>,
}

/// `body` with bytes replaced at `flips` (positions taken modulo the length).
pub fn mutate(mut body: Vec<u8>, flips: &[(prop::sample::Index, u8)]) -> Vec<u8> {
    for (at, byte) in flips {
        let i = at.index(body.len());
        body[i] = *byte;
    }
    body
}

/// Whole and in pieces agree, and what the table decoder accepts the object decoder reads the
/// same.
pub fn check(d: &Decoders, body: &[u8], cuts: &[prop::sample::Index]) {
    if let Some(table) = same((d.whole)(body), (d.pieces)(pieces(body, cuts)))
        && let Some(items) = (d.objects)(body)
    {
        assert_eq!(rows(&table), rows(&PodMetricsTable::from_pods(&items)));
    }
}

/// Cuts, byte flips and a truncation for [`check_mutated`].
pub type Mutation = (Vec<prop::sample::Index>, Vec<(prop::sample::Index, u8)>, prop::sample::Index);

/// Up to 12 cuts, 3 flipped bytes and a truncation point.
pub fn mutations() -> impl Strategy<Value = Mutation> {
    (
        proptest::collection::vec(any::<prop::sample::Index>(), 0..12),
        proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..4),
        any::<prop::sample::Index>(),
    )
}

/// [`check`] on `body` with `flips` applied, whole and truncated.
pub fn check_mutated(d: &Decoders, body: Vec<u8>, (cuts, flips, cut): Mutation) {
    let body = mutate(body, &flips);
    check(d, &body, &cuts);
    check(d, &body[..cut.index(body.len() + 1)], &cuts);
}

/// A valid body of `pods` pods: split anywhere into two pieces, or fed one byte at a time, it
/// decodes to every pod; cut short, it is an error or (cut after the list, where only optional
/// fields follow) every pod — never fewer. Returns how many cuts were errors.
pub fn check_every_split(d: &Decoders, body: &[u8], pods: usize) -> usize {
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
