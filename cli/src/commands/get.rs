//! `kubemetrics get custom|external ...`: read custom and external metrics like the HPA does.

use super::top::{ConnectionArgs, report};
use kubemetrics::metrics::custom::ObjectRef;
use std::process::ExitCode;

/// `kubemetrics get ...`
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    what: What,
    #[command(flatten)]
    connection: ConnectionArgs,
}

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
        #[arg(short = 'o', long = "output", value_parser = ["json"])]
        output: Option<String>,
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
        #[arg(short = 'o', long = "output", value_parser = ["json"])]
        output: Option<String>,
    },
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

/// Runs `get`.
pub async fn run(args: Args) -> ExitCode {
    let client = match args.connection.client().await {
        Ok(c) => c,
        Err(e) => return report(&e),
    };
    let result: kubemetrics::Result<String> = async {
        match args.what {
            What::Custom { object: None, .. } => Ok(client.list_custom_metric_names().await?.join("\n") + "\n"),
            What::Custom { object: Some(object), metric, namespace, selector, metric_selector, output } => {
                let metric = metric.ok_or_else(|| kubemetrics::Error::new(kubemetrics::ErrorKind::Config, "a metric name is required after RESOURCE/NAME"))?;
                let (resource, name) = object.split_once('/').ok_or_else(|| {
                    kubemetrics::Error::new(kubemetrics::ErrorKind::Config, format!("{object:?} is not RESOURCE/NAME (e.g. pods/web-1 or 'pods/*')"))
                })?;
                // Namespaced resources default to the context's namespace, like kubectl.
                let cluster_scoped = matches!(resource, "namespaces" | "nodes" | "persistentvolumes");
                let namespace = namespace.or_else(|| (!cluster_scoped).then(|| client.default_namespace().to_string()));
                let values = if name == "*" {
                    client.list_custom_metrics(namespace.as_deref(), resource, selector.as_deref(), &metric, metric_selector.as_deref()).await?
                } else {
                    let object = ObjectRef { namespace, resource: resource.into(), name: name.into() };
                    vec![client.get_custom_metric(&object, &metric, metric_selector.as_deref()).await?]
                };
                Ok(match output {
                    Some(_) => serde_json::to_string_pretty(&values).unwrap_or_default() + "\n",
                    None => table(
                        values
                            .iter()
                            .map(|v| {
                                [
                                    format!("{}/{}", v.described_object.kind, v.described_object.name),
                                    v.metric.name.clone(),
                                    v.value.to_string(),
                                    v.timestamp.0.to_string(),
                                ]
                            })
                            .collect(),
                        ["OBJECT", "METRIC", "VALUE", "TIMESTAMP"],
                    ),
                })
            }
            What::External { metric: None, .. } => Ok(client.list_external_metric_names().await?.join("\n") + "\n"),
            What::External { metric: Some(metric), namespace, selector, output } => {
                let values = client.get_external_metric(&namespace, &metric, selector.as_deref()).await?;
                Ok(match output {
                    Some(_) => serde_json::to_string_pretty(&values).unwrap_or_default() + "\n",
                    None => table(
                        values
                            .iter()
                            .map(|v| {
                                [
                                    v.metric_name.clone(),
                                    v.metric_labels.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(","),
                                    v.value.to_string(),
                                    v.timestamp.0.to_string(),
                                ]
                            })
                            .collect(),
                        ["METRIC", "LABELS", "VALUE", "TIMESTAMP"],
                    ),
                })
            }
        }
    }
    .await;
    match result {
        Ok(text) => {
            print!("{text}");
            ExitCode::SUCCESS
        }
        Err(e) => report(&e),
    }
}
