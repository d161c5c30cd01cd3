//! [`Client::list_pod_metrics_columns`] and [`Client::list_pod_metrics_whole_table`]: pod metrics
//! decoded straight into columns or a compact table, for bindings.

use super::{Client, ListOptions, decode_answer, pod_list_rest};
use crate::error::Result;
use crate::metrics::table_columns::PodMetricsColumns;
use crate::metrics::whole_table::WholePodMetricsTable;

impl Client {
    /// Lists pod metrics in `namespace` (all namespaces when `None`) as [`PodMetricsColumns`]:
    /// the same values as [`Client::list_pod_metrics`], decoded from a JSON or protobuf body
    /// without building an object per pod.
    pub async fn list_pod_metrics_columns(&self, namespace: Option<&str>, options: &ListOptions) -> Result<PodMetricsColumns> {
        let path = self.metrics_path(&pod_list_rest(namespace, options)).await?;
        let (is_protobuf, body) = self.get_metrics_body(&path).await?;
        decode_answer(&path, is_protobuf, &body, PodMetricsColumns::from_protobuf, PodMetricsColumns::from_json)
    }

    /// Lists pod metrics in `namespace` (all namespaces when `None`) as a [`WholePodMetricsTable`]:
    /// the same objects as [`Client::list_pod_metrics`] (every field kept), decoded from a JSON
    /// or protobuf body without building an object per pod.
    pub async fn list_pod_metrics_whole_table(&self, namespace: Option<&str>, options: &ListOptions) -> Result<WholePodMetricsTable> {
        let path = self.metrics_path(&pod_list_rest(namespace, options)).await?;
        let (is_protobuf, body) = self.get_metrics_body(&path).await?;
        decode_answer(&path, is_protobuf, &body, WholePodMetricsTable::from_protobuf, WholePodMetricsTable::from_json)
    }
}
