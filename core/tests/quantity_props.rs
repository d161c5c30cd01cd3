//! Property tests (the fuzz target of the quantity parser): parsing never panics, and
//! parse -> canonical -> parse is the identity on the value.

use kubemetrics::{ErrorKind, Quantity};
use proptest::prelude::*;

fn quantity_like() -> impl Strategy<Value = String> {
    let sign = prop_oneof![Just(""), Just("-"), Just("+")];
    let int = "[0-9]{0,25}";
    let frac = prop_oneof![Just(String::new()), "\\.[0-9]{0,15}".prop_map(|s| s)];
    let suffix = prop_oneof![
        Just(String::new()),
        Just("n".into()),
        Just("u".into()),
        Just("m".into()),
        Just("k".into()),
        Just("M".into()),
        Just("G".into()),
        Just("T".into()),
        Just("P".into()),
        Just("E".into()),
        Just("Ki".into()),
        Just("Mi".into()),
        Just("Gi".into()),
        Just("Ti".into()),
        Just("Pi".into()),
        Just("Ei".into()),
        (prop_oneof![Just("e"), Just("E")], prop_oneof![Just(""), Just("-"), Just("+")], 0i64..40).prop_map(|(e, s, n)| format!("{e}{s}{n}")),
    ];
    (sign, int, frac, suffix).prop_map(|(s, i, f, x)| format!("{s}{i}{f}{x}"))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 4000, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_strings_never_panic(s in "\\PC{0,40}") {
        if let Err(e) = Quantity::parse(&s) {
            prop_assert_eq!(e.kind(), ErrorKind::Quantity);
        }
    }

    #[test]
    fn canonical_round_trips(s in quantity_like()) {
        if let Ok(q) = Quantity::parse(&s) {
            let canonical = q.to_string();
            let again = Quantity::parse(&canonical).map_err(|e| TestCaseError::fail(format!("{s} -> {canonical}: {e}")))?;
            prop_assert_eq!(again, q, "{} -> {}", s, canonical);
            prop_assert_eq!(again.to_string(), canonical.clone(), "canonical form is stable for {}", s);
        }
    }

    #[test]
    fn sums_are_exact(a in -1_000_000_000_000i64..1_000_000_000_000, b in -1_000_000_000_000i64..1_000_000_000_000) {
        let qa = Quantity::from_nano(a, kubemetrics::Format::DecimalSI);
        let qb = Quantity::from_nano(b, kubemetrics::Format::DecimalSI);
        prop_assert_eq!((qa + qb).scaled_value(-9), Some(a as i128 + b as i128));
        prop_assert_eq!((qa - qb).scaled_value(-9), Some(a as i128 - b as i128));
        prop_assert_eq!(qa.cmp(&qb), a.cmp(&b));
    }
}
