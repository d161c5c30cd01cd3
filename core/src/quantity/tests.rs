//! The quantity table: cases from apimachinery's quantity_test.go (TestQuantityParse,
//! TestQuantityParseEmit, TestQuantityString, TestQuantityRoundUp, TestQuantityCmp, TestNewSet,
//! TestMilliNewSet, TestAdd, TestSub, TestJSONWhitespace), written as our own table, plus the
//! places where kubemetrics deliberately differs from Go.

use super::*;

const D: Format = Format::DecimalSI;
const B: Format = Format::BinarySI;
const X: Format = Format::DecimalExponent;

fn q(s: &str) -> Quantity {
    Quantity::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
}

fn val(m: i128, e: i32) -> Quantity {
    Quantity::from_parts(m, e, D).expect("in range")
}

/// (input, mantissa, exponent, format): the parsed value is mantissa * 10^exponent.
const PARSE: &[(&str, i128, i32, Format)] = &[
    ("0", 0, 0, D),
    ("0n", 0, 0, D),
    ("0u", 0, 0, D),
    ("0m", 0, 0, D),
    ("0Ki", 0, 0, B),
    ("0k", 0, 0, D),
    ("0Mi", 0, 0, B),
    ("0M", 0, 0, D),
    ("0Gi", 0, 0, B),
    ("0G", 0, 0, D),
    ("0Ti", 0, 0, B),
    ("0T", 0, 0, D),
    ("1", 1, 0, D),
    ("1Ki", 1024, 0, B),
    ("8Ki", 8 * 1024, 0, B),
    ("7Mi", 7 << 20, 0, B),
    ("6Gi", 6 << 30, 0, B),
    ("5Ti", 5 << 40, 0, B),
    ("4Pi", 4 << 50, 0, B),
    ("3Ei", 3 << 60, 0, B),
    ("10Ti", 10 << 40, 0, B),
    ("100Ti", 100 << 40, 0, B),
    ("5n", 5, -9, D),
    ("4u", 4, -6, D),
    ("3m", 3, -3, D),
    ("9", 9, 0, D),
    ("8k", 8, 3, D),
    ("50k", 5, 4, D),
    ("7M", 7, 6, D),
    ("6G", 6, 9, D),
    ("5T", 5, 12, D),
    ("40T", 4, 13, D),
    ("300T", 3, 14, D),
    ("2P", 2, 15, D),
    ("1E", 1, 18, D),
    ("1E-3", 1, -3, X),
    ("1e3", 1, 3, X),
    ("1E6", 1, 6, X),
    ("1e9", 1, 9, X),
    ("1E12", 1, 12, X),
    ("1e15", 1, 15, X),
    ("1E18", 1, 18, X),
    ("1e14", 1, 14, X),
    ("1e13", 1, 13, X),
    ("100.035k", 100035, 0, D),
    ("0.001", 1, -3, D),
    ("0.0005k", 5, -1, D),
    ("0.005", 5, -3, D),
    ("0.05", 5, -2, D),
    ("0.5", 5, -1, D),
    ("0.00050k", 5, -1, D),
    ("0.00500", 5, -3, D),
    ("0.05000", 5, -2, D),
    ("0.50000", 5, -1, D),
    ("0.5e0", 5, -1, X),
    ("0.5e-1", 5, -2, X),
    ("0.5e-2", 5, -3, X),
    ("10.035M", 10035, 3, D),
    ("1.2e3", 12, 2, X),
    ("1.3E+6", 13, 5, X),
    ("1.40e9", 14, 8, X),
    ("1.53E12", 153, 10, X),
    ("1.6e15", 16, 14, X),
    ("1.7E18", 17, 17, X),
    ("9.01", 901, -2, D),
    ("8.1k", 81, 2, D),
    ("7.123456M", 7123456, 0, D),
    ("6.987654321G", 6987654321, 0, D),
    ("5.444T", 5444, 9, D),
    ("40.1T", 401, 11, D),
    ("300.2T", 3002, 11, D),
    ("2.5P", 25, 14, D),
    ("1.01E", 101, 16, D),
    ("3.001n", 4, -9, D),
    ("1.1E-9", 2, -9, X),
    ("0.0000000001", 1, -9, D),
    ("0.0000000005", 1, -9, D),
    ("0.00000000050", 1, -9, D),
    ("0.5e-9", 1, -9, X),
    ("0.9n", 1, -9, D),
    ("0.00000012345", 124, -9, D),
    ("0.00000012354", 124, -9, D),
    ("9Ei", i64::MAX as i128, 0, B),
    ("9223372036854775807Ki", i64::MAX as i128, 0, B),
    ("12E", 12, 18, D),
    ("100.035Ki", 10243584, -2, B),
    ("0.5Mi", 524288, 0, B),
    ("0.05Gi", 536870912, -1, B),
    ("0.025Ti", 274877906944, -1, B),
    ("0.000000000001Ki", 2, -9, D),
    (".001", 1, -3, D),
    (".0001k", 100, -3, D),
    ("1.", 1, 0, D),
    ("1.G", 1, 9, D),
    // Our own: metrics-server and kubelet values, long digit strings, extremes.
    ("250264852n", 250264852, -9, D),
    ("8318172Ki", 8318172 * 1024, 0, B),
    ("969654n", 969654, -9, D),
    ("15012Ki", 15012 * 1024, 0, B),
    ("1500m", 15, -1, D),
    ("1.5Gi", 1610612736, 0, B),
    ("0.5Ki", 512, 0, B),
    ("0.1Ki", 1024, -1, B),
    ("0.0001Ki", 1024, -4, D),
    ("8Ei", i64::MAX as i128, 0, B),
    ("7Ei", 7 << 60, 0, B),
    ("00012", 12, 0, D),
    ("000", 0, 0, D),
    ("0.0", 0, 0, D),
    ("1e-9", 1, -9, X),
    ("1e-10", 1, -9, X),
    ("1e-2147483647", 1, -9, X),
    ("1e1000", 1, 1000, X),
    ("1000E", 1, 21, D),
    ("123456789012345678901234567890", 12345678901234567890123456789, 1, D),
    ("0.123456789999", 12345679, -8, D),
    ("99999999999999999999.999999999", 99999999999999999999999999999, -9, D),
    ("1.000000000000000000000000000000000000000000001", 1000000001, -9, D),
    ("2e+2", 2, 2, X),
    ("1E2", 1, 2, X),
    ("5.e3", 5, 3, X),
    (".5e3", 5, 2, X),
];

#[test]
fn parse_table_plain_negative_and_plus() {
    let mut n = 0;
    for &(input, m, e, format) in PARSE {
        for (prefix, sign) in [("", 1), ("-", -1), ("+", 1)] {
            let text = format!("{prefix}{input}");
            let got = q(&text);
            let want = val(m * sign, e);
            assert_eq!(got, want, "{text}: value");
            assert_eq!(got.format(), format, "{text}: format");
            // Round trip through the canonical form keeps the value.
            assert_eq!(q(&got.to_string()), got, "{text}: canonical {got} reparses");
            n += 1;
        }
    }
    assert!(n >= 300, "{n} cases");
}

/// (input, canonical)
const EMIT: &[(&str, &str)] = &[
    ("1Ki", "1Ki"),
    ("1Mi", "1Mi"),
    ("1Gi", "1Gi"),
    ("1024Mi", "1Gi"),
    ("1000M", "1G"),
    (".001Ki", "1024m"),
    (".000001Ki", "1024u"),
    (".000000001Ki", "1024n"),
    (".000000000001Ki", "2n"),
    // TestQuantityString alternates
    ("1024Mi", "1Gi"),
    ("307200Ki", "300Mi"),
    ("6Ki", "6Ki"),
    ("1025024Mi", "1001Gi"),
    ("1024Gi", "1Ti"),
    ("5000m", "5"),
    ("0.5", "500m"),
    ("1000M", "1G"),
    ("0.001T", "1G"),
    ("1000u", "1m"),
    ("80m", "80m"),
    ("1.08", "1080m"),
    ("1080000000n", "1080m"),
    ("300M", "300M"),
    ("1T", "1T"),
    ("1E", "1E"),
    ("1234567M", "1234567M"),
    ("3k", "3k"),
    ("1025", "1025"),
    ("0", "0"),
    (".001e12", "1e9"),
    ("0.001e0", "1e-3"),
    ("1000e-12", "1e-9"),
    ("80e-3", "80e-3"),
    ("300e6", "300e6"),
    ("1e12", "1e12"),
    ("1e3", "1e3"),
    ("3e3", "3e3"),
    ("00", "0"),
    ("1n", "1n"),
    ("80n", "80n"),
    ("1080n", "1080n"),
    ("1u", "1u"),
    ("80u", "80u"),
    ("1080u", "1080u"),
    // Values kubectl and metrics-server print, and the issue's examples.
    ("250264852n", "250264852n"),
    ("8318172Ki", "8318172Ki"),
    ("1.5", "1500m"),
    ("1.5Gi", "1536Mi"),
    ("1.5Ki", "1536"),
    ("0.5Ki", "512"),
    ("1023Ki", "1023Ki"),
    ("1024Ki", "1Mi"),
    ("1025Ki", "1025Ki"),
    ("100k", "100k"),
    ("10e3", "10e3"),
    ("1000e3", "1e6"),
    ("1.5e3", "1500"),
    ("12e6", "12e6"),
    ("9Ei", "9223372036854775807"),
    ("1000E", "1000E"),
    ("5000E", "5000E"),
    ("1000000E", "1000000E"),
    ("1e21", "1e21"),
    ("2048", "2048"),
    ("2Ki", "2Ki"),
    ("0.1Ki", "102400m"),
    ("1Ei", "1Ei"),
    ("1024Pi", "1Ei"),
    ("3.001n", "4n"),
    ("1.1E-9", "2e-9"),
    ("0.5e-9", "1e-9"),
    ("1.01E", "1010P"),
    ("12E", "12E"),
    ("100.035Ki", "102435840m"),
    ("0.05Gi", "53687091200m"),
    ("7.123456M", "7123456"),
    ("1e0", "1"),
    ("0e5", "0"),
    ("0Ki", "0"),
];

#[test]
fn emit_table() {
    assert_eq!(q("-0").to_string(), "0");
    for &(input, want) in EMIT {
        assert_eq!(q(input).to_string(), want, "{input}");
        let neg = q(&format!("-{input}"));
        if !neg.is_zero() {
            assert_eq!(neg.to_string(), format!("-{want}"), "-{input}");
        }
    }
}

const INVALID: &[&str] = &[
    "",
    "1.1.M",
    "1+1.0M",
    "0.1mi",
    "0.1am",
    "aoeu",
    ".5i",
    "1i",
    "-3.01i",
    "-3.01e-",
    " 1",
    "1 ",
    "1K",
    "1k ",
    // Go reads these as zero; kubemetrics refuses them.
    ".",
    "-.",
    "+",
    "-",
    "m",
    "Ki",
    "e3",
    "+m",
    // Out of range, refused quickly instead of hanging or wrapping.
    "1e2147483648",
    "1e-2147483649",
    "1e99999999999",
    "1e1001",
    "1e2147483647",
    "1Gi1",
    "1e",
    "1E+",
    "1e3.5",
    "NaN",
    "Inf",
    "1_000",
    "0x10",
    "1,5",
    "١",
    "1\u{0}",
    "12345678901234567890123456789012345678901234567890",
];

#[test]
fn invalid_inputs_are_errors_that_show_the_input() {
    for &input in INVALID {
        let e = Quantity::parse(input).expect_err(input);
        assert_eq!(e.kind(), ErrorKind::Quantity, "{input}");
        assert!(e.to_string().contains(&format!("{input:?}")) || e.to_string().contains("range"), "{input}: {e}");
    }
}

#[test]
fn error_messages_say_what_was_wrong() {
    let msg = |s: &str| Quantity::parse(s).expect_err(s).to_string();
    assert_eq!(msg("1K"), r#"invalid quantity "1K": unknown suffix "K" (did you mean "k" or "Ki"?)"#);
    assert_eq!(msg(""), r#"invalid quantity "": empty string"#);
    assert_eq!(msg("."), r#"invalid quantity ".": a quantity needs at least one digit"#);
    assert_eq!(msg("1 "), r#"invalid quantity "1 ": unexpected characters " " (whitespace is not allowed)"#);
    assert_eq!(msg("1e2147483648"), r#"invalid quantity "1e2147483648": exponent 2147483648 is out of range"#);
    assert_eq!(msg("1e1001"), r#"invalid quantity "1e1001": magnitude exceeds 10^1001"#);
}

#[test]
fn huge_exponents_fail_fast() {
    let start = std::time::Instant::now();
    for s in ["1e2147483647", "1e-2147483647", "9e2147483646", "1Ei"] {
        let _ = Quantity::parse(s);
    }
    // Not a benchmark: a hang would take seconds, the real cost is microseconds.
    assert!(start.elapsed() < std::time::Duration::from_secs(1));
}

#[test]
fn value_and_milli_value_round_away_from_zero() {
    let cases: &[(&str, i128, i128)] = &[
        ("250264852n", 1, 251),
        ("551516196n", 1, 552),
        ("1", 1, 1000),
        ("1500m", 2, 1500),
        ("0", 0, 0),
        ("1n", 1, 1),
        ("-1n", -1, -1),
        ("-1500m", -2, -1500),
        ("-1.0001", -2, -1001),
        ("9.01", 10, 9010),
        ("1Ki", 1024, 1024000),
        ("8318172Ki", 8517808128, 8517808128000),
        ("1E", 10i128.pow(18), 10i128.pow(21)),
        ("1.5", 2, 1500),
        ("999999999n", 1, 1000),
        ("1000000001n", 2, 1001),
    ];
    for &(s, v, m) in cases {
        assert_eq!(q(s).value(), Some(v), "value {s}");
        assert_eq!(q(s).milli_value(), Some(m), "milli {s}");
    }
    // TestQuantityRoundUp: 9.01 rounded at scales -3..2
    let r = q("9.01");
    assert_eq!(
        [r.scaled_value(-3), r.scaled_value(-2), r.scaled_value(-1), r.scaled_value(0), r.scaled_value(1), r.scaled_value(2)],
        [Some(9010), Some(901), Some(91), Some(10), Some(1), Some(1)]
    );
    let r = q("-9.01");
    assert_eq!([r.scaled_value(-1), r.scaled_value(0), r.scaled_value(2)], [Some(-91), Some(-10), Some(-1)]);
}

#[test]
fn integer_accessors_never_wrap() {
    assert_eq!(q("1e40").value(), None);
    assert_eq!(q("1e36").milli_value(), None);
    assert_eq!(q("1e35").milli_value(), Some(10i128.pow(38)));
    assert_eq!(q("9223372036854775807").milli_value(), Some(9223372036854775807000));
    assert_eq!(q("1e1000").scaled_value(2000), Some(1));
    assert_eq!(q("1n").scaled_value(1000), Some(1));
}

#[test]
fn comparison_ignores_format() {
    let cmp = |a: &str, b: &str| q(a).cmp(&q(b));
    assert_eq!(cmp("0", "0"), Ordering::Equal);
    assert_eq!(cmp("100m", "50m"), Ordering::Greater);
    assert_eq!(cmp("50m", "100m"), Ordering::Less);
    assert_eq!(cmp("10000T", "100Gi"), Ordering::Greater);
    assert_eq!(cmp("1", "1000m"), Ordering::Equal);
    assert_eq!(cmp("1e3", "1k"), Ordering::Equal);
    assert_eq!(cmp("-1", "1n"), Ordering::Less);
    assert_eq!(cmp("-2", "-1"), Ordering::Less);
    assert_eq!(cmp("1e1000", "99999999999999999999999999999999999999"), Ordering::Greater);
    assert_eq!(cmp("0.8", "0.79"), Ordering::Greater);
    assert_eq!(cmp("1.000000001", "1"), Ordering::Greater);
    assert_eq!(q("1"), q("1000m"));
    use std::collections::HashSet;
    let set: HashSet<Quantity> = ["1", "1000m", "1e0", "0.001k"].iter().map(|s| q(s)).collect();
    assert_eq!(set.len(), 1);
}

#[test]
fn add_and_sub_keep_apimachinery_formats() {
    // TestAdd / TestSub
    assert_eq!(q("10") + q("1e1"), q("20"));
    let a = Quantity::from_int(10, D) + Quantity::from_int(1, B);
    assert_eq!((a, a.format()), (q("11"), D));
    let a = Quantity::from_int(10, B) + Quantity::from_int(1, D);
    assert_eq!((a, a.format()), (q("11"), B));
    assert_eq!(Quantity::ZERO - q("50"), q("-50"));
    assert_eq!(q("50") - Quantity::ZERO, q("50"));
    assert_eq!(Quantity::from_int(10, B) - Quantity::from_int(1, D), Quantity::from_int(9, B));
    // TestQuantityAddZeroPreservesSuffix / SubZero
    for s in ["100m", "1Gi"] {
        assert_eq!((q(s) + Quantity::ZERO).to_string(), s);
        assert_eq!((Quantity::ZERO + q(s)).to_string(), s);
        assert_eq!((q(s) - Quantity::ZERO).to_string(), s);
        assert_eq!((Quantity::ZERO - q(s)).to_string(), format!("-{s}"));
    }
    // TestNegAndSubAtMostNegative: no wrap at 2^63
    let most_negative = Quantity::from_int(i64::MIN, D);
    assert_eq!((-most_negative).to_string(), "9223372036854775808");
    assert_eq!((q("1") - most_negative).to_string(), "9223372036854775809");
    assert_eq!((Quantity::ZERO - Quantity::from_int(i64::MIN, B)).to_string(), "8Ei");
    // Sums of what kubectl sums
    let total: Quantity = ["250264852n", "551516196n", "1630534153n"].iter().map(|s| q(s)).sum();
    assert_eq!(total.to_string(), "2432315201n");
    let mem: Quantity = ["8318172Ki", "13280692Ki", "15209140Ki"].iter().map(|s| q(s)).sum();
    assert_eq!(mem.to_string(), "36808004Ki");
    // -9.01 neg: TestQuantityNeg
    assert_eq!((-q("9.01")).to_string(), "-9010m");
}

#[test]
fn overflowing_sums_are_errors_or_rounded_up_never_wrapped() {
    let big = q("99999999999999999999999999999999999999");
    assert_eq!(big.checked_add(&q("1n")).expect_err("too many digits").kind(), ErrorKind::Quantity);
    let rounded = big + q("1n");
    assert!(rounded > big);
    assert_eq!(q("1e1000") + q("9e1000"), q("1e1000"));
}

#[test]
fn constructors() {
    // TestNewSet / TestMilliNewSet / TestNewScaledSet
    assert_eq!(Quantity::from_int(1000, D).to_string(), "1k");
    assert_eq!(Quantity::from_int(1234000, D).to_string(), "1234k");
    assert_eq!(Quantity::from_int(1024, B).to_string(), "1Ki");
    assert_eq!(Quantity::from_int(1024 * 1024, B).to_string(), "1Mi");
    assert_eq!(Quantity::from_int(1000000, X).to_string(), "1e6");
    assert_eq!(Quantity::from_milli(1, D).to_string(), "1m");
    assert_eq!(Quantity::from_milli(1000, D).to_string(), "1");
    assert_eq!(Quantity::from_milli(1234000, D).to_string(), "1234");
    assert_eq!(Quantity::from_milli(1024, B).to_string(), "1024m");
    assert_eq!(Quantity::from_milli(1024 * 1024, B).to_string(), "1048576m");
    assert_eq!(Quantity::from_milli(1000000, X).to_string(), "1e3");
    assert_eq!(Quantity::from_nano(1, D).to_string(), "1n");
    assert_eq!(Quantity::from_nano(1000, D).to_string(), "1u");
    assert_eq!(Quantity::from_nano(0, D).to_string(), "0");
    assert_eq!(Quantity::from_parts(10800, -10, D).expect("ok").to_string(), "1080n");
    assert_eq!(Quantity::from_parts(10800, -12, D).expect("ok").to_string(), "11n");
    assert_eq!(Quantity::from_parts(10800, -13, D).expect("ok").to_string(), "2n");
    assert_eq!(Quantity::from_parts(-1, -12, D).expect("ok").to_string(), "-1n");
    assert!(Quantity::from_parts(1, 1001, D).is_err());
}

#[test]
fn floats() {
    assert_eq!(q("1500m").as_f64(), 1.5);
    assert_eq!(q("250264852n").as_f64(), 0.250264852);
    assert_eq!(q("8318172Ki").as_f64(), 8517808128.0);
    assert_eq!(q("1e300").as_f64(), 1e300);
    assert_eq!(q("-123456789012345678901234567890").as_f64(), -1.2345678901234568e29);
    assert_eq!(q("1e1000").as_f64(), f64::INFINITY);
}

#[test]
fn json_strings_numbers_null_and_whitespace() {
    // TestJSONWhitespace
    for (json, want) in [
        (r#"" 1""#, "1"),
        (r#""1 ""#, "1"),
        ("1", "1"),
        (" 1", "1"),
        ("1 ", "1"),
        ("10", "10"),
        ("-1", "-1"),
        (" -1", "-1"),
        ("1.5", "1500m"),
        ("null", "0"),
        (r#""1.5Gi""#, "1536Mi"),
        ("18446744073709551615", "18446744073709551615"),
        ("0.1", "100m"),
    ] {
        let got: Quantity = serde_json::from_str(json).unwrap_or_else(|e| panic!("{json}: {e}"));
        assert_eq!(got.to_string(), want, "{json}");
    }
    assert_eq!(serde_json::to_string(&q("1.5Gi")).expect("ser"), r#""1536Mi""#);
    let e = serde_json::from_str::<Quantity>(r#""1K""#).expect_err("bad");
    assert!(e.to_string().contains("unknown suffix"), "{e}");
    assert!(serde_json::from_str::<Quantity>("true").is_err());
}

#[test]
fn display_pads_and_debug_shows_canonical() {
    assert_eq!(format!("{:>6}|", q("1500m")), " 1500m|");
    assert_eq!(format!("{:?}", q("1.5Gi")), r#"Quantity("1536Mi")"#);
}

#[test]
fn plain_decimals() {
    for (s, want) in [("250264852n", "0.250264852"), ("1Ki", "1024"), ("-1500m", "-1.5"), ("0", "0"), ("1e3", "1000"), ("1n", "0.000000001"), ("12.5", "12.5")]
    {
        assert_eq!(q(s).to_plain_decimal(), want, "{s}");
    }
}

#[test]
fn long_inputs_whose_value_rounds_short_parse() {
    let zeros = |n: usize| "0".repeat(n);
    let nines = |n: usize| "9".repeat(n);
    // More than 38 significant digits written, few left after rounding up to nano.
    // The expected values are what apimachinery v0.37.2 gives.
    let cases = [
        (format!("1.{}Ki", zeros(80)), "1024".to_string()),
        (format!("1.{}Ei", zeros(200)), "1152921504606846976".to_string()),
        (format!("1.{}1Ki", zeros(80)), "1024.000000001".to_string()),
        (format!("-0.{}1Ei", zeros(60)), "-0.000000001".to_string()),
        (format!("{}.{}", nines(32), nines(10)), format!("1{}", zeros(32))),
        (format!("-{}.{}", nines(32), nines(10)), format!("-1{}", zeros(32))),
        (format!("{}.{}k", nines(41), nines(13)), format!("1{}", zeros(44))),
        (format!("12{}.{}5", nines(40), nines(9)), format!("13{}", zeros(40))),
        (format!("0.{}", nines(40)), "1".to_string()),
    ];
    for (input, want) in &cases {
        assert_eq!(q(input).to_plain_decimal(), *want, "{input}");
    }
    assert_eq!(q(&cases[0].0).to_string(), "1Ki");
    assert_eq!(q(&cases[2].0).to_string(), "1024000000001n");
    // Significant digits that survive rounding are still too many.
    for input in [format!("1{}1", zeros(38)), format!("{}.{}5", nines(30), nines(8)), format!("{}1", nines(38)), format!("{}n", nines(45))] {
        let e = Quantity::parse(&input).expect_err(&input);
        assert!(e.to_string().ends_with("more than 38 significant digits"), "{input}: {e}");
    }
}

#[test]
fn binary_values_above_the_cap_are_capped_with_or_without_a_fraction() {
    let cap = i64::MAX as i128;
    for input in [
        "8.1Ei",
        "9223372036854775.806Ki",
        "8.00000000000000000000001Ei",
        "9007199254740991.99999Ki",
        "8796093022208.5Mi",
        "100000000000000000000.5Ki",
        &format!("1{}Ki", "0".repeat(90)),
        &format!("1{}.5Mi", "0".repeat(90)),
        &format!("{}.{}Mi", "9".repeat(38), "9".repeat(12)),
    ] {
        let got = q(input);
        assert_eq!((got.value(), got.format()), (Some(cap), B), "{input}");
        assert_eq!(got.to_string(), "9223372036854775807", "{input}");
        let neg = q(&format!("-{input}"));
        assert_eq!((neg.value(), neg.to_string()), (Some(-cap), "-9223372036854775807".to_string()), "-{input}");
    }
    // Just below the cap: kept exactly, fraction and all (values from apimachinery v0.37.2).
    assert_eq!(q("9007199254740991.99Ki").to_plain_decimal(), "9223372036854775797.76");
    assert_eq!(q("9007199254740991.999Ki").to_string(), "9223372036854775806976m");
    assert_eq!(q("7.99999999999999999Ei").to_plain_decimal(), "9223372036854775796.470784954");
    assert_eq!(q("9223372036854775807Ki").value(), Some(cap));
}

#[test]
fn long_canonical_forms_fall_back_from_the_stack() {
    // Past 64 bytes of text the stack buffer gives way to a String: same text either way.
    let huge = format!("1{}", "0".repeat(100));
    for s in [huge.as_str(), "1e100", "123456789012345678901234567890123456789", "-1e60", "250264852n", "8318172Ki", "0"] {
        let q: Quantity = s.parse().expect("parses");
        let canonical = q.canonical();
        assert_eq!(q.to_string(), canonical);
        assert_eq!(serde_json::to_string(&q).expect("json"), format!("\"{canonical}\""));
        assert_eq!(format!("{q:>80}"), format!("{canonical:>80}"), "padding still applies");
    }
    assert!(huge.parse::<Quantity>().expect("parses").canonical().len() > 64);
}
