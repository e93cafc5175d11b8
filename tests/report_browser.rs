//! The HTML reports as a reader sees them: `flotilla simulate` and `flotilla compare`
//! (`--strategies` and `--policies`; the built binary) and `write_sweep_report` (made-up
//! points) write index.html; headless Chromium renders each page, and every chart must be
//! there, at its size, and not blank.
//!
//! Chromium missing: the browser part fails under CI=true, else it is skipped loudly (the
//! file checks still run).

use flotilla::report::{write_sweep_report, HtmlTable, SweepPoint};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const RUN_CHARTS: [&str; 6] = [
    "fleet",
    "vcpus",
    "queue",
    "cost",
    "wait_cdf",
    "interruptions",
];
const COMPARE_CHARTS: [&str; 2] = ["strategies", "wait_cdf"];
const POLICY_CHARTS: [&str; 2] = ["policies", "wait_cdf"];
const SWEEP_CHARTS: [&str; 2] = ["pareto_wait", "pareto_makespan"];
const WIDTH: u32 = 1200;

fn flotilla(args: &[&str]) {
    let o = Command::new(env!("CARGO_BIN_EXE_flotilla"))
        .args(args)
        .output()
        .expect("binary runs");
    assert!(
        o.status.success(),
        "flotilla {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// Made-up sweep points: a front of three, two dominated, one recommended.
fn sweep_points() -> Vec<SweepPoint> {
    let p = |label: &str, cost: f64, wait: f64, makespan: f64, fw: bool, fm: bool| SweepPoint {
        label: label.to_string(),
        cost_usd: cost,
        cost_ci95: (cost * 0.95, cost * 1.05),
        wait_p95_s: wait,
        makespan_s: makespan,
        front_cost_wait: fw,
        front_cost_makespan: fm,
        recommended: false,
    };
    let mut v = vec![
        p("maxvCpus=64 & <Spot>", 10.0, 900.0, 7200.0, true, true),
        p("maxvCpus=128", 14.0, 300.0, 5400.0, true, true),
        p("maxvCpus=256", 22.0, 60.0, 5000.0, true, true),
        p("maxvCpus=128 BEST_FIT", 18.0, 700.0, 6000.0, false, false),
        p("maxvCpus=256 BEST_FIT", 25.0, 200.0, 4000.0, false, true),
    ];
    v[1].recommended = true;
    v
}

#[test]
fn reports_render_in_a_browser_with_every_chart() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("run");
    let cmp = tmp.path().join("compare");
    let cmp_pol = tmp.path().join("compare-policies");
    let sweep = tmp.path().join("sweep");
    let started = Instant::now();
    flotilla(&[
        "simulate",
        "scenarios/quickstart.toml",
        "--out",
        run.to_str().unwrap(),
    ]);
    flotilla(&[
        "compare",
        "scenarios/quickstart.toml",
        "--seeds",
        "2",
        "--out",
        cmp.to_str().unwrap(),
    ]);
    // Scheduling policies side by side: six bar panels of the literature's metrics.
    flotilla(&[
        "compare",
        "scenarios/quickstart.toml",
        "--policies",
        "fifo,easy-backfill,best-fit[headroom=0.1]+sjf",
        "--out",
        cmp_pol.to_str().unwrap(),
    ]);
    let html = std::fs::read_to_string(cmp_pol.join("index.html")).unwrap();
    assert!(html.contains("Means per policy (compare.csv)"));
    assert!(html.contains("bounded sld") && html.contains("easy-backfill"));
    let table = HtmlTable {
        title: "Sweep <grid>".into(),
        header: vec!["config".into(), "cost USD".into()],
        rows: vec![vec!["maxvCpus=128".into(), "14.00".into()]],
    };
    write_sweep_report(&sweep, "flotilla sweep: test", &sweep_points(), &[table]).unwrap();
    // A real plan folder: `flotilla plan` over a small grid, the recommended point marked.
    let plan = tmp.path().join("plan");
    flotilla(&[
        "plan",
        "scenarios/quickstart.toml",
        "--grid",
        "tests/fixtures/plan/quickstart-grid.toml",
        "--max-p95-wait",
        "30m",
        "--out",
        plan.to_str().unwrap(),
    ]);
    let html = std::fs::read_to_string(plan.join("index.html")).unwrap();
    assert!(
        html.contains("(recommended)"),
        "the plan's table marks its answer"
    );
    eprintln!(
        "reports written in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    let pages = [
        (run.as_path(), &RUN_CHARTS[..]),
        (cmp.as_path(), &COMPARE_CHARTS[..]),
        (cmp_pol.as_path(), &POLICY_CHARTS[..]),
        (sweep.as_path(), &SWEEP_CHARTS[..]),
        (plan.as_path(), &SWEEP_CHARTS[..]),
    ];
    let interrupted = run_had_interruptions(&run);
    for (dir, names) in pages {
        check_files(dir, names, interrupted);
    }
    let Some(chromium) = chromium() else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "chromium is not installed (CI=true): install it (.ci/run does with apt-get)"
        );
        eprintln!("\n*** SKIPPED: chromium not installed; the browser checks did not run ***\n");
        return;
    };
    for (dir, names) in pages {
        let t = Instant::now();
        check_in_browser(&chromium, dir, names, interrupted);
        eprintln!(
            "{}: rendered and checked in {:.1} s",
            dir.display(),
            t.elapsed().as_secs_f64()
        );
    }
}

fn run_had_interruptions(run: &Path) -> bool {
    let s: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("summary.json")).unwrap()).unwrap();
    s["spot_interruptions"].as_u64().unwrap() > 0
}

/// Whether a chart must show coloured data: all do, but an interruptions chart of a run
/// without interruptions is honestly empty.
fn needs_data(name: &str, interrupted: bool) -> bool {
    name != "interruptions" || interrupted
}

/// index.html has one figure per chart, with its SVG inlined and a PNG link; the SVG and PNG
/// files exist and the PNGs are not blank.
fn check_files(dir: &Path, names: &[&str], interrupted: bool) {
    let html = std::fs::read_to_string(dir.join("index.html")).unwrap();
    assert_eq!(
        html.matches("<figure class=\"chart\"").count(),
        names.len(),
        "{}: figures",
        dir.display()
    );
    // Self-contained: no script, nothing fetched.
    assert!(!html.contains("<script"), "{}: a script", dir.display());
    for link in ["src=\"http", "href=\"http", "url(http", "@import"] {
        assert!(!html.contains(link), "{}: fetches {link}", dir.display());
    }
    let fonts = flotilla::report::font::available();
    for name in names {
        let fig = format!("<figure class=\"chart\" id=\"{name}\">\n<svg");
        assert!(
            html.contains(&fig),
            "{}: no inlined figure {name}",
            dir.display()
        );
        assert!(dir.join(format!("charts/{name}.svg")).is_file());
        if fonts {
            let png = dir.join(format!("charts/{name}.png"));
            assert!(html.contains(&format!("href=\"charts/{name}.png\"")));
            let img = Image::read(&png);
            assert_eq!(img.width, 900, "{}", png.display());
            let full = (0, 0, img.width, img.height);
            img.assert_not_blank(
                full,
                &png.display().to_string(),
                needs_data(name, interrupted),
            );
        }
    }
}

fn chromium() -> Option<PathBuf> {
    if Path::new("/usr/bin/chromium").is_file() {
        return Some(PathBuf::from("/usr/bin/chromium"));
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join("chromium"))
        .find(|p| p.is_file())
}

/// Runs headless Chromium with `args` and a fresh profile; returns stdout.
fn run_chromium(chromium: &Path, height: u32, args: &[String]) -> String {
    let profile = tempfile::tempdir().unwrap();
    let mut child = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            "--force-device-scale-factor=1",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(format!("--window-size={WIDTH},{height}"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromium starts");
    let mut out = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut out, &mut s).ok();
        s
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if Instant::now() > deadline {
            child.kill().ok();
            panic!("chromium {args:?} took over 60 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    reader.join().unwrap()
}

/// What the probe script reports: page height and each figure's SVG box.
struct Layout {
    height: u32,
    figures: Vec<(String, (u32, u32, u32, u32))>,
}

/// Loads a copy of the page with a script that writes each figure's SVG rectangle (page
/// coordinates) into the DOM, and reads them back from `--dump-dom`.
fn layout(chromium: &Path, dir: &Path) -> Layout {
    let html = std::fs::read_to_string(dir.join("index.html")).unwrap();
    let probe = html.replace(
        "</body>",
        "<script>var o=[];document.querySelectorAll('figure.chart').forEach(function(f){\
         var s=f.querySelector('svg');var r=s?s.getBoundingClientRect():{left:0,top:0,width:0,height:0};\
         o.push([f.id,Math.round(r.left+scrollX),Math.round(r.top+scrollY),Math.round(r.width),\
         Math.round(r.height)].join(','))});var p=document.createElement('pre');p.id='rects';\
         p.textContent=document.documentElement.scrollHeight+'|'+o.join(';');\
         document.body.appendChild(p);</script></body>",
    );
    let path = dir.join("probe.html");
    std::fs::write(&path, probe).unwrap();
    let dom = run_chromium(chromium, 900, &["--dump-dom".into(), url(&path)]);
    std::fs::remove_file(&path).ok();
    let start = dom.find("<pre id=\"rects\">").expect("probe ran") + "<pre id=\"rects\">".len();
    let text = &dom[start..start + dom[start..].find("</pre>").unwrap()];
    let (h, figs) = text.split_once('|').unwrap();
    let figures = figs
        .split(';')
        .filter(|f| !f.is_empty())
        .map(|f| {
            let v: Vec<&str> = f.split(',').collect();
            let n = |i: usize| v[i].parse::<i64>().unwrap().max(0) as u32;
            (v[0].to_string(), (n(1), n(2), n(3), n(4)))
        })
        .collect();
    Layout {
        height: h.parse().unwrap(),
        figures,
    }
}

fn url(p: &Path) -> String {
    format!("file://{}", p.canonicalize().unwrap().display())
}

fn check_in_browser(chromium: &Path, dir: &Path, names: &[&str], interrupted: bool) {
    let l = layout(chromium, dir);
    let ids: Vec<&str> = l.figures.iter().map(|f| f.0.as_str()).collect();
    assert_eq!(
        ids,
        names,
        "{}: figures in the rendered page",
        dir.display()
    );
    let shot = dir.join("screenshot.png");
    let height = l.height + 40;
    run_chromium(
        chromium,
        height,
        &[
            format!("--screenshot={}", shot.display()),
            url(&dir.join("index.html")),
        ],
    );
    let img = Image::read(&shot);
    assert!(
        img.height >= l.height,
        "screenshot {} px for a {} px page",
        img.height,
        l.height
    );
    for (name, (x, y, w, h)) in &l.figures {
        assert!(*w >= 600 && *h >= 250, "{name}: drawn at {w}x{h} px");
        let what = format!("{}: figure {name} in the browser", dir.display());
        img.assert_not_blank((*x, *y, *w, *h), &what, needs_data(name, interrupted));
    }
}

/// A decoded PNG as RGB.
struct Image {
    width: u32,
    height: u32,
    rgb: Vec<[u8; 3]>,
}

impl Image {
    fn read(path: &Path) -> Image {
        let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let mut d = png::Decoder::new(file);
        d.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
        let mut r = d.read_info().unwrap();
        let mut buf = vec![0; r.output_buffer_size()];
        let info = r.next_frame(&mut buf).unwrap();
        let ch = info.color_type.samples();
        assert!(ch >= 3, "{}: not a colour image", path.display());
        let rgb = buf[..info.buffer_size()]
            .chunks_exact(ch)
            .map(|p| [p[0], p[1], p[2]])
            .collect();
        Image {
            width: info.width,
            height: info.height,
            rgb,
        }
    }

    /// In the rectangle: at least 1% of pixels not white and at least 6 distinct colours
    /// (4 bits a channel); when `data`, at least 0.05% saturated pixels left of the legend
    /// column (series are drawn in colour, axes and text in grey, and the legend's swatches,
    /// coloured too, sit in the right fifth).
    fn assert_not_blank(&self, (x, y, w, h): (u32, u32, u32, u32), what: &str, data: bool) {
        let (x1, y1) = ((x + w).min(self.width), (y + h).min(self.height));
        assert!(x1 > x && y1 > y, "{what}: empty rectangle");
        let plot_x1 = x + (x1 - x) * 79 / 100;
        let mut colours = std::collections::HashSet::new();
        let (mut ink, mut saturated, mut n) = (0u64, 0u64, 0u64);
        for yy in y..y1 {
            for xx in x..x1 {
                let [r, g, b] = self.rgb[(yy * self.width + xx) as usize];
                n += 1;
                colours.insert((r >> 4, g >> 4, b >> 4));
                if r.min(g).min(b) < 235 {
                    ink += 1;
                }
                if xx < plot_x1 && r.max(g).max(b) - r.min(g).min(b) > 60 {
                    saturated += 1;
                }
            }
        }
        let (ink, sat) = (ink as f64 / n as f64, saturated as f64 / n as f64);
        eprintln!(
            "{what}: {:.1}% ink, {:.2}% colour in the plot, {} colours",
            ink * 100.0,
            sat * 100.0,
            colours.len()
        );
        assert!(
            ink >= 0.01,
            "{what}: only {:.2}% of pixels drawn",
            ink * 100.0
        );
        assert!(colours.len() >= 6, "{what}: only {} colours", colours.len());
        if data {
            assert!(
                sat >= 0.0005,
                "{what}: only {:.3}% coloured pixels in the plot: no data drawn?",
                sat * 100.0
            );
        }
    }
}
