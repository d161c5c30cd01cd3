//! Exact arithmetic: negation, addition, subtraction.

use super::{Format, Quantity, parse};
use crate::error::{Error, ErrorKind, Result};
use std::iter::Sum;
use std::ops::{Add, AddAssign, Neg, Sub, SubAssign};

/// 10^0 ..= 10^18: `i64::MAX * 10^18 + i64::MAX` is far below `i128::MAX`.
const POW10: [i128; 19] = {
    let mut p = [1i128; 19];
    let mut i = 1;
    while i < 19 {
        p[i] = p[i - 1] * 10;
        i += 1;
    }
    p
};

impl Quantity {
    /// `self + other`, exactly; fails only when the sum needs more than 38 significant digits
    /// or exceeds 10^1000. The result keeps `self`'s format, or `other`'s when `self` is zero
    /// (as apimachinery's `Add` does).
    pub fn checked_add(&self, other: &Quantity) -> Result<Quantity> {
        let format = self.result_format(other);
        if other.mantissa == 0 {
            return Ok(self.with_format(format));
        }
        if self.mantissa == 0 {
            return Ok(other.with_format(format));
        }
        // Usage values: both mantissas within 64 bits and exponents at most 18 apart, where
        // aligning and adding cannot overflow 128 bits (no checked power or product needed).
        if let (Ok(a), Ok(b)) = (i64::try_from(self.mantissa), i64::try_from(other.mantissa))
            && let Some(&scale) = POW10.get(self.exponent.abs_diff(other.exponent) as usize)
        {
            let (high, low) = if self.exponent >= other.exponent { (a, b) } else { (b, a) };
            let sum = i128::from(high) * scale + i128::from(low);
            let e = self.exponent.min(other.exponent);
            let (m, e) = parse::normalize(sum.unsigned_abs(), e as i64);
            return Quantity::from_magnitude(sum < 0, m, e, format);
        }
        self.add_aligned(other, format)
    }

    /// [`checked_add`](Self::checked_add) of two non-zero quantities, for any mantissas and
    /// exponents.
    fn add_aligned(&self, other: &Quantity, format: Format) -> Result<Quantity> {
        let e = self.exponent.min(other.exponent);
        let align = |q: &Quantity| -> Option<i128> {
            let p = 10i128.checked_pow((q.exponent - e) as u32)?;
            q.mantissa.checked_mul(p)
        };
        let sum = align(self).zip(align(other)).and_then(|(a, b)| a.checked_add(b));
        let Some(sum) = sum else {
            return Err(Error::new(ErrorKind::Quantity, format!("{self} + {other} needs more than 38 significant digits")));
        };
        let (m, e) = parse::normalize(sum.unsigned_abs(), e as i64);
        Quantity::from_magnitude(sum < 0, m, e, format)
    }

    /// `self - other`, exactly; see [`checked_add`](Self::checked_add).
    pub fn checked_sub(&self, other: &Quantity) -> Result<Quantity> {
        let format = self.result_format(other);
        self.checked_add(&-*other).map(|q| q.with_format(format))
    }

    fn result_format(&self, other: &Quantity) -> Format {
        if self.mantissa == 0 { other.format } else { self.format }
    }

    /// Rounds up (away from zero) so that the value is a multiple of `10^exponent`.
    fn round_up_to(&self, exponent: i32) -> Quantity {
        if self.mantissa == 0 || self.exponent >= exponent {
            return *self;
        }
        let drop = (exponent - self.exponent) as u32;
        let m = self.mantissa.unsigned_abs();
        let (q, r) = match parse::pow10_u128(drop) {
            Some(p) => (m / p, m % p),
            None => (0, m),
        };
        let (m, e) = parse::normalize(q + u128::from(r != 0), exponent as i64);
        let m = m as i128;
        Quantity { mantissa: if self.mantissa < 0 { -m } else { m }, exponent: e as i32, format: self.format }
    }
}

impl Neg for Quantity {
    type Output = Quantity;
    fn neg(self) -> Quantity {
        Quantity { mantissa: -self.mantissa, ..self }
    }
}

/// Exact addition. A sum that would need more than 38 significant digits (far beyond any
/// Kubernetes value) is rounded up (away from zero) to 38 digits instead of panicking; use
/// [`Quantity::checked_add`] to get an error instead.
impl Add for Quantity {
    type Output = Quantity;
    fn add(self, other: Quantity) -> Quantity {
        let (mut a, mut b) = (self, other);
        loop {
            match a.checked_add(&b) {
                Ok(q) => return q,
                Err(_) if a.exponent.max(b.exponent) >= super::MAX_EXPONENT => {
                    // Saturate at the largest representable magnitude of that sign.
                    let m = if a.signum() + b.signum() < 0 { -1 } else { 1 };
                    return Quantity { mantissa: m, exponent: super::MAX_EXPONENT, format: a.result_format(&b) };
                }
                Err(_) => {
                    let e = a.exponent.min(b.exponent) + 1;
                    a = a.round_up_to(e);
                    b = b.round_up_to(e);
                }
            }
        }
    }
}

/// Exact subtraction; see the note on `Add`.
impl Sub for Quantity {
    type Output = Quantity;
    fn sub(self, other: Quantity) -> Quantity {
        let format = self.result_format(&other);
        (self + -other).with_format(format)
    }
}

impl AddAssign for Quantity {
    fn add_assign(&mut self, other: Quantity) {
        *self = *self + other;
    }
}

impl SubAssign for Quantity {
    fn sub_assign(&mut self, other: Quantity) {
        *self = *self - other;
    }
}

impl Sum for Quantity {
    fn sum<I: Iterator<Item = Quantity>>(iter: I) -> Quantity {
        iter.fold(Quantity::ZERO, |a, b| a + b)
    }
}

impl<'a> Sum<&'a Quantity> for Quantity {
    fn sum<I: Iterator<Item = &'a Quantity>>(iter: I) -> Quantity {
        iter.fold(Quantity::ZERO, |a, b| a + *b)
    }
}

#[cfg(test)]
mod fast_sum_tests {
    use super::*;
    use proptest::prelude::*;

    fn quantity(mantissa: i128, exponent: i32, format: Format) -> Quantity {
        let (m, e) = parse::normalize(mantissa.unsigned_abs(), i64::from(exponent));
        Quantity::from_magnitude(mantissa < 0, m, e, format).expect("in range")
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 20_000, ..ProptestConfig::default() })]

        /// The 64-bit path of `checked_add` gives what the general one gives.
        #[test]
        fn the_short_sum_is_the_general_one(a in any::<i64>(), b in any::<i64>(), ea in -40i32..40, eb in -40i32..40) {
            let (x, y) = (quantity(i128::from(a), ea, Format::DecimalSI), quantity(i128::from(b), eb, if eb % 2 == 0 { Format::BinarySI } else { Format::DecimalSI }));
            prop_assume!(x.mantissa != 0 && y.mantissa != 0);
            let parts = |q: Result<Quantity>| q.map(|q| (q.mantissa, q.exponent, q.format)).map_err(|e| e.to_string());
            prop_assert_eq!(parts(x.checked_add(&y)), parts(x.add_aligned(&y, x.result_format(&y))));
            prop_assert_eq!(parts(y.checked_add(&x)), parts(y.add_aligned(&x, y.result_format(&x))));
        }
    }
}
