//! The sweep grid: `flotilla sweep SCENARIO --grid GRID.toml`, or the scenario's own
//! `[sweep]` section, in the same shape:
//!
//! ```toml
//! seeds = 10            # runs per point: N seeds from the scenario's seed, or "A..B"
//!
//! [[axis]]              # one axis per parameter; the grid is their product
//! path = "strategy"     # shorthand: every MANAGED compute environment's allocationStrategy
//! values = ["BEST_FIT_PROGRESSIVE", "SPOT_CAPACITY_OPTIMIZED"]
//!
//! [[axis]]
//! name = "spot max"     # optional column name (default: the path's last key)
//! path = "compute_environments[spot].computeResources.maxvCpus"
//! values = [256, 512, 1024]
//!
//! [[axis]]              # no path: each value is a table of path = value, set together
//! name = "split"        # (several compute environments in one queue, On-Demand vs Spot)
//! labels = ["75% Spot", "50% Spot"]   # optional, one per value
//! values = [
//!   { "compute_environments[spot].computeResources.maxvCpus" = 768,
//!     "compute_environments[ondemand].computeResources.maxvCpus" = 256 },
//!   { "compute_environments[spot].computeResources.maxvCpus" = 512,
//!     "compute_environments[ondemand].computeResources.maxvCpus" = 512 },
//! ]
//!
//! [[axis]]
//! path = "workload.arrival_rate_scale"   # shorthand: submit times divided by the factor
//! values = [1.0, 1.5, 2.0]
//! ```
//!
//! Paths are described in [`super::tomlpath`]. The values are written into the scenario's
//! TOML and the scenario is loaded as usual, so a bad value gets the loader's own message.

use super::tomlpath::TomlPath;
use crate::model::AllocationStrategy;
use std::fmt::Write as _;
use toml::{Table, Value};

/// The shorthand for every managed compute environment's allocation strategy.
pub const STRATEGY: &str = "strategy";
/// The shorthand for the workload's arrival rate factor.
pub const ARRIVAL_RATE_SCALE: &str = "workload.arrival_rate_scale";

/// One change a grid value makes to the scenario.
#[derive(Clone, Debug, PartialEq)]
pub enum Setting {
    /// A field of the scenario's TOML.
    Field(TomlPath, Value),
    /// Every managed compute environment's allocation strategy (Spot-only strategies become
    /// BEST_FIT_PROGRESSIVE on On-Demand ones, as in `flotilla compare`).
    Strategy(AllocationStrategy),
    /// Arrival rate × factor: every submit time divided by it (durations kept).
    ArrivalRateScale(f64),
}

/// One value of an axis: its label and what it sets.
#[derive(Clone, Debug, PartialEq)]
pub struct AxisValue {
    /// Shown in tables and plots.
    pub label: String,
    /// The changes, applied in order.
    pub settings: Vec<Setting>,
}

/// One swept parameter.
#[derive(Clone, Debug, PartialEq)]
pub struct Axis {
    /// Column name.
    pub name: String,
    /// Its values, in the file's order.
    pub values: Vec<AxisValue>,
}

/// How many seeds a grid asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SeedSpec {
    /// N seeds from the scenario's.
    Count(u64),
    /// An explicit inclusive range.
    Range(u64, u64),
}

impl SeedSpec {
    /// The seeds, counted from `base` for a count.
    pub fn list(&self, base: u64) -> Vec<u64> {
        match *self {
            SeedSpec::Count(n) => (0..n).map(|k| base.wrapping_add(k)).collect(),
            SeedSpec::Range(a, b) => (a..=b).collect(),
        }
    }
}

/// Most seeds a sweep (or `compare`) takes: far more than a confidence interval needs, and
/// small enough that the seed list itself is never a memory problem.
pub const MAX_SEEDS: u64 = 1_000_000;

/// Most points a grid may have.
pub const MAX_POINTS: usize = 1_000_000;

/// A parsed grid.
#[derive(Clone, Debug, PartialEq)]
pub struct Grid {
    /// Seeds per point.
    pub seeds: SeedSpec,
    /// The axes; the grid is their product, the last axis varying fastest.
    pub axes: Vec<Axis>,
}

/// One grid point: one value index per axis.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Point {
    /// Position in the grid's order, from 0.
    pub index: usize,
    /// Value index on each axis.
    pub coords: Vec<usize>,
}

impl Grid {
    /// Reads a grid from a parsed table (`where_` names it in messages: the grid file, or
    /// the scenario file's `[sweep]`).
    pub fn from_table(t: &Table, where_: &str) -> Result<Grid, String> {
        let err = |field: &str, msg: String| format!("{where_}: {field}: {msg}");
        for k in t.keys() {
            if k != "seeds" && k != "axis" {
                return Err(err(
                    k,
                    "unknown key (expected `seeds` or `[[axis]]`)".into(),
                ));
            }
        }
        let seeds = match t.get("seeds") {
            None => SeedSpec::Count(10),
            Some(Value::Integer(n)) if *n >= 1 => SeedSpec::Count(*n as u64),
            Some(Value::String(s)) => parse_seed_spec(s).map_err(|m| err("seeds", m))?,
            Some(v) => {
                return Err(err(
                    "seeds",
                    format!("expected a count ≥ 1 or a range \"A..B\", got {v}"),
                ))
            }
        };
        let axes = match t.get("axis") {
            Some(Value::Array(a)) if !a.is_empty() => a,
            _ => return Err(err("axis", "expected at least one [[axis]] table".into())),
        };
        let axes = axes
            .iter()
            .enumerate()
            .map(|(k, a)| axis(a, &format!("axis[{k}]")).map_err(|(f, m)| err(&f, m)))
            .collect::<Result<Vec<_>, _>>()?;
        let points = axes
            .iter()
            .try_fold(1usize, |n, a| n.checked_mul(a.values.len()))
            .filter(|&n| n <= MAX_POINTS);
        if points.is_none() {
            return Err(err(
                "axis",
                format!("the grid has more than {MAX_POINTS} points; use fewer axes or values"),
            ));
        }
        check_distinct_paths(&axes).map_err(|m| err("axis", m))?;
        Ok(Grid { seeds, axes })
    }

    /// Reads a grid file.
    pub fn read(path: &std::path::Path) -> Result<Grid, String> {
        let src = std::fs::read_to_string(path)
            .map_err(|e| format!("{}: cannot read the grid file: {e}", path.display()))?;
        let t: Table = toml::from_str(&src).map_err(|e| {
            let line = e
                .span()
                .map(|s| src[..s.start].matches('\n').count() + 1)
                .map_or(String::new(), |l| format!(":{l}"));
            format!("{}{line}: {}", path.display(), e.message())
        })?;
        Grid::from_table(&t, &path.display().to_string())
    }

    /// The seeds, counted from `base` for a count.
    pub fn seed_list(&self, base: u64) -> Vec<u64> {
        self.seeds.list(base)
    }

    /// Every point, the last axis varying fastest.
    pub fn points(&self) -> Vec<Point> {
        let total: usize = self.axes.iter().map(|a| a.values.len()).product();
        (0..total)
            .map(|index| {
                let mut rest = index;
                let mut coords = vec![0; self.axes.len()];
                for (k, a) in self.axes.iter().enumerate().rev() {
                    coords[k] = rest % a.values.len();
                    rest /= a.values.len();
                }
                Point { index, coords }
            })
            .collect()
    }

    /// The values a point takes, one per axis.
    pub fn values_of<'a>(&'a self, p: &Point) -> impl Iterator<Item = &'a AxisValue> + 'a {
        let coords = p.coords.clone();
        self.axes.iter().zip(coords).map(|(a, c)| &a.values[c])
    }

    /// `name=label` for each axis, e.g. `strategy=BEST_FIT maxvCpus=512`.
    pub fn label(&self, p: &Point) -> String {
        let mut s = String::new();
        for (a, v) in self.axes.iter().zip(self.values_of(p)) {
            if !s.is_empty() {
                s.push(' ');
            }
            let _ = write!(s, "{}={}", a.name, v.label);
        }
        s
    }
}

/// Parses `--seeds` or a grid's `seeds`: `N` (N seeds from the scenario's) or `A..B`
/// (inclusive).
pub fn parse_seed_spec(spec: &str) -> Result<SeedSpec, String> {
    if let Some((a, b)) = spec.split_once("..") {
        let a: u64 = a
            .trim()
            .parse()
            .map_err(|_| format!("seeds `{spec}`: bad start (expected A..B)"))?;
        let b: u64 = b
            .trim()
            .trim_start_matches('=')
            .parse()
            .map_err(|_| format!("seeds `{spec}`: bad end (expected A..B)"))?;
        if b < a {
            return Err(format!("seeds `{spec}`: the range is empty"));
        }
        if b - a >= MAX_SEEDS {
            return Err(format!(
                "seeds `{spec}`: more than {MAX_SEEDS} seeds; use a shorter range"
            ));
        }
        return Ok(SeedSpec::Range(a, b));
    }
    match spec.trim().parse::<u64>() {
        Ok(0) => Err("seeds must be at least 1".into()),
        Ok(n) if n > MAX_SEEDS => Err(format!(
            "seeds `{spec}`: more than {MAX_SEEDS} seeds; use fewer"
        )),
        Ok(n) => Ok(SeedSpec::Count(n)),
        Err(_) => Err(format!(
            "seeds `{spec}`: expected a count N or a range A..B"
        )),
    }
}

/// Two axes setting the same field would make the later one win silently and the earlier
/// one's label lie.
fn check_distinct_paths(axes: &[Axis]) -> Result<(), String> {
    let mut seen: Vec<(String, &str)> = Vec::new();
    for a in axes {
        let mut mine: Vec<String> = Vec::new();
        for v in &a.values {
            for s in &v.settings {
                let key = match s {
                    Setting::Field(p, _) => p.to_string(),
                    Setting::Strategy(_) => STRATEGY.to_string(),
                    Setting::ArrivalRateScale(_) => ARRIVAL_RATE_SCALE.to_string(),
                };
                if !mine.contains(&key) {
                    mine.push(key);
                }
            }
        }
        for key in mine {
            if let Some((_, other)) = seen.iter().find(|(k, _)| *k == key) {
                return Err(format!(
                    "`{key}` is set by two axes (`{other}` and `{}`); one field, one axis",
                    a.name
                ));
            }
            seen.push((key, a.name.as_str()));
        }
    }
    Ok(())
}

type FieldErr = (String, String);

fn axis(v: &Value, at: &str) -> Result<Axis, FieldErr> {
    let fe = |f: &str, m: String| (format!("{at}.{f}"), m);
    let Value::Table(t) = v else {
        return Err((at.to_string(), "expected a table".into()));
    };
    for k in t.keys() {
        if !["name", "path", "values", "labels"].contains(&k.as_str()) {
            return Err(fe(
                k,
                "unknown key (expected name, path, values, labels)".into(),
            ));
        }
    }
    let path = match t.get("path") {
        None => None,
        Some(Value::String(p)) => Some(p.as_str()),
        Some(_) => return Err(fe("path", "expected a string".into())),
    };
    let values = match t.get("values") {
        Some(Value::Array(a)) if !a.is_empty() => a,
        _ => return Err(fe("values", "expected a non-empty array".into())),
    };
    let labels = match t.get("labels") {
        None => None,
        Some(Value::Array(l)) if l.len() == values.len() => Some(l),
        Some(_) => return Err(fe("labels", format!("expected {} strings", values.len()))),
    };
    let mut out = Vec::with_capacity(values.len());
    for (k, v) in values.iter().enumerate() {
        let at_v = format!("values[{k}]");
        let settings = match path {
            Some(p) => vec![setting(p, v).map_err(|m| fe(&at_v, m))?],
            None => table_settings(v).map_err(|m| fe(&at_v, m))?,
        };
        let label = match labels.map(|l| &l[k]) {
            Some(Value::String(s)) => s.clone(),
            Some(_) => return Err(fe(&format!("labels[{k}]"), "expected a string".into())),
            None => match settings.as_slice() {
                [Setting::Strategy(s)] => s.as_str().to_string(),
                _ => label_of(v),
            },
        };
        out.push(AxisValue { label, settings });
    }
    let name = match (t.get("name"), path) {
        (Some(Value::String(n)), _) => n.clone(),
        (Some(_), _) => return Err(fe("name", "expected a string".into())),
        (None, Some(p)) => TomlPath::parse(p)
            .map_err(|m| fe("path", m))?
            .leaf()
            .to_string(),
        (None, None) => return Err(fe("name", "an axis without `path` needs a name".into())),
    };
    Ok(Axis { name, values: out })
}

fn table_settings(v: &Value) -> Result<Vec<Setting>, String> {
    let Value::Table(t) = v else {
        return Err("without `path`, each value is a table of path = value".into());
    };
    if t.is_empty() {
        return Err("an empty table sets nothing".into());
    }
    t.iter().map(|(p, v)| setting(p, v)).collect()
}

fn setting(path: &str, v: &Value) -> Result<Setting, String> {
    match path.trim() {
        STRATEGY => {
            let s = v
                .as_str()
                .ok_or_else(|| format!("`{STRATEGY}` takes a strategy name, got {v}"))?;
            Ok(Setting::Strategy(s.parse()?))
        }
        ARRIVAL_RATE_SCALE => {
            let f = v.as_float().or(v.as_integer().map(|i| i as f64));
            match f {
                Some(f) if f.is_finite() && f > 0.0 => Ok(Setting::ArrivalRateScale(f)),
                _ => Err(format!(
                    "`{ARRIVAL_RATE_SCALE}` takes a factor > 0, got {v}"
                )),
            }
        }
        p => Ok(Setting::Field(
            TomlPath::parse(p).map_err(|m| format!("path `{p}`: {m}"))?,
            v.clone(),
        )),
    }
}

fn label_of(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Array(a) => a.iter().map(label_of).collect::<Vec<_>>().join("+"),
        Value::Table(t) => t
            .iter()
            .map(|(k, v)| format!("{}:{}", leaf_of(k), label_of(v)))
            .collect::<Vec<_>>()
            .join(","),
        other => other.to_string(),
    }
}

fn leaf_of(path: &str) -> String {
    TomlPath::parse(path).map_or_else(|_| path.to_string(), |p| p.leaf().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grid(src: &str) -> Result<Grid, String> {
        Grid::from_table(&toml::from_str(src).unwrap(), "g.toml")
    }

    #[test]
    fn product_in_order_with_labels() {
        let g = grid(
            r#"
            seeds = "3..5"
            [[axis]]
            path = "strategy"
            values = ["BEST_FIT", "spot-capacity-optimized"]
            [[axis]]
            path = "compute_environments[spot].computeResources.maxvCpus"
            values = [8, 16, 32]
            "#,
        )
        .unwrap();
        assert_eq!(g.seed_list(99), vec![3, 4, 5]);
        let pts = g.points();
        assert_eq!(pts.len(), 6);
        assert_eq!(pts[4].coords, vec![1, 1]);
        assert_eq!(
            g.label(&pts[4]),
            "strategy=SPOT_CAPACITY_OPTIMIZED maxvCpus=16"
        );
        assert_eq!(
            g.axes[0].values[1].settings,
            vec![Setting::Strategy(AllocationStrategy::SpotCapacityOptimized)]
        );
    }

    #[test]
    fn set_axes_and_shorthands() {
        let g = grid(
            r#"
            seeds = 4
            [[axis]]
            name = "split"
            labels = ["a", "b"]
            values = [{ "x[0].y" = 1, "z" = 2 }, { "x[0].y" = 3, "z" = 4 }]
            [[axis]]
            path = "workload.arrival_rate_scale"
            values = [1, 2.5]
            "#,
        )
        .unwrap();
        assert_eq!(g.seed_list(10), vec![10, 11, 12, 13]);
        assert_eq!(g.axes[0].values[1].label, "b");
        assert_eq!(g.axes[0].values[1].settings.len(), 2);
        assert_eq!(
            g.axes[1].values[1].settings,
            vec![Setting::ArrivalRateScale(2.5)]
        );
    }

    #[test]
    fn errors_name_the_field() {
        let e = grid("[[axis]]\npath = \"strategy\"\nvalues = [\"FAST\"]").unwrap_err();
        assert!(
            e.starts_with("g.toml: axis[0].values[0]: unknown allocation strategy"),
            "{e}"
        );
        let e = grid("[[axis]]\npath = \"a\"\nvalues = []").unwrap_err();
        assert!(
            e.contains("axis[0].values: expected a non-empty array"),
            "{e}"
        );
        let e = grid("seeds = 0\n[[axis]]\npath = \"a\"\nvalues = [1]").unwrap_err();
        assert!(e.contains("seeds: expected a count"), "{e}");
        let e = grid("[[axis]]\nvalues = [1]").unwrap_err();
        assert!(e.contains("axis[0].values[0]: without `path`"), "{e}");
        let e = grid("[[axis]]\npath = \"a.b\"\nvalues = [1]\n[[axis]]\nname = \"t\"\nvalues = [{ \"a.b\" = 2 }]")
            .unwrap_err();
        assert!(e.contains("`a.b` is set by two axes (`b` and `t`)"), "{e}");
        let e = grid("seeds = \"0..18446744073709551615\"\n[[axis]]\npath = \"a\"\nvalues = [1]")
            .unwrap_err();
        assert!(e.contains("more than 1000000 seeds"), "{e}");
        let e = grid("sweeps = 1").unwrap_err();
        assert!(e.contains("sweeps: unknown key"), "{e}");
        let e = grid("[[axis]]\npath = \"workload.arrival_rate_scale\"\nvalues = [0]").unwrap_err();
        assert!(e.contains("factor > 0"), "{e}");
    }

    #[test]
    fn seed_specs() {
        assert_eq!(parse_seed_spec("3"), Ok(SeedSpec::Count(3)));
        assert_eq!(parse_seed_spec("1..=3"), Ok(SeedSpec::Range(1, 3)));
        assert!(parse_seed_spec("0").is_err());
        assert!(parse_seed_spec("5..2").is_err());
        assert!(parse_seed_spec("x").is_err());
        assert!(parse_seed_spec("100000000000")
            .unwrap_err()
            .contains("use fewer"));
        assert_eq!(parse_seed_spec("1000000"), Ok(SeedSpec::Count(1_000_000)));
    }
}
