//! A JSON value with its path (`computeEnvironments[0].computeResources.maxvCpus`), so that
//! every error about AWS JSON names the file, the place and what was expected.
//!
//! Fields AWS prints that flotilla does not use are simply never looked at, so unknown
//! fields are ignored. A JSON `null` reads as an absent field.

use crate::input::InputError;
use serde_json::Value;
use std::path::Path;

/// Parses a whole JSON file.
pub(crate) fn read_json(path: &Path) -> Result<Value, InputError> {
    let text = std::fs::read_to_string(path).map_err(|e| InputError::unreadable(path, &e))?;
    serde_json::from_str(&text).map_err(|e| {
        let mut msg = e.to_string();
        if let Some(i) = msg.find(" at line ") {
            msg.truncate(i);
        }
        InputError::new(
            path,
            format!("not valid JSON: {msg} (column {})", e.column()),
        )
        .at_line(e.line())
    })
}

/// A value inside a JSON document, with its path from the root.
#[derive(Clone, Debug)]
pub(crate) struct Node<'a> {
    /// The value.
    pub(crate) v: &'a Value,
    path: String,
    file: &'a Path,
}

/// A short description of a JSON value for "got …" messages.
fn describe(v: &Value) -> String {
    match v {
        Value::Null => "null".to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => format!("the number {n}"),
        Value::String(s) if s.chars().count() > 40 => {
            let short: String = s.chars().take(40).collect();
            format!("the string \"{short}…\"")
        }
        Value::String(s) => format!("the string \"{s}\""),
        Value::Array(_) => "an array".to_string(),
        Value::Object(_) => "an object".to_string(),
    }
}

impl<'a> Node<'a> {
    /// The document root of `file`.
    pub(crate) fn root(v: &'a Value, file: &'a Path) -> Self {
        Node {
            v,
            path: String::new(),
            file,
        }
    }

    /// The path of this node (empty for the root).
    pub(crate) fn path(&self) -> &str {
        &self.path
    }

    /// The path of a field of this node.
    pub(crate) fn child_path(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.to_string()
        } else {
            format!("{}.{key}", self.path)
        }
    }

    /// An error at this node.
    pub(crate) fn err(&self, msg: impl Into<String>) -> InputError {
        let e = InputError::new(self.file, msg);
        if self.path.is_empty() {
            e
        } else {
            e.in_field(self.path.clone())
        }
    }

    /// "expected {what}, got …" at this node.
    pub(crate) fn expected(&self, what: &str) -> InputError {
        self.err(format!("expected {what}, got {}", describe(self.v)))
    }

    /// A field, if present and not null.
    pub(crate) fn get(&self, key: &str) -> Option<Node<'a>> {
        match self.v.get(key) {
            None | Some(Value::Null) => None,
            Some(v) => Some(Node {
                v,
                path: self.child_path(key),
                file: self.file,
            }),
        }
    }

    /// A field that must be present.
    pub(crate) fn req(&self, key: &str, what: &str) -> Result<Node<'a>, InputError> {
        if !self.v.is_object() {
            return Err(self.expected("an object"));
        }
        self.get(key).ok_or_else(|| {
            InputError::new(self.file, format!("missing; expected {what}"))
                .in_field(self.child_path(key))
        })
    }

    /// The elements of an array, each with its path.
    pub(crate) fn items(&self, what: &str) -> Result<Vec<Node<'a>>, InputError> {
        let Value::Array(a) = self.v else {
            return Err(self.expected(what));
        };
        Ok(a.iter()
            .enumerate()
            .map(|(i, v)| Node {
                v,
                path: format!("{}[{i}]", self.path),
                file: self.file,
            })
            .collect())
    }

    /// A string.
    pub(crate) fn str(&self, what: &str) -> Result<&'a str, InputError> {
        self.v.as_str().ok_or_else(|| self.expected(what))
    }

    /// A non-empty string.
    pub(crate) fn text(&self, what: &str) -> Result<&'a str, InputError> {
        match self.v.as_str() {
            Some(s) if !s.trim().is_empty() => Ok(s),
            _ => Err(self.expected(what)),
        }
    }

    /// A whole number in `min..=max` (a JSON integer; `3.0` is accepted too).
    pub(crate) fn int(&self, min: i64, max: i64, what: &str) -> Result<i64, InputError> {
        let n = self.v.as_i64().or_else(|| {
            self.v
                .as_f64()
                .filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15)
                .map(|f| f as i64)
        });
        match n {
            Some(n) if (min..=max).contains(&n) => Ok(n),
            _ => Err(self.expected(what)),
        }
    }

    /// A whole number in `min..=max` as `u32`.
    pub(crate) fn u32_in(&self, min: u32, max: u32, what: &str) -> Result<u32, InputError> {
        Ok(self.int(min.into(), max.into(), what)? as u32)
    }

    /// A Unix timestamp in milliseconds (≥ 0).
    pub(crate) fn millis(&self) -> Result<u64, InputError> {
        Ok(self.int(0, i64::MAX, "a Unix time in milliseconds")? as u64)
    }

    /// A boolean.
    pub(crate) fn bool(&self, what: &str) -> Result<bool, InputError> {
        self.v.as_bool().ok_or_else(|| self.expected(what))
    }

    /// A list of strings.
    pub(crate) fn strings(&self, what: &str) -> Result<Vec<String>, InputError> {
        self.items(what)?
            .iter()
            .map(|a| a.str("a string").map(str::to_string))
            .collect()
    }

    /// A map of strings (`parameters`, `tags`), in key order.
    pub(crate) fn string_map(&self, what: &str) -> Result<Vec<(String, String)>, InputError> {
        let Value::Object(m) = self.v else {
            return Err(self.expected(what));
        };
        let mut out = Vec::with_capacity(m.len());
        for (k, v) in m {
            let Some(s) = v.as_str() else {
                let at = Node {
                    v,
                    path: self.child_path(k),
                    file: self.file,
                };
                return Err(at.expected("a string"));
            };
            out.push((k.clone(), s.to_string()));
        }
        out.sort();
        Ok(out)
    }

    /// `[{name, value}]` pairs (`environment`), in order.
    pub(crate) fn name_values(&self) -> Result<Vec<(String, String)>, InputError> {
        let mut out = Vec::new();
        for a in self.items("an array of {name, value} objects")? {
            let name = a.req("name", "a variable name")?.str("a string")?;
            let value = match a.get("value") {
                Some(v) => v.str("a string")?.to_string(),
                None => String::new(),
            };
            out.push((name.to_string(), value));
        }
        Ok(out)
    }
}

/// The part of an ARN after `marker` (`arn:…:job-queue/name` → `name`), or the text itself
/// when it is not such an ARN (AWS accepts names where it prints ARNs).
pub(crate) fn name_from_arn<'s>(arn: &'s str, marker: &str) -> &'s str {
    match arn.find(marker) {
        Some(i) if arn.starts_with("arn:") => &arn[i + marker.len()..],
        _ => arn,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_and_messages() {
        let v: Value =
            serde_json::from_str(r#"{"a":[{"b":"x"},{"b":3,"c":null}],"m":{"k":1}}"#).unwrap();
        let f = Path::new("f.json");
        let root = Node::root(&v, f);
        let a = root.req("a", "a list").unwrap();
        let items = a.items("a list").unwrap();
        let b1 = items[1].req("b", "a name").unwrap();
        let e = b1.str("a name").unwrap_err();
        assert_eq!(e.field.as_deref(), Some("a[1].b"));
        assert!(e.message.contains("the number 3"), "{e}");
        assert!(items[1].get("c").is_none(), "null reads as absent");
        let e = items[0].req("z", "a z").unwrap_err();
        assert_eq!(e.field.as_deref(), Some("a[0].z"));
        let e = root.get("m").unwrap().string_map("a map").unwrap_err();
        assert_eq!(e.field.as_deref(), Some("m.k"));
        assert_eq!(
            name_from_arn("arn:aws:batch:us-east-1:1:job-queue/q1", "job-queue/"),
            "q1"
        );
        assert_eq!(name_from_arn("q1", "job-queue/"), "q1");
    }
}
