//! [`GoDuration`]: a `metav1.Duration`, written the way Go's `time.Duration.String()` writes it.

use crate::error::{Error, ErrorKind, Result};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// A signed span of time in nanoseconds, serialized in Go duration syntax (`"30s"`,
/// `"14.982s"`, `"1m0s"`, `"1h2m3.5s"`, `"500ms"`), as the `window` of metrics objects is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct GoDuration(pub i64);

impl GoDuration {
    /// From whole seconds.
    pub const fn from_secs(secs: i64) -> Self {
        GoDuration(secs * 1_000_000_000)
    }

    /// From milliseconds.
    pub const fn from_millis(ms: i64) -> Self {
        GoDuration(ms * 1_000_000)
    }

    /// Nanoseconds.
    pub const fn as_nanos(self) -> i64 {
        self.0
    }

    /// As a `std::time::Duration` (negative spans become zero).
    pub fn to_std(self) -> Duration {
        Duration::from_nanos(self.0.max(0) as u64)
    }

    /// Seconds as a float.
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / 1e9
    }
}

impl From<Duration> for GoDuration {
    fn from(d: Duration) -> Self {
        GoDuration(i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
    }
}

/// Writes `v / 10^prec` with the fraction's trailing zeros (and a bare point) removed.
fn write_frac(out: &mut String, v: u64, prec: u32) {
    let p = 10u64.pow(prec);
    out.push_str(&(v / p).to_string());
    let frac = v % p;
    if frac != 0 {
        let digits = format!("{:0width$}", frac, width = prec as usize);
        out.push('.');
        out.push_str(digits.trim_end_matches('0'));
    }
}

impl fmt::Display for GoDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = String::with_capacity(16);
        if self.0 < 0 {
            out.push('-');
        }
        let u = self.0.unsigned_abs();
        if u == 0 {
            out.push_str("0s");
        } else if u < 1_000 {
            out.push_str(&format!("{u}ns"));
        } else if u < 1_000_000 {
            write_frac(&mut out, u, 3);
            out.push_str("µs");
        } else if u < 1_000_000_000 {
            write_frac(&mut out, u, 6);
            out.push_str("ms");
        } else {
            let hours = u / 3_600_000_000_000;
            let minutes = (u / 60_000_000_000) % 60;
            let secs_nanos = u % 60_000_000_000;
            if hours > 0 {
                out.push_str(&format!("{hours}h"));
            }
            if hours > 0 || minutes > 0 {
                out.push_str(&format!("{minutes}m"));
            }
            write_frac(&mut out, secs_nanos, 9);
            out.push('s');
        }
        f.pad(&out)
    }
}

impl FromStr for GoDuration {
    type Err = Error;

    /// Parses Go duration syntax: `[-+]` then one or more `number unit` with units
    /// `ns us µs ms s m h` (`"1h2m"`, `"1.5s"`, `"300ms"`), or a bare `"0"`.
    fn from_str(s: &str) -> Result<Self> {
        let bad = |why: &str| Error::new(ErrorKind::Api, format!("invalid duration {s:?}: {why}"));
        let (neg, mut rest) = match s.as_bytes().first() {
            Some(b'-') => (true, &s[1..]),
            Some(b'+') => (false, &s[1..]),
            _ => (false, s),
        };
        if rest == "0" {
            return Ok(GoDuration(0));
        }
        if rest.is_empty() {
            return Err(bad("empty"));
        }
        let mut total: i128 = 0;
        while !rest.is_empty() {
            let num_end = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).ok_or_else(|| bad("missing unit"))?;
            let (num, tail) = rest.split_at(num_end);
            if num.is_empty() || num == "." {
                return Err(bad("expected a number"));
            }
            let unit_end = tail.find(|c: char| c.is_ascii_digit() || c == '.').unwrap_or(tail.len());
            let (unit, tail) = tail.split_at(unit_end);
            let scale: i128 = match unit {
                "ns" => 1,
                "us" | "µs" | "μs" => 1_000,
                "ms" => 1_000_000,
                "s" => 1_000_000_000,
                "m" => 60_000_000_000,
                "h" => 3_600_000_000_000,
                _ => return Err(bad("unknown unit")),
            };
            let (int, frac) = num.split_once('.').unwrap_or((num, ""));
            if frac.contains('.') {
                return Err(bad("more than one decimal point"));
            }
            let int: i128 = if int.is_empty() { 0 } else { int.parse().map_err(|_| bad("number too large"))? };
            let mut part = int.checked_mul(scale).ok_or_else(|| bad("overflow"))?;
            let mut place = scale;
            for c in frac.bytes().take(30) {
                place /= 10;
                part += (c - b'0') as i128 * place;
            }
            total += part;
            if total > i64::MAX as i128 {
                return Err(bad("overflow"));
            }
            rest = tail;
        }
        Ok(GoDuration(if neg { -(total as i64) } else { total as i64 }))
    }
}

impl Serialize for GoDuration {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for GoDuration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_strings() {
        let cases: &[(i64, &str)] = &[
            (0, "0s"),
            (1, "1ns"),
            (1_100, "1.1µs"),
            (2_200_000, "2.2ms"),
            (3_300_000_000, "3.3s"),
            (30_000_000_000, "30s"),
            (14_982_000_000, "14.982s"),
            (60_000_000_000, "1m0s"),
            (4 * 60_000_000_000 + 5_000_000_000, "4m5s"),
            (3_600_000_000_000 + 60_000_000_000 + 1_000_000, "1h1m0.001s"),
            (-1_000_000_000, "-1s"),
            (20_002_000_000, "20.002s"),
            (i64::MAX, "2562047h47m16.854775807s"),
        ];
        for &(n, s) in cases {
            assert_eq!(GoDuration(n).to_string(), s);
            assert_eq!(s.parse::<GoDuration>().expect(s), GoDuration(n), "{s}");
        }
        assert_eq!("1.5h".parse::<GoDuration>().expect("1.5h"), GoDuration(5_400_000_000_000));
        assert_eq!("300ms".parse::<GoDuration>().expect("ms"), GoDuration::from_millis(300));
        for bad in ["", "1", "s", "1x", "-", "1.s.", "99999999999h", "1.5.3s", "0..9ms"] {
            assert!(bad.parse::<GoDuration>().is_err(), "{bad}");
        }
    }
}
