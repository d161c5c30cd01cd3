//! Wire types of the metrics APIs, byte-compatible with the Kubernetes JSON format.
//!
//! - `metrics.k8s.io` v1beta1 (and the identical v1): [`NodeMetrics`], [`PodMetrics`], ...
//! - `custom.metrics.k8s.io` v1beta1 / v1beta2 and `external.metrics.k8s.io` v1beta1: [`custom`].

mod carry;
pub mod custom;
mod duration;
mod json_item;
mod json_stream;
pub(crate) mod list_decoder;
pub mod meta;
pub mod protobuf;
mod resource;
pub mod table;
pub mod table_columns;
pub mod whole_table;

pub use duration::GoDuration;
pub use meta::{ListMeta, ObjectMeta, Time};
pub use resource::{
    ContainerMetrics, GROUP, MetricsKind, NodeMetrics, NodeMetricsList, PodMetrics, PodMetricsList, Stamped, Typed, Usage, list_to_wire_json, to_wire_json,
};

#[cfg(test)]
mod tests;
