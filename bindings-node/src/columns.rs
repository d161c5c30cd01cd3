//! Lists handed to JavaScript as columns (the core's `PodMetricsColumns` and `TopPodsColumns`):
//! one text with every string, typed arrays for the numbers, and rows built in JavaScript on
//! first read by `rows.js` (evaluated once per environment). No JSON round trip and no N-API call
//! per pod.

use crate::wire::{RawValue, quantity_of, throwing};
use kubemetrics::metrics::table_columns::{PodMetricsColumns, Strings};
use kubemetrics::top::columns::TopPodsColumns;
use napi::bindgen_prelude::{BigInt64Array, Result, ToNapiValue, Uint8Array, Uint32Array};
use napi::{Env, check_status, sys};
use napi_derive::napi;
use std::cell::Cell;
use std::ffi::{CStr, c_char};
use std::ptr;

/// Exact per-container usage of a `listPodMetrics()` result as typed arrays, without building a
/// row or a `Quantity` (`result.usageColumns`, not enumerable).
///
/// ```js
/// const pods = await client.listPodMetrics()
/// const { podContainers, cpuNanoCores, memoryBytes } = pods.usageColumns
/// for (let i = 0; i < pods.length; i++) {
///   let cpu = 0n
///   for (let c = podContainers[i]; c < podContainers[i + 1]; c++) cpu += cpuNanoCores[c]
/// }
/// ```
#[napi(object, object_from_js = false)]
#[allow(missing_debug_implementations)] // napi's typed arrays have no `Debug`
pub struct PodUsageColumns {
    /// Per pod, the index of its first container in the other columns; one more entry than pods
    /// (the containers of pod `i` are `podContainers[i]` up to `podContainers[i + 1]`).
    pub pod_containers: Uint32Array,
    /// Per container, CPU usage in nano-cores (`0n` when not reported).
    pub cpu_nano_cores: BigInt64Array,
    /// Per container, memory usage in bytes, rounded up like `Quantity.value` (`0n` when not
    /// reported).
    pub memory_bytes: BigInt64Array,
    /// `false` when some value does not fit a 64-bit integer in these units; that entry then holds
    /// `0n` and only `usageQuantities` has it.
    pub exact: bool,
}

/// Exact per-row usage of a `topPods()` result as typed arrays, in row order
/// (`result.pods.usageColumns`, not enumerable).
#[napi(object, object_from_js = false)]
#[allow(missing_debug_implementations)] // napi's typed arrays have no `Debug`
pub struct PodRowUsageColumns {
    /// Per row, CPU in millicores, as `kubectl top` prints it.
    pub cpu_milli_cores: BigInt64Array,
    /// Per row, memory in bytes.
    pub memory_bytes: BigInt64Array,
    /// `false` when some value does not fit a 64-bit integer; that entry then holds `0n`.
    pub exact: bool,
}

/// The rows of a pod metrics list, built in JavaScript on first read.
pub fn pod_metrics(env: &Env, c: PodMetricsColumns) -> Result<RawValue> {
    let raw = env.raw();
    // SAFETY: on the JavaScript thread, inside the callback that converts the result.
    unsafe {
        let o = columns_object(raw, c.strings, c.pod_containers, c.container_memory_bytes, c.exact)?;
        set(raw, o, c"podStrings", Uint32Array::new(c.pod_strings))?;
        set(raw, o, c"podFlags", Uint8Array::new(c.pod_flags))?;
        set(raw, o, c"podLabels", Uint32Array::new(c.pod_labels))?;
        set(raw, o, c"containerFlags", Uint8Array::new(c.container_flags))?;
        set(raw, o, c"cpuNanoCores", BigInt64Array::new(c.container_cpu_nanos))?;
        build(raw, c"podMetrics", o).map(RawValue)
    }
}

/// The rows of `top pod`, built in JavaScript on first read.
pub fn top_pods(env: &Env, c: TopPodsColumns) -> Result<RawValue> {
    let raw = env.raw();
    // SAFETY: on the JavaScript thread, inside the callback that converts the result.
    unsafe {
        let o = columns_object(raw, c.strings, c.pod_containers, c.pod_memory_bytes, c.exact)?;
        set(raw, o, c"cpuMilliCores", BigInt64Array::new(c.pod_cpu_milli))?;
        build(raw, c"topPods", o).map(RawValue)
    }
}

/// `{ text, ends, podContainers, memoryBytes, exact }`: what both kinds of columns have.
unsafe fn columns_object(env: sys::napi_env, s: Strings, pod_containers: Vec<u32>, memory_bytes: Vec<i64>, exact: bool) -> Result<sys::napi_value> {
    let mut o = ptr::null_mut();
    let mut text = ptr::null_mut();
    unsafe {
        check_status!(sys::napi_create_object(env, &mut o))?;
        check_status!(sys::napi_create_string_utf8(env, s.text.as_ptr().cast::<c_char>(), s.text.len() as isize, &mut text))?;
        check_status!(sys::napi_set_named_property(env, o, c"text".as_ptr(), text))?;
        set(env, o, c"ends", Uint32Array::new(s.ends))?;
        set(env, o, c"podContainers", Uint32Array::new(pod_containers))?;
        set(env, o, c"memoryBytes", BigInt64Array::new(memory_bytes))?;
        set(env, o, c"exact", exact)?;
    }
    Ok(o)
}

unsafe fn set<V: ToNapiValue>(env: sys::napi_env, o: sys::napi_value, name: &CStr, value: V) -> Result<()> {
    unsafe {
        let v = V::to_napi_value(env, value)?;
        check_status!(sys::napi_set_named_property(env, o, name.as_ptr(), v))
    }
}

thread_local! {
    /// The builders of `rows.js` for this thread's JavaScript environment (one per thread).
    static BUILDERS: Cell<sys::napi_ref> = const { Cell::new(ptr::null_mut()) };
}

/// `builders[which](columns)`, evaluating `rows.js` on first use.
pub(crate) unsafe fn build(env: sys::napi_env, which: &CStr, columns: sys::napi_value) -> Result<sys::napi_value> {
    let mut builders = ptr::null_mut();
    let mut function = ptr::null_mut();
    let mut result = ptr::null_mut();
    unsafe {
        let reference = BUILDERS.get();
        if reference.is_null() || check_status!(sys::napi_get_reference_value(env, reference, &mut builders)).is_err() || builders.is_null() {
            builders = evaluate(env)?;
            let mut reference = ptr::null_mut();
            check_status!(sys::napi_create_reference(env, builders, 1, &mut reference))?;
            BUILDERS.set(reference);
        }
        check_status!(sys::napi_get_named_property(env, builders, which.as_ptr(), &mut function))?;
        check_status!(sys::napi_call_function(env, builders, function, 1, &columns, &mut result))?;
    }
    Ok(result)
}

/// Runs `rows.js` and calls its `init` with the native `Quantity` parser.
unsafe fn evaluate(env: sys::napi_env) -> Result<sys::napi_value> {
    const SOURCE: &str = include_str!("rows.js");
    let mut source = ptr::null_mut();
    let mut init = ptr::null_mut();
    let mut to_quantity = ptr::null_mut();
    let mut undefined = ptr::null_mut();
    let mut builders = ptr::null_mut();
    unsafe {
        check_status!(sys::napi_create_string_utf8(env, SOURCE.as_ptr().cast::<c_char>(), SOURCE.len() as isize, &mut source))?;
        check_status!(sys::napi_run_script(env, source, &mut init))?;
        check_status!(sys::napi_create_function(env, c"toQuantity".as_ptr(), 10, Some(to_quantity_callback), ptr::null_mut(), &mut to_quantity))?;
        check_status!(sys::napi_get_undefined(env, &mut undefined))?;
        check_status!(sys::napi_call_function(env, undefined, init, 1, &to_quantity, &mut builders))?;
    }
    Ok(builders)
}

/// `toQuantity(s)`: `new Quantity(s)` for `usageQuantities`.
unsafe extern "C" fn to_quantity_callback(env: sys::napi_env, info: sys::napi_callback_info) -> sys::napi_value {
    // SAFETY: napi calls this function on the JavaScript thread.
    unsafe { throwing(env, info, to_quantity) }
}

unsafe fn to_quantity(env: sys::napi_env, info: sys::napi_callback_info) -> Result<sys::napi_value> {
    let mut argc = 1usize;
    let mut arg = ptr::null_mut();
    unsafe {
        check_status!(sys::napi_get_cb_info(env, info, &mut argc, &mut arg, ptr::null_mut(), ptr::null_mut()))?;
        quantity_of(env, arg)
    }
}
