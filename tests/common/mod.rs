//! Helpers shared by the integration tests: the Python reference peers and synthetic data.
#![allow(dead_code)]

use neurovox::source::synthetic::{SyntheticConfig, SyntheticEcog, SyntheticTruth};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The Python interpreter with the reference peers, or `None` (test skipped) when absent.
///
/// Under `make test` (`NEUROVOX_REQUIRE_PEERS=1`) a missing peer is a failure, not a skip.
pub fn python() -> Option<PathBuf> {
    let candidate = std::env::var_os("NEUROVOX_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python"));
    let ok = Command::new(&candidate)
        .args(["-c", "import numpy, scipy"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if ok {
        return Some(candidate);
    }
    if std::env::var("NEUROVOX_REQUIRE_PEERS").as_deref() == Ok("1") {
        panic!(
            "Python peers (numpy, scipy) not found at {}: run `make deps`",
            candidate.display()
        );
    }
    eprintln!(
        "SKIPPED: Python peers not found at {} (run `make deps`)",
        candidate.display()
    );
    None
}

/// Runs a reference script from tools/reference with arguments; panics with its stderr on failure.
pub fn run_reference(python: &Path, script: &str, args: &[&str]) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tools/reference")
        .join(script);
    let out = Command::new(python)
        .arg(&path)
        .args(args)
        .output()
        .expect("spawn python");
    assert!(
        out.status.success(),
        "{script} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Generates `seconds` of synthetic ECoG `[samples, channels]` with its ground truth.
pub fn synthetic(cfg: &SyntheticConfig, seconds: f64) -> (ndarray::Array2<f32>, SyntheticTruth) {
    let mut generator = SyntheticEcog::new(cfg).expect("valid synthetic config");
    let n = (seconds * cfg.rate_hz).round() as usize;
    let mut data = ndarray::Array2::<f32>::zeros((n, cfg.channels));
    generator.fill(data.as_slice_mut().expect("contiguous"));
    let truth = generator.truth_until(seconds);
    (data, truth)
}
