//! Instance type architectures, and the scenario's `[catalog_filter]`: which types of a
//! (possibly large) catalog the compute environments may use.
//!
//! ```toml
//! [catalog_filter]                 # every criterion given must hold; absent = no limit
//! families = ["g4dn", "m6i"]      # exact family names
//! sizes = ["xlarge", "2xlarge"]   # the part of the name after the `.`
//! gpu_models = ["T4", "none"]     # a word of the type's gpu_model (any case); "none" keeps
//!                                 # types without GPUs (otherwise a list drops them)
//! architectures = ["x86_64"]      # x86_64 or arm64
//! min_vcpus = 2                   # inclusive bounds on vCPUs
//! max_vcpus = 64
//! ```
//!
//! The filtered catalog replaces the catalog for the whole scenario: compute environments,
//! `[spot]` capacity and price series, and the Alibaba fleet mapping see only the kept types.
//! An `instanceTypes` entry that names a type or family of the catalog which the filter
//! removed entirely is an error naming that entry and the filter. Each listed value must
//! match at least one type of the unfiltered catalog (a typo is an error, not an empty
//! catalog), and a filter that keeps nothing is an error.
//!
//! **Architecture** comes from the catalog's optional `architecture` column (`x86_64` or
//! `arm64`); without it, from the family name: Graviton families have a `g` right after the
//! generation digits (`m6g`, `c7gn`, `r6gd`, `x2gd`, `im4gn`, `is4gen`, `g5g`, `hpc7g`) or are
//! `a1`; all others are x86_64 (`g4dn`: `g` is the class letter before the digit).

use super::tomlerr::Ctx;
use super::wire::WireCe;
use super::InputError;
use crate::model::{Catalog, InstanceType};
use serde::Deserialize;
use toml::Spanned;

/// An instance type's CPU architecture.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub enum Architecture {
    /// Intel and AMD.
    #[default]
    X86_64,
    /// AWS Graviton.
    Arm64,
}

impl Architecture {
    /// Parses `x86_64` or `arm64`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "x86_64" => Some(Architecture::X86_64),
            "arm64" => Some(Architecture::Arm64),
            _ => None,
        }
    }

    /// The architecture of a family by the naming rule (see the module docs).
    pub fn of_family(family: &str) -> Self {
        if family == "a1" {
            return Architecture::Arm64;
        }
        let b = family.as_bytes();
        let Some(d) = b.iter().position(u8::is_ascii_digit) else {
            return Architecture::X86_64;
        };
        let after = b[d..].iter().position(|c| !c.is_ascii_digit());
        match after.and_then(|a| b.get(d + a)) {
            Some(b'g') if d > 0 => Architecture::Arm64,
            _ => Architecture::X86_64,
        }
    }
}

/// `[catalog_filter]` as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct WireCatalogFilter {
    families: Option<Spanned<Vec<Spanned<String>>>>,
    sizes: Option<Spanned<Vec<Spanned<String>>>>,
    gpu_models: Option<Spanned<Vec<Spanned<String>>>>,
    architectures: Option<Spanned<Vec<Spanned<String>>>>,
    min_vcpus: Option<Spanned<i64>>,
    max_vcpus: Option<Spanned<i64>>,
}

fn size_of(t: &InstanceType) -> &str {
    t.name.split_once('.').map_or("", |(_, s)| s)
}

fn gpu_ok(t: &InstanceType, m: &str) -> bool {
    if m.eq_ignore_ascii_case("none") {
        return t.gpus == 0;
    }
    t.gpus > 0
        && t.gpu_model
            .split_whitespace()
            .any(|w| w.eq_ignore_ascii_case(m))
}

type Test = fn(&InstanceType, Architecture, &str) -> bool;

/// A list of values as written.
type List = Spanned<Vec<Spanned<String>>>;

/// One list criterion: field name, what it tests.
fn list_criteria(f: &WireCatalogFilter) -> [(&'static str, Option<&List>, Test); 4] {
    [
        ("families", f.families.as_ref(), |t, _, v| t.family == v),
        ("sizes", f.sizes.as_ref(), |t, _, v| size_of(t) == v),
        ("gpu_models", f.gpu_models.as_ref(), |t, _, v| gpu_ok(t, v)),
        ("architectures", f.architectures.as_ref(), |_, a, v| {
            Architecture::parse(v) == Some(a)
        }),
    ]
}

/// Applies a filter: the kept types (in catalog order) and their architectures.
pub(crate) fn apply(
    ctx: &Ctx,
    filter: &Spanned<WireCatalogFilter>,
    catalog: &Catalog,
    archs: &[Architecture],
) -> Result<(Catalog, Vec<Architecture>), InputError> {
    let f = filter.get_ref();
    let arch = |i: usize| archs.get(i).copied().unwrap_or_default();
    let criteria = list_criteria(f);
    for (name, list, test) in &criteria {
        let Some(list) = list else { continue };
        for (j, v) in list.get_ref().iter().enumerate() {
            let field = format!("catalog_filter.{name}[{j}]");
            if *name == "architectures" && Architecture::parse(v.get_ref()).is_none() {
                let msg = format!("expected x86_64 or arm64, got `{}`", v.get_ref());
                return Err(ctx.err(v.span(), field, msg));
            }
            let any = catalog
                .types()
                .iter()
                .enumerate()
                .any(|(i, t)| test(t, arch(i), v.get_ref()));
            if !any {
                let msg = format!("`{}` matches no instance type of the catalog", v.get_ref());
                return Err(ctx.err(v.span(), field, msg));
            }
        }
    }
    let vcpus = "a whole number of vCPUs ≥ 0";
    let min = match &f.min_vcpus {
        Some(v) => ctx.uint(v, "catalog_filter.min_vcpus", 0, u32::MAX, vcpus)?,
        None => 0,
    };
    let max = match &f.max_vcpus {
        Some(v) => ctx.uint(v, "catalog_filter.max_vcpus", 0, u32::MAX, vcpus)?,
        None => u32::MAX,
    };
    let (mut types, mut kept_archs) = (Vec::new(), Vec::new());
    for (i, t) in catalog.types().iter().enumerate() {
        let listed = criteria.iter().all(|(_, list, test)| {
            list.is_none_or(|l| l.get_ref().iter().any(|v| test(t, arch(i), v.get_ref())))
        });
        if listed && (min..=max).contains(&t.vcpus) {
            types.push(t.clone());
            kept_archs.push(arch(i));
        }
    }
    if types.is_empty() {
        let msg = "the filter keeps no instance type of the catalog";
        return Err(ctx.err(filter.span(), "catalog_filter", msg));
    }
    Ok((Catalog::new(types), kept_archs))
}

/// Checks that no `instanceTypes` entry names only types the filter removed (`full` is the
/// catalog before filtering, `kept` after), so the error can say why.
pub(crate) fn check_selectors(
    ctx: &Ctx,
    wires: &[Spanned<WireCe>],
    full: &Catalog,
    kept: &Catalog,
) -> Result<(), InputError> {
    for (i, w) in wires.iter().enumerate() {
        let Some(res) = &w.get_ref().resources else {
            continue;
        };
        for (j, sel) in res.get_ref().instance_types.get_ref().iter().enumerate() {
            let s = sel.get_ref().trim();
            if kept.resolve_selector(s).is_empty() && !full.resolve_selector(s).is_empty() {
                let field =
                    format!("compute_environments[{i}].computeResources.instanceTypes[{j}]");
                let msg = format!(
                    "`{s}` is in the catalog, but [catalog_filter] removes every type it \
                     names; widen the filter or drop the entry"
                );
                return Err(ctx.err(sel.span(), field, msg));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn graviton_families_are_arm64() {
        for f in [
            "m6g", "c7gn", "r6gd", "x2gd", "im4gn", "is4gen", "g5g", "hpc7g", "a1", "t4g",
        ] {
            assert_eq!(Architecture::of_family(f), Architecture::Arm64, "{f}");
        }
        for f in [
            "g4dn", "g5", "p3dn", "m5", "c6i", "r5", "x2iedn", "inf1", "m", "", "7g",
        ] {
            assert_eq!(Architecture::of_family(f), Architecture::X86_64, "{f}");
        }
    }
}
