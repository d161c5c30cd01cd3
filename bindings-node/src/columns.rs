//! Lists handed to JavaScript as columns (the core's `PodMetricsColumns`, and `TopPodsTable`):
//! one text with every string, typed arrays for the numbers, and rows built in JavaScript on
//! first read by `rows.js` (evaluated once per environment). No JSON round trip and no N-API call
//! per pod.

use crate::raw::{JsText, call, call_method, function, out, set, this_and_arg, throwing};
use crate::wire::{RawValue, quantity_of};
use kubemetrics::metrics::table_columns::{PodMetricsColumns, Strings};
use kubemetrics::top::TopPodsTable;
use napi::bindgen_prelude::{BigInt64Array, Result, ToNapiValue, Uint8Array, Uint32Array};
use napi::{Env, sys};
use napi_derive::napi;
use std::cell::Cell;
use std::collections::HashMap;
use std::ffi::CStr;
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

/// The rows of `top pod`, built in JavaScript on first read, straight from the core's table.
///
/// Per row the strings name, CPU and memory, then CPU and memory of each container (row `i` starts
/// at string `3 * i + 2 * podContainers[i]`); namespaces and container names, which repeat, are
/// each sent once (`shared`, found through `rowNamespaces` and `containerNames`).
pub fn top_pods(env: &Env, t: &TopPodsTable) -> Result<RawValue> {
    let mut strings = Strings::default();
    let mut shared = Shared::default();
    let mut row_namespaces = Vec::with_capacity(t.len());
    let mut pod_containers = Vec::with_capacity(t.len() + 1);
    let mut container_names = Vec::new();
    let (mut cpu_milli, mut memory_bytes) = (Vec::with_capacity(t.len()), Vec::with_capacity(t.len()));
    let mut exact = true;
    let mut fit = |v: Option<i128>| {
        let v = v.and_then(|v| i64::try_from(v).ok());
        exact &= v.is_some();
        v.unwrap_or(0)
    };
    for row in t.iter() {
        row_namespaces.push(shared.index(0, row.namespace().as_str()));
        pod_containers.push(container_names.len() as u32);
        strings.push(row.name().as_str());
        strings.push_quantity(&row.cpu());
        strings.push_quantity(&row.memory());
        for (n, c) in row.containers().enumerate() {
            container_names.push(shared.index(1 + n, c.name().as_str()));
            let (cpu, memory) = c.usage();
            strings.push_quantity(&cpu);
            strings.push_quantity(&memory);
        }
        cpu_milli.push(fit(row.cpu().milli_value()));
        memory_bytes.push(fit(row.memory().value()));
    }
    pod_containers.push(container_names.len() as u32);
    let raw = env.raw();
    // SAFETY: on the JavaScript thread, inside the callback that converts the result.
    unsafe {
        let o = columns_object(raw, strings, pod_containers, memory_bytes, exact)?;
        set(raw, o, c"shared", JsText(&shared.strings.text))?;
        set(raw, o, c"sharedEnds", Uint32Array::new(shared.strings.ends))?;
        set(raw, o, c"rowNamespaces", Uint32Array::new(row_namespaces))?;
        set(raw, o, c"containerNames", Uint32Array::new(container_names))?;
        set(raw, o, c"cpuMilliCores", BigInt64Array::new(cpu_milli))?;
        build(raw, c"topPods", o).map(RawValue)
    }
}

/// Strings that repeat (namespaces, container names), each kept once.
#[derive(Default)]
struct Shared<'a> {
    strings: Strings,
    seen: HashMap<&'a str, u32>,
    /// The last string looked up in each slot and its index: rows sorted by namespace repeat
    /// the last namespace, and the n-th container of most pods has the same name.
    recent: [Option<(&'a str, u32)>; 4],
}

impl<'a> Shared<'a> {
    /// The index of `s`, pushed on first sight; `slot` says which kind of string it is (its
    /// last answer is tried before the map).
    fn index(&mut self, slot: usize, s: &'a str) -> u32 {
        let slot = slot.min(self.recent.len() - 1);
        if let Some((last, i)) = self.recent[slot]
            && last == s
        {
            return i;
        }
        let i = *self.seen.entry(s).or_insert_with(|| self.strings.push(s));
        self.recent[slot] = Some((s, i));
        i
    }
}

/// `{ text, ends, podContainers, memoryBytes, exact }`: what both kinds of columns have.
unsafe fn columns_object(env: sys::napi_env, s: Strings, pod_containers: Vec<u32>, memory_bytes: Vec<i64>, exact: bool) -> Result<sys::napi_value> {
    unsafe {
        let o = out!(napi_create_object(env))?;
        set(env, o, c"text", JsText(&s.text))?;
        set(env, o, c"ends", Uint32Array::new(s.ends))?;
        set(env, o, c"podContainers", Uint32Array::new(pod_containers))?;
        set(env, o, c"memoryBytes", BigInt64Array::new(memory_bytes))?;
        set(env, o, c"exact", exact)?;
        Ok(o)
    }
}

thread_local! {
    /// The builders of `rows.js` for this thread's JavaScript environment (one per thread).
    static BUILDERS: Cell<sys::napi_ref> = const { Cell::new(ptr::null_mut()) };
}

/// `builders[which](columns)`, evaluating `rows.js` on first use.
unsafe fn build(env: sys::napi_env, which: &CStr, columns: sys::napi_value) -> Result<sys::napi_value> {
    unsafe { build_with(env, which, &[columns]) }
}

/// `builders[which](...args)`, evaluating `rows.js` on first use.
pub(crate) unsafe fn build_with(env: sys::napi_env, which: &CStr, args: &[sys::napi_value]) -> Result<sys::napi_value> {
    unsafe {
        let reference = BUILDERS.get();
        let mut builders = match reference.is_null() {
            true => ptr::null_mut(),
            false => out!(napi_get_reference_value(env, reference)).unwrap_or(ptr::null_mut()),
        };
        if builders.is_null() {
            builders = evaluate(env)?;
            BUILDERS.set(out!(napi_create_reference(env, builders, 1))?);
        }
        call_method(env, builders, which, args)
    }
}

/// Runs `rows.js` and calls its `init` with the native `Quantity` parser.
unsafe fn evaluate(env: sys::napi_env) -> Result<sys::napi_value> {
    unsafe {
        let source = JsText::to_napi_value(env, JsText(include_str!("rows.js")))?;
        let init = out!(napi_run_script(env, source))?;
        call(env, out!(napi_get_undefined(env))?, init, &[function(env, c"toQuantity", to_quantity_callback)?])
    }
}

/// `toQuantity(s)`: `new Quantity(s)` for `usageQuantities`.
unsafe extern "C" fn to_quantity_callback(env: sys::napi_env, info: sys::napi_callback_info) -> sys::napi_value {
    // SAFETY: napi calls this function on the JavaScript thread.
    unsafe { throwing(env, info, |env, info| quantity_of(env, this_and_arg(env, info)?.1)) }
}
