use super::*;
use crate::Quantity;
use crate::metrics::custom::MetricValue;
use crate::selector::LabelSelector as Selector;
use std::time::Duration;

/// What the test providers answer.
type Answer<'a, T> = BoxFuture<'a, crate::Result<T>>;

fn body(r: crate::server::http::HttpResponse) -> (u16, serde_json::Value) {
    let status = r.status().as_u16();
    let bytes = futures::executor::block_on(http_body_util::BodyExt::collect(r.into_body())).map(|b| b.to_bytes()).unwrap_or_default();
    (status, serde_json::from_slice(&bytes).unwrap_or_default())
}

fn pushed() -> PushProvider {
    let p = PushProvider::new();
    let pod = |name: &str, app: &str| {
        (ObjectRef { namespace: Some("web".into()), resource: "pods".into(), name: name.into() }, [("app".to_string(), app.to_string())].into())
    };
    for (name, app, v) in [("web-1", "web", "10"), ("web-2", "web", "30"), ("db-1", "db", "5")] {
        let (o, l) = pod(name, app);
        p.set_custom(o, l, "http_requests", v.parse::<Quantity>().expect("q"), Duration::from_secs(60)).expect("set");
    }
    p.set_external("web", "queue_depth", [("queue".to_string(), "jobs".to_string())].into(), "42".parse().expect("q"), Duration::from_secs(60)).expect("set");
    p.set_external("web", "queue_depth", [("queue".to_string(), "mail".to_string())].into(), "7".parse().expect("q"), Duration::from_secs(60)).expect("set");
    p
}

#[tokio::test]
async fn custom_routes_answer_like_custom_metrics_apiserver() {
    let p = pushed();
    let (code, list) = body(routes::custom(&p, "v1beta2", "/namespaces/web/pods/*/http_requests", Some("labelSelector=app%3Dweb")).await);
    assert_eq!(code, 200);
    assert_eq!((list["kind"].as_str(), list["apiVersion"].as_str()), (Some("MetricValueList"), Some("custom.metrics.k8s.io/v1beta2")));
    let values: Vec<(&str, &str)> = list["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| (i["describedObject"]["name"].as_str().unwrap_or(""), i["value"].as_str().unwrap_or("")))
        .collect();
    assert_eq!(values, [("web-1", "10"), ("web-2", "30")]);
    assert_eq!(list["items"][0]["describedObject"]["kind"], "Pod");
    assert_eq!(list["items"][0]["metric"]["name"], "http_requests");
    let (code, one) = body(routes::custom(&p, "v1beta1", "/namespaces/web/pods/db-1/http_requests", None).await);
    assert_eq!(code, 200);
    assert_eq!(one["items"][0]["metricName"], "http_requests");
    assert!(one["items"][0].get("selector").is_some(), "v1beta1 always has selector");
    let (code, err) = body(routes::custom(&p, "v1beta2", "/namespaces/web/pods/nope/http_requests", None).await);
    assert_eq!((code, err["reason"].as_str()), (404, Some("NotFound")));
    assert_eq!(err["message"], "the server could not find the metric http_requests for pods nope");
    let (_, discovery) = body(routes::custom(&p, "v1beta2", "", None).await);
    assert_eq!(discovery["resources"][0]["name"], "pods/http_requests");
    let (code, _) = body(routes::custom(&p, "v1beta2", "/namespaces/web/pods/*/http_requests", Some("labelSelector=a%20b%20c")).await);
    assert_eq!(code, 400);
}

#[tokio::test]
async fn external_routes_select_series_by_labels() {
    let p = pushed();
    let (code, list) = body(routes::external(&p, "/namespaces/web/queue_depth", Some("labelSelector=queue%3Djobs")).await);
    assert_eq!(code, 200);
    assert_eq!(list["kind"], "ExternalMetricValueList");
    assert_eq!(list["items"].as_array().map(|a| a.len()), Some(1));
    assert_eq!(list["items"][0]["value"], "42");
    let (_, all) = body(routes::external(&p, "/namespaces/web/queue_depth", None).await);
    assert_eq!(all["items"].as_array().map(|a| a.len()), Some(2));
    let (_, discovery) = body(routes::external(&p, "", None).await);
    assert_eq!(discovery["resources"][0]["name"], "queue_depth");
}

#[tokio::test]
async fn pushed_values_expire() {
    let p = PushProvider::new();
    let o = ObjectRef { namespace: Some("a".into()), resource: "pods".into(), name: "x".into() };
    p.set_custom(o.clone(), Default::default(), "m", "1".parse().expect("q"), Duration::from_millis(50)).expect("set");
    assert!(p.metric_by_name(&o, "m", &Default::default()).await.is_ok());
    tokio::time::sleep(Duration::from_millis(80)).await;
    assert_eq!(p.metric_by_name(&o, "m", &Default::default()).await.expect_err("expired").kind(), crate::ErrorKind::NotFound);
    assert!(p.list_metrics().await.expect("list").is_empty());
}

struct Slow;
impl CustomMetricsProvider for Slow {
    fn list_metrics(&self) -> BoxFuture<'_, crate::Result<Vec<CustomMetricInfo>>> {
        Box::pin(async { Err(crate::Error::new(crate::ErrorKind::Internal, "listing exploded")) })
    }
    fn metric_by_name<'a>(&'a self, _: &'a ObjectRef, _: &'a str, _: &'a Selector) -> Answer<'a, MetricValue> {
        Box::pin(async { Err(crate::Error::new(crate::ErrorKind::Internal, "provider exploded")) })
    }
    fn metrics_by_selector<'a>(&'a self, _: SelectorQuery<'a>) -> Answer<'a, Vec<MetricValue>> {
        Box::pin(async {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            Ok(Vec::new())
        })
    }
}

#[tokio::test(start_paused = true)]
async fn provider_errors_and_timeouts_become_statuses() {
    let (code, err) = body(routes::custom(&Slow, "v1beta2", "/namespaces/a/pods/x/m", None).await);
    assert_eq!((code, err["message"].as_str()), (500, Some("Internal error occurred: provider exploded")));
    let (code, err) = body(routes::custom(&Slow, "v1beta2", "/namespaces/a/pods/*/m", None).await);
    assert_eq!((code, err["reason"].as_str()), (504, Some("Timeout")));
    let (code, err) = body(routes::custom(&Slow, "v1beta2", "", None).await);
    assert_eq!((code, err["message"].as_str()), (500, Some("Internal error occurred: listing exploded")));
}

/// A provider serving `tests/fixtures/providers/answers.json` the way the bindings' adapters do:
/// it returns names and values, the core functions build the values.
struct Answers(serde_json::Value);

fn answers() -> Answers {
    let p = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/providers/answers.json");
    let text = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    Answers(serde_json::from_str(&text).expect("answers.json"))
}

fn quantity(v: &serde_json::Value) -> Quantity {
    let text = v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string());
    text.parse().expect("a quantity")
}

impl Answers {
    fn objects(&self) -> impl Iterator<Item = &serde_json::Value> {
        self.0["objects"].as_array().into_iter().flatten()
    }
}

impl CustomMetricsProvider for Answers {
    fn list_metrics(&self) -> BoxFuture<'_, crate::Result<Vec<CustomMetricInfo>>> {
        let rows = self.0["metrics"].as_array().into_iter().flatten();
        let infos = rows.map(|r| CustomMetricInfo::new(r[0].as_str().unwrap_or(""), r[1].as_str().unwrap_or(""), r[2].as_bool())).collect();
        Box::pin(std::future::ready(infos))
    }

    fn metric_by_name<'a>(&'a self, object: &'a ObjectRef, metric: &'a str, metric_selector: &'a Selector) -> Answer<'a, MetricValue> {
        let value = self.objects().find(|o| o["resource"] == object.resource.as_str() && o["name"] == object.name.as_str() && o["metric"] == metric);
        Box::pin(std::future::ready(metric_value(object, metric, metric_selector, value.map(|o| quantity(&o["value"])))))
    }

    fn metrics_by_selector<'a>(&'a self, q: SelectorQuery<'a>) -> Answer<'a, Vec<MetricValue>> {
        let named = self
            .objects()
            .filter(|o| o["resource"] == q.resource && o["metric"] == q.metric && (o["namespace"].is_null() || o["namespace"].as_str() == q.namespace))
            .map(|o| ObjectValue::Named { name: o["name"].as_str().unwrap_or("").to_string(), value: quantity(&o["value"]) });
        Box::pin(std::future::ready(Ok(q.values(named))))
    }
}

impl ExternalMetricsProvider for Answers {
    fn list_external_metrics(&self) -> BoxFuture<'_, crate::Result<Vec<String>>> {
        Box::pin(std::future::ready(external_metric_names(vec!["queue".into()])))
    }

    fn external_metric<'a>(
        &'a self,
        _: &'a str,
        metric: &'a str,
        _: &'a crate::selector::LabelSelector,
    ) -> BoxFuture<'a, crate::Result<Vec<crate::metrics::custom::ExternalMetricValue>>> {
        let series = self.0["series"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|_| metric == "queue")
            .map(|s| SeriesValue::Labelled { labels: serde_json::from_value(s["labels"].clone()).expect("labels"), value: quantity(&s["value"]) });
        Box::pin(std::future::ready(Ok(external_values(metric, series))))
    }
}

/// A body without the items' timestamps, after checking each is RFC 3339 UTC in whole seconds.
fn untimed(mut body: serde_json::Value) -> serde_json::Value {
    for item in body.get_mut("items").and_then(|i| i.as_array_mut()).into_iter().flatten() {
        let ts = item.as_object_mut().and_then(|i| i.remove("timestamp")).expect("a timestamp");
        let ts = ts.as_str().expect("a string");
        assert!(ts.len() == 20 && ts.ends_with('Z') && ts.parse::<jiff::Timestamp>().is_ok(), "{ts}");
    }
    body
}

#[tokio::test]
async fn a_provider_of_names_and_values_answers_the_shared_answers() {
    let p = answers();
    let expected = p.0["answers"].as_array().expect("answers").clone();
    assert!(expected.len() >= 10);
    for want in expected {
        let full = want["path"].as_str().expect("path");
        let (path, query) = full.split_once('?').map_or((full, None), |(p, q)| (p, Some(q)));
        let response = if let Some(rest) = path.strip_prefix("/apis/custom.metrics.k8s.io/") {
            let (version, rest) = rest.split_once('/').unwrap_or((rest, ""));
            routes::custom(&p, version, rest, query).await
        } else {
            routes::external(&p, path.strip_prefix("/apis/external.metrics.k8s.io/v1beta1").expect("an external path"), query).await
        };
        let (code, got) = body(response);
        assert_eq!(u64::from(code), want["status"].as_u64().expect("status"), "{full}");
        assert_eq!(untimed(got), want["body"], "{full}");
    }
}

#[test]
fn discovery_rows_are_checked_by_the_core() {
    let info = CustomMetricInfo::new("nodes", "temperature", None).expect("valid");
    assert_eq!(info, CustomMetricInfo { resource: "nodes".into(), metric: "temperature".into(), namespaced: true });
    assert!(!CustomMetricInfo::new("nodes", "t", Some(false)).expect("valid").namespaced);
    for (resource, metric) in [("", "m"), ("pods", ""), ("pods", "a/b")] {
        let e = CustomMetricInfo::new(resource, metric, None).expect_err("unlistable");
        assert_eq!(e.kind(), crate::ErrorKind::Internal);
    }
    let e = CustomMetricInfo::new("pods", "a/b", None).expect_err("slash");
    assert_eq!(e.message(), r#"metric "a/b" cannot be listed: expected a non-empty name without '/'"#);
    assert_eq!(external_metric_names(vec!["q".into(), "r".into()]).expect("valid"), ["q", "r"]);
    let e = external_metric_names(vec!["q".into(), String::new()]).expect_err("empty");
    assert_eq!(e.message(), r#"external metric "" cannot be listed: expected a non-empty name without '/'"#);
}
