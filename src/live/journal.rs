//! The run's append-only journal, `journal.jsonl`: a header naming what was run and on which
//! hosts, then every input the engine was given, in order, each line flushed to disk before
//! the engine's resulting commands are carried out.
//!
//! Why this is enough to resume: the engine is deterministic, so feeding a fresh engine the
//! journaled inputs rebuilds exactly the state the killed driver had, including every
//! StartJob it may have carried out. Container names are `flotilla-<run>-<job>-<attempt>`,
//! so a resumed driver finds each started attempt by name (and by its labels) and never
//! creates one twice. An input that was not journaled was never acted upon.

use crate::engine::Input;
use crate::model::SimTime;
use serde::{Deserialize, Serialize};
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

/// The journal's file name inside the run folder.
pub const JOURNAL: &str = "journal.jsonl";

/// The first line: what the run is.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Header {
    /// Run id (in container names and labels).
    pub run: String,
    /// The scenario file, absolute.
    pub scenario: PathBuf,
    /// The trace given on the command line, if any, absolute.
    pub trace: Option<PathBuf>,
    /// The hosts file, absolute.
    pub hosts: PathBuf,
    /// Wall-clock time of engine time 0, Unix milliseconds.
    pub origin_unix_ms: u64,
    /// The hosts as probed at the start; a resumed run reuses them so the engine sees the
    /// same cluster.
    pub probed: Vec<ProbedHost>,
    /// `--image`: the image of jobs whose definition names none.
    #[serde(default)]
    pub default_image: Option<String>,
}

/// A host as probed at the start of a run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProbedHost {
    /// Its compute environment.
    pub compute_environment: String,
    /// Its name.
    pub name: String,
    /// vCPUs offered (after caps).
    pub vcpus: u32,
    /// Memory offered, MiB (after caps).
    pub memory_mib: u32,
    /// GPU device ids, in the engine's device-index order.
    pub gpu_devices: Vec<String>,
}

#[derive(Serialize, Deserialize)]
struct Entry {
    t: u64,
    input: Input,
}

/// An open journal.
pub struct Journal {
    file: File,
}

impl Journal {
    /// Creates `dir/journal.jsonl` with its header; refuses to overwrite one.
    pub fn create(dir: &Path, header: &Header) -> std::io::Result<Journal> {
        let path = dir.join(JOURNAL);
        let file = OpenOptions::new()
            .create_new(true)
            .append(true)
            .open(&path)?;
        let mut j = Journal { file };
        j.line(&serde_json::to_string(header).map_err(std::io::Error::other)?)?;
        j.sync()?;
        Ok(j)
    }

    /// Reopens a journal for appending after [`read`].
    pub fn reopen(dir: &Path) -> std::io::Result<Journal> {
        let path = dir.join(JOURNAL);
        let file = OpenOptions::new().append(true).open(&path)?;
        Ok(Journal { file })
    }

    /// Appends one input (written, not yet synced: call [`Journal::sync`] before acting).
    pub fn input(&mut self, t: SimTime, input: &Input) -> std::io::Result<()> {
        let e = Entry {
            t: t.0,
            input: input.clone(),
        };
        self.line(&serde_json::to_string(&e).map_err(std::io::Error::other)?)
    }

    /// Forces what was appended to disk.
    pub fn sync(&mut self) -> std::io::Result<()> {
        self.file.flush()?;
        self.file.sync_data()
    }

    fn line(&mut self, s: &str) -> std::io::Result<()> {
        // One write per line: a kill leaves at most a torn last line, which `read` drops.
        let mut buf = String::with_capacity(s.len() + 1);
        buf.push_str(s);
        buf.push('\n');
        self.file.write_all(buf.as_bytes())
    }
}

/// Reads a journal: its header and its inputs. A torn last line (the driver killed while
/// writing it) is cut off the file: its input was never acted upon.
pub fn read(dir: &Path) -> anyhow::Result<(Header, Vec<(SimTime, Input)>)> {
    let path = dir.join(JOURNAL);
    // Bytes, not text: a torn last line may end inside a UTF-8 character.
    let text = std::fs::read(&path)
        .map_err(|e| anyhow::anyhow!("{}: {e} (is this a live run folder?)", path.display()))?;
    let mut lines = text.split_inclusive(|&b| b == b'\n');
    let first = lines
        .next()
        .ok_or_else(|| anyhow::anyhow!("{}: empty journal", path.display()))?;
    let header: Header = serde_json::from_slice(first)
        .map_err(|e| anyhow::anyhow!("{}:1: bad header: {e}", path.display()))?;
    let mut inputs = Vec::new();
    let mut good = first.len();
    for (i, l) in lines.enumerate() {
        match serde_json::from_slice::<Entry>(l) {
            Ok(e) if l.ends_with(b"\n") => inputs.push((SimTime(e.t), e.input)),
            _ if good + l.len() == text.len() => {
                truncate(&path, good)?;
                break;
            }
            Ok(_) => unreachable!("only the last line can lack its newline"),
            Err(e) => anyhow::bail!("{}:{}: {e}", path.display(), i + 2),
        }
        good += l.len();
    }
    Ok((header, inputs))
}

fn truncate(path: &Path, len: usize) -> std::io::Result<()> {
    let f = OpenOptions::new().write(true).open(path)?;
    f.set_len(len as u64)?;
    f.sync_data()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_torn_last_line_is_dropped_and_cut_off() {
        let dir = std::env::temp_dir().join(format!("flt-journal-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let header = Header {
            run: "r".into(),
            scenario: "s.toml".into(),
            trace: None,
            hosts: "h.toml".into(),
            origin_unix_ms: 1,
            probed: Vec::new(),
            default_image: None,
        };
        let mut j = Journal::create(&dir, &header).unwrap();
        j.input(SimTime(5), &Input::Wakeup).unwrap();
        j.sync().unwrap();
        drop(j);
        let p = dir.join(JOURNAL);
        let full = std::fs::read_to_string(&p).unwrap();
        let mut torn = format!("{full}{{\"t\":9,\"input\":\"é").into_bytes();
        torn.pop(); // half of `é`
        std::fs::write(&p, torn).unwrap();
        let (h, inputs) = read(&dir).unwrap();
        assert_eq!(h, header);
        assert_eq!(inputs, vec![(SimTime(5), Input::Wakeup)]);
        assert_eq!(
            std::fs::read_to_string(&p).unwrap(),
            full,
            "torn line cut off"
        );
        assert!(Journal::create(&dir, &header).is_err(), "never overwritten");
        std::fs::write(&p, format!("{full}garbage\n{full}")).unwrap();
        let e = read(&dir).unwrap_err().to_string();
        assert!(e.contains("journal.jsonl:3"), "{e}");
    }
}
