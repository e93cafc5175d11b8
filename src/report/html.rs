//! `index.html`: one self-contained page (inline CSS, every chart's SVG inlined, no script,
//! no network) with the summary tables and the charts.

use super::charts::Rendered;
use std::fmt::Write as _;
use std::path::Path;

/// A table for the page: a title, a header row and rows of cells (plain text, escaped here).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct HtmlTable {
    /// Heading above the table.
    pub title: String,
    /// Column names.
    pub header: Vec<String>,
    /// Rows of cells.
    pub rows: Vec<Vec<String>>,
}

/// A chart on the page: the drawing and a sentence on how to read it.
pub struct Figure {
    /// The drawn chart.
    pub chart: Rendered,
    /// Caption (plain text).
    pub caption: String,
}

/// Escapes text for HTML element content and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "body{font-family:system-ui,-apple-system,'DejaVu Sans',sans-serif;\
margin:24px auto;max-width:960px;color:#222;background:#fff}\
h1{font-size:1.5em;margin-bottom:.2em}h2{font-size:1.15em;margin-top:1.6em}\
.sub{color:#666;margin-top:0}\
table{border-collapse:collapse;margin:.5em 0 1em;font-size:.92em}\
th,td{border:1px solid #ddd;padding:3px 9px;text-align:left}\
th{background:#f4f4f4}td.n{text-align:right;font-variant-numeric:tabular-nums}\
figure.chart{margin:1.2em 0;padding:0}figure.chart svg{display:block;max-width:100%;height:auto}\
figcaption{color:#444;font-size:.92em;margin-top:.3em}";

/// Writes `dir/index.html`.
pub fn write_index(
    dir: &Path,
    title: &str,
    subtitle: &str,
    tables: &[HtmlTable],
    figures: &[Figure],
) -> anyhow::Result<()> {
    let page = page(dir, title, subtitle, tables, figures);
    let path = dir.join("index.html");
    std::fs::write(&path, page).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}

fn page(
    dir: &Path,
    title: &str,
    subtitle: &str,
    tables: &[HtmlTable],
    figures: &[Figure],
) -> String {
    let mut h = String::new();
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>{t}</title><style>{STYLE}</style></head>\n<body>\n<h1>{t}</h1>\n\
         <p class=\"sub\">{s}</p>\n",
        t = escape(title),
        s = escape(subtitle)
    );
    for t in tables {
        table(&mut h, t);
    }
    for f in figures {
        figure(&mut h, dir, f);
    }
    h.push_str("</body></html>\n");
    h
}

fn table(h: &mut String, t: &HtmlTable) {
    let _ = write!(h, "<h2>{}</h2>\n<table>\n<tr>", escape(&t.title));
    for c in &t.header {
        let _ = write!(h, "<th>{}</th>", escape(c));
    }
    h.push_str("</tr>\n");
    for r in &t.rows {
        h.push_str("<tr>");
        for c in r {
            // Numbers align right so columns of figures read down.
            let class = if c.trim().parse::<f64>().is_ok() {
                " class=\"n\""
            } else {
                ""
            };
            let _ = write!(h, "<td{class}>{}</td>", escape(c));
        }
        h.push_str("</tr>\n");
    }
    h.push_str("</table>\n");
}

fn figure(h: &mut String, dir: &Path, f: &Figure) {
    let id = escape(&f.chart.name);
    let _ = writeln!(h, "<figure class=\"chart\" id=\"{id}\">");
    h.push_str(strip_prolog(&f.chart.svg));
    let _ = write!(h, "\n<figcaption>{}", escape(&f.caption));
    if let Some(png) = &f.chart.png {
        // Relative, so the folder can be moved or served as is.
        let rel = png.strip_prefix(dir).unwrap_or(png);
        let href = escape(&rel.to_string_lossy());
        let _ = write!(h, " (<a href=\"{href}\">PNG</a>)");
    }
    h.push_str("</figcaption>\n</figure>\n");
}

/// The SVG element without an XML declaration, which is not allowed inside HTML.
fn strip_prolog(svg: &str) -> &str {
    let s = svg.trim_start();
    if s.starts_with("<?xml") {
        s.find("?>").map_or(s, |i| s[i + 2..].trim_start())
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping() {
        assert_eq!(escape("a<b>&\"c'"), "a&lt;b&gt;&amp;&quot;c&#39;");
    }

    #[test]
    fn page_has_escaped_tables_and_figures_with_ids() {
        let dir = Path::new("/run");
        let fig = Figure {
            chart: Rendered {
                name: "fleet".into(),
                svg: "<?xml version=\"1.0\"?>\n<svg width=\"1\"></svg>".into(),
                png: Some(dir.join("charts/fleet.png")),
            },
            caption: "x < y".into(),
        };
        let t = HtmlTable {
            title: "Summary".into(),
            header: vec!["field".into(), "value".into()],
            rows: vec![vec!["<b>".into(), "1.5".into()]],
        };
        let p = page(dir, "T&T", "sub", &[t], &[fig]);
        assert!(p.contains("<title>T&amp;T</title>"));
        assert!(p.contains("<td>&lt;b&gt;</td><td class=\"n\">1.5</td>"));
        assert!(p.contains("<figure class=\"chart\" id=\"fleet\">\n<svg width=\"1\"></svg>"));
        assert!(p.contains("<figcaption>x &lt; y (<a href=\"charts/fleet.png\">PNG</a>)"));
        assert!(!p.contains("<?xml"));
    }
}
