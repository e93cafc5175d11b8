//! A trace (for instance one read from describe-jobs JSON) written in flotilla's trace CSV
//! format, with what the CSV cannot hold reported back.

use crate::model::{Cluster, DependencyType, SimDuration, SimTime};
use crate::scenario::TraceJob;
use std::collections::BTreeMap;
use std::io::{self, Write};

/// The columns written, in order.
const COLUMNS: [&str; 19] = [
    "job_id",
    "submit_time_s",
    "queue",
    "run_time_s",
    "vcpus",
    "memory_mib",
    "gpus",
    "exit_code",
    "attempts",
    "timeout_s",
    "job_definition",
    "array_size",
    "depends_on",
    "cancel_at_s",
    "terminate_at_s",
    "share_identifier",
    "scheduling_priority",
    "parameters",
    "command",
];

fn secs(ms: u64) -> String {
    format!("{}.{:03}", ms / 1000, ms % 1000)
}

fn at(t: Option<SimTime>) -> String {
    t.map_or_else(String::new, |t| secs(t.0))
}

fn dur(d: Option<SimDuration>) -> String {
    d.map_or_else(String::new, |d| secs(d.0))
}

/// Writes `jobs` (in trace order, `dependsOn` holding trace indices) as a trace CSV.
/// `job_definition` is written only for names in `known_definitions` (`name:revision`), the
/// job definitions the scenario has. Returns one line per kind of information the CSV could
/// not hold (empty when the CSV is faithful).
///
/// `job_id` is the job's name; a job that others depend on and whose name is not unique is
/// written as `name#index` (its trace index), so that `depends_on` names exactly it.
pub fn write_trace_csv<W: Write>(
    jobs: &[TraceJob],
    cluster: &Cluster,
    known_definitions: &[String],
    out: W,
) -> io::Result<Vec<String>> {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for j in jobs {
        *counts.entry(j.spec.name.as_str()).or_default() += 1;
    }
    let mut target = vec![false; jobs.len()];
    for j in jobs {
        for d in &j.spec.depends_on {
            if let Some(t) = target.get_mut(d.job.0 as usize) {
                *t = true;
            }
        }
    }
    let labels: Vec<String> = jobs
        .iter()
        .enumerate()
        .map(|(i, j)| {
            let unique = counts.get(j.spec.name.as_str()) == Some(&1);
            if unique || !target[i] {
                return j.spec.name.clone();
            }
            let mut label = format!("{}#{i}", j.spec.name);
            while counts.contains_key(label.as_str()) {
                label.push('_');
            }
            label
        })
        .collect();
    let mut lost = Lost::default();
    let mut w = csv::Writer::from_writer(out);
    w.write_record(COLUMNS).map_err(io::Error::other)?;
    for (i, j) in jobs.iter().enumerate() {
        let s = &j.spec;
        let mut deps: Vec<String> = s
            .depends_on
            .iter()
            .map(|d| {
                let name = labels.get(d.job.0 as usize).cloned().unwrap_or_default();
                match d.kind {
                    DependencyType::NToN => format!("{name}:N_TO_N"),
                    DependencyType::Standard => name,
                }
            })
            .collect();
        if s.array.is_some_and(|a| a.sequential) {
            deps.push("SEQUENTIAL".to_string());
        }
        let definition = if known_definitions.contains(&s.job_definition) {
            s.job_definition.clone()
        } else {
            String::new()
        };
        lost.check(j, !definition.is_empty());
        w.write_record([
            labels[i].clone(),
            secs(j.submit.0),
            cluster
                .job_queues
                .get(usize::from(s.queue.0))
                .map_or_else(String::new, |q| q.name.clone()),
            secs(j.run_time.0),
            s.vcpus.to_string(),
            s.memory_mib.to_string(),
            s.gpus.to_string(),
            j.exit_code.to_string(),
            s.attempts.to_string(),
            dur(s.timeout),
            definition,
            s.array.map_or_else(String::new, |a| a.size.to_string()),
            deps.join(";"),
            at(j.cancel_at),
            at(j.terminate_at),
            s.share_identifier.clone().unwrap_or_default(),
            if s.scheduling_priority > 0 {
                s.scheduling_priority.to_string()
            } else {
                String::new()
            },
            parameters(&s.parameters, &mut lost),
            command(&s.command, &mut lost),
        ])
        .map_err(io::Error::other)?;
    }
    w.flush()?;
    Ok(lost.report())
}

/// Counts of jobs whose information the CSV format cannot carry.
#[derive(Default)]
struct Lost {
    environment: usize,
    evaluate_on_exit: usize,
    node_properties: usize,
    parameters: usize,
    command: usize,
}

impl Lost {
    /// Environment, evaluateOnExit and nodeProperties have no column: they come from the
    /// job definition, and are lost when the row names none.
    fn check(&mut self, j: &TraceJob, has_definition: bool) {
        if has_definition {
            return;
        }
        self.environment += usize::from(!j.spec.environment.is_empty());
        self.evaluate_on_exit += usize::from(!j.spec.evaluate_on_exit.is_empty());
        self.node_properties += usize::from(j.spec.node_properties.is_some());
    }

    fn report(&self) -> Vec<String> {
        [
            (self.environment, "their environment variables"),
            (
                self.evaluate_on_exit,
                "their retryStrategy.evaluateOnExit rules",
            ),
            (
                self.node_properties,
                "their nodeProperties (multi-node jobs)",
            ),
            (
                self.parameters,
                "parameters with `;` or `=` in a name or value",
            ),
            (
                self.command,
                "command arguments that are empty or contain spaces",
            ),
        ]
        .into_iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, what)| format!("{n} job(s) lose {what} in the CSV trace"))
        .collect()
    }
}

/// `k=v;k2=v2`, or empty (and counted as lost) when a name or value cannot be written so.
fn parameters(p: &[(String, String)], lost: &mut Lost) -> String {
    let bad = |s: &str| s.contains([';', '\n', '\r']) || s.trim() != s;
    if p.iter()
        .any(|(k, v)| k.is_empty() || k.contains('=') || bad(k) || bad(v))
    {
        lost.parameters += 1;
        return String::new();
    }
    let items: Vec<String> = p.iter().map(|(k, v)| format!("{k}={v}")).collect();
    items.join(";")
}

/// Arguments joined by spaces, or empty (and counted as lost) when an argument is empty or
/// holds white space.
fn command(c: &[String], lost: &mut Lost) -> String {
    if c.iter()
        .any(|a| a.is_empty() || a.contains(char::is_whitespace))
    {
        lost.command += 1;
        return String::new();
    }
    c.join(" ")
}
