//! `top pod` rows as columns ([`TopPodsColumns`]), for bindings that hand all rows to another
//! runtime at once and build each row only when it is read.

use super::TopPods;
use crate::Quantity;
use crate::metrics::table_columns::Strings;

/// The rows of a [`TopPods`] as columns, with the same values.
///
/// Row `i` has the strings `4 * i + 3 * pod_containers[i]` onwards: namespace, name, CPU and
/// memory (canonical quantities), then name, CPU and memory of each of its containers
/// `pod_containers[i]..pod_containers[i + 1]`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TopPodsColumns {
    /// Every string, in the order above.
    pub strings: Strings,
    /// Per row, the index of its first container; one more entry than rows (the end).
    pub pod_containers: Vec<u32>,
    /// Per row, CPU in millicores as `kubectl top` prints it (rounded up; 0 when it does not fit
    /// 64 bits, see `exact`).
    pub pod_cpu_milli: Vec<i64>,
    /// Per row, memory in bytes (rounded up; 0 when it does not fit 64 bits, see `exact`).
    pub pod_memory_bytes: Vec<i64>,
    /// `false` when some row's CPU or memory does not fit these 64-bit columns.
    pub exact: bool,
    /// Total CPU over all rows.
    pub total_cpu: Quantity,
    /// Total memory over all rows.
    pub total_memory: Quantity,
    /// The namespace read (`None` for all namespaces).
    pub namespace: Option<String>,
}

impl TopPodsColumns {
    /// The number of rows.
    pub fn len(&self) -> usize {
        self.pod_cpu_milli.len()
    }

    /// Whether there is no row.
    pub fn is_empty(&self) -> bool {
        self.pod_cpu_milli.is_empty()
    }
}

impl From<&TopPods> for TopPodsColumns {
    fn from(t: &TopPods) -> Self {
        let mut c = TopPodsColumns {
            pod_containers: Vec::with_capacity(t.pods.len() + 1),
            pod_cpu_milli: Vec::with_capacity(t.pods.len()),
            pod_memory_bytes: Vec::with_capacity(t.pods.len()),
            exact: true,
            total_cpu: t.total_cpu,
            total_memory: t.total_memory,
            namespace: t.namespace.clone(),
            ..TopPodsColumns::default()
        };
        let quantity = |strings: &mut Strings, q: &Quantity| {
            strings.push(&q.canonical());
        };
        let mut containers = 0u32;
        for p in &t.pods {
            c.pod_containers.push(containers);
            c.strings.push(&p.namespace);
            c.strings.push(&p.name);
            quantity(&mut c.strings, &p.cpu);
            quantity(&mut c.strings, &p.memory);
            for container in &p.containers {
                c.strings.push(&container.name);
                quantity(&mut c.strings, &container.cpu);
                quantity(&mut c.strings, &container.memory);
            }
            containers += p.containers.len() as u32;
            let fit = |v: Option<i128>| v.and_then(|v| i64::try_from(v).ok());
            let (milli, bytes) = (fit(p.cpu.milli_value()), fit(p.memory.value()));
            c.exact &= milli.is_some() && bytes.is_some();
            c.pod_cpu_milli.push(milli.unwrap_or(0));
            c.pod_memory_bytes.push(bytes.unwrap_or(0));
        }
        c.pod_containers.push(containers);
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::top::{ContainerRow, PodRow};

    #[test]
    fn rows_become_columns_with_the_same_strings() {
        let q = |s: &str| Quantity::parse(s).expect("quantity");
        let row = |name: &str, containers: Vec<ContainerRow>| PodRow {
            namespace: "ns".into(),
            name: name.into(),
            cpu: containers.iter().map(|c| c.cpu).sum(),
            memory: containers.iter().map(|c| c.memory).sum(),
            containers,
        };
        let c1 = ContainerRow { name: "c1".into(), cpu: q("250264852n"), memory: q("8Ki") };
        let c2 = ContainerRow { name: "c2".into(), cpu: q("1"), memory: q("1Mi") };
        let top = TopPods { pods: vec![row("a", vec![c1, c2]), row("b", vec![])], total_cpu: q("1251m"), total_memory: q("1032Ki"), namespace: None };
        let c = TopPodsColumns::from(&top);
        assert_eq!(c.len(), 2);
        assert_eq!(c.pod_containers, vec![0, 2, 2]);
        let all: Vec<String> = (0..c.strings.len()).filter_map(|i| c.strings.get(i)).collect();
        assert_eq!(all, ["ns", "a", "1250264852n", "1032Ki", "c1", "250264852n", "8Ki", "c2", "1", "1Mi", "ns", "b", "0", "0"]);
        assert_eq!(c.pod_cpu_milli, vec![1251, 0]);
        assert_eq!(c.pod_memory_bytes, vec![1032 * 1024, 0]);
        assert!(c.exact);
    }
}
