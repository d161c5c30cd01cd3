//! Flag values checked once, while clap parses the command line, and kubectl's way of rejecting
//! some of them.

use std::time::Duration;

/// A flag value refused with one line, `error: MESSAGE`, and exit status 1, as kubectl refuses
/// e.g. `--sort-by=disk`, rather than with clap's usage error (exit status 2).
///
/// Value parsers return it; `main` recognises it in clap's error and prints it that way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejected(pub String);

impl std::fmt::Display for Rejected {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Rejected {}

/// The [`Rejected`] value behind a clap error, when a value parser refused it that way.
pub fn rejected(e: &clap::Error) -> Option<&Rejected> {
    std::error::Error::source(e).and_then(|source| source.downcast_ref::<Rejected>())
}

/// Implements [`clap::ValueEnum`] for a fieldless enum from `Variant => "name"` pairs, the
/// variants listed in the order `--help` and errors list them.
///
/// Unlike the derive, it does not turn the variants' doc comments into help for each possible
/// value, which would switch the whole `--help` page to clap's long layout.
macro_rules! value_names {
    ($ty:ident { $($variant:ident => $name:literal),+ $(,)? }) => {
        impl clap::ValueEnum for $ty {
            fn value_variants<'a>() -> &'a [Self] {
                &[$($ty::$variant),+]
            }

            fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
                Some(clap::builder::PossibleValue::new(match self {
                    $($ty::$variant => $name),+
                }))
            }
        }
    };
}
pub(crate) use value_names;

/// A Go duration as kubectl's flags take them: `30s`, `1m30s`, `500ms`, `0`.
pub fn go_duration(s: &str) -> Result<Duration, String> {
    s.parse::<kubemetrics::GoDuration>().map(|d| d.to_std()).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Probe {
        #[arg(long, value_parser = |s: &str| if s == "ok" { Ok(1u8) } else { Err(Rejected(format!("no {s}"))) })]
        value: Option<u8>,
        #[arg(long, value_parser = go_duration)]
        every: Option<Duration>,
    }

    #[test]
    fn a_rejected_value_is_found_behind_claps_error() {
        assert_eq!(Probe::try_parse_from(["probe", "--value", "ok"]).map(|p| p.value).ok(), Some(Some(1)));
        let e = Probe::try_parse_from(["probe", "--value", "bad"]).expect_err("rejected");
        assert_eq!(rejected(&e), Some(&Rejected("no bad".into())));
        let e = Probe::try_parse_from(["probe", "--every", "soon"]).expect_err("not a duration");
        assert_eq!(rejected(&e), None, "other value errors stay clap's");
        assert_eq!(Probe::try_parse_from(["probe", "--every", "1m30s"]).map(|p| p.every).ok(), Some(Some(Duration::from_secs(90))));
    }
}
