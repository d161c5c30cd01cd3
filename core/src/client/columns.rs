//! [`Client::list_pod_metrics_columns`] and [`Client::list_pod_metrics_whole_table`]: pod metrics
//! decoded straight into columns or a compact table, for bindings.

use super::{Client, ListOptions};
use crate::error::Result;
use crate::metrics::table_columns::{ColumnsSink, PodMetricsColumns};
use crate::metrics::whole_table::{WholePodMetricsTable, WholeSink};

impl Client {
    /// Lists pod metrics in `namespace` (all namespaces when `None`) as [`PodMetricsColumns`]:
    /// the same values as [`Client::list_pod_metrics`], decoded from a JSON or protobuf body
    /// as it arrives (never held whole), without building an object per pod.
    pub async fn list_pod_metrics_columns(&self, namespace: Option<&str>, options: &ListOptions) -> Result<PodMetricsColumns> {
        Ok(self.list_pod_metrics_into(namespace, options, ColumnsSink::default()).await?.end())
    }

    /// Lists pod metrics in `namespace` (all namespaces when `None`) as a [`WholePodMetricsTable`]:
    /// the same objects as [`Client::list_pod_metrics`] (every field kept), decoded from a JSON
    /// or protobuf body as it arrives (never held whole), without building an object per pod.
    pub async fn list_pod_metrics_whole_table(&self, namespace: Option<&str>, options: &ListOptions) -> Result<WholePodMetricsTable> {
        Ok(self.list_pod_metrics_into(namespace, options, WholeSink::default()).await?.table)
    }
}
