//! `neurovox-tools`: the offline toolkit — simulation, high gamma, responsive channels.

use anyhow::Result;
use clap::{Parser, Subcommand};

mod hg;
mod plots;
mod responsive;
mod simulate;

/// Offline toolkit of neurovox: simulate ECoG, extract high gamma, find speech-responsive channels.
#[derive(Parser)]
#[command(name = "neurovox-tools", version, about)]
struct Cli {
    /// Log filter (tracing env-filter syntax), e.g. `info` or `neurovox=debug`.
    #[arg(long, default_value = "info", global = true)]
    log: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Write a synthetic ECoG recording (ecog.npy, onsets.csv, truth.json) with its ground truth.
    Simulate(simulate::SimulateArgs),
    /// Extract z-scored high gamma from raw ECoG (offline Chang-lab reference, or --causal).
    Hg(hg::HgArgs),
    /// Find speech-responsive channels: paired t-test of pre- vs post-onset high gamma.
    Responsive(responsive::ResponsiveArgs),
}

fn main() {
    let cli = Cli::parse();
    neurovox::logging::init(&cli.log);
    let result: Result<()> = match &cli.command {
        Command::Simulate(a) => simulate::run(a),
        Command::Hg(a) => hg::run(a),
        Command::Responsive(a) => responsive::run(a),
    };
    if let Err(e) = result {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}
