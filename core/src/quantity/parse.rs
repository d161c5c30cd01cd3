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
pub(super) enum Scale {
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
                self.pending_zeros = self.pending_zeros.saturating_add(1);
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
    // Most magnitudes fit 64 bits, where dividing by ten is a multiplication (not a call to the
    // 128-bit division routine).
    if let Ok(mut small) = u64::try_from(m) {
        while small.is_multiple_of(10) {
            small /= 10;
            e += 1;
        }
        return (u128::from(small), e);
    }
    while m.is_multiple_of(10) {
        m /= 10;
        e += 1;
    }
    (m, e)
}

pub(super) fn parse(input: &str) -> Result<Quantity> {
    match plain(input.as_bytes()) {
        Some(q) => Ok(q),
        None => parse_general(input),
    }
}

/// The usual shape of usage values: up to 18 digits, no sign, fraction or exponent, then no
/// suffix or one of `n u m k M G T Ki Mi Gi Ti` (`"250264852n"`, `"8318172Ki"`, `"3m"`,
/// `"12"`), as the number and its scale; `None` for anything else, and for binary values above
/// the cap (the general parser caps those). What [`plain`] and the milli-values read directly.
#[inline(always)]
pub(super) fn plain_number(b: &[u8]) -> Option<(u64, Scale)> {
    let digits = b.iter().take_while(|c| c.is_ascii_digit()).count();
    if digits == 0 || digits > 18 {
        return None;
    }
    let value = b[..digits].iter().fold(0u64, |v, &c| v * 10 + u64::from(c - b'0'));
    let scale = match &b[digits..] {
        b"" => Scale::Decimal(0),
        b"n" => Scale::Decimal(-9),
        b"u" => Scale::Decimal(-6),
        b"m" => Scale::Decimal(-3),
        b"k" => Scale::Decimal(3),
        b"M" => Scale::Decimal(6),
        b"G" => Scale::Decimal(9),
        b"T" => Scale::Decimal(12),
        b"Ki" => Scale::Binary(10),
        b"Mi" => Scale::Binary(20),
        b"Gi" => Scale::Binary(30),
        b"Ti" => Scale::Binary(40),
        _ => return None,
    };
    if let Scale::Binary(bits) = scale
        && value > BINARY_CAP as u64 >> bits
    {
        return None;
    }
    Some((value, scale))
}

/// [`plain_number`] as a quantity: what [`parse_general`] gives for it (a property test holds it
/// to that).
fn plain(b: &[u8]) -> Option<Quantity> {
    let (value, scale) = plain_number(b)?;
    let format = match scale {
        Scale::Decimal(_) => Format::DecimalSI,
        Scale::Binary(_) => Format::BinarySI,
    };
    if value == 0 {
        return Some(Quantity { mantissa: 0, exponent: 0, format });
    }
    let (m, e) = match scale {
        Scale::Decimal(e) => normalize(u128::from(value), e),
        Scale::Binary(bits) => normalize(u128::from(value) << bits, 0),
    };
    Some(Quantity { mantissa: m as i128, exponent: e as i32, format })
}

/// Any quantity of the grammar (see the [module docs](self)).
fn parse_general(input: &str) -> Result<Quantity> {
    let p = split(input)?;
    let (scale, mut format) = interpret_suffix(input, p.suffix)?;
    let too_long = || err(input, "more than 38 significant digits");
    let int_len = p.int_digits.len() as i64;
    let (magnitude, exponent) = match scale {
        Scale::Decimal(suffix_exp) => {
            let top = suffix_exp + int_len - 1;
            let digits = || p.int_digits.iter().chain(p.frac_digits).map(|c| c - b'0');
            let mut acc = NanoAccumulator::new();
            let fast = digits().enumerate().try_for_each(|(i, d)| acc.push(d, top - i as i64)).and_then(|()| acc.finish());
            // More than 38 significant digits written: the exact (slower) path decides.
            fast.or_else(|| round_long_decimal(digits(), top)).ok_or_else(too_long)?
        }
        Scale::Binary(bits) => binary_magnitude(&p, bits),
    };
    let (mut magnitude, mut exponent) = normalize(magnitude, exponent);
    if magnitude != 0 && exponent + (digits(magnitude) as i64) > MAX_EXPONENT as i64 + 1 {
        return Err(err(input, format_args!("magnitude exceeds 10^{}", MAX_EXPONENT + 1)));
    }
    if format == Format::BinarySI && magnitude != 0 {
        if above_binary_cap(magnitude, exponent) {
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

/// `true` when `m * 10^e` (with `m > 0`, `e >= -9`) is above [`BINARY_CAP`].
fn above_binary_cap(m: u128, e: i64) -> bool {
    let cap = BINARY_CAP as u128;
    if e >= 0 {
        // 10^19 alone is above the cap.
        return e >= 19 || m.checked_mul(10u128.pow(e as u32)).is_none_or(|v| v > cap);
    }
    // m / 10^-e > cap exactly when m > cap * 10^-e (cap * 10^9 still fits a u128).
    match pow10_u128((-e) as u32).and_then(|p| cap.checked_mul(p)) {
        Some(limit) => m > limit,
        None => false,
    }
}

/// The exact rounding up to nano of a digit string with more than 38 significant digits, for
/// the inputs the [`NanoAccumulator`] cannot hold: `digits` (most significant first, the first
/// of weight `10^top`) are rounded on the digits themselves. `None` when the rounded value
/// still has too many significant digits for a u128; `Some` when the round-up carried it to a
/// short one (`99…9.9999999999` is `10…0`).
fn round_long_decimal(digits: impl Iterator<Item = u8>, top: i64) -> Option<(u128, i64)> {
    // Digits of weight >= 10^-9, from the first non-zero one on.
    let mut kept: Vec<u8> = Vec::new();
    let mut last_weight = 0i64;
    let mut sticky = false;
    for (i, d) in digits.enumerate() {
        let weight = top - i as i64;
        if weight < -9 {
            if d != 0 {
                sticky = true;
                break;
            }
            continue;
        }
        if kept.is_empty() && d == 0 {
            continue;
        }
        kept.push(d);
        last_weight = weight;
    }
    if sticky {
        if kept.is_empty() {
            return Some((1, -9));
        }
        // Something was written below nano, so the kept digits run down to 10^-9: add 1n.
        let mut carry = true;
        for d in kept.iter_mut().rev() {
            if *d == 9 {
                *d = 0;
            } else {
                *d += 1;
                carry = false;
                break;
            }
        }
        if carry {
            kept.insert(0, 1);
        }
    }
    while kept.last() == Some(&0) {
        kept.pop();
        last_weight += 1;
    }
    if kept.is_empty() {
        return Some((0, 0));
    }
    // The same limit as the fast path: what a u128 holds (the caller then asks for an i128).
    let m = kept.iter().try_fold(0u128, |m, &d| m.checked_mul(10)?.checked_add(d as u128))?;
    Some((m, last_weight))
}

/// Number of decimal digits of `m` (1 for 0).
pub(super) fn digits(m: u128) -> u32 {
    if m == 0 { 1 } else { m.ilog10() + 1 }
}

/// `digits * 2^bits / 10^frac_len`, rounded up to nano, exactly, via a little decimal big number.
/// Values above [`BINARY_CAP`] come back as `u128::MAX` (the caller caps them).
fn binary_magnitude(p: &Pieces<'_>, bits: u32) -> (u128, i64) {
    const ABOVE_CAP: (u128, i64) = (u128::MAX, 0);
    let int_digits = trim_start_zeros(p.int_digits);
    let frac_digits = trim_end_zeros(p.frac_digits);
    // Twenty integer digits are at least 10^19, above the cap before any scaling.
    if int_digits.len() > 19 {
        return ABOVE_CAP;
    }
    // Fast path: an integer (below 10^19, times at most 2^60: it fits a u128).
    if frac_digits.is_empty() {
        let v = int_digits.iter().fold(0u128, |v, &c| v * 10 + (c - b'0') as u128);
        return (v << bits, 0);
    }
    // Fraction digits past 10^-(bits + 9) only matter through whether one of them is non-zero:
    // with the value D = B / 10^k + rest (0 < rest < 10^-k, k = bits + 9), every multiple of
    // 10^-9 is a multiple of 2^bits / 10^k too, so no multiple of 10^-9 lies strictly between
    // D * 2^bits and (B + 1) * 2^bits / 10^k, and rounding D * 2^bits up to nano gives the same
    // result for any such rest: a single 1 just past digit k stands for all of them.
    let keep = bits as usize + 9;
    let (frac_digits, sticky) = if frac_digits.len() > keep { (&frac_digits[..keep], true) } else { (frac_digits, false) };
    let frac_len = frac_digits.len() + usize::from(sticky);
    // Decimal digits, least significant first, doubled `bits` times.
    let mut ds: Vec<u8> = Vec::with_capacity(int_digits.len() + frac_len + 20);
    if sticky {
        ds.push(1);
    }
    ds.extend(int_digits.iter().chain(frac_digits).rev().map(|c| c - b'0'));
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
    let int_len = ds.len() as i64 - frac_len as i64;
    if int_len > 19 {
        return ABOVE_CAP;
    }
    // At most 19 integer and 9 fraction digits reach the accumulator: it cannot overflow.
    let mut acc = NanoAccumulator::new();
    for (i, &d) in ds.iter().rev().enumerate() {
        if acc.push(d, int_len - 1 - i as i64).is_none() {
            return ABOVE_CAP;
        }
    }
    acc.finish().unwrap_or(ABOVE_CAP)
}

fn trim_start_zeros(digits: &[u8]) -> &[u8] {
    let first = digits.iter().position(|&c| c != b'0').unwrap_or(digits.len());
    &digits[first..]
}

fn trim_end_zeros(digits: &[u8]) -> &[u8] {
    let end = digits.iter().rposition(|&c| c != b'0').map_or(0, |i| i + 1);
    &digits[..end]
}

#[cfg(test)]
mod plain_tests {
    use super::*;
    use proptest::prelude::*;

    /// A parse's fields, not only its value: the format and the stored digits must match too.
    fn parts(q: Result<Quantity>) -> std::result::Result<(i128, i32, Format), String> {
        q.map(|q| (q.mantissa, q.exponent, q.format)).map_err(|e| e.to_string())
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 20_000, ..ProptestConfig::default() })]

        /// The direct reading of plain quantities gives what the general parser gives.
        #[test]
        fn plain_quantities_read_as_the_grammar_says(text in "[0-9]{1,20}(n|u|m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei|)") {
            let general = parts(parse_general(&text));
            prop_assert_eq!(parts(parse(&text)), general.clone());
            if let Some(q) = plain(text.as_bytes()) {
                prop_assert_eq!(parts(Ok(q)), general);
            }
        }
    }

    #[test]
    fn plain_edges() {
        for text in ["0", "0Ki", "000", "1", "999999999999999999", "9999999999999999999", "8388607Ti", "8388608Ti", "250264852n", "1000m", "10Gi"] {
            assert_eq!(parts(parse(text)), parts(parse_general(text)), "{text}");
        }
        assert!(plain(b"8388608Ti").is_none(), "above the binary cap: the general path caps it");
    }
}
