//! Chart descriptions and how they are drawn. A chart is data plus labels; [`render`] draws
//! it once as SVG (kept as a string for inlining into index.html, and written to a file) and
//! once as PNG when a font is available.

use super::backend::Measured;
use super::font::{self, FAMILY};
use anyhow::{anyhow, Context};
use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::path::{Path, PathBuf};

/// Default chart size, pixels: readable at a glance, fits a laptop screen.
pub const SIZE: (u32, u32) = (900, 450);
/// Width of the legend column right of the plot.
const LEGEND_W: u32 = 205;

/// Series colours: distinct hues, dark enough for thin lines on white.
pub const PALETTE: [RGBColor; 10] = [
    RGBColor(31, 100, 180),
    RGBColor(240, 130, 20),
    RGBColor(40, 150, 60),
    RGBColor(200, 40, 45),
    RGBColor(130, 90, 180),
    RGBColor(140, 85, 70),
    RGBColor(220, 110, 180),
    RGBColor(100, 100, 100),
    RGBColor(170, 170, 30),
    RGBColor(20, 170, 190),
];

/// Colour of series `i`.
pub fn color(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

/// What an x-y chart shows.
pub enum Plot {
    /// One line per series: `(name, points)`.
    Lines(Vec<(String, Vec<(f64, f64)>)>),
    /// Bands stacked in order, the first at the bottom: x values and per-series y values.
    Stacked {
        /// Shared x values.
        x: Vec<f64>,
        /// `(name, values)`, not yet stacked.
        series: Vec<(String, Vec<f64>)>,
    },
    /// One bar per x: bars start at x and are `width` wide.
    Bars {
        /// Left edges.
        x: Vec<f64>,
        /// Bar width, x units.
        width: f64,
        /// Heights.
        values: Vec<f64>,
        /// Legend name.
        name: String,
    },
}

/// An x-y chart with axes from 0.
pub struct XyChart {
    /// Title above the plot.
    pub title: String,
    /// x axis label, with unit.
    pub x_desc: String,
    /// y axis label, with unit.
    pub y_desc: String,
    /// Right end of the x axis.
    pub x_max: f64,
    /// Fixed top of the y axis (else from the data).
    pub y_max: Option<f64>,
    /// The data.
    pub plot: Plot,
    /// A note written across the plot (e.g. "no interruptions").
    pub note: Option<String>,
    /// y values are counts: whole-number ticks only.
    pub integer_y: bool,
}

/// Horizontal bar panels, one row per name, stacked top to bottom: small multiples that share
/// the row names (e.g. strategies).
pub struct BarPanels {
    /// Title above the panels.
    pub title: String,
    /// Row names, top to bottom.
    pub names: Vec<String>,
    /// The panels.
    pub panels: Vec<BarPanel>,
}

/// One panel of [`BarPanels`].
pub struct BarPanel {
    /// Axis label, with unit.
    pub x_desc: String,
    /// Stacked parts: `(legend name, colour index, value per row)`.
    pub parts: Vec<(String, usize, Vec<f64>)>,
    /// Formats a row's total for the label at the bar's end.
    pub value_label: fn(f64) -> String,
}

/// A cost-versus-something scatter with a Pareto front.
pub struct Scatter {
    /// Title.
    pub title: String,
    /// x axis label.
    pub x_desc: String,
    /// y axis label.
    pub y_desc: String,
    /// The points.
    pub points: Vec<ScatterPoint>,
}

/// One point of a [`Scatter`].
pub struct ScatterPoint {
    /// x.
    pub x: f64,
    /// 95% interval of x, drawn as a thin bar.
    pub x_ci: (f64, f64),
    /// y.
    pub y: f64,
    /// On the Pareto front.
    pub front: bool,
    /// The recommended point.
    pub recommended: bool,
    /// Name shown next to the recommended point.
    pub label: String,
}

/// Something [`render`] can draw.
pub enum Chart {
    /// See [`XyChart`].
    Xy(XyChart),
    /// See [`BarPanels`].
    Bars(BarPanels),
    /// See [`Scatter`].
    Scatter(Scatter),
}

impl Chart {
    fn size(&self) -> (u32, u32) {
        match self {
            // Each panel needs room for its rows and its axis.
            Chart::Bars(b) => (
                SIZE.0,
                SIZE.1
                    .max(40 + b.panels.len() as u32 * (70 + 26 * b.names.len() as u32)),
            ),
            _ => SIZE,
        }
    }

    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> anyhow::Result<()> {
        area.fill(&WHITE).map_err(fail)?;
        match self {
            Chart::Xy(c) => draw_xy(c, area),
            Chart::Bars(c) => draw_bars(c, area),
            Chart::Scatter(c) => draw_scatter(c, area),
        }?;
        area.present().map_err(fail)
    }
}

/// A drawn chart.
pub struct Rendered {
    /// File stem and HTML id, e.g. `fleet`.
    pub name: String,
    /// The SVG document.
    pub svg: String,
    /// The PNG file, when one was written.
    pub png: Option<PathBuf>,
}

/// Draws `chart` as `<charts_dir>/<name>.svg` and, when a font is available,
/// `<charts_dir>/<name>.png`.
pub fn render(chart: &Chart, charts_dir: &Path, name: &str) -> anyhow::Result<Rendered> {
    std::fs::create_dir_all(charts_dir).with_context(|| charts_dir.display().to_string())?;
    let size = chart.size();
    // Before the SVG too: with a font, its text is measured with real glyph widths, so every
    // chart is laid out the same way, first of the process or not.
    let fonts = font::available();
    let mut svg = String::new();
    {
        let area = Measured(SVGBackend::with_string(&mut svg, size)).into_drawing_area();
        chart
            .draw(&area)
            .with_context(|| format!("drawing chart {name} (SVG)"))?;
    }
    let svg_path = charts_dir.join(format!("{name}.svg"));
    std::fs::write(&svg_path, &svg).with_context(|| svg_path.display().to_string())?;
    let png = if fonts {
        let path = charts_dir.join(format!("{name}.png"));
        {
            let area = Measured(BitMapBackend::new(&path, size)).into_drawing_area();
            chart
                .draw(&area)
                .with_context(|| format!("{}: drawing the chart", path.display()))?;
        }
        Some(path)
    } else {
        None
    };
    Ok(Rendered {
        name: name.to_string(),
        svg,
        png,
    })
}

fn fail<E: std::fmt::Display>(e: E) -> anyhow::Error {
    anyhow!("{e}")
}

/// Splits off a legend column on the right when there are legend entries.
fn with_legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    entries: &[(String, RGBColor)],
) -> anyhow::Result<DrawingArea<DB, Shift>> {
    if entries.is_empty() {
        return Ok(area.clone());
    }
    let (w, _) = area.dim_in_pixel();
    let (plot, legend) = area.split_horizontally(w.saturating_sub(LEGEND_W));
    let style = TextStyle::from((FAMILY, 13).into_font()).pos(Pos::new(HPos::Left, VPos::Center));
    for (i, (name, c)) in entries.iter().enumerate() {
        let y = 60 + 22 * i as i32;
        legend
            .draw(&Rectangle::new([(6, y - 6), (20, y + 6)], c.filled()))
            .map_err(fail)?;
        legend
            .draw(&Text::new(shorten(name, 27), (26, y), style.clone()))
            .map_err(fail)?;
    }
    Ok(plot)
}

/// `s` cut to `n` characters with an ellipsis, so a long name cannot push out the plot.
pub fn shorten(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(n.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

/// A tick label without needless decimals.
pub fn tick(v: f64) -> String {
    let a = v.abs();
    if a >= 1e6 {
        format!("{:.1}M", v / 1e6)
    } else if a >= 1e4 {
        format!("{:.0}k", v / 1e3)
    } else if a >= 100.0 {
        format!("{v:.0}")
    } else {
        // Two decimals at most, trailing zeros dropped: 0.5, 1, 2.25.
        let s = format!("{v:.2}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

/// [`tick`] on an axis spanning `span`: narrow axes (a sweep whose costs differ by
/// fractions of a cent) get as many decimals as they need for distinct labels.
pub fn tick_in(v: f64, span: f64) -> String {
    if !(span > 0.0 && span < 10.0) || v.abs() >= 100.0 {
        return tick(v);
    }
    let decimals = ((10.0 / span).log10().ceil() as usize).clamp(2, 6);
    let s = format!("{v:.decimals$}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

fn legend_entries(plot: &Plot) -> Vec<(String, RGBColor)> {
    match plot {
        Plot::Lines(s) if s.len() > 1 => s
            .iter()
            .enumerate()
            .map(|(i, (n, _))| (n.clone(), color(i)))
            .collect(),
        // Listed top band first, as the bands are seen.
        Plot::Stacked { series, .. } => series
            .iter()
            .enumerate()
            .rev()
            .map(|(i, (n, _))| (n.clone(), color(i)))
            .collect(),
        _ => Vec::new(),
    }
}

fn y_top(c: &XyChart) -> f64 {
    let data_max = match &c.plot {
        Plot::Lines(s) => s
            .iter()
            .flat_map(|(_, p)| p.iter().map(|q| q.1))
            .fold(0.0, f64::max),
        Plot::Stacked { series, .. } => {
            super::series::stack(&series.iter().map(|s| s.1.clone()).collect::<Vec<_>>())
                .last()
                .map_or(0.0, |top| top.iter().copied().fold(0.0, f64::max))
        }
        Plot::Bars { values, .. } => values.iter().copied().fold(0.0, f64::max),
    };
    let top = c.y_max.unwrap_or(data_max * 1.08);
    let top = if c.integer_y { top.ceil() } else { top };
    if top.is_finite() && top > 0.0 {
        top
    } else {
        1.0
    }
}

/// The frame every x–y chart shares: title, margins, both axes described (with their units)
/// and a light grid.
fn frame<'a, DB: DrawingBackend>(
    area: &'a DrawingArea<DB, Shift>,
    title: &str,
    (x, y): (std::ops::Range<f64>, std::ops::Range<f64>),
    (x_desc, y_desc): (&str, &str),
    y_labels: usize,
) -> anyhow::Result<ChartContext<'a, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>> {
    let (x_span, y_span) = (x.end - x.start, y.end - y.start);
    let mut chart = ChartBuilder::on(area)
        .caption(title, (FAMILY, 20))
        .margin(12)
        .x_label_area_size(46)
        .y_label_area_size(70)
        .build_cartesian_2d(x, y)
        .map_err(fail)?;
    chart
        .configure_mesh()
        .y_labels(y_labels)
        .x_desc(x_desc)
        .y_desc(y_desc)
        .x_label_formatter(&|v| tick_in(*v, x_span))
        .y_label_formatter(&|v| tick_in(*v, y_span))
        .label_style((FAMILY, 13))
        .axis_desc_style((FAMILY, 14))
        .light_line_style(RGBColor(242, 242, 242))
        .bold_line_style(RGBColor(225, 225, 225))
        .draw()
        .map_err(fail)?;
    Ok(chart)
}

fn draw_xy<DB: DrawingBackend>(c: &XyChart, area: &DrawingArea<DB, Shift>) -> anyhow::Result<()> {
    let plot_area = with_legend(area, &legend_entries(&c.plot))?;
    let x_max = if c.x_max > 0.0 && c.x_max.is_finite() {
        c.x_max
    } else {
        1.0
    };
    // Counts up to 10 get a tick per whole number; plotters would pick tenths.
    let y_labels = if c.integer_y && y_top(c) <= 10.0 {
        y_top(c) as usize + 1
    } else {
        10
    };
    let mut chart = frame(
        &plot_area,
        &c.title,
        (0f64..x_max, 0f64..y_top(c)),
        (&c.x_desc, &c.y_desc),
        y_labels,
    )?;
    match &c.plot {
        Plot::Lines(series) => {
            for (i, (_, pts)) in series.iter().enumerate() {
                chart
                    .draw_series(LineSeries::new(
                        pts.iter().copied(),
                        color(i).stroke_width(2),
                    ))
                    .map_err(fail)?;
            }
        }
        Plot::Stacked { x, series } => {
            let layers =
                super::series::stack(&series.iter().map(|s| s.1.clone()).collect::<Vec<_>>());
            // Top band first, each lower one painted over it: what shows of each is its band.
            for (i, layer) in layers.iter().enumerate().rev() {
                let pts: Vec<(f64, f64)> = x.iter().copied().zip(layer.iter().copied()).collect();
                chart
                    .draw_series(AreaSeries::new(pts, 0.0, color(i).filled()))
                    .map_err(fail)?;
            }
        }
        Plot::Bars {
            x, width, values, ..
        } => {
            // At least 1/300 of the axis wide, so a single bucket still shows as a bar.
            let width = width.max(x_max / 300.0);
            let bars = x
                .iter()
                .zip(values)
                .filter(|(_, v)| **v > 0.0)
                .map(|(x, v)| Rectangle::new([(*x, 0.0), (x + width, *v)], color(3).filled()));
            chart.draw_series(bars).map_err(fail)?;
        }
    }
    if let Some(note) = &c.note {
        let (w, h) = plot_area.dim_in_pixel();
        let style = TextStyle::from((FAMILY, 20).into_font())
            .color(&RGBColor(110, 110, 110))
            .pos(Pos::new(HPos::Center, VPos::Center));
        plot_area
            .draw(&Text::new(
                note.clone(),
                (w as i32 / 2 + 30, h as i32 / 2),
                style,
            ))
            .map_err(fail)?;
    }
    Ok(())
}

fn draw_bars<DB: DrawingBackend>(
    c: &BarPanels,
    area: &DrawingArea<DB, Shift>,
) -> anyhow::Result<()> {
    let mut entries = Vec::new();
    for p in &c.panels {
        for (name, ci, _) in &p.parts {
            entries.push((name.clone(), color(*ci)));
        }
    }
    let area = with_legend(area, &entries)?;
    let area = area.titled(&c.title, (FAMILY, 20)).map_err(fail)?;
    let panels = area.split_evenly((c.panels.len().max(1), 1));
    for (p, pa) in c.panels.iter().zip(&panels) {
        draw_bar_panel(p, &c.names, pa)?;
    }
    Ok(())
}

fn draw_bar_panel<DB: DrawingBackend>(
    p: &BarPanel,
    names: &[String],
    area: &DrawingArea<DB, Shift>,
) -> anyhow::Result<()> {
    let n = names.len();
    let totals: Vec<f64> = (0..n)
        .map(|r| {
            p.parts
                .iter()
                .map(|(_, _, v)| v.get(r).copied().unwrap_or(0.0))
                .sum()
        })
        .collect();
    let max = totals.iter().copied().fold(0.0, f64::max);
    // Room right of the longest bar for its value label.
    let x_max = if max > 0.0 && max.is_finite() {
        max * 1.25
    } else {
        1.0
    };
    let mut chart = ChartBuilder::on(area)
        .margin(8)
        .x_label_area_size(40)
        .y_label_area_size(230)
        .build_cartesian_2d(0f64..x_max, (0..n as i32).into_segmented())
        .map_err(fail)?;
    chart
        .configure_mesh()
        .disable_y_mesh()
        .x_desc(&p.x_desc)
        .x_label_formatter(&|v| tick(*v))
        .y_labels(n + 1)
        .y_label_formatter(&|v| match v {
            SegmentValue::CenterOf(k) => names
                .get((names.len() as i32 - 1 - *k) as usize)
                .map(|s| shorten(s, 30))
                .unwrap_or_default(),
            _ => String::new(),
        })
        .label_style((FAMILY, 13))
        .axis_desc_style((FAMILY, 14))
        .light_line_style(RGBColor(242, 242, 242))
        .bold_line_style(RGBColor(225, 225, 225))
        .draw()
        .map_err(fail)?;
    for (r, &total) in totals.iter().enumerate() {
        // Row 0 at the top: plotters counts segments from the bottom.
        let k = (n - 1 - r) as i32;
        let mut left = 0.0;
        for (_, ci, values) in &p.parts {
            let v = values.get(r).copied().unwrap_or(0.0).max(0.0);
            let mut bar = Rectangle::new(
                [
                    (left, SegmentValue::Exact(k)),
                    (left + v, SegmentValue::Exact(k + 1)),
                ],
                color(*ci).filled(),
            );
            bar.set_margin(4, 4, 0, 0);
            chart.draw_series(std::iter::once(bar)).map_err(fail)?;
            left += v;
        }
        let style =
            TextStyle::from((FAMILY, 13).into_font()).pos(Pos::new(HPos::Left, VPos::Center));
        chart
            .draw_series(std::iter::once(Text::new(
                format!(" {}", (p.value_label)(total)),
                (total, SegmentValue::CenterOf(k)),
                style,
            )))
            .map_err(fail)?;
    }
    Ok(())
}

fn padded(lo: f64, hi: f64) -> (f64, f64) {
    if !(lo.is_finite() && hi.is_finite()) {
        return (0.0, 1.0);
    }
    let pad = if hi > lo {
        (hi - lo) * 0.08
    } else {
        lo.abs().max(1.0) * 0.1
    };
    ((lo - pad).max(0.0), hi + pad)
}

fn draw_scatter<DB: DrawingBackend>(
    c: &Scatter,
    area: &DrawingArea<DB, Shift>,
) -> anyhow::Result<()> {
    let light = RGBColor(175, 175, 175);
    let front_c = color(0);
    let rec_c = color(3);
    let entries = vec![
        ("dominated".to_string(), light),
        ("Pareto front".to_string(), front_c),
        ("recommended".to_string(), rec_c),
    ];
    let plot_area = with_legend(area, &entries)?;
    let xs = c
        .points
        .iter()
        .flat_map(|p| [p.x, p.x_ci.0, p.x_ci.1])
        .filter(|v| v.is_finite());
    let (x_lo, x_hi) = padded(
        xs.clone().fold(f64::INFINITY, f64::min),
        xs.fold(f64::NEG_INFINITY, f64::max),
    );
    let y_hi = c
        .points
        .iter()
        .map(|p| p.y)
        .filter(|v| v.is_finite())
        .fold(0.0, f64::max);
    let y_hi = if y_hi > 0.0 { y_hi * 1.12 } else { 1.0 };
    // Plotters' default of about ten y labels.
    let mut chart = frame(
        &plot_area,
        &c.title,
        (x_lo..x_hi, 0f64..y_hi),
        (&c.x_desc, &c.y_desc),
        10,
    )?;
    for p in &c.points {
        let ci_color = if p.front {
            front_c.mix(0.5)
        } else {
            light.mix(0.5)
        };
        chart
            .draw_series(std::iter::once(PathElement::new(
                vec![(p.x_ci.0, p.y), (p.x_ci.1, p.y)],
                ci_color.stroke_width(1),
            )))
            .map_err(fail)?;
    }
    let dominated = c.points.iter().filter(|p| !p.front);
    chart
        .draw_series(dominated.map(|p| Circle::new((p.x, p.y), 3, light.filled())))
        .map_err(fail)?;
    chart
        .draw_series(std::iter::once(PathElement::new(
            front_steps(&c.points),
            front_c.stroke_width(2),
        )))
        .map_err(fail)?;
    chart
        .draw_series(
            c.points
                .iter()
                .filter(|p| p.front)
                .map(|p| Circle::new((p.x, p.y), 5, front_c.filled())),
        )
        .map_err(fail)?;
    // Front points carry their number (the label up to `:`); the table says what each is.
    let small = TextStyle::from((FAMILY, 12).into_font())
        .color(&front_c)
        .pos(Pos::new(HPos::Left, VPos::Top));
    for p in c.points.iter().filter(|p| p.front && !p.recommended) {
        let tag = format!("#{}", p.label.split(':').next().unwrap_or(&p.label));
        chart
            .draw_series(std::iter::once(
                EmptyElement::at((p.x, p.y)) + Text::new(tag, (8, 4), small.clone()),
            ))
            .map_err(fail)?;
    }
    for p in c.points.iter().filter(|p| p.recommended) {
        chart
            .draw_series(std::iter::once(Circle::new(
                (p.x, p.y),
                10,
                rec_c.stroke_width(3),
            )))
            .map_err(fail)?;
        let style = TextStyle::from((FAMILY, 14).into_font())
            .color(&rec_c)
            .pos(Pos::new(HPos::Left, VPos::Bottom));
        chart
            .draw_series(std::iter::once(
                EmptyElement::at((p.x, p.y)) + Text::new(shorten(&p.label, 40), (12, -10), style),
            ))
            .map_err(fail)?;
    }
    Ok(())
}

/// The front as a staircase: sorted by x, each step holds its y until the next point's x,
/// then drops (a cheaper point is never better on y, or it would dominate).
pub fn front_steps(points: &[ScatterPoint]) -> Vec<(f64, f64)> {
    let mut front: Vec<(f64, f64)> = points
        .iter()
        .filter(|p| p.front)
        .map(|p| (p.x, p.y))
        .collect();
    front.sort_by(|a, b| a.0.total_cmp(&b.0).then(b.1.total_cmp(&a.1)));
    let mut out = Vec::with_capacity(front.len() * 2);
    for (i, &(x, y)) in front.iter().enumerate() {
        if i > 0 {
            out.push((x, front[i - 1].1));
        }
        out.push((x, y));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pt(x: f64, y: f64, front: bool) -> ScatterPoint {
        ScatterPoint {
            x,
            x_ci: (x, x),
            y,
            front,
            recommended: false,
            label: String::new(),
        }
    }

    #[test]
    fn front_is_a_staircase_in_cost_order() {
        let pts = [
            pt(3.0, 1.0, true),
            pt(1.0, 5.0, true),
            pt(2.0, 9.0, false),
            pt(2.0, 2.0, true),
        ];
        assert_eq!(
            front_steps(&pts),
            vec![(1.0, 5.0), (2.0, 5.0), (2.0, 2.0), (3.0, 2.0), (3.0, 1.0)]
        );
    }

    #[test]
    fn ticks_and_shortening() {
        assert_eq!(tick(2.0), "2");
        assert_eq!(tick(2.5), "2.5");
        assert_eq!(tick(0.25), "0.25");
        assert_eq!(tick(0.5), "0.5");
        assert_eq!(tick(0.0), "0");
        assert_eq!(tick(25_000.0), "25k");
        assert_eq!(tick(2_500_000.0), "2.5M");
        // 0.3420 to 0.3524: labels every 0.001 need three decimals.
        assert_eq!(tick_in(0.342, 0.0104), "0.342");
        assert_eq!(tick_in(0.343, 0.0104), "0.343");
        assert_eq!(tick(0.343), "0.34"); // what a plain tick would say for both neighbours
        assert_eq!(tick_in(0.5, 1.0), "0.5");
        assert_eq!(tick_in(250.0, 5.0), "250");
        assert_eq!(shorten("abcdef", 4), "abc…");
        assert_eq!(shorten("abc", 4), "abc");
    }

    #[test]
    fn svg_is_written_with_escaped_text() {
        let dir = tempfile::tempdir().unwrap();
        let chart = Chart::Xy(XyChart {
            title: "t <&>".into(),
            x_desc: "x (s)".into(),
            y_desc: "y".into(),
            x_max: 10.0,
            y_max: None,
            plot: Plot::Lines(vec![("a".into(), vec![(0.0, 1.0), (10.0, 3.0)])]),
            note: None,
            integer_y: false,
        });
        let r = render(&chart, dir.path(), "one").unwrap();
        assert!(r.svg.contains("<svg"), "{}", &r.svg[..r.svg.len().min(200)]);
        // The title's markup characters are escaped in the SVG.
        assert!(r.svg.contains("t &lt;&amp;&gt;"));
        assert!(dir.path().join("one.svg").is_file());
    }
}
