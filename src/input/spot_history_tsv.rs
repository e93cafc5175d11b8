//! The text shape of `describe-spot-price-history` (`--output text`; see
//! [`super::spot_history`]), read line by line.
//!
//! Accepted lines (tab-separated; a trailing `\r` is dropped):
//! - `SPOTPRICEHISTORY`, `AvailabilityZone`, `InstanceType`, `ProductDescription`,
//!   `SpotPrice`, `Timestamp` — the CLI's row: it prints a list of objects as the upper-cased
//!   list name and then each object's scalar fields sorted by key name;
//! - the same with `AvailabilityZoneId` after `AvailabilityZone` (newer API responses);
//! - the five fields without the prefix, in the same order (what `--query
//!   'SpotPriceHistory[*].[AvailabilityZone,InstanceType,ProductDescription,SpotPrice,Timestamp]'`
//!   prints);
//! - blank lines and one-field lines (the `NextToken` the CLI prints on a line of its own) are
//!   ignored.

use super::spot_history::{Entry, HistorySink, Place};
use super::{InputError, ReadOptions, SkippedLines};
use std::io::BufRead;
use std::path::Path;

/// Reads the text history from `input` into `sink`, line by line.
pub(crate) fn read<R: BufRead>(
    mut input: R,
    file: &Path,
    sink: &mut HistorySink,
    opts: ReadOptions,
    skipped: &mut SkippedLines,
) -> Result<(), InputError> {
    let mut buf = Vec::new();
    let mut line = 0usize;
    loop {
        buf.clear();
        let n = input
            .read_until(b'\n', &mut buf)
            .map_err(|e| InputError::unreadable(file, &e))?;
        if n == 0 {
            return Ok(());
        }
        line += 1;
        if let Err(e) = read_line(&buf, file, line, sink) {
            skipped.handle(opts, e)?;
        }
    }
}

fn read_line(
    raw: &[u8],
    file: &Path,
    line: usize,
    sink: &mut HistorySink,
) -> Result<(), InputError> {
    let text = std::str::from_utf8(raw)
        .map_err(|_| InputError::new(file, "the line is not valid UTF-8").at_line(line))?;
    let text = text.trim_end_matches('\n').trim_end_matches('\r');
    if text.trim().is_empty() {
        return Ok(());
    }
    let f: Vec<&str> = text.split('\t').collect();
    let fields: [&str; 5] = match f.as_slice() {
        [_] => return Ok(()),
        ["SPOTPRICEHISTORY", z, t, p, s, ts] => [z, t, p, s, ts],
        ["SPOTPRICEHISTORY", z, _zone_id, t, p, s, ts] => [z, t, p, s, ts],
        [z, t, p, s, ts] if *z != "SPOTPRICEHISTORY" => [z, t, p, s, ts],
        _ => {
            return Err(InputError::new(
                file,
                format!(
                    "expected `SPOTPRICEHISTORY` and the tab-separated fields \
                     AvailabilityZone, [AvailabilityZoneId,] InstanceType, ProductDescription, \
                     SpotPrice, Timestamp; got {} field(s)",
                    f.len()
                ),
            )
            .at_line(line))
        }
    };
    let [zone, instance_type, product, price, timestamp] = fields;
    let e = Entry {
        zone,
        instance_type,
        product,
        price,
        timestamp,
    };
    sink.add(&e, file, &Place { line, prefix: "" })
}
