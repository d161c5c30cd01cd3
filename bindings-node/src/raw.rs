//! The raw N-API calls the binding makes by hand (where napi-rs' typed conversions would cost a
//! call per value), each sequence in one place: [`out!`] returns what a call writes through its
//! last argument, and the helpers below are the steps several modules take.
//!
//! Every function here is `unsafe`: call it on the JavaScript thread with the live environment
//! of the current callback, and with handles of the current handle scope.

use napi::bindgen_prelude::{JsError, Result, ToNapiValue};
use napi::{check_status, sys};
use std::ffi::{CStr, c_char};
use std::ptr;

/// `sys::f(args.., &mut out)`, then `out` (a null handle before the call, or the value after
/// `from`); a status other than `napi_ok` is an error.
macro_rules! out {
    ($f:ident($($arg:expr),* $(,)?)) => { $crate::raw::out!($f($($arg),*) from ::std::ptr::null_mut()) };
    ($f:ident($($arg:expr),* $(,)?) from $init:expr) => {{
        let mut out = $init;
        ::napi::check_status!(::napi::sys::$f($($arg,)* &mut out)).map(|()| out)
    }};
}
pub(crate) use out;

/// A native callback as N-API takes it.
pub(crate) type Callback = unsafe extern "C" fn(sys::napi_env, sys::napi_callback_info) -> sys::napi_value;

/// `object[name]`.
pub(crate) unsafe fn named(env: sys::napi_env, object: sys::napi_value, name: &CStr) -> Result<sys::napi_value> {
    unsafe { out!(napi_get_named_property(env, object, name.as_ptr())) }
}

/// `globalThis[name]` (`JSON`, `Object`).
pub(crate) unsafe fn global(env: sys::napi_env, name: &CStr) -> Result<sys::napi_value> {
    unsafe { named(env, out!(napi_get_global(env))?, name) }
}

/// `object[name] = value`.
pub(crate) unsafe fn set<V: ToNapiValue>(env: sys::napi_env, object: sys::napi_value, name: &CStr, value: V) -> Result<()> {
    unsafe {
        let value = V::to_napi_value(env, value)?;
        check_status!(sys::napi_set_named_property(env, object, name.as_ptr(), value))
    }
}

/// `function.apply(this, args)`.
pub(crate) unsafe fn call(env: sys::napi_env, this: sys::napi_value, function: sys::napi_value, args: &[sys::napi_value]) -> Result<sys::napi_value> {
    unsafe { out!(napi_call_function(env, this, function, args.len(), args.as_ptr())) }
}

/// `object[method](...args)`.
pub(crate) unsafe fn call_method(env: sys::napi_env, object: sys::napi_value, method: &CStr, args: &[sys::napi_value]) -> Result<sys::napi_value> {
    unsafe { call(env, object, named(env, object, method)?, args) }
}

/// A JavaScript function named `name` that runs the native `callback`.
pub(crate) unsafe fn function(env: sys::napi_env, name: &CStr, callback: Callback) -> Result<sys::napi_value> {
    let len = name.to_bytes().len() as isize;
    unsafe { out!(napi_create_function(env, name.as_ptr(), len, Some(callback), ptr::null_mut())) }
}

/// `this` and the first argument (`undefined` when none: N-API fills missing ones) of the
/// callback `info`.
pub(crate) unsafe fn this_and_arg(env: sys::napi_env, info: sys::napi_callback_info) -> Result<(sys::napi_value, sys::napi_value)> {
    let (mut argc, mut arg, mut this) = (1usize, ptr::null_mut(), ptr::null_mut());
    unsafe { check_status!(sys::napi_get_cb_info(env, info, &mut argc, &mut arg, &mut this, ptr::null_mut()))? };
    Ok((this, arg))
}

/// Runs `f` in a handle scope of its own (for loops that make a handle per element), closing
/// it on every path.
pub(crate) unsafe fn scoped<T>(env: sys::napi_env, f: impl FnOnce() -> Result<T>) -> Result<T> {
    let scope = unsafe { out!(napi_open_handle_scope(env))? };
    let result = f();
    let closed = unsafe { check_status!(sys::napi_close_handle_scope(env, scope)) };
    let value = result?;
    closed.map(|()| value)
}

/// Runs the body `f` of a native callback; an error is thrown into JavaScript.
pub(crate) unsafe fn throwing(
    env: sys::napi_env,
    info: sys::napi_callback_info,
    f: unsafe fn(sys::napi_env, sys::napi_callback_info) -> Result<sys::napi_value>,
) -> sys::napi_value {
    match unsafe { f(env, info) } {
        Ok(value) => value,
        Err(e) => {
            // SAFETY: we are inside a napi callback on the JavaScript thread.
            unsafe { JsError::from(e).throw_into(env) };
            ptr::null_mut()
        }
    }
}

/// A JavaScript string of a Rust one (Latin-1 when ASCII, which V8 takes without decoding).
#[derive(Debug, Clone, Copy)]
pub(crate) struct JsText<'a>(pub(crate) &'a str);

impl ToNapiValue for JsText<'_> {
    unsafe fn to_napi_value(env: sys::napi_env, val: Self) -> Result<sys::napi_value> {
        let (text, len) = (val.0.as_ptr().cast::<c_char>(), val.0.len() as isize);
        // SAFETY: `env` is the live environment napi hands to every conversion; ASCII is Latin-1.
        unsafe {
            match val.0.is_ascii() {
                true => out!(napi_create_string_latin1(env, text, len)),
                false => out!(napi_create_string_utf8(env, text, len)),
            }
        }
    }
}
