//! Typed reads of `custom.metrics.k8s.io` (v1beta2 preferred, v1beta1 accepted) and
//! `external.metrics.k8s.io/v1beta1`, plus discovery of the metrics they serve.

use super::{Client, percent_encode};
use crate::error::{Error, ErrorKind, Result};
use crate::metrics::custom::ObjectRef;
use crate::metrics::custom::{
    CUSTOM_GROUP, EXTERNAL_GROUP, ExternalMetricValue, ExternalMetricValueList, MetricIdentifier, MetricValue, MetricValueList, MetricValueListV1Beta1,
};

fn query(pairs: &[(&str, Option<&str>)]) -> String {
    let q: Vec<String> = pairs.iter().filter_map(|(k, v)| v.filter(|v| !v.is_empty()).map(|v| format!("{k}={}", percent_encode(v)))).collect();
    if q.is_empty() { String::new() } else { format!("?{}", q.join("&")) }
}

impl Client {
    /// The versions of `group` the server offers.
    async fn group_versions(&self, group: &str) -> Result<Vec<String>> {
        let doc: serde_json::Value = serde_json::from_str(&self.get_raw("/apis").await?).map_err(|e| Error::new(ErrorKind::Api, format!("/apis: {e}")))?;
        Ok(doc["groups"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|g| g["name"] == group)
            .flat_map(|g| g["versions"].as_array().cloned().unwrap_or_default())
            .filter_map(|v| v["version"].as_str().map(str::to_string))
            .collect())
    }

    /// `v1beta2` when offered, else `v1beta1`; `MetricsUnavailable` when the group is not served.
    pub async fn custom_metrics_version(&self) -> Result<String> {
        let versions = self.group_versions(CUSTOM_GROUP).await?;
        ["v1beta2", "v1beta1"].iter().find(|v| versions.iter().any(|o| o == *v)).map(|v| v.to_string()).ok_or_else(|| {
            Error::new(
                ErrorKind::MetricsUnavailable,
                "Custom metrics API not available: no custom.metrics.k8s.io is served (install an adapter or run `kubemetrics serve --custom-metrics-push`)",
            )
        })
    }

    async fn custom_values(&self, rest: &str) -> Result<Vec<MetricValue>> {
        let version = self.custom_metrics_version().await?;
        let body = self.get_raw(&format!("/apis/{CUSTOM_GROUP}/{version}/{rest}")).await?;
        let bad = |e: serde_json::Error| Error::new(ErrorKind::Api, format!("cannot decode custom metrics: {e}"));
        if version == "v1beta1" {
            let list: MetricValueListV1Beta1 = serde_json::from_str(&body).map_err(bad)?;
            Ok(list
                .items
                .into_iter()
                .map(|v| MetricValue {
                    described_object: v.described_object,
                    metric: MetricIdentifier { name: v.metric_name, selector: v.selector },
                    timestamp: v.timestamp,
                    window_seconds: v.window_seconds,
                    value: v.value,
                })
                .collect())
        } else {
            Ok(serde_json::from_str::<MetricValueList>(&body).map_err(bad)?.items)
        }
    }

    /// The value of `metric` for one object (a namespace's own metrics: resource `namespaces`).
    pub async fn get_custom_metric(&self, object: &ObjectRef, metric: &str, metric_selector: Option<&str>) -> Result<MetricValue> {
        let q = query(&[("metricLabelSelector", metric_selector)]);
        let rest = match (&object.namespace, object.resource.as_str()) {
            (_, "namespaces") => format!("namespaces/{}/metrics/{}{q}", percent_encode(&object.name), percent_encode(metric)),
            (Some(ns), r) => format!("namespaces/{}/{}/{}/{}{q}", percent_encode(ns), percent_encode(r), percent_encode(&object.name), percent_encode(metric)),
            (None, r) => format!("{}/{}/{}{q}", percent_encode(r), percent_encode(&object.name), percent_encode(metric)),
        };
        self.custom_values(&rest)
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| Error::new(ErrorKind::NotFound, format!("no value of {metric} for {}/{}", object.resource, object.name)))
    }

    /// The values of `metric` for the objects of `resource` matching `label_selector`
    /// (`pods/*/{metric}?labelSelector=...`).
    pub async fn list_custom_metrics(
        &self,
        namespace: Option<&str>,
        resource: &str,
        label_selector: Option<&str>,
        metric: &str,
        metric_selector: Option<&str>,
    ) -> Result<Vec<MetricValue>> {
        let q = query(&[("labelSelector", label_selector), ("metricLabelSelector", metric_selector)]);
        let rest = match namespace {
            Some(ns) => format!("namespaces/{}/{}/*/{}{q}", percent_encode(ns), percent_encode(resource), percent_encode(metric)),
            None => format!("{}/*/{}{q}", percent_encode(resource), percent_encode(metric)),
        };
        self.custom_values(&rest).await
    }

    async fn require_external(&self) -> Result<()> {
        if !self.group_versions(EXTERNAL_GROUP).await?.iter().any(|v| v == "v1beta1") {
            return Err(Error::new(ErrorKind::MetricsUnavailable, "External metrics API not available: no external.metrics.k8s.io/v1beta1 is served"));
        }
        Ok(())
    }

    /// The series of external `metric` in `namespace` matching `label_selector`.
    pub async fn get_external_metric(&self, namespace: &str, metric: &str, label_selector: Option<&str>) -> Result<Vec<ExternalMetricValue>> {
        self.require_external().await?;
        let q = query(&[("labelSelector", label_selector)]);
        let body = self.get_raw(&format!("/apis/{EXTERNAL_GROUP}/v1beta1/namespaces/{}/{}{q}", percent_encode(namespace), percent_encode(metric))).await?;
        Ok(serde_json::from_str::<ExternalMetricValueList>(&body)
            .map_err(|e| Error::new(ErrorKind::Api, format!("cannot decode external metrics: {e}")))?
            .items)
    }

    /// Discovery: the custom metrics served, as `resource/metric` (`pods/http_requests`).
    pub async fn list_custom_metric_names(&self) -> Result<Vec<String>> {
        let version = self.custom_metrics_version().await?;
        self.resource_names(&format!("/apis/{CUSTOM_GROUP}/{version}")).await
    }

    /// Discovery: the external metrics served.
    pub async fn list_external_metric_names(&self) -> Result<Vec<String>> {
        self.require_external().await?;
        self.resource_names(&format!("/apis/{EXTERNAL_GROUP}/v1beta1")).await
    }

    async fn resource_names(&self, path: &str) -> Result<Vec<String>> {
        let doc: serde_json::Value = serde_json::from_str(&self.get_raw(path).await?).map_err(|e| Error::new(ErrorKind::Api, format!("{path}: {e}")))?;
        Ok(doc["resources"].as_array().into_iter().flatten().filter_map(|r| r["name"].as_str().map(str::to_string)).collect())
    }
}
