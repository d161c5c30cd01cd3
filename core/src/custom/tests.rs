use super::*;
use crate::Quantity;
use std::time::Duration;

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
    fn metric_by_name<'a>(
        &'a self,
        _: &'a ObjectRef,
        _: &'a str,
        _: &'a crate::selector::LabelSelector,
    ) -> BoxFuture<'a, crate::Result<crate::metrics::custom::MetricValue>> {
        Box::pin(async { Err(crate::Error::new(crate::ErrorKind::Internal, "provider exploded")) })
    }
    fn metrics_by_selector<'a>(
        &'a self,
        _: Option<&'a str>,
        _: &'a str,
        _: &'a crate::selector::LabelSelector,
        _: &'a str,
        _: &'a crate::selector::LabelSelector,
    ) -> BoxFuture<'a, crate::Result<Vec<crate::metrics::custom::MetricValue>>> {
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
