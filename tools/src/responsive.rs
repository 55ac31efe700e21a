//! `neurovox-tools responsive`: speech-responsive channels from high gamma and onset times.

use anyhow::{Context, Result, bail};
use neurovox::channels::offline::responsive_channels;
use neurovox::npyio;
use std::path::{Path, PathBuf};

/// Arguments of `neurovox-tools responsive`.
#[derive(clap::Args, Debug)]
pub struct ResponsiveArgs {
    /// High gamma, NPY float32 [frames, channels] (e.g. from `neurovox-tools hg`).
    #[arg(long)]
    pub hg: PathBuf,
    /// Onset times in seconds: CSV with one value per line (a header line is allowed).
    #[arg(long)]
    pub onsets: PathBuf,
    /// Output CSV with columns channel, t, p, responsive.
    #[arg(long)]
    pub out: PathBuf,
    /// Frame rate of the high gamma in Hz.
    #[arg(long, default_value_t = 100.0)]
    pub frame_rate_hz: f64,
    /// Family-wise significance level; each channel is tested at alpha / channels.
    #[arg(long, default_value_t = 0.01)]
    pub alpha: f64,
    /// Also draw a PNG: the electrode grid coloured by −t and the trial-averaged high gamma.
    #[arg(long, value_name = "PNG")]
    pub plot: Option<PathBuf>,
    /// Columns of the electrode grid for --plot (channels fill it row by row).
    #[arg(long, default_value_t = 8)]
    pub grid_cols: usize,
}

/// Reads onset times (seconds) from the first column of a CSV; a non-numeric first line is a header.
pub fn read_onsets(path: &Path) -> Result<Vec<f64>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut onsets = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let field = line.split(',').next().unwrap_or("").trim();
        if field.is_empty() {
            continue;
        }
        match field.parse::<f64>() {
            Ok(v) if v.is_finite() => onsets.push(v),
            Ok(v) => bail!(
                "{}:{}: onset `{v}` is not a finite number",
                path.display(),
                i + 1
            ),
            Err(_) if i == 0 => continue,
            Err(_) => bail!(
                "{}:{}: `{field}` is not a time in seconds",
                path.display(),
                i + 1
            ),
        }
    }
    if onsets.is_empty() {
        bail!("{} holds no onset times", path.display());
    }
    Ok(onsets)
}

/// Runs the command.
pub fn run(args: &ResponsiveArgs) -> Result<()> {
    if !(args.alpha > 0.0 && args.alpha < 1.0) {
        bail!("--alpha must be in (0, 1), got {}", args.alpha);
    }
    if args.frame_rate_hz.is_nan() || args.frame_rate_hz <= 0.0 {
        bail!(
            "--frame-rate-hz must be positive, got {}",
            args.frame_rate_hz
        );
    }
    let hg = npyio::read_matrix_f32(&args.hg, 2)?;
    let onsets = read_onsets(&args.onsets)?;
    let (tests, trials) = responsive_channels(hg.view(), &onsets, args.frame_rate_hz, args.alpha);
    if trials < 2 {
        bail!(
            "only {trials} of {} onsets have a complete −0.2…+1.0 s window inside {} frames; need ≥ 2",
            onsets.len(),
            hg.nrows()
        );
    }
    let mut w = csv::Writer::from_path(&args.out)
        .with_context(|| format!("cannot create {}", args.out.display()))?;
    w.write_record(["channel", "t", "p", "responsive"])?;
    for t in &tests {
        w.write_record([
            t.channel.to_string(),
            format!("{:.10e}", t.t),
            format!("{:.10e}", t.p),
            t.responsive.to_string(),
        ])?;
    }
    w.flush()
        .with_context(|| format!("cannot write {}", args.out.display()))?;
    if let Some(png) = &args.plot {
        crate::plots::responsive_figure(
            png,
            hg.view(),
            &onsets,
            args.frame_rate_hz,
            &tests,
            args.grid_cols,
        )?;
    }
    let responsive: Vec<usize> = tests
        .iter()
        .filter(|t| t.responsive)
        .map(|t| t.channel)
        .collect();
    tracing::info!(
        trials,
        responsive = responsive.len(),
        channels = tests.len(),
        "responsive channels"
    );
    println!(
        "{} of {} channels responsive over {trials} trials (alpha {} / {}): {:?}",
        responsive.len(),
        tests.len(),
        args.alpha,
        tests.len(),
        responsive
    );
    Ok(())
}
