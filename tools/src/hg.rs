//! `neurovox-tools hg`: high gamma from a raw ECoG NPY file, offline reference or causal stream.

use anyhow::{Context, Result, bail};
use indicatif::{ProgressBar, ProgressStyle};
use ndarray::Array2;
use neurovox::dsp::car::CarMode;
use neurovox::dsp::highgamma::offline::{OfflineHgConfig, offline_high_gamma};
use neurovox::dsp::highgamma::streaming::{HgDesign, StreamingHgConfig, StreamingHighGamma};
use neurovox::dsp::quality::{QualityConfig, assess_record};
use neurovox::npyio;
use std::path::PathBuf;
use std::time::Instant;

/// Arguments of `neurovox-tools hg`.
#[derive(clap::Args, Debug)]
pub struct HgArgs {
    /// Raw ECoG, NPY float32 or float64 [samples, channels].
    #[arg(long)]
    pub input: PathBuf,
    /// Sample rate of the input in Hz (TDT: 3051.7578125).
    #[arg(long, default_value_t = neurovox::TDT_RATE_HZ)]
    pub rate_hz: f64,
    /// Output NPY, float32 [frames, channels], z-scored; bad channels are NaN (offline).
    #[arg(long)]
    pub out: PathBuf,
    /// Output frame rate in Hz.
    #[arg(long, default_value_t = 100.0)]
    pub frame_rate_hz: f64,
    /// Mains frequency in Hz (50 in 50 Hz countries); harmonics below Nyquist are notched too.
    #[arg(long, default_value_t = 60.0)]
    pub line_hz: f64,
    /// Bad channels: `auto` (flat, saturated, very noisy or non-finite), `none`, or a
    /// comma-separated list of 0-based indices such as `3,17,40`.
    #[arg(long, default_value = "auto")]
    pub bad: String,
    /// Common average reference: trimmed95 (middle 95 % of good channels), mean, or none.
    #[arg(long, value_enum, default_value_t = CarArg::Trimmed95)]
    pub car: CarArg,
    /// Run the causal streaming extractor of the daemon instead of the offline reference,
    /// and print its algorithmic delay.
    #[arg(long)]
    pub causal: bool,
    /// Streaming design (with --causal), as in the daemon config's `highgamma.design`;
    /// default: the daemon's default design.
    #[arg(long)]
    pub design: Option<String>,
    /// Samples per chunk fed to the streaming extractor (with --causal).
    #[arg(long, default_value_t = 25)]
    pub chunk_samples: usize,
}

/// CLI names of the CAR modes.
#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum CarArg {
    /// Middle 95 % of good channels.
    Trimmed95,
    /// Plain mean over good channels.
    Mean,
    /// No re-referencing.
    None,
}

impl From<CarArg> for CarMode {
    fn from(c: CarArg) -> Self {
        match c {
            CarArg::Trimmed95 => CarMode::Trimmed95,
            CarArg::Mean => CarMode::Mean,
            CarArg::None => CarMode::None,
        }
    }
}

/// Parses `--bad` into a good-channel mask, running the quality check for `auto`.
pub fn good_mask(spec: &str, data: ndarray::ArrayView2<f32>) -> Result<Vec<bool>> {
    let n_ch = data.ncols();
    match spec.trim() {
        "auto" => {
            let faults = assess_record(data, &QualityConfig::default());
            for (c, f) in faults.iter().enumerate() {
                if let Some(f) = f {
                    tracing::info!(channel = c, fault = ?f, "excluding bad channel");
                }
            }
            Ok(faults.iter().map(|f| f.is_none()).collect())
        }
        "none" | "" => Ok(vec![true; n_ch]),
        list => {
            let mut good = vec![true; n_ch];
            for item in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                let c: usize = item
                    .parse()
                    .with_context(|| format!("--bad: `{item}` is not a channel index"))?;
                if c >= n_ch {
                    bail!("--bad: channel {c} does not exist (the input has {n_ch} channels)");
                }
                good[c] = false;
            }
            Ok(good)
        }
    }
}

/// Runs the command.
pub fn run(args: &HgArgs) -> Result<()> {
    let t0 = Instant::now();
    let data = if args.causal {
        npyio::read_matrix_f32(&args.input, 2)?
    } else {
        npyio::read_matrix_f32_channel_major(&args.input, 2)?
    };
    let good = good_mask(&args.bad, data.view())?;
    let hg = if args.causal {
        causal(args, &data, &good)?
    } else {
        let cfg = OfflineHgConfig {
            frame_rate_hz: args.frame_rate_hz,
            line_hz: args.line_hz,
            car: args.car.into(),
            ..Default::default()
        };
        let bar = progress_bar(data.ncols() as u64, "high gamma");
        let hg = offline_high_gamma(
            data.view(),
            args.rate_hz,
            &good,
            &cfg,
            &mut |done, total| {
                bar.set_length(total as u64);
                bar.set_position(done as u64);
            },
        )
        .with_context(|| format!("high gamma of {}", args.input.display()))?;
        bar.finish_and_clear();
        hg
    };
    npyio::write_matrix_f32(&args.out, hg.view())?;
    tracing::info!(
        frames = hg.nrows(),
        channels = hg.ncols(),
        seconds = t0.elapsed().as_secs_f64(),
        out = %args.out.display(),
        "wrote high gamma"
    );
    Ok(())
}

/// A progress bar on stderr, hidden when stderr is not a terminal.
pub fn progress_bar(len: u64, what: &str) -> ProgressBar {
    let bar = ProgressBar::new(len);
    if let Ok(style) = ProgressStyle::with_template("{msg:12} [{bar:40}] {pos}/{len} {elapsed}") {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(what.to_string());
    bar
}

/// Runs the daemon's streaming extractor over the file in `--chunk-samples` chunks.
fn causal(args: &HgArgs, data: &Array2<f32>, good: &[bool]) -> Result<Array2<f32>> {
    let mut cfg = StreamingHgConfig {
        frame_rate_hz: args.frame_rate_hz,
        line_hz: args.line_hz,
        car: args.car.into(),
        ..Default::default()
    };
    if let Some(name) = &args.design {
        cfg.design = serde_json::from_value::<HgDesign>(serde_json::Value::String(name.clone()))
            .map_err(|_| anyhow::anyhow!("--design: unknown design `{name}`"))?;
    }
    if args.chunk_samples == 0 {
        bail!("--chunk-samples must be ≥ 1");
    }
    let n_ch = data.ncols();
    let mut hg = StreamingHighGamma::new(&cfg, n_ch, args.rate_hz)?;
    let contiguous = data.as_standard_layout();
    let flat = contiguous
        .as_slice()
        .context("input array is not contiguous")?;
    let expected_frames = (data.nrows() as f64 / args.rate_hz * args.frame_rate_hz) as usize + 1;
    let mut frames: Vec<f32> = Vec::with_capacity(expected_frames * n_ch);
    let bar = progress_bar(data.nrows() as u64, "causal hg");
    let mut index = 0u64;
    for chunk in flat.chunks(args.chunk_samples * n_ch) {
        hg.process(chunk, index, good, &mut |_, f| frames.extend_from_slice(f));
        index += (chunk.len() / n_ch) as u64;
        bar.set_position(index);
    }
    bar.finish_and_clear();
    println!(
        "algorithmic delay: {:.2} ms (design {:?}, {} Hz frames)",
        hg.algorithmic_delay_ms(),
        cfg.design,
        cfg.frame_rate_hz
    );
    let n_frames = frames.len() / n_ch;
    Ok(Array2::from_shape_vec((n_frames, n_ch), frames)?)
}
