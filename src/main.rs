//! `neurovox`: the real-time daemon.

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use neurovox::config::{Config, EXAMPLE, SourceKind};
use neurovox::source::Source;
use neurovox::source::synthetic::SyntheticSource;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// neurovox: live ECoG → high gamma → speech-responsive channels (decoding and synthesis to come).
#[derive(Parser)]
#[command(name = "neurovox", version, about)]
struct Cli {
    /// Log filter (tracing env-filter syntax), e.g. `info` or `neurovox=debug`.
    #[arg(long, default_value = "info", global = true)]
    log: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the pipeline: source → input guard → streaming high gamma → responsive channels.
    Run {
        /// Config file (TOML); without it the embedded defaults are used (`config example`).
        #[arg(long)]
        config: Option<PathBuf>,
        /// Stop after this many seconds of source data (overrides synthetic.duration_s).
        #[arg(long)]
        seconds: Option<f64>,
        /// Run as fast as possible instead of pacing the synthetic source to the wall clock.
        #[arg(long)]
        fast: bool,
        /// Write the final summary as JSON to this file.
        #[arg(long)]
        summary_json: Option<PathBuf>,
    },
    /// Print or check configuration.
    Config {
        #[command(subcommand)]
        action: ConfigAction,
    },
}

#[derive(Subcommand)]
enum ConfigAction {
    /// Print a complete, commented config with every default.
    Example,
    /// Parse and validate a config file; prints the first problem with the field it concerns.
    Check {
        /// The file to check.
        file: PathBuf,
    },
}

fn main() {
    let cli = Cli::parse();
    neurovox::logging::init(&cli.log);
    if let Err(e) = dispatch(cli.command) {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}

fn dispatch(command: Command) -> Result<()> {
    match command {
        Command::Config {
            action: ConfigAction::Example,
        } => {
            print!("{EXAMPLE}");
            Ok(())
        }
        Command::Config {
            action: ConfigAction::Check { file },
        } => {
            Config::load(&file)?;
            println!("{}: ok", file.display());
            Ok(())
        }
        Command::Run {
            config,
            seconds,
            fast,
            summary_json,
        } => {
            let mut cfg = match &config {
                Some(path) => Config::load(path)?,
                None => Config::default(),
            };
            if let Some(s) = seconds {
                cfg.synthetic.duration_s = s;
            }
            if fast {
                cfg.synthetic.realtime = false;
            }
            cfg.validate()
                .map_err(anyhow::Error::msg)
                .context("invalid settings")?;
            run(&cfg, summary_json)
        }
    }
}

fn run(cfg: &Config, summary_json: Option<PathBuf>) -> Result<()> {
    let source: Box<dyn Source> = match cfg.source.kind {
        SourceKind::Synthetic => Box::new(
            SyntheticSource::new(&cfg.synthetic)
                .map_err(anyhow::Error::msg)
                .context("cannot start the synthetic source")?,
        ),
    };
    let stop = Arc::new(AtomicBool::new(false));
    let handler_stop = stop.clone();
    ctrlc::set_handler(move || handler_stop.store(true, Ordering::Relaxed))
        .context("cannot install the Ctrl-C handler")?;
    tracing::info!(
        channels = source.labels().len(),
        rate_hz = source.rate_hz(),
        design = ?cfg.highgamma.design,
        "pipeline starting (Ctrl-C stops)"
    );
    let summary = neurovox::pipeline::run(cfg, source, stop, &mut |s| println!("{}", s.line()))?;
    if let Some(path) = summary_json {
        let text = serde_json::to_string_pretty(&summary)?;
        std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(())
}
