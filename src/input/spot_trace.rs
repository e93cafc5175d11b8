//! Measured Spot traces: the JSON files of skypilot-org/spot-traces (the data of "Can't Be
//! Late", NSDI 2024), shipped under `traces/spot/measured/`.
//!
//! Format: one JSON object
//!
//! ```json
//! {"metadata": {"gap_seconds": 300}, "data": [4, 4, 3, 0, 0, 4]}
//! ```
//!
//! - `metadata.gap_seconds` (required, a number > 0): the time between two ticks;
//! - `data` (required, at least one value): one whole number ≥ 0 per tick, tick `i` at
//!   `i × gap_seconds` from the start of the measurement.
//!
//! Other keys (`prices` in some files, more metadata) are skipped. A key given twice is an
//! error. The reader streams the file through serde (one value per tick kept, as `u32`);
//! errors name the file, the JSON path (`data[17]`, `metadata.gap_seconds`) and the line.
//!
//! What a value means (see `docs/spot-measured.md` for the evidence): in an availability
//! trace, how many of the trace's `N` requested instances could be obtained at that tick; in
//! a preemption trace, by default ([`Counts::Missing`], the data description's reading),
//! how many of the `N` instances were preempted (not running) at that tick, so `N − v` were
//! held and a rise `k → k + d` is `d` preemptions; with [`Counts::Held`] the value is the
//! number held and a fall is a preemption. `N` is the node count in the directory name
//! (`1-node`, `4-node`, `16-node`) or given by the caller. Values above a known `N` are
//! errors. [`load_preemption_trace`] reads a preemption trace into instances held under
//! either reading; everything downstream (replay, fit) works on instances held.

use super::spot_trace_json::{TopSeed, Tracker};
use super::InputError;
use crate::model::SimDuration;
use serde::de::DeserializeSeed;
use std::io::{BufReader, Read};
use std::path::Path;

/// How the values of a preemption trace are read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Counts {
    /// A value is the number of the `N` instances preempted (not running) at that tick;
    /// `N − v` are held and a rise is a preemption. The data description's reading (and
    /// that of the Can't Be Late simulator): the default.
    #[default]
    Missing,
    /// A value is the number of instances held (obtained, running); a fall is a
    /// preemption. The upstream README's "number of available instances".
    Held,
}

impl Counts {
    /// Reads `missing` or `held`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "missing" => Some(Counts::Missing),
            "held" => Some(Counts::Held),
            _ => None,
        }
    }

    /// `missing` or `held`.
    pub fn name(self) -> &'static str {
        match self {
            Counts::Missing => "missing",
            Counts::Held => "held",
        }
    }

    /// Instances held at each tick under this reading.
    pub fn held(self, trace: &SpotTrace) -> Vec<u32> {
        match self {
            Counts::Held => trace.values.clone(),
            Counts::Missing => trace
                .values
                .iter()
                .map(|&v| trace.nodes.saturating_sub(v))
                .collect(),
        }
    }

    /// The trace with its values turned into instances held.
    pub fn to_held(self, trace: SpotTrace) -> SpotTrace {
        match self {
            Counts::Held => trace,
            Counts::Missing => SpotTrace {
                values: self.held(&trace),
                ..trace
            },
        }
    }
}

/// One measured Spot trace: a value per tick.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpotTrace {
    /// Time between ticks (at least 1 ms).
    pub gap: SimDuration,
    /// The file's value at each tick (instances obtainable, preempted or held, depending on
    /// the kind of trace and the reading; see [`Counts`]); never empty.
    pub values: Vec<u32>,
    /// The trace's node count `N`: given, or inferred from the path, or the largest value
    /// (at least 1).
    pub nodes: u32,
}

impl SpotTrace {
    /// The largest value.
    pub fn max_value(&self) -> u32 {
        self.values.iter().copied().max().unwrap_or(0)
    }

    /// The measured span: ticks × gap.
    pub fn span(&self) -> SimDuration {
        SimDuration(self.gap.0.saturating_mul(self.values.len() as u64))
    }
}

/// Reads a measured Spot trace file. `nodes` is its node count when the caller knows it;
/// otherwise it comes from a `N-node` directory in the path, else from the largest value.
pub fn load_spot_trace(path: &Path, nodes: Option<u32>) -> Result<SpotTrace, InputError> {
    let f = std::fs::File::open(path).map_err(|e| InputError::unreadable(path, &e))?;
    parse_spot_trace(
        BufReader::new(f),
        path,
        nodes.or_else(|| nodes_from_path(path)),
    )
}

/// Reads a preemption trace file as instances held at each tick under `counts`. With
/// [`Counts::Missing`] the node count `N` must be known (`nodes`, or an `N-node` directory
/// in the path): the values are turned into `N − v`.
pub fn load_preemption_trace(
    path: &Path,
    nodes: Option<u32>,
    counts: Counts,
) -> Result<SpotTrace, InputError> {
    if counts == Counts::Missing && nodes.or_else(|| nodes_from_path(path)).is_none() {
        return Err(InputError::new(
            path,
            format!("{NODES_NEEDED}: give it, or read the values as instances held"),
        ));
    }
    load_spot_trace(path, nodes).map(|t| counts.to_held(t))
}

/// Why a preemption trace read as `missing` needs its node count.
pub const NODES_NEEDED: &str = "read as instances preempted (counts `missing`, the default), \
     a preemption trace needs its node count N (held = N − value), but there is no `N-node` \
     directory in its path and none was given";

/// The node count a path names: its last `N-node` component (`preemption/4-node/...` → 4).
pub fn nodes_from_path(path: &Path) -> Option<u32> {
    path.components().rev().find_map(|c| {
        let s = c.as_os_str().to_str()?;
        let n: u32 = s.strip_suffix("-node")?.parse().ok()?;
        (n > 0).then_some(n)
    })
}

/// Parses a measured Spot trace from `reader`; `file` names it in errors; `nodes`, when
/// known, bounds every value.
pub fn parse_spot_trace<R: Read>(
    reader: R,
    file: &Path,
    nodes: Option<u32>,
) -> Result<SpotTrace, InputError> {
    let tracker = Tracker::default();
    let mut de = serde_json::Deserializer::from_reader(reader);
    let parsed = TopSeed(&tracker)
        .deserialize(&mut de)
        .and_then(|t| de.end().map(|()| t));
    let top = parsed.map_err(|e| tracker.error(file, &e))?;
    let Some(gap) = top.gap else {
        let (field, what) = if top.metadata_seen {
            ("metadata.gap_seconds", "a `gap_seconds` in `metadata`")
        } else {
            ("metadata", "a `metadata` object with `gap_seconds`")
        };
        return Err(InputError::new(file, format!("missing: expected {what}")).in_field(field));
    };
    let Some(values) = top.data else {
        return Err(InputError::new(file, "missing: expected a `data` array").in_field("data"));
    };
    if values.is_empty() {
        return Err(InputError::new(file, "expected at least one tick, got none").in_field("data"));
    }
    if let Some(n) = nodes {
        if let Some(i) = values.iter().position(|&v| v > n) {
            return Err(InputError::new(
                file,
                format!(
                    "expected at most {n} (the trace's node count), got {}",
                    values[i]
                ),
            )
            .in_field(format!("data[{i}]")));
        }
    }
    let max = values.iter().copied().max().unwrap_or(0);
    Ok(SpotTrace {
        gap,
        nodes: nodes.unwrap_or(max.max(1)),
        values,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str, nodes: Option<u32>) -> Result<SpotTrace, InputError> {
        parse_spot_trace(s.as_bytes(), Path::new("t.json"), nodes)
    }

    #[test]
    fn reads_gap_values_and_node_count() {
        let t = parse(
            r#"{"metadata": {"gap_seconds": 32}, "data": [0, 1, 1], "prices": [0.9, 0.9]}"#,
            None,
        )
        .unwrap();
        assert_eq!(t.gap, SimDuration::from_secs(32));
        assert_eq!(t.values, [0, 1, 1]);
        assert_eq!(t.nodes, 1);
        let t = parse(
            r#"{"data": [0, 2.0], "metadata": {"gap_seconds": 0.5}}"#,
            Some(4),
        );
        let t = t.unwrap();
        assert_eq!(
            (t.gap, t.nodes, t.values.clone()),
            (SimDuration(500), 4, vec![0, 2])
        );
    }

    #[test]
    fn errors_name_the_json_path() {
        let cases: [(&str, Option<u32>, &str, &str); 9] = [
            (
                r#"{"metadata":{"gap_seconds":5},"data":[0,1,-1]}"#,
                None,
                "data[2]",
                "got -1",
            ),
            (
                r#"{"metadata":{"gap_seconds":5},"data":[0,1.5]}"#,
                None,
                "data[1]",
                "got 1.5",
            ),
            (
                r#"{"metadata":{"gap_seconds":5},"data":[0,"1"]}"#,
                None,
                "data[1]",
                "string",
            ),
            (
                r#"{"metadata":{"gap_seconds":0},"data":[0]}"#,
                None,
                "metadata.gap_seconds",
                "> 0",
            ),
            (
                r#"{"metadata":{"gap_seconds":-3},"data":[0]}"#,
                None,
                "metadata.gap_seconds",
                "-3",
            ),
            (r#"{"data":[0]}"#, None, "metadata", "missing"),
            (
                r#"{"metadata":{},"data":[0]}"#,
                None,
                "metadata.gap_seconds",
                "missing",
            ),
            (
                r#"{"metadata":{"gap_seconds":5},"data":[0,5,2]}"#,
                Some(4),
                "data[1]",
                "at most 4",
            ),
            (
                r#"{"metadata":{"gap_seconds":5},"data":[0,1,"#,
                None,
                "data[2]",
                "EOF",
            ),
        ];
        for (text, nodes, field, msg) in cases {
            let e = parse(text, nodes).expect_err(text);
            assert_eq!(e.field.as_deref(), Some(field), "{text}: {e}");
            assert!(e.to_string().contains(msg), "{text}: {e}");
            assert!(e.to_string().starts_with("t.json"), "{e}");
        }
    }

    #[test]
    fn rejects_empty_duplicate_and_trailing() {
        for text in [
            r#"{"metadata":{"gap_seconds":5},"data":[]}"#,
            r#"{"metadata":{"gap_seconds":5},"data":[1],"data":[1]}"#,
            r#"{"metadata":{"gap_seconds":5},"data":[1]} x"#,
            r#"[1, 2]"#,
            "",
        ] {
            assert!(parse(text, None).is_err(), "{text}");
        }
    }

    #[test]
    fn counts_turn_preempted_into_held() {
        let t = parse(
            r#"{"metadata":{"gap_seconds":5},"data":[0,1,4,2]}"#,
            Some(4),
        )
        .unwrap();
        assert_eq!(Counts::default(), Counts::Missing);
        assert_eq!(Counts::Missing.to_held(t.clone()).values, [4, 3, 0, 2]);
        assert_eq!(Counts::Held.to_held(t.clone()), t);
        assert_eq!(Counts::parse("held"), Some(Counts::Held));
        assert_eq!(Counts::parse("missing").map(Counts::name), Some("missing"));
        assert_eq!(Counts::parse("preempted"), None);
    }

    #[test]
    fn the_missing_reading_needs_the_node_count() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("z_v100_1.json");
        std::fs::write(&p, r#"{"metadata":{"gap_seconds":5},"data":[0,1,0]}"#).unwrap();
        let e = load_preemption_trace(&p, None, Counts::Missing).unwrap_err();
        assert!(e.to_string().contains("node count"), "{e}");
        assert_eq!(
            load_preemption_trace(&p, Some(2), Counts::Missing)
                .unwrap()
                .values,
            [2, 1, 2]
        );
        assert_eq!(
            load_preemption_trace(&p, None, Counts::Held)
                .unwrap()
                .values,
            [0, 1, 0]
        );
        let sub = dir.path().join("3-node");
        std::fs::create_dir(&sub).unwrap();
        let q = sub.join("z_v100_1.json");
        std::fs::copy(&p, &q).unwrap();
        let t = load_preemption_trace(&q, None, Counts::Missing).unwrap();
        assert_eq!((t.nodes, t.values), (3, vec![3, 2, 3]));
    }

    #[test]
    fn node_count_from_directory_name() {
        let p = Path::new("traces/spot/measured/preemption/4-node/aws-08-03-2023/x.json");
        assert_eq!(nodes_from_path(p), Some(4));
        assert_eq!(nodes_from_path(Path::new("a/0-node/x.json")), None);
        assert_eq!(nodes_from_path(Path::new("a/b.json")), None);
    }
}
