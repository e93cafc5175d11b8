//! Shared plumbing for the CSV formats: header lookup, cells, numbers, errors.

use super::InputError;
use csv::ByteRecord;
use std::io::Read;
use std::path::Path;

/// The longest time flotilla accepts, in seconds (about 31,700 years), so that conversions
/// to milliseconds can never overflow.
const MAX_SECONDS: f64 = 1e12;

/// A CSV reader configured the way every flotilla CSV format is read.
pub(crate) fn reader<R: Read>(input: R) -> csv::Reader<R> {
    csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .buffer_capacity(1 << 16)
        .from_reader(input)
}

/// Column names of a CSV header, trimmed.
pub(crate) struct Header {
    names: Vec<String>,
}

impl Header {
    /// Reads and checks the header: present, no duplicate names.
    pub(crate) fn read<R: Read>(rdr: &mut csv::Reader<R>, file: &Path) -> Result<Self, InputError> {
        let raw = rdr.byte_headers().map_err(|e| csv_error(file, e))?;
        let mut names = Vec::with_capacity(raw.len());
        for (i, cell) in raw.iter().enumerate() {
            let name = std::str::from_utf8(cell)
                .map_err(|_| InputError::new(file, "the header is not valid UTF-8").at_line(1))?;
            let name = if i == 0 {
                name.trim_start_matches('\u{feff}')
            } else {
                name
            };
            names.push(name.trim().to_string());
        }
        if names.iter().all(|n| n.is_empty()) {
            return Err(
                InputError::new(file, "the file is empty: expected a header line").at_line(1),
            );
        }
        for (i, n) in names.iter().enumerate() {
            if !n.is_empty() && names[..i].contains(n) {
                return Err(
                    InputError::new(file, "this column appears twice in the header")
                        .at_line(1)
                        .in_field(n.clone()),
                );
            }
        }
        Ok(Header { names })
    }

    /// Index of a column, if present.
    pub(crate) fn find(&self, name: &str) -> Option<usize> {
        self.names.iter().position(|n| n == name)
    }

    /// Index of a column that must be present.
    pub(crate) fn require(&self, name: &str, file: &Path) -> Result<usize, InputError> {
        self.find(name).ok_or_else(|| {
            InputError::new(
                file,
                format!(
                    "missing required column `{name}`; the header has: {}",
                    self.names.join(", ")
                ),
            )
            .at_line(1)
            .in_field(name)
        })
    }
}

/// Reads the next record into `rec`; `Ok(false)` at the end of the file. A row with the
/// wrong number of fields is one bad line: the reader has consumed it, so it goes through
/// `skipped` (skipped and counted with `--skip-bad-lines`, else its error) and reading goes
/// on. Any other CSV error (I/O) is not a line's fault and always stops.
pub(crate) fn next_record<R: std::io::Read>(
    rdr: &mut csv::Reader<R>,
    rec: &mut ByteRecord,
    file: &Path,
    opts: super::ReadOptions,
    skipped: &mut super::SkippedLines,
) -> Result<bool, InputError> {
    loop {
        match rdr.read_byte_record(rec) {
            Ok(more) => return Ok(more),
            Err(e) if matches!(e.kind(), csv::ErrorKind::UnequalLengths { .. }) => {
                skipped.handle(opts, csv_error(file, e))?;
            }
            Err(e) => return Err(csv_error(file, e)),
        }
    }
}

/// Converts a reader error, keeping its line when the reader knows it.
pub(crate) fn csv_error(file: &Path, err: csv::Error) -> InputError {
    let line = err.position().and_then(|p| usize::try_from(p.line()).ok());
    let message = match err.kind() {
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => {
            format!("expected {expected_len} fields like the header, found {len}")
        }
        csv::ErrorKind::Io(e) => format!("cannot read the file: {e}"),
        _ => format!("malformed CSV: {err}"),
    };
    InputError::new(file, message).at_opt_line(line)
}

/// The 1-based line on which a record starts.
pub(crate) fn line_of(rec: &ByteRecord) -> usize {
    rec.position()
        .and_then(|p| usize::try_from(p.line()).ok())
        .unwrap_or(0)
}

/// A cell of a record, trimmed; empty when the column is absent.
pub(crate) fn cell<'r>(
    rec: &'r ByteRecord,
    col: Option<usize>,
    name: &str,
    file: &Path,
) -> Result<&'r str, InputError> {
    let Some(bytes) = col.and_then(|c| rec.get(c)) else {
        return Ok("");
    };
    match std::str::from_utf8(bytes) {
        Ok(s) => Ok(s.trim()),
        Err(_) => Err(bad(file, rec, name, "the value is not valid UTF-8")),
    }
}

/// An error about one cell of a record.
pub(crate) fn bad(
    file: &Path,
    rec: &ByteRecord,
    name: &str,
    message: impl Into<String>,
) -> InputError {
    InputError::new(file, message)
        .at_line(line_of(rec))
        .in_field(name)
}

/// Parses decimal seconds (`12`, `0.5`, `1e3`), at least 0, into whole milliseconds,
/// rounding to the nearest millisecond.
pub(crate) fn seconds_to_ms(s: &str) -> Option<u64> {
    s.parse::<f64>().ok().and_then(secs_f64_to_ms)
}

/// Converts a float number of seconds, at least 0, into whole milliseconds.
pub(crate) fn secs_f64_to_ms(secs: f64) -> Option<u64> {
    if secs.is_finite() && (0.0..=MAX_SECONDS).contains(&secs) {
        Some((secs * 1000.0).round() as u64)
    } else {
        None
    }
}

/// A whole number written in ASCII digits only (no sign), if it fits a `u32`.
pub(crate) fn parse_u32(b: &[u8]) -> Option<u32> {
    if b.is_empty() || b.len() > 10 {
        return None;
    }
    b.iter().try_fold(0u32, |acc, &d| {
        let d = d.wrapping_sub(b'0');
        (d < 10).then_some(())?;
        acc.checked_mul(10)?.checked_add(d.into())
    })
}

/// Decimal seconds ≥ 0 to whole milliseconds, rounded: a fast exact path for plain
/// `123` / `123.456` text, and [`seconds_to_ms`] for anything else (`1e3`, `+5`).
pub(crate) fn secs_bytes_to_ms(b: &[u8]) -> Option<u64> {
    let (int, frac) = match b.iter().position(|&c| c == b'.') {
        Some(dot) => (b.get(..dot)?, b.get(dot + 1..)?),
        None => (b, &b""[..]),
    };
    let plain = |s: &[u8]| s.iter().all(u8::is_ascii_digit);
    if int.is_empty() || int.len() > 12 || !plain(int) || !plain(frac) {
        return seconds_to_ms(std::str::from_utf8(b).ok()?);
    }
    let whole = int.iter().fold(0u64, |a, &d| a * 10 + u64::from(d - b'0'));
    let mut ms = 0u64;
    for i in 0..3 {
        ms = ms * 10 + frac.get(i).map_or(0, |&d| u64::from(d - b'0'));
    }
    let round_up = frac.get(3).is_some_and(|&d| d >= b'5');
    Some(whole * 1000 + ms + u64::from(round_up))
}

/// `1 thing` / `2 things`.
pub(crate) fn plural(n: usize, one: &str, many: &str) -> String {
    if n == 1 {
        format!("{n} {one}")
    } else {
        format!("{n} {many}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_round_to_milliseconds() {
        assert_eq!(seconds_to_ms("1.2345"), Some(1235));
        assert_eq!(seconds_to_ms("0"), Some(0));
        assert_eq!(seconds_to_ms("7"), Some(7000));
        assert_eq!(seconds_to_ms("-1"), None);
        assert_eq!(seconds_to_ms("nan"), None);
        assert_eq!(seconds_to_ms("inf"), None);
        assert_eq!(seconds_to_ms("1e300"), None);
        assert_eq!(seconds_to_ms(""), None);
        for t in [
            "0", "1.2345", "7", "12.5", "3.0004", "99.999", "1e3", "0.", "+2",
        ] {
            assert_eq!(secs_bytes_to_ms(t.as_bytes()), seconds_to_ms(t), "{t}");
        }
        assert_eq!(
            secs_bytes_to_ms(b"3.0005"),
            Some(3001),
            "exact half rounds up"
        );
        for t in ["", ".5", "-1", "1.2.3", "x", "1e300"] {
            assert_eq!(secs_bytes_to_ms(t.as_bytes()), seconds_to_ms(t), "{t}");
        }
    }

    #[test]
    fn whole_numbers_parse_from_bytes() {
        assert_eq!(parse_u32(b"0"), Some(0));
        assert_eq!(parse_u32(b"4294967295"), Some(u32::MAX));
        assert_eq!(parse_u32(b"4294967296"), None);
        assert_eq!(parse_u32(b"-1"), None);
        assert_eq!(parse_u32(b"1x"), None);
        assert_eq!(parse_u32(b""), None);
    }
}
