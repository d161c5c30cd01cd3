//! [`Quantity`]: the exact Kubernetes `resource.Quantity`.

mod arith;
mod format;
mod milli;
mod parse;
mod serde_impl;

pub use milli::milli_value_of;

use crate::error::{Error, ErrorKind, Result};
use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::str::FromStr;

/// Largest power of ten a quantity may reach (`|value| < 10^(MAX_EXPONENT + 1)`).
///
/// apimachinery has no bound and hangs on inputs such as `1e2147483647`; kubemetrics refuses
/// anything above 10^1000 at once, with an error.
pub const MAX_EXPONENT: i32 = 1000;

/// How a quantity prefers to be printed, kept from the string it was parsed from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Format {
    /// Powers of ten with SI suffixes: `n u m "" k M G T P E` (`1500m`, `5G`).
    #[default]
    DecimalSI,
    /// Powers of two with IEC suffixes: `Ki Mi Gi Ti Pi Ei` (`128Mi`).
    BinarySI,
    /// Scientific notation with a multiple-of-three exponent: `12e6`.
    DecimalExponent,
}

impl Format {
    /// The name apimachinery uses for this format (`"DecimalSI"`, `"BinarySI"`, `"DecimalExponent"`).
    pub fn as_str(self) -> &'static str {
        match self {
            Format::DecimalSI => "DecimalSI",
            Format::BinarySI => "BinarySI",
            Format::DecimalExponent => "DecimalExponent",
        }
    }
}

/// An exact Kubernetes resource quantity (`"250264852n"`, `"8318172Ki"`, `"1.5"`, `"12e6"`).
///
/// The value is a decimal number rounded up (away from zero) to a multiple of 10^-9, exactly as
/// k8s.io/apimachinery's `resource.ParseQuantity` does, plus the [`Format`] it prints in. Equality,
/// ordering and hashing look at the value only: `"1"`, `"1000m"` and `"1e0"` are equal.
///
/// Where apimachinery misbehaves, kubemetrics is right and says so (the differential test
/// `core/tests/quantity_vs_go.rs` runs both on over 100,000 inputs and lists these in one place):
/// - a DecimalSI value beyond the `E` suffix prints with `E` (`1000E` prints `1000E`, where
///   apimachinery, v0.37.2 included, drops the exponent and prints `1`); likewise BinarySI
///   beyond `Ei` prints `1024Ei`;
/// - the canonical form is always printed, where Go's `String()` echoes an input it takes for
///   canonical (`+1Ki`, `01`);
/// - the integer accessors ([`value`](Self::value), [`milli_value`](Self::milli_value)) return
///   `None` instead of wrapping when the value does not fit;
/// - they round away from zero for negative values too (`-0.1n` has value `-1`, like `-1.5`
///   has `-2`), where Go's `Value()` of a negative value it keeps as a big decimal is off
///   (`1` for `-0.1n`) or plain garbage once its nanos pass 2^63;
/// - inputs Go reads as zero (`"."`, `"+"`, `"m"`, `"Ki"`) are errors, and so are exponents
///   beyond ±(2^31−1) (Go keeps their low 32 bits) and magnitudes from 10^1001 up (Go's cost
///   grows with the exponent, up to never returning for `1e2147483647`);
/// - values whose significant digits, once rounded up to nano, do not fit an `i128` (more than
///   38 digits) are refused when parsed (Go keeps them as big decimals; no Kubernetes object
///   carries such values). Only the rounded value counts: `1.000…000Ki` with 80 zeros is `1Ki`.
///
/// As in apimachinery, a BinarySI value above 2^63−1 is capped there, fraction or not
/// (`9Ei`, `8.1Ei` and `9223372036854775.806Ki` are all `9223372036854775807`).
///
/// ```
/// use kubemetrics::Quantity;
/// let cpu: Quantity = "250264852n".parse()?;
/// assert_eq!(cpu.milli_value(), Some(251));
/// let mem: Quantity = "1.5Gi".parse()?;
/// assert_eq!(mem.to_string(), "1536Mi");
/// assert_eq!("1.5".parse::<Quantity>()?.to_string(), "1500m");
/// # Ok::<(), kubemetrics::Error>(())
/// ```
#[derive(Clone, Copy)]
pub struct Quantity {
    /// Signed digits with no trailing zero (0 only for zero).
    mantissa: i128,
    /// Power of ten of the mantissa, at least -9 (0 for zero).
    exponent: i32,
    format: Format,
}

impl Quantity {
    /// Zero, printed `"0"`.
    pub const ZERO: Quantity = Quantity { mantissa: 0, exponent: 0, format: Format::DecimalSI };

    /// Parses a quantity string with apimachinery's grammar and rounding.
    ///
    /// Errors (kind [`ErrorKind::Quantity`]) say what was wrong and show the input.
    pub fn parse(s: &str) -> Result<Quantity> {
        parse::parse(s)
    }

    /// `mantissa * 10^exponent`, rounded up (away from zero) to nano, printed in `format`.
    ///
    /// Fails when the value needs more than 38 significant digits or exceeds 10^1000.
    pub fn from_parts(mantissa: i128, exponent: i32, format: Format) -> Result<Quantity> {
        let negative = mantissa < 0;
        let (mut m, mut e) = (mantissa.unsigned_abs(), exponent as i64);
        if e < -9 && m != 0 {
            let drop = (-9 - e) as u32;
            let (q, r) = match parse::pow10_u128(drop) {
                Some(p) => (m / p, m % p),
                None => (0, m),
            };
            m = q + u128::from(r != 0);
            e = -9;
        }
        let (m, e) = parse::normalize(m, e);
        Self::from_magnitude(negative, m, e, format)
    }

    pub(crate) fn from_magnitude(negative: bool, m: u128, e: i64, format: Format) -> Result<Quantity> {
        if m == 0 {
            return Ok(Quantity { mantissa: 0, exponent: 0, format });
        }
        let out_of_range = || Error::new(ErrorKind::Quantity, "quantity out of range (more than 38 significant digits or beyond 10^1000)");
        if e + parse::digits(m) as i64 > MAX_EXPONENT as i64 + 1 {
            return Err(out_of_range());
        }
        let m = i128::try_from(m).map_err(|_| out_of_range())?;
        Ok(Quantity { mantissa: if negative { -m } else { m }, exponent: e as i32, format })
    }

    /// A whole number of units (`Quantity::from_int(2, Format::DecimalSI)` is `"2"`).
    pub fn from_int(value: i64, format: Format) -> Quantity {
        Self::exact(value as i128, 0, format)
    }

    /// A number of thousandths (`Quantity::from_milli(1500, Format::DecimalSI)` is `"1500m"`).
    pub fn from_milli(milli: i64, format: Format) -> Quantity {
        Self::exact(milli as i128, -3, format)
    }

    /// A number of billionths (`Quantity::from_nano(250264852, Format::DecimalSI)` is `"250264852n"`).
    pub fn from_nano(nano: i64, format: Format) -> Quantity {
        Self::exact(nano as i128, -9, format)
    }

    /// For values known to fit (at most 20 digits, exponent within -9..=0).
    fn exact(m: i128, e: i32, format: Format) -> Quantity {
        let (mag, exp) = parse::normalize(m.unsigned_abs(), e as i64);
        let mag = mag as i128;
        Quantity { mantissa: if m < 0 { -mag } else { mag }, exponent: exp as i32, format }
    }

    /// The preferred print format.
    pub fn format(&self) -> Format {
        self.format
    }

    /// The same value, printed in another format.
    pub fn with_format(self, format: Format) -> Quantity {
        Quantity { format, ..self }
    }

    /// `true` for zero.
    pub fn is_zero(&self) -> bool {
        self.mantissa == 0
    }

    /// -1, 0 or 1.
    pub fn signum(&self) -> i32 {
        self.mantissa.signum() as i32
    }

    /// The value as `(mantissa, exponent)`: `mantissa * 10^exponent`, mantissa without trailing zeros.
    pub fn to_parts(&self) -> (i128, i32) {
        (self.mantissa, self.exponent)
    }

    /// The value scaled by `10^-scale` and rounded up (away from zero) to an integer, or `None`
    /// when that integer does not fit an `i128`. `scaled_value(0)` is [`value`](Self::value),
    /// `scaled_value(-3)` is [`milli_value`](Self::milli_value), `scaled_value(-9)` is nanos.
    pub fn scaled_value(&self, scale: i32) -> Option<i128> {
        if self.mantissa == 0 {
            return Some(0);
        }
        let shift = self.exponent as i64 - scale as i64;
        if shift >= 0 {
            let p = 10i128.checked_pow(u32::try_from(shift).ok()?)?;
            return self.mantissa.checked_mul(p);
        }
        let down = (-shift) as u32;
        let Some(p) = 10i128.checked_pow(down) else {
            return Some(self.mantissa.signum());
        };
        let (q, r) = (self.mantissa / p, self.mantissa % p);
        Some(if r == 0 { q } else { q + self.mantissa.signum() })
    }

    /// Whole units, rounded up (away from zero); `None` when the value does not fit an `i128`.
    pub fn value(&self) -> Option<i128> {
        self.scaled_value(0)
    }

    /// Thousandths, rounded up (away from zero); `None` when they do not fit an `i128`.
    /// For CPU this is millicores: `250264852n` gives 251, as `kubectl top` shows `251m`.
    pub fn milli_value(&self) -> Option<i128> {
        self.scaled_value(-3)
    }

    /// The nearest `f64` (correctly rounded).
    pub fn as_f64(&self) -> f64 {
        let m = self.mantissa;
        let e = self.exponent;
        if m.unsigned_abs() < (1u128 << 53) && (-22..=22).contains(&e) {
            let mf = m as f64;
            let p = [1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22]
                [e.unsigned_abs() as usize];
            return if e >= 0 { mf * p } else { mf / p };
        }
        format!("{m}e{e}").parse().unwrap_or(f64::NAN)
    }

    /// The exact value as a plain decimal number, without suffix or exponent
    /// (`"250264852n"` gives `"0.250264852"`, `"1Ki"` gives `"1024"`, `"-1500m"` gives `"-1.5"`).
    pub fn to_plain_decimal(&self) -> String {
        let mut digits = self.mantissa.unsigned_abs().to_string();
        let sign = if self.mantissa < 0 { "-" } else { "" };
        if self.exponent >= 0 {
            digits.extend(std::iter::repeat_n('0', self.exponent as usize));
            return format!("{sign}{digits}");
        }
        let frac = (-self.exponent) as usize;
        if digits.len() <= frac {
            let zeros = "0".repeat(frac - digits.len());
            return format!("{sign}0.{zeros}{digits}");
        }
        let (int, rest) = digits.split_at(digits.len() - frac);
        format!("{sign}{int}.{rest}")
    }

    /// The canonical string (also what `Display` prints).
    pub fn canonical(&self) -> String {
        let mut s = String::with_capacity(24);
        let _ = self.write_canonical(&mut s);
        s
    }
}

impl FromStr for Quantity {
    type Err = Error;
    fn from_str(s: &str) -> Result<Quantity> {
        parse::parse(s)
    }
}

impl TryFrom<&str> for Quantity {
    type Error = Error;
    fn try_from(s: &str) -> Result<Quantity> {
        parse::parse(s)
    }
}

impl Default for Quantity {
    fn default() -> Self {
        Quantity::ZERO
    }
}

impl fmt::Display for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.with_canonical(|s| f.pad(s))
    }
}

impl fmt::Debug for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Quantity({:?})", self.canonical())
    }
}

impl PartialEq for Quantity {
    fn eq(&self, other: &Self) -> bool {
        self.mantissa == other.mantissa && self.exponent == other.exponent
    }
}
impl Eq for Quantity {}

impl Hash for Quantity {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.mantissa.hash(state);
        self.exponent.hash(state);
    }
}

impl PartialOrd for Quantity {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Quantity {
    fn cmp(&self, other: &Self) -> Ordering {
        let (sa, sb) = (self.mantissa.signum(), other.mantissa.signum());
        if sa != sb || sa == 0 {
            return sa.cmp(&sb);
        }
        let magnitude = cmp_magnitude(self, other);
        if sa > 0 { magnitude } else { magnitude.reverse() }
    }
}

/// Compares absolute values.
fn cmp_magnitude(a: &Quantity, b: &Quantity) -> Ordering {
    let (ma, mb) = (a.mantissa.unsigned_abs(), b.mantissa.unsigned_abs());
    let top_a = a.exponent as i64 + parse::digits(ma) as i64;
    let top_b = b.exponent as i64 + parse::digits(mb) as i64;
    if top_a != top_b {
        return top_a.cmp(&top_b);
    }
    // Same number of integer digits: aligning the one with the larger exponent cannot overflow.
    match a.exponent.cmp(&b.exponent) {
        Ordering::Equal => ma.cmp(&mb),
        Ordering::Greater => match ma.checked_mul(10u128.pow((a.exponent - b.exponent) as u32)) {
            Some(x) => x.cmp(&mb),
            None => Ordering::Greater,
        },
        Ordering::Less => match mb.checked_mul(10u128.pow((b.exponent - a.exponent) as u32)) {
            Some(x) => ma.cmp(&x),
            None => Ordering::Less,
        },
    }
}

#[cfg(test)]
mod tests;
