//! `km_client`: blocking calls of the Metrics API client over the process-wide runtime.

use crate::error::{Failure, guard_value, km_status};
use crate::ffi::{arg, arg_str, block_on, cstring, entry, free_handle, handle, in_runtime, opt_str, owned_string};
use crate::metrics::{km_node_metrics, km_node_metrics_list, km_pod_metrics, km_pod_metrics_list};
use crate::top::{km_top_node_rows, km_top_pods};
use kubemetrics::top::{SortBy, TopNodeOptions, TopPodOptions};
use kubemetrics::{Client, ListOptions};
use std::ffi::{CString, c_char};
use std::path::Path;
use std::sync::{PoisonError, RwLock};
use std::time::Duration;

/// A client of the Kubernetes Metrics API (and of the Nodes and Pods `top` needs).
///
/// Thread-safe: one client may be used by any number of threads at once, including
/// `km_client_set_timeout_ms`. Calls block the calling thread; they run on one process-wide
/// runtime. Free with `km_client_free` once no thread uses it.
#[derive(Debug)]
pub struct km_client {
    client: RwLock<Client>,
    default_namespace: CString,
}

impl km_client {
    /// The current client (a cheap clone: the connection pool is shared).
    fn get(&self) -> Client {
        self.client.read().unwrap_or_else(PoisonError::into_inner).clone()
    }
}

/// A `sort_by` argument: NULL (kubectl's default) or a `--sort-by` value (`KM_STATUS_CONFIG` for
/// another).
///
/// # Safety
/// As [`opt_str`].
unsafe fn sort_by_arg(ptr: *const c_char, name: &str) -> Result<SortBy, Failure> {
    // SAFETY: the caller's contract.
    Ok(unsafe { opt_str(ptr, name) }?.map(str::parse::<SortBy>).transpose()?.unwrap_or_default())
}

// SAFETY (every `unsafe` block below): pointer arguments follow the header's contract: NULL or
// pointing to a live object of the named type or a NUL-terminated string, out-parameters writable.

/// Makes a client the way kubectl builds its configuration.
///
/// - `kubeconfig`: path of a kubeconfig file, or NULL for `KUBECONFIG` / `~/.kube/config`.
/// - `context`: a context of that kubeconfig, or NULL for its current context.
///   With both NULL, the configuration is inferred as kubectl does: kubeconfig, else the
///   in-cluster service account.
/// - `out`: on success, an owned client (free with `km_client_free`).
///
/// Both strings are borrowed for the call. Errors: `KM_STATUS_CONFIG` (kubeconfig missing or
/// invalid, unknown context), `KM_STATUS_INVALID_UTF8`, `KM_STATUS_NULL_ARGUMENT` (`out`).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn km_client_new(kubeconfig: *const c_char, context: *const c_char, out: *mut *mut km_client) -> km_status {
    entry!(km_client_new(opt_str kubeconfig, opt_str context) -> out {
        let client = block_on(async {
            match (kubeconfig, context) {
                (None, None) => Client::try_default().await,
                (path, context) => Client::from_kubeconfig(path.map(Path::new), context).await,
            }
        })??;
        let default_namespace = cstring(client.default_namespace(), "the default namespace")?;
        handle(km_client { client: RwLock::new(client), default_namespace })
    })
}

/// Frees a client. NULL is a no-op. No other thread may be using it.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn km_client_free(client: *mut km_client) {
    guard_value("km_client_free", (), || in_runtime(|| unsafe { free_handle(client) }))
}

/// Sets the time limit of each request of this client (default 30 s); a request that gets no
/// answer in time fails with `KM_STATUS_IO`. Safe to call while other threads use the client:
/// calls that already started keep the previous limit.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn km_client_set_timeout_ms(client: *mut km_client, timeout_ms: u64) -> km_status {
    entry!(km_client_set_timeout_ms(arg client) {
        let mut slot = client.client.write().unwrap_or_else(PoisonError::into_inner);
        *slot = slot.clone().with_timeout(Duration::from_millis(timeout_ms));
    })
}

/// The namespace of the kubeconfig context (or `default`): where `km_client_top_pods` reads
/// when given no namespace.
///
/// - `out`: on success, a borrowed string: valid until the client is freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn km_client_default_namespace(client: *const km_client, out: *mut *const c_char) -> km_status {
    entry!(km_client_default_namespace(arg client) -> out { client.default_namespace.as_ptr() })
}

/// GETs `path` (`"/apis/metrics.k8s.io/v1beta1/nodes"`, with a query if wanted) from the API
/// server and returns the body: the raw JSON. Non-2xx statuses become errors of the matching
/// kind (`KM_STATUS_AUTH` for 401/403, `KM_STATUS_NOT_FOUND` for 404, `KM_STATUS_API` otherwise)
/// with the server's message and `km_last_error_http_status()`.
///
/// - `path`: borrowed for the call.
/// - `out`: on success, an owned string (free with `km_string_free`).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn km_client_get_raw(client: *const km_client, path: *const c_char, out: *mut *mut c_char) -> km_status {
    entry!(km_client_get_raw(arg client, arg_str path) -> out {
        let client = client.get();
        let body = block_on(client.get_raw(path))??;
        owned_string(body, "the response body")?
    })
}

/// Lists node metrics.
///
/// - `label_selector`: a label selector (`"tier=a,zone!=z2"`), or NULL for all nodes; borrowed
///   for the call.
/// - `out`: on success, an owned list (free with `km_node_metrics_list_free`).
///
/// Errors: `KM_STATUS_METRICS_UNAVAILABLE` when the cluster serves no Metrics API, and those of
/// `km_client_get_raw`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn km_client_list_node_metrics(
    client: *const km_client,
    label_selector: *const c_char,
    out: *mut *mut km_node_metrics_list,
) -> km_status {
    entry!(km_client_list_node_metrics(arg client, opt_str label_selector) -> out {
        let client = client.get();
        let options = ListOptions { label_selector: label_selector.map(str::to_string), field_selector: None };
        let items = block_on(client.list_node_metrics(&options))??;
        handle(km_node_metrics_list::new(items)?)
    })
}

/// Gets the metrics of one node.
///
/// - `name`: the node name, borrowed for the call.
/// - `out`: on success, an owned object (free with `km_node_metrics_free`).
///
/// Errors: `KM_STATUS_NOT_FOUND` (with the server's message) for a node without metrics or an
/// unknown node, `KM_STATUS_METRICS_UNAVAILABLE`, and those of `km_client_get_raw`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn km_client_get_node_metrics(client: *const km_client, name: *const c_char, out: *mut *mut km_node_metrics) -> km_status {
    entry!(km_client_get_node_metrics(arg client, arg_str name) -> out {
        let client = client.get();
        let metrics = block_on(client.get_node_metrics(name))??;
        handle(km_node_metrics::new(metrics)?)
    })
}

/// Lists pod metrics.
///
/// - `namespace`: the namespace, or NULL for all namespaces.
/// - `label_selector`: a label selector (`"app=web"`), or NULL.
/// - `field_selector`: a field selector (`"metadata.name=x"`), or NULL.
/// - `out`: on success, an owned list (free with `km_pod_metrics_list_free`).
///
/// The strings are borrowed for the call. Errors: `KM_STATUS_METRICS_UNAVAILABLE`, and those of
/// `km_client_get_raw`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn km_client_list_pod_metrics(
    client: *const km_client,
    namespace: *const c_char,
    label_selector: *const c_char,
    field_selector: *const c_char,
    out: *mut *mut km_pod_metrics_list,
) -> km_status {
    entry!(km_client_list_pod_metrics(arg client, opt_str namespace, opt_str label_selector, opt_str field_selector) -> out {
        let client = client.get();
        let options = ListOptions { label_selector: label_selector.map(str::to_string), field_selector: field_selector.map(str::to_string) };
        let table = block_on(client.list_pod_metrics_whole_table(namespace, &options))??;
        handle(km_pod_metrics_list::new(&table)?)
    })
}

/// Gets the metrics of one pod.
///
/// - `namespace`, `name`: borrowed for the call.
/// - `out`: on success, an owned object (free with `km_pod_metrics_free`).
///
/// Errors: `KM_STATUS_NOT_FOUND` (with the server's message), `KM_STATUS_METRICS_UNAVAILABLE`,
/// and those of `km_client_get_raw`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn km_client_get_pod_metrics(
    client: *const km_client,
    namespace: *const c_char,
    name: *const c_char,
    out: *mut *mut km_pod_metrics,
) -> km_status {
    entry!(km_client_get_pod_metrics(arg client, arg_str namespace, arg_str name) -> out {
        let client = client.get();
        let metrics = block_on(client.get_pod_metrics(namespace, name))??;
        handle(km_pod_metrics::new(metrics)?)
    })
}

/// `kubectl top node`: usage, allocatable (or capacity) and percentages of every node (or one),
/// nodes without metrics included as rows without usage.
///
/// - `name`: one node by name (kubectl's `NAME` argument), or NULL for all.
/// - `label_selector`: `-l`, or NULL.
/// - `show_capacity`: `--show-capacity`: percentages of capacity instead of allocatable.
/// - `sort_by`: `--sort-by`: `"cpu"`, `"memory"`, or NULL / `""` / `"name"` for kubectl's default.
/// - `out`: on success, owned rows (free with `km_top_node_rows_free`).
///
/// The strings are borrowed for the call. Errors: `KM_STATUS_METRICS_UNAVAILABLE` when no Metrics
/// API is served or it returned no node ("metrics not available yet"); `KM_STATUS_NOT_FOUND` for
/// an unknown node name; `KM_STATUS_CONFIG` for another `sort_by`; and those of
/// `km_client_get_raw`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn km_client_top_nodes(
    client: *const km_client,
    name: *const c_char,
    label_selector: *const c_char,
    show_capacity: bool,
    sort_by: *const c_char,
    out: *mut *mut km_top_node_rows,
) -> km_status {
    entry!(km_client_top_nodes(arg client, opt_str name, opt_str label_selector, sort_by_arg sort_by) -> out {
        let client = client.get();
        let options = TopNodeOptions { name: name.map(str::to_string), label_selector: label_selector.map(str::to_string), show_capacity, sort_by };
        let rows = block_on(client.top_nodes(&options))??;
        handle(km_top_node_rows::new(rows)?)
    })
}

/// `kubectl top pod`: usage of the pods of one namespace (or all), summed per pod and per
/// container, in kubectl's order, with the total.
///
/// - `namespace`: `-n`, or NULL for the client's default namespace (`km_client_default_namespace`).
/// - `all_namespaces`: `-A` (then `namespace` is ignored).
/// - `name`: one pod by name (kubectl's `NAME` argument), or NULL.
/// - `label_selector`: `-l`, or NULL. `field_selector`: `--field-selector`, or NULL.
/// - `sort_by`: `--sort-by`: `"cpu"`, `"memory"`, or NULL / `""` / `"name"` for kubectl's default.
/// - `out`: on success, an owned result (free with `km_top_pods_free`); `--containers` and
///   `--sum` are views of it (`km_top_pod_row_container`, `km_top_pods_total_cpu`,
///   `km_top_pods_render`).
///
/// The strings are borrowed for the call. When the Metrics API returns no pod, kubectl's rules
/// apply: `KM_STATUS_METRICS_UNAVAILABLE` naming the first pod older than two minutes ("Metrics
/// not available for pod ns/name, age: ..."), "metrics not available yet" when all are younger,
/// and an empty result when no pod matches at all. Other errors: `KM_STATUS_CONFIG` for both a
/// name and a selector or another `sort_by`, `KM_STATUS_NOT_FOUND` for an unknown pod, and those
/// of `km_client_get_raw`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn km_client_top_pods(
    client: *const km_client,
    namespace: *const c_char,
    all_namespaces: bool,
    name: *const c_char,
    label_selector: *const c_char,
    field_selector: *const c_char,
    sort_by: *const c_char,
    out: *mut *mut km_top_pods,
) -> km_status {
    entry!(km_client_top_pods(arg client, opt_str namespace, opt_str name, opt_str label_selector, opt_str field_selector, sort_by_arg sort_by) -> out {
        let client = client.get();
        let options = TopPodOptions {
            name: name.map(str::to_string),
            namespace: namespace.map(str::to_string),
            all_namespaces,
            label_selector: label_selector.map(str::to_string),
            field_selector: field_selector.map(str::to_string),
            containers: false,
            sort_by,
            sum: false,
        };
        let top = block_on(client.top_pods_table(&options))??;
        handle(km_top_pods::new(top)?)
    })
}
