//! `kubemetrics get custom|external ...`: read custom and external metrics like the HPA does.

use crate::connection::report;
use crate::flags::value_names;
use crate::output;
use kubemetrics::metrics::custom::ObjectRef;
use kubemetrics::{Client, Error, ErrorKind};
use std::process::ExitCode;

/// `-o`: the values as the API returned them instead of a table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Pretty-printed JSON.
    Json,
}
value_names!(Format { Json => "json" });

crate::connection::command_with_connection!(
    /// `kubemetrics get ...`
    What
);

#[derive(Debug, clap::Subcommand)]
enum What {
    /// Custom metrics: `get custom` lists them; `get custom pods/web-1 http_requests` reads one
    /// object's value; `get custom 'pods/*' http_requests -l app=web` reads by label selector;
    /// `get custom namespaces/web queue_length` reads a namespace's metric.
    Custom {
        /// RESOURCE/NAME (NAME `*` selects by label).
        object: Option<String>,
        /// Metric name.
        metric: Option<String>,
        /// Namespace of the objects (cluster-scoped objects: omit).
        #[arg(short = 'n', long)]
        namespace: Option<String>,
        /// Label selector of the objects (with NAME `*`).
        #[arg(short = 'l', long = "selector")]
        selector: Option<String>,
        /// Selector of the metric's own labels.
        #[arg(long)]
        metric_selector: Option<String>,
        /// Output: table (default) or json.
        #[arg(short = 'o', long = "output", value_enum)]
        output: Option<Format>,
    },
    /// External metrics: `get external` lists them; `get external queue_depth -n web -l queue=jobs`.
    External {
        /// Metric name.
        metric: Option<String>,
        /// Namespace.
        #[arg(short = 'n', long, default_value = "default")]
        namespace: String,
        /// Selector of the metric's labels.
        #[arg(short = 'l', long = "selector")]
        selector: Option<String>,
        /// Output: table (default) or json.
        #[arg(short = 'o', long = "output", value_enum)]
        output: Option<Format>,
    },
}

/// `values` as `-o json` asks, or as a four-column table of `row`s under `header`.
fn render<T: serde::Serialize>(output: Option<Format>, values: &[T], header: [&str; 4], row: impl Fn(&T) -> [String; 4]) -> String {
    match output {
        Some(Format::Json) => serde_json::to_string_pretty(values).unwrap_or_default() + "\n",
        None => table(values.iter().map(row).collect(), header),
    }
}

fn table(rows: Vec<[String; 4]>, header: [&str; 4]) -> String {
    let mut w = [0usize; 4];
    for (i, h) in header.iter().enumerate() {
        w[i] = h.len();
    }
    for r in &rows {
        for i in 0..4 {
            w[i] = w[i].max(r[i].len());
        }
    }
    let line = |c: [&str; 4]| format!("{:<a$}   {:<b$}   {:<d$}   {}\n", c[0], c[1], c[2], c[3], a = w[0], b = w[1], d = w[2]);
    let mut out = line(header);
    for r in &rows {
        out += &line([&r[0], &r[1], &r[2], &r[3]]);
    }
    out
}

/// Which objects of a resource `get custom` reads.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Objects {
    /// `RESOURCE/NAME`: one object.
    Named(String),
    /// `RESOURCE/*`: those matching the label selector.
    Selected,
}

/// What `get` was asked for, checked before anything is sent.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Request {
    CustomNames,
    Custom {
        resource: String,
        objects: Objects,
        metric: String,
        namespace: Option<String>,
        selector: Option<String>,
        metric_selector: Option<String>,
        output: Option<Format>,
    },
    ExternalNames,
    External {
        metric: String,
        namespace: String,
        selector: Option<String>,
        output: Option<Format>,
    },
}

impl Request {
    fn from_args(what: What) -> kubemetrics::Result<Request> {
        Ok(match what {
            What::Custom { object: None, .. } => Request::CustomNames,
            What::Custom { object: Some(object), metric, namespace, selector, metric_selector, output } => {
                let metric = metric.ok_or_else(|| Error::new(ErrorKind::Config, "a metric name is required after RESOURCE/NAME"))?;
                let (resource, name) = object
                    .split_once('/')
                    .ok_or_else(|| Error::new(ErrorKind::Config, format!("{object:?} is not RESOURCE/NAME (e.g. pods/web-1 or 'pods/*')")))?;
                let objects = if name == "*" { Objects::Selected } else { Objects::Named(name.to_string()) };
                Request::Custom { resource: resource.to_string(), objects, metric, namespace, selector, metric_selector, output }
            }
            What::External { metric: None, .. } => Request::ExternalNames,
            What::External { metric: Some(metric), namespace, selector, output } => Request::External { metric, namespace, selector, output },
        })
    }
}

/// Runs `get`.
pub async fn run(args: Args) -> ExitCode {
    let request = match Request::from_args(args.what) {
        Ok(r) => r,
        Err(e) => return report(&e),
    };
    let client = match args.connection.client().await {
        Ok(c) => c,
        Err(e) => return report(&e),
    };
    match fetch(&client, request).await {
        Ok(text) => match output::print(&text) {
            Ok(()) => ExitCode::SUCCESS,
            Err(code) => code,
        },
        Err(e) => report(&e),
    }
}

/// Reads what `request` asks for and renders it.
async fn fetch(client: &Client, request: Request) -> kubemetrics::Result<String> {
    match request {
        Request::CustomNames => Ok(client.list_custom_metric_names().await?.join("\n") + "\n"),
        Request::Custom { resource, objects, metric, namespace, selector, metric_selector, output } => {
            // Namespaced resources default to the context's namespace, like kubectl.
            let cluster_scoped = matches!(resource.as_str(), "namespaces" | "nodes" | "persistentvolumes");
            let namespace = namespace.or_else(|| (!cluster_scoped).then(|| client.default_namespace().to_string()));
            let values = match objects {
                Objects::Selected => {
                    client.list_custom_metrics(namespace.as_deref(), &resource, selector.as_deref(), &metric, metric_selector.as_deref()).await?
                }
                Objects::Named(name) => {
                    let object = ObjectRef { namespace, resource, name };
                    vec![client.get_custom_metric(&object, &metric, metric_selector.as_deref()).await?]
                }
            };
            Ok(render(output, &values, ["OBJECT", "METRIC", "VALUE", "TIMESTAMP"], |v| {
                [format!("{}/{}", v.described_object.kind, v.described_object.name), v.metric.name.clone(), v.value.to_string(), v.timestamp.0.to_string()]
            }))
        }
        Request::ExternalNames => Ok(client.list_external_metric_names().await?.join("\n") + "\n"),
        Request::External { metric, namespace, selector, output } => {
            let values = client.get_external_metric(&namespace, &metric, selector.as_deref()).await?;
            Ok(render(output, &values, ["METRIC", "LABELS", "VALUE", "TIMESTAMP"], |v| {
                let labels = v.metric_labels.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(",");
                [v.metric_name.clone(), labels, v.value.to_string(), v.timestamp.0.to_string()]
            }))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Get {
        #[command(subcommand)]
        what: What,
    }

    fn request(args: &[&str]) -> Result<Request, String> {
        let parsed = Get::try_parse_from(std::iter::once("get").chain(args.iter().copied())).map_err(|e| e.to_string())?;
        Request::from_args(parsed.what).map_err(|e| e.message().to_string())
    }

    #[test]
    fn arguments_become_a_checked_request() {
        assert_eq!(request(&["custom"]), Ok(Request::CustomNames));
        assert_eq!(request(&["external"]), Ok(Request::ExternalNames));
        assert_eq!(
            request(&["custom", "pods/*", "http_requests", "-l", "app=web", "-o", "json"]),
            Ok(Request::Custom {
                resource: "pods".into(),
                objects: Objects::Selected,
                metric: "http_requests".into(),
                namespace: None,
                selector: Some("app=web".into()),
                metric_selector: None,
                output: Some(Format::Json),
            })
        );
        assert!(matches!(request(&["custom", "pods/web-1", "m"]), Ok(Request::Custom { objects: Objects::Named(n), .. }) if n == "web-1"));
        assert_eq!(
            request(&["external", "queue_depth"]),
            Ok(Request::External { metric: "queue_depth".into(), namespace: "default".into(), selector: None, output: None })
        );
    }

    #[test]
    fn the_metric_is_checked_before_the_object() {
        assert_eq!(request(&["custom", "web-1"]), Err("a metric name is required after RESOURCE/NAME".into()));
        assert_eq!(request(&["custom", "web-1", "m"]), Err(r#""web-1" is not RESOURCE/NAME (e.g. pods/web-1 or 'pods/*')"#.into()));
    }
}
