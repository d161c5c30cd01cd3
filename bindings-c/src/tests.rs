//! Rust-side tests of the error model: what the C tests cannot provoke (a panic, NUL bytes in a
//! server's strings) and the stable status numbers. The C programs of tests/c cover the rest.

#![allow(clippy::unwrap_used)]

use super::*;
use crate::error::{Failure, guard};
use kubemetrics::ErrorKind;
use std::ffi::{CStr, CString};
use std::ptr;

fn last_message() -> String {
    unsafe { CStr::from_ptr(km_last_error_message()) }.to_string_lossy().into_owned()
}

/// Every status: its number and name, which never change, and the kubemetrics error kind it
/// reports (none for success and the binding's own statuses).
const STATUSES: [(km_status, i32, &str, Option<ErrorKind>); 13] = [
    (km_status::Ok, 0, "KM_STATUS_OK", None),
    (km_status::Config, 1, "KM_STATUS_CONFIG", Some(ErrorKind::Config)),
    (km_status::Auth, 2, "KM_STATUS_AUTH", Some(ErrorKind::Auth)),
    (km_status::NotFound, 3, "KM_STATUS_NOT_FOUND", Some(ErrorKind::NotFound)),
    (km_status::MetricsUnavailable, 4, "KM_STATUS_METRICS_UNAVAILABLE", Some(ErrorKind::MetricsUnavailable)),
    (km_status::Api, 5, "KM_STATUS_API", Some(ErrorKind::Api)),
    (km_status::Quantity, 6, "KM_STATUS_QUANTITY", Some(ErrorKind::Quantity)),
    (km_status::Io, 7, "KM_STATUS_IO", Some(ErrorKind::Io)),
    (km_status::Internal, 8, "KM_STATUS_INTERNAL", Some(ErrorKind::Internal)),
    (km_status::NullArgument, 100, "KM_STATUS_NULL_ARGUMENT", None),
    (km_status::Panic, 101, "KM_STATUS_PANIC", None),
    (km_status::InvalidUtf8, 102, "KM_STATUS_INVALID_UTF8", None),
    (km_status::OutOfRange, 103, "KM_STATUS_OUT_OF_RANGE", None),
];

#[test]
fn status_numbers_never_change() {
    for (status, number, name, _) in STATUSES {
        assert_eq!(status as i32, number);
        assert_eq!(unsafe { CStr::from_ptr(km_status_name(number)) }.to_str().unwrap(), name);
    }
    assert_eq!(unsafe { CStr::from_ptr(km_status_name(42)) }.to_str().unwrap(), "KM_STATUS_UNKNOWN");
}

#[test]
fn every_error_kind_has_its_status() {
    for (status, kind) in STATUSES.into_iter().filter_map(|(status, _, _, kind)| Some((status, kind?))) {
        assert_eq!(km_status::from_kind(kind), status);
        let s = guard("km_test", || Err(kubemetrics::Error::new(kind, format!("{kind} happened")).with_status(418).into()));
        assert_eq!(s, status);
        assert_eq!(km_last_error_status(), status);
        assert_eq!(km_last_error_http_status(), 418);
        // Core errors keep their own wording, without the function name.
        assert_eq!(last_message(), format!("{kind} happened"));
    }
}

#[test]
fn a_panic_becomes_km_status_panic_and_never_unwinds() {
    let s = guard("km_test_panic", || panic!("boom {}", 42));
    assert_eq!(s, km_status::Panic);
    assert_eq!(km_last_error_status(), km_status::Panic);
    assert_eq!(km_last_error_http_status(), 0);
    let message = last_message();
    assert!(message.starts_with("km_test_panic: kubemetrics panicked"), "{message}");
    assert!(message.contains("boom 42"), "{message}");
    // A later successful call clears it.
    assert_eq!(guard("km_test_ok", || Ok(())), km_status::Ok);
    assert_eq!(last_message(), "");
    assert_eq!(km_last_error_status(), km_status::Ok);
    // Functions returning plain values also catch panics.
    let v = crate::error::guard_value("km_test_value", 7usize, || panic!("static message"));
    assert_eq!(v, 7);
    assert!(last_message().contains("static message"));
}

#[test]
fn nul_bytes_in_server_strings_are_api_errors_and_messages_are_escaped() {
    let mut node = kubemetrics::testkit::loopback_api::fixtures::make_node_metrics("node-\0x", "1", "1Ki", &[]);
    let e = km_node_metrics_list::new(vec![node.clone()]).expect_err("NUL in a name");
    assert_eq!(e.status(), km_status::Api);
    node.metadata.name = Some("ok".into());
    node.metadata.labels = Some([("k".to_string(), "v\0".to_string())].into());
    assert_eq!(km_node_metrics_list::new(vec![node]).expect_err("NUL in a label").status(), km_status::Api);
    let s = guard("km_test", || Err(kubemetrics::Error::new(kubemetrics::ErrorKind::Api, "bad\0byte").into()));
    assert_eq!(s, km_status::Api);
    assert_eq!(last_message(), "bad\\0byte");
}

#[test]
fn last_error_copy_works_like_snprintf() {
    let _ = guard("km_f", || Err(Failure::null("x")));
    let full = last_message();
    assert_eq!(full, "km_f: argument `x` is NULL");
    assert_eq!(unsafe { km_last_error_message_copy(ptr::null_mut(), 0) }, full.len());
    let mut small = [1 as c_char; 5];
    assert_eq!(unsafe { km_last_error_message_copy(small.as_mut_ptr(), small.len()) }, full.len());
    assert_eq!(unsafe { CStr::from_ptr(small.as_ptr()) }.to_str().unwrap(), "km_f");
    km_last_error_clear();
    assert_eq!(last_message(), "");
    assert_eq!(unsafe { km_last_error_message_copy(small.as_mut_ptr(), small.len()) }, 0);
    assert_eq!(small[0], 0);
}

#[test]
fn quantity_round_trip_from_rust() {
    let text = CString::new("1.5Gi").unwrap();
    let mut q = ptr::null_mut();
    assert_eq!(unsafe { km_quantity_parse(text.as_ptr(), &mut q) }, km_status::Ok);
    let mut s = ptr::null_mut();
    assert_eq!(unsafe { km_quantity_to_string(q, &mut s) }, km_status::Ok);
    assert_eq!(unsafe { CStr::from_ptr(s) }.to_str().unwrap(), "1536Mi");
    unsafe {
        km_string_free(s);
        km_quantity_free(q);
    }
    assert_eq!(unsafe { km_quantity_parse(text.as_ptr(), ptr::null_mut()) }, km_status::NullArgument);
    assert_eq!(last_message(), "km_quantity_parse: argument `out` is NULL");
}

#[test]
fn version_is_the_crate_version() {
    assert_eq!(unsafe { CStr::from_ptr(km_version()) }.to_str().unwrap(), env!("CARGO_PKG_VERSION"));
}
