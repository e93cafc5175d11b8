//! What a reader does with a malformed line: stop with its error (the default), or, with
//! `--skip-bad-lines`, count it, keep the first few errors for the report, and go on.

use super::InputError;

/// How many skipped lines' errors a report keeps in full.
pub const KEPT_ERRORS: usize = 5;

/// Options every trace and market reader takes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReadOptions {
    /// Skip malformed lines (counted and reported) instead of failing on the first.
    pub skip_bad_lines: bool,
}

/// Lines a reader skipped, for the run's report.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SkippedLines {
    /// How many lines were skipped, over all files read.
    pub count: u64,
    /// The first [`KEPT_ERRORS`] of their errors, in reading order.
    pub first: Vec<InputError>,
}

impl SkippedLines {
    /// Handles one bad line's error: with `skip_bad_lines` it is counted and `Ok(())`
    /// returned (the reader goes on to the next line); otherwise the error comes back.
    pub fn handle(&mut self, opts: ReadOptions, e: InputError) -> Result<(), InputError> {
        if !opts.skip_bad_lines {
            return Err(e);
        }
        self.count += 1;
        if self.first.len() < KEPT_ERRORS {
            self.first.push(e);
        }
        Ok(())
    }

    /// Adds another reader's skipped lines.
    pub fn merge(&mut self, other: SkippedLines) {
        self.count += other.count;
        let room = KEPT_ERRORS.saturating_sub(self.first.len());
        self.first.extend(other.first.into_iter().take(room));
    }

    /// A report for stderr: nothing when no line was skipped.
    pub fn report(&self) -> Option<String> {
        if self.count == 0 {
            return None;
        }
        let mut s = format!(
            "skipped {} malformed line(s) (--skip-bad-lines)",
            self.count
        );
        for e in &self.first {
            s.push_str("\n  ");
            s.push_str(&e.to_string());
        }
        if self.count > self.first.len() as u64 {
            s.push_str(&format!(
                "\n  … and {} more",
                self.count - self.first.len() as u64
            ));
        }
        Some(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn fails_by_default_and_counts_when_skipping() {
        let e = || InputError::new(Path::new("t.csv"), "bad").at_line(3);
        let mut s = SkippedLines::default();
        assert!(s.handle(ReadOptions::default(), e()).is_err());
        assert_eq!(s.count, 0);
        let skip = ReadOptions {
            skip_bad_lines: true,
        };
        for _ in 0..7 {
            s.handle(skip, e()).unwrap();
        }
        assert_eq!(s.count, 7);
        assert_eq!(s.first.len(), KEPT_ERRORS);
        let r = s.report().unwrap();
        assert!(
            r.contains("skipped 7") && r.contains("t.csv") && r.contains("2 more"),
            "{r}"
        );
    }
}
