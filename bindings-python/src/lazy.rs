//! `Lazy`: the core value behind a Python object, either owned or made from its place in a
//! shared core table the first time something needs the whole value. Fast getters read the table
//! directly ([`Lazy::source`]); everything else goes through `Deref`.

use std::fmt;
use std::ops::Deref;
use std::sync::{Arc, OnceLock};

/// A core table whose item `index` can be made as an owned `T`.
pub(crate) trait TableOf<T> {
    /// Item `index` (an index the table holds) as an owned value.
    fn make(&self, index: usize) -> T;
}

impl TableOf<kubemetrics::PodMetrics> for kubemetrics::metrics::whole_table::WholePodMetricsTable {
    fn make(&self, index: usize) -> kubemetrics::PodMetrics {
        self.get(index).expect("an index of the table").to_pod_metrics()
    }
}

impl TableOf<kubemetrics::ContainerMetrics> for kubemetrics::metrics::whole_table::WholePodMetricsTable {
    fn make(&self, index: usize) -> kubemetrics::ContainerMetrics {
        self.container(index).expect("an index of the table").to_container_metrics()
    }
}

impl TableOf<kubemetrics::top::PodRow> for kubemetrics::top::TopPodsTable {
    fn make(&self, index: usize) -> kubemetrics::top::PodRow {
        self.get(index).expect("an index of the table").to_pod_row()
    }
}

/// A `T`, owned or item `index` of a shared table `S`, made (once) when first dereferenced.
pub(crate) struct Lazy<T, S> {
    value: OnceLock<T>,
    at: Option<(Arc<S>, usize)>,
}

impl<T, S: TableOf<T>> Lazy<T, S> {
    /// An owned value.
    pub(crate) fn owned(value: T) -> Self {
        Lazy { value: OnceLock::from(value), at: None }
    }

    /// Item `index` of `table` (which must hold it).
    pub(crate) fn at(table: Arc<S>, index: usize) -> Self {
        Lazy { value: OnceLock::new(), at: Some((table, index)) }
    }

    /// The table and index the value comes from (None for an owned value).
    pub(crate) fn source(&self) -> Option<(&Arc<S>, usize)> {
        self.at.as_ref().map(|(table, index)| (table, *index))
    }
}

impl<T, S: TableOf<T>> Deref for Lazy<T, S> {
    type Target = T;
    fn deref(&self) -> &T {
        self.value.get_or_init(|| {
            let (table, index) = self.source().expect("a value without a table is owned");
            table.make(index)
        })
    }
}

impl<T: Clone, S> Clone for Lazy<T, S> {
    fn clone(&self) -> Self {
        Lazy { value: self.value.clone(), at: self.at.clone() }
    }
}

impl<T: PartialEq, S: TableOf<T>> PartialEq for Lazy<T, S> {
    fn eq(&self, other: &Self) -> bool {
        match (&self.at, &other.at) {
            (Some((a, i)), Some((b, j))) if Arc::ptr_eq(a, b) && i == j => true,
            _ => **self == **other,
        }
    }
}

impl<T: fmt::Debug, S: TableOf<T>> fmt::Debug for Lazy<T, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        (**self).fmt(f)
    }
}

impl<'de, T: serde::Deserialize<'de>, S: TableOf<T>> serde::Deserialize<'de> for Lazy<T, S> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        T::deserialize(d).map(Lazy::owned)
    }
}

impl<T: serde::Serialize, S: TableOf<T>> serde::Serialize for Lazy<T, S> {
    fn serialize<Ser: serde::Serializer>(&self, s: Ser) -> Result<Ser::Ok, Ser::Error> {
        (**self).serialize(s)
    }
}
