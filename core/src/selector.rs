//! Kubernetes label and field selectors (`app=web,tier!=db`, `env in (a,b)`, `!canary`,
//! `metadata.name=x`), parsed and matched as apimachinery's `labels.Parse` and
//! `fields.ParseSelector` do.

use crate::error::{Error, ErrorKind, Result};
use std::collections::BTreeMap;
use std::fmt;

/// One requirement of a label selector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LabelRequirement {
    /// `key=value` / `key==value`
    Equals(String, String),
    /// `key!=value` (also true when the label is absent)
    NotEquals(String, String),
    /// `key in (a,b)`
    In(String, Vec<String>),
    /// `key notin (a,b)` (also true when the label is absent)
    NotIn(String, Vec<String>),
    /// `key`
    Exists(String),
    /// `!key`
    DoesNotExist(String),
    /// `key>n` (the label must hold an integer greater than n)
    GreaterThan(String, i64),
    /// `key<n`
    LessThan(String, i64),
}

/// A parsed label selector; the empty selector matches everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LabelSelector {
    requirements: Vec<LabelRequirement>,
}

fn bad(kind: &str, input: &str, why: impl fmt::Display) -> Error {
    Error::new(ErrorKind::Config, format!("invalid {kind} selector {input:?}: {why}"))
}

fn valid_key(k: &str) -> bool {
    !k.is_empty()
        && k.len() <= 317
        && k.chars().all(|c| c.is_ascii_alphanumeric() || "-_./".contains(c))
        && k.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
}

fn valid_value(v: &str) -> bool {
    v.len() <= 63 && v.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
}

/// Splits on commas that are not inside parentheses.
fn split_top_level(s: &str) -> Vec<&str> {
    let (mut depth, mut start, mut parts) = (0i32, 0, Vec::new());
    for (i, c) in s.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&s[start..]);
    parts
}

impl LabelSelector {
    /// Parses the selector syntax of `kubectl -l` / `?labelSelector=`.
    pub fn parse(input: &str) -> Result<LabelSelector> {
        let mut requirements = Vec::new();
        if input.trim().is_empty() {
            return Ok(LabelSelector { requirements });
        }
        for part in split_top_level(input) {
            let p = part.trim();
            if p.is_empty() {
                return Err(bad("label", input, "empty requirement"));
            }
            requirements.push(Self::parse_requirement(input, p)?);
        }
        Ok(LabelSelector { requirements })
    }

    fn parse_requirement(input: &str, p: &str) -> Result<LabelRequirement> {
        let key_ok = |k: &str| if valid_key(k) { Ok(k.to_string()) } else { Err(bad("label", input, format_args!("invalid key {k:?}"))) };
        let val_ok = |v: &str| if valid_value(v) { Ok(v.to_string()) } else { Err(bad("label", input, format_args!("invalid value {v:?}"))) };
        if let Some(k) = p.strip_prefix('!') {
            return Ok(LabelRequirement::DoesNotExist(key_ok(k.trim())?));
        }
        for (op, ctor) in [("!=", 0), ("==", 1), ("=", 1)] {
            if let Some((k, v)) = p.split_once(op) {
                let (k, v) = (key_ok(k.trim())?, val_ok(v.trim())?);
                return Ok(if ctor == 0 { LabelRequirement::NotEquals(k, v) } else { LabelRequirement::Equals(k, v) });
            }
        }
        for (op, gt) in [(">", true), ("<", false)] {
            if let Some((k, v)) = p.split_once(op) {
                let n: i64 = v.trim().parse().map_err(|_| bad("label", input, format_args!("{:?} is not an integer", v.trim())))?;
                let k = key_ok(k.trim())?;
                return Ok(if gt { LabelRequirement::GreaterThan(k, n) } else { LabelRequirement::LessThan(k, n) });
            }
        }
        let words: Vec<&str> = p.splitn(2, char::is_whitespace).collect();
        if words.len() == 2 {
            let rest = words[1].trim_start();
            for (op, is_in) in [("notin", false), ("in", true)] {
                if let Some(list) = rest.strip_prefix(op) {
                    let list = list.trim();
                    let inner = list
                        .strip_prefix('(')
                        .and_then(|l| l.strip_suffix(')'))
                        .ok_or_else(|| bad("label", input, format_args!("expected a parenthesized list after {op}")))?;
                    let values = inner.split(',').map(|v| val_ok(v.trim())).collect::<Result<Vec<_>>>()?;
                    if values.iter().all(String::is_empty) {
                        return Err(bad("label", input, "empty value list"));
                    }
                    let k = key_ok(words[0])?;
                    return Ok(if is_in { LabelRequirement::In(k, values) } else { LabelRequirement::NotIn(k, values) });
                }
            }
            return Err(bad("label", input, format_args!("unknown operator in {p:?}")));
        }
        Ok(LabelRequirement::Exists(key_ok(p)?))
    }

    /// `true` when `labels` satisfy every requirement.
    pub fn matches(&self, labels: Option<&BTreeMap<String, String>>) -> bool {
        let get = |k: &String| labels.and_then(|l| l.get(k));
        self.requirements.iter().all(|r| match r {
            LabelRequirement::Equals(k, v) => get(k) == Some(v),
            LabelRequirement::NotEquals(k, v) => get(k) != Some(v),
            LabelRequirement::In(k, vs) => get(k).is_some_and(|x| vs.contains(x)),
            LabelRequirement::NotIn(k, vs) => get(k).is_none_or(|x| !vs.contains(x)),
            LabelRequirement::Exists(k) => get(k).is_some(),
            LabelRequirement::DoesNotExist(k) => get(k).is_none(),
            LabelRequirement::GreaterThan(k, n) => get(k).and_then(|x| x.parse::<i64>().ok()).is_some_and(|x| x > *n),
            LabelRequirement::LessThan(k, n) => get(k).and_then(|x| x.parse::<i64>().ok()).is_some_and(|x| x < *n),
        })
    }

    /// `true` for the selector that matches everything.
    pub fn is_empty(&self) -> bool {
        self.requirements.is_empty()
    }

    /// The requirements, in the order written.
    pub fn requirements(&self) -> &[LabelRequirement] {
        &self.requirements
    }
}

impl fmt::Display for LabelRequirement {
    /// apimachinery's spelling: `k=v`, `k!=v`, `k in (a,b)`, `k notin (a,b)`, `k`, `!k`, `k>n`, `k<n`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LabelRequirement::Equals(k, v) => write!(f, "{k}={v}"),
            LabelRequirement::NotEquals(k, v) => write!(f, "{k}!={v}"),
            LabelRequirement::In(k, vs) => write!(f, "{k} in ({})", vs.join(",")),
            LabelRequirement::NotIn(k, vs) => write!(f, "{k} notin ({})", vs.join(",")),
            LabelRequirement::Exists(k) => write!(f, "{k}"),
            LabelRequirement::DoesNotExist(k) => write!(f, "!{k}"),
            LabelRequirement::GreaterThan(k, n) => write!(f, "{k}>{n}"),
            LabelRequirement::LessThan(k, n) => write!(f, "{k}<{n}"),
        }
    }
}

impl fmt::Display for LabelSelector {
    /// The selector in the syntax [`LabelSelector::parse`] reads (requirements in the order
    /// written, comma-separated; empty for the selector that matches everything).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, r) in self.requirements.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{r}")?;
        }
        Ok(())
    }
}

/// A parsed field selector (`metadata.name=x,metadata.namespace!=y`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldSelector {
    /// (field, value, equal?) triples.
    requirements: Vec<(String, String, bool)>,
}

impl FieldSelector {
    /// Parses `field=value`, `field==value`, `field!=value`, comma separated (`\,` `\=` `\\` escape).
    pub fn parse(input: &str) -> Result<FieldSelector> {
        let mut requirements = Vec::new();
        if input.trim().is_empty() {
            return Ok(FieldSelector { requirements });
        }
        let mut parts = vec![String::new()];
        let mut chars = input.chars();
        while let Some(c) = chars.next() {
            match c {
                '\\' => {
                    let next = chars.next().ok_or_else(|| bad("field", input, "dangling escape"))?;
                    let last = parts.last_mut().expect("non-empty");
                    last.push('\\');
                    last.push(next);
                }
                ',' => parts.push(String::new()),
                c => parts.last_mut().expect("non-empty").push(c),
            }
        }
        for p in &parts {
            let (field, value, eq) = if let Some((f, v)) = split_unescaped(p, "!=") {
                (f, v, false)
            } else if let Some((f, v)) = split_unescaped(p, "==").or_else(|| split_unescaped(p, "=")) {
                (f, v, true)
            } else {
                return Err(bad("field", input, format_args!("{p:?} is not field=value, field==value or field!=value")));
            };
            if field.trim().is_empty() {
                return Err(bad("field", input, "empty field name"));
            }
            requirements.push((field.trim().to_string(), unescape(&value), eq));
        }
        Ok(FieldSelector { requirements })
    }

    /// `true` when every requirement holds; `field` maps a field name to the object's value
    /// (`None` for a field the object type does not support, which fails the match).
    pub fn matches(&self, field: impl Fn(&str) -> Option<String>) -> bool {
        self.requirements.iter().all(|(f, v, eq)| match field(f) {
            Some(actual) => (actual == *v) == *eq,
            None => false,
        })
    }

    /// The field names used, to check them against what a resource supports.
    pub fn fields(&self) -> impl Iterator<Item = &str> {
        self.requirements.iter().map(|(f, _, _)| f.as_str())
    }

    /// `true` for the selector that matches everything.
    pub fn is_empty(&self) -> bool {
        self.requirements.is_empty()
    }
}

fn split_unescaped(s: &str, op: &str) -> Option<(String, String)> {
    let bytes = s.as_bytes();
    let mut i = 0;
    while i + op.len() <= bytes.len() {
        if bytes[i] == b'\\' {
            i += 2;
            continue;
        }
        if s[i..].starts_with(op) {
            return Some((s[..i].to_string(), s[i + op.len()..].to_string()));
        }
        i += 1;
    }
    None
}

fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(n) = chars.next() {
                out.push(n);
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn label_selector_display_round_trips() {
        for s in ["", "app=web", "app!=web,tier in (a,b)", "env notin (x),!canary,gpu", "n>3,m<10"] {
            let parsed = LabelSelector::parse(s).unwrap();
            assert_eq!(parsed.to_string(), s);
            assert_eq!(LabelSelector::parse(&parsed.to_string()).unwrap(), parsed);
        }
        assert_eq!(LabelSelector::parse("app == web , x").unwrap().to_string(), "app=web,x");
    }

    #[test]
    fn label_selector_syntax_and_matching() {
        let l = labels(&[("app", "web"), ("tier", "front"), ("n", "5")]);
        let m = |s: &str| LabelSelector::parse(s).unwrap_or_else(|e| panic!("{s}: {e}")).matches(Some(&l));
        assert!(m(""));
        assert!(m("app=web"));
        assert!(m("app==web"));
        assert!(!m("app!=web"));
        assert!(m("missing!=x"));
        assert!(m("app in (web, api)"));
        assert!(!m("app notin (web,api)"));
        assert!(m("missing notin (a)"));
        assert!(m("app"));
        assert!(!m("!app"));
        assert!(m("!missing"));
        assert!(m("app=web,tier=front"));
        assert!(!m("app=web,tier=back"));
        assert!(m("n>4") && !m("n>5") && m("n<6"));
        assert!(m(" app = web , tier in (front) "));
        assert!(!LabelSelector::parse("app=web").expect("ok").matches(None));
        for bad in ["app=web,", "a b c", "app in web", "=x", "app=we b", "n>x", "app in ()"] {
            let e = LabelSelector::parse(bad).expect_err(bad);
            assert_eq!(e.kind(), ErrorKind::Config);
            assert!(e.to_string().contains(bad), "{e}");
        }
    }

    #[test]
    fn field_selector_syntax_and_matching() {
        let f = |name: &str| match name {
            "metadata.name" => Some("web-1".to_string()),
            "metadata.namespace" => Some("a,b".to_string()),
            _ => None,
        };
        let m = |s: &str| FieldSelector::parse(s).unwrap_or_else(|e| panic!("{s}: {e}")).matches(f);
        assert!(m(""));
        assert!(m("metadata.name=web-1"));
        assert!(m("metadata.name==web-1"));
        assert!(!m("metadata.name!=web-1"));
        assert!(m(r"metadata.namespace=a\,b"));
        assert!(m("metadata.name=web-1,metadata.namespace!=x"));
        assert!(!m("spec.unknown=x"));
        assert!(FieldSelector::parse("metadata.name").is_err());
    }
}
