//! `km_quantity`: the exact Kubernetes `resource.Quantity`.

use crate::error::{Failure, guard_value, km_status};
use crate::ffi::{arg, arg_str, entry, free, handle, owned_string};
use kubemetrics::Quantity;
use std::ffi::{CString, c_char, c_int};

/// An exact Kubernetes resource quantity (`"250264852n"`, `"8318172Ki"`, `"1.5"`, `"12e6"`).
///
/// The value is a decimal number rounded up (away from zero) to a multiple of 10^-9, exactly as
/// k8s.io/apimachinery's `resource.ParseQuantity` does, plus the format it prints in (DecimalSI,
/// BinarySI or DecimalExponent, kept from the parsed string). Comparison looks at the value only:
/// `"1"`, `"1000m"` and `"1e0"` are equal.
///
/// Owned quantities (from `km_quantity_parse`, `km_quantity_clone`, `km_quantity_add`,
/// `km_quantity_sub`, `km_pod_metrics_total`) are freed with `km_quantity_free`. Quantities
/// returned as `const km_quantity *` by accessors are borrowed from their list or row handle:
/// never free them; `km_quantity_clone` makes an owned copy.
#[derive(Debug, Clone, Copy)]
pub struct km_quantity {
    pub(crate) q: Quantity,
}

impl km_quantity {
    pub(crate) fn new(q: Quantity) -> km_quantity {
        km_quantity { q }
    }
}

/// Parses a quantity string with apimachinery's grammar and rounding.
///
/// - `text`: NUL-terminated, borrowed for the call.
/// - `out`: on success, an owned quantity (free with `km_quantity_free`).
///
/// Errors: `KM_STATUS_QUANTITY` for an invalid quantity (the message says what was wrong and
/// shows the input), `KM_STATUS_INVALID_UTF8`, `KM_STATUS_NULL_ARGUMENT`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn km_quantity_parse(text: *const c_char, out: *mut *mut km_quantity) -> km_status {
    entry!(km_quantity_parse(arg_str text) -> out { handle(km_quantity::new(Quantity::parse(text)?)) })
}

/// Copies a quantity (owned or borrowed) into a new owned one.
///
/// - `out`: on success, an owned quantity (free with `km_quantity_free`).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn km_quantity_clone(quantity: *const km_quantity, out: *mut *mut km_quantity) -> km_status {
    entry!(km_quantity_clone(arg quantity) -> out { handle(*quantity) })
}

/// Frees an owned quantity. NULL is a no-op. Never pass a borrowed (`const`) quantity.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn km_quantity_free(quantity: *mut km_quantity) {
    // SAFETY: the header's contract: NULL or an owned quantity not freed yet.
    unsafe { free("km_quantity_free", quantity) }
}

/// The canonical string of a quantity, as Kubernetes prints it (`"1.5Gi"` gives `"1536Mi"`,
/// `"1.5"` gives `"1500m"`).
///
/// - `out`: on success, an owned string (free with `km_string_free`).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn km_quantity_to_string(quantity: *const km_quantity, out: *mut *mut c_char) -> km_status {
    entry!(km_quantity_to_string(arg quantity) -> out { owned_string(quantity.q.canonical(), "the quantity")? })
}

/// The exact value as a plain decimal number, without suffix or exponent (`"250264852n"` gives
/// `"0.250264852"`, `"1Ki"` gives `"1024"`, `"-1500m"` gives `"-1.5"`); exact for every value,
/// including those beyond `int64_t`.
///
/// - `out`: on success, an owned string (free with `km_string_free`).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn km_quantity_to_plain_decimal(quantity: *const km_quantity, out: *mut *mut c_char) -> km_status {
    entry!(km_quantity_to_plain_decimal(arg quantity) -> out { owned_string(quantity.q.to_plain_decimal(), "the quantity")? })
}

fn fit(value: Option<i128>, what: &str, q: &Quantity) -> Result<i64, Failure> {
    value
        .and_then(|v| i64::try_from(v).ok())
        .ok_or_else(|| Failure::out_of_range(format!("the {what} of {q} do not fit a 64-bit integer (use km_quantity_to_plain_decimal)")))
}

/// Thousandths, rounded up (away from zero). For CPU this is millicores: `250264852n` gives 251,
/// as `kubectl top` shows `251m`.
///
/// - `out`: on success, the exact value.
///
/// Errors: `KM_STATUS_OUT_OF_RANGE` when the value does not fit an `int64_t` (never wrapped).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn km_quantity_milli_value(quantity: *const km_quantity, out: *mut i64) -> km_status {
    entry!(km_quantity_milli_value(arg quantity) -> out { fit(quantity.q.milli_value(), "milli-units", &quantity.q)? })
}

/// Whole units, rounded up (away from zero): `"1500m"` gives 2, `"1Ki"` gives 1024.
///
/// - `out`: on success, the exact value.
///
/// Errors: `KM_STATUS_OUT_OF_RANGE` when the value does not fit an `int64_t` (never wrapped).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn km_quantity_value(quantity: *const km_quantity, out: *mut i64) -> km_status {
    entry!(km_quantity_value(arg quantity) -> out { fit(quantity.q.value(), "units", &quantity.q)? })
}

/// The nearest `double` (correctly rounded): approximate, for display and ratios.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn km_quantity_as_double(quantity: *const km_quantity, out: *mut f64) -> km_status {
    entry!(km_quantity_as_double(arg quantity) -> out { quantity.q.as_f64() })
}

/// Compares two quantities by value (`"1"`, `"1000m"` and `"1e0"` are equal).
///
/// - `out`: on success, -1 when `a < b`, 0 when equal, 1 when `a > b`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn km_quantity_cmp(a: *const km_quantity, b: *const km_quantity, out: *mut c_int) -> km_status {
    entry!(km_quantity_cmp(arg a, arg b) -> out { a.q.cmp(&b.q) as c_int })
}

/// `a + b`, exactly. The result keeps `a`'s format, or `b`'s when `a` is zero (as apimachinery's
/// `Add` does).
///
/// - `out`: on success, an owned quantity (free with `km_quantity_free`).
///
/// Errors: `KM_STATUS_QUANTITY` when the sum needs more than 38 significant digits or exceeds
/// 10^1000.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn km_quantity_add(a: *const km_quantity, b: *const km_quantity, out: *mut *mut km_quantity) -> km_status {
    entry!(km_quantity_add(arg a, arg b) -> out { handle(km_quantity::new(a.q.checked_add(&b.q)?)) })
}

/// `a - b`, exactly; see `km_quantity_add`.
///
/// - `out`: on success, an owned quantity (free with `km_quantity_free`).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn km_quantity_sub(a: *const km_quantity, b: *const km_quantity, out: *mut *mut km_quantity) -> km_status {
    entry!(km_quantity_sub(arg a, arg b) -> out { handle(km_quantity::new(a.q.checked_sub(&b.q)?)) })
}

/// Frees a string that a kubemetrics function returned as owned (`char **out`). NULL is a no-op.
/// Never pass a borrowed (`const char *`) string or one from another allocator.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn km_string_free(string: *mut c_char) {
    guard_value("km_string_free", (), || {
        if !string.is_null() {
            // SAFETY: the string came from `CString::into_raw` (the header's contract).
            drop(unsafe { CString::from_raw(string) });
        }
    })
}
