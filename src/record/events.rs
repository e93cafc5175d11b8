//! `events.jsonl`: every engine input and command of a run, one JSON object a line, in the
//! order the engine saw them. Written by hand (not serde) because a million-job run writes
//! several million lines; the format is flat and stable:
//! `{"t_ms":T,"input":"Kind",...}` or `{"t_ms":T,"command":"Kind",...}`.

use crate::driver::Observer;
use crate::engine::{Command, ExitCause, Input};
use crate::model::{Cluster, SimTime};
use std::io::{self, Write};

/// Writes `events.jsonl` lines to `W`; the first I/O error is kept and reported by
/// [`EventLog::finish`], later writes are skipped.
pub struct EventLog<W: Write> {
    sink: Sink<W>,
    queues: Vec<String>,
    ces: Vec<String>,
    types: Vec<String>,
}

struct Sink<W: Write> {
    out: W,
    error: Option<io::Error>,
    lines: u64,
}

impl<W: Write> Sink<W> {
    fn emit(&mut self, line: std::fmt::Arguments<'_>) {
        if self.error.is_none() {
            if let Err(e) = self.out.write_fmt(line) {
                self.error = Some(e);
            }
            self.lines += 1;
        }
    }
}

/// Appends `s` to `out` as a JSON string literal.
pub fn json_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

impl<W: Write> EventLog<W> {
    /// A log for a run of `cluster` written to `out`.
    pub fn new(cluster: &Cluster, out: W) -> Self {
        EventLog {
            sink: Sink {
                out,
                error: None,
                lines: 0,
            },
            queues: cluster.job_queues.iter().map(|q| q.name.clone()).collect(),
            ces: cluster
                .compute_environments
                .iter()
                .map(|c| c.name.clone())
                .collect(),
            types: cluster
                .catalog
                .types()
                .iter()
                .map(|t| t.name.clone())
                .collect(),
        }
    }

    /// Flushes and returns the writer, or the first error met.
    pub fn finish(self) -> io::Result<(W, u64)> {
        let mut sink = self.sink;
        if let Some(e) = sink.error.take() {
            return Err(e);
        }
        sink.out.flush()?;
        Ok((sink.out, sink.lines))
    }
}

impl<W: Write> Observer for EventLog<W> {
    fn input(&mut self, now: SimTime, input: &Input) {
        let t = now.0;
        match input {
            Input::JobSubmitted(s) => {
                let mut name = String::with_capacity(s.name.len() + 2);
                json_string(&mut name, &s.name);
                let q = &self.queues[s.queue.0 as usize];
                let line = format!(
                    "{{\"t_ms\":{t},\"input\":\"JobSubmitted\",\"jobName\":{name},\"jobQueue\":\"{q}\",\"vcpus\":{},\"memory\":{},\"gpus\":{},\"attempts\":{}}}\n",
                    s.vcpus, s.memory_mib, s.gpus, s.attempts
                );
                self.sink.emit(format_args!("{line}"));
            }
            Input::InstanceReady { instance } => self.sink.emit(format_args!(
                "{{\"t_ms\":{t},\"input\":\"InstanceReady\",\"instance\":\"{instance}\"}}\n"
            )),
            Input::LaunchFailed { instance, reason } => self.sink.emit(format_args!(
                "{{\"t_ms\":{t},\"input\":\"LaunchFailed\",\"instance\":\"{instance}\",\"reason\":\"{}\"}}\n",
                reason.as_str()
            )),
            Input::JobRunning { job, attempt } => self.sink.emit(format_args!(
                "{{\"t_ms\":{t},\"input\":\"JobRunning\",\"job\":{},\"attempt\":{attempt}}}\n",
                job.0
            )),
            Input::JobExited { job, attempt, exit_code, cause } => self.sink.emit(format_args!(
                "{{\"t_ms\":{t},\"input\":\"JobExited\",\"job\":{},\"attempt\":{attempt},\"exitCode\":{exit_code}{}}}\n",
                job.0,
                match cause {
                    ExitCause::Exited => "",
                    ExitCause::OutOfMemory => ",\"cause\":\"OutOfMemory\"",
                    ExitCause::CannotStart => ",\"cause\":\"CannotStart\"",
                }
            )),
            Input::SpotInterruptionNotice { instance } => self.sink.emit(format_args!(
                "{{\"t_ms\":{t},\"input\":\"SpotInterruptionNotice\",\"instance\":\"{instance}\"}}\n"
            )),
            Input::InstanceTerminated { instance } => self.sink.emit(format_args!(
                "{{\"t_ms\":{t},\"input\":\"InstanceTerminated\",\"instance\":\"{instance}\"}}\n"
            )),
            Input::SpotPriceChanged { instance_type, price_per_hour } => {
                let ty = &self.types[instance_type.0 as usize];
                self.sink.emit(format_args!(
                    "{{\"t_ms\":{t},\"input\":\"SpotPriceChanged\",\"instanceType\":\"{ty}\",\"price_micro_usd_per_hour\":{}}}\n",
                    price_per_hour.0
                ))
            }
            Input::CancelJobRequested { job } => self.sink.emit(format_args!(
                "{{\"t_ms\":{t},\"input\":\"CancelJobRequested\",\"job\":{}}}\n",
                job.0
            )),
            Input::TerminateJobRequested { job } => self.sink.emit(format_args!(
                "{{\"t_ms\":{t},\"input\":\"TerminateJobRequested\",\"job\":{}}}\n",
                job.0
            )),
            Input::Wakeup => self.sink.emit(format_args!("{{\"t_ms\":{t},\"input\":\"Wakeup\"}}\n")),
        }
    }

    fn command(&mut self, now: SimTime, command: &Command) {
        let t = now.0;
        match command {
            Command::LaunchInstance {
                instance,
                compute_environment,
                instance_type,
                market,
                max_price_per_hour,
            } => {
                let ce = &self.ces[compute_environment.0 as usize];
                let ty = &self.types[instance_type.0 as usize];
                let line = format!(
                    "{{\"t_ms\":{t},\"command\":\"LaunchInstance\",\"instance\":\"{instance}\",\"computeEnvironment\":\"{ce}\",\"instanceType\":\"{ty}\",\"market\":\"{market}\",\"max_price_micro_usd_per_hour\":{}}}\n",
                    max_price_per_hour.0
                );
                self.sink.emit(format_args!("{line}"));
            }
            Command::AdoptHost { instance, compute_environment, instance_type } => {
                let ce = &self.ces[compute_environment.0 as usize];
                let ty = &self.types[instance_type.0 as usize];
                self.sink.emit(format_args!(
                    "{{\"t_ms\":{t},\"command\":\"AdoptHost\",\"instance\":\"{instance}\",\"computeEnvironment\":\"{ce}\",\"host\":\"{ty}\"}}\n"
                ))
            }
            Command::TerminateInstance { instance } => self.sink.emit(format_args!(
                "{{\"t_ms\":{t},\"command\":\"TerminateInstance\",\"instance\":\"{instance}\"}}\n"
            )),
            Command::StopJob { job, instance, attempt, reason } => self.sink.emit(format_args!(
                "{{\"t_ms\":{t},\"command\":\"StopJob\",\"job\":{},\"instance\":\"{instance}\",\"attempt\":{attempt},\"reason\":\"{reason:?}\"}}\n",
                job.0
            )),
            Command::StartJob { job, instance, attempt, gpu_ids } => self.sink.emit(format_args!(
                "{{\"t_ms\":{t},\"command\":\"StartJob\",\"job\":{},\"instance\":\"{instance}\",\"attempt\":{attempt},\"gpuIds\":{gpu_ids:?}}}\n",
                job.0
            )),
        }
    }
}
