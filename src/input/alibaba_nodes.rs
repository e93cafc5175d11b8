//! The node list of Alibaba's GPU cluster trace 2023 (`openb_node_list_*.csv`), read line
//! by line and grouped into node shapes.
//!
//! Columns (header required, order free, extra columns ignored):
//!
//! | column | meaning | flotilla reads |
//! |---|---|---|
//! | `sn` | node serial name | non-empty |
//! | `cpu_milli` | CPU, thousandths of a core | whole number ≥ 1000 |
//! | `memory_mib` | memory, MiB | whole number ≥ 1 |
//! | `gpu` | GPUs | whole number ≥ 0 |
//! | `model` | GPU model (`V100M16`, `V100M32`, `P100`, `T4`, `A10`, `G2`, `G3`, …); empty for CPU nodes | kept as text; ignored when `gpu` is 0 |
//!
//! A node offers ⌊`cpu_milli` / 1000⌋ vCPUs (Batch reserves whole vCPUs) and all of its
//! memory. Nodes of the same vCPUs, memory, GPUs and model form one [`NodeShape`], in order of
//! first appearance.

use super::csvutil::{bad, cell, line_of, parse_u32, Header};
use super::{InputError, ReadOptions, SkippedLines};
use csv::ByteRecord;
use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

/// Nodes of one shape.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeShape {
    /// vCPUs of each node.
    pub vcpus: u32,
    /// Memory of each node, MiB.
    pub memory_mib: u32,
    /// GPUs of each node.
    pub gpus: u32,
    /// GPU model as the trace names it; empty for CPU-only nodes.
    pub model: String,
    /// How many nodes have this shape.
    pub count: u32,
}

impl NodeShape {
    /// A short label, e.g. `8xG2 96c 384GiB` or `cpu 32c 256GiB`.
    pub fn label(&self) -> String {
        let gib = self.memory_mib / 1024;
        if self.gpus == 0 {
            format!("cpu {}c {gib}GiB", self.vcpus)
        } else {
            format!("{}x{} {}c {gib}GiB", self.gpus, self.model, self.vcpus)
        }
    }
}

/// Whether a header names an Alibaba node list (`sn` and `model`).
pub(crate) fn is_node_header(h: &Header) -> bool {
    h.find("sn").is_some() && h.find("model").is_some()
}

/// Reads a node list into its shapes, in order of first appearance.
pub(crate) fn read_node_shapes<R: Read>(
    input: R,
    file: &Path,
    opts: ReadOptions,
    skipped: &mut SkippedLines,
) -> Result<Vec<NodeShape>, InputError> {
    let mut rdr = super::csvutil::reader(input);
    let h = Header::read(&mut rdr, file)?;
    let cols = [
        h.require("sn", file)?,
        h.require("cpu_milli", file)?,
        h.require("memory_mib", file)?,
        h.require("gpu", file)?,
        h.require("model", file)?,
    ];
    let mut shapes: Vec<NodeShape> = Vec::new();
    let mut index: BTreeMap<(u32, u32, u32, String), usize> = BTreeMap::new();
    let mut rec = ByteRecord::new();
    while super::csvutil::next_record(&mut rdr, &mut rec, file, opts, skipped)? {
        let n = match parse_node(&rec, &cols, file) {
            Ok(n) => n,
            Err(e) => {
                skipped.handle(opts, e)?;
                continue;
            }
        };
        let key = (n.vcpus, n.memory_mib, n.gpus, n.model.clone());
        match index.get(&key) {
            Some(&i) => {
                let s = &mut shapes[i];
                s.count = s.count.checked_add(1).ok_or_else(|| {
                    bad(file, &rec, "sn", "too many nodes of one shape").at_line(line_of(&rec))
                })?;
            }
            None => {
                index.insert(key, shapes.len());
                shapes.push(n);
            }
        }
    }
    if shapes.is_empty() {
        return Err(InputError::new(file, "the node list has no nodes"));
    }
    Ok(shapes)
}

fn parse_node(rec: &ByteRecord, c: &[usize; 5], file: &Path) -> Result<NodeShape, InputError> {
    if cell(rec, Some(c[0]), "sn", file)?.is_empty() {
        return Err(bad(
            file,
            rec,
            "sn",
            "expected a node name, got an empty value",
        ));
    }
    let num = |i: usize, name: &str, min: u32, what: &str| -> Result<u32, InputError> {
        let s = cell(rec, Some(c[i]), name, file)?;
        match parse_u32(s.as_bytes()) {
            Some(v) if v >= min => Ok(v),
            _ => Err(bad(file, rec, name, format!("expected {what}, got `{s}`"))),
        }
    };
    let cpu_milli = num(1, "cpu_milli", 1000, "a whole number of millicores ≥ 1000")?;
    let memory_mib = num(2, "memory_mib", 1, "a whole number of MiB ≥ 1")?;
    let gpus = num(3, "gpu", 0, "a whole number of GPUs ≥ 0")?;
    let model = cell(rec, Some(c[4]), "model", file)?;
    Ok(NodeShape {
        vcpus: cpu_milli / 1000,
        memory_mib,
        gpus,
        model: if gpus == 0 {
            String::new()
        } else {
            model.to_string()
        },
        count: 1,
    })
}

/// Checks a bare node list and describes it in one line (what `validate` prints).
pub(crate) fn describe<R: Read>(input: R, file: &Path) -> Result<String, InputError> {
    let mut skipped = SkippedLines::default();
    let shapes = read_node_shapes(input, file, ReadOptions::default(), &mut skipped)?;
    let nodes: u64 = shapes.iter().map(|s| u64::from(s.count)).sum();
    let gpus: u64 = shapes
        .iter()
        .map(|s| u64::from(s.count) * u64::from(s.gpus))
        .sum();
    let vcpus: u64 = shapes
        .iter()
        .map(|s| u64::from(s.count) * u64::from(s.vcpus))
        .sum();
    Ok(format!(
        "Alibaba node list: {nodes} nodes in {} shapes, {vcpus} vCPUs, {gpus} GPUs",
        shapes.len()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_identical_nodes_and_names_bad_fields() {
        let text = "sn,cpu_milli,memory_mib,gpu,model\n\
                    a,96000,393216,8,G2\nb,32000,262144,0,\nc,96500,393216,8,G2\nd,8000,100,0,X\n";
        let mut sk = SkippedLines::default();
        let s = read_node_shapes(
            text.as_bytes(),
            Path::new("n.csv"),
            Default::default(),
            &mut sk,
        )
        .unwrap();
        assert_eq!(s.len(), 3);
        assert_eq!(
            (s[0].count, s[0].vcpus, s[0].label()),
            (2, 96, "8xG2 96c 384GiB".into())
        );
        assert_eq!(s[2].model, "", "a CPU node's model is dropped");
        let bad_text = format!("{text}e,500,1,0,\n");
        let e = read_node_shapes(
            bad_text.as_bytes(),
            Path::new("n.csv"),
            Default::default(),
            &mut sk,
        )
        .unwrap_err();
        assert_eq!((e.line, e.field.as_deref()), (Some(6), Some("cpu_milli")));
        let skip = ReadOptions {
            skip_bad_lines: true,
        };
        let s = read_node_shapes(bad_text.as_bytes(), Path::new("n.csv"), skip, &mut sk).unwrap();
        assert_eq!((s.len(), sk.count), (3, 1));
    }
}
