//! [`milli_value_of`]: the exact milli-value of a quantity string without building a
//! [`Quantity`] for the forms metrics servers write (`250264852n`, `8318172Ki`, `1500m`, `2`).

use super::Quantity;
use super::parse::{self, Scale};
use crate::error::Result;

/// `Quantity::parse(s)?.milli_value()`: thousandths of `s`, rounded up (away from zero); `None`
/// when they do not fit an `i128`. Unsigned integers with no suffix or one of `n u m k M G T Ki
/// Mi Gi Ti` are computed directly; every other string goes through [`Quantity::parse`], so the
/// results and the errors are exactly the parser's.
pub fn milli_value_of(s: &str) -> Result<Option<i128>> {
    match fast(s) {
        Some(milli) => Ok(Some(milli)),
        None => Quantity::parse(s).map(|q| q.milli_value()),
    }
}

fn fast(s: &str) -> Option<i128> {
    let (n, scale) = parse::plain_number(s.as_bytes())?;
    Some(match scale {
        // Thousandths rounded up; divisions by constants on 64 bits (`n` has at most 18 digits).
        Scale::Decimal(-9) => i128::from(n.div_ceil(1_000_000)),
        Scale::Decimal(-6) => i128::from(n.div_ceil(1000)),
        // At most 18 digits times 10^15: no overflow.
        Scale::Decimal(e) => i128::from(n) * 10i128.pow((e + 3) as u32),
        // Within the binary cap (2^63 - 1), checked by `plain_number`.
        Scale::Binary(bits) => (i128::from(n) << bits) * 1000,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_forms_equal_the_parser() {
        let mut values: Vec<String> = [
            "0",
            "1",
            "0n",
            "1n",
            "999999n",
            "1000000n",
            "1000001n",
            "250264852n",
            "1u",
            "999u",
            "1001u",
            "0m",
            "1500m",
            "8318172Ki",
            "1Ki",
            "1Mi",
            "1Gi",
            "1Ti",
            "8388607Ti",
            "8388608Ti",
            "999999999999999999Ti",
            "999999999999999999",
            "999999999999999999T",
            "1000000000000000000",
            "7k",
            "7M",
            "7G",
            "7T",
            "007",
            "1.5",
            "-1",
            "+1",
            "1e3",
            "1E",
            "1Pi",
            "1Ei",
            "12e6",
            "",
            "x",
            "1K",
            "1 ",
            " 1",
            "1mi",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        values.extend((0..2000u64).map(|i| format!("{}n", i.wrapping_mul(0x9E37_79B9_7F4A_7C15) % 10_000_000_000)));
        values.extend((0..2000u64).map(|i| format!("{}Ki", i.wrapping_mul(0x9E37_79B9_7F4A_7C15) % 100_000_000)));
        for s in &values {
            let want = Quantity::parse(s).map(|q| q.milli_value());
            match (milli_value_of(s), want) {
                (Ok(a), Ok(b)) => assert_eq!(a, b, "{s}"),
                (Err(a), Err(b)) => assert_eq!((a.kind(), a.message()), (b.kind(), b.message()), "{s}"),
                (a, b) => panic!("{s}: {a:?} vs {b:?}"),
            }
        }
    }
}
