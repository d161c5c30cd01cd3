//! `Quantity`: the exact Kubernetes `resource.Quantity`.

use crate::raw::out;
use crate::to_js_error;
use crate::wire::RawValue;
use kubemetrics::{ErrorKind, Format};
use napi::bindgen_prelude::*;
use napi::sys;
use napi_derive::napi;

/// Calls `f` with the text of the JavaScript string `value`, read into a stack buffer when short
/// (quantities are), so that no `String` is allocated per value. Fails for a non-string.
unsafe fn with_str<T>(env: sys::napi_env, value: sys::napi_value, f: impl FnOnce(&str) -> T) -> Result<T> {
    let mut buf = [0u8; 64];
    let len = unsafe { out!(napi_get_value_string_utf8(env, value, buf.as_mut_ptr().cast(), buf.len()) from 0usize) }
        .map_err(|e| Error::new(e.status, "expected a string"))?;
    if len < buf.len() - 1 {
        return Ok(f(std::str::from_utf8(&buf[..len]).unwrap_or_default()));
    }
    let text = unsafe { <String as FromNapiValue>::from_napi_value(env, value)? };
    Ok(f(&text))
}

/// The milli-value of `s`, value `index` of `Quantity.milliValuesOf`, as a 64-bit integer.
fn milli_i64(env: &Env, index: usize, s: &str) -> Result<i64> {
    let quantity_error = |message: String| to_js_error(env, &kubemetrics::Error::new(ErrorKind::Quantity, format!("value {index}: {message}")));
    let milli = kubemetrics::quantity::milli_value_of(s).map_err(|e| quantity_error(e.message().to_string()))?;
    milli.and_then(|m| i64::try_from(m).ok()).ok_or_else(|| {
        let canonical = kubemetrics::Quantity::parse(s).map(|q| q.canonical()).unwrap_or_else(|_| s.to_string());
        quantity_error(format!("the milli-value of {canonical} does not fit a 64-bit integer"))
    })
}

/// Reads `value` into the start of `bytes` when it is a string of ASCII characters only, as
/// Latin-1 (a plain copy for V8's one-byte strings), and gives that text (`None` for anything
/// else). A character above U+007F takes two or more bytes in UTF-8 and one here, so equal
/// lengths mean every character was ASCII. `bytes` only grows (kept from call to call, so it is
/// not zeroed again each time).
unsafe fn ascii_text(env: sys::napi_env, value: sys::napi_value, bytes: &mut Vec<u8>) -> Result<Option<&str>> {
    unsafe {
        if out!(napi_typeof(env, value) from sys::ValueType::napi_undefined)? != sys::ValueType::napi_string {
            return Ok(None);
        }
        let utf8_len = out!(napi_get_value_string_utf8(env, value, std::ptr::null_mut(), 0) from 0usize)?;
        if bytes.len() < utf8_len + 1 {
            bytes.resize(utf8_len + 1, 0);
        }
        let len = out!(napi_get_value_string_latin1(env, value, bytes.as_mut_ptr().cast(), utf8_len + 1) from 0usize)?;
        let text = bytes.get(..len).unwrap_or_default();
        // ASCII is UTF-8: this checks nothing new, once for the whole text.
        Ok(if len == utf8_len { std::str::from_utf8(text).ok() } else { None })
    }
}

/// How many values of `Quantity.milliValuesOf` are joined into one text: a text this short is
/// made in V8's young generation (a text of all values would be a large object of fresh pages,
/// made and cleared by the kernel on every call, and copied once more to join its parts).
const JOINED: u32 = 4096;

/// Pushes the milli-values of `array[start..end]` onto `out`, reading them as one text of values
/// joined by line breaks (one N-API call instead of two per value); `false` (nothing pushed) when
/// a value is not a string of ASCII characters or holds a line break: then value by value.
unsafe fn joined_milli_values(env: &Env, array: sys::napi_value, start: u32, end: u32, out: &mut Vec<i64>) -> Result<bool> {
    let raw = env.raw();
    // SAFETY: on the JavaScript thread, inside the call that passed `array`.
    unsafe {
        let (from, to) = (out!(napi_create_uint32(raw, start))?, out!(napi_create_uint32(raw, end))?);
        let joined = crate::columns::build_with(raw, c"joinStrings", &[array, from, to])?;
        TEXT.with_borrow_mut(|text| {
            let Some(text) = ascii_text(raw, joined, text)? else { return Ok(false) };
            if text.bytes().filter(|&b| b == b'\n').count() + 1 != (end - start) as usize {
                return Ok(false);
            }
            for (i, s) in text.split('\n').enumerate() {
                out.push(milli_i64(env, start as usize + i, s)?);
            }
            Ok(true)
        })
    }
}

thread_local! {
    /// The text of the last `milliValuesOf` block, kept so that the next one reuses its memory.
    static TEXT: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// A `bigint` of `n` (one N-API call when it fits 64 bits).
unsafe fn bigint(env: sys::napi_env, n: i128) -> Result<sys::napi_value> {
    match i64::try_from(n) {
        Ok(small) => unsafe { out!(napi_create_bigint_int64(env, small)) },
        Err(_) => unsafe { <i128 as ToNapiValue>::to_napi_value(env, n) },
    }
}

/// How a quantity prefers to be printed, kept from the string it was parsed from.
#[napi(string_enum)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuantityFormat {
    /// Powers of ten with SI suffixes: `n u m "" k M G T P E` (`1500m`, `5G`).
    DecimalSI,
    /// Powers of two with IEC suffixes: `Ki Mi Gi Ti Pi Ei` (`128Mi`).
    BinarySI,
    /// Scientific notation with a multiple-of-three exponent: `12e6`.
    DecimalExponent,
}

impl From<Format> for QuantityFormat {
    fn from(f: Format) -> Self {
        match f {
            Format::BinarySI => QuantityFormat::BinarySI,
            Format::DecimalExponent => QuantityFormat::DecimalExponent,
            _ => QuantityFormat::DecimalSI,
        }
    }
}

impl From<QuantityFormat> for Format {
    fn from(f: QuantityFormat) -> Self {
        match f {
            QuantityFormat::DecimalSI => Format::DecimalSI,
            QuantityFormat::BinarySI => Format::BinarySI,
            QuantityFormat::DecimalExponent => Format::DecimalExponent,
        }
    }
}

/// An exact Kubernetes resource quantity (`"250264852n"`, `"8318172Ki"`, `"1.5"`, `"12e6"`).
///
/// The value is a decimal number rounded up (away from zero) to a multiple of 10^-9, exactly as
/// k8s.io/apimachinery's `resource.ParseQuantity` does, plus the format it prints in. Comparison
/// looks at the value only: `"1"`, `"1000m"` and `"1e0"` are equal.
///
/// Integer accessors return exact `bigint`s and throw (`code` `ERR_KM_QUANTITY`) instead of
/// wrapping when a value does not fit a 128-bit integer; invalid strings throw the same code.
///
/// ```js
/// const cpu = new Quantity('250264852n')
/// cpu.milliValue // 251n, as `kubectl top` shows 251m
/// new Quantity('1.5Gi').toString() // '1536Mi'
/// ```
#[napi]
#[derive(Debug, Clone, Copy)]
pub struct Quantity {
    pub(crate) inner: kubemetrics::Quantity,
}

impl From<kubemetrics::Quantity> for Quantity {
    fn from(inner: kubemetrics::Quantity) -> Self {
        Quantity { inner }
    }
}

/// A `Quantity` argument, or a string parsed as one.
fn operand(env: &Env, other: &Either<ClassInstance<'_, Quantity>, String>) -> Result<kubemetrics::Quantity> {
    match other {
        Either::A(q) => Ok(q.inner),
        Either::B(s) => kubemetrics::Quantity::parse(s).map_err(|e| to_js_error(env, &e)),
    }
}

/// `Some(n)` or the ERR_KM_QUANTITY error saying the value does not fit.
fn fits(env: &Env, q: &kubemetrics::Quantity, what: &str, value: Option<i128>) -> Result<i128> {
    value.ok_or_else(|| to_js_error(env, &kubemetrics::Error::new(ErrorKind::Quantity, format!("{what} of {q} does not fit a 128-bit integer"))))
}

#[napi]
impl Quantity {
    /// Parses a quantity string with apimachinery's grammar and rounding.
    ///
    /// Throws an `Error` with `code` `ERR_KM_QUANTITY` that says what was wrong and shows the input.
    #[napi(constructor)]
    pub fn new(env: Env, value: String) -> Result<Quantity> {
        kubemetrics::Quantity::parse(&value).map(Quantity::from).map_err(|e| to_js_error(&env, &e))
    }

    /// A whole number of units (`Quantity.fromInt(2)` is `"2"`).
    #[napi(factory)]
    pub fn from_int(value: i64, format: Option<QuantityFormat>) -> Quantity {
        kubemetrics::Quantity::from_int(value, format.map_or(Format::DecimalSI, Format::from)).into()
    }

    /// A number of thousandths (`Quantity.fromMilli(1500)` is `"1500m"`).
    #[napi(factory)]
    pub fn from_milli(milli: i64, format: Option<QuantityFormat>) -> Quantity {
        kubemetrics::Quantity::from_milli(milli, format.map_or(Format::DecimalSI, Format::from)).into()
    }

    /// Whole units, rounded up (away from zero), as an exact `bigint`.
    ///
    /// Throws `ERR_KM_QUANTITY` when the value does not fit a 128-bit integer.
    #[napi(getter)]
    pub fn value(&self, env: Env) -> Result<i128> {
        fits(&env, &self.inner, "the value", self.inner.value())
    }

    /// Thousandths, rounded up (away from zero), as an exact `bigint`. For CPU this is
    /// millicores: `250264852n` gives `251n`, as `kubectl top` shows `251m`.
    ///
    /// Throws `ERR_KM_QUANTITY` when they do not fit a 128-bit integer.
    #[napi(getter)]
    pub fn milli_value(&self, env: Env) -> Result<i128> {
        fits(&env, &self.inner, "the milli-value", self.inner.milli_value())
    }

    /// `new Quantity(value).milliValue` without the `Quantity`: thousandths of `value`, rounded
    /// up (away from zero), as an exact `bigint`. For CPU this is millicores.
    ///
    /// Throws `ERR_KM_QUANTITY` (as `new Quantity` does) for a string that is not a quantity and
    /// when the value does not fit a 128-bit integer.
    #[napi(ts_args_type = "value: string", ts_return_type = "bigint")]
    pub fn milli_value_of(env: Env, value: Unknown<'_>) -> Result<RawValue> {
        // SAFETY: `value` is an argument of this call, read on the JavaScript thread.
        let milli = unsafe {
            with_str(env.raw(), value.raw(), |s| {
                kubemetrics::quantity::milli_value_of(s)?.ok_or_else(|| {
                    let canonical = kubemetrics::Quantity::parse(s).map(|q| q.canonical()).unwrap_or_default();
                    kubemetrics::Error::new(ErrorKind::Quantity, format!("the milli-value of {canonical} does not fit a 128-bit integer"))
                })
            })
        }?
        .map_err(|e| to_js_error(&env, &e))?;
        // SAFETY: as above.
        unsafe { bigint(env.raw(), milli) }.map(RawValue)
    }

    /// `milliValueOf` of each string of `values`, in one call: a `BigInt64Array` of the same length.
    ///
    /// Throws `ERR_KM_QUANTITY` naming the index of the first value that is not a quantity or
    /// whose milli-value does not fit a 64-bit integer; a `TypeError` when `values` is not an array
    /// of strings.
    #[napi(ts_args_type = "values: string[]")]
    pub fn milli_values_of(env: Env, values: Unknown<'_>) -> Result<BigInt64Array> {
        let raw = env.raw();
        let array = values.raw();
        // SAFETY: `values` is an argument of this call, read on the JavaScript thread.
        if !unsafe { out!(napi_is_array(raw, array) from false)? } {
            return Err(Error::new(Status::InvalidArg, "Quantity.milliValuesOf expects an array of strings"));
        }
        // SAFETY: as above.
        let len = unsafe { out!(napi_get_array_length(raw, array) from 0u32)? };
        let mut out = Vec::with_capacity(len as usize);
        let mut start = 0;
        while start < len {
            let end = len.min(start + JOINED);
            // SAFETY: as above.
            if !unsafe { joined_milli_values(&env, array, start, end, &mut out) }? {
                for i in start..end {
                    // SAFETY: as above; `element` lives in this call's handle scope.
                    let element = unsafe { out!(napi_get_element(raw, array, i))? };
                    // SAFETY: as above.
                    let milli = unsafe { with_str(raw, element, |s| milli_i64(&env, i as usize, s)) }
                        .map_err(|e| Error::new(Status::InvalidArg, format!("Quantity.milliValuesOf: value {i}: {}", e.reason)))?;
                    out.push(milli?);
                }
            }
            start = end;
        }
        Ok(BigInt64Array::new(out))
    }

    /// The value scaled by `10^-scale` and rounded up (away from zero) to an exact `bigint`.
    /// `scaledValue(0)` is `value`, `scaledValue(-3)` is `milliValue`, `scaledValue(-9)` is nanos.
    ///
    /// Throws `ERR_KM_QUANTITY` when that integer does not fit a 128-bit integer.
    #[napi]
    pub fn scaled_value(&self, env: Env, scale: i32) -> Result<i128> {
        fits(&env, &self.inner, &format!("the value scaled by 10^{}", -scale), self.inner.scaled_value(scale))
    }

    /// The nearest `number` (correctly rounded); approximate for values beyond 2^53.
    #[napi]
    pub fn to_number(&self) -> f64 {
        self.inner.as_f64()
    }

    /// The canonical string (`"1.5Gi"` gives `"1536Mi"`, `"1.5"` gives `"1500m"`).
    #[napi]
    #[allow(clippy::inherent_to_string)]
    pub fn to_string(&self) -> String {
        self.inner.canonical()
    }

    /// The canonical string, so that `JSON.stringify` writes quantities as Kubernetes does.
    #[napi(js_name = "toJSON")]
    pub fn to_json(&self) -> String {
        self.inner.canonical()
    }

    /// The exact value as a plain decimal number, without suffix or exponent
    /// (`"250264852n"` gives `"0.250264852"`, `"1Ki"` gives `"1024"`, `"-1500m"` gives `"-1.5"`).
    #[napi]
    pub fn to_plain_decimal(&self) -> String {
        self.inner.to_plain_decimal()
    }

    /// The preferred print format.
    #[napi(getter)]
    pub fn format(&self) -> QuantityFormat {
        self.inner.format().into()
    }

    /// The same value, printed in another format.
    #[napi]
    pub fn with_format(&self, format: QuantityFormat) -> Quantity {
        self.inner.with_format(format.into()).into()
    }

    /// `true` for zero.
    #[napi]
    pub fn is_zero(&self) -> bool {
        self.inner.is_zero()
    }

    /// -1, 0 or 1.
    #[napi]
    pub fn signum(&self) -> i32 {
        self.inner.signum()
    }

    /// Compares values: -1 when this is less than `other`, 0 when equal, 1 when greater.
    /// `other` may be a `Quantity` or a quantity string; usable as an `Array.prototype.sort`
    /// comparator via `(a, b) => a.cmp(b)`.
    #[napi]
    pub fn cmp(&self, env: Env, other: Either<ClassInstance<'_, Quantity>, String>) -> Result<i32> {
        let other = operand(&env, &other)?;
        Ok(self.inner.cmp(&other) as i32)
    }

    /// `true` when the values are equal (`"1"`, `"1000m"` and `"1e0"` are equal).
    #[napi]
    pub fn equals(&self, env: Env, other: Either<ClassInstance<'_, Quantity>, String>) -> Result<bool> {
        let other = operand(&env, &other)?;
        Ok(self.inner == other)
    }

    /// `this + other`, exactly. The result keeps this quantity's format, or `other`'s when this
    /// is zero (as apimachinery's `Add` does). Throws `ERR_KM_QUANTITY` only when the sum needs
    /// more than 38 significant digits or exceeds 10^1000.
    #[napi]
    pub fn add(&self, env: Env, other: Either<ClassInstance<'_, Quantity>, String>) -> Result<Quantity> {
        let other = operand(&env, &other)?;
        self.inner.checked_add(&other).map(Quantity::from).map_err(|e| to_js_error(&env, &e))
    }

    /// `this - other`, exactly; see `add`.
    #[napi]
    pub fn sub(&self, env: Env, other: Either<ClassInstance<'_, Quantity>, String>) -> Result<Quantity> {
        let other = operand(&env, &other)?;
        self.inner.checked_sub(&other).map(Quantity::from).map_err(|e| to_js_error(&env, &e))
    }

    /// The negated value.
    #[napi]
    pub fn neg(&self) -> Quantity {
        (-self.inner).into()
    }
}
