//! A streaming parser for the kubelet `/metrics/resource` body (Prometheus text format 0.0.4),
//! reading only what a metrics server needs.
//!
//! Families read: `node_cpu_usage_seconds_total`, `node_memory_working_set_bytes`,
//! `node_swap_usage_bytes`, `container_cpu_usage_seconds_total`,
//! `container_memory_working_set_bytes`, `container_swap_usage_bytes` and
//! `container_start_time_seconds`. Every other line (comments, `pod_*`, `scrape_error`,
//! `resource_scrape_error`, anything unknown) is skipped after reading its metric name.
//!
//! What is tolerated: `[ALPHA]`/`[STABLE]` HELP texts (comments are not read), labels in any
//! order and extra labels, a trailing comma in the label set, escaped label values (`\"`, `\\`,
//! `\n`), blanks and tabs between tokens, CRLF line ends, a missing final newline, optional
//! millisecond timestamps (a series without one takes the scrape time), and exponent floats
//! (`1.253376e+07`). Numbers are read **exactly** from their decimal text: `357.35491` seconds is
//! `357_354_910_000` nanocore-seconds, with no float rounding.
//!
//! What costs one series (recorded as a [`ParseIssue`], never an error): a malformed line,
//! `NaN`/`±Inf`/negative values, zero, negative or out-of-range timestamps (Go's zero time
//! `-62135596800000`), a missing or empty `namespace`/`pod`/`container` label, invalid UTF-8 in
//! a name. A container left without CPU or memory (or with zero for either, as metrics-server
//! drops them) is reported as [`IssueKind::Incomplete`] and left out. Repeated series are
//! paired by occurrence (the second CPU line of a key goes with the second memory line of that
//! key) and resolved by [`NodeScrapeBuilder`]'s rule (newest timestamp, then larger CPU).
//!
//! A pod one of whose containers is left out this way is listed in
//! [`NodeScrape::partial_pods`] (the exact rule is in [the module docs](super#partial-pods)).
//!
//! The only error is a body over [`ParseOptions::max_body_bytes`].
//!
//! Cost: one pass, no allocation per line; names are copied once per container into the
//! scrape's arena; a [`Parser`] reuses its scratch buffers across scrapes.

use super::{ContainerSample, IssueKind, NodeSample, NodeScrape, NodeScrapeBuilder, ParseIssue, Span, UnixNanos, push_issue};
use crate::error::{Error, ErrorKind, Result};
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// Limits of the parser.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ParseOptions {
    /// Largest body accepted, in bytes (default 10 MiB; a 110-pod kubelet sends about 60 KiB).
    pub max_body_bytes: usize,
    /// Most issues kept per scrape (default 100); later ones are only counted.
    pub max_issues: usize,
}

impl Default for ParseOptions {
    fn default() -> Self {
        ParseOptions { max_body_bytes: 10 << 20, max_issues: 100 }
    }
}

/// Parses a whole `/metrics/resource` body with default options.
///
/// `scrape_time_ns` is the timestamp given to series that carry none.
pub fn parse_metrics_resource(body: &[u8], scrape_time_ns: UnixNanos) -> Result<NodeScrape> {
    Parser::new(ParseOptions::default()).parse(body, scrape_time_ns)
}

/// A reusable, streaming `/metrics/resource` parser.
///
/// Either [`parse`](Self::parse) a whole body, or [`begin`](Self::begin), [`feed`](Self::feed)
/// chunks as they arrive from the network (lines may span chunks), then
/// [`finish`](Self::finish). The size limit is enforced while feeding, so an oversized body is
/// refused before it is all read.
#[derive(Debug)]
pub struct Parser {
    opts: ParseOptions,
    st: State,
}

const NONE: u32 = u32::MAX;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Family {
    NodeCpu,
    NodeMemory,
    NodeSwap,
    Cpu,
    Memory,
    Swap,
    Start,
}

impl Family {
    /// The family whose name `line` starts with (followed by something that is not a name
    /// character), and the name's length.
    fn prefix_of(line: &[u8]) -> Option<(Family, usize)> {
        const NAMES: [(&[u8], Family); 7] = [
            (b"container_cpu_usage_seconds_total", Family::Cpu),
            (b"container_memory_working_set_bytes", Family::Memory),
            (b"container_start_time_seconds", Family::Start),
            (b"container_swap_usage_bytes", Family::Swap),
            (b"node_cpu_usage_seconds_total", Family::NodeCpu),
            (b"node_memory_working_set_bytes", Family::NodeMemory),
            (b"node_swap_usage_bytes", Family::NodeSwap),
        ];
        NAMES
            .iter()
            .find_map(|&(name, family)| (line.starts_with(name) && !line.get(name.len()).is_some_and(|&b| is_name_char(b))).then_some((family, name.len())))
    }

    /// The family's metric name.
    fn name(self) -> &'static str {
        match self {
            Family::NodeCpu => "node_cpu_usage_seconds_total",
            Family::NodeMemory => "node_memory_working_set_bytes",
            Family::NodeSwap => "node_swap_usage_bytes",
            Family::Cpu => "container_cpu_usage_seconds_total",
            Family::Memory => "container_memory_working_set_bytes",
            Family::Swap => "container_swap_usage_bytes",
            Family::Start => "container_start_time_seconds",
        }
    }

    /// Bit of a container family in [`Slot::seen`], and its cursor.
    fn bit(self) -> u8 {
        match self {
            Family::Cpu => 1,
            Family::Memory => 2,
            Family::Swap => 4,
            Family::Start => 8,
            _ => 0,
        }
    }

    fn cursor(self) -> usize {
        match self {
            Family::Cpu => 0,
            Family::Memory => 1,
            Family::Swap => 2,
            _ => 3,
        }
    }
}

/// One container key being assembled (a second copy of a key gets its own slot, chained).
#[derive(Clone, Debug)]
struct Slot {
    namespace: Span,
    pod: Span,
    container: Span,
    cpu: u64,
    cpu_ts: i64,
    cpu_line: u32,
    memory: u64,
    swap: u64,
    start: i64,
    seen: u8,
    /// A line of this key was rejected (so a missing value is already reported).
    bad: bool,
    first_line: u32,
    next_dup: u32,
}

#[derive(Clone, Copy, Debug, Default)]
struct NodeValue {
    value: u64,
    ts: i64,
    line: u32,
}

#[derive(Debug, Default)]
struct State {
    default_ts: i64,
    line: u32,
    bytes: usize,
    over_limit: bool,
    carry: Vec<u8>,
    names: String,
    slots: Vec<Slot>,
    index: HashMap<u64, u32, BuildHasherDefault<IdentityHasher>>,
    cursors: [u32; 4],
    node_cpu: Option<NodeValue>,
    node_memory: Option<NodeValue>,
    node_swap: Option<NodeValue>,
    issues: Vec<ParseIssue>,
    suppressed: u32,
    max_issues: usize,
    unescaped: [Vec<u8>; 3],
    /// Rejected CPU and memory lines that name their pod: (namespace, pod, container, reason).
    partial: Vec<(String, String, Option<String>, String)>,
}

/// The hash map of keys is keyed by [`key_hash`] already; it needs no second hashing.
#[derive(Default)]
struct IdentityHasher(u64);

impl Hasher for IdentityHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 << 8) | u64::from(b);
        }
    }
    fn write_u64(&mut self, v: u64) {
        self.0 = v;
    }
}

/// A 64-bit hash of a container key, read eight bytes at a time (a multiply per word instead of
/// one per byte, which was about a tenth of a parse). Each part's last word carries the part's
/// length, so `("ab", "c")` and `("a", "bc")` differ. Collisions are handled by
/// [`State::find_head`], so the hash needs to be fast and well spread, not unforgeable.
fn key_hash(parts: [&[u8]; 3]) -> u64 {
    const K: u64 = 0x9e37_79b9_7f4a_7c15;
    let mix = |h: u64, word: u64| (h ^ word).wrapping_mul(K).rotate_left(29);
    let mut h: u64 = 0x243f_6a88_85a3_08d3;
    for part in parts {
        let mut words = part.chunks_exact(8);
        for word in &mut words {
            h = mix(h, u64::from_le_bytes(word.try_into().unwrap_or_default()));
        }
        let mut last = [0u8; 8];
        let rest = words.remainder();
        last[..rest.len()].copy_from_slice(rest);
        h = mix(h, u64::from_le_bytes(last) ^ ((part.len() as u64) << 56));
    }
    (h ^ (h >> 32)).wrapping_mul(K)
}

impl Default for Parser {
    fn default() -> Self {
        Parser::new(ParseOptions::default())
    }
}

impl Parser {
    /// A parser with the given limits.
    pub fn new(opts: ParseOptions) -> Self {
        Parser { opts, st: State::default() }
    }

    /// The limits in force.
    pub fn options(&self) -> &ParseOptions {
        &self.opts
    }

    /// Parses a whole body. `scrape_time_ns` is the timestamp of series that carry none.
    pub fn parse(&mut self, body: &[u8], scrape_time_ns: UnixNanos) -> Result<NodeScrape> {
        self.begin(scrape_time_ns);
        self.feed(body)?;
        self.finish()
    }

    /// Starts a new body (forgetting any unfinished one).
    pub fn begin(&mut self, scrape_time_ns: UnixNanos) {
        let st = &mut self.st;
        st.default_ts = scrape_time_ns;
        st.line = 0;
        st.bytes = 0;
        st.over_limit = false;
        st.carry.clear();
        st.names.clear();
        st.slots.clear();
        st.index.clear();
        st.cursors = [0; 4];
        st.node_cpu = None;
        st.node_memory = None;
        st.node_swap = None;
        st.issues.clear();
        st.suppressed = 0;
        st.partial.clear();
        st.max_issues = self.opts.max_issues;
    }

    /// Parses the complete lines of the next chunk and keeps the incomplete end for later.
    ///
    /// Fails (kind [`ErrorKind::Api`]) once the body grows past the size limit; the parser then
    /// refuses everything until the next [`begin`](Self::begin).
    pub fn feed(&mut self, mut chunk: &[u8]) -> Result<()> {
        let st = &mut self.st;
        if st.over_limit {
            return Err(over_limit(self.opts.max_body_bytes));
        }
        st.bytes = st.bytes.saturating_add(chunk.len());
        if st.bytes > self.opts.max_body_bytes {
            st.over_limit = true;
            return Err(over_limit(self.opts.max_body_bytes));
        }
        if !st.carry.is_empty() {
            match memchr::memchr(b'\n', chunk) {
                None => {
                    st.carry.extend_from_slice(chunk);
                    return Ok(());
                }
                Some(i) => {
                    st.carry.extend_from_slice(&chunk[..i]);
                    let carry = std::mem::take(&mut st.carry);
                    st.line_of(&carry);
                    st.carry = carry;
                    st.carry.clear();
                    chunk = &chunk[i + 1..];
                }
            }
        }
        while let Some(i) = memchr::memchr(b'\n', chunk) {
            st.line_of(&chunk[..i]);
            chunk = &chunk[i + 1..];
        }
        st.carry.extend_from_slice(chunk);
        Ok(())
    }

    /// Parses the last line (if the body did not end with a newline) and returns the scrape.
    pub fn finish(&mut self) -> Result<NodeScrape> {
        let st = &mut self.st;
        if st.over_limit {
            return Err(over_limit(self.opts.max_body_bytes));
        }
        if !st.carry.is_empty() {
            let carry = std::mem::take(&mut st.carry);
            st.line_of(&carry);
            st.carry = carry;
            st.carry.clear();
        }
        Ok(st.assemble())
    }
}

fn over_limit(max: usize) -> Error {
    Error::new(ErrorKind::Api, format!("kubelet /metrics/resource body is larger than the limit of {max} bytes; refusing to parse it"))
}

/// Why a line was rejected.
struct Reject {
    kind: IssueKind,
    reason: String,
}

fn reject(kind: IssueKind, reason: impl Into<String>) -> Reject {
    Reject { kind, reason: reason.into() }
}

fn is_blank(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

fn skip_blanks(line: &[u8], mut i: usize) -> usize {
    while i < line.len() && is_blank(line[i]) {
        i += 1;
    }
    i
}

fn is_name_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b':'
}

/// Where one wanted label value lies in the line, and whether it has escapes.
#[derive(Clone, Copy, Default)]
struct LabelPos {
    start: usize,
    end: usize,
    escaped: bool,
    set: bool,
}

impl State {
    fn issue(&mut self, line: u32, kind: IssueKind, message: String) {
        push_issue(&mut self.issues, &mut self.suppressed, self.max_issues, ParseIssue { line, kind, message });
    }

    /// One line of the body, without its `\n`.
    fn line_of(&mut self, raw: &[u8]) {
        self.line = self.line.saturating_add(1);
        let line = raw.strip_suffix(b"\r").unwrap_or(raw);
        let start = skip_blanks(line, 0);
        // Cheap rejection: every wanted family starts with `c` or `n`; comments, `pod_*`,
        // `scrape_error` and `resource_scrape_error` lines end here.
        if !matches!(line.get(start), Some(b'c' | b'n')) {
            return;
        }
        let Some((family, end)) = Family::prefix_of(&line[start..]).map(|(f, len)| (f, start + len)) else {
            return;
        };
        if let Err(r) = self.series(family, line, end) {
            let shown = String::from_utf8_lossy(&line[start..line.len().min(start + 240)]);
            let message = format!("{}: {}", r.reason, shown);
            self.issue(self.line, r.kind, message);
        }
    }

    /// Parses a series of a wanted family; `i` is just past its name.
    fn series(&mut self, family: Family, line: &[u8], i: usize) -> std::result::Result<(), Reject> {
        let mut labels = [LabelPos::default(); 3];
        let mut i = i;
        let brace = skip_blanks(line, i);
        if line.get(brace) == Some(&b'{') {
            i = match kubelet_labels(line, brace + 1, &mut labels) {
                Some(i) => i,
                None => {
                    labels = [LabelPos::default(); 3];
                    parse_labels(line, brace + 1, &mut labels)?
                }
            };
        }
        let result = self.series_after_labels(family, line, i, &labels);
        if let Err(r) = &result
            && matches!(family, Family::Cpu | Family::Memory)
        {
            self.note_partial(family, line, &labels, &r.reason);
        }
        result
    }

    /// A rejected CPU or memory line that names its pod makes the pod partial (unless another
    /// copy of the container turns out usable).
    fn note_partial(&mut self, family: Family, line: &[u8], labels: &[LabelPos; 3], reason: &str) {
        let (Some(namespace), Some(pod)) = (label_string(line, &labels[0]), label_string(line, &labels[1])) else {
            return;
        };
        let container = label_string(line, &labels[2]);
        let name = family.name();
        let what = match &container {
            Some(c) => format!("container {c}: {name} on line {} rejected: {reason}", self.line),
            None => format!("a {name} line (line {}) without a usable container label: {reason}", self.line),
        };
        self.partial.push((namespace, pod, container, what));
    }

    fn series_after_labels(&mut self, family: Family, line: &[u8], i: usize, labels: &[LabelPos; 3]) -> std::result::Result<(), Reject> {
        let container = !matches!(family, Family::NodeCpu | Family::NodeMemory | Family::NodeSwap);
        let mut i = i;
        let after_labels = i;
        i = skip_blanks(line, i);
        if i == after_labels {
            return Err(reject(IssueKind::Syntax, "expected a blank and a value after the metric name"));
        }
        let value_start = i;
        while i < line.len() && !is_blank(line[i]) {
            i += 1;
        }
        let value = &line[value_start..i];
        if value.is_empty() {
            return Err(reject(IssueKind::Syntax, "missing value"));
        }
        i = skip_blanks(line, i);
        let ts_start = i;
        while i < line.len() && !is_blank(line[i]) {
            i += 1;
        }
        let ts_text = &line[ts_start..i];
        if skip_blanks(line, i) != line.len() {
            return Err(reject(IssueKind::Syntax, "unexpected text after the timestamp"));
        }

        // The key comes first, so that a bad value can be charged to its container.
        let slot = if container {
            let slot = self.container_slot(family, line, labels)?;
            Some(slot)
        } else {
            None
        };
        let checked = (|| {
            let ts = if ts_text.is_empty() { self.default_ts } else { parse_timestamp(ts_text)? };
            let dec = parse_decimal(value).map_err(|m| reject(IssueKind::Value, m))?;
            Ok((ts, dec))
        })();
        let (ts, dec) = match checked {
            Ok(v) => v,
            Err(e) => {
                if let Some(s) = slot {
                    self.slots[s as usize].bad = true;
                }
                return Err(e);
            }
        };
        let value = match family {
            Family::Cpu | Family::NodeCpu => dec.nanos_u64(),
            Family::Start => dec.start_time(),
            _ => dec.units_u64(),
        };
        let value = match value {
            Ok(v) => v,
            Err(m) => {
                if let Some(s) = slot {
                    self.slots[s as usize].bad = true;
                }
                return Err(reject(IssueKind::Value, m));
            }
        };
        match slot {
            Some(s) => self.set_container(family, s, value, ts),
            None => self.set_node(family, value, ts),
        }
        Ok(())
    }

    fn set_node(&mut self, family: Family, value: u64, ts: i64) {
        let line = self.line;
        let (slot, name) = match family {
            Family::NodeCpu => (&mut self.node_cpu, "node_cpu_usage_seconds_total"),
            Family::NodeMemory => (&mut self.node_memory, "node_memory_working_set_bytes"),
            _ => (&mut self.node_swap, "node_swap_usage_bytes"),
        };
        let new = NodeValue { value, ts, line };
        let Some(old) = *slot else {
            *slot = Some(new);
            return;
        };
        // Same rule as containers: newest timestamp, then the larger value.
        let new_wins = (new.ts, new.value) > (old.ts, old.value);
        let (kept, dropped) = if new_wins { (new, old) } else { (old, new) };
        *slot = Some(kept);
        let message = format!("duplicate series {name}: kept line {} (timestamp {}), dropped line {}", kept.line, super::to_timestamp(kept.ts), dropped.line);
        self.issue(dropped.line, IssueKind::Duplicate, message);
    }

    fn set_container(&mut self, family: Family, slot: u32, value: u64, ts: i64) {
        let line = self.line;
        let s = &mut self.slots[slot as usize];
        s.seen |= family.bit();
        match family {
            Family::Cpu => {
                s.cpu = value;
                s.cpu_ts = ts;
                s.cpu_line = line;
            }
            Family::Memory => s.memory = value,
            Family::Swap => s.swap = value,
            _ => s.start = value as i64,
        }
    }

    /// Finds (or creates) the slot of the line's key that has no value of `family` yet.
    fn container_slot(&mut self, family: Family, line: &[u8], labels: &[LabelPos; 3]) -> std::result::Result<u32, Reject> {
        let mut unescaped = std::mem::take(&mut self.unescaped);
        let found = self.container_slot_with(family, line, labels, &mut unescaped);
        self.unescaped = unescaped;
        found
    }

    fn container_slot_with(&mut self, family: Family, line: &[u8], labels: &[LabelPos; 3], unescaped: &mut [Vec<u8>; 3]) -> std::result::Result<u32, Reject> {
        const LABELS: [&str; 3] = ["namespace", "pod", "container"];
        for (k, pos) in labels.iter().enumerate() {
            if !pos.set {
                return Err(reject(IssueKind::Labels, format!("missing label {:?}", LABELS[k])));
            }
            if pos.start == pos.end {
                return Err(reject(IssueKind::Labels, format!("empty label {:?}", LABELS[k])));
            }
            if pos.escaped {
                let buf = &mut unescaped[k];
                buf.clear();
                unescape(&line[pos.start..pos.end], buf);
            }
        }
        let unescaped = &*unescaped;
        let value = |k: usize| -> &[u8] { if labels[k].escaped { &unescaped[k] } else { &line[labels[k].start..labels[k].end] } };
        let key = [value(0), value(1), value(2)];
        let bit = family.bit();
        let cursor = family.cursor();
        // Fast path: kubelets write every family in the same order, so the next line of a
        // family usually belongs to the slot after the previous one.
        let expected = self.cursors[cursor];
        let head = if (expected as usize) < self.slots.len() && self.slot_is(expected, key) { Some(expected) } else { self.find_head(key) };
        let found = match head {
            Some(h) => {
                let mut at = h;
                let free = loop {
                    let s = &self.slots[at as usize];
                    if s.seen & bit == 0 {
                        break Some(at);
                    }
                    if s.next_dup == NONE {
                        break None;
                    }
                    at = s.next_dup;
                };
                free.ok_or(h)
            }
            None => Err(NONE),
        };
        let idx = match found {
            Ok(at) => at,
            Err(head) => {
                // Only new keys need checking: an existing slot's names are valid UTF-8 already.
                let mut names = [""; 3];
                for (k, bytes) in key.iter().enumerate() {
                    let Ok(name) = std::str::from_utf8(bytes) else {
                        return Err(reject(IssueKind::Labels, format!("label {:?} is not valid UTF-8", LABELS[k])));
                    };
                    names[k] = name;
                }
                let idx = self.new_slot(names);
                if head == NONE {
                    let hash = key_hash(key);
                    self.index.entry(hash).or_insert(idx);
                } else {
                    let mut at = head;
                    while self.slots[at as usize].next_dup != NONE {
                        at = self.slots[at as usize].next_dup;
                    }
                    self.slots[at as usize].next_dup = idx;
                }
                idx
            }
        };
        self.cursors[cursor] = idx + 1;
        Ok(idx)
    }

    fn slot_is(&self, idx: u32, key: [&[u8]; 3]) -> bool {
        let s = &self.slots[idx as usize];
        s.container.get(&self.names).as_bytes() == key[2] && s.pod.get(&self.names).as_bytes() == key[1] && s.namespace.get(&self.names).as_bytes() == key[0]
    }

    /// The first slot of a key, through the hash index (scanning on a hash collision).
    fn find_head(&self, key: [&[u8]; 3]) -> Option<u32> {
        let idx = *self.index.get(&key_hash(key))?;
        if self.slot_is(idx, key) {
            return Some(idx);
        }
        // Two keys with one 64-bit hash: rare enough to scan for.
        let mut heads = (0..self.slots.len() as u32).filter(|&i| self.slot_is(i, key));
        heads.next()
    }

    fn new_slot(&mut self, key: [&str; 3]) -> u32 {
        let mut push = |name: &str| {
            let start = self.names.len() as u32;
            self.names.push_str(name);
            Span { start, len: name.len() as u32 }
        };
        let (namespace, pod, container) = (push(key[0]), push(key[1]), push(key[2]));
        self.slots.push(Slot {
            namespace,
            pod,
            container,
            cpu: 0,
            cpu_ts: 0,
            cpu_line: 0,
            memory: 0,
            swap: 0,
            start: 0,
            seen: 0,
            bad: false,
            first_line: self.line,
            next_dup: NONE,
        });
        (self.slots.len() - 1) as u32
    }

    fn assemble(&mut self) -> NodeScrape {
        let names = std::mem::take(&mut self.names);
        let mut b = NodeScrapeBuilder::with_arena(names, self.max_issues);
        b.extend_issues(std::mem::take(&mut self.issues), self.suppressed);
        for (namespace, pod, container, reason) in self.partial.drain(..) {
            b.push_partial(&namespace, &pod, container.as_deref(), reason);
        }
        match (self.node_cpu, self.node_memory) {
            (Some(cpu), Some(mem)) if cpu.value > 0 && mem.value > 0 => {
                b.set_node(NodeSample { cpu_ns: cpu.value, memory_bytes: mem.value, swap_bytes: self.node_swap.map(|s| s.value), timestamp_ns: cpu.ts })
            }
            (cpu, mem) => {
                let what = match (cpu, mem) {
                    (None, None) => "no usable node_cpu_usage_seconds_total nor node_memory_working_set_bytes series",
                    (None, _) => "no usable node_cpu_usage_seconds_total series",
                    (_, None) => "no usable node_memory_working_set_bytes series",
                    (Some(c), _) if c.value == 0 => "node_cpu_usage_seconds_total is zero",
                    _ => "node_memory_working_set_bytes is zero",
                };
                b.push_issue(0, IssueKind::Incomplete, format!("node left out: {what}"));
            }
        }
        for s in &self.slots {
            let has_cpu = s.seen & Family::Cpu.bit() != 0;
            let has_mem = s.seen & Family::Memory.bit() != 0;
            let problem = match (has_cpu, has_mem) {
                (false, false) => Some("no CPU nor memory series"),
                (false, true) => Some("no container_cpu_usage_seconds_total series"),
                (true, false) => Some("no container_memory_working_set_bytes series"),
                _ if s.cpu == 0 => Some("container_cpu_usage_seconds_total is zero"),
                _ if s.memory == 0 => Some("container_memory_working_set_bytes is zero"),
                _ => None,
            };
            if let Some(problem) = problem {
                let arena = &b.scrape.names;
                let (namespace, pod, container) = (s.namespace.get(arena).to_string(), s.pod.get(arena).to_string(), s.container.get(arena).to_string());
                // A container whose line was rejected is already reported once.
                if !(s.bad && !(has_cpu && has_mem)) {
                    b.push_issue(s.first_line, IssueKind::Incomplete, format!("container {namespace}/{pod}/{container} left out: {problem}"));
                }
                let reason = format!("container {container}: {problem}");
                b.push_partial(&namespace, &pod, Some(&container), reason);
                continue;
            }
            let sample = ContainerSample {
                cpu_ns: s.cpu,
                memory_bytes: s.memory,
                swap_bytes: (s.seen & Family::Swap.bit() != 0).then_some(s.swap),
                start_time_ns: (s.seen & Family::Start.bit() != 0).then_some(s.start),
                timestamp_ns: s.cpu_ts,
            };
            b.push_spans(s.namespace, s.pod, s.container, sample, s.cpu_line);
        }
        b.build()
    }
}

/// Whether `line` holds `literal` at `i`, compared as one fixed-size array (no call).
fn holds<const N: usize>(line: &[u8], i: usize, literal: &[u8; N]) -> bool {
    line.get(i..).and_then(|rest| rest.first_chunk::<N>()).is_some_and(|got| got == literal)
}

/// The label set exactly as kubelets write it, `container="…",namespace="…",pod="…"}` without
/// escapes, read starting just after `{`; returns the index after `}`, or `None` for anything
/// else (which [`parse_labels`] then reads). Where it succeeds, it records what `parse_labels`
/// would, with a few byte comparisons instead of a search per label.
fn kubelet_labels(line: &[u8], mut i: usize, out: &mut [LabelPos; 3]) -> Option<usize> {
    let mut value = |i: &mut usize, k: usize| -> Option<()> {
        let start = *i;
        loop {
            match *line.get(*i)? {
                b'"' => break,
                b'\\' => return None,
                _ => *i += 1,
            }
        }
        out[k] = LabelPos { start, end: *i, escaped: false, set: true };
        *i += 1;
        Some(())
    };
    if !holds(line, i, b"container=\"") {
        return None;
    }
    i += 11;
    value(&mut i, 2)?;
    if !holds(line, i, b",namespace=\"") {
        return None;
    }
    i += 12;
    value(&mut i, 0)?;
    if !holds(line, i, b",pod=\"") {
        return None;
    }
    i += 6;
    value(&mut i, 1)?;
    (line.get(i) == Some(&b'}')).then_some(i + 1)
}

/// Parses `name="value",...}` starting just after `{`; returns the index after `}`.
/// Records where `namespace`, `pod` and `container` are (in that order in `out`).
fn parse_labels(line: &[u8], mut i: usize, out: &mut [LabelPos; 3]) -> std::result::Result<usize, Reject> {
    loop {
        i = skip_blanks(line, i);
        match line.get(i) {
            Some(b'}') => return Ok(i + 1),
            None => return Err(reject(IssueKind::Syntax, "unterminated label set")),
            _ => {}
        }
        let Some(eq) = memchr::memchr(b'=', &line[i..]).map(|j| i + j) else {
            return Err(reject(IssueKind::Syntax, "expected '=' after a label name"));
        };
        let mut name_end = eq;
        while name_end > i && is_blank(line[name_end - 1]) {
            name_end -= 1;
        }
        let name = &line[i..name_end];
        let valid_name = matches!(name, b"namespace" | b"pod" | b"container")
            || (name.first().is_some_and(|&b| b.is_ascii_alphabetic() || b == b'_') && name.iter().all(|&b| b.is_ascii_alphanumeric() || b == b'_'));
        if !valid_name {
            return Err(reject(IssueKind::Syntax, "invalid label name"));
        }
        i = skip_blanks(line, eq + 1);
        if line.get(i) != Some(&b'"') {
            return Err(reject(IssueKind::Syntax, "expected '\"' to open a label value"));
        }
        i += 1;
        let value_start = i;
        let mut escaped = false;
        loop {
            match memchr::memchr2(b'"', b'\\', &line[i..]) {
                None => return Err(reject(IssueKind::Syntax, "unterminated label value")),
                Some(j) if line[i + j] == b'"' => {
                    i += j;
                    break;
                }
                Some(j) => {
                    match line.get(i + j + 1) {
                        Some(b'\\' | b'"' | b'n') => {}
                        _ => {
                            return Err(reject(IssueKind::Syntax, "invalid escape in a label value (only \\\\, \\\" and \\n are allowed)"));
                        }
                    }
                    escaped = true;
                    i += j + 2;
                }
            }
        }
        let pos = LabelPos { start: value_start, end: i, escaped, set: true };
        i += 1;
        let k = match name {
            b"namespace" => Some(0),
            b"pod" => Some(1),
            b"container" => Some(2),
            _ => None,
        };
        if let Some(k) = k {
            if out[k].set {
                return Err(reject(IssueKind::Labels, format!("label {:?} given twice", String::from_utf8_lossy(name))));
            }
            out[k] = pos;
        }
        i = skip_blanks(line, i);
        match line.get(i) {
            Some(b',') => i += 1,
            Some(b'}') => return Ok(i + 1),
            _ => {
                return Err(reject(IssueKind::Syntax, "expected ',' or '}' after a label value"));
            }
        }
    }
}

/// A label's value as an owned string: `None` when absent, empty or not UTF-8.
fn label_string(line: &[u8], pos: &LabelPos) -> Option<String> {
    if !pos.set || pos.start == pos.end {
        return None;
    }
    let raw = line.get(pos.start..pos.end)?;
    let bytes = if pos.escaped {
        let mut out = Vec::with_capacity(raw.len());
        unescape(raw, &mut out);
        out
    } else {
        raw.to_vec()
    };
    String::from_utf8(bytes).ok()
}

fn unescape(raw: &[u8], out: &mut Vec<u8>) {
    let mut i = 0;
    while i < raw.len() {
        if raw[i] == b'\\' && i + 1 < raw.len() {
            out.push(if raw[i + 1] == b'n' { b'\n' } else { raw[i + 1] });
            i += 2;
        } else {
            out.push(raw[i]);
            i += 1;
        }
    }
}

/// Go's zero time (`0001-01-01T00:00:00Z`) in milliseconds, which older kubelets emitted.
const GO_ZERO_TIME_MS: i64 = -62_135_596_800_000;

/// A millisecond timestamp: a positive integer that fits in `i64` nanoseconds.
fn parse_timestamp(text: &[u8]) -> std::result::Result<i64, Reject> {
    let (neg, digits) = match text.first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    if digits.is_empty() || digits.len() > 19 || !digits.iter().all(u8::is_ascii_digit) {
        return Err(reject(IssueKind::Timestamp, "the timestamp is not an integer number of milliseconds"));
    }
    let mut ms: i64 = 0;
    if digits.len() <= 18 {
        // Cannot overflow: no check per digit.
        ms = digits.iter().fold(0, |ms, &d| ms * 10 + i64::from(d - b'0'));
    } else {
        for &d in digits {
            ms = ms.checked_mul(10).and_then(|v| v.checked_add(i64::from(d - b'0'))).ok_or_else(|| reject(IssueKind::Timestamp, "timestamp out of range"))?;
        }
    }
    if neg {
        ms = -ms;
    }
    if ms <= 0 {
        let hint = if ms == GO_ZERO_TIME_MS { " (Go's zero time)" } else { "" };
        return Err(reject(IssueKind::Timestamp, format!("timestamp {ms} ms is not after the Unix epoch{hint}")));
    }
    ms.checked_mul(1_000_000).ok_or_else(|| reject(IssueKind::Timestamp, format!("timestamp {ms} ms is beyond the year 2262")))
}

/// The significant digits of a number being read: in 64 bits for the first 19, in 128 after.
#[derive(Default)]
struct Mantissa {
    small: u64,
    wide: u128,
    digits: u32,
}

impl Mantissa {
    /// Adds a digit; `false` when it is past the 38th significant one (and dropped). Leading
    /// zeros are not significant (they are kept, as zeros, without counting).
    fn push(&mut self, d: u8) -> bool {
        match self.digits {
            0 if d == 0 => {}
            0..19 => {
                self.small = self.small * 10 + u64::from(d);
                self.digits += 1;
            }
            19 => {
                self.wide = u128::from(self.small) * 10 + u128::from(d);
                self.digits += 1;
            }
            20..38 => {
                self.wide = self.wide * 10 + u128::from(d);
                self.digits += 1;
            }
            _ => return false,
        }
        true
    }

    fn value(&self) -> u128 {
        if self.digits <= 19 { u128::from(self.small) } else { self.wide }
    }
}

/// An exact decimal number `(-1)^negative × mantissa × 10^exponent`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Decimal {
    negative: bool,
    mantissa: u128,
    exponent: i32,
}

/// Reads a Prometheus sample value (Go `ParseFloat` syntax, decimal only) exactly.
/// Digits beyond the 38th significant one are dropped (truncated).
fn parse_decimal(s: &[u8]) -> std::result::Result<Decimal, &'static str> {
    let (negative, body) = match s.first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if body.eq_ignore_ascii_case(b"nan") || body.eq_ignore_ascii_case(b"inf") || body.eq_ignore_ascii_case(b"infinity") {
        return Err("the value is not a finite number");
    }
    // The first 19 significant digits add up in 64 bits (a 128-bit step per digit was a fair
    // part of a line's cost); up to 19 more continue in 128.
    let mut m = Mantissa::default();
    let (mut exponent, mut any) = (0i64, false);
    let mut i = 0;
    while i < body.len() && body[i].is_ascii_digit() {
        any = true;
        if !m.push(body[i] - b'0') {
            exponent += 1;
        }
        i += 1;
    }
    if body.get(i) == Some(&b'.') {
        i += 1;
        while i < body.len() && body[i].is_ascii_digit() {
            any = true;
            if m.push(body[i] - b'0') {
                exponent -= 1;
            }
            i += 1;
        }
    }
    let mantissa = m.value();
    if !any {
        return Err("the value is not a number");
    }
    if matches!(body.get(i), Some(b'e' | b'E')) {
        i += 1;
        let negative_exp = match body.get(i) {
            Some(b'-') => {
                i += 1;
                true
            }
            Some(b'+') => {
                i += 1;
                false
            }
            _ => false,
        };
        let start = i;
        let mut e: i64 = 0;
        while i < body.len() && body[i].is_ascii_digit() {
            e = (e * 10 + i64::from(body[i] - b'0')).min(1_000_000);
            i += 1;
        }
        if i == start {
            return Err("the value has an empty exponent");
        }
        exponent += if negative_exp { -e } else { e };
    }
    if i != body.len() {
        return Err("the value is not a number");
    }
    Ok(Decimal { negative, mantissa, exponent: exponent.clamp(-2_000_000, 2_000_000) as i32 })
}

impl Decimal {
    /// `|value| × 10^-scale`, truncated toward zero; `None` when it does not fit a `u128`.
    fn scaled(&self, scale: i32) -> Option<u128> {
        if self.mantissa == 0 {
            return Some(0);
        }
        let shift = i64::from(self.exponent) - i64::from(scale);
        // The usual case (a counter or a byte count of a few digits) in 64 bits; anything larger
        // goes the 128-bit way below.
        if let (Ok(m), 0..=19) = (u64::try_from(self.mantissa), shift)
            && let Some(v) = m.checked_mul(10u64.pow(shift as u32))
        {
            return Some(u128::from(v));
        }
        if shift >= 0 {
            if shift > 38 {
                return None;
            }
            self.mantissa.checked_mul(10u128.pow(shift as u32))
        } else if -shift > 38 {
            Some(0)
        } else {
            Some(self.mantissa / 10u128.pow((-shift) as u32))
        }
    }

    fn is_negative(&self) -> bool {
        self.negative && self.mantissa != 0
    }

    /// Seconds to nanoseconds (CPU counters).
    fn nanos_u64(&self) -> std::result::Result<u64, &'static str> {
        if self.is_negative() {
            return Err("the value is negative");
        }
        self.scaled(-9).and_then(|v| u64::try_from(v).ok()).ok_or("the value is too large")
    }

    /// Whole units (bytes), fractions truncated.
    fn units_u64(&self) -> std::result::Result<u64, &'static str> {
        if self.is_negative() {
            return Err("the value is negative");
        }
        self.scaled(0).and_then(|v| u64::try_from(v).ok()).ok_or("the value is too large")
    }

    /// A start time in seconds since the epoch, to nanoseconds; must be after the epoch.
    fn start_time(&self) -> std::result::Result<u64, &'static str> {
        if self.is_negative() || self.mantissa == 0 {
            return Err("the start time is not after the Unix epoch");
        }
        self.scaled(-9).and_then(|v| i64::try_from(v).ok()).map(|v| v as u64).ok_or("the start time is beyond the year 2262")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dec(s: &str) -> Decimal {
        parse_decimal(s.as_bytes()).unwrap_or(Decimal { negative: true, mantissa: 999, exponent: 999 })
    }

    #[test]
    fn decimals_are_exact() {
        assert_eq!(dec("357.35491").nanos_u64(), Ok(357_354_910_000));
        assert_eq!(dec("1.253376e+07").units_u64(), Ok(12_533_760));
        assert_eq!(dec("1.616273408e+09").units_u64(), Ok(1_616_273_408));
        assert_eq!(dec("1.633252712e+9").start_time(), Ok(1_633_252_712_000_000_000));
        assert_eq!(dec("4.710169").nanos_u64(), Ok(4_710_169_000));
        assert_eq!(dec("0.000000001").nanos_u64(), Ok(1));
        assert_eq!(dec("0.0000000019").nanos_u64(), Ok(1));
        assert_eq!(dec(".5").nanos_u64(), Ok(500_000_000));
        assert_eq!(dec("5.").nanos_u64(), Ok(5_000_000_000));
        assert_eq!(dec("+12").units_u64(), Ok(12));
        assert_eq!(dec("-0").units_u64(), Ok(0));
        assert_eq!(dec("1E3").units_u64(), Ok(1000));
        assert_eq!(dec("12.9").units_u64(), Ok(12));
        assert_eq!(dec("1.7048016726135042e+09").start_time(), Ok(1_704_801_672_613_504_200));
        assert_eq!(dec("000000000000000000000000000000000000000000000000001").units_u64(), Ok(1));
        assert_eq!(dec("123456789012345678901234567890123456789012345").scaled(40), Some(12_345));
    }

    #[test]
    fn bad_numbers_are_refused() {
        for s in ["NaN", "+Inf", "-Inf", "inf", "Infinity", "", "-", ".", "e5", "1e", "1e+", "0x10", "1.2.3", "1_000", "١"] {
            assert!(parse_decimal(s.as_bytes()).is_err(), "{s:?} should be refused");
        }
        assert_eq!(dec("-1").nanos_u64(), Err("the value is negative"));
        assert_eq!(dec("-1").units_u64(), Err("the value is negative"));
        assert!(dec("1e30").nanos_u64().is_err());
        assert!(dec("1e400").units_u64().is_err());
        assert_eq!(dec("1e-400").units_u64(), Ok(0));
        assert!(dec("-6.7953645788713455e+09").start_time().is_err());
        assert!(dec("0").start_time().is_err());
        assert!(dec("1e13").start_time().is_err());
    }

    #[test]
    fn timestamps() {
        assert_eq!(parse_timestamp(b"1633253809720").ok(), Some(1_633_253_809_720_000_000));
        assert!(parse_timestamp(b"-62135596800000").is_err_and(|r| r.reason.contains("Go's zero time")));
        assert!(parse_timestamp(b"0").is_err());
        assert!(parse_timestamp(b"1.5").is_err());
        assert!(parse_timestamp(b"99999999999999999").is_err());
        assert!(parse_timestamp(b"99999999999999999999999").is_err());
    }

    fn parse(body: &str) -> NodeScrape {
        parse_metrics_resource(body.as_bytes(), 7_000_000_000).unwrap_or_default()
    }

    const GOOD: &str = "node_cpu_usage_seconds_total 10 1000\nnode_memory_working_set_bytes 20 1000\n";

    #[test]
    fn labels_any_order_escapes_and_blanks() {
        let body = format!(
            "{GOOD}container_cpu_usage_seconds_total{{pod=\"p\\\"1\",extra=\"x,}}\",container=\"c\\\\d\",namespace=\"n\\ns\",}} 1.5 2000\r\n\
             container_memory_working_set_bytes {{ namespace = \"n\\ns\" , container=\"c\\\\d\",pod=\"p\\\"1\"}}\t3e2\t2000"
        );
        let s = parse(&body);
        assert!(s.issues().is_empty(), "{:?}", s.issues());
        let c = s.container("n\ns", "p\"1", "c\\d").expect("container with escaped names");
        assert_eq!(c.sample.cpu_ns, 1_500_000_000);
        assert_eq!(c.sample.memory_bytes, 300);
        assert_eq!(c.sample.timestamp_ns, 2_000_000_000);
        assert_eq!(s.node().map(|n| n.cpu_ns), Some(10_000_000_000));
    }

    #[test]
    fn missing_timestamp_takes_scrape_time() {
        let s = parse("node_cpu_usage_seconds_total 10\nnode_memory_working_set_bytes 20\n");
        assert_eq!(s.node().map(|n| n.timestamp_ns), Some(7_000_000_000));
    }

    #[test]
    fn bad_lines_cost_only_their_series() {
        let body = format!(
            "{GOOD}\
             container_cpu_usage_seconds_total{{container=\"a\",namespace=\"n\",pod=\"p\"}} 1 1000\n\
             container_cpu_usage_seconds_total{{container=\"b\",namespace=\"n\",pod=\"p\"}} NaN 1000\n\
             container_cpu_usage_seconds_total{{container=\"c\",namespace=\"n\",pod=\"p\" 1 1000\n\
             container_cpu_usage_seconds_total{{container=\"d\",namespace=\"n\"}} 1 1000\n\
             container_cpu_usage_seconds_total{{container=\"e\",namespace=\"n\",pod=\"p\"}} 1 1000 extra\n\
             container_cpu_usage_seconds_total{{container=\"f\",namespace=\"n\",pod=\"p\"}} 1 0\n\
             container_memory_working_set_bytes{{container=\"a\",namespace=\"n\",pod=\"p\"}} 5 1000\n\
             container_memory_working_set_bytes{{container=\"b\",namespace=\"n\",pod=\"p\"}} 5 1000\n\
             container_memory_working_set_bytes{{container=\"f\",namespace=\"n\",pod=\"p\"}} 5 1000\n\
             container_memory_working_set_bytes{{container=\"g\",namespace=\"n\",pod=\"p\"}} 5 1000\n"
        );
        let s = parse(&body);
        let names: Vec<_> = s.containers().map(|c| c.container).collect();
        assert_eq!(names, vec!["a"]);
        let lines: Vec<_> = s.issues().iter().map(|i| (i.line, i.kind)).collect();
        assert_eq!(
            lines,
            vec![
                (4, IssueKind::Value),
                (5, IssueKind::Syntax),
                (6, IssueKind::Labels),
                (7, IssueKind::Syntax),
                (8, IssueKind::Timestamp),
                (12, IssueKind::Incomplete),
            ],
            "{:#?}",
            s.issues()
        );
        assert!(s.issues()[5].message.contains("n/p/g"));
        // Container `a` is usable, but the pod lost others: it is partial, with the first reason.
        assert_eq!(s.partial_pods().len(), 1);
        let p = &s.partial_pods()[0];
        assert_eq!((p.namespace.as_str(), p.pod.as_str()), ("n", "p"));
        assert_eq!(p.reason, "container b: container_cpu_usage_seconds_total on line 4 rejected: the value is not a finite number");
    }

    /// `(namespace, pod)` of the partial pods.
    fn partial(s: &NodeScrape) -> Vec<(&str, &str)> {
        s.partial_pods().iter().map(|p| (p.namespace.as_str(), p.pod.as_str())).collect()
    }

    #[test]
    fn what_makes_a_pod_partial() {
        let cpu = |c: &str, p: &str, v: &str| format!("container_cpu_usage_seconds_total{{container=\"{c}\",namespace=\"n\",pod=\"{p}\"}} {v} 1000\n");
        let mem = |c: &str, p: &str, v: &str| format!("container_memory_working_set_bytes{{container=\"{c}\",namespace=\"n\",pod=\"{p}\"}} {v} 1000\n");
        let cases: [(&str, String, bool); 12] = [
            ("whole", format!("{}{}{}{}", cpu("a", "p", "1"), cpu("b", "p", "2"), mem("a", "p", "5"), mem("b", "p", "6")), false),
            ("NaN CPU", format!("{}{}{}{}", cpu("a", "p", "1"), cpu("b", "p", "NaN"), mem("a", "p", "5"), mem("b", "p", "6")), true),
            ("+Inf memory", format!("{}{}{}{}", cpu("a", "p", "1"), cpu("b", "p", "2"), mem("a", "p", "5"), mem("b", "p", "+Inf")), true),
            ("no memory series", format!("{}{}{}", cpu("a", "p", "1"), cpu("b", "p", "2"), mem("a", "p", "5")), true),
            ("zero CPU", format!("{}{}{}{}", cpu("a", "p", "1"), cpu("b", "p", "0"), mem("a", "p", "5"), mem("b", "p", "6")), true),
            ("both lines of b malformed", format!("{}{}{}{}", cpu("a", "p", "1"), cpu("b", "p", "2 3 4"), mem("a", "p", "5"), mem("b", "p", "5 6 7")), true),
            (
                "no container label",
                format!("{}{}container_cpu_usage_seconds_total{{namespace=\"n\",pod=\"p\"}} 1 1000\n", cpu("a", "p", "1"), mem("a", "p", "5")),
                true,
            ),
            (
                "start time only",
                format!("{}{}container_start_time_seconds{{container=\"b\",namespace=\"n\",pod=\"p\"}} 1.5\n", cpu("a", "p", "1"), mem("a", "p", "5")),
                true,
            ),
            (
                "bad swap line: the container is still usable",
                format!("{}{}container_swap_usage_bytes{{container=\"a\",namespace=\"n\",pod=\"p\"}} NaN 1000\n", cpu("a", "p", "1"), mem("a", "p", "5")),
                false,
            ),
            (
                "bad start time: the container is still usable",
                format!("{}{}container_start_time_seconds{{container=\"a\",namespace=\"n\",pod=\"p\"}} -1\n", cpu("a", "p", "1"), mem("a", "p", "5")),
                false,
            ),
            ("a bad duplicate next to a good copy", format!("{}{}{}", cpu("a", "p", "1"), cpu("a", "p", "NaN"), mem("a", "p", "5")), false),
            (
                "unterminated label set: the pod cannot be named",
                format!("{}{}container_cpu_usage_seconds_total{{container=\"b\",namespace=\"n\",pod=\"p\" 1 1000\n", cpu("a", "p", "1"), mem("a", "p", "5")),
                false,
            ),
        ];
        for (what, containers, is_partial) in cases {
            let other = format!("{}{}", cpu("x", "q", "1"), mem("x", "q", "2"));
            let s = parse(&format!("{GOOD}{containers}{other}"));
            assert_eq!(partial(&s), if is_partial { vec![("n", "p")] } else { vec![] }, "{what}: {:#?}", s.partial_pods());
            assert!(s.container("n", "p", "a").is_some(), "{what}: the usable container stays");
            assert!(s.container("n", "q", "x").is_some() && !s.is_partial("n", "q"), "{what}: the other pod is untouched");
            assert!(s.node().is_some(), "{what}: the node is untouched");
        }
    }

    #[test]
    fn zero_values_are_left_out() {
        let body = format!(
            "{GOOD}container_cpu_usage_seconds_total{{container=\"a\",namespace=\"n\",pod=\"p\"}} 0 1000\n\
             container_memory_working_set_bytes{{container=\"a\",namespace=\"n\",pod=\"p\"}} 5 1000\n"
        );
        let s = parse(&body);
        assert!(s.is_empty());
        assert_eq!(s.issues()[0].kind, IssueKind::Incomplete);
        let s = parse("node_cpu_usage_seconds_total 0 1000\nnode_memory_working_set_bytes 20 1000\n");
        assert!(s.node().is_none());
        assert!(s.issues()[0].message.contains("is zero"));
    }

    #[test]
    fn size_limit_is_enforced_while_streaming() {
        let mut p = Parser::new(ParseOptions { max_body_bytes: 50, ..ParseOptions::default() });
        p.begin(0);
        assert!(p.feed(b"node_cpu_usage_seconds_total 10 1000\n").is_ok());
        let e = p.feed(b"node_memory_working_set_bytes 20 1000\n").err().map(|e| (e.kind(), e.message().to_string()));
        assert!(matches!(&e, Some((ErrorKind::Api, m)) if m.contains("limit of 50 bytes")), "{e:?}");
        assert!(p.finish().is_err());
        // The parser is usable again after begin.
        assert!(p.parse(b"node_cpu_usage_seconds_total 10 1000\n", 0).is_ok());
    }

    #[test]
    fn chunks_split_anywhere_give_the_same_result() {
        let body = format!(
            "# HELP x [STABLE] y\n{GOOD}container_cpu_usage_seconds_total{{container=\"a\",namespace=\"n\",pod=\"p\"}} 1 1000\n\
             container_memory_working_set_bytes{{container=\"a\",namespace=\"n\",pod=\"p\"}} 5 1000"
        );
        let whole = parse(&body);
        let mut p = Parser::default();
        for split in 1..body.len() {
            p.begin(7_000_000_000);
            for chunk in body.as_bytes().chunks(split) {
                assert!(p.feed(chunk).is_ok());
            }
            let s = p.finish().unwrap_or_default();
            assert_eq!(s.node(), whole.node());
            assert_eq!(s.container_at(0), whole.container_at(0), "split {split}");
            assert_eq!(s.issues(), whole.issues());
        }
    }

    #[test]
    fn duplicates_pair_by_occurrence() {
        let body = format!(
            "{GOOD}container_cpu_usage_seconds_total{{container=\"a\",namespace=\"n\",pod=\"p\"}} 900 1000\n\
             container_cpu_usage_seconds_total{{container=\"a\",namespace=\"n\",pod=\"p\"}} 100 2000\n\
             container_memory_working_set_bytes{{container=\"a\",namespace=\"n\",pod=\"p\"}} 7 1000\n\
             container_memory_working_set_bytes{{container=\"a\",namespace=\"n\",pod=\"p\"}} 8 2000\n\
             node_cpu_usage_seconds_total 11 2000\n"
        );
        let s = parse(&body);
        let c = s.container("n", "p", "a").expect("kept copy");
        assert_eq!((c.sample.cpu_ns, c.sample.memory_bytes), (100_000_000_000, 8));
        let kinds: Vec<_> = s.issues().iter().map(|i| (i.line, i.kind)).collect();
        assert_eq!(kinds, vec![(1, IssueKind::Duplicate), (3, IssueKind::Duplicate)]);
        assert_eq!(s.node().map(|n| n.cpu_ns), Some(11_000_000_000));
    }

    #[test]
    fn out_of_order_families_still_join() {
        let body = format!(
            "{GOOD}container_memory_working_set_bytes{{container=\"b\",namespace=\"n\",pod=\"p\"}} 2 1000\n\
             container_memory_working_set_bytes{{container=\"a\",namespace=\"n\",pod=\"p\"}} 1 1000\n\
             container_start_time_seconds{{container=\"a\",namespace=\"n\",pod=\"p\"}} 1.5\n\
             container_cpu_usage_seconds_total{{container=\"a\",namespace=\"n\",pod=\"p\"}} 3 1000\n\
             container_swap_usage_bytes{{container=\"b\",namespace=\"n\",pod=\"p\"}} 0 1000\n\
             container_cpu_usage_seconds_total{{container=\"b\",namespace=\"n\",pod=\"p\"}} 4 1000\n"
        );
        let s = parse(&body);
        assert!(s.issues().is_empty(), "{:?}", s.issues());
        let a = s.container("n", "p", "a").map(|c| *c.sample);
        let b = s.container("n", "p", "b").map(|c| *c.sample);
        assert_eq!(a.map(|a| (a.cpu_ns, a.memory_bytes, a.start_time_ns, a.swap_bytes)), Some((3_000_000_000, 1, Some(1_500_000_000), None)));
        assert_eq!(b.map(|b| (b.cpu_ns, b.memory_bytes, b.start_time_ns, b.swap_bytes)), Some((4_000_000_000, 2, None, Some(0))));
    }

    #[test]
    fn hash_collisions_fall_back_to_scanning() {
        let mut st = State { max_issues: 10, line: 1, ..State::default() };
        let b: [&[u8]; 3] = [b"n", b"p", b"b"];
        let ia = st.new_slot(["n", "p", "a"]);
        // Pretend `b` hashes like `a`: the index points at `a`'s slot.
        st.index.insert(key_hash(b), ia);
        assert_eq!(st.find_head(b), None);
        let ib = st.new_slot(["n", "p", "b"]);
        assert_eq!(st.find_head(b), Some(ib));
    }

    /// A label value for the property tests: plain text, or with quotes, backslashes, blanks.
    fn label_value() -> impl proptest::strategy::Strategy<Value = String> {
        proptest::prop_oneof!["[a-z0-9.-]{0,20}", "[a-z \\\\\"n,=}{]{0,12}"]
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 2000, ..Default::default() })]

        /// Wherever the kubelet fast path reads a label set, the general reader reads the same.
        #[test]
        fn kubelet_labels_read_what_parse_labels_reads(
            c in label_value(), n in label_value(), p in label_value(),
            order in 0usize..3, extra in proptest::option::of("[a-z_]{1,8}=\"[a-z]{0,4}\""),
            sep in proptest::prop_oneof![proptest::strategy::Just(","), proptest::strategy::Just(", "), proptest::strategy::Just(",\t")],
            tail in proptest::prop_oneof![proptest::strategy::Just("} 1 2"), proptest::strategy::Just(",} 1"), proptest::strategy::Just("}"), proptest::strategy::Just("")],
        ) {
            let mut labels = vec![format!("container=\"{c}\""), format!("namespace=\"{n}\""), format!("pod=\"{p}\"")];
            labels.rotate_left(order);
            if let Some(e) = extra {
                labels.insert(1, e);
            }
            let line = format!("x{{{}{tail}", labels.join(sep));
            let line = line.as_bytes();
            let mut fast = [LabelPos::default(); 3];
            if let Some(end) = kubelet_labels(line, 2, &mut fast) {
                let mut general = [LabelPos::default(); 3];
                let read = parse_labels(line, 2, &mut general);
                proptest::prop_assert_eq!(read.ok(), Some(end));
                for k in 0..3 {
                    let (a, b) = (fast[k], general[k]);
                    proptest::prop_assert_eq!((a.start, a.end, a.escaped, a.set), (b.start, b.end, b.escaped, b.set));
                }
            } else {
                // Only the canonical form is read fast: the order kubelets write, no escape, no
                // other label, no blank, no trailing comma.
                let canonical = order == 0 && labels.len() == 3 && sep == "," && !tail.starts_with(',') && !tail.is_empty()
                    && [&c, &n, &p].iter().all(|v| !v.contains('"') && !v.contains('\\'));
                proptest::prop_assert!(!canonical, "canonical labels not read fast: {}", String::from_utf8_lossy(line));
            }
        }

        /// Values are read exactly: the same as shifting the decimal point in the text.
        #[test]
        fn decimals_are_read_exactly(int in "[0-9]{0,21}", frac in proptest::option::of("[0-9]{0,16}"), exp in proptest::option::of(-30i32..30), scale in proptest::prop_oneof![proptest::strategy::Just(0), proptest::strategy::Just(-9)]) {
            proptest::prop_assume!(!int.is_empty() || frac.as_deref().is_some_and(|f| !f.is_empty()));
            let mut text = int.clone();
            if let Some(f) = &frac {
                text.push('.');
                text.push_str(f);
            }
            if let Some(e) = exp {
                text.push_str(&format!("e{e:+}"));
            }
            let digits = format!("{int}{}", frac.as_deref().unwrap_or(""));
            // The integer part of 0.digits × 10^(point), with point = len(int) + exp - scale.
            let point = int.len() as i64 + i64::from(exp.unwrap_or(0)) - i64::from(scale);
            let whole: String = if point <= 0 {
                "0".into()
            } else if point as usize >= digits.len() {
                format!("{digits}{}", "0".repeat(point as usize - digits.len()))
            } else {
                digits[..point as usize].into()
            };
            let whole = whole.trim_start_matches('0');
            let expected = if whole.is_empty() { Some(0) } else { whole.parse::<u128>().ok() };
            let got = parse_decimal(text.as_bytes()).map(|d| d.scaled(scale));
            proptest::prop_assert_eq!(got, Ok(expected), "{}", text);
        }
    }
}
