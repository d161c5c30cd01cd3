//! The quantity grammar of k8s.io/apimachinery, with nano rounding, done without big integers.
//!
//! ```text
//! quantity ::= [sign] digits [ "." digits ] [ suffix ]   (at least one digit in all)
//! suffix   ::= "n" | "u" | "m" | "" | "k" | "M" | "G" | "T" | "P" | "E"
//!            | "Ki" | "Mi" | "Gi" | "Ti" | "Pi" | "Ei"
//!            | ("e" | "E") [sign] digits
//! ```

use super::{Format, MAX_EXPONENT, Quantity};
use crate::error::{Error, ErrorKind, Result};

/// The largest value a BinarySI quantity may hold after parsing (apimachinery caps it there).
const BINARY_CAP: i128 = i64::MAX as i128;

fn err(input: &str, why: impl std::fmt::Display) -> Error {
    Error::new(ErrorKind::Quantity, format!("invalid quantity {input:?}: {why}"))
}

/// The pieces of a quantity string, as byte slices of the input.
struct Pieces<'a> {
    negative: bool,
    int_digits: &'a [u8],
    frac_digits: &'a [u8],
    suffix: &'a [u8],
}

fn split(input: &str) -> Result<Pieces<'_>> {
    let b = input.as_bytes();
    if b.is_empty() {
        return Err(err(input, "empty string"));
    }
    let mut pos = 0;
    let mut negative = false;
    match b[0] {
        b'-' => {
            negative = true;
            pos = 1;
        }
        b'+' => pos = 1,
        _ => {}
    }
    let int_start = pos;
    while pos < b.len() && b[pos].is_ascii_digit() {
        pos += 1;
    }
    let int_digits = &b[int_start..pos];
    let mut frac_digits: &[u8] = &[];
    if pos < b.len() && b[pos] == b'.' {
        pos += 1;
        let frac_start = pos;
        while pos < b.len() && b[pos].is_ascii_digit() {
            pos += 1;
        }
        frac_digits = &b[frac_start..pos];
    }
    if int_digits.is_empty() && frac_digits.is_empty() {
        return Err(err(input, "a quantity needs at least one digit"));
    }
    let suffix_start = pos;
    while pos < b.len() && b"eEinumkKMGTP".contains(&b[pos]) {
        pos += 1;
    }
    if pos < b.len() && (b[pos] == b'-' || b[pos] == b'+') {
        pos += 1;
    }
    while pos < b.len() && b[pos].is_ascii_digit() {
        pos += 1;
    }
    if pos != b.len() {
        let rest = &input[suffix_start..];
        return Err(err(input, format_args!("unexpected characters {rest:?} (whitespace is not allowed)")));
    }
    Ok(Pieces { negative, int_digits, frac_digits, suffix: &b[suffix_start..] })
}

/// How a suffix scales the number: `10^exp` or `2^exp`.
enum Scale {
    Decimal(i64),
    Binary(u32),
}

fn interpret_suffix(input: &str, suffix: &[u8]) -> Result<(Scale, Format)> {
    let dec = |e| Ok((Scale::Decimal(e), Format::DecimalSI));
    let bin = |e| Ok((Scale::Binary(e), Format::BinarySI));
    match suffix {
        b"" => dec(0),
        b"n" => dec(-9),
        b"u" => dec(-6),
        b"m" => dec(-3),
        b"k" => dec(3),
        b"M" => dec(6),
        b"G" => dec(9),
        b"T" => dec(12),
        b"P" => dec(15),
        b"E" => dec(18),
        b"Ki" => bin(10),
        b"Mi" => bin(20),
        b"Gi" => bin(30),
        b"Ti" => bin(40),
        b"Pi" => bin(50),
        b"Ei" => bin(60),
        [b'e' | b'E', rest @ ..] if !rest.is_empty() => {
            let text = std::str::from_utf8(rest).unwrap_or_default();
            match text.parse::<i64>() {
                Ok(e) if e.unsigned_abs() <= i32::MAX as u64 => Ok((Scale::Decimal(e), Format::DecimalExponent)),
                Ok(_) | Err(_)
                    if text.trim_start_matches(['+', '-']).bytes().all(|c| c.is_ascii_digit()) && !text.trim_start_matches(['+', '-']).is_empty() =>
                {
                    Err(err(input, format_args!("exponent {text} is out of range")))
                }
                _ => Err(err(input, format_args!("unknown suffix {:?}", String::from_utf8_lossy(suffix)))),
            }
        }
        _ => {
            let s = String::from_utf8_lossy(suffix);
            let hint = match suffix {
                b"K" => " (did you mean \"k\" or \"Ki\"?)",
                b"i" | b"mi" | b"ki" => " (binary suffixes are Ki, Mi, Gi, Ti, Pi, Ei)",
                _ => "",
            };
            Err(err(input, format_args!("unknown suffix {s:?}{hint}")))
        }
    }
}

/// Accumulates decimal digits (most significant first), each with its power-of-ten weight, into
/// an exact `mantissa * 10^exponent` rounded up (away from zero) to a multiple of 10^-9.
struct NanoAccumulator {
    mantissa: u128,
    /// Weight of the last non-zero digit accumulated.
    low_weight: i64,
    /// Zero digits seen since the last non-zero digit (not yet multiplied in).
    pending_zeros: u32,
    /// A non-zero digit below 10^-9 was seen: round up.
    sticky: bool,
}

impl NanoAccumulator {
    fn new() -> Self {
        NanoAccumulator { mantissa: 0, low_weight: 0, pending_zeros: 0, sticky: false }
    }

    #[inline]
    fn push(&mut self, digit: u8, weight: i64) -> Option<()> {
        if weight < -9 {
            self.sticky |= digit != 0;
            return Some(());
        }
        if digit == 0 {
            if self.mantissa != 0 {
                self.pending_zeros += 1;
            }
            return Some(());
        }
        let shift = pow10_u128(self.pending_zeros + 1)?;
        self.mantissa = self.mantissa.checked_mul(shift)?.checked_add(digit as u128)?;
        self.pending_zeros = 0;
        self.low_weight = weight;
        Some(())
    }

    /// The magnitude as `(mantissa, exponent)`, or `None` when it needs more than 38 digits.
    fn finish(self) -> Option<(u128, i64)> {
        if !self.sticky {
            return Some(if self.mantissa == 0 { (0, 0) } else { (self.mantissa, self.low_weight) });
        }
        if self.mantissa == 0 {
            return Some((1, -9));
        }
        let up = u32::try_from(self.low_weight + 9).ok()?;
        let m = self.mantissa.checked_mul(pow10_u128(up)?)?.checked_add(1)?;
        Some((m, -9))
    }
}

pub(super) fn pow10_u128(n: u32) -> Option<u128> {
    10u128.checked_pow(n)
}

/// Strips factors of ten from `m` into the exponent.
pub(super) fn normalize(mut m: u128, mut e: i64) -> (u128, i64) {
    if m == 0 {
        return (0, 0);
    }
    while m % 10 == 0 {
        m /= 10;
        e += 1;
    }
    (m, e)
}

pub(super) fn parse(input: &str) -> Result<Quantity> {
    let p = split(input)?;
    let (scale, mut format) = interpret_suffix(input, p.suffix)?;
    let too_long = || err(input, "more than 38 significant digits");
    let int_len = p.int_digits.len() as i64;
    let (magnitude, exponent) = match scale {
        Scale::Decimal(suffix_exp) => {
            let mut acc = NanoAccumulator::new();
            let top = suffix_exp + int_len - 1;
            for (i, &c) in p.int_digits.iter().chain(p.frac_digits).enumerate() {
                acc.push(c - b'0', top - i as i64).ok_or_else(too_long)?;
            }
            acc.finish().ok_or_else(too_long)?
        }
        Scale::Binary(bits) => binary_magnitude(&p, bits).ok_or_else(too_long)?,
    };
    let (mut magnitude, mut exponent) = normalize(magnitude, exponent);
    if magnitude != 0 && exponent + (digits(magnitude) as i64) > MAX_EXPONENT as i64 + 1 {
        return Err(err(input, format_args!("magnitude exceeds 10^{}", MAX_EXPONENT + 1)));
    }
    if format == Format::BinarySI && magnitude != 0 {
        if exponent >= 0 && exponent < 39 && (magnitude.checked_mul(10u128.pow(exponent as u32))).is_none_or(|v| v > BINARY_CAP as u128) || exponent >= 39 {
            (magnitude, exponent) = (BINARY_CAP as u128, 0);
        } else if exponent < 0 && digits(magnitude) as i64 + exponent <= 0 {
            // Below one: apimachinery prints these as DecimalSI.
            format = Format::DecimalSI;
        }
    }
    if magnitude == 0 {
        return Ok(Quantity { mantissa: 0, exponent: 0, format });
    }
    let mantissa = i128::try_from(magnitude).map_err(|_| too_long())?;
    Ok(Quantity { mantissa: if p.negative { -mantissa } else { mantissa }, exponent: exponent as i32, format })
}

/// Number of decimal digits of `m` (1 for 0).
pub(super) fn digits(m: u128) -> u32 {
    if m == 0 { 1 } else { m.ilog10() + 1 }
}

/// `digits * 2^bits / 10^frac_len`, rounded up to nano, exactly, via a little decimal big number.
fn binary_magnitude(p: &Pieces<'_>, bits: u32) -> Option<(u128, i64)> {
    // Fast path: an integer that fits.
    if p.frac_digits.is_empty() && p.int_digits.len() <= 19 {
        let mut v: u128 = 0;
        for &c in p.int_digits {
            v = v * 10 + (c - b'0') as u128;
        }
        return Some(match v.checked_mul(1u128 << bits) {
            Some(x) => (x, 0),
            None => (u128::MAX, 0), // far above the cap; the caller caps it
        });
    }
    // General path: decimal digits, least significant first, doubled `bits` times.
    let mut ds: Vec<u8> = p.int_digits.iter().chain(p.frac_digits).rev().map(|c| c - b'0').collect();
    while ds.last() == Some(&0) && ds.len() > 1 {
        ds.pop();
    }
    if ds.len() > 80 {
        return None;
    }
    for _ in 0..bits {
        let mut carry = 0u8;
        for d in ds.iter_mut() {
            let x = *d * 2 + carry;
            *d = x % 10;
            carry = x / 10;
        }
        if carry > 0 {
            ds.push(carry);
        }
    }
    // Above the cap (more than 19 integer digits) there is nothing more to know.
    let int_len = ds.len() as i64 - p.frac_digits.len() as i64;
    if int_len > 19 {
        return Some((u128::MAX, 0));
    }
    let mut acc = NanoAccumulator::new();
    for (i, &d) in ds.iter().rev().enumerate() {
        acc.push(d, int_len - 1 - i as i64)?;
    }
    acc.finish()
}
