//! `top`: `km_top_node_rows` and `km_top_pods`, the data rows of `kubectl top node|pod`, and the
//! kubectl tables rendered from them.

use crate::error::{Failure, km_status};
use crate::ffi::{Borrowed, arg, at, count, cstring, entry, free, owned_string};
use crate::quantity::km_quantity;
use kubemetrics::top::{NodeRow, TopPodsTable, render_nodes, render_pods_table};
use std::ffi::{CString, c_char};

/// One row of `top node`: the node name, CPU and memory usage, allocatable (or capacity with
/// `show_capacity`) and usage in percent of it, truncated like kubectl. A node without metrics
/// (kubectl's `<unknown>` row) has no usage and no percentages.
///
/// Always borrowed from its `km_top_node_rows` (valid until that is freed), as are the strings
/// and quantities of its accessors.
#[derive(Debug)]
pub struct km_top_node_row {
    name: CString,
    has_metrics: bool,
    cpu: Option<km_quantity>,
    memory: Option<km_quantity>,
    cpu_available: Option<km_quantity>,
    memory_available: Option<km_quantity>,
    cpu_percent: Option<i64>,
    memory_percent: Option<i64>,
}

impl km_top_node_row {
    fn new(r: &NodeRow) -> Result<km_top_node_row, Failure> {
        Ok(km_top_node_row {
            name: cstring(&r.name, "a node name")?,
            has_metrics: r.has_metrics(),
            cpu: r.cpu.map(km_quantity::new),
            memory: r.memory.map(km_quantity::new),
            cpu_available: r.cpu_available.map(km_quantity::new),
            memory_available: r.memory_available.map(km_quantity::new),
            cpu_percent: r.cpu_percent,
            memory_percent: r.memory_percent,
        })
    }
}

/// The rows of `kubectl top node`: nodes with metrics first, in the chosen order, then one row
/// per node without metrics (by name).
///
/// Owned (from `km_client_top_nodes`): free with `km_top_node_rows_free`, which also frees every
/// row borrowed from it.
#[derive(Debug)]
pub struct km_top_node_rows {
    core: Vec<NodeRow>,
    rows: Vec<km_top_node_row>,
}

impl km_top_node_rows {
    pub(crate) fn new(core: Vec<NodeRow>) -> Result<km_top_node_rows, Failure> {
        let rows = core.iter().map(km_top_node_row::new).collect::<Result<_, _>>()?;
        Ok(km_top_node_rows { core, rows })
    }
}

/// One container's usage in `top pod`: name, CPU, memory.
///
/// Always borrowed from its `km_top_pods` (valid until that is freed).
#[derive(Debug)]
pub struct km_top_container_row {
    /// Borrowed from the name buffer of the `km_top_pods` (its `core`).
    name: *const c_char,
    cpu: km_quantity,
    memory: km_quantity,
}

/// One pod's usage in `top pod`: namespace, name, CPU and memory summed over its containers, and
/// per-container usage in kubectl's container order for the chosen sort.
///
/// Always borrowed from its `km_top_pods` (valid until that is freed).
#[derive(Debug)]
pub struct km_top_pod_row {
    /// Borrowed from the name buffer of the `km_top_pods` (its `core`).
    namespace: *const c_char,
    /// As `namespace`.
    name: *const c_char,
    cpu: km_quantity,
    memory: km_quantity,
    /// This row's range of the `containers` of the `km_top_pods`.
    containers: Borrowed<km_top_container_row>,
}

/// The result of `kubectl top pod`: rows in kubectl's order, the totals (what `--sum` prints)
/// and the namespace read.
///
/// Backed by the core's `kubemetrics::top::TopPodsTable` (sorted and summed on the compact pod
/// metrics table): every name of the rows sits once, NUL-terminated, in its one name buffer, and
/// the rows and containers are two arrays pointing into it, so no allocation is made per row.
/// Owned (from `km_client_top_pods`): free with `km_top_pods_free`, which also frees every row,
/// string and quantity borrowed from it.
#[derive(Debug)]
pub struct km_top_pods {
    /// Owns the name buffer the rows point into; never changed after `new`.
    core: TopPodsTable,
    namespace: Option<CString>,
    total_cpu: km_quantity,
    total_memory: km_quantity,
    pods: Vec<km_top_pod_row>,
    /// Every row's containers, each row's a range; never changed after `new`. Only read through
    /// the rows' pointers into it.
    #[allow(dead_code)]
    containers: Vec<km_top_container_row>,
}

impl km_top_pods {
    pub(crate) fn new(core: TopPodsTable) -> Result<km_top_pods, Failure> {
        let mut containers: Vec<km_top_container_row> = Vec::with_capacity(core.iter().map(|r| r.containers().len()).sum());
        for c in core.iter().flat_map(|r| r.containers()) {
            let (cpu, memory) = c.usage();
            containers.push(km_top_container_row { name: c.name().as_c_str().as_ptr(), cpu: km_quantity::new(cpu), memory: km_quantity::new(memory) });
        }
        // `containers` is complete: its heap block no longer moves, so rows may point into it.
        let mut next = 0;
        let pods = core
            .iter()
            .map(|r| {
                let range = next..next + r.containers().len();
                next = range.end;
                km_top_pod_row {
                    namespace: r.namespace().as_c_str().as_ptr(),
                    name: r.name().as_c_str().as_ptr(),
                    cpu: km_quantity::new(r.cpu()),
                    memory: km_quantity::new(r.memory()),
                    containers: Borrowed::of(&containers, range),
                }
            })
            .collect();
        // The rows point into heap blocks (the name buffer of `core`, `containers`), which stay
        // where they are when these values move into the handle.
        Ok(km_top_pods {
            namespace: core.namespace().map(|ns| cstring(ns, "a namespace")).transpose()?,
            total_cpu: km_quantity::new(core.total_cpu()),
            total_memory: km_quantity::new(core.total_memory()),
            pods,
            containers,
            core,
        })
    }
}

fn borrowed(q: &Option<km_quantity>) -> *const km_quantity {
    q.as_ref().map_or(std::ptr::null(), |q| q as *const km_quantity)
}

// SAFETY (every `unsafe` block below): pointer arguments follow the header's contract: NULL or
// pointing to a live object of the named type, out-parameters writable.

/// The number of rows (0 for NULL).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn km_top_node_rows_count(rows: *const km_top_node_rows) -> usize {
    unsafe { count("km_top_node_rows_count", rows, |r| r.rows.len()) }
}

/// The row at `index` (below `km_top_node_rows_count`).
///
/// - `out`: on success, a borrowed row: valid until `rows` is freed; never free it.
///
/// Errors: `KM_STATUS_OUT_OF_RANGE` when `index` is not below the count.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn km_top_node_rows_get(rows: *const km_top_node_rows, index: usize, out: *mut *const km_top_node_row) -> km_status {
    entry!(km_top_node_rows_get(arg rows) -> out { at(&rows.rows, index)? })
}

/// The `kubectl top node` table of these rows, byte for byte as kubectl 1.32 prints it
/// (`no_headers`: `--no-headers`). Empty when no row has metrics.
///
/// - `out`: on success, an owned string (free with `km_string_free`).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn km_top_node_rows_render(rows: *const km_top_node_rows, no_headers: bool, out: *mut *mut c_char) -> km_status {
    entry!(km_top_node_rows_render(arg rows) -> out { owned_string(render_nodes(&rows.core, no_headers), "the table")? })
}

/// Frees the rows of `km_client_top_nodes` and everything borrowed from them. NULL is a no-op.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn km_top_node_rows_free(rows: *mut km_top_node_rows) {
    unsafe { free("km_top_node_rows_free", rows) }
}

/// The node name.
///
/// - `out`: on success, a borrowed string: valid until the rows are freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn km_top_node_row_name(row: *const km_top_node_row, out: *mut *const c_char) -> km_status {
    entry!(km_top_node_row_name(arg row) -> out { row.name.as_ptr() })
}

/// Whether the node reported metrics (`false`: kubectl's `<unknown>` row).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn km_top_node_row_has_metrics(row: *const km_top_node_row, out: *mut bool) -> km_status {
    entry!(km_top_node_row_has_metrics(arg row) -> out { row.has_metrics })
}

/// CPU usage in cores.
///
/// - `out`: on success, a borrowed quantity (valid until the rows are freed), or NULL when the
///   node reported no metrics (kubectl's `<unknown>`).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn km_top_node_row_cpu(row: *const km_top_node_row, out: *mut *const km_quantity) -> km_status {
    entry!(km_top_node_row_cpu(arg row) -> out { borrowed(&row.cpu) })
}

/// Memory usage in bytes.
///
/// - `out`: on success, a borrowed quantity (valid until the rows are freed), or NULL when the
///   node reported no metrics (kubectl's `<unknown>`).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn km_top_node_row_memory(row: *const km_top_node_row, out: *mut *const km_quantity) -> km_status {
    entry!(km_top_node_row_memory(arg row) -> out { borrowed(&row.memory) })
}

/// CPU allocatable (or capacity with `show_capacity`).
///
/// - `out`: on success, a borrowed quantity (valid until the rows are freed), or NULL when the
///   Node object does not state it.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn km_top_node_row_cpu_available(row: *const km_top_node_row, out: *mut *const km_quantity) -> km_status {
    entry!(km_top_node_row_cpu_available(arg row) -> out { borrowed(&row.cpu_available) })
}

/// Memory allocatable (or capacity with `show_capacity`).
///
/// - `out`: on success, a borrowed quantity (valid until the rows are freed), or NULL when the
///   Node object does not state it.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn km_top_node_row_memory_available(row: *const km_top_node_row, out: *mut *const km_quantity) -> km_status {
    entry!(km_top_node_row_memory_available(arg row) -> out { borrowed(&row.memory_available) })
}

/// CPU usage in percent of the CPU available, truncated like kubectl
/// (`int64(float64(used.MilliValue()) / float64(available.MilliValue()) * 100)`).
///
/// - `has_value`: on success, `false` when there is no percentage (no metrics, or the Node
///   states no allocatable); `out` is then 0.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn km_top_node_row_cpu_percent(row: *const km_top_node_row, has_value: *mut bool, out: *mut i64) -> km_status {
    entry!(km_top_node_row_cpu_percent(arg row) -> (has_value, out) { (row.cpu_percent.is_some(), row.cpu_percent.unwrap_or(0)) })
}

/// Memory usage in percent of the memory available, truncated like kubectl.
///
/// - `has_value`: on success, `false` when there is no percentage (no metrics, or the Node
///   states no allocatable); `out` is then 0.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn km_top_node_row_memory_percent(row: *const km_top_node_row, has_value: *mut bool, out: *mut i64) -> km_status {
    entry!(km_top_node_row_memory_percent(arg row) -> (has_value, out) { (row.memory_percent.is_some(), row.memory_percent.unwrap_or(0)) })
}

/// The number of pod rows (0 for NULL).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn km_top_pods_count(top: *const km_top_pods) -> usize {
    unsafe { count("km_top_pods_count", top, |t| t.pods.len()) }
}

/// The pod row at `index` (below `km_top_pods_count`, in kubectl's order).
///
/// - `out`: on success, a borrowed row: valid until `top` is freed; never free it.
///
/// Errors: `KM_STATUS_OUT_OF_RANGE` when `index` is not below the count.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn km_top_pods_get(top: *const km_top_pods, index: usize, out: *mut *const km_top_pod_row) -> km_status {
    entry!(km_top_pods_get(arg top) -> out { at(&top.pods, index)? })
}

/// Total CPU over all rows (what `--sum` prints).
///
/// - `out`: on success, a borrowed quantity: valid until `top` is freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn km_top_pods_total_cpu(top: *const km_top_pods, out: *mut *const km_quantity) -> km_status {
    entry!(km_top_pods_total_cpu(arg top) -> out { &top.total_cpu })
}

/// Total memory over all rows (what `--sum` prints).
///
/// - `out`: on success, a borrowed quantity: valid until `top` is freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn km_top_pods_total_memory(top: *const km_top_pods, out: *mut *const km_quantity) -> km_status {
    entry!(km_top_pods_total_memory(arg top) -> out { &top.total_memory })
}

/// The namespace read.
///
/// - `out`: on success, a borrowed string (valid until `top` is freed), or NULL when all
///   namespaces were read.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn km_top_pods_namespace(top: *const km_top_pods, out: *mut *const c_char) -> km_status {
    entry!(km_top_pods_namespace(arg top) -> out { top.namespace.as_ref().map_or(std::ptr::null(), |ns| ns.as_ptr()) })
}

/// The `kubectl top pod` table of this result, byte for byte as kubectl 1.32 prints it
/// (`containers`: `--containers`, `no_headers`: `--no-headers`, `sum`: `--sum`; namespaces are
/// shown when all namespaces were read). Empty when there is no row.
///
/// - `out`: on success, an owned string (free with `km_string_free`).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn km_top_pods_render(top: *const km_top_pods, containers: bool, no_headers: bool, sum: bool, out: *mut *mut c_char) -> km_status {
    entry!(km_top_pods_render(arg top) -> out { owned_string(render_pods_table(&top.core, containers, no_headers, sum), "the table")? })
}

/// Frees the result of `km_client_top_pods` and everything borrowed from it. NULL is a no-op.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn km_top_pods_free(top: *mut km_top_pods) {
    unsafe { free("km_top_pods_free", top) }
}

/// The pod's namespace.
///
/// - `out`: on success, a borrowed string: valid until the `km_top_pods` is freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn km_top_pod_row_namespace(row: *const km_top_pod_row, out: *mut *const c_char) -> km_status {
    entry!(km_top_pod_row_namespace(arg row) -> out { row.namespace })
}

/// The pod name.
///
/// - `out`: on success, a borrowed string: valid until the `km_top_pods` is freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn km_top_pod_row_name(row: *const km_top_pod_row, out: *mut *const c_char) -> km_status {
    entry!(km_top_pod_row_name(arg row) -> out { row.name })
}

/// CPU usage, summed over containers.
///
/// - `out`: on success, a borrowed quantity: valid until the `km_top_pods` is freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn km_top_pod_row_cpu(row: *const km_top_pod_row, out: *mut *const km_quantity) -> km_status {
    entry!(km_top_pod_row_cpu(arg row) -> out { &row.cpu })
}

/// Memory usage, summed over containers.
///
/// - `out`: on success, a borrowed quantity: valid until the `km_top_pods` is freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn km_top_pod_row_memory(row: *const km_top_pod_row, out: *mut *const km_quantity) -> km_status {
    entry!(km_top_pod_row_memory(arg row) -> out { &row.memory })
}

/// The number of containers of the pod row (0 for NULL).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn km_top_pod_row_containers_count(row: *const km_top_pod_row) -> usize {
    unsafe { count("km_top_pod_row_containers_count", row, |r| r.containers.len) }
}

/// The container at `index` (below `km_top_pod_row_containers_count`, in kubectl's container
/// order for the chosen sort).
///
/// - `out`: on success, a borrowed row: valid until the `km_top_pods` is freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn km_top_pod_row_container(row: *const km_top_pod_row, index: usize, out: *mut *const km_top_container_row) -> km_status {
    entry!(km_top_pod_row_container(arg row) -> out { at(row.containers.get(), index)? })
}

/// The container name.
///
/// - `out`: on success, a borrowed string: valid until the `km_top_pods` is freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn km_top_container_row_name(row: *const km_top_container_row, out: *mut *const c_char) -> km_status {
    entry!(km_top_container_row_name(arg row) -> out { row.name })
}

/// The container's CPU usage.
///
/// - `out`: on success, a borrowed quantity: valid until the `km_top_pods` is freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn km_top_container_row_cpu(row: *const km_top_container_row, out: *mut *const km_quantity) -> km_status {
    entry!(km_top_container_row_cpu(arg row) -> out { &row.cpu })
}

/// The container's memory usage.
///
/// - `out`: on success, a borrowed quantity: valid until the `km_top_pods` is freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn km_top_container_row_memory(row: *const km_top_container_row, out: *mut *const km_quantity) -> km_status {
    entry!(km_top_container_row_memory(arg row) -> out { &row.memory })
}
