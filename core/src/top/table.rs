//! The `kubectl top` tables, byte for byte (kubectl 1.32: same headers, tabwriter padding,
//! `<unknown>` rows, the `--sum` rows, including kubectl's quirks).

use super::{NodeRow, TopPods, TopPodsTable, tabwriter};
use crate::Quantity;
use std::fmt::Write;

/// Writes kubectl's CPU cell (`{milli}m`) and its tab into `t`.
fn cpu_cell(t: &mut String, q: &Quantity) {
    let _ = write!(t, "{}m\t", q.milli_value().unwrap_or(0));
}

/// Writes kubectl's memory cell (`{Mi}Mi`) and its tab into `t`.
fn memory_cell(t: &mut String, q: &Quantity) {
    let _ = write!(t, "{}Mi\t", q.value().unwrap_or(0) / (1024 * 1024));
}

/// Writes the usage cells that end a `top pod` row, and the line's end.
fn usage_cells(t: &mut String, cpu: &Quantity, memory: &Quantity) {
    cpu_cell(t, cpu);
    memory_cell(t, memory);
    t.push('\n');
}

/// The `kubectl top node` table. Prints nothing when no row has metrics (kubectl errors first).
pub fn render_nodes(rows: &[NodeRow], no_headers: bool) -> String {
    if !rows.iter().any(NodeRow::has_metrics) {
        return String::new();
    }
    let mut t = String::new();
    if !no_headers {
        t.push_str("NAME\tCPU(cores)\tCPU(%)\tMEMORY(bytes)\tMEMORY(%)\t\n");
    }
    for r in rows {
        let _ = write!(t, "{}\t", r.name);
        match (&r.cpu, &r.memory) {
            (Some(cpu), Some(memory)) => {
                cpu_cell(&mut t, cpu);
                if let Some(p) = r.cpu_percent {
                    let _ = write!(t, "{p}%\t");
                }
                memory_cell(&mut t, memory);
                if let Some(p) = r.memory_percent {
                    let _ = write!(t, "{p}%\t");
                }
            }
            _ => t.push_str("<unknown>\t<unknown>\t<unknown>\t<unknown>\t"),
        }
        t.push('\n');
    }
    tabwriter::align(&t)
}

/// The `kubectl top pod` table (`containers`: `--containers`, `sum`: `--sum`; namespaces are
/// shown when the result covers all namespaces).
pub fn render_pods(top: &TopPods, containers: bool, no_headers: bool, sum: bool) -> String {
    render_pods_table(&TopPodsTable::from(top), containers, no_headers, sum)
}

/// [`render_pods`] of a [`TopPodsTable`], written straight from it (no row objects).
pub fn render_pods_table(top: &TopPodsTable, containers: bool, no_headers: bool, sum: bool) -> String {
    if top.is_empty() {
        return String::new();
    }
    let with_namespace = top.namespace().is_none();
    let mut t = String::with_capacity(top.len() * 64);
    // kubectl widens the sum row only for the columns whose headers it printed.
    let mut column_width = 3;
    if !no_headers {
        if with_namespace {
            t.push_str("NAMESPACE\t");
            column_width += 1;
        }
        if containers {
            t.push_str("POD\t");
            column_width += 1;
        }
        t.push_str("NAME\tCPU(cores)\tMEMORY(bytes)\t\n");
    }
    for p in top.iter() {
        if containers {
            for c in p.containers() {
                if with_namespace {
                    t.push_str(p.namespace().as_str());
                    t.push('\t');
                }
                let _ = write!(t, "{}\t{}\t", p.name().as_str(), c.name().as_str());
                let (cpu, memory) = c.usage();
                usage_cells(&mut t, &cpu, &memory);
            }
        } else {
            if with_namespace {
                t.push_str(p.namespace().as_str());
                t.push('\t');
            }
            t.push_str(p.name().as_str());
            t.push('\t');
            usage_cells(&mut t, &p.cpu(), &p.memory());
        }
    }
    if sum {
        for _ in 0..column_width - 2 {
            t.push('\t');
        }
        t.push_str("________\t________\t\n");
        for _ in 0..column_width - 3 {
            t.push('\t');
        }
        t.push('\t');
        usage_cells(&mut t, &top.total_cpu(), &top.total_memory());
    }
    tabwriter::align(&t)
}
