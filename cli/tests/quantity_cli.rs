//! Runs the real `kubemetrics quantity` binary.

use std::process::Command;

fn run(args: &[&str]) -> (String, i32) {
    let out = Command::new(env!("CARGO_BIN_EXE_kubemetrics")).args(args).output().expect("run kubemetrics");
    (String::from_utf8(out.stdout).expect("utf8"), out.status.code().unwrap_or(-1))
}

#[test]
fn json_lines_in_documented_field_order() {
    let (out, code) = run(&["quantity", "-o", "json", "250264852n", "8318172Ki", "1.5", "1K", "1000E"]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines,
        [
            r#"{"input":"250264852n","canonical":"250264852n","milli":"251","error":null}"#,
            r#"{"input":"8318172Ki","canonical":"8318172Ki","milli":"8517808128000","error":null}"#,
            r#"{"input":"1.5","canonical":"1500m","milli":"1500","error":null}"#,
            r#"{"input":"1K","canonical":null,"milli":null,"error":"invalid quantity \"1K\": unknown suffix \"K\" (did you mean \"k\" or \"Ki\"?)"}"#,
            r#"{"input":"1000E","canonical":"1000E","milli":"1000000000000000000000000","error":null}"#,
        ]
    );
    assert_eq!(code, 1, "an invalid value makes the exit status non-zero");
}

#[test]
fn human_output_explains_cores_and_bytes() {
    let (out, code) = run(&["quantity", "250264852n", "8318172Ki"]);
    assert_eq!(code, 0);
    assert_eq!(
        out,
        "250264852n: canonical 250264852n, milli 251; as CPU 0.250264852 cores (kubectl top shows 251m)\n\
        8318172Ki: canonical 8318172Ki, milli 8517808128000; as memory 8517808128 bytes = 8123.21 MiB (kubectl top shows 8123Mi)\n"
    );
}

#[test]
fn negative_values_and_errors_keep_going() {
    let (out, code) = run(&["quantity", "-1", "nope", "2"]);
    assert_eq!(code, 1);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 3);
    assert!(lines[0].starts_with("-1: canonical -1, milli -1000"), "{}", lines[0]);
    assert_eq!(lines[1], r#"nope: error: invalid quantity "nope": a quantity needs at least one digit"#);
    assert!(lines[2].starts_with("2: canonical 2"));
}
