//! The serde side of the measured Spot trace reader ([`super::SpotTrace`]): visitors that
//! keep the JSON path of the value being read (`data[17]`, `metadata.gap_seconds`) so that
//! an error can name it; serde_json's own errors carry a position but no path.

use super::InputError;
use crate::model::SimDuration;
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use std::cell::RefCell;
use std::fmt;
use std::path::Path;

/// The JSON path being read and the message of the last error raised by our own checks
/// (serde_json's own errors carry a position but no path).
#[derive(Default)]
pub(super) struct Tracker {
    path: RefCell<String>,
    message: RefCell<Option<String>>,
}

impl Tracker {
    fn set(&self, path: impl Into<String>) {
        *self.path.borrow_mut() = path.into();
    }

    fn fail<E: de::Error>(&self, message: String) -> E {
        let e = E::custom(&message);
        *self.message.borrow_mut() = Some(message);
        e
    }

    pub(super) fn error(&self, file: &Path, e: &serde_json::Error) -> InputError {
        let message = self.message.borrow().clone().unwrap_or_else(|| {
            let s = e.to_string();
            match s.rsplit_once(" at line ") {
                Some((m, _)) => m.to_string(),
                None => s,
            }
        });
        let message = if e.column() > 0 {
            format!("{message} (column {})", e.column())
        } else {
            message
        };
        let err = InputError::new(file, message);
        let err = if e.line() > 0 {
            err.at_line(e.line())
        } else {
            err
        };
        let path = self.path.borrow();
        if path.is_empty() {
            err
        } else {
            err.in_field(path.as_str())
        }
    }
}

/// What the top-level object held.
#[derive(Default)]
pub(super) struct Top {
    pub(super) gap: Option<SimDuration>,
    pub(super) metadata_seen: bool,
    pub(super) data: Option<Vec<u32>>,
}

/// Reads the top-level object.
pub(super) struct TopSeed<'a>(pub(super) &'a Tracker);

impl<'de> DeserializeSeed<'de> for TopSeed<'_> {
    type Value = Top;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Top, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for TopSeed<'_> {
    type Value = Top;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object with `metadata` and `data`")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Top, A::Error> {
        let t = self.0;
        let mut top = Top::default();
        while let Some(key) = map.next_key::<String>()? {
            t.set(key.as_str());
            match key.as_str() {
                "metadata" if top.metadata_seen => return Err(t.fail(dup("metadata"))),
                "metadata" => {
                    top.metadata_seen = true;
                    top.gap = map.next_value_seed(MetaSeed(t))?;
                }
                "data" if top.data.is_some() => return Err(t.fail(dup("data"))),
                "data" => top.data = Some(map.next_value_seed(DataSeed(t))?),
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        t.set("");
        Ok(top)
    }
}

fn dup(key: &str) -> String {
    format!("`{key}` is given twice")
}

struct MetaSeed<'a>(&'a Tracker);

impl<'de> DeserializeSeed<'de> for MetaSeed<'_> {
    type Value = Option<SimDuration>;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for MetaSeed<'_> {
    type Value = Option<SimDuration>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object with `gap_seconds`")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let t = self.0;
        let mut gap = None;
        while let Some(key) = map.next_key::<String>()? {
            t.set(format!("metadata.{key}"));
            if key != "gap_seconds" {
                map.next_value::<IgnoredAny>()?;
                continue;
            }
            if gap.is_some() {
                return Err(t.fail(dup("gap_seconds")));
            }
            let v: serde_json::Value = map.next_value()?;
            let secs = v.as_f64().filter(|s| s.is_finite() && *s > 0.0);
            let ms = secs.map(|s| (s * 1000.0).round()).filter(|&ms| ms >= 1.0);
            match ms {
                Some(ms) if ms < 1e15 => gap = Some(SimDuration(ms as u64)),
                _ => {
                    return Err(t.fail(format!(
                        "expected a number of seconds > 0 (at least 1 ms), got {v}"
                    )))
                }
            }
        }
        t.set("metadata");
        Ok(gap)
    }
}

struct DataSeed<'a>(&'a Tracker);

impl<'de> DeserializeSeed<'de> for DataSeed<'_> {
    type Value = Vec<u32>;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Vec<u32>, D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for DataSeed<'_> {
    type Value = Vec<u32>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array of whole numbers ≥ 0")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<u32>, A::Error> {
        let t = self.0;
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1 << 16));
        loop {
            t.set(format!("data[{}]", out.len()));
            match seq.next_element_seed(TickSeed(t))? {
                Some(v) => out.push(v),
                None => break,
            }
        }
        t.set("data");
        Ok(out)
    }
}

struct TickSeed<'a>(&'a Tracker);

impl<'de> DeserializeSeed<'de> for TickSeed<'_> {
    type Value = u32;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<u32, D::Error> {
        d.deserialize_any(self)
    }
}

impl TickSeed<'_> {
    fn bad<E: de::Error>(&self, got: impl fmt::Display) -> E {
        self.0.fail(format!(
            "expected a whole number of instances ≥ 0, got {got}"
        ))
    }
}

impl<'de> Visitor<'de> for TickSeed<'_> {
    type Value = u32;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a whole number of instances ≥ 0")
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<u32, E> {
        u32::try_from(v).map_err(|_| self.bad(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<u32, E> {
        u32::try_from(v).map_err(|_| self.bad(v))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<u32, E> {
        // `2.0` is a whole number; `1.5`, `-1.0` and huge values are not counts.
        if v.fract() == 0.0 && (0.0..=u32::MAX as f64).contains(&v) {
            Ok(v as u32)
        } else {
            Err(self.bad(v))
        }
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<u32, E> {
        Err(self.bad(v))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<u32, E> {
        Err(self.bad(format_args!("the string {v:?}")))
    }

    fn visit_unit<E: de::Error>(self) -> Result<u32, E> {
        Err(self.bad("null"))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, _: A) -> Result<u32, A::Error> {
        Err(self.bad("an array"))
    }

    fn visit_map<A: MapAccess<'de>>(self, _: A) -> Result<u32, A::Error> {
        Err(self.bad("an object"))
    }
}
