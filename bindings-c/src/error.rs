//! The one error model of the C API: [`km_status`], the thread-local last error, and the guard
//! every entry point runs its body in (argument checks, `catch_unwind`, error recording).

use std::cell::RefCell;
use std::ffi::{CString, c_char, c_int};
use std::panic::{AssertUnwindSafe, catch_unwind};

/// What a kubemetrics C function returned. The numbers are stable: they are never changed or
/// reused, and new statuses only get new numbers.
///
/// `KM_STATUS_CONFIG` to `KM_STATUS_INTERNAL` are kubemetrics' error kinds, the same in every
/// language; the statuses from 100 on are the C binding's own. After any status but
/// `KM_STATUS_OK`, `km_last_error_message()` says what went wrong.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum km_status {
    /// Success: the out-parameters were written.
    Ok = 0,
    /// No usable configuration: kubeconfig missing or invalid, unknown context, bad flag value.
    Config = 1,
    /// The server refused who we are or what we asked (HTTP 401 or 403).
    Auth = 2,
    /// The named object does not exist (HTTP 404 from the server, or an unknown name locally).
    NotFound = 3,
    /// No Metrics API is served by the cluster (kubectl: "Metrics API not available").
    MetricsUnavailable = 4,
    /// The server answered with an error or with a body that could not be decoded.
    Api = 5,
    /// A quantity string is not a valid Kubernetes quantity, or a value does not fit.
    Quantity = 6,
    /// Network or file I/O failed: connection refused, timeout, unreadable file.
    Io = 7,
    /// A bug or an invariant broken inside kubemetrics.
    Internal = 8,
    /// A pointer argument that must not be NULL was NULL; nothing was done.
    NullArgument = 100,
    /// kubemetrics panicked (a bug); the panic was caught and did not unwind into C.
    Panic = 101,
    /// A string argument is not valid UTF-8.
    InvalidUtf8 = 102,
    /// A value does not fit the C type asked for (e.g. milli-units beyond `int64_t`), or an
    /// index is not below the count.
    OutOfRange = 103,
}

impl km_status {
    /// The status of a kubemetrics error kind.
    pub(crate) fn from_kind(kind: kubemetrics::ErrorKind) -> km_status {
        use kubemetrics::ErrorKind as K;
        match kind {
            K::Config => km_status::Config,
            K::Auth => km_status::Auth,
            K::NotFound => km_status::NotFound,
            K::MetricsUnavailable => km_status::MetricsUnavailable,
            K::Api => km_status::Api,
            K::Quantity => km_status::Quantity,
            K::Io => km_status::Io,
            _ => km_status::Internal,
        }
    }

    fn name(code: c_int) -> &'static std::ffi::CStr {
        match code {
            0 => c"KM_STATUS_OK",
            1 => c"KM_STATUS_CONFIG",
            2 => c"KM_STATUS_AUTH",
            3 => c"KM_STATUS_NOT_FOUND",
            4 => c"KM_STATUS_METRICS_UNAVAILABLE",
            5 => c"KM_STATUS_API",
            6 => c"KM_STATUS_QUANTITY",
            7 => c"KM_STATUS_IO",
            8 => c"KM_STATUS_INTERNAL",
            100 => c"KM_STATUS_NULL_ARGUMENT",
            101 => c"KM_STATUS_PANIC",
            102 => c"KM_STATUS_INVALID_UTF8",
            103 => c"KM_STATUS_OUT_OF_RANGE",
            _ => c"KM_STATUS_UNKNOWN",
        }
    }
}

/// Why a call failed: the status, the message and the HTTP status (0: no server answered).
#[derive(Debug)]
pub(crate) struct Failure {
    status: km_status,
    message: String,
    http_status: u16,
    /// Whether the message names the C function (binding-level failures do; core errors keep
    /// their own wording).
    prefix: bool,
}

impl Failure {
    fn binding(status: km_status, message: String) -> Failure {
        Failure { status, message, http_status: 0, prefix: true }
    }

    /// `KM_STATUS_NULL_ARGUMENT` for the parameter `name`.
    pub(crate) fn null(name: &str) -> Failure {
        Failure::binding(km_status::NullArgument, format!("argument `{name}` is NULL"))
    }

    /// `KM_STATUS_INVALID_UTF8` for the parameter `name`.
    pub(crate) fn utf8(name: &str, e: std::str::Utf8Error) -> Failure {
        Failure::binding(km_status::InvalidUtf8, format!("argument `{name}` is not valid UTF-8: {e}"))
    }

    /// `KM_STATUS_OUT_OF_RANGE` with a message.
    pub(crate) fn out_of_range(message: String) -> Failure {
        Failure::binding(km_status::OutOfRange, message)
    }

    /// `KM_STATUS_OUT_OF_RANGE` for an index not below the count.
    pub(crate) fn index(index: usize, count: usize) -> Failure {
        Failure::out_of_range(format!("index {index} is out of range (count {count})"))
    }

    /// A kubemetrics error of `kind`, for failures found while converting results.
    pub(crate) fn kind(kind: kubemetrics::ErrorKind, message: String) -> Failure {
        Failure::from(kubemetrics::Error::new(kind, message))
    }

    /// The status this failure reports.
    #[cfg(test)]
    pub(crate) fn status(&self) -> km_status {
        self.status
    }

    fn panic(payload: Box<dyn std::any::Any + Send>) -> Failure {
        let what = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic payload".to_string());
        Failure::binding(km_status::Panic, format!("kubemetrics panicked (a bug, please report it): {what}"))
    }
}

impl From<kubemetrics::Error> for Failure {
    fn from(e: kubemetrics::Error) -> Failure {
        Failure { status: km_status::from_kind(e.kind()), message: e.message().to_string(), http_status: e.status().unwrap_or(0), prefix: false }
    }
}

/// The last failure of this thread.
struct LastError {
    status: km_status,
    message: CString,
    http_status: u16,
}

thread_local! {
    static LAST_ERROR: RefCell<Option<LastError>> = const { RefCell::new(None) };
}

fn set_last_error(value: Option<LastError>) {
    // `try_with`: during thread teardown the slot may be gone; the status still tells.
    let _ = LAST_ERROR.try_with(|slot| {
        if let Ok(mut slot) = slot.try_borrow_mut() {
            *slot = value;
        }
    });
}

fn record(function: &str, failure: Failure) -> km_status {
    let text = if failure.prefix { format!("{function}: {}", failure.message) } else { failure.message };
    // A C string ends at the first NUL: show NUL bytes of a server's message escaped instead.
    let message = CString::new(text.replace('\0', "\\0")).unwrap_or_default();
    set_last_error(Some(LastError { status: failure.status, message, http_status: failure.http_status }));
    failure.status
}

/// Runs the body of the C function `function`: clears this thread's last error, catches panics,
/// and records a failure as the last error.
pub(crate) fn guard(function: &str, body: impl FnOnce() -> Result<(), Failure>) -> km_status {
    set_last_error(None);
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => km_status::Ok,
        Ok(Err(failure)) => record(function, failure),
        Err(payload) => record(function, Failure::panic(payload)),
    }
}

/// Runs the body of a C function that returns a plain value (no status): a panic yields
/// `fallback` and is recorded as the last error.
pub(crate) fn guard_value<T>(function: &str, fallback: T, body: impl FnOnce() -> T) -> T {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(value) => value,
        Err(payload) => {
            record(function, Failure::panic(payload));
            fallback
        }
    }
}

fn with_last<T>(f: impl FnOnce(Option<&LastError>) -> T) -> Option<T> {
    LAST_ERROR.try_with(|slot| slot.try_borrow().ok().map(|last| f(last.as_ref()))).ok().flatten()
}

/// The message of the last failed call on this thread, NUL-terminated; `""` when the last call
/// that returns a `km_status` succeeded (each such call clears it when it starts).
///
/// Borrowed: valid until the next call on this thread of a function that returns a `km_status`
/// or of `km_last_error_clear()`. Never NULL. Do not free it.
#[unsafe(no_mangle)]
pub extern "C" fn km_last_error_message() -> *const c_char {
    guard_value("km_last_error_message", c"".as_ptr(), || with_last(|last| last.map_or(c"".as_ptr(), |l| l.message.as_ptr())).unwrap_or(c"".as_ptr()))
}

/// Copies the message of `km_last_error_message()` into `buffer` (at most `length - 1` bytes,
/// then a NUL; nothing when `buffer` is NULL or `length` is 0) and returns the full length of
/// the message without the NUL, as `snprintf` does: a return value `>= length` means the copy
/// was cut. `km_last_error_message_copy(NULL, 0)` asks for the length.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn km_last_error_message_copy(buffer: *mut c_char, length: usize) -> usize {
    guard_value("km_last_error_message_copy", 0, || {
        with_last(|last| {
            let bytes = last.map_or(&[][..], |l| l.message.as_bytes());
            if !buffer.is_null() && length > 0 {
                let n = bytes.len().min(length - 1);
                // SAFETY: the caller gives a writable buffer of `length` bytes.
                unsafe {
                    std::ptr::copy_nonoverlapping(bytes.as_ptr().cast::<c_char>(), buffer, n);
                    *buffer.add(n) = 0;
                }
            }
            bytes.len()
        })
        .unwrap_or(0)
    })
}

/// The status of the last failed call on this thread (`KM_STATUS_OK` when the last call that
/// returns a `km_status` succeeded).
#[unsafe(no_mangle)]
pub extern "C" fn km_last_error_status() -> km_status {
    guard_value("km_last_error_status", km_status::Ok, || with_last(|last| last.map_or(km_status::Ok, |l| l.status)).unwrap_or(km_status::Ok))
}

/// The HTTP status code the server answered the last failed call on this thread with
/// (401, 403, 404, 500, ...); 0 when no server answered or the last call succeeded.
#[unsafe(no_mangle)]
pub extern "C" fn km_last_error_http_status() -> u16 {
    guard_value("km_last_error_http_status", 0, || with_last(|last| last.map_or(0, |l| l.http_status)).unwrap_or(0))
}

/// Forgets the last error of this thread (the message becomes `""`, the status `KM_STATUS_OK`).
#[unsafe(no_mangle)]
pub extern "C" fn km_last_error_clear() {
    guard_value("km_last_error_clear", (), || set_last_error(None))
}

/// The name of a status (`"KM_STATUS_NOT_FOUND"`), or `"KM_STATUS_UNKNOWN"` for a number that is
/// no status. Static: never freed, never NULL.
#[unsafe(no_mangle)]
pub extern "C" fn km_status_name(status: c_int) -> *const c_char {
    guard_value("km_status_name", c"KM_STATUS_UNKNOWN".as_ptr(), || km_status::name(status).as_ptr())
}
