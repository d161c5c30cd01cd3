//! `top`: node and pod usage as data rows, computed exactly like `kubectl top`, plus the kubectl
//! table as one rendering of those rows ([`render_nodes`], [`render_pods`]).

mod gosort;
mod kubelet_source;
mod nodes;
mod pods;
mod requests;
mod table;
mod tabwriter;

pub use kubelet_source::KubeletSource;
pub use nodes::{NodeRow, TopNodeOptions, top_nodes_from};
pub use pods::top_pods_table::{TableName, TopPodsTable, TopPodsTableContainer, TopPodsTableRow};
pub use pods::{ContainerRow, PodRow, TopPodOptions, TopPods, top_pods_from, top_pods_from_table};
pub use requests::PodRequests;
pub use table::{render_nodes, render_pods, render_pods_table};

use crate::error::{Error, ErrorKind, Result};

/// The column `top` sorts by (kubectl's `--sort-by`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SortBy {
    /// By name (namespace first with all namespaces): kubectl's default.
    #[default]
    Name,
    /// By CPU usage in millicores, highest first.
    Cpu,
    /// By memory usage in bytes, highest first.
    Memory,
}

impl std::str::FromStr for SortBy {
    type Err = Error;
    /// `""` or `"name"` is [`SortBy::Name`]; `"cpu"`, `"memory"`; anything else is kubectl's error.
    fn from_str(s: &str) -> Result<SortBy> {
        match s {
            "" | "name" => Ok(SortBy::Name),
            "cpu" => Ok(SortBy::Cpu),
            "memory" => Ok(SortBy::Memory),
            _ => Err(Error::new(ErrorKind::Config, "--sort-by accepts only cpu or memory")),
        }
    }
}

/// `int64(float64(used.MilliValue()) / float64(available.MilliValue()) * 100)`, as kubectl
/// computes percentages: 0 when nothing is available, truncated toward zero.
pub fn kubectl_percent(used: &crate::Quantity, available: &crate::Quantity) -> i64 {
    if available.is_zero() {
        return 0;
    }
    let u = used.milli_value().map_or(f64::NAN, |m| m as f64);
    let a = available.milli_value().map_or(f64::NAN, |m| m as f64);
    (u / a * 100.0) as i64
}
