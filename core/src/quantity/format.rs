//! Canonical formatting, the way apimachinery's `Quantity.String()` does it (minus its bugs).

use super::{Format, Quantity};
use std::fmt::Write;

impl Quantity {
    /// Writes the canonical form into `out`.
    pub(super) fn write_canonical(&self, out: &mut String) {
        if self.mantissa == 0 {
            out.push('0');
            return;
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
                write_base1024(v, out);
                return;
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
        let _ = write!(out, "{}", self.mantissa);
        for _ in 0..zeros {
            out.push('0');
        }
        match format {
            Format::DecimalExponent => {
                if e3 != 0 {
                    let _ = write!(out, "e{e3}");
                }
            }
            _ => out.push_str(match e3 {
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

fn write_base1024(v: i128, out: &mut String) {
    let mut m = v;
    let mut k = 0;
    while k < 6 && m % 1024 == 0 {
        m /= 1024;
        k += 1;
    }
    let _ = write!(out, "{m}");
    out.push_str(["", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"][k]);
}
