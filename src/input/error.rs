//! The one error type of the input layer: where in which file, and what was expected.

use std::fmt;
use std::path::{Path, PathBuf};

/// A problem with an input file, located as precisely as the format allows.
///
/// Displays as `{file}:{line}: field `{field}`: {message}`, leaving out the parts that are
/// unknown.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InputError {
    /// The file at fault.
    pub file: PathBuf,
    /// 1-based line in that file, when known (the header of a CSV file is line 1).
    pub line: Option<usize>,
    /// The column (CSV) or field path (TOML, e.g. `job_queues[0].priority`), when known.
    pub field: Option<String>,
    /// What is wrong and what was expected.
    pub message: String,
}

impl InputError {
    /// An error about `file` as a whole.
    pub fn new(file: &Path, message: impl Into<String>) -> Self {
        InputError {
            file: file.to_path_buf(),
            line: None,
            field: None,
            message: message.into(),
        }
    }

    /// The same error, located at a 1-based line.
    pub fn at_line(mut self, line: usize) -> Self {
        self.line = Some(line);
        self
    }

    /// The same error, located at a 1-based line when one is known.
    pub fn at_opt_line(mut self, line: Option<usize>) -> Self {
        self.line = line;
        self
    }

    /// The same error, naming a column or field path.
    pub fn in_field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    /// The error for a file that cannot be read.
    pub fn unreadable(file: &Path, err: &std::io::Error) -> Self {
        InputError::new(file, format!("cannot read the file: {err}"))
    }
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        if let Some(field) = &self.field {
            write!(f, ": field `{field}`")?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for InputError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_omits_unknown_parts() {
        let e = InputError::new(Path::new("a.csv"), "bad");
        assert_eq!(e.to_string(), "a.csv: bad");
        let e = e.at_line(3).in_field("vcpus");
        assert_eq!(e.to_string(), "a.csv:3: field `vcpus`: bad");
        let e = InputError::new(Path::new("a.csv"), "bad").in_field("x");
        assert_eq!(e.to_string(), "a.csv: field `x`: bad");
    }
}
