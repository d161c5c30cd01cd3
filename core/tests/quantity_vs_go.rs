//! Differential test of the quantity parser against the real k8s.io/apimachinery (`APIMACHINERY`
//! below): a small Go program built from the module proxy parses the same generated corpus
//! (seeded, well over 100,000 inputs) and prints what `resource.ParseQuantity` made of each one;
//! every answer must match ours, except for the deliberate differences listed in `DIFFERENCES`,
//! each of which must still be seen at least once (so that list cannot outlive the code).
//!
//! Like `sort_order_vs_go.rs`, this needs the Go toolchain (`go` on the PATH) and fails with a
//! clear message without it. The Go program is built once and cached under
//! `$HOME/.cache/kubemetrics/` (keyed by a hash of its sources); the first build downloads
//! apimachinery through the Go module proxy and verifies it against the `go.sum` below.

use kubemetrics::{Error, Quantity};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The apimachinery release compared against.
const APIMACHINERY: &str = "v0.37.2";

/// Inputs arrive hex-encoded (so that any byte, newline included, can be tested), one per line.
/// For each, one line of tab-separated fields: `err` and Go's message, `panic` and the panic
/// value, or `ok`, `String()`, the canonical form (`CanonicalizeBytes`, which ignores the cached
/// input text), `Format`, `Value()`, `MilliValue()` and the exact value as a plain decimal.
const GO_MAIN: &str = r#"package main

import (
	"bufio"
	"encoding/hex"
	"fmt"
	"os"
	"strings"

	"k8s.io/apimachinery/pkg/api/resource"
)

func report(out *bufio.Writer, input string) {
	defer func() {
		if r := recover(); r != nil {
			fmt.Fprintf(out, "panic\t%v\n", r)
		}
	}()
	q, err := resource.ParseQuantity(input)
	if err != nil {
		fmt.Fprintf(out, "err\t%v\n", err)
		return
	}
	shown := q.String()
	number, suffix := q.CanonicalizeBytes(nil)
	format := q.Format
	value, milli := q.Value(), q.MilliValue()
	// Last: AsDec turns q into its big-decimal form.
	plain := q.AsDec().String()
	if strings.Contains(plain, ".") {
		plain = strings.TrimSuffix(strings.TrimRight(plain, "0"), ".")
	}
	fmt.Fprintf(out, "ok\t%s\t%s%s\t%s\t%d\t%d\t%s\n", shown, number, suffix, format, value, milli, plain)
}

func main() {
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<16), 1<<24)
	out := bufio.NewWriterSize(os.Stdout, 1<<16)
	defer out.Flush()
	for in.Scan() {
		raw, err := hex.DecodeString(in.Text())
		if err != nil {
			fmt.Fprintf(out, "badhex\t%v\n", err)
			continue
		}
		report(out, string(raw))
	}
	if err := in.Err(); err != nil {
		fmt.Fprintf(os.Stderr, "reading stdin: %v\n", err)
		os.Exit(1)
	}
}
"#;

const GO_MOD: &str = "module kubemetrics.test/quantityoracle

go 1.26.0

require k8s.io/apimachinery v0.37.2

require (
	github.com/fxamacker/cbor/v2 v2.9.1 // indirect
	github.com/x448/float16 v0.8.4 // indirect
	gopkg.in/inf.v0 v0.9.1 // indirect
	sigs.k8s.io/json v0.0.0-20250730193827-2d320260d730 // indirect
)
";

/// Checksums from the Go checksum database, so that the build fails on anything else.
const GO_SUM: &str = "github.com/fxamacker/cbor/v2 v2.9.1 h1:2rWm8B193Ll4VdjsJY28jxs70IdDsHRWgQYAI80+rMQ=
github.com/fxamacker/cbor/v2 v2.9.1/go.mod h1:vM4b+DJCtHn+zz7h3FFp/hDAI9WNWCsZj23V5ytsSxQ=
github.com/google/go-cmp v0.7.0 h1:wk8382ETsv4JYUZwIsn6YpYiWiBsYLSJiTsyBybVuN8=
github.com/google/go-cmp v0.7.0/go.mod h1:pXiqmnSA92OHEEa9HXL2W4E7lf9JzCmGVUdgjX3N/iU=
github.com/spf13/pflag v1.0.10 h1:4EBh2KAYBwaONj6b2Ye1GiHfwjqyROoF4RwYO+vPwFk=
github.com/spf13/pflag v1.0.10/go.mod h1:McXfInJRrz4CZXVZOBLb0bTZqETkiAhM9Iw0y3An2Bg=
github.com/x448/float16 v0.8.4 h1:qLwI1I70+NjRFUR3zs1JPUCgaCXSh3SW62uAKT1mSBM=
github.com/x448/float16 v0.8.4/go.mod h1:14CWIYCyZA/cWjXOioeEpHeN/83MdbZDRQHoFcYsOfg=
gopkg.in/inf.v0 v0.9.1 h1:73M5CoZyi3ZLMOyDlQh031Cx6N9NDJ2Vvfl76EDAgDc=
gopkg.in/inf.v0 v0.9.1/go.mod h1:cWUDdTG/fYaXco+Dcufb5Vnc6Gp2YChqWtbxRZE0mXw=
k8s.io/apimachinery v0.37.2 h1:G4t9RGoPDbQML38hz/kQQiltttgd3egg2ODCR8aIc2o=
k8s.io/apimachinery v0.37.2/go.mod h1:qaAvSNvgU2x07wRM95MSHSJTPQ/ob/LeNAGbeDgqQJg=
k8s.io/utils v0.0.0-20260626114624-be93311217bd h1:Ea7fgQ5we8Y9T0OX5o0dAHzQOBRI07D/dEYRaB9ZZEs=
k8s.io/utils v0.0.0-20260626114624-be93311217bd/go.mod h1:xDxuJ0whA3d0I4mf/C4ppKHxXynQ+fxnkmQH0vTHnuk=
sigs.k8s.io/json v0.0.0-20250730193827-2d320260d730 h1:IpInykpT6ceI+QxKBbEflcR5EXP7sU1kvOlxwZh5txg=
sigs.k8s.io/json v0.0.0-20250730193827-2d320260d730/go.mod h1:mdzfpAEoE6DHQEN0uh9ZbOCuHbLK5wOm7dK4ctXE9Tg=
sigs.k8s.io/randfill v1.0.0 h1:JfjMILfT8A6RbawdsK2JXGBR5AQVfd+9TbzrlneTyrU=
sigs.k8s.io/randfill v1.0.0/go.mod h1:XeLlZ/jmk4i1HRopwe7/aU3H5n1zNUcX6TM94b3QxOY=
";

/// How many generated inputs (the fixed ones come on top).
const GENERATED: usize = 120_000;

// ---------------------------------------------------------------------------------------------
// The deliberate differences: the only places where kubemetrics answers otherwise than Go.
// ---------------------------------------------------------------------------------------------

/// One thing that can differ between Go's answer and ours for an input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Aspect {
    /// One side parses the input, the other refuses it (or Go panics).
    Accepted,
    /// The exact value.
    Exact,
    /// The `Format` kept for printing.
    Format,
    /// The canonical form (Go's `CanonicalizeBytes`, our `Display`).
    Canonical,
    /// Go's `String()`, which may return the input itself, against our `Display`.
    Shown,
    /// `Value()` against `value()`.
    Value,
    /// `MilliValue()` against `milli_value()`.
    Milli,
}

/// One deliberate difference: when `applies` holds for an input and one of `aspects`, that
/// aspect may differ from Go's answer. `example` is in the corpus and must show it.
struct Difference {
    name: &'static str,
    why: &'static str,
    aspects: &'static [Aspect],
    applies: fn(&Case<'_>, Aspect) -> bool,
    example: &'static str,
}

const DIFFERENCES: &[Difference] = &[
    Difference {
        name: "no digit",
        why: "Go reads a quantity without a single digit (`.`, `+`, `m`, `Ki`, `-e5`) as zero; \
              kubemetrics refuses it: nobody means zero by writing no number",
        aspects: &[Aspect::Accepted],
        applies: |c, _| c.refused_with("needs at least one digit") && c.go_exact() == Some("0"),
        example: "Ki",
    },
    Difference {
        name: "exponent beyond 32 bits",
        why: "Go keeps only the low 32 bits of an exponent (`1e4294967297` is 10); kubemetrics \
              refuses exponents beyond ±(2^31-1) instead of reading another number",
        aspects: &[Aspect::Accepted],
        applies: |c, _| c.refused_with("is out of range") && c.go_exact().is_some(),
        example: "1e4294967297",
    },
    Difference {
        name: "beyond 10^1001",
        why: "Go computes any magnitude with big integers, at a cost that grows with the exponent \
              (`1e2147483647` never returns); kubemetrics refuses magnitudes from 10^1001 up at once",
        aspects: &[Aspect::Accepted],
        applies: |c, _| c.refused_with("magnitude exceeds 10^1001") && c.go_exact().is_some_and(|x| integer_digits(x) > 1001),
        example: "1e1001",
    },
    Difference {
        name: "more than 38 significant digits",
        why: "a value whose significant digits, once rounded up to nano, are more than an i128 \
              holds (any 38 do, 39 up to 1.7e38) is refused: Go keeps it as a big decimal, no \
              Kubernetes object has one; what rounds to fewer digits parses",
        aspects: &[Aspect::Accepted],
        applies: |c, _| c.refused_with("more than 38 significant digits") && c.go_exact().is_some_and(significand_beyond_i128),
        example: "12345678901234567890123456789012345678901",
    },
    Difference {
        name: "DecimalSI beyond E",
        why: "Go has no suffix beyond `E` and drops the exponent altogether (`1000E` prints `1`, a \
              value 10^21 times too small); kubemetrics prints `1000E`",
        aspects: &[Aspect::Canonical, Aspect::Shown],
        applies: |c, _| match (c.ours, c.go) {
            (Ok(q), Go::Ok { canonical, .. }) => {
                let ours = q.to_string();
                ours.ends_with('E') && q.value().is_none_or(|v| v.abs() >= 10i128.pow(21)) && ours.starts_with(canonical.as_str()) && !canonical.ends_with('E')
            }
            _ => false,
        },
        example: "1000E",
    },
    Difference {
        name: "not an int64",
        why: "Go's Value() and MilliValue() return a wrapped int64 when the result does not fit \
              (`8.1Ei` has a MilliValue of -1000); kubemetrics returns None",
        aspects: &[Aspect::Value, Aspect::Milli],
        applies: |c, aspect| match c.ours {
            Ok(q) => int64_of(if aspect == Aspect::Value { q.value() } else { q.milli_value() }).is_none(),
            Err(_) => false,
        },
        example: "8.1Ei",
    },
    Difference {
        name: "negative big decimals",
        why: "for a negative value Go keeps as a big decimal (whatever its int64 fast path does \
              not take), Value() and MilliValue() take the low 64 bits of the value in nanos, \
              divide toward zero and add one when something is left over: `-0.1n` has a Value of 1, \
              and `-4680709030558344.0602723822851551343` one of 4704192865; kubemetrics rounds \
              away from zero (-1 and -4680709030558345), as for positive values",
        aspects: &[Aspect::Value, Aspect::Milli],
        applies: |c, aspect| {
            let (Ok(q), Go::Ok { value, milli, .. }) = (c.ours, c.go) else { return false };
            let (go, digits_dropped) = if aspect == Aspect::Value { (*value, 9) } else { (*milli, 6) };
            q.signum() < 0 && go == go_negative_big_decimal_scaled(q, digits_dropped)
        },
        example: "-0.1n",
    },
    Difference {
        name: "String() echoes the input",
        why: "Go's String() returns the input text itself when it looks canonical to Go, leading \
              zeros and `+` included (`+1Ki`, `01`); kubemetrics always prints the canonical form",
        aspects: &[Aspect::Shown],
        applies: |c, _| matches!((c.ours, c.go), (Ok(q), Go::Ok { shown, canonical, .. }) if shown == c.input && *canonical == q.to_string()),
        example: "+1Ki",
    },
];

// ---------------------------------------------------------------------------------------------
// Go's answers and the comparison.
// ---------------------------------------------------------------------------------------------

/// What Go made of one input.
enum Go {
    Ok { shown: String, canonical: String, format: String, value: i64, milli: i64, exact: String },
    Err(String),
    Panic(String),
}

impl Go {
    /// For failure messages.
    fn describe(&self) -> String {
        match self {
            Go::Ok { shown, canonical, format, value, milli, exact } => {
                format!("String() {shown:?}, canonical {canonical:?}, {format}, Value() {value}, MilliValue() {milli}, exactly {exact}")
            }
            Go::Err(msg) => format!("error: {msg}"),
            Go::Panic(msg) => format!("panic: {msg}"),
        }
    }
}

fn parse_go_line(line: &str) -> Go {
    let f: Vec<&str> = line.split('\t').collect();
    match f.as_slice() {
        ["ok", shown, canonical, format, value, milli, exact] => Go::Ok {
            shown: shown.to_string(),
            canonical: canonical.to_string(),
            format: format.to_string(),
            value: value.parse().expect("Go's Value()"),
            milli: milli.parse().expect("Go's MilliValue()"),
            exact: exact.to_string(),
        },
        ["err", msg] => Go::Err(msg.to_string()),
        ["panic", msg] => Go::Panic(msg.to_string()),
        _ => panic!("unexpected line from the Go program: {line:?}"),
    }
}

/// One input with both answers.
struct Case<'a> {
    input: &'a str,
    go: &'a Go,
    ours: &'a Result<Quantity, Error>,
}

impl Case<'_> {
    fn refused_with(&self, why: &str) -> bool {
        matches!(self.ours, Err(e) if e.to_string().contains(why))
    }

    fn go_exact(&self) -> Option<&str> {
        match self.go {
            Go::Ok { exact, .. } => Some(exact),
            _ => None,
        }
    }

    /// The aspects on which the two answers differ.
    fn differences(&self) -> Vec<Aspect> {
        let (q, go) = match (self.ours, self.go) {
            (Ok(q), Go::Ok { shown, canonical, format, value, milli, exact }) => (q, (shown, canonical, format, value, milli, exact)),
            (Err(_), Go::Err(_)) => return Vec::new(),
            _ => return vec![Aspect::Accepted],
        };
        let (shown, canonical, format, value, milli, exact) = go;
        let ours = q.to_string();
        let mut out = Vec::new();
        if q.to_plain_decimal() != *exact {
            out.push(Aspect::Exact);
        }
        if q.format().as_str() != format {
            out.push(Aspect::Format);
        }
        if ours != *canonical {
            out.push(Aspect::Canonical);
        }
        if ours != *shown {
            out.push(Aspect::Shown);
        }
        if int64_of(q.value()) != Some(*value) {
            out.push(Aspect::Value);
        }
        if int64_of(q.milli_value()) != Some(*milli) {
            out.push(Aspect::Milli);
        }
        out
    }
}

/// What Go's `ScaledValue` computes for a negative quantity held as a big decimal with nine
/// decimals: the low 64 bits of the nanos, divided by `10^digits_dropped` toward zero, plus one
/// when the division leaves a remainder.
fn go_negative_big_decimal_scaled(q: &Quantity, digits_dropped: u32) -> i64 {
    let (mantissa, exponent) = q.to_parts();
    let nanos = mantissa.wrapping_mul(10i128.wrapping_pow((exponent + 9) as u32)) as i64;
    let divisor = 10i64.pow(digits_dropped);
    let quotient = nanos / divisor;
    if nanos % divisor != 0 { quotient.wrapping_add(1) } else { quotient }
}

fn int64_of(v: Option<i128>) -> Option<i64> {
    v.and_then(|v| i64::try_from(v).ok())
}

/// Whether the significant digits of a plain decimal (`12` for `-0.00120`), read as an
/// integer, are beyond `i128::MAX`.
fn significand_beyond_i128(plain: &str) -> bool {
    let digits: String = plain.chars().filter(char::is_ascii_digit).collect();
    let significand = digits.trim_start_matches('0').trim_end_matches('0');
    let max = i128::MAX.to_string();
    significand.len() > max.len() || (significand.len() == max.len() && significand > max.as_str())
}

/// Digits before the point, leading zeros aside (`-123.4` has 3).
fn integer_digits(plain: &str) -> usize {
    plain.trim_start_matches('-').split('.').next().unwrap_or("").trim_start_matches('0').len()
}

// ---------------------------------------------------------------------------------------------
// Building and running the Go program.
// ---------------------------------------------------------------------------------------------

/// FNV-1a, to name the cache directory after the sources.
fn fnv1a(parts: &[&str]) -> u64 {
    let mut h: u64 = 0xcbf29ce484222325;
    for part in parts {
        for b in part.bytes().chain([0]) {
            h ^= b as u64;
            h = h.wrapping_mul(0x100000001b3);
        }
    }
    h
}

fn go_command(dir: &Path) -> Command {
    let mut cmd = Command::new("go");
    cmd.current_dir(dir).env("GOTOOLCHAIN", "local").env("GOFLAGS", "-mod=readonly -buildvcs=false");
    cmd
}

/// The built Go program, from the cache or built now.
fn oracle() -> PathBuf {
    let home = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_else(std::env::temp_dir);
    let key = fnv1a(&[APIMACHINERY, GO_MAIN, GO_MOD, GO_SUM]);
    let dir = home.join(".cache/kubemetrics").join(format!("quantity-oracle-{key:016x}"));
    let binary = dir.join("quantity-oracle");
    if binary.is_file() {
        return binary;
    }
    // Build beside it and rename, so that concurrent runs never see half a build.
    let tmp = dir.with_extension(format!("tmp{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp).expect("create the Go build directory");
    std::fs::write(tmp.join("main.go"), GO_MAIN).expect("write main.go");
    std::fs::write(tmp.join("go.mod"), GO_MOD).expect("write go.mod");
    std::fs::write(tmp.join("go.sum"), GO_SUM).expect("write go.sum");
    let out = go_command(&tmp)
        .args(["build", "-o", "quantity-oracle", "."])
        .output()
        .expect("the Go toolchain (`go`) is required for this test: it compares against k8s.io/apimachinery's own ParseQuantity");
    assert!(
        out.status.success(),
        "building the apimachinery {APIMACHINERY} program failed (the Go module proxy must be reachable for the first build):\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    if std::fs::rename(&tmp, &dir).is_err() {
        // Another run finished first: use its build.
        let _ = std::fs::remove_dir_all(&tmp);
    }
    assert!(binary.is_file(), "no Go program at {}", binary.display());
    binary
}

/// Go's answer for every input, in order.
fn ask_go(inputs: &[String]) -> Vec<Go> {
    let mut child = Command::new(oracle()).stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().expect("run the Go program");
    let mut stdin = child.stdin.take().expect("stdin");
    let feed: Vec<String> = inputs.iter().map(|s| s.bytes().map(|b| format!("{b:02x}")).collect()).collect();
    let writer = std::thread::spawn(move || {
        let mut w = std::io::BufWriter::new(&mut stdin);
        for line in feed {
            writeln!(w, "{line}").expect("feed the Go program");
        }
        w.flush().expect("flush");
    });
    let reader = BufReader::new(child.stdout.take().expect("stdout"));
    let answers: Vec<Go> = reader.lines().map(|l| parse_go_line(&l.expect("read the Go program"))).collect();
    writer.join().expect("writer");
    assert!(child.wait().expect("wait").success(), "the Go program failed");
    assert_eq!(answers.len(), inputs.len(), "one answer per input");
    answers
}

// ---------------------------------------------------------------------------------------------
// The corpus.
// ---------------------------------------------------------------------------------------------

/// xorshift64*: a fixed seed gives the same corpus on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545F4914F6CDD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + self.below((hi - lo + 1) as u64) as i64
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[self.below(xs.len() as u64) as usize]
    }

    fn digits(&mut self, n: usize) -> String {
        (0..n).map(|_| char::from(b'0' + self.below(10) as u8)).collect()
    }

    /// Between `lo` and `hi` random digits.
    fn digits_between(&mut self, lo: i64, hi: i64) -> String {
        let n = self.range(lo, hi) as usize;
        self.digits(n)
    }
}

const SUFFIXES: &[&str] = &["", "n", "u", "m", "k", "M", "G", "T", "P", "E", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"];

fn sign(rng: &mut Rng) -> &'static str {
    match rng.below(20) {
        0..=13 => "",
        14..=16 => "-",
        17..=18 => "+",
        _ => ["--", "+-", "-+"][rng.below(3) as usize],
    }
}

fn exponent(rng: &mut Rng) -> String {
    // Large exponents cost Go time (big integers of that many digits): few of them.
    let e: i64 = match rng.below(20) {
        0..=15 => rng.range(-40, 40),
        16 => rng.range(-1100, 1100),
        // Around the magnitude kubemetrics stops at (10^1001).
        17 => rng.range(990, 1010) * if rng.chance(20) { -1 } else { 1 },
        // Go keeps the low 32 bits: k * 2^32 + small is small to Go.
        _ => rng.range(-3, 3) * (1i64 << 32) + rng.range(-30, 30),
    };
    let letter = if rng.chance(50) { "e" } else { "E" };
    let plus = if e >= 0 && rng.chance(15) { "+" } else { "" };
    let zeros = if rng.chance(5) { "00" } else { "" };
    if e < 0 { format!("{letter}-{zeros}{}", -e) } else { format!("{letter}{plus}{zeros}{e}") }
}

fn suffix(rng: &mut Rng) -> String {
    if rng.chance(25) { exponent(rng) } else { rng.pick(SUFFIXES).to_string() }
}

/// Ordinary quantities: a sign, some digits, maybe a fraction, a suffix.
fn plain(rng: &mut Rng) -> String {
    let mut s = sign(rng).to_string();
    if rng.chance(15) {
        s += &"0".repeat(rng.range(1, 4) as usize);
    }
    // Mostly values an int64 holds, in units and in thousandths.
    let n = if rng.chance(60) { rng.below(11) } else { rng.below(23) } as usize;
    s += &rng.digits(n);
    match rng.below(10) {
        0..=4 => {}
        5..=8 => {
            s.push('.');
            let n = rng.below(21) as usize;
            s += &rng.digits(n);
        }
        _ => s.push('.'),
    }
    s + &suffix(rng)
}

/// Long runs of nines, zeros or anything, before and after the point: rounding carries,
/// trailing zeros, digits far below nano.
fn long_run(rng: &mut Rng) -> String {
    fn run(rng: &mut Rng, n: usize) -> String {
        if n == 0 {
            return String::new();
        }
        match rng.below(6) {
            0 => "9".repeat(n),
            1 => "0".repeat(n),
            2 => "9".repeat(n - 1) + &rng.digits(1),
            3 => "0".repeat(n - 1) + "1",
            4 => rng.digits(1) + &"0".repeat(n - 1),
            _ => rng.digits(n),
        }
    }
    let int_len = rng.below(61) as usize;
    let frac_len = rng.below(121) as usize;
    let int = run(rng, int_len);
    let frac = run(rng, frac_len);
    format!("{}{int}.{frac}{}", sign(rng), suffix(rng))
}

/// Values around the BinarySI cap 2^63-1: the exact quotient cap / 2^bits, cut, nudged and
/// extended.
fn near_binary_cap(rng: &mut Rng) -> String {
    let k = rng.range(1, 6) as u32;
    let bits = 10 * k;
    let cap = i64::MAX as u128;
    let int = cap >> bits;
    let mut rest = cap & ((1u128 << bits) - 1);
    let mut frac = String::new();
    while rest != 0 {
        rest *= 10;
        frac.push(char::from(b'0' + (rest >> bits) as u8));
        rest &= (1u128 << bits) - 1;
    }
    let suffix = ["Ki", "Mi", "Gi", "Ti", "Pi", "Ei"][k as usize - 1];
    let int = (int as i128 + rng.range(-1, 1) as i128).to_string();
    let cut = rng.below(frac.len() as u64 + 1) as usize;
    let mut frac = frac[..cut].to_string();
    match rng.below(5) {
        0 => {}
        1 => frac += &rng.digits_between(1, 80),
        2 => frac = frac + &"0".repeat(rng.range(0, 90) as usize) + "1",
        3 => frac = frac + &"9".repeat(rng.range(1, 90) as usize),
        _ => frac.truncate(frac.len().saturating_sub(rng.below(4) as usize)),
    }
    let point = if frac.is_empty() && rng.chance(50) { String::new() } else { format!(".{frac}") };
    format!("{}{int}{point}{suffix}", sign(rng))
}

/// Values around i64 and i128 limits and 10^38, in any suffix.
fn near_integer_limits(rng: &mut Rng) -> String {
    let base = rng.pick(&[
        "9223372036854775807",
        "9223372036854775808",
        "9223372036854775806",
        "170141183460469231731687303715884105727",
        "170141183460469231731687303715884105728",
        "99999999999999999999999999999999999999",
        "100000000000000000000000000000000000000",
        "18446744073709551615",
        "9223372036854775",
        "9223372036854",
        "9223372036",
        "1000",
    ]);
    let frac = match rng.below(4) {
        0 => String::new(),
        1 => format!(".{}", rng.digits_between(0, 12)),
        2 => format!(".{}", "9".repeat(rng.range(1, 30) as usize)),
        _ => format!(".{}1", "0".repeat(rng.range(0, 30) as usize)),
    };
    format!("{}{base}{frac}{}", sign(rng), suffix(rng))
}

/// Values around one nano: where rounding up starts.
fn near_nano(rng: &mut Rng) -> String {
    let zeros = "0".repeat(rng.range(0, 14) as usize);
    let tail = rng.digits_between(1, 6);
    let whole = if rng.chance(30) { rng.digits_between(1, 3) } else { "0".into() };
    let suffix = rng.pick(&["", "", "m", "u", "n", "k", "Ki", "Mi", "e-3", "e3", "E-9"]);
    format!("{}{whole}.{zeros}{tail}{suffix}", sign(rng))
}

/// Anything at all from characters that matter to the grammar, and some that must not.
fn junk(rng: &mut Rng) -> String {
    const CHARS: &[&str] = &[
        "0", "1", "5", "9", ".", "+", "-", "e", "E", "i", "n", "u", "m", "k", "K", "M", "G", "T", "P", "Ki", "Ei", " ", "\t", "\n", "\r", "\0", "x", "_", ",",
        "é", "١", "∞", "\u{feff}",
    ];
    let n = rng.below(13) as usize;
    (0..n).map(|_| rng.pick(CHARS)).collect()
}

/// An ordinary quantity with one or two characters inserted, removed or replaced.
fn mutated(rng: &mut Rng) -> String {
    let mut chars: Vec<char> = plain(rng).chars().collect();
    for _ in 0..rng.range(1, 2) {
        let at = rng.below(chars.len() as u64 + 1) as usize;
        let c = ['0', '9', '.', '-', '+', 'e', 'E', 'i', 'k', 'm', 'K', ' '][rng.below(12) as usize];
        match rng.below(3) {
            0 => chars.insert(at, c),
            1 if at < chars.len() => {
                chars.remove(at);
            }
            _ if at < chars.len() => chars[at] = c,
            _ => chars.push(c),
        }
    }
    chars.into_iter().collect()
}

/// Go's cost grows with the exponent it ends up using (the low 32 bits of the one written):
/// keep inputs it answers at once. (Such exponents are refused by kubemetrics anyway.)
fn go_answers_quickly(input: &str) -> bool {
    let Some(at) = input.rfind(['e', 'E']) else { return true };
    match input[at + 1..].parse::<i64>() {
        Ok(e) => (e as i32).unsigned_abs() <= 3000,
        Err(_) => true,
    }
}

fn corpus() -> Vec<String> {
    let zeros = |n: usize| "0".repeat(n);
    let nines = |n: usize| "9".repeat(n);
    let mut inputs: Vec<String> = DIFFERENCES.iter().map(|d| d.example.to_string()).collect();
    // The issue's examples and their neighbours.
    inputs.extend([
        format!("1.{}Ki", zeros(80)),
        format!("{}.{}", nines(32), nines(10)),
        format!("-{}.{}k", nines(41), nines(13)),
        "-8.1Ei".into(),
        "9223372036854775.806Ki".into(),
        "-9223372036854775.806Ki".into(),
        format!("1{}1", zeros(37)),
        format!("1{}", zeros(1000)),
        "-4680709030558344.0602723822851551343".into(),
        "0".into(),
        "-0".into(),
        "".into(),
        "01Ki".into(),
    ]);
    let mut rng = Rng(0x6b75_6265_6d65_7472);
    while inputs.len() < GENERATED {
        let s = match rng.below(100) {
            0..=34 => plain(&mut rng),
            35..=49 => long_run(&mut rng),
            50..=59 => near_binary_cap(&mut rng),
            60..=67 => near_integer_limits(&mut rng),
            68..=77 => near_nano(&mut rng),
            78..=87 => junk(&mut rng),
            _ => mutated(&mut rng),
        };
        if go_answers_quickly(&s) {
            inputs.push(s);
        }
    }
    inputs
}

// ---------------------------------------------------------------------------------------------

#[test]
fn parses_like_apimachinery_except_the_listed_differences() {
    let start = std::time::Instant::now();
    let inputs = corpus();
    assert!(inputs.len() >= 100_000, "{} inputs", inputs.len());
    let answers = ask_go(&inputs);
    let go_time = start.elapsed();

    let mut seen: BTreeMap<&str, usize> = DIFFERENCES.iter().map(|d| (d.name, 0)).collect();
    let mut unexplained: Vec<String> = Vec::new();
    let mut agreed = 0usize;
    let mut examples_shown: BTreeMap<&str, bool> = BTreeMap::new();
    for (input, go) in inputs.iter().zip(&answers) {
        let ours = Quantity::parse(input);
        let case = Case { input, go, ours: &ours };
        let differs = case.differences();
        if differs.is_empty() {
            agreed += 1;
        }
        let mut explained_by: Vec<&str> = Vec::new();
        for &aspect in &differs {
            let by: Vec<&str> = DIFFERENCES.iter().filter(|d| d.aspects.contains(&aspect) && (d.applies)(&case, aspect)).map(|d| d.name).collect();
            if by.is_empty() {
                let ours = match &ours {
                    Ok(q) => format!("{q}, {}, exactly {}", q.format().as_str(), q.to_plain_decimal()),
                    Err(e) => format!("error: {e}"),
                };
                unexplained.push(format!("{input:?}: {aspect:?} differs; Go: {}; ours: {ours}", go.describe()));
            }
            explained_by.extend(by);
        }
        explained_by.sort_unstable();
        explained_by.dedup();
        for name in explained_by {
            *seen.get_mut(name).expect("known") += 1;
            if DIFFERENCES.iter().any(|d| d.name == name && d.example == input.as_str()) {
                examples_shown.insert(name, true);
            }
        }
    }

    let summary: Vec<String> = seen.iter().map(|(name, n)| format!("{name}: {n}")).collect();
    eprintln!(
        "{} inputs against apimachinery {APIMACHINERY} in {:.2?} (Go answered after {go_time:.2?}): {agreed} agree entirely; deliberate differences: {}",
        inputs.len(),
        start.elapsed(),
        summary.join(", ")
    );
    assert!(
        unexplained.is_empty(),
        "{} differences from apimachinery are not in DIFFERENCES, e.g.:\n{}",
        unexplained.len(),
        unexplained.iter().take(25).cloned().collect::<Vec<_>>().join("\n")
    );
    // What the doc of `Quantity` says apimachinery prints.
    let go_canonical = |input: &str| match &answers[inputs.iter().position(|s| s == input).expect("in the corpus")] {
        Go::Ok { canonical, .. } => canonical.clone(),
        other => other.describe(),
    };
    assert_eq!(go_canonical("1000E"), "1", "apimachinery {APIMACHINERY} prints 1000E as");
    assert_eq!(go_canonical("8.1Ei"), "9223372036854775807", "apimachinery {APIMACHINERY} caps 8.1Ei at");
    for d in DIFFERENCES {
        assert!(seen[d.name] > 0, "the listed difference {:?} ({}) no longer occurs: remove it from DIFFERENCES", d.name, d.why);
        assert!(examples_shown.contains_key(d.name), "the example {:?} no longer shows the difference {:?}", d.example, d.name);
    }
}
