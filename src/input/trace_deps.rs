//! Sorting a trace by submit time and resolving `depends_on` job ids to trace indices.
//!
//! A dependency names the `job_id` of an earlier row, "earlier" meaning earlier after the
//! stable sort by submit time (an equal submit time further up the file counts as earlier).
//! So every dependency points backwards and cycles cannot form.

use super::trace_row::RawDep;
use super::InputError;
use crate::model::{DependencyType, JobDependency, JobId};
use crate::scenario::TraceJob;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::path::Path;

/// FNV-1a: a fast hash for the job id map (input files are not adversarial).
#[derive(Default)]
pub(crate) struct Fnv(u64);

impl Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut h = if self.0 == 0 {
            0xcbf2_9ce4_8422_2325
        } else {
            self.0
        };
        for &b in bytes {
            h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
        self.0 = h;
    }
}

/// The `depends_on` entries of one row, waiting for the sort.
pub(crate) struct PendingDeps {
    /// Index of the row in file order.
    pub(crate) row: u32,
    /// Its line, for errors.
    pub(crate) line: usize,
    /// The jobs it names.
    pub(crate) deps: Vec<RawDep>,
}

/// What a referenced job id stands for.
#[derive(Clone, Copy)]
pub(crate) enum Seen {
    /// On no row.
    Nowhere,
    /// On this row (file order).
    At(u32),
    /// On more than one row.
    Twice,
}

/// Sorts `jobs` (in file order) by submit time, keeping file order between equal times, and
/// fills `spec.depends_on` from `pending` with trace indices after the sort.
pub(crate) fn sort_and_link(
    jobs: &mut [TraceJob],
    pending: Vec<PendingDeps>,
    file: &Path,
) -> Result<(), InputError> {
    if pending.is_empty() {
        jobs.sort_by_key(|j| j.submit);
        return Ok(());
    }
    let (order, pos) = sort_order(jobs);
    let links = resolve(jobs, &pending, &pos, file)?;
    for (p, deps) in pending.iter().zip(links) {
        jobs[p.row as usize].spec.depends_on = deps;
    }
    permute(jobs, order);
    Ok(())
}

/// The dependencies of each pending row, as trace indices after the sort.
fn resolve(
    jobs: &[TraceJob],
    pending: &[PendingDeps],
    pos: &[u32],
    file: &Path,
) -> Result<Vec<Vec<JobDependency>>, InputError> {
    let seen = seen_ids(jobs, pending);
    pending
        .iter()
        .map(|p| link_row(jobs, p, &seen, pos, file))
        .collect()
}

/// Where each job id named in a `depends_on` is, by row in file order.
pub(crate) type SeenIds<'j> = HashMap<&'j str, Seen, BuildHasherDefault<Fnv>>;

/// Finds the rows of every job id that `pending` names.
pub(crate) fn seen_ids<'j>(jobs: &'j [TraceJob], pending: &'j [PendingDeps]) -> SeenIds<'j> {
    let mut seen: SeenIds = pending
        .iter()
        .flat_map(|p| p.deps.iter().map(|d| (d.id.as_str(), Seen::Nowhere)))
        .collect();
    for (i, j) in jobs.iter().enumerate() {
        if let Some(s) = seen.get_mut(j.spec.name.as_str()) {
            *s = match s {
                Seen::Nowhere => Seen::At(i as u32),
                _ => Seen::Twice,
            };
        }
    }
    seen
}

/// The dependencies of one pending row, as trace indices after the sort (`pos`: sorted
/// position of each row in file order).
pub(crate) fn link_row(
    jobs: &[TraceJob],
    p: &PendingDeps,
    seen: &SeenIds,
    pos: &[u32],
    file: &Path,
) -> Result<Vec<JobDependency>, InputError> {
    let err = |msg: String| {
        InputError::new(file, msg)
            .at_line(p.line)
            .in_field("depends_on")
    };
    let me = &jobs[p.row as usize];
    let mut deps = Vec::with_capacity(p.deps.len());
    for d in &p.deps {
        let id = d.id.as_str();
        let t = match seen.get(id).copied().unwrap_or(Seen::Nowhere) {
            Seen::Nowhere => return Err(err(format!("no job with id `{id}` in the trace"))),
            Seen::Twice => {
                return Err(err(format!(
                    "job id `{id}` is on more than one row, so the dependency is ambiguous"
                )))
            }
            Seen::At(t) => t,
        };
        if t == p.row {
            return Err(err(format!("job `{id}` cannot depend on itself")));
        }
        if pos[t as usize] > pos[p.row as usize] {
            return Err(err(format!(
                "job `{id}` is submitted after this job (or at the same time, further down \
                 the file); a job can only depend on jobs submitted before it"
            )));
        }
        let kind = if d.n_to_n {
            let target = &jobs[t as usize];
            match (me.spec.array, target.spec.array) {
                (Some(a), Some(b)) if a.size == b.size => DependencyType::NToN,
                (a, b) => {
                    let size = |x: Option<crate::model::ArrayProperties>| {
                        x.map_or("not an array job".to_string(), |x| {
                            format!("an array of {}", x.size)
                        })
                    };
                    return Err(err(format!(
                        "N_TO_N on job `{id}` needs two array jobs of the same size; this \
                         job is {}, `{id}` is {}",
                        size(a),
                        size(b)
                    )));
                }
            }
        } else {
            DependencyType::Standard
        };
        deps.push(JobDependency {
            job: JobId(pos[t as usize]),
            kind,
        });
    }
    Ok(deps)
}

/// Sorted position (stable sort by submit time) of each row in file order.
pub(crate) fn sorted_positions(jobs: &[TraceJob]) -> Vec<u32> {
    sort_order(jobs).1
}

/// The stable sort by submit time: the file rows in sorted order, and each file row's
/// sorted position.
fn sort_order(jobs: &[TraceJob]) -> (Vec<u32>, Vec<u32>) {
    let n = jobs.len();
    let mut order: Vec<u32> = (0..n as u32).collect();
    if !jobs.windows(2).all(|w| w[0].submit <= w[1].submit) {
        order.sort_by_key(|&i| jobs[i as usize].submit);
    }
    let mut pos = vec![0u32; n];
    for (k, &i) in order.iter().enumerate() {
        pos[i as usize] = k as u32;
    }
    (order, pos)
}

/// Reorders `jobs` in place so that position `k` holds the job that was at `order[k]`.
fn permute(jobs: &mut [TraceJob], mut order: Vec<u32>) {
    for start in 0..order.len() {
        if order[start] as usize == start {
            continue;
        }
        let mut k = start;
        loop {
            let src = order[k] as usize;
            order[k] = k as u32;
            if src == start {
                break;
            }
            jobs.swap(k, src);
            k = src;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{JobSpec, SimDuration, SimTime};

    fn job(name: &str, submit: u64) -> TraceJob {
        TraceJob {
            submit: SimTime(submit),
            spec: JobSpec {
                name: name.into(),
                ..JobSpec::default()
            },
            run_time: SimDuration::ZERO,
            exit_code: 0,
            cancel_at: None,
            terminate_at: None,
            submit_after: None,
        }
    }

    #[test]
    fn permutation_matches_a_stable_sort() {
        let submits = [5, 1, 5, 0, 3, 1, 9, 0];
        let mut jobs: Vec<TraceJob> = submits
            .iter()
            .enumerate()
            .map(|(i, &s)| job(&format!("j{i}"), s))
            .collect();
        let mut expected = jobs.clone();
        expected.sort_by_key(|j| j.submit);
        let mut order: Vec<u32> = (0..jobs.len() as u32).collect();
        order.sort_by_key(|&i| jobs[i as usize].submit);
        permute(&mut jobs, order);
        assert_eq!(jobs, expected);
    }
}
