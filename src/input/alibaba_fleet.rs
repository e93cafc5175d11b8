//! The Alibaba node list as capacity: UNMANAGED hosts as they are, or each node shape mapped
//! onto an EC2 instance type of the catalog for a "what would this cost on AWS" run.
//!
//! The EC2 mapping of one node shape (vCPUs, memory, GPUs, GPU model):
//! 1. an `instance_types` override for the model (`cpu` for CPU nodes) wins;
//! 2. candidates: the catalog's x86_64 types (the trace's containers are x86 images) with a
//!    Spot offer when the compute environment is SPOT; GPU nodes consider GPU types only and
//!    CPU nodes types without GPUs; metal sizes count;
//! 3. a GPU node keeps the types of the same GPU model when the catalog has any: the model
//!    without its memory suffix (`V100M16` → `V100` with 16 GiB GPUs, `V100M32` → `V100`
//!    with 32 GiB), `A10` → `A10G`; matched as a word of the catalog's `gpu_model`
//!    (`NVIDIA V100`); GPU memory narrows further when some match it. Models the catalog
//!    lacks (`P100`, and Alibaba's undisclosed `G2` and `G3`) keep every GPU type;
//! 4. among the candidates, types that cover the node (as many GPUs, vCPUs and MiB or more)
//!    come first; then the smallest distance Σ |ln(type / node)| over GPUs, vCPUs and memory;
//!    then the lower On-Demand price; then the name.
//!
//! Over the built-in catalog this gives the table in docs/alibaba.md (checked by a test).

use super::alibaba_nodes::NodeShape;
use super::catalog_filter::Architecture;
use crate::model::{Catalog, InstanceType, InstanceTypeId, UnmanagedHost};
use std::cmp::Ordering;
use std::collections::BTreeMap;

/// Why a shape got its type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MatchKind {
    /// Named in `instance_types`.
    Override,
    /// Same GPU model family (or, for a CPU node, a CPU type) that covers the node.
    SameModel,
    /// The catalog lacks the GPU model: the closest GPU type.
    ClosestShape,
}

/// The type one node shape maps to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShapeMapping {
    /// The shape (with its node count).
    pub shape: NodeShape,
    /// The instance type, an id of the scenario's catalog.
    pub instance_type: InstanceTypeId,
    /// Why.
    pub kind: MatchKind,
}

/// The UNMANAGED hosts of a node list: `{prefix}-s{shape}-{k}`, one per node.
pub(crate) fn unmanaged_hosts(shapes: &[NodeShape], prefix: &str) -> Vec<UnmanagedHost> {
    let mut out = Vec::new();
    for (i, s) in shapes.iter().enumerate() {
        for k in 0..s.count {
            out.push(UnmanagedHost {
                name: format!("{prefix}-s{i}-{k}"),
                vcpus: s.vcpus,
                memory_mib: s.memory_mib,
                gpus: s.gpus,
            });
        }
    }
    out
}

/// The GPU model word and GPU memory (MiB) a trace model stands for in the catalog.
fn catalog_model(model: &str) -> (String, Option<u32>) {
    let upper = model.to_ascii_uppercase();
    // `V100M16`: model V100 with 16 GiB GPUs.
    if let Some(pos) = upper.rfind('M') {
        let (base, mem) = (&upper[..pos], &upper[pos + 1..]);
        if !base.is_empty() && !mem.is_empty() && mem.bytes().all(|b| b.is_ascii_digit()) {
            let gib: Option<u32> = mem.parse().ok();
            return (base.to_string(), gib.and_then(|g| g.checked_mul(1024)));
        }
    }
    match upper.as_str() {
        // AWS's g5 carries the A10G, NVIDIA's A10 variant for AWS.
        "A10" => ("A10G".to_string(), None),
        _ => (upper, None),
    }
}

fn has_model(t: &InstanceType, word: &str) -> bool {
    t.gpu_model
        .split_whitespace()
        .any(|w| w.eq_ignore_ascii_case(word))
}

fn covers(t: &InstanceType, s: &NodeShape) -> bool {
    t.gpus >= s.gpus && t.vcpus >= s.vcpus && t.memory_mib >= s.memory_mib
}

fn distance(t: &InstanceType, s: &NodeShape) -> f64 {
    let ln = |a: u32, b: u32| {
        if b == 0 {
            0.0
        } else {
            (f64::from(a.max(1)) / f64::from(b)).ln().abs()
        }
    };
    ln(t.gpus, s.gpus) + ln(t.vcpus, s.vcpus) + ln(t.memory_mib, s.memory_mib)
}

/// The closest type among `ids` (see the module docs, step 4).
fn closest(catalog: &Catalog, ids: &[InstanceTypeId], s: &NodeShape) -> Option<InstanceTypeId> {
    ids.iter().copied().min_by(|&a, &b| {
        let (ta, tb) = (catalog.get(a), catalog.get(b));
        covers(tb, s)
            .cmp(&covers(ta, s))
            .then_with(|| distance(ta, s).total_cmp(&distance(tb, s)))
            .then_with(|| ta.on_demand_per_hour.cmp(&tb.on_demand_per_hour))
            .then_with(|| ta.name.cmp(&tb.name))
            .then(Ordering::Equal)
    })
}

/// Maps every shape onto a type; `None` when the catalog (as filtered, and with a Spot offer
/// when `spot`) has no candidate for some shape, which is returned.
pub(crate) fn map_shapes(
    shapes: &[NodeShape],
    catalog: &Catalog,
    archs: &[Architecture],
    overrides: &BTreeMap<String, InstanceTypeId>,
    spot: bool,
) -> Result<Vec<ShapeMapping>, NodeShape> {
    let mut out = Vec::with_capacity(shapes.len());
    for s in shapes {
        let key = if s.gpus == 0 { "cpu" } else { s.model.as_str() };
        if let Some(&id) = overrides.get(key) {
            out.push(ShapeMapping {
                shape: s.clone(),
                instance_type: id,
                kind: MatchKind::Override,
            });
            continue;
        }
        let pool: Vec<InstanceTypeId> = catalog
            .ids()
            .filter(|&id| {
                let t = catalog.get(id);
                let arch = archs.get(id.0 as usize).copied().unwrap_or_default();
                arch == Architecture::X86_64
                    && (t.gpus > 0) == (s.gpus > 0)
                    && (!spot || t.has_spot())
            })
            .collect();
        let (word, gpu_mem) = catalog_model(&s.model);
        let same: Vec<InstanceTypeId> = pool
            .iter()
            .copied()
            .filter(|&id| s.gpus == 0 || has_model(catalog.get(id), &word))
            .collect();
        let same_mem: Vec<InstanceTypeId> = same
            .iter()
            .copied()
            .filter(|&id| gpu_mem.is_none_or(|m| catalog.get(id).gpu_memory_mib == m))
            .collect();
        let (ids, kind) = if !same_mem.is_empty() {
            (same_mem, MatchKind::SameModel)
        } else if !same.is_empty() {
            (same, MatchKind::SameModel)
        } else {
            (pool, MatchKind::ClosestShape)
        };
        match closest(catalog, &ids, s) {
            Some(id) => out.push(ShapeMapping {
                shape: s.clone(),
                instance_type: id,
                kind,
            }),
            None => return Err(s.clone()),
        }
    }
    Ok(out)
}

/// One line per shape, e.g. `549 × 8xG2 96c 384GiB → g4dn.metal (96 vCPUs, 384 GiB, 8 ×
/// NVIDIA T4; closest shape)`.
pub fn describe_mapping(m: &[ShapeMapping], catalog: &Catalog) -> Vec<String> {
    m.iter()
        .map(|m| {
            let t = catalog.get(m.instance_type);
            let gpus = if t.gpus > 0 {
                format!(", {} × {}", t.gpus, t.gpu_model)
            } else {
                String::new()
            };
            let why = match m.kind {
                MatchKind::Override => "instance_types override",
                MatchKind::SameModel if m.shape.gpus == 0 => "closest CPU type",
                MatchKind::SameModel => "same GPU model",
                MatchKind::ClosestShape => "GPU model not in the catalog: closest shape",
            };
            format!(
                "{} × {} → {} ({} vCPUs, {} GiB{gpus}; {why})",
                m.shape.count,
                m.shape.label(),
                t.name,
                t.vcpus,
                t.memory_mib / 1024
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trace_models_name_catalog_models() {
        assert_eq!(catalog_model("V100M16"), ("V100".into(), Some(16384)));
        assert_eq!(catalog_model("V100M32"), ("V100".into(), Some(32768)));
        assert_eq!(catalog_model("A10"), ("A10G".into(), None));
        assert_eq!(catalog_model("T4"), ("T4".into(), None));
        assert_eq!(catalog_model("M"), ("M".into(), None));
        assert_eq!(catalog_model(""), ("".into(), None));
    }

    fn shape(gpus: u32, model: &str, vcpus: u32, gib: u32) -> NodeShape {
        NodeShape {
            vcpus,
            memory_mib: gib * 1024,
            gpus,
            model: model.into(),
            count: 3,
        }
    }

    #[test]
    fn models_map_to_their_families_and_spot_needs_an_offer() {
        let cat = crate::input::default_catalog(250, crate::model::SimDuration::ZERO);
        let archs = vec![Architecture::X86_64; cat.len()];
        let shapes = [
            shape(8, "A100", 96, 1152),
            shape(1, "H100M80", 16, 256),
            shape(1, "T4", 4, 16),
            shape(0, "", 2, 4),
        ];
        let name = |m: &ShapeMapping| cat.get(m.instance_type).name.clone();
        let none = BTreeMap::new();
        let m = map_shapes(&shapes, &cat, &archs, &none, false).unwrap();
        let names: Vec<String> = m.iter().map(name).collect();
        assert_eq!(
            names,
            ["p4d.24xlarge", "p5.4xlarge", "g4dn.xlarge", "c5.large"]
        );
        assert!(m[..3].iter().all(|m| m.kind == MatchKind::SameModel));
        // p5.4xlarge has no Spot offer in the catalog.
        let m = map_shapes(&shapes, &cat, &archs, &none, true).unwrap();
        assert_eq!(name(&m[1]), "p5.48xlarge");
        let mut over = BTreeMap::new();
        over.insert("cpu".to_string(), cat.find("m5.large").unwrap());
        let m = map_shapes(&shapes, &cat, &archs, &over, false).unwrap();
        assert_eq!(
            (name(&m[3]), m[3].kind),
            ("m5.large".into(), MatchKind::Override)
        );
        // With every type arm64, nothing is a candidate.
        let arm = vec![Architecture::Arm64; cat.len()];
        assert_eq!(
            map_shapes(&shapes, &cat, &arm, &none, false).unwrap_err(),
            shapes[0]
        );
    }
}
