//! Canonical formatting, the way apimachinery's `Quantity.String()` does it (minus its bugs).

use super::{Format, Quantity};
use std::fmt::{self, Write};

/// Text formatted on the stack: a writer that fails instead of growing past `N` bytes.
pub(super) struct StackText<const N: usize> {
    buf: [u8; N],
    len: usize,
}

impl<const N: usize> StackText<N> {
    pub(super) fn new() -> Self {
        StackText { buf: [0; N], len: 0 }
    }

    pub(super) fn as_str(&self) -> &str {
        std::str::from_utf8(&self.buf[..self.len]).unwrap_or_default()
    }
}

impl<const N: usize> Write for StackText<N> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let end = self.len + s.len();
        let Some(to) = self.buf.get_mut(self.len..end) else { return Err(fmt::Error) };
        to.copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

impl Quantity {
    /// Calls `f` with the canonical form, formatted on the stack when it fits in 64 bytes (every
    /// quantity a kubelet or a metrics server writes), so that writing one allocates nothing.
    pub(crate) fn with_canonical<R>(&self, f: impl FnOnce(&str) -> R) -> R {
        let mut text = StackText::<64>::new();
        if self.write_canonical(&mut text).is_ok() {
            return f(text.as_str());
        }
        let mut s = String::new();
        let _ = self.write_canonical(&mut s);
        f(&s)
    }

    /// Writes the canonical form into `out`.
    pub(super) fn write_canonical<W: Write>(&self, out: &mut W) -> fmt::Result {
        if self.mantissa == 0 {
            return out.write_char('0');
        }
        let mut format = self.format;
        if format == Format::BinarySI {
            let integral = self.exponent >= 0;
            let below_1024 =
                (0..=3).contains(&self.exponent) && self.mantissa.unsigned_abs().checked_mul(10u128.pow(self.exponent as u32)).is_some_and(|v| v < 1024);
            if !integral || below_1024 {
                format = Format::DecimalSI;
            }
        }
        if format == Format::BinarySI {
            if let Some(v) = self.integral_value() {
                return write_base1024(v, out);
            }
            // Beyond i128: no binary suffix can say it exactly in few digits; use DecimalSI.
            format = Format::DecimalSI;
        }
        // Base 10: the exponent is floored to a multiple of three; the mantissa takes the rest.
        let e = self.exponent;
        let mut e3 = e.div_euclid(3) * 3;
        let mut zeros = (e - e3) as usize;
        if format == Format::DecimalSI && e3 > 18 {
            zeros += (e3 - 18) as usize;
            e3 = 18;
        }
        write_int(self.mantissa, out)?;
        for _ in 0..zeros {
            out.write_char('0')?;
        }
        match format {
            Format::DecimalExponent => {
                if e3 != 0 {
                    write!(out, "e{e3}")?;
                }
                Ok(())
            }
            _ => out.write_str(match e3 {
                -9 => "n",
                -6 => "u",
                -3 => "m",
                3 => "k",
                6 => "M",
                9 => "G",
                12 => "T",
                15 => "P",
                18 => "E",
                _ => "",
            }),
        }
    }

    /// The exact integer value when the quantity is integral and fits an i128.
    fn integral_value(&self) -> Option<i128> {
        if self.exponent < 0 {
            return None;
        }
        10i128.checked_pow(self.exponent as u32)?.checked_mul(self.mantissa)
    }
}

fn write_base1024<W: Write>(v: i128, out: &mut W) -> fmt::Result {
    const SUFFIXES: [&str; 7] = ["", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"];
    // Values that fit 64 bits (all usage figures) without i128's much slower division.
    if let Ok(mut m) = i64::try_from(v) {
        let mut k = 0;
        while k < 6 && m != 0 && m % 1024 == 0 {
            m /= 1024;
            k += 1;
        }
        write_int(i128::from(m), out)?;
        return out.write_str(SUFFIXES[k]);
    }
    let mut m = v;
    let mut k = 0;
    while k < 6 && m % 1024 == 0 {
        m /= 1024;
        k += 1;
    }
    write_int(m, out)?;
    out.write_str(SUFFIXES[k])
}

/// Writes an integer in decimal, in one piece, without the formatting machinery (an encoder
/// writing millions of quantities spent its time there); values that fit 64 bits (all usage
/// figures) without `i128`'s much slower division.
fn write_int<W: Write>(v: i128, out: &mut W) -> fmt::Result {
    let mut digits = itoa::Buffer::new();
    match i64::try_from(v) {
        Ok(small) => out.write_str(digits.format(small)),
        Err(_) => out.write_str(digits.format(v)),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn integers_are_written_as_std_writes_them() {
        let edges =
            [0i128, 1, -1, 9, 10, -10, 99, 100, 1 << 40, i64::MAX as i128, i64::MIN as i128, i64::MAX as i128 + 1, i64::MIN as i128 - 1, i128::MAX, i128::MIN];
        for v in edges.into_iter().chain((0..2000).map(|i| (i * 7_919_993_i128).pow(2) * if i % 2 == 0 { 1 } else { -1 })) {
            let mut s = String::new();
            super::write_int(v, &mut s).expect("write");
            assert_eq!(s, v.to_string());
        }
    }
}
