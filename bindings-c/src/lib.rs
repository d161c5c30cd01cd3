//! # kubemetrics C binding (`libkubemetrics`, `kubemetrics.h`)
//!
//! Exact Kubernetes quantities, typed `metrics.k8s.io` reads and kubectl-identical `top` for C.
//! Every function here converts its arguments, calls one function of the `kubemetrics` crate,
//! converts the result and maps the error; all logic lives in the core crate.
//!
//! Conventions (stated again in the generated header):
//! - Functions return a [`km_status`]; results go to out-parameters, written only on success.
//! - Every pointer argument is checked: NULL where not allowed gives `KM_STATUS_NULL_ARGUMENT`.
//! - Every entry point runs behind `catch_unwind`: a panic becomes `KM_STATUS_PANIC`.
//! - The last failure's message and HTTP status are kept per thread (`km_last_error_message`).
//! - Handles are opaque; each `_new`/`_parse`/client call that returns `T **out` gives an owned
//!   handle freed with its `_free` (which accepts NULL); accessors return `const` pointers that
//!   are borrowed from their handle.

#![allow(non_camel_case_types)]
#![allow(clippy::missing_safety_doc)]

// In the order of the header: errors, quantities, the client, metrics objects, top.
mod error;

mod quantity;

mod client;

mod metrics;

mod top;

mod ffi;

pub use client::*;
pub use error::*;
pub use metrics::*;
pub use quantity::*;
pub use top::*;

use std::ffi::c_char;

/// The version of the kubemetrics C library (`"0.1.0"`). Static: never freed, never NULL.
#[unsafe(no_mangle)]
pub extern "C" fn km_version() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
}

/// Stops the process-wide runtime that blocking calls run on, freeing its threads and memory.
/// Optional, like `curl_global_cleanup`: call it at most once at the end of the program, after
/// freeing every client, when no other thread is in a kubemetrics call (for leak checkers such
/// as valgrind, or before unloading the library). It waits at most 5 s for blocking work still
/// running. A later blocking call starts a new runtime; a client made before `km_shutdown` cannot
/// be used after it (its calls fail) and can only be freed.
#[unsafe(no_mangle)]
pub extern "C" fn km_shutdown() {
    error::guard_value("km_shutdown", (), || ffi::shutdown_runtime(std::time::Duration::from_secs(5)))
}

#[cfg(test)]
mod tests;
