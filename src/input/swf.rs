//! The Standard Workload Format (SWF) of the Parallel Workloads Archive (Feitelson et al.):
//! a streaming reader of its lines. What a scenario makes of the jobs is in
//! [`super::swf_jobs`] (the `[swf]` section, modelling choices) and
//! [`super::swf_cluster`] (the machine the log came from); user documentation: `docs/swf.md`.
//!
//! # Format
//!
//! One job per line, 18 fields separated by white space, `-1` (any negative value) meaning
//! unknown:
//!
//! | # | field | unit |
//! |---|---|---|
//! | 1 | job number | ≥ 1 |
//! | 2 | submit time | seconds from the log's start, ≥ 0 (required) |
//! | 3 | wait time | seconds |
//! | 4 | run time | seconds (wall clock) |
//! | 5 | allocated processors | |
//! | 6 | average CPU time | seconds (may be decimal) |
//! | 7 | used memory | KB **per processor** |
//! | 8 | requested processors | |
//! | 9 | requested time | seconds |
//! | 10 | requested memory | KB per processor |
//! | 11 | status | 1 completed, 0 failed, 5 cancelled, 2/3/4 partial executions (checkpoint, swap) |
//! | 12 | user | number |
//! | 13 | group | number |
//! | 14 | executable | number |
//! | 15 | queue | number |
//! | 16 | partition | number |
//! | 17 | preceding job | job number |
//! | 18 | think time | seconds from the preceding job's end to this submission |
//!
//! Every field is read as a decimal number (`1.5e3` too); fields the replay uses as counts
//! (processors, status, numbers) must be whole. A line with another field count or a field
//! that is not a number is an error naming the file, line and field (or, with
//! `--skip-bad-lines`, skipped and counted). Blank lines are ignored.
//!
//! Header lines start with `;`: `; Key: value`. `MaxProcs`, `MaxNodes` and `UnixStartTime`
//! are parsed (whole numbers ≥ 0, else an error naming the key); `Queue:` / `Partition:`
//! lines (`; Queue: 1 batch`) fill number → description maps; every other key is kept as
//! text (a repeated key's values joined by newlines). A `;` line without `Key:` is a
//! comment. Header lines may appear anywhere, though the archive puts them first.
//!
//! # Compression
//!
//! A file whose first two bytes are gzip's magic (`1f 8b`), whatever its name, is read
//! through a gzip decoder (`flate2`, pure Rust), still line by line: nothing holds the whole
//! file.

use super::InputError;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

/// The 18 fields' names, as errors name them.
pub const FIELDS: [&str; 18] = [
    "job number",
    "submit time",
    "wait time",
    "run time",
    "allocated processors",
    "average CPU time",
    "used memory",
    "requested processors",
    "requested time",
    "requested memory",
    "status",
    "user",
    "group",
    "executable",
    "queue",
    "partition",
    "preceding job",
    "think time",
];

/// Fields that must be whole numbers (indices into [`FIELDS`]).
const WHOLE: [usize; 10] = [0, 4, 7, 10, 11, 12, 13, 14, 15, 16];

/// One SWF job line. `None` = unknown (`-1` or any negative value).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct SwfRecord {
    /// The line's 1-based number in its file.
    pub line: usize,
    /// Field 1.
    pub job: Option<u64>,
    /// Field 2, seconds (always known: a line without it is an error).
    pub submit: f64,
    /// Field 3, seconds.
    pub wait: Option<f64>,
    /// Field 4, seconds.
    pub run: Option<f64>,
    /// Field 5.
    pub allocated_processors: Option<u64>,
    /// Field 7, KB per processor.
    pub used_memory_kb: Option<f64>,
    /// Field 8.
    pub requested_processors: Option<u64>,
    /// Field 9, seconds.
    pub requested_time: Option<f64>,
    /// Field 10, KB per processor.
    pub requested_memory_kb: Option<f64>,
    /// Field 11.
    pub status: Option<u64>,
    /// Field 12.
    pub user: Option<u64>,
    /// Field 13.
    pub group: Option<u64>,
    /// Field 15.
    pub queue: Option<u64>,
    /// Field 16.
    pub partition: Option<u64>,
    /// Field 17.
    pub preceding_job: Option<u64>,
    /// Field 18, seconds.
    pub think_time: Option<f64>,
}

/// What the header lines said.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SwfHeader {
    /// `MaxProcs`: processors of the machine.
    pub max_procs: Option<u64>,
    /// `MaxNodes`: nodes of the machine.
    pub max_nodes: Option<u64>,
    /// `UnixStartTime`: the log's time 0, Unix seconds.
    pub unix_start_time: Option<u64>,
    /// `Queue:` lines: number → description.
    pub queues: BTreeMap<u64, String>,
    /// `Partition:` lines: number → description.
    pub partitions: BTreeMap<u64, String>,
    /// Every other `Key: value`, repeated keys' values joined by newlines.
    pub other: BTreeMap<String, String>,
}

/// Whether a path names an SWF file by its extension (`.swf`, `.swf.gz`, any case).
pub fn is_swf_path(path: &Path) -> bool {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    name.ends_with(".swf") || name.ends_with(".swf.gz")
}

/// Opens a file for line reading, through a gzip decoder when it starts with gzip's magic.
pub fn open(path: &Path) -> Result<Box<dyn BufRead>, InputError> {
    let f = std::fs::File::open(path).map_err(|e| InputError::unreadable(path, &e))?;
    decompressing(BufReader::with_capacity(1 << 16, f))
        .map_err(|e| InputError::unreadable(path, &e))
}

/// Wraps a buffered reader in a gzip decoder when its first bytes are gzip's magic.
pub fn decompressing<'a, R: BufRead + 'a>(mut r: R) -> std::io::Result<Box<dyn BufRead + 'a>> {
    let head = r.fill_buf()?;
    if head.starts_with(&[0x1f, 0x8b]) {
        let gz = flate2::bufread::MultiGzDecoder::new(r);
        Ok(Box::new(BufReader::with_capacity(1 << 16, gz)))
    } else {
        Ok(Box::new(r))
    }
}

/// Reads an SWF stream line by line: header lines update [`SwfReader::header`], job lines
/// come back as records.
pub struct SwfReader<R> {
    input: R,
    file: PathBuf,
    line: usize,
    buf: Vec<u8>,
    /// The header lines read so far.
    pub header: SwfHeader,
    /// The last `Key:` seen, so that indented continuation lines extend it.
    last_key: Option<String>,
    /// Whether the last error came from a header line or the stream itself.
    header_error: bool,
    /// The stream failed (I/O, decompression): nothing more comes.
    failed: bool,
}

impl<R: BufRead> SwfReader<R> {
    /// A reader of `input`, which came from `file` (for messages).
    pub fn new(input: R, file: &Path) -> Self {
        SwfReader {
            input,
            file: file.to_path_buf(),
            line: 0,
            buf: Vec::with_capacity(256),
            header: SwfHeader::default(),
            last_key: None,
            header_error: false,
            failed: false,
        }
    }

    /// The next job line: `None` at the end, an error for a line that cannot be read or
    /// parsed (the reader can go on after it).
    pub fn next_record(&mut self) -> Option<Result<SwfRecord, InputError>> {
        if self.failed {
            return None;
        }
        loop {
            self.buf.clear();
            match self.input.read_until(b'\n', &mut self.buf) {
                Ok(0) => return None,
                Ok(_) => {}
                Err(e) => {
                    // An I/O or decompression error ends the stream: reading on cannot help.
                    let e = InputError::unreadable(&self.file, &e).at_line(self.line + 1);
                    self.failed = true;
                    self.header_error = true;
                    return Some(Err(e));
                }
            }
            self.line = self.line.saturating_add(1);
            let text = trim(&self.buf);
            if text.is_empty() {
                continue;
            }
            if text[0] == b';' {
                let text = text[1..].to_vec();
                match self.header_line(&text) {
                    Ok(()) => continue,
                    Err(e) => {
                        self.header_error = true;
                        return Some(Err(e));
                    }
                }
            }
            self.header_error = false;
            let line = self.line;
            let parsed = parse_record(text, line);
            return Some(parsed.map_err(|(field, msg)| {
                let e = InputError::new(&self.file, msg).at_line(line);
                match field {
                    Some(f) => e.in_field(f),
                    None => e,
                }
            }));
        }
    }

    /// Reads header lines up to the first job line (read and dropped): what cluster building
    /// needs, without reading the jobs.
    pub fn read_header(mut self) -> Result<SwfHeader, InputError> {
        match self.next_record() {
            Some(Err(e)) if self.header_error => Err(e),
            // A bad job line ends the header too; the trace reader reports it.
            _ => Ok(self.header),
        }
    }

    fn header_line(&mut self, text: &[u8]) -> Result<(), InputError> {
        let text = String::from_utf8_lossy(text);
        // `;       more text` (indented) continues the last key's value.
        if text.starts_with("  ") {
            if let Some(k) = &self.last_key {
                let v = self.header.other.entry(k.clone()).or_default();
                v.push('\n');
                v.push_str(text.trim());
            }
            return Ok(());
        }
        let pair = text
            .split_once(':')
            .map(|(k, v)| (k.trim(), v.trim()))
            .filter(|(k, _)| !k.is_empty() && !k.contains(char::is_whitespace));
        let Some((key, value)) = pair else {
            // A bare `;` or free text: a comment, which ends any continuation.
            self.last_key = None;
            return Ok(());
        };
        let err = |what: &str| {
            InputError::new(&self.file, format!("expected {what}, got `{value}`"))
                .at_line(self.line)
                .in_field(key.to_string())
        };
        match key {
            "MaxProcs" => {
                self.header.max_procs =
                    Some(whole(value).ok_or_else(|| err("a whole number of processors"))?)
            }
            "MaxNodes" => {
                self.header.max_nodes =
                    Some(whole(value).ok_or_else(|| err("a whole number of nodes"))?)
            }
            "UnixStartTime" => {
                self.header.unix_start_time =
                    Some(whole(value).ok_or_else(|| err("Unix seconds ≥ 0"))?)
            }
            "Queue" | "Partition" => {
                let (num, desc) = value.split_once(char::is_whitespace).unwrap_or((value, ""));
                let n = whole(num).ok_or_else(|| err("a number then a description"))?;
                let map = if key == "Queue" {
                    &mut self.header.queues
                } else {
                    &mut self.header.partitions
                };
                map.insert(n, desc.trim().to_string());
            }
            _ => {
                let v = self.header.other.entry(key.to_string()).or_default();
                if !v.is_empty() {
                    v.push('\n');
                }
                v.push_str(value);
            }
        }
        self.last_key = Some(key.to_string());
        Ok(())
    }
}

fn trim(b: &[u8]) -> &[u8] {
    let start = b
        .iter()
        .position(|c| !c.is_ascii_whitespace())
        .unwrap_or(b.len());
    let end = b
        .iter()
        .rposition(|c| !c.is_ascii_whitespace())
        .map_or(start, |e| e + 1);
    &b[start..end]
}

fn whole(s: &str) -> Option<u64> {
    s.trim().parse::<u64>().ok()
}

/// Parses one job line into a record; the error names the field (when one is at fault).
fn parse_record(text: &[u8], line: usize) -> Result<SwfRecord, (Option<&'static str>, String)> {
    let mut v = [0f64; 18];
    let mut n = 0;
    for word in text
        .split(|c| c.is_ascii_whitespace())
        .filter(|w| !w.is_empty())
    {
        if n == 18 {
            n += 1;
            break;
        }
        let s = std::str::from_utf8(word).unwrap_or("");
        match s.parse::<f64>() {
            Ok(x) if x.is_finite() => v[n] = x,
            _ => {
                let shown = String::from_utf8_lossy(&word[..word.len().min(40)]).into_owned();
                return Err((Some(FIELDS[n]), format!("expected a number, got `{shown}`")));
            }
        }
        n += 1;
    }
    if n != 18 {
        // Name the first missing field, or the last one when there are too many.
        let (field, got) = match n {
            19 => (FIELDS[17], "more".to_string()),
            _ => (FIELDS[n], n.to_string()),
        };
        let msg = format!("expected 18 fields separated by white space, got {got}");
        return Err((Some(field), msg));
    }
    for &i in &WHOLE {
        if v[i] >= 0.0 && (v[i].fract() != 0.0 || v[i] > 9.0e15) {
            return Err((
                Some(FIELDS[i]),
                format!("expected a whole number, got {}", v[i]),
            ));
        }
    }
    if v[1] < 0.0 {
        return Err((
            Some(FIELDS[1]),
            format!("expected seconds ≥ 0, got {}", v[1]),
        ));
    }
    let known = |x: f64| (x >= 0.0).then_some(x);
    let count = |x: f64| (x >= 0.0).then_some(x as u64);
    Ok(SwfRecord {
        line,
        job: count(v[0]),
        submit: v[1],
        wait: known(v[2]),
        run: known(v[3]),
        allocated_processors: count(v[4]),
        used_memory_kb: known(v[6]),
        requested_processors: count(v[7]),
        requested_time: known(v[8]),
        requested_memory_kb: known(v[9]),
        status: count(v[10]),
        user: count(v[11]),
        group: count(v[12]),
        queue: count(v[14]),
        partition: count(v[15]),
        preceding_job: count(v[16]),
        think_time: known(v[17]),
    })
}

/// Checks a bare SWF file by streaming it (no job list in memory) and describes it in one
/// line: jobs, machine size, submit time span and the statuses met.
pub fn describe<R: BufRead>(
    input: R,
    file: &Path,
    opts: super::ReadOptions,
) -> Result<String, InputError> {
    let mut r = SwfReader::new(input, file);
    let mut skipped = super::SkippedLines::default();
    let (mut jobs, mut first, mut last) = (0u64, f64::INFINITY, 0f64);
    let mut statuses: BTreeMap<i64, u64> = BTreeMap::new();
    let mut widest = 0u64;
    while let Some(rec) = r.next_record() {
        match rec {
            Ok(rec) => {
                jobs += 1;
                first = first.min(rec.submit);
                last = last.max(rec.submit);
                *statuses
                    .entry(rec.status.map_or(-1, |s| s as i64))
                    .or_default() += 1;
                let p = rec.allocated_processors.max(rec.requested_processors);
                widest = widest.max(p.unwrap_or(0));
            }
            Err(e) => skipped.handle(opts, e)?,
        }
    }
    let h = &r.header;
    let procs = match (h.max_procs, h.max_nodes) {
        (Some(p), _) => format!("MaxProcs {p}"),
        (None, Some(n)) => format!("MaxNodes {n} (no MaxProcs)"),
        (None, None) => "no MaxProcs or MaxNodes".to_string(),
    };
    let span = if jobs == 0 { 0.0 } else { last - first };
    let st: Vec<String> = statuses.iter().map(|(s, n)| format!("{s}: {n}")).collect();
    let mut s = format!(
        "SWF: {jobs} jobs, {procs}, widest job {widest} processors, submitted from {first:.0} s to {last:.0} s ({:.1} days), status counts {{{}}}",
        span / 86_400.0,
        st.join(", "),
        first = if jobs == 0 { 0.0 } else { first },
    );
    if let Some(t) = h.unix_start_time {
        s.push_str(&format!(", UnixStartTime {t}"));
    }
    if skipped.count > 0 {
        s.push_str(&format!(", {} bad lines skipped", skipped.count));
    }
    Ok(s)
}

/// Reads everything a `Read` gives (plain or gzip) as SWF and describes it (`validate`,
/// fuzzing).
pub fn describe_read<R: Read>(input: R, file: &Path) -> Result<String, InputError> {
    let r = decompressing(BufReader::new(input)).map_err(|e| InputError::unreadable(file, &e))?;
    describe(r, file, super::ReadOptions::default())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn records(text: &str) -> (Vec<Result<SwfRecord, InputError>>, SwfHeader) {
        let mut r = SwfReader::new(text.as_bytes(), Path::new("t.swf"));
        let mut out = Vec::new();
        while let Some(x) = r.next_record() {
            out.push(x);
        }
        (out, r.header)
    }

    #[test]
    fn header_keys_are_parsed_and_kept() {
        let text = "; Version: 2.2\n; MaxProcs: 64\n; MaxNodes: 32\n; UnixStartTime: 99\n\
                    ; Queue: 3 long jobs\n; Partition: 1 DEFAULT\n; Note: one\n;       two\n\
                    ;\n; free text\n";
        let (recs, h) = records(text);
        assert!(recs.is_empty());
        assert_eq!(
            (h.max_procs, h.max_nodes, h.unix_start_time),
            (Some(64), Some(32), Some(99))
        );
        assert_eq!(h.queues.get(&3).map(String::as_str), Some("long jobs"));
        assert_eq!(h.partitions.get(&1).map(String::as_str), Some("DEFAULT"));
        assert_eq!(h.other.get("Version").map(String::as_str), Some("2.2"));
        assert_eq!(h.other.get("Note").map(String::as_str), Some("one\ntwo"));
    }

    #[test]
    fn a_bad_header_value_names_its_key_and_line() {
        let (recs, _) = records("; Version: 2\n; MaxProcs: many\n");
        let e = recs[0].clone().unwrap_err();
        assert_eq!((e.line, e.field.as_deref()), (Some(2), Some("MaxProcs")));
        assert!(e.message.contains("`many`"), "{e}");
    }

    #[test]
    fn a_job_line_reads_every_field_and_unknowns() {
        let (recs, _) = records("\n 7 12.5 3 100 4 99.9 2048 8 3600 -1 1 5 6 -1 2 -1 6 30\n");
        let r = recs[0].clone().unwrap();
        assert_eq!(
            (r.line, r.job, r.submit, r.wait, r.run),
            (2, Some(7), 12.5, Some(3.0), Some(100.0))
        );
        assert_eq!(
            (r.allocated_processors, r.requested_processors),
            (Some(4), Some(8))
        );
        assert_eq!(
            (r.used_memory_kb, r.requested_memory_kb),
            (Some(2048.0), None)
        );
        assert_eq!(
            (r.status, r.user, r.group, r.queue),
            (Some(1), Some(5), Some(6), Some(2))
        );
        assert_eq!(
            (r.partition, r.preceding_job, r.think_time),
            (None, Some(6), Some(30.0))
        );
    }

    #[test]
    fn malformed_job_lines_name_the_field() {
        let cases = [
            ("1 0 -1 10 4", "average CPU time".to_string(), "got 5"),
            (
                "1 0 -1 10 4 -1 -1 4 -1 -1 1 1 1 -1 -1 -1 -1 -1 9",
                "think time".into(),
                "got more",
            ),
            (
                "1 0 -1 10 4.5 -1 -1 4 -1 -1 1 1 1 -1 -1 -1 -1 -1",
                "allocated processors".into(),
                "whole",
            ),
            (
                "1 -5 -1 10 4 -1 -1 4 -1 -1 1 1 1 -1 -1 -1 -1 -1",
                "submit time".into(),
                "≥ 0",
            ),
            (
                "1 0 -1 10 4 -1 -1 4 -1 -1 1 1 NaN -1 -1 -1 -1 -1",
                "group".into(),
                "`NaN`",
            ),
        ];
        for (line, field, msg) in cases {
            let (recs, _) = records(line);
            let e = recs[0].clone().unwrap_err();
            assert_eq!(
                (e.line, e.field.as_deref()),
                (Some(1), Some(field.as_str())),
                "{line}"
            );
            assert!(e.message.contains(msg), "{e}");
        }
    }

    #[test]
    fn a_truncated_gzip_stream_is_an_error_not_a_panic_or_a_loop() {
        use std::io::Write;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        for i in 1..2000 {
            writeln!(gz, "{i} {i} -1 10 4 -1 -1 4 -1 -1 1 1 1 -1 -1 -1 -1 -1").unwrap();
        }
        let bytes = gz.finish().unwrap();
        let whole = describe_read(bytes.as_slice(), Path::new("t.swf.gz")).unwrap();
        assert!(whole.contains("1999 jobs"), "{whole}");
        let cut = &bytes[..bytes.len() / 2];
        let e = describe_read(cut, Path::new("t.swf.gz")).unwrap_err();
        assert!(e.message.contains("cannot read"), "{e}");
        let skip = super::super::ReadOptions {
            skip_bad_lines: true,
        };
        let r = decompressing(std::io::BufReader::new(cut)).unwrap();
        assert!(
            describe(r, Path::new("t.swf.gz"), skip).is_ok(),
            "ends, counted"
        );
    }

    #[test]
    fn swf_paths_are_told_by_name() {
        assert!(is_swf_path(Path::new("a/B.SWF")) && is_swf_path(Path::new("x.swf.gz")));
        assert!(!is_swf_path(Path::new("x.csv")) && !is_swf_path(Path::new("swf")));
    }
}
