//! Paths into a scenario's TOML: how a sweep axis names the field it varies.
//!
//! A path is dot-separated keys; a key that holds an array of tables takes a selector in
//! brackets: an index from 0, `*` for every element, or a name matched against the element's
//! name field (`computeEnvironmentName`, `jobQueueName`, `jobDefinitionName`, `name`,
//! `shareIdentifier`, `instance_type`). Quote a key that has dots: `spot.capacity."c5.large"`.
//!
//! ```text
//! compute_environments[spot].computeResources.maxvCpus
//! compute_environments[*].idle_timeout_s
//! scheduling_policies[fs].fairsharePolicy.shareDistribution[teamA].weightFactor
//! ```

use std::fmt;
use toml::{Table, Value};

/// The fields an array element's name is read from, in order.
const NAME_FIELDS: [&str; 6] = [
    "computeEnvironmentName",
    "jobQueueName",
    "jobDefinitionName",
    "name",
    "shareIdentifier",
    "instance_type",
];

/// Which elements of an array of tables a path step takes.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Selector {
    Index(usize),
    All,
    Name(String),
}

/// One step of a path: a key, and a selector when the key holds an array.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Step {
    key: String,
    select: Option<Selector>,
}

/// A parsed path (see the module documentation).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TomlPath {
    text: String,
    steps: Vec<Step>,
}

impl fmt::Display for TomlPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl TomlPath {
    /// Parses `text`; the error says what is wrong with it.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut steps = Vec::new();
        let mut rest = text.trim();
        if rest.is_empty() {
            return Err("an empty path".into());
        }
        loop {
            let (key, after) = take_key(rest)?;
            let (select, after) = take_selector(after)?;
            steps.push(Step { key, select });
            if after.is_empty() {
                break;
            }
            rest = after
                .strip_prefix('.')
                .ok_or_else(|| format!("expected `.` before `{after}`"))?;
        }
        Ok(TomlPath {
            text: text.trim().to_string(),
            steps,
        })
    }

    /// The last key, used as a column name when the axis has no name.
    pub fn leaf(&self) -> &str {
        &self.steps[self.steps.len() - 1].key
    }

    /// Writes `value` at this path in `doc`, creating missing tables on the way (a missing
    /// leaf is added: the scenario's default is being replaced). An array selector must
    /// match at least one element.
    pub fn set(&self, doc: &mut Table, value: &Value) -> Result<(), String> {
        set_in(doc, &self.steps, value, "")
    }
}

fn take_key(s: &str) -> Result<(String, &str), String> {
    if let Some(q) = s.strip_prefix('"') {
        let end = q
            .find('"')
            .ok_or_else(|| format!("unclosed quote in `{s}`"))?;
        return Ok((q[..end].to_string(), &q[end + 1..]));
    }
    let end = s.find(['.', '[']).unwrap_or(s.len());
    let key = &s[..end];
    let bare = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-';
    if key.is_empty() || !key.chars().all(bare) {
        return Err(format!(
            "bad key `{key}` (letters, digits, `_` and `-`; quote others)"
        ));
    }
    Ok((key.to_string(), &s[end..]))
}

fn take_selector(s: &str) -> Result<(Option<Selector>, &str), String> {
    let Some(inner) = s.strip_prefix('[') else {
        return Ok((None, s));
    };
    let end = inner
        .find(']')
        .ok_or_else(|| format!("unclosed `[` in `{s}`"))?;
    let sel = inner[..end].trim();
    let sel = if sel == "*" {
        Selector::All
    } else if let Ok(i) = sel.parse::<usize>() {
        Selector::Index(i)
    } else if sel.is_empty() {
        return Err("an empty `[]` selector (give an index, `*` or a name)".into());
    } else {
        Selector::Name(sel.trim_matches('"').to_string())
    };
    Ok((Some(sel), &inner[end + 1..]))
}

fn set_in(table: &mut Table, steps: &[Step], value: &Value, done: &str) -> Result<(), String> {
    let step = &steps[0];
    let here = if done.is_empty() {
        step.key.clone()
    } else {
        format!("{done}.{}", step.key)
    };
    let rest = &steps[1..];
    match (&step.select, rest.is_empty()) {
        (None, true) => {
            table.insert(step.key.clone(), value.clone());
            Ok(())
        }
        (None, false) => {
            let next = table
                .entry(step.key.clone())
                .or_insert_with(|| Value::Table(Table::new()));
            let Value::Table(t) = next else {
                return Err(format!("`{here}` is not a table"));
            };
            set_in(t, rest, value, &here)
        }
        (Some(sel), _) => {
            let Some(Value::Array(items)) = table.get_mut(&step.key) else {
                return Err(format!("`{here}` is not an array in the scenario"));
            };
            let picked = select(items, sel, &here)?;
            for k in picked {
                let label = format!("{here}[{k}]");
                match (&mut items[k], rest.is_empty()) {
                    (slot, true) => *slot = value.clone(),
                    (Value::Table(t), false) => set_in(t, rest, value, &label)?,
                    _ => return Err(format!("`{label}` is not a table")),
                }
            }
            Ok(())
        }
    }
}

fn select(items: &[Value], sel: &Selector, here: &str) -> Result<Vec<usize>, String> {
    match sel {
        Selector::All if items.is_empty() => Err(format!("`{here}` is empty: `[*]` sets nothing")),
        Selector::All => Ok((0..items.len()).collect()),
        Selector::Index(i) if *i < items.len() => Ok(vec![*i]),
        Selector::Index(i) => Err(format!(
            "`{here}` has {} element(s); index {i} is out of range",
            items.len()
        )),
        Selector::Name(n) => {
            let hits: Vec<usize> = (0..items.len())
                .filter(|&k| name_of(&items[k]) == Some(n.as_str()))
                .collect();
            if hits.is_empty() {
                let names: Vec<&str> = items.iter().filter_map(name_of).collect();
                return Err(format!(
                    "`{here}` has no element named `{n}` (names: {})",
                    if names.is_empty() {
                        "none".to_string()
                    } else {
                        names.join(", ")
                    }
                ));
            }
            Ok(hits)
        }
    }
}

fn name_of(v: &Value) -> Option<&str> {
    let t = v.as_table()?;
    NAME_FIELDS
        .iter()
        .find_map(|f| t.get(*f).and_then(Value::as_str))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc() -> Table {
        toml::from_str(
            r#"
            [[compute_environments]]
            computeEnvironmentName = "spot"
            [compute_environments.computeResources]
            maxvCpus = 64
            [[compute_environments]]
            computeEnvironmentName = "od"
            idle_timeout_s = 300
            [spot.capacity]
            "c5.large" = 3
            "#,
        )
        .unwrap()
    }

    fn get<'a>(d: &'a Table, ce: usize, key: &str) -> Option<&'a Value> {
        d["compute_environments"].as_array().unwrap()[ce]
            .as_table()
            .unwrap()
            .get(key)
    }

    #[test]
    fn sets_by_name_index_and_star() {
        let mut d = doc();
        let p = TomlPath::parse("compute_environments[spot].computeResources.maxvCpus").unwrap();
        p.set(&mut d, &Value::Integer(512)).unwrap();
        let res = get(&d, 0, "computeResources").unwrap().as_table().unwrap();
        assert_eq!(res["maxvCpus"].as_integer(), Some(512));
        let p = TomlPath::parse("compute_environments[*].idle_timeout_s").unwrap();
        p.set(&mut d, &Value::Integer(60)).unwrap();
        assert_eq!(get(&d, 0, "idle_timeout_s").unwrap().as_integer(), Some(60));
        assert_eq!(get(&d, 1, "idle_timeout_s").unwrap().as_integer(), Some(60));
        let p = TomlPath::parse("compute_environments[1].state").unwrap();
        p.set(&mut d, &Value::String("DISABLED".into())).unwrap();
        assert_eq!(get(&d, 1, "state").unwrap().as_str(), Some("DISABLED"));
        assert!(get(&d, 0, "state").is_none());
    }

    #[test]
    fn quoted_keys_and_new_tables() {
        let mut d = doc();
        let p = TomlPath::parse(r#"spot.capacity."c5.large""#).unwrap();
        assert_eq!(p.leaf(), "c5.large");
        p.set(&mut d, &Value::Integer(9)).unwrap();
        assert_eq!(d["spot"]["capacity"]["c5.large"].as_integer(), Some(9));
        let p = TomlPath::parse("scheduler.keep_cpu_jobs_off_gpu_instances").unwrap();
        p.set(&mut d, &Value::Boolean(true)).unwrap();
        assert_eq!(
            d["scheduler"]["keep_cpu_jobs_off_gpu_instances"].as_bool(),
            Some(true)
        );
    }

    #[test]
    fn errors_name_what_is_missing() {
        let mut d = doc();
        let p = TomlPath::parse("compute_environments[spto].idle_timeout_s").unwrap();
        let e = p.set(&mut d, &Value::Integer(1)).unwrap_err();
        assert!(
            e.contains("no element named `spto` (names: spot, od)"),
            "{e}"
        );
        let p = TomlPath::parse("compute_environments[7].x").unwrap();
        assert!(p
            .set(&mut d, &Value::Integer(1))
            .unwrap_err()
            .contains("out of range"));
        let p = TomlPath::parse("job_queues[q].priority").unwrap();
        assert!(p
            .set(&mut d, &Value::Integer(1))
            .unwrap_err()
            .contains("not an array"));
        let mut empty: Table = toml::from_str("job_queues = []").unwrap();
        let p = TomlPath::parse("job_queues[*].priority").unwrap();
        assert!(p
            .set(&mut empty, &Value::Integer(1))
            .unwrap_err()
            .contains("is empty"));
        assert!(TomlPath::parse("a..b").is_err());
        assert!(TomlPath::parse("a[").is_err());
        assert!(TomlPath::parse("a b").is_err());
        assert!(TomlPath::parse("").is_err());
    }
}
