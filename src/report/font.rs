//! The TrueType font that PNG charts are drawn with. SVG text is left to the browser, but the
//! PNG rasterizer (plotters' ab_glyph) needs real glyphs, and no font ships with flotilla:
//! one is looked for once per process, on the machine.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The family every chart names; the found font is registered under it.
pub const FAMILY: &str = "sans-serif";

/// Well-known places of a sans-serif TrueType font on Debian/Ubuntu/Fedora.
const COMMON: &[&str] = &[
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
    "/usr/share/fonts/liberation-sans/LiberationSans-Regular.ttf",
    "/usr/share/fonts/truetype/freefont/FreeSans.ttf",
];

/// Whether a font is registered for PNG text: finds and registers one on the first call;
/// when there is none, says once on stderr what to install (the SVGs are written anyway).
pub fn available() -> bool {
    static READY: OnceLock<bool> = OnceLock::new();
    *READY.get_or_init(|| match find().and_then(|p| register(&p).ok()) {
        Some(()) => true,
        None => {
            eprintln!(
                "note: no TrueType font found, so the report's charts are written as SVG only \
                 (no PNG); install one (Debian/Ubuntu: apt-get install fonts-dejavu-core) or \
                 name one with FLOTILLA_FONT=/path/to/font.ttf"
            );
            false
        }
    })
}

/// The font to use: `FLOTILLA_FONT`, then the common paths, then any `.ttf` under
/// /usr/share/fonts.
fn find() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("FLOTILLA_FONT") {
        let p = PathBuf::from(p);
        if p.is_file() {
            return Some(p);
        }
        eprintln!(
            "note: FLOTILLA_FONT={} is not a file; looking elsewhere",
            p.display()
        );
    }
    COMMON
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
        .or_else(|| walk_for_ttf(Path::new("/usr/share/fonts"), 4))
}

/// The first `.ttf` file (by sorted name, so the choice is stable) under `dir`, at most
/// `depth` folders down.
fn walk_for_ttf(dir: &Path, depth: u32) -> Option<PathBuf> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    let is_ttf = |p: &Path| p.extension().is_some_and(|e| e.eq_ignore_ascii_case("ttf"));
    if let Some(f) = entries.iter().find(|p| p.is_file() && is_ttf(p)) {
        return Some(f.clone());
    }
    if depth == 0 {
        return None;
    }
    entries
        .iter()
        .filter(|p| p.is_dir())
        .find_map(|d| walk_for_ttf(d, depth - 1))
}

fn register(path: &Path) -> Result<(), String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    // plotters keeps fonts for the life of the process and wants 'static bytes; this runs
    // once per process (OnceLock above), so the leak is one font file.
    let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
    plotters::style::register_font(FAMILY, plotters::style::FontStyle::Normal, bytes)
        .map_err(|_| format!("{}: not a TrueType/OpenType font", path.display()))
}

#[cfg(test)]
mod tests {
    use super::walk_for_ttf;

    #[test]
    fn walk_finds_a_nested_ttf_and_respects_depth() {
        let dir = tempfile::tempdir().unwrap();
        let deep = dir.path().join("a/b");
        std::fs::create_dir_all(&deep).unwrap();
        std::fs::write(dir.path().join("a/readme.txt"), "x").unwrap();
        std::fs::write(deep.join("Font.TTF"), "x").unwrap();
        assert_eq!(walk_for_ttf(dir.path(), 2), Some(deep.join("Font.TTF")));
        assert_eq!(walk_for_ttf(dir.path(), 1), None);
    }
}
