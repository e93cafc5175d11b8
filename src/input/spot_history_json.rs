//! The JSON shape of `describe-spot-price-history` (see [`super::spot_history`]), streamed:
//! serde visits the `SpotPriceHistory` array one entry at a time, so the file is never held
//! whole in memory.
//!
//! Errors name the entry by its JSON path (`SpotPriceHistory[3].SpotPrice`) and the line the
//! entry ends on; syntax errors carry serde_json's own line.

use super::spot_history::{Entry, HistorySink, Place};
use super::{InputError, ReadOptions, SkippedLines};
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use std::cell::Cell;
use std::fmt;
use std::io::Read;
use std::path::Path;
use std::rc::Rc;

/// One entry as written; every field optional so that a missing one is our error, with its
/// path. Other keys (`AvailabilityZoneId`) are ignored.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct WireEntry {
    availability_zone: Option<String>,
    instance_type: Option<String>,
    product_description: Option<String>,
    spot_price: Option<String>,
    timestamp: Option<String>,
}

/// Counts the newlines read through it (serde_json reads byte by byte, so the count is the
/// line serde has reached).
struct LineCounter<R> {
    inner: R,
    newlines: Rc<Cell<usize>>,
}

impl<R: Read> Read for LineCounter<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        let nl = buf[..n].iter().filter(|&&b| b == b'\n').count();
        self.newlines.set(self.newlines.get() + nl);
        Ok(n)
    }
}

/// What the visitors share.
struct Ctx<'a> {
    file: &'a Path,
    sink: &'a mut HistorySink,
    opts: ReadOptions,
    skipped: &'a mut SkippedLines,
    newlines: Rc<Cell<usize>>,
    /// Our own error, carried out of serde as a custom error.
    error: Option<InputError>,
    /// Index of the entry being read, for serde's errors.
    index: Option<usize>,
    seen_array: bool,
}

/// Streams the JSON history from `input` into `sink`.
pub(crate) fn read<R: Read>(
    input: R,
    file: &Path,
    sink: &mut HistorySink,
    opts: ReadOptions,
    skipped: &mut SkippedLines,
) -> Result<(), InputError> {
    let newlines = Rc::new(Cell::new(0));
    let reader = LineCounter {
        inner: input,
        newlines: newlines.clone(),
    };
    let mut de = serde_json::Deserializer::from_reader(reader);
    let mut ctx = Ctx {
        file,
        sink,
        opts,
        skipped,
        newlines,
        error: None,
        index: None,
        seen_array: false,
    };
    let result = Top(&mut ctx).deserialize(&mut de).and_then(|()| de.end());
    if let Some(e) = ctx.error.take() {
        return Err(e);
    }
    if let Err(e) = result {
        let mut err = InputError::new(file, format!("invalid JSON: {e}"));
        if e.line() > 0 {
            err = err.at_line(e.line());
        }
        if let Some(i) = ctx.index {
            err = err.in_field(format!("SpotPriceHistory[{i}]"));
        }
        return Err(err);
    }
    if !ctx.seen_array {
        return Err(InputError::new(
            file,
            "expected an object with a `SpotPriceHistory` array (describe-spot-price-history \
             output)",
        )
        .in_field("SpotPriceHistory"));
    }
    Ok(())
}

/// The top-level object.
struct Top<'c, 'a>(&'c mut Ctx<'a>);

impl<'de> DeserializeSeed<'de> for Top<'_, '_> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Top<'_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object with a SpotPriceHistory array")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<String>()? {
            if key == "SpotPriceHistory" && !self.0.seen_array {
                self.0.seen_array = true;
                map.next_value_seed(Entries(self.0))?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(())
    }
}

/// The `SpotPriceHistory` array.
struct Entries<'c, 'a>(&'c mut Ctx<'a>);

impl<'de> DeserializeSeed<'de> for Entries<'_, '_> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for Entries<'_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array of Spot price entries")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let ctx = self.0;
        let mut i = 0usize;
        loop {
            ctx.index = Some(i);
            let Some(w) = seq.next_element::<WireEntry>()? else {
                break;
            };
            if let Err(e) = ctx.add(&w, i) {
                ctx.error = Some(e);
                return Err(de::Error::custom("bad entry"));
            }
            i += 1;
        }
        ctx.index = None;
        Ok(())
    }
}

impl Ctx<'_> {
    fn add(&mut self, w: &WireEntry, i: usize) -> Result<(), InputError> {
        let prefix = format!("SpotPriceHistory[{i}].");
        let line = self.newlines.get() + 1;
        let mut missing = None;
        let mut field = |v: &Option<String>, name: &'static str| -> String {
            if v.is_none() && missing.is_none() {
                missing = Some(name);
            }
            v.clone().unwrap_or_default()
        };
        let zone = field(&w.availability_zone, "AvailabilityZone");
        let instance_type = field(&w.instance_type, "InstanceType");
        let product = field(&w.product_description, "ProductDescription");
        let price = field(&w.spot_price, "SpotPrice");
        let timestamp = field(&w.timestamp, "Timestamp");
        let result = match missing {
            Some(name) => Err(InputError::new(
                self.file,
                format!("the entry has no `{name}` (a string)"),
            )
            .at_line(line)
            .in_field(format!("{prefix}{name}"))),
            None => {
                let e = Entry {
                    zone: &zone,
                    instance_type: &instance_type,
                    product: &product,
                    price: &price,
                    timestamp: &timestamp,
                };
                let at = Place {
                    line,
                    prefix: &prefix,
                };
                self.sink.add(&e, self.file, &at)
            }
        };
        match result {
            Ok(()) => Ok(()),
            Err(e) => self.skipped.handle(self.opts, e),
        }
    }
}
