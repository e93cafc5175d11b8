//! `--skip-bad-lines` for dependencies: rows whose `depends_on` cannot be linked are left
//! out of the trace, as a whole, before the sort links the rest.
//!
//! A row is unlinkable when a job it names is missing, ambiguous, itself, submitted later,
//! of the wrong shape for `N_TO_N` (see [`super::trace_deps`]), or was itself left out. The
//! last rule is why rows are checked in submit order: a job that waits for a skipped job
//! would otherwise run without its dependency, so it is skipped too and the skip cascades
//! down the graph. Every row left out is one counted line with its error.

use super::trace_deps::{link_row, seen_ids, sorted_positions, PendingDeps, Seen};
use super::{InputError, ReadOptions, SkippedLines};
use crate::scenario::TraceJob;
use std::path::Path;

/// Removes the rows of `jobs` (file order) whose dependencies cannot be linked, counting
/// each in `skipped`; returns the pending dependencies of the rows kept, renumbered.
pub(crate) fn drop_unlinkable(
    jobs: &mut Vec<TraceJob>,
    pending: Vec<PendingDeps>,
    file: &Path,
    opts: ReadOptions,
    skipped: &mut SkippedLines,
) -> Result<Vec<PendingDeps>, InputError> {
    if pending.is_empty() {
        return Ok(pending);
    }
    let pos = sorted_positions(jobs);
    let mut dropped = vec![false; jobs.len()];
    let mut any = false;
    {
        let seen = seen_ids(jobs, &pending);
        let mut by_submit: Vec<&PendingDeps> = pending.iter().collect();
        by_submit.sort_by_key(|p| pos[p.row as usize]);
        for p in by_submit {
            let gone = p.deps.iter().find(
                |d| matches!(seen.get(d.id.as_str()), Some(Seen::At(t)) if dropped[*t as usize]),
            );
            let result = match gone {
                Some(d) => Err(InputError::new(
                    file,
                    format!(
                        "job `{}` was skipped as a bad line, so this job is too",
                        d.id
                    ),
                )
                .at_line(p.line)
                .in_field("depends_on")),
                None => link_row(jobs, p, &seen, &pos, file).map(|_| ()),
            };
            if let Err(e) = result {
                skipped.handle(opts, e)?;
                dropped[p.row as usize] = true;
                any = true;
            }
        }
    }
    if !any {
        return Ok(pending);
    }
    // Renumber: row i becomes new[i] once the dropped rows are gone.
    let mut new = Vec::with_capacity(jobs.len());
    let mut next = 0u32;
    for &d in &dropped {
        new.push(next);
        next += u32::from(!d);
    }
    let mut i = 0;
    jobs.retain(|_| {
        i += 1;
        !dropped[i - 1]
    });
    Ok(pending
        .into_iter()
        .filter(|p| !dropped[p.row as usize])
        .map(|mut p| {
            p.row = new[p.row as usize];
            p
        })
        .collect())
}
