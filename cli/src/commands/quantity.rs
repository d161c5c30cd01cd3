//! `kubemetrics quantity VALUE... [-o json]`.

use crate::flags::value_names;
use crate::output;
use kubemetrics::{Format, Quantity};
use serde::Serialize;
use std::process::ExitCode;

/// `-o`: how each value is explained.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    /// One JSON object per line: input, canonical, milli, error.
    Json,
    /// A sentence per value (the default).
    Text,
}
value_names!(Output { Json => "json", Text => "text" });

/// Arguments of `kubemetrics quantity` (negative values such as `-1.5Gi` go after `--`).
#[derive(Debug, clap::Args)]
#[command(allow_negative_numbers = true)]
pub struct Args {
    /// Quantities to explain, e.g. 250264852n 8318172Ki 1.5 100m
    #[arg(required = true, value_name = "VALUE")]
    values: Vec<String>,
    /// Output format: human text (default) or one JSON object per line.
    #[arg(short = 'o', long = "output", value_enum, default_value_t = Output::Text)]
    output: Output,
}

/// One line of `-o json`, fields in the documented order.
#[derive(Serialize)]
struct JsonLine<'a> {
    input: &'a str,
    canonical: Option<String>,
    milli: Option<String>,
    error: Option<String>,
}

/// What a quantity most likely measures, from how it was written.
fn looks_like_memory(q: &Quantity, input: &str) -> bool {
    q.format() == Format::BinarySI || input.ends_with(['k', 'M', 'G', 'T', 'P', 'E'])
}

fn looks_like_cpu(q: &Quantity, input: &str) -> bool {
    !looks_like_memory(q, input) && (input.ends_with(['n', 'u', 'm']) || q.value().is_some_and(|v| v.abs() < 1024))
}

/// `kubectl top`'s CPU column: millicores rounded up.
fn kubectl_cpu(q: &Quantity) -> String {
    q.milli_value().map_or_else(|| "(too large)".into(), |m| format!("{m}m"))
}

/// `kubectl top`'s memory column: whole MiB rounded down.
fn kubectl_memory(q: &Quantity) -> String {
    q.value().map_or_else(|| "(too large)".into(), |v| format!("{}Mi", v.div_euclid(1024 * 1024)))
}

fn explain(input: &str, q: &Quantity) -> String {
    let milli = q.milli_value().map_or_else(|| "(does not fit 128 bits)".into(), |m| m.to_string());
    let mut line = format!("{input}: canonical {q}, milli {milli}");
    let plain = q.to_plain_decimal();
    if looks_like_cpu(q, input) {
        line += &format!("; as CPU {plain} cores (kubectl top shows {})", kubectl_cpu(q));
    }
    if looks_like_memory(q, input) || !looks_like_cpu(q, input) {
        let mib = q.as_f64() / (1024.0 * 1024.0);
        line += &format!("; as memory {plain} bytes = {mib:.2} MiB (kubectl top shows {})", kubectl_memory(q));
    }
    line
}

/// Runs the subcommand; exit status 1 when any value is invalid (the others are still printed).
pub fn run(args: Args) -> ExitCode {
    let json = args.output == Output::Json;
    let mut failed = false;
    for input in &args.values {
        let parsed = Quantity::parse(input);
        failed |= parsed.is_err();
        let line = if json {
            let (canonical, milli, error) = match &parsed {
                Ok(q) => (Some(q.to_string()), q.milli_value().map(|m| m.to_string()), None),
                Err(e) => (None, None, Some(e.to_string())),
            };
            serde_json::to_string(&JsonLine { input, canonical, milli, error }).unwrap_or_default()
        } else {
            match &parsed {
                Ok(q) => explain(input, q),
                Err(e) => format!("{input}: error: {e}"),
            }
        };
        if let Err(code) = output::print(&format!("{line}\n")) {
            return code;
        }
    }
    if failed { ExitCode::from(1) } else { ExitCode::SUCCESS }
}
