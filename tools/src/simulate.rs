//! `neurovox-tools simulate`: writes a synthetic ECoG recording together with its ground truth.

use anyhow::{Context, Result, anyhow, bail};
use indicatif::{ProgressBar, ProgressStyle};
use ndarray::Array2;
use neurovox::source::synthetic::{SyntheticConfig, SyntheticEcog};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;

/// Options of `neurovox-tools simulate`.
#[derive(Debug, Clone, clap::Args)]
pub struct SimulateArgs {
    /// Number of channels, laid out on a grid 8 columns wide.
    #[arg(long, default_value_t = SyntheticConfig::default().channels)]
    pub channels: usize,
    /// Length of the recording in seconds.
    #[arg(long, default_value_t = 60.0)]
    pub seconds: f64,
    /// Seed; the same seed and options always give the same files.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Output directory (created if missing) for ecog.npy, onsets.csv and truth.json.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Sample rate in Hz.
    #[arg(long, default_value_t = SyntheticConfig::default().rate_hz)]
    pub rate_hz: f64,
    /// Fraction of channels that respond to speech, 0–1.
    #[arg(long, default_value_t = SyntheticConfig::default().responsive_fraction)]
    pub responsive_fraction: f64,
}

/// Generates the recording and writes `ecog.npy` (float32 [samples, channels], µV),
/// `onsets.csv` (speech onsets in seconds) and `truth.json` into `args.out`.
pub fn run(args: &SimulateArgs) -> Result<()> {
    if !(args.seconds.is_finite() && args.seconds > 0.0) {
        bail!("--seconds must be a positive number, got {}", args.seconds);
    }
    let cfg = SyntheticConfig {
        channels: args.channels,
        rate_hz: args.rate_hz,
        seed: args.seed,
        duration_s: args.seconds,
        responsive_fraction: args.responsive_fraction,
        realtime: false,
        ..SyntheticConfig::default()
    };
    let mut generator = SyntheticEcog::new(&cfg)
        .map_err(|e| anyhow!(e))
        .context("invalid simulation options")?;
    let samples = cfg
        .duration_samples()
        .and_then(|n| usize::try_from(n).ok())
        .filter(|&n| n > 0)
        .with_context(|| format!("--seconds {} gives no whole sample", args.seconds))?;
    let values = samples
        .checked_mul(cfg.channels)
        .filter(|&v| v <= isize::MAX as usize / 4)
        .with_context(|| format!("{samples} samples × {} channels is too large", cfg.channels))?;

    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create output directory {}", args.out.display()))?;

    let mut ecog = Array2::<f32>::zeros((samples, cfg.channels));
    let data = ecog
        .as_slice_mut()
        .context("freshly allocated array is not contiguous")?;
    debug_assert_eq!(data.len(), values);
    // Indicatif draws nothing when stderr is not a terminal, so logs stay clean.
    let bar = ProgressBar::new(samples as u64).with_style(
        ProgressStyle::with_template("simulating {bar:40} {percent:>3}% ({eta} left)")
            .context("progress bar template")?,
    );
    let chunk_samples = (cfg.rate_hz.round() as usize).max(1);
    for chunk in data.chunks_mut(chunk_samples * cfg.channels) {
        generator.fill(chunk);
        bar.inc((chunk.len() / cfg.channels) as u64);
    }
    bar.finish_and_clear();

    let npy_path = args.out.join("ecog.npy");
    neurovox::npyio::write_matrix_f32(&npy_path, ecog.view())
        .with_context(|| format!("cannot write {}", npy_path.display()))?;

    let truth = generator.truth();
    let onsets_path = args.out.join("onsets.csv");
    let write_onsets = || -> Result<()> {
        let mut writer = csv::Writer::from_path(&onsets_path)?;
        writer.write_record(["onset_s"])?;
        for onset in &truth.onsets_s {
            writer.write_record([onset.to_string()])?;
        }
        writer.flush()?;
        Ok(())
    };
    write_onsets().with_context(|| format!("cannot write {}", onsets_path.display()))?;

    let truth_path = args.out.join("truth.json");
    let write_truth = || -> Result<()> {
        let mut writer = BufWriter::new(File::create(&truth_path)?);
        serde_json::to_writer_pretty(&mut writer, truth)?;
        writer.write_all(b"\n")?;
        writer.flush()?;
        Ok(())
    };
    write_truth().with_context(|| format!("cannot write {}", truth_path.display()))?;

    tracing::info!(
        "wrote {samples} samples × {} channels, {} onsets, {} artifacts to {}",
        cfg.channels,
        truth.onsets_s.len(),
        truth.artifact_samples.len(),
        args.out.display()
    );
    Ok(())
}
