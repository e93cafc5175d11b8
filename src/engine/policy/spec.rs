//! Policy names with parameters, as written in a scenario (`[scheduler] policy`) or on the
//! command line (`--policy`): `easy-backfill`, `best-fit[headroom=0.1]`, or several joined
//! by `+`: `sjf+easy-backfill+worst-fit`. Names are matched exactly (AWS's allocation
//! strategies keep their upper-case spelling: `SPOT_CAPACITY_OPTIMIZED`).

use std::fmt;

/// One policy named with its parameters.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PolicyRef {
    /// The registered name.
    pub name: String,
    /// `key=value` parameters in the order written.
    pub params: Vec<(String, String)>,
}

/// A run's policy choice: at most one per role (order, backfilling, placement,
/// provisioning); roles not named keep AWS Batch's behaviour.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PolicySpec {
    /// The parts, in the order written.
    pub parts: Vec<PolicyRef>,
}

impl PolicySpec {
    /// Parses `name[k=v,...]+name...`; the message says what is wrong and where.
    pub fn parse(text: &str) -> Result<PolicySpec, String> {
        let text = text.trim();
        if text.is_empty() {
            return Ok(PolicySpec::default());
        }
        let parts = split_top(text, '+')
            .into_iter()
            .map(parse_ref)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(PolicySpec { parts })
    }

    /// Whether nothing is chosen (AWS Batch's own behaviour).
    pub fn is_default(&self) -> bool {
        self.parts.is_empty()
    }
}

impl fmt::Display for PolicySpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.parts.is_empty() {
            return f.write_str("fifo");
        }
        for (i, p) in self.parts.iter().enumerate() {
            if i > 0 {
                f.write_str("+")?;
            }
            write!(f, "{p}")?;
        }
        Ok(())
    }
}

impl fmt::Display for PolicyRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)?;
        if !self.params.is_empty() {
            let kv: Vec<String> = self
                .params
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            write!(f, "[{}]", kv.join(","))?;
        }
        Ok(())
    }
}

/// Splits on `sep` outside brackets.
fn split_top(text: &str, sep: char) -> Vec<&str> {
    let (mut depth, mut start, mut out) = (0i32, 0, Vec::new());
    for (i, c) in text.char_indices() {
        match c {
            '[' => depth += 1,
            ']' => depth -= 1,
            c if c == sep && depth == 0 => {
                out.push(&text[start..i]);
                start = i + c.len_utf8();
            }
            _ => {}
        }
    }
    out.push(&text[start..]);
    out
}

fn parse_ref(part: &str) -> Result<PolicyRef, String> {
    let part = part.trim();
    let (name, params) = match part.find('[') {
        None => (part, None),
        Some(open) => {
            let Some(body) = part[open + 1..].strip_suffix(']') else {
                return Err(format!("`{part}`: parameters go in brackets at the end, as in `best-fit[headroom=0.1]`"));
            };
            (&part[..open], Some(body))
        }
    };
    let name = name.trim();
    let valid = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
    if name.is_empty() || !name.chars().all(valid) {
        return Err(format!(
            "`{part}`: a policy name is letters, digits, `-` and `_` (as in `easy-backfill`)"
        ));
    }
    let mut out = PolicyRef {
        name: name.to_string(),
        params: Vec::new(),
    };
    for kv in params.map(|b| split_top(b, ',')).unwrap_or_default() {
        let Some((k, v)) = kv.split_once('=') else {
            return Err(format!("`{part}`: parameter `{kv}` is not `key=value`"));
        };
        let (k, v) = (k.trim(), v.trim());
        if k.is_empty() || v.is_empty() {
            return Err(format!("`{part}`: parameter `{kv}` is not `key=value`"));
        }
        if out.params.iter().any(|(x, _)| x == k) {
            return Err(format!("`{part}`: parameter `{k}` is given twice"));
        }
        out.params.push((k.to_string(), v.to_string()));
    }
    Ok(out)
}

/// A policy's parameters, read by name; [`Params::finish`] rejects any not read.
pub struct Params<'a> {
    policy: &'a PolicyRef,
    used: Vec<bool>,
}

impl<'a> Params<'a> {
    /// The parameters of `policy`.
    pub fn new(policy: &'a PolicyRef) -> Self {
        Params {
            used: vec![false; policy.params.len()],
            policy,
        }
    }

    /// The raw value of `key`, if given.
    pub fn get(&mut self, key: &str) -> Option<&'a str> {
        let i = self.policy.params.iter().position(|(k, _)| k == key)?;
        self.used[i] = true;
        Some(self.policy.params[i].1.as_str())
    }

    /// `key` as a number in `lo..=hi`, or `default` when not given.
    pub fn number(&mut self, key: &str, default: f64, lo: f64, hi: f64) -> Result<f64, String> {
        let Some(v) = self.get(key) else {
            return Ok(default);
        };
        match v.parse::<f64>() {
            Ok(x) if x.is_finite() && (lo..=hi).contains(&x) => Ok(x),
            _ => Err(format!(
                "{}: `{key}` must be a number from {lo} to {hi}, not `{v}`",
                self.policy.name
            )),
        }
    }

    /// Errors if a parameter was given that the policy does not read.
    pub fn finish(self) -> Result<(), String> {
        match self.used.iter().position(|u| !u) {
            None => Ok(()),
            Some(i) => Err(format!(
                "{}: unknown parameter `{}`",
                self.policy.name, self.policy.params[i].0
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_names_parameters_and_combinations() {
        let s = PolicySpec::parse("sjf + easy-backfill+best-fit[headroom=0.1, x=2]").unwrap();
        let names: Vec<&str> = s.parts.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["sjf", "easy-backfill", "best-fit"]);
        assert_eq!(s.parts[2].params[0], ("headroom".into(), "0.1".into()));
        assert_eq!(
            s.to_string(),
            "sjf+easy-backfill+best-fit[headroom=0.1,x=2]"
        );
        assert!(PolicySpec::parse("").unwrap().is_default());
    }

    #[test]
    fn rejects_malformed_specs_with_a_reason() {
        for (bad, says) in [
            ("best-fit[headroom=0.1", "brackets"),
            ("best fit", "letters"),
            ("best-fit[headroom]", "key=value"),
            ("x[a=1,a=2]", "twice"),
            ("sjf++fifo", "letters"),
        ] {
            let e = PolicySpec::parse(bad).unwrap_err();
            assert!(e.contains(says), "{bad}: {e}");
        }
    }

    #[test]
    fn params_are_checked_and_unknown_ones_rejected() {
        let s = PolicySpec::parse("best-fit[headroom=2]").unwrap();
        let mut p = Params::new(&s.parts[0]);
        assert!(p
            .number("headroom", 0.0, 0.0, 0.9)
            .unwrap_err()
            .contains("0 to 0.9"));
        let s = PolicySpec::parse("best-fit[head=0.1]").unwrap();
        let mut p = Params::new(&s.parts[0]);
        assert_eq!(p.number("headroom", 0.0, 0.0, 0.9), Ok(0.0));
        assert!(p.finish().unwrap_err().contains("unknown parameter `head`"));
    }
}
