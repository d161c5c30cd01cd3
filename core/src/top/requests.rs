//! Pod resource requests, summed over containers, and usage as a percent of them (what
//! release tooling checks before and after a rollout).

use super::kubectl_percent;
use crate::Quantity;
use crate::client::{Client, ListOptions};
use crate::error::Result;
use k8s_openapi::api::core::v1::Pod;
use serde::Serialize;

/// The CPU and memory requests of one pod, summed over its containers.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PodRequests {
    /// Namespace.
    pub namespace: String,
    /// Pod name.
    pub name: String,
    /// Total CPU request (`None` when no container requests CPU).
    pub cpu: Option<Quantity>,
    /// Total memory request (`None` when no container requests memory).
    pub memory: Option<Quantity>,
}

fn sum_requests(pod: &Pod, resource: &str) -> Option<Quantity> {
    let containers = &pod.spec.as_ref()?.containers;
    let values: Vec<Quantity> =
        containers.iter().filter_map(|c| c.resources.as_ref()?.requests.as_ref()?.get(resource)).filter_map(|q| Quantity::parse(&q.0).ok()).collect();
    (!values.is_empty()).then(|| values.into_iter().sum())
}

impl PodRequests {
    /// The requests of a Pod object.
    pub fn from_pod(pod: &Pod) -> PodRequests {
        PodRequests {
            namespace: pod.metadata.namespace.clone().unwrap_or_default(),
            name: pod.metadata.name.clone().unwrap_or_default(),
            cpu: sum_requests(pod, "cpu"),
            memory: sum_requests(pod, "memory"),
        }
    }

    /// CPU usage in percent of the request, truncated like kubectl (`None` without a request).
    pub fn cpu_percent(&self, used: &Quantity) -> Option<i64> {
        self.cpu.as_ref().map(|r| kubectl_percent(used, r))
    }

    /// Memory usage in percent of the request (`None` without a request).
    pub fn memory_percent(&self, used: &Quantity) -> Option<i64> {
        self.memory.as_ref().map(|r| kubectl_percent(used, r))
    }
}

impl Client {
    /// The requests of the pods in `namespace` (all when `None`) matching the selectors.
    pub async fn pod_requests(&self, namespace: Option<&str>, options: &ListOptions) -> Result<Vec<PodRequests>> {
        Ok(self.list_pods(namespace, options).await?.iter().map(PodRequests::from_pod).collect())
    }
}
