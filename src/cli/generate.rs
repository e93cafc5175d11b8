//! `flotilla generate`: a synthetic trace from flags, or fitted to a real trace (`--like`).
//!
//! Every model flag is optional: without `--like` an absent flag takes the
//! [`GenerateConfig`] default; with `--like` the fitted value, and a flag given overrides it.

use crate::generate::{fit, ArrivalModel, GenerateConfig, RuntimeModel};
use anyhow::Context;
use clap::Args;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// `flotilla generate`.
#[derive(Args, Debug)]
pub struct GenerateArgs {
    /// Number of jobs (array children count as jobs).
    #[arg(long)]
    pub jobs: u64,
    /// Seed of every random stream.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Output CSV file.
    #[arg(long)]
    pub out: PathBuf,
    /// Fit the models to a real trace first: a scenario (.toml; its trace in any format a
    /// scenario reads) or a bare flotilla trace CSV. Prints the fitted parameters.
    #[arg(long, value_name = "SOURCE")]
    pub like: Option<PathBuf>,
    /// With --like: print the fit and configuration as JSON.
    #[arg(long)]
    pub json: bool,
    /// Arrival process: poisson (default), diurnal or bursts.
    #[arg(long)]
    pub arrivals: Option<ArrivalModel>,
    /// Mean arrivals per second (default 40; diurnal: the daily mean; bursts: the base).
    #[arg(long)]
    pub rate: Option<f64>,
    /// Diurnal: relative swing of the rate around its mean, 0 to 1 (default 0.5).
    #[arg(long)]
    pub diurnal_amplitude: Option<f64>,
    /// Diurnal: hour of the day with the highest rate, 0 to 24 (default 14).
    #[arg(long)]
    pub diurnal_peak_hour: Option<f64>,
    /// Diurnal: 24 comma-separated relative rates, hour 0 first (replaces the sinusoid).
    #[arg(long, value_delimiter = ',')]
    pub hourly_profile: Option<Vec<f64>>,
    /// Bursts: submissions per burst (default 100).
    #[arg(long)]
    pub burst_jobs: Option<u32>,
    /// Bursts: seconds between bursts (default 3600).
    #[arg(long)]
    pub burst_interval: Option<f64>,
    /// Comma-separated job queue names (default `default`).
    #[arg(long, value_delimiter = ',')]
    pub queues: Option<Vec<String>>,
    /// Comma-separated relative weights of --queues (default: uniform).
    #[arg(long, value_delimiter = ',')]
    pub queue_weights: Option<Vec<f64>>,
    /// Run-time distribution: lognormal (default), weibull, exponential or empirical
    /// (empirical needs --like).
    #[arg(long)]
    pub runtime: Option<RuntimeModel>,
    /// Log-normal: median run time in seconds (default 600).
    #[arg(long)]
    pub runtime_median: Option<f64>,
    /// Log-normal: sigma of the log run time (default 1).
    #[arg(long)]
    pub runtime_sigma: Option<f64>,
    /// Weibull: shape k (default 0.7).
    #[arg(long)]
    pub weibull_shape: Option<f64>,
    /// Weibull: scale in seconds (default 900).
    #[arg(long)]
    pub weibull_scale: Option<f64>,
    /// Exponential: mean run time in seconds (default 600).
    #[arg(long)]
    pub runtime_mean: Option<f64>,
    /// Share of GPU jobs, 0 to 1 (default 0.03).
    #[arg(long)]
    pub gpu_share: Option<f64>,
    /// Share of failing jobs (exit code 1), 0 to 1 (default 0.02).
    #[arg(long)]
    pub failure_share: Option<f64>,
    /// Share of jobs that are array children, 0 to 1 (default 0).
    #[arg(long)]
    pub array_share: Option<f64>,
    /// Share of rows that depend on an earlier row, 0 to 1 (default 0).
    #[arg(long)]
    pub dependency_share: Option<f64>,
    /// Share of arrivals that are fan-out/fan-in workflows, 0 to 1 (default 0).
    #[arg(long)]
    pub fan_share: Option<f64>,
    /// Children of a fan-out (default 8; at most 20 unless --fan-as-array).
    #[arg(long)]
    pub fan_width: Option<u32>,
    /// Submit a fan-out's children as one array job.
    #[arg(long)]
    pub fan_as_array: bool,
    /// Share of arrivals that are chains, 0 to 1 (default 0).
    #[arg(long)]
    pub chain_share: Option<f64>,
    /// Jobs in a chain (default 4).
    #[arg(long)]
    pub chain_length: Option<u32>,
    /// Requested run times: `LOW,HIGH` gives every job a requested_time_s of its run time ×
    /// a factor drawn uniformly from LOW to HIGH (1 ≤ LOW ≤ HIGH ≤ 100; default: none).
    #[arg(long, value_delimiter = ',', value_name = "LOW,HIGH")]
    pub requested_time_factor: Option<Vec<f64>>,
}

/// Runs `flotilla generate`.
pub(super) fn run(a: GenerateArgs) -> anyhow::Result<ExitCode> {
    let fitted = match &a.like {
        Some(src) => Some(fit_source(src)?),
        None => None,
    };
    let mut cfg = match &fitted {
        Some(f) => f.to_config(a.jobs, a.seed, a.runtime.unwrap_or_default()),
        None => GenerateConfig {
            jobs: a.jobs,
            seed: a.seed,
            ..GenerateConfig::default()
        },
    };
    apply_flags(&a, &mut cfg);
    cfg.validate().map_err(anyhow::Error::msg)?;
    if let Some(f) = &fitted {
        if a.json {
            let v = serde_json::json!({ "fit": f, "config": cfg });
            println!("{}", serde_json::to_string_pretty(&v)?);
        } else {
            print_fit(f);
        }
    }
    let file = std::fs::File::create(&a.out).with_context(|| format!("{}", a.out.display()))?;
    crate::generate::write_trace(&cfg, std::io::BufWriter::with_capacity(1 << 20, file))
        .with_context(|| format!("writing {}", a.out.display()))?;
    eprintln!("wrote {} jobs to {}", a.jobs, a.out.display());
    Ok(ExitCode::SUCCESS)
}

/// Loads `--like`'s trace and fits it.
fn fit_source(src: &Path) -> anyhow::Result<fit::TraceFit> {
    let is_toml = src
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("toml"));
    let (jobs, names) = if is_toml {
        let s = crate::input::load_scenario(src, None)?;
        let names = s
            .cluster
            .job_queues
            .iter()
            .map(|q| q.name.clone())
            .collect();
        (s.trace, names)
    } else {
        crate::input::load_bare_trace(src)?
    };
    anyhow::ensure!(!jobs.is_empty(), "{}: the trace has no jobs", src.display());
    Ok(fit::fit_trace(&jobs, &names))
}

/// Overrides the configuration with every flag given.
fn apply_flags(a: &GenerateArgs, cfg: &mut GenerateConfig) {
    fn set<T: Clone>(flag: &Option<T>, field: &mut T) {
        if let Some(v) = flag {
            *field = v.clone();
        }
    }
    set(&a.arrivals, &mut cfg.arrivals);
    set(&a.rate, &mut cfg.rate_per_s);
    set(&a.diurnal_amplitude, &mut cfg.diurnal_amplitude);
    set(&a.diurnal_peak_hour, &mut cfg.diurnal_peak_hour);
    set(&a.hourly_profile, &mut cfg.hourly_profile);
    set(&a.burst_jobs, &mut cfg.burst_jobs);
    set(&a.burst_interval, &mut cfg.burst_interval_s);
    if let Some(q) = &a.queues {
        cfg.queues = q.clone();
        cfg.queue_weights.clear();
    }
    set(&a.queue_weights, &mut cfg.queue_weights);
    set(&a.runtime, &mut cfg.runtime);
    set(&a.runtime_median, &mut cfg.runtime_median_s);
    set(&a.runtime_sigma, &mut cfg.runtime_sigma);
    set(&a.weibull_shape, &mut cfg.weibull_shape);
    set(&a.weibull_scale, &mut cfg.weibull_scale_s);
    set(&a.runtime_mean, &mut cfg.runtime_mean_s);
    if let Some(g) = a.gpu_share {
        // An explicit GPU share asks for the built-in size mix.
        cfg.gpu_share = g;
        cfg.shapes.clear();
    }
    set(&a.failure_share, &mut cfg.failure_share);
    set(&a.array_share, &mut cfg.array_share);
    set(&a.dependency_share, &mut cfg.dependency_share);
    set(&a.fan_share, &mut cfg.fan_share);
    set(&a.fan_width, &mut cfg.fan_width);
    cfg.fan_as_array |= a.fan_as_array;
    set(&a.chain_share, &mut cfg.chain_share);
    set(&a.chain_length, &mut cfg.chain_length);
    set(&a.requested_time_factor, &mut cfg.requested_time_factor);
}

/// The fit, for people.
fn print_fit(f: &fit::TraceFit) {
    println!(
        "fitted {} submissions ({} jobs) over {:.0} s",
        f.submissions, f.jobs, f.span_s
    );
    println!("  arrivals   {:.6} per second", f.rate_per_s);
    match (&f.hourly_profile, f.diurnal_chi2) {
        (Some(p), Some(c)) => {
            let p: Vec<String> = p.iter().map(|x| format!("{x:.2}")).collect();
            println!(
                "  diurnal    yes (chi-square {c:.1} > {}): hourly profile {}",
                fit::CHI2_23_P001,
                p.join(",")
            );
        }
        (None, Some(c)) => println!(
            "  diurnal    no (chi-square {c:.1} ≤ {})",
            fit::CHI2_23_P001
        ),
        _ => println!("  diurnal    not tested (span under a day)"),
    }
    println!(
        "  run time   log-normal: mu {:.4}, sigma {:.4} (median {:.1} s)",
        f.runtime_log_mean, f.runtime_log_sd, f.runtime_median_s
    );
    println!(
        "  shapes     {} (covering {:.1}% of rows)",
        f.shapes.len(),
        f.shapes_coverage * 100.0
    );
    for s in f.shapes.iter().take(5) {
        println!(
            "             {} vCPU, {} MiB, {} GPU: {:.1}%",
            s.vcpus,
            s.memory_mib,
            s.gpus,
            s.weight * 100.0
        );
    }
    let q: Vec<String> = f
        .queue_shares
        .iter()
        .map(|(k, v)| format!("{k} {:.1}%", v * 100.0))
        .collect();
    println!("  queues     {}", q.join(", "));
    println!("  failures   {:.2}%", f.failure_share * 100.0);
}
