//! Spot price history as `aws ec2 describe-spot-price-history` prints it (`[spot]
//! price_history` of a scenario), in either of its two shapes:
//!
//! - JSON (`--output json`, the default): `{"SpotPriceHistory": [{"AvailabilityZone":
//!   "us-east-1a", "InstanceType": "c5.large", "ProductDescription": "Linux/UNIX",
//!   "SpotPrice": "0.034000", "Timestamp": "2023-04-22T10:00:00+00:00"}, …], "NextToken": …}`.
//!   Other keys (`AvailabilityZoneId`, `NextToken`) are ignored. See [`super::spot_history_json`].
//! - Text (`--output text`): one tab-separated line per entry, `SPOTPRICEHISTORY`, then the
//!   entry's fields sorted by key name as the CLI prints them: `AvailabilityZone`,
//!   [`AvailabilityZoneId`,] `InstanceType`, `ProductDescription`, `SpotPrice`, `Timestamp`.
//!   See [`super::spot_history_tsv`].
//!
//! The shape is told by the first byte that is not white space: `{` is JSON, anything else
//! text. Both readers stream (one entry at a time) into the same [`HistorySink`].
//!
//! Field rules: `SpotPrice` is a decimal number of US dollars per hour ≥ 0 (a string in JSON;
//! rounded to the micro-dollar); `Timestamp` is ISO 8601, `YYYY-MM-DDTHH:MM:SS`, optional
//! fraction, then `Z`, `±HH:MM`, `±HHMM` or nothing (UTC). Entries whose
//! `ProductDescription` is not the scenario's (`[spot] product_description`, default
//! `Linux/UNIX`) are left out, and so are instance types the catalog lacks (a dump of a whole
//! region names hundreds; `validate` counts them) and zones not in `[spot] zones` when the
//! scenario lists zones.
//!
//! Each (type, zone) is a step function: sorted by time (file order between equal times, the
//! later entry wins). Time 0 of the run is the scenario's `epoch_ms`, or, when it sets none,
//! the earliest timestamp kept; an entry before time 0 sets the price at 0 (AWS returns the
//! price in force at the start of the requested window with its older timestamp). Before a
//! pool's first entry its first price holds.

use super::InputError;
use crate::model::{Catalog, MicroUsd};
use crate::sim::pool_spec::PriceHistory;
use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

/// The default `ProductDescription` kept.
pub const DEFAULT_PRODUCT: &str = "Linux/UNIX";

/// One entry's fields as read (still text).
pub(crate) struct Entry<'a> {
    pub(crate) zone: &'a str,
    pub(crate) instance_type: &'a str,
    pub(crate) product: &'a str,
    pub(crate) price: &'a str,
    pub(crate) timestamp: &'a str,
}

/// Where an entry is, for errors: a line and a field prefix (`SpotPriceHistory[3].` in JSON,
/// empty in text).
pub(crate) struct Place<'a> {
    pub(crate) line: usize,
    pub(crate) prefix: &'a str,
}

/// The entries read so far, grouped per (type name, zone).
pub(crate) struct HistorySink {
    product: String,
    /// Steps per (type name, zone), in file order.
    pub(crate) points: BTreeMap<(String, String), Vec<(u64, MicroUsd)>>,
    /// Entries read (kept or not).
    pub(crate) entries: usize,
    /// Entries left out for their `ProductDescription`.
    pub(crate) other_products: usize,
}

impl HistorySink {
    /// An empty sink keeping `product` only.
    pub(crate) fn new(product: &str) -> Self {
        HistorySink {
            product: product.to_string(),
            points: BTreeMap::new(),
            entries: 0,
            other_products: 0,
        }
    }

    /// Checks one entry and keeps it if its product is the one wanted.
    pub(crate) fn add(&mut self, e: &Entry, file: &Path, at: &Place) -> Result<(), InputError> {
        self.entries += 1;
        let err = |field: &str, msg: String| {
            InputError::new(file, msg)
                .at_line(at.line)
                .in_field(format!("{}{field}", at.prefix))
        };
        let ms = parse_timestamp(e.timestamp).ok_or_else(|| {
            let got = e.timestamp;
            err(
                "Timestamp",
                format!("expected an ISO 8601 time such as 2023-04-22T10:00:00Z, got `{got}`"),
            )
        })?;
        let price = parse_price(e.price).ok_or_else(|| {
            let got = e.price;
            err(
                "SpotPrice",
                format!("expected a price in US dollars per hour ≥ 0, got `{got}`"),
            )
        })?;
        for (field, v) in [
            ("AvailabilityZone", e.zone),
            ("InstanceType", e.instance_type),
        ] {
            if v.is_empty() || v.chars().any(char::is_whitespace) {
                return Err(err(field, format!("expected a name, got `{v}`")));
            }
        }
        if e.product != self.product {
            self.other_products += 1;
            return Ok(());
        }
        let key = (e.instance_type.to_string(), e.zone.to_string());
        self.points.entry(key).or_default().push((ms, price));
        Ok(())
    }

    /// A one-line description, for `validate`.
    pub(crate) fn describe(&self) -> String {
        let types: BTreeSet<&str> = self.points.keys().map(|k| k.0.as_str()).collect();
        let zones: BTreeSet<&str> = self.points.keys().map(|k| k.1.as_str()).collect();
        format!(
            "Spot price history: {} entries, {} kept ({}) for {} instance types in {} zones",
            self.entries,
            self.points.values().map(Vec::len).sum::<usize>(),
            self.product,
            types.len(),
            zones.len(),
        )
    }
}

/// Reads a history from `input`, telling JSON from text by its first byte.
pub(crate) fn read_history<R: Read>(
    input: R,
    file: &Path,
    product: &str,
    opts: super::ReadOptions,
    skipped: &mut super::SkippedLines,
) -> Result<HistorySink, InputError> {
    let mut r = BufReader::new(input);
    let mut sink = HistorySink::new(product);
    let json = loop {
        let buf = r.fill_buf().map_err(|e| InputError::unreadable(file, &e))?;
        match buf.iter().position(|b| !b.is_ascii_whitespace()) {
            Some(i) => {
                let first = buf[i];
                r.consume(i);
                break first == b'{';
            }
            None if buf.is_empty() => return Ok(sink),
            None => {
                let n = buf.len();
                r.consume(n);
            }
        }
    };
    if json {
        super::spot_history_json::read(r, file, &mut sink, opts, skipped)?;
    } else {
        super::spot_history_tsv::read(r, file, &mut sink, opts, skipped)?;
    }
    Ok(sink)
}

/// Looks the types up in `catalog` (types it lacks are left out), keeps the listed `zones`
/// (all when empty), and sorts each pool's steps by time.
pub(crate) fn resolve(sink: HistorySink, catalog: &Catalog, zones: &[String]) -> PriceHistory {
    let mut history = PriceHistory {
        earliest_ms: u64::MAX,
        ..PriceHistory::default()
    };
    for ((name, zone), mut steps) in sink.points {
        let Some(id) = catalog.find(&name) else {
            continue;
        };
        if !zones.is_empty() && !zones.contains(&zone) {
            continue;
        }
        steps.sort_by_key(|s| s.0);
        history.earliest_ms = history.earliest_ms.min(steps[0].0);
        history.pools.insert((id, zone), steps);
    }
    if history.pools.is_empty() {
        history.earliest_ms = 0;
    }
    history
}

/// Loads a history file for a scenario.
pub(crate) fn load_history(
    path: &Path,
    product: &str,
    catalog: &Catalog,
    zones: &[String],
    opts: super::ReadOptions,
    skipped: &mut super::SkippedLines,
) -> Result<PriceHistory, InputError> {
    let f = std::fs::File::open(path).map_err(|e| InputError::unreadable(path, &e))?;
    let sink = read_history(f, path, product, opts, skipped)?;
    Ok(resolve(sink, catalog, zones))
}

/// Reads a bare history file (no catalog) and describes it, for `validate`.
pub(crate) fn describe_file(path: &Path) -> Result<String, InputError> {
    let f = std::fs::File::open(path).map_err(|e| InputError::unreadable(path, &e))?;
    let mut skipped = super::SkippedLines::default();
    let opts = super::ReadOptions::default();
    read_history(f, path, DEFAULT_PRODUCT, opts, &mut skipped).map(|s| s.describe())
}

/// `"0.034000"` → 34,000 µ$: a decimal number of dollars, rounded half up to the micro-dollar,
/// below a million dollars an hour.
pub(crate) fn parse_price(s: &str) -> Option<MicroUsd> {
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    let digits = |t: &str| t.bytes().all(|b| b.is_ascii_digit());
    if (int.is_empty() && frac.is_empty()) || !digits(int) || !digits(frac) || int.len() > 6 {
        return None;
    }
    let whole: u64 = if int.is_empty() { 0 } else { int.parse().ok()? };
    let mut micro = 0u64;
    for (i, b) in frac.bytes().enumerate() {
        let d = (b - b'0') as u64;
        match i {
            0..=5 => micro = micro * 10 + d,
            6 => micro += u64::from(d >= 5),
            _ => {}
        }
    }
    for _ in frac.len()..6 {
        micro *= 10;
    }
    Some(MicroUsd(whole * 1_000_000 + micro))
}

/// ISO 8601 date-time to Unix milliseconds (times before 1970 are refused).
pub(crate) fn parse_timestamp(s: &str) -> Option<u64> {
    let b = s.as_bytes();
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let t = b.get(r)?;
        t.iter()
            .all(u8::is_ascii_digit)
            .then(|| t.iter().fold(0i64, |a, &d| a * 10 + (d - b'0') as i64))
    };
    let sep_ok = b.get(4) == Some(&b'-')
        && b.get(7) == Some(&b'-')
        && matches!(b.get(10), Some(b'T' | b't' | b' '))
        && b.get(13) == Some(&b':')
        && b.get(16) == Some(&b':');
    if !sep_ok {
        return None;
    }
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
    let days_in_month = match mo {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        _ => return None,
    };
    if d < 1 || d > days_in_month || h > 23 || mi > 59 || sec > 60 {
        return None;
    }
    let mut i = 19;
    let mut ms = 0i64;
    if b.get(i) == Some(&b'.') {
        let start = i + 1;
        i = start;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            if i - start < 3 {
                ms = ms * 10 + (b[i] - b'0') as i64;
            }
            i += 1;
        }
        if i == start {
            return None;
        }
        for _ in (i - start)..3 {
            ms *= 10;
        }
    }
    let offset_min = match &b[i..] {
        [] | [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), rest @ ..] => {
            let (oh, om) = match rest {
                [h1, h2, b':', m1, m2] | [h1, h2, m1, m2] => ([*h1, *h2], [*m1, *m2]),
                [h1, h2] => ([*h1, *h2], [b'0', b'0']),
                _ => return None,
            };
            let two = |p: [u8; 2]| {
                (p[0].is_ascii_digit() && p[1].is_ascii_digit())
                    .then(|| ((p[0] - b'0') * 10 + (p[1] - b'0')) as i64)
            };
            let (oh, om) = (two(oh)?, two(om)?);
            if oh > 23 || om > 59 {
                return None;
            }
            if *sign == b'+' {
                oh * 60 + om
            } else {
                -(oh * 60 + om)
            }
        }
        _ => return None,
    };
    let days = days_from_civil(y, mo, d);
    let secs = days * 86_400 + h * 3600 + mi * 60 + sec - offset_min * 60;
    u64::try_from(secs * 1000 + ms).ok()
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Whether a `.json` file is a Spot price history (it has `SpotPriceHistory` near its start)
/// rather than a measured Spot trace; `validate` tells the two apart with it.
pub(crate) fn looks_like_history(path: &Path) -> bool {
    use std::io::Read;
    let mut head = Vec::with_capacity(4096);
    std::fs::File::open(path)
        .and_then(|f| f.take(4096).read_to_end(&mut head))
        .is_ok_and(|_| String::from_utf8_lossy(&head).contains("SpotPriceHistory"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_in_every_spelling() {
        let base = parse_timestamp("2023-04-22T10:00:00Z").unwrap();
        assert_eq!(base, 1_682_157_600_000);
        assert_eq!(parse_timestamp("2023-04-22T10:00:00+00:00"), Some(base));
        assert_eq!(
            parse_timestamp("2023-04-22T10:00:00.250Z"),
            Some(base + 250)
        );
        assert_eq!(parse_timestamp("2023-04-22T12:00:00+02:00"), Some(base));
        assert_eq!(parse_timestamp("2023-04-22T09:30:00-0030"), Some(base));
        assert_eq!(parse_timestamp("2023-04-22 10:00:00"), Some(base));
        assert_eq!(parse_timestamp("1970-01-01T00:00:00Z"), Some(0));
        for bad in [
            "2023-02-29T00:00:00Z",
            "2023-04-22",
            "2023-04-22T10:00:00Q",
            "1969-12-31T23:59:59Z",
            "2023-04-22T10:00:00.Z",
            "２023-04-22T10:00:00Z",
        ] {
            assert_eq!(parse_timestamp(bad), None, "{bad}");
        }
    }

    #[test]
    fn prices_are_exact_micro_dollars() {
        assert_eq!(parse_price("0.034000"), Some(MicroUsd(34_000)));
        assert_eq!(parse_price("1"), Some(MicroUsd(1_000_000)));
        assert_eq!(parse_price(".5"), Some(MicroUsd(500_000)));
        assert_eq!(parse_price("0.0000005"), Some(MicroUsd(1)));
        assert_eq!(parse_price("0.0000004"), Some(MicroUsd(0)));
        for bad in ["", ".", "-1", "1e3", "0.03 ", "1234567"] {
            assert_eq!(parse_price(bad), None, "{bad}");
        }
    }
}
