//! Locating errors in TOML text: byte offsets to lines, and field paths for `toml`'s own
//! errors (which carry a span but not the path of keys).

use super::csvutil::secs_f64_to_ms;
use super::InputError;
use crate::model::SimDuration;
use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;
use std::path::Path;
use toml::Spanned;

/// A TOML file being checked: its name and text, to turn spans into lines.
pub(crate) struct Ctx<'a> {
    /// The file, for messages.
    pub(crate) file: &'a Path,
    /// Its text.
    pub(crate) src: &'a str,
}

impl Ctx<'_> {
    /// An error at the value spanning `span`, naming the field path.
    pub(crate) fn err(
        &self,
        span: Range<usize>,
        field: impl Into<String>,
        message: impl Into<String>,
    ) -> InputError {
        InputError::new(self.file, message)
            .at_line(line_at(self.src, span.start))
            .in_field(field)
    }

    /// An error about a field that is absent (so it has no line).
    pub(crate) fn missing(
        &self,
        field: impl Into<String>,
        message: impl Into<String>,
    ) -> InputError {
        InputError::new(self.file, message).in_field(field)
    }

    /// An integer in `min..=max`; `what` says what was expected.
    pub(crate) fn int(
        &self,
        v: &Spanned<i64>,
        field: &str,
        min: i64,
        max: i64,
        what: &str,
    ) -> Result<i64, InputError> {
        let x = *v.get_ref();
        if (min..=max).contains(&x) {
            Ok(x)
        } else {
            Err(self.err(v.span(), field, format!("expected {what}, got {x}")))
        }
    }

    /// An integer in `min..=max` that fits a `u32`.
    pub(crate) fn uint(
        &self,
        v: &Spanned<i64>,
        field: &str,
        min: u32,
        max: u32,
        what: &str,
    ) -> Result<u32, InputError> {
        let x = self.int(v, field, min.into(), max.into(), what)?;
        u32::try_from(x).map_err(|_| self.err(v.span(), field, format!("expected {what}, got {x}")))
    }

    /// Optional decimal seconds ≥ 0, or `default`.
    pub(crate) fn secs(
        &self,
        v: Option<&Spanned<f64>>,
        field: &str,
        default: SimDuration,
    ) -> Result<SimDuration, InputError> {
        let Some(v) = v else {
            return Ok(default);
        };
        secs_f64_to_ms(*v.get_ref())
            .map(SimDuration::from_millis)
            .ok_or_else(|| {
                self.err(
                    v.span(),
                    field,
                    format!("expected a duration in seconds ≥ 0, got {}", v.get_ref()),
                )
            })
    }

    /// A name as AWS Batch allows it: 1 to 128 letters, digits, `-` and `_`.
    pub(crate) fn name(&self, v: &Spanned<String>, field: &str) -> Result<String, InputError> {
        let s = v.get_ref();
        let ok = !s.is_empty()
            && s.len() <= 128
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if ok {
            Ok(s.clone())
        } else {
            let msg = format!("expected a name of 1 to 128 letters, digits, `-` or `_`, got `{s}`");
            Err(self.err(v.span(), field, msg))
        }
    }
}

/// 1-based line of a byte offset.
pub(crate) fn line_at(src: &str, offset: usize) -> usize {
    let end = offset.min(src.len());
    1 + src
        .as_bytes()
        .get(..end)
        .map_or(0, |b| b.iter().filter(|&&c| c == b'\n').count())
}

/// Converts a parse or shape error of the `toml` crate.
pub(crate) fn toml_error(file: &Path, src: &str, err: &toml::de::Error) -> InputError {
    let msg = err
        .message()
        .trim()
        .replace('\n', "; ")
        .replace("expected i64", "expected an integer")
        .replace("expected f64", "expected a number");
    let Some(span) = err.span() else {
        return InputError::new(file, msg);
    };
    let line = line_at(src, span.start);
    let line_start = src
        .get(..span.start)
        .and_then(|b| b.rfind('\n'))
        .map_or(0, |i| i + 1);
    let column = src
        .get(line_start..span.start)
        .map_or(1, |s| s.chars().count() + 1);
    let e = InputError::new(file, format!("{msg} (column {column})")).at_line(line);
    match field_path(src, span.start, &msg) {
        Some(f) => e.in_field(f),
        None => e,
    }
}

/// The key assigned on a line (`key = value`), unquoted.
fn key_of(line: &str) -> Option<String> {
    let t = line.trim_start();
    if t.starts_with('#') || t.starts_with('[') || t.starts_with('{') {
        return None;
    }
    let (k, _) = t.split_once('=')?;
    let k = k.trim().trim_matches('"').trim_matches('\'');
    (!k.is_empty() && !k.contains(['{', '[', ','])).then(|| k.to_string())
}

/// The dotted name of a `[table]` or `[[array]]` header line, and whether it is an array.
fn header_of(line: &str) -> Option<(String, bool)> {
    let t = line.trim();
    let (inner, array) = if let Some(r) = t.strip_prefix("[[") {
        (r.split("]]").next()?, true)
    } else {
        (t.strip_prefix('[')?.split(']').next()?, false)
    };
    let name: Vec<&str> = inner
        .split('.')
        .map(|s| s.trim().trim_matches('"'))
        .collect();
    Some((name.join("."), array))
}

/// Best-effort path of the field at byte `offset`, e.g. `compute_environments[1].maxvCpus`:
/// the enclosing table header (arrays of tables indexed from 0) and the key on that line.
fn field_path(src: &str, offset: usize, msg: &str) -> Option<String> {
    let before = src.get(..offset)?;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let mut header = String::new();
    let mut arrays = BTreeSet::new();
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    let mut last_key = None;
    let mut see_header = |line: &str, header: &mut String| -> bool {
        let Some((name, array)) = header_of(line) else {
            return false;
        };
        if array {
            *counts.entry(name.clone()).or_default() += 1;
            arrays.insert(name.clone());
        }
        *header = name;
        true
    };
    for line in before.get(..line_start)?.lines() {
        if see_header(line, &mut header) {
            last_key = None;
        } else if let Some(k) = key_of(line) {
            last_key = Some(k);
        }
    }
    let this_line = src.get(line_start..)?.lines().next().unwrap_or("");
    let prefix = before.get(line_start..)?;
    let key = if !prefix.contains('=') && see_header(this_line, &mut header) {
        None
    } else if prefix.contains('=') {
        key_of(prefix).or(last_key)
    } else {
        key_of(this_line).or(last_key)
    };
    let mut parts = Vec::new();
    let mut so_far = String::new();
    for seg in header.split('.').filter(|s| !s.is_empty()) {
        if !so_far.is_empty() {
            so_far.push('.');
        }
        so_far.push_str(seg);
        let seg = quote_if_dotted(seg);
        match counts.get(&so_far) {
            Some(n) if arrays.contains(&so_far) => {
                parts.push(format!("{seg}[{}]", n.saturating_sub(1)))
            }
            _ => parts.push(seg),
        }
    }
    parts.extend(key.map(|k| quote_if_dotted(&k)));
    if let Some(missing) = msg
        .strip_prefix("missing field `")
        .and_then(|r| r.split('`').next())
    {
        parts.push(missing.to_string());
    }
    (!parts.is_empty()).then(|| parts.join("."))
}

fn quote_if_dotted(s: &str) -> String {
    if s.contains('.') {
        format!("\"{s}\"")
    } else {
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_name_array_index_and_key() {
        let src = "a = 1\n[[ces]]\nn = 1\n[[ces]]\nn = 2\n[ces.res]\nmaxv = -1\n";
        let off = src.find("-1").unwrap_or(0);
        assert_eq!(
            field_path(src, off, "bad").as_deref(),
            Some("ces[1].res.maxv")
        );
        let off = src.rfind("[ces.res]").unwrap_or(0);
        assert_eq!(
            field_path(src, off, "missing field `x`").as_deref(),
            Some("ces[1].res.x")
        );
        assert_eq!(line_at(src, off), 6);
    }
}
