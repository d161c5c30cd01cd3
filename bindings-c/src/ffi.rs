//! Conversions between C arguments and Rust values, the shapes of entry-point bodies ([`entry!`],
//! [`count`], [`free`]), and the process-wide runtime.

use crate::error::{Failure, guard_value};
use std::ffi::{CStr, CString, c_char};
use std::future::Future;
use std::mem::MaybeUninit;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;
use tokio::runtime::{Handle, Runtime};

/// The one tokio runtime of the process, started on first use and shared by every client and
/// thread, until `km_shutdown` (after which the next blocking call starts a new one).
static RUNTIME: Mutex<Option<Runtime>> = Mutex::new(None);

/// A handle of the process-wide runtime, started if needed.
fn runtime_handle() -> Result<Handle, Failure> {
    let mut slot = RUNTIME.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(rt) = slot.as_ref() {
        return Ok(rt.handle().clone());
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("kubemetrics-c")
        .build()
        .map_err(|e| Failure::kind(kubemetrics::ErrorKind::Io, format!("cannot start the kubemetrics runtime: {e}")))?;
    let handle = rt.handle().clone();
    *slot = Some(rt);
    Ok(handle)
}

/// Runs `future` to completion on the process-wide runtime, blocking the calling thread.
pub(crate) fn block_on<F: Future>(future: F) -> Result<F::Output, Failure> {
    Ok(runtime_handle()?.block_on(future))
}

/// Runs `f` inside the runtime's context, if a runtime runs (drops of clients may cancel tasks).
pub(crate) fn in_runtime<T>(f: impl FnOnce() -> T) -> T {
    let current = RUNTIME.lock().unwrap_or_else(PoisonError::into_inner).as_ref().map(|rt| rt.handle().clone());
    match current {
        Some(handle) => {
            let _entered = handle.enter();
            f()
        }
        None => f(),
    }
}

/// Stops the process-wide runtime, if one runs: its tasks are dropped and its threads joined
/// (waiting at most `timeout` for blocking work such as a DNS lookup).
pub(crate) fn shutdown_runtime(timeout: Duration) {
    let taken = RUNTIME.lock().unwrap_or_else(PoisonError::into_inner).take();
    if let Some(rt) = taken {
        rt.shutdown_timeout(timeout);
    }
}

/// A shared reference from a pointer argument that must not be NULL.
///
/// # Safety
/// `ptr` is NULL or points to a live `T` that outlives `'a`.
pub(crate) unsafe fn arg<'a, T>(ptr: *const T, name: &str) -> Result<&'a T, Failure> {
    // SAFETY: the caller's contract.
    unsafe { ptr.as_ref() }.ok_or_else(|| Failure::null(name))
}

/// A `&str` from a string argument that must not be NULL.
///
/// # Safety
/// `ptr` is NULL or a NUL-terminated string that outlives `'a`.
pub(crate) unsafe fn arg_str<'a>(ptr: *const c_char, name: &str) -> Result<&'a str, Failure> {
    // SAFETY: the caller's contract.
    unsafe { opt_str(ptr, name) }?.ok_or_else(|| Failure::null(name))
}

/// A `&str` from a string argument that may be NULL (`None`).
///
/// # Safety
/// `ptr` is NULL or a NUL-terminated string that outlives `'a`.
pub(crate) unsafe fn opt_str<'a>(ptr: *const c_char, name: &str) -> Result<Option<&'a str>, Failure> {
    if ptr.is_null() {
        return Ok(None);
    }
    // SAFETY: non-NULL and NUL-terminated by the caller's contract.
    let s = unsafe { CStr::from_ptr(ptr) };
    s.to_str().map(Some).map_err(|e| Failure::utf8(name, e))
}

/// An out-parameter that must not be NULL, to be written once the call has succeeded.
///
/// # Safety
/// `ptr` is NULL or valid for writing a `T` during `'a`.
pub(crate) unsafe fn out<'a, T>(ptr: *mut T, name: &str) -> Result<&'a mut MaybeUninit<T>, Failure> {
    // SAFETY: `MaybeUninit<T>` has the layout of `T`; the caller's contract.
    unsafe { ptr.cast::<MaybeUninit<T>>().as_mut() }.ok_or_else(|| Failure::null(name))
}

/// The body of an entry point that returns a `km_status`, in the order every one of them follows.
/// Inside [`guard`](crate::error::guard) (a failure becomes the last error, a panic
/// `KM_STATUS_PANIC`) it checks the pointer arguments in the order given, each with the function
/// named before it (`arg`, `arg_str`, `opt_str` or another `unsafe fn(ptr, name) -> Result`; the
/// parameter's name goes into the message) and rebinds the parameter to what that returns; then
/// checks that the out-parameters are not NULL; then evaluates `$body` and, only when that
/// succeeded, writes its value to the out-parameter (two out-parameters: a pair, in their order;
/// none: `$body` is `()`). Parameters without a check (numbers, flags) are used in `$body` as
/// they are.
///
/// `entry!(km_thing_label(arg thing, arg_str key) -> out { thing.label(key)?.as_ptr() })`
macro_rules! entry {
    // The common part (not called from outside): the guard and the argument checks; `$work`
    // returns `Result<(), Failure>`.
    (@guard $function:ident($($check:ident $arg:ident),*) $work:block) => {
        $crate::error::guard(stringify!($function), || {
            $(
                // SAFETY: the header's contract: NULL or a live object of the parameter's type
                // (a NUL-terminated string for `char *`).
                let $arg = unsafe { $check($arg, stringify!($arg)) }?;
            )*
            $work
        })
    };
    ($function:ident($($args:tt)*) -> $out:ident $body:block) => {
        $crate::ffi::entry!(@guard $function($($args)*) {
            // SAFETY: the header's contract: NULL or writable.
            let $out = unsafe { $crate::ffi::out($out, stringify!($out)) }?;
            $out.write($body);
            Ok(())
        })
    };
    ($function:ident($($args:tt)*) -> ($first:ident, $second:ident) $body:block) => {
        $crate::ffi::entry!(@guard $function($($args)*) {
            // SAFETY: the header's contract: NULL or writable.
            let $first = unsafe { $crate::ffi::out($first, stringify!($first)) }?;
            // SAFETY: as above.
            let $second = unsafe { $crate::ffi::out($second, stringify!($second)) }?;
            let (first, second) = $body;
            $first.write(first);
            $second.write(second);
            Ok(())
        })
    };
    ($function:ident($($args:tt)*) $body:block) => {
        $crate::ffi::entry!(@guard $function($($args)*) {
            let () = $body;
            Ok(())
        })
    };
}
pub(crate) use entry;

/// The body of a `_count` function: `len` of the handle, 0 for NULL (and after a panic).
///
/// # Safety
/// `ptr` is NULL or points to a live `T`.
pub(crate) unsafe fn count<T>(function: &str, ptr: *const T, len: impl FnOnce(&T) -> usize) -> usize {
    // SAFETY: the caller's contract.
    guard_value(function, 0, || unsafe { ptr.as_ref() }.map_or(0, len))
}

/// The body of a `_free` function: frees a handle made by [`handle`]; NULL is a no-op.
///
/// # Safety
/// `ptr` is NULL or came from [`handle`] and was not freed yet.
pub(crate) unsafe fn free<T>(function: &str, ptr: *mut T) {
    // SAFETY: the caller's contract.
    guard_value(function, (), || unsafe { free_handle(ptr) })
}

/// A value read from a server or a file that is to become a C string: a NUL byte in it is an
/// `KM_STATUS_API` error.
pub(crate) fn no_nul<'a>(s: &'a str, what: &str) -> Result<&'a str, Failure> {
    match s.as_bytes().contains(&0) {
        false => Ok(s),
        true => Err(Failure::kind(kubemetrics::ErrorKind::Api, format!("{what} contains a NUL byte, which a C string cannot hold"))),
    }
}

/// A C string of a value read from a server or a file (see [`no_nul`]).
pub(crate) fn cstring(s: &str, what: &str) -> Result<CString, Failure> {
    Ok(CString::new(no_nul(s, what)?).unwrap_or_default())
}

/// A string a handle points to, in the storage of that handle (or of its list).
///
/// # Safety
/// `ptr` points to a NUL-terminated string that outlives `'a`.
pub(crate) unsafe fn borrowed_str<'a>(ptr: *const c_char) -> &'a CStr {
    // SAFETY: the caller's contract.
    unsafe { CStr::from_ptr(ptr) }
}

/// A range of an array in the storage of a handle (or of its list), which is never changed after
/// the handle was made and outlives it: what a row or item handle points to without owning it.
#[derive(Debug)]
pub(crate) struct Borrowed<T> {
    ptr: *const T,
    /// The number of elements.
    pub(crate) len: usize,
}

impl<T> Borrowed<T> {
    /// The elements `range` of `items`, which must not change (nor be dropped) while the result
    /// is used.
    pub(crate) fn of(items: &[T], range: std::ops::Range<usize>) -> Borrowed<T> {
        let part = items.get(range).unwrap_or_default();
        Borrowed { ptr: part.as_ptr(), len: part.len() }
    }

    /// The elements.
    pub(crate) fn get(&self) -> &[T] {
        // SAFETY: made by `of` from a slice of the storage of the handle holding this, which is
        // never changed after the handle was made and outlives it (the header's contract).
        unsafe { std::slice::from_raw_parts(self.ptr, self.len) }
    }
}

/// An owned C string for the caller (freed with `km_string_free`).
pub(crate) fn owned_string(s: String, what: &str) -> Result<*mut c_char, Failure> {
    Ok(cstring(&s, what)?.into_raw())
}

/// An owned handle for the caller (freed with the handle's `_free`).
pub(crate) fn handle<T>(value: T) -> *mut T {
    Box::into_raw(Box::new(value))
}

/// Frees a handle made by [`handle`]; NULL is a no-op.
///
/// # Safety
/// `ptr` is NULL or came from [`handle`] and was not freed yet.
pub(crate) unsafe fn free_handle<T>(ptr: *mut T) {
    if !ptr.is_null() {
        // SAFETY: the caller's contract.
        drop(unsafe { Box::from_raw(ptr) });
    }
}

/// The element at `index` of a slice, or `KM_STATUS_OUT_OF_RANGE`.
pub(crate) fn at<T>(items: &[T], index: usize) -> Result<&T, Failure> {
    items.get(index).ok_or_else(|| Failure::index(index, items.len()))
}
