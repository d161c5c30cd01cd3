//! [`TopPodsTable`]: the result of `top pod` computed on a [`PodMetricsTable`] and kept compact —
//! the table itself (every name once, each followed by a NUL byte), the rows' order and sums and
//! the containers' order — for bindings that hand out borrowed C strings per row without
//! allocating per row. [`TopPodsTable::to_top_pods`] gives the same [`TopPods`] as
//! [`Client::top_pods`].

use super::super::{SortBy, gosort};
use super::{ContainerRow, PodRow, TopPodOptions, TopPods};
use crate::Quantity;
use crate::client::{Client, ListOptions};
use crate::error::{Error, ErrorKind, Result};
use crate::metrics::table::{ContainerView, PodMetricsTable, PodView};
use std::ffi::CStr;

#[derive(Debug, Clone, Copy)]
struct RowEntry {
    /// The pod's index in the table.
    pod: u32,
    /// The ids of its namespace and name in the table.
    namespace: u32,
    name: u32,
    cpu: Quantity,
    memory: Quantity,
    /// Where the pod's containers start in [`TopPodsTable::containers`].
    first_container: u32,
}

/// The result of `top pod` computed on a [`PodMetricsTable`] and kept compact: rows in kubectl's
/// order, containers in kubectl's container order for the chosen sort, the totals and the
/// namespace read. The names are the table's own, each followed by a NUL byte ([`TableName`]),
/// for bindings that hand out borrowed C strings; nothing is copied per row.
/// [`TopPodsTable::to_top_pods`] gives the same [`TopPods`] as [`Client::top_pods`].
#[derive(Debug, Clone, Default)]
pub struct TopPodsTable {
    table: PodMetricsTable,
    rows: Vec<RowEntry>,
    /// Each row's containers in kubectl's order: copied out of the table in row order, so that
    /// readers walk them in sequence rather than jump through the table.
    containers: Vec<ContainerCopy>,
    total_cpu: Quantity,
    total_memory: Quantity,
    namespace: Option<String>,
}

/// A container of a row: its name's id in the table and its usage.
#[derive(Debug, Clone, Copy)]
struct ContainerCopy {
    name: u32,
    cpu: Quantity,
    memory: Quantity,
}

/// Sorts `keyed` by key, ascending, in the order Go's sort gives. Keys are all different in the
/// usual case (a namespace and a name name one pod), and then every correct sort gives that one
/// order, so a faster one is used; with ties (whose order is Go's sort's own) the pairs are put
/// back in their first order (by index: pair `i` holds index `i`) and sorted by Go's algorithm.
fn sort_distinct_or_like_go<K: Ord + Copy>(keyed: &mut [(K, u32)]) {
    keyed.sort_unstable_by_key(|k| k.0);
    if keyed.windows(2).any(|w| w[0].0 == w[1].0) {
        keyed.sort_unstable_by_key(|k| k.1);
        gosort::sort(keyed, |a, b| a.0 < b.0);
    }
}

/// One pod row of a [`TopPodsTable`].
#[derive(Debug, Clone, Copy)]
pub struct TopPodsTableRow<'a> {
    top: &'a TopPodsTable,
    entry: &'a RowEntry,
}

/// A name of a [`TopPodsTable`] (a namespace, pod or container name), borrowed from the table,
/// where it is followed by a NUL byte.
#[derive(Debug, Clone, Copy)]
pub struct TableName<'a>(&'a str);

/// One container of a row of a [`TopPodsTable`].
#[derive(Debug, Clone, Copy)]
pub struct TopPodsTableContainer<'a> {
    top: &'a TopPodsTable,
    entry: &'a ContainerCopy,
}

impl TopPodsTable {
    /// Sorts and sums `table` like kubectl (as [`top_pods_from_table`](super::top_pods_from_table)),
    /// keeping the table.
    ///
    /// Fails with [`ErrorKind::Api`] when a name holds a NUL byte (a C string cannot hold it).
    pub fn from_table(table: PodMetricsTable, options: &TopPodOptions) -> Result<TopPodsTable> {
        TopPodsTable::sorted(table, options).without_nul()
    }

    /// The table, or [`ErrorKind::Api`] when a name holds a NUL byte.
    fn without_nul(self) -> Result<TopPodsTable> {
        match self.table.has_nul_name() {
            false => Ok(self),
            true => Err(Error::new(ErrorKind::Api, "a pod, namespace or container name contains a NUL byte, which a C string cannot hold")),
        }
    }

    /// [`from_table`](Self::from_table) without the NUL check: the one place `top pod`'s order
    /// and sums are computed (every other form of the result is made from this one).
    pub(crate) fn sorted(table: PodMetricsTable, options: &TopPodOptions) -> TopPodsTable {
        let with_namespace = options.all_namespaces;
        let milli = |q: &Quantity| q.milli_value().unwrap_or(0);
        let value = |q: &Quantity| q.value().unwrap_or(0);
        // Names compared as their ranks in byte order: kubectl's string comparisons, on integers.
        let ranks = if options.sort_by == SortBy::Name { table.name_ranks() } else { Vec::new() };
        // The sort moves (key, pod index) pairs only, keys computed once as kubectl sorts: on
        // MilliValue / Value of the pod's sums, or on the namespace (with -A) then the name
        // (two ranks in one integer).
        let order: Vec<u32> = match options.sort_by {
            SortBy::Cpu | SortBy::Memory => {
                let mut keyed: Vec<(i128, u32)> = table
                    .iter()
                    .enumerate()
                    .map(|(i, p)| (if options.sort_by == SortBy::Cpu { milli(&p.cpu()) } else { value(&p.memory()) }, i as u32))
                    .collect();
                gosort::sort(&mut keyed, |a, b| a.0 > b.0);
                keyed.into_iter().map(|(_, i)| i).collect()
            }
            SortBy::Name => {
                let mut keyed: Vec<(u64, u32)> = table
                    .iter()
                    .enumerate()
                    .map(|(i, p)| {
                        let (namespace, name) = p.name_ranks(&ranks);
                        (u64::from(if with_namespace { namespace } else { 0 }) << 32 | u64::from(name), i as u32)
                    })
                    .collect();
                sort_distinct_or_like_go(&mut keyed);
                keyed.into_iter().map(|(_, i)| i).collect()
            }
        };
        let container_count = table.iter().map(|p| p.containers().len()).sum();
        let mut top = TopPodsTable { rows: Vec::with_capacity(order.len()), containers: Vec::with_capacity(container_count), ..TopPodsTable::default() };
        // A row's containers, sorted in kubectl's order.
        let mut containers: Vec<ContainerView<'_>> = Vec::new();
        // Rows are read in sorted order, all over the table: the pods a few rows ahead are
        // fetched early (their entries, then, once an entry is in, its containers).
        const AHEAD: usize = 16;
        for (k, &i) in order.iter().enumerate() {
            if let Some(&ahead) = order.get(k + AHEAD) {
                table.prefetch(ahead as usize, false);
            }
            if let Some(&near) = order.get(k + AHEAD / 2) {
                table.prefetch(near as usize, true);
            }
            let p = table.get(i as usize).expect("an index of the table");
            let (cpu, memory) = (p.cpu(), p.memory());
            top.total_cpu += cpu;
            top.total_memory += memory;
            containers.clear();
            containers.extend(p.containers());
            match options.sort_by {
                SortBy::Cpu => gosort::sort(&mut containers, |a, b| milli(&a.cpu()) > milli(&b.cpu())),
                SortBy::Memory => gosort::sort(&mut containers, |a, b| value(&a.memory()) > value(&b.memory())),
                SortBy::Name => {
                    // Container names have ranks too: one name is before another when its rank is.
                    let rank = |c: &ContainerView<'_>| ranks.get(c.name_id() as usize).copied().unwrap_or(0);
                    gosort::sort(&mut containers, |a, b| rank(a) < rank(b))
                }
            }
            let first_container = top.containers.len() as u32;
            top.containers.extend(containers.iter().map(|c| ContainerCopy { name: c.name_id(), cpu: c.cpu(), memory: c.memory() }));
            let (namespace, name) = p.name_ids();
            top.rows.push(RowEntry { pod: i, namespace, name, cpu, memory, first_container });
        }
        drop(containers);
        top.table = table;
        top
    }

    /// Row `index`, in kubectl's order.
    pub fn get(&self, index: usize) -> Option<TopPodsTableRow<'_>> {
        self.rows.get(index).map(|entry| TopPodsTableRow { top: self, entry })
    }

    /// The rows, in kubectl's order (`.len()` is their number).
    pub fn iter(&self) -> impl ExactSizeIterator<Item = TopPodsTableRow<'_>> + '_ {
        self.rows.iter().map(move |entry| TopPodsTableRow { top: self, entry })
    }

    /// Total CPU over all rows (what `--sum` prints).
    pub fn total_cpu(&self) -> Quantity {
        self.total_cpu
    }

    /// Total memory over all rows.
    pub fn total_memory(&self) -> Quantity {
        self.total_memory
    }

    /// The namespace read (`None` for all namespaces).
    pub fn namespace(&self) -> Option<&str> {
        self.namespace.as_deref()
    }

    /// Whether there is no row.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// How many rows.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// The same result as owned rows (what [`render_pods`](crate::top::render_pods) reads).
    pub fn to_top_pods(&self) -> TopPods {
        let pods = self.iter().map(|r| r.to_pod_row()).collect();
        TopPods { pods, total_cpu: self.total_cpu, total_memory: self.total_memory, namespace: self.namespace.clone() }
    }

    fn name(&self, id: u32) -> TableName<'_> {
        TableName(self.table.name_with_nul(id))
    }

    fn pod(&self, row: &RowEntry) -> PodView<'_> {
        self.table.get(row.pod as usize).expect("a row's pod is in the table")
    }
}

/// Two tables are equal when their [`TopPods`] are (compared one row at a time).
impl PartialEq for TopPodsTable {
    fn eq(&self, other: &Self) -> bool {
        (self.total_cpu, self.total_memory, &self.namespace, self.len()) == (other.total_cpu, other.total_memory, &other.namespace, other.len())
            && self.iter().zip(other.iter()).all(|(a, b)| a.to_pod_row() == b.to_pod_row())
    }
}

impl From<&TopPods> for TopPodsTable {
    /// The same rows, order and totals as a table (to render rows computed elsewhere, such as
    /// from kubelets).
    fn from(top: &TopPods) -> TopPodsTable {
        let mut table = PodMetricsTable::default();
        let mut t = TopPodsTable { total_cpu: top.total_cpu, total_memory: top.total_memory, namespace: top.namespace.clone(), ..TopPodsTable::default() };
        for (i, p) in top.pods.iter().enumerate() {
            let first_container = t.containers.len() as u32;
            table.push_pod(&p.namespace, &p.name, p.containers.iter().map(|c| (c.name.as_str(), c.cpu, c.memory)));
            let pod = table.get(i).expect("the pod just pushed");
            t.containers.extend(pod.containers().map(|c| ContainerCopy { name: c.name_id(), cpu: c.cpu(), memory: c.memory() }));
            let (namespace, name) = pod.name_ids();
            t.rows.push(RowEntry { pod: i as u32, namespace, name, cpu: p.cpu, memory: p.memory, first_container });
        }
        t.table = table;
        t
    }
}

impl<'a> TableName<'a> {
    /// The name.
    pub fn as_str(&self) -> &'a str {
        self.0.get(..self.0.len().saturating_sub(1)).unwrap_or("")
    }

    /// The name, NUL-terminated (borrowed from the table: a pointer to it stays valid as long as
    /// the table lives).
    pub fn as_c_str(&self) -> &'a CStr {
        // Every name is stored followed by a NUL byte; a name holding one is refused by
        // `from_table` (and gives an empty string here).
        CStr::from_bytes_with_nul(self.0.as_bytes()).unwrap_or_default()
    }
}

impl<'a> TopPodsTableRow<'a> {
    /// Namespace.
    pub fn namespace(&self) -> TableName<'a> {
        self.top.name(self.entry.namespace)
    }

    /// Pod name.
    pub fn name(&self) -> TableName<'a> {
        self.top.name(self.entry.name)
    }

    /// CPU usage, summed over containers.
    pub fn cpu(&self) -> Quantity {
        self.entry.cpu
    }

    /// Memory usage, summed over containers.
    pub fn memory(&self) -> Quantity {
        self.entry.memory
    }

    /// The containers, in kubectl's container order for the chosen sort.
    pub fn containers(&self) -> impl ExactSizeIterator<Item = TopPodsTableContainer<'a>> + use<'a> {
        let top = self.top;
        let start = self.entry.first_container as usize;
        let end = start + top.pod(self.entry).containers().len();
        top.containers.get(start..end).unwrap_or_default().iter().map(move |entry| TopPodsTableContainer { top, entry })
    }
}

impl TopPodsTableRow<'_> {
    /// The row as an owned [`PodRow`] (what [`TopPods`] holds).
    pub fn to_pod_row(&self) -> PodRow {
        PodRow {
            namespace: self.namespace().as_str().to_string(),
            name: self.name().as_str().to_string(),
            cpu: self.cpu(),
            memory: self.memory(),
            containers: self
                .containers()
                .map(|c| {
                    let (cpu, memory) = c.usage();
                    ContainerRow { name: c.name().as_str().to_string(), cpu, memory }
                })
                .collect(),
        }
    }
}

impl<'a> TopPodsTableContainer<'a> {
    /// Container name.
    pub fn name(&self) -> TableName<'a> {
        self.top.name(self.entry.name)
    }

    /// CPU and memory usage.
    pub fn usage(&self) -> (Quantity, Quantity) {
        (self.entry.cpu, self.entry.memory)
    }
}

impl Client {
    /// [`Client::top_pods`] as a [`TopPodsTable`]: the same reads, errors, order and sums, with no
    /// string or vector per row. Fails with [`ErrorKind::Api`] when a name holds a NUL byte.
    pub async fn top_pods_table(&self, options: &TopPodOptions) -> Result<TopPodsTable> {
        self.top_pods_table_any_names(options).await?.without_nul()
    }

    /// [`Client::top_pods`] as a [`TopPodsTable`] whose names may hold NUL bytes, as those of
    /// [`Client::top_pods`] may (for readers that take the names as `&str`, never as C strings:
    /// [`TableName::as_c_str`] of a name holding one is empty).
    pub async fn top_pods_table_any_names(&self, options: &TopPodOptions) -> Result<TopPodsTable> {
        let (table, namespace) = self.read_pod_metrics_for_top(options).await?;
        let mut top = TopPodsTable::sorted(table, options);
        top.namespace = namespace;
        Ok(top)
    }

    /// What `top pod` reads, with kubectl's errors when there is nothing to read: the table of
    /// the pods and the namespace read (`None` for all namespaces).
    pub(super) async fn read_pod_metrics_for_top(&self, options: &TopPodOptions) -> Result<(PodMetricsTable, Option<String>)> {
        if options.name.is_some() && (options.label_selector.is_some() || options.field_selector.is_some()) {
            return Err(Error::new(ErrorKind::Config, "only one of NAME or selector can be provided"));
        }
        self.metrics_api_version().await?;
        let namespace = if options.all_namespaces { None } else { Some(options.namespace.clone().unwrap_or_else(|| self.default_namespace().to_string())) };
        let list = ListOptions { label_selector: options.label_selector.clone(), field_selector: options.field_selector.clone() };
        let table = match &options.name {
            Some(name) => PodMetricsTable::from_pods(&[self.get_pod_metrics(namespace.as_deref().unwrap_or(self.default_namespace()), name).await?]),
            None => self.list_pod_metrics_table(namespace.as_deref(), &list).await?,
        };
        if table.is_empty() {
            self.explain_empty_pod_metrics(namespace.as_deref(), options, &list).await?;
        }
        Ok((table, namespace))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The order and sums computed the plain way, comparing names as strings (the oracle for the
    /// ranks): what `top_pods_from_table` did before it went through the table.
    fn reference(table: &PodMetricsTable, options: &TopPodOptions) -> TopPods {
        let milli = |q: &Quantity| q.milli_value().unwrap_or(0);
        let value = |q: &Quantity| q.value().unwrap_or(0);
        let mut keyed: Vec<_> = table.iter().map(|p| (p, p.cpu(), p.memory())).collect();
        match options.sort_by {
            SortBy::Cpu => gosort::sort(&mut keyed, |a, b| milli(&a.1) > milli(&b.1)),
            SortBy::Memory => gosort::sort(&mut keyed, |a, b| value(&a.2) > value(&b.2)),
            SortBy::Name => gosort::sort(&mut keyed, |a, b| {
                if options.all_namespaces && a.0.namespace() != b.0.namespace() {
                    return a.0.namespace() < b.0.namespace();
                }
                a.0.name() < b.0.name()
            }),
        }
        let (mut total_cpu, mut total_memory) = (Quantity::ZERO, Quantity::ZERO);
        let pods = keyed
            .into_iter()
            .map(|(p, cpu, memory)| {
                total_cpu += cpu;
                total_memory += memory;
                let mut containers: Vec<ContainerRow> =
                    p.containers().map(|c| ContainerRow { name: c.name().to_string(), cpu: c.cpu(), memory: c.memory() }).collect();
                match options.sort_by {
                    SortBy::Cpu => gosort::sort(&mut containers, |a, b| milli(&a.cpu) > milli(&b.cpu)),
                    SortBy::Memory => gosort::sort(&mut containers, |a, b| value(&a.memory) > value(&b.memory)),
                    SortBy::Name => gosort::sort(&mut containers, |a, b| a.name < b.name),
                }
                PodRow { namespace: p.namespace().to_string(), name: p.name().to_string(), cpu, memory, containers }
            })
            .collect();
        TopPods { pods, total_cpu, total_memory, namespace: None }
    }

    /// A `PodMetricsList` body of 40 pods in 3 namespaces, with repeated names (for the order of
    /// ties), two containers each and CPU and memory in several formats.
    fn list_body(first_name: &str) -> String {
        let pods: Vec<String> = (0..40)
            .map(|i| {
                let name = if i == 0 { first_name.to_string() } else { format!("pod-{}", (i * 7) % 13) };
                format!(
                    r#"{{"metadata":{{"name":"{name}","namespace":"ns-{}"}},"timestamp":"2024-01-01T00:00:00Z","window":"15s","containers":[{{"name":"c{}","usage":{{"cpu":"{}m","memory":"{}Ki"}}}},{{"name":"b","usage":{{"cpu":"{}n","memory":"{}"}}}}]}}"#,
                    i % 3,
                    i % 4,
                    (i * 37) % 11,
                    (i * 13) % 5,
                    i * 1000,
                    i % 6 * 1024
                )
            })
            .collect();
        format!(r#"{{"kind":"PodMetricsList","apiVersion":"metrics.k8s.io/v1beta1","items":[{}]}}"#, pods.join(","))
    }

    #[test]
    fn gives_the_rows_of_top_pods_from_table_in_every_order() {
        let table = PodMetricsTable::from_json(list_body("pod-0").as_bytes()).expect("json");
        for sort_by in [SortBy::Name, SortBy::Cpu, SortBy::Memory] {
            for all_namespaces in [false, true] {
                let options = TopPodOptions { sort_by, all_namespaces, ..TopPodOptions::default() };
                let top = TopPodsTable::from_table(table.clone(), &options).expect("table");
                let want = reference(&table, &options);
                assert_eq!(top.to_top_pods(), want, "{sort_by:?} {all_namespaces}");
                assert!(top == TopPodsTable::from(&want) && top != TopPodsTable::default());
                for (row, want) in top.iter().zip(&want.pods) {
                    assert_eq!(row.namespace().as_c_str().to_str(), Ok(want.namespace.as_str()));
                    assert_eq!(row.name().as_c_str().to_str(), Ok(want.name.as_str()));
                    let names: Vec<&str> = row.containers().map(|c| c.name().as_c_str().to_str().expect("utf-8")).collect();
                    assert_eq!(names, want.containers.iter().map(|c| c.name.as_str()).collect::<Vec<_>>());
                }
            }
        }
    }

    #[test]
    fn distinct_names_sort_as_go_sorts_them() {
        // Every name different (the faster sort's case), in a scrambled order, with names that
        // share their first 16 bytes, names that are prefixes of others and a NUL byte.
        let names = ["pod-with-a-long-prefix-b", "pod-with-a-long-prefix-a", "pod-with-a-long-prefix", "a", "a\\u0000", "Z", "pod-1", "pod-10", "pod-2"];
        let pods: Vec<String> = (0..45)
            .map(|i| {
                let name = format!("{}-{}", names[(i * 4) % names.len()], (i * 17) % 45);
                format!(
                    r#"{{"metadata":{{"name":"{name}","namespace":"ns-{}"}},"containers":[{{"name":"c","usage":{{"cpu":"{}m","memory":"{}Ki"}}}}]}}"#,
                    (i * 5) % 4,
                    i % 7,
                    i
                )
            })
            .collect();
        let body = format!(r#"{{"kind":"PodMetricsList","items":[{}]}}"#, pods.join(","));
        let table = PodMetricsTable::from_json(body.as_bytes()).expect("json");
        for all_namespaces in [false, true] {
            let options = TopPodOptions { sort_by: SortBy::Name, all_namespaces, ..TopPodOptions::default() };
            assert_eq!(TopPodsTable::sorted(table.clone(), &options).to_top_pods(), reference(&table, &options), "{all_namespaces}");
        }
    }

    #[test]
    fn a_name_with_a_nul_byte_is_an_api_error() {
        let table = PodMetricsTable::from_json(list_body("a\\u0000b").as_bytes()).expect("json");
        let e = TopPodsTable::from_table(table, &TopPodOptions::default()).expect_err("NUL");
        assert_eq!(e.kind(), ErrorKind::Api);
        assert!(e.message().contains("NUL"), "{}", e.message());
    }
}
