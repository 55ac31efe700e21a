//! The daemon binary: config example/check, rejection of bad configs, and a short fast run.

use std::process::{Command, Output};

fn neurovox(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_neurovox"))
        .args(["--log", "warn"])
        .args(args)
        .output()
        .expect("run neurovox")
}

#[test]
fn the_example_config_checks_and_bad_ones_name_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let example = neurovox(&["config", "example"]);
    assert!(example.status.success());
    let path = dir.path().join("example.toml");
    std::fs::write(&path, &example.stdout).unwrap();
    let out = neurovox(&["config", "check", path.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let cases = [
        (
            "[highgamma]\nframe_rate_hz = 2000.0\n",
            "highgamma.frame_rate_hz",
        ),
        ("[highgamma]\ndesing = \"broad\"\n", "desing"),
        ("[synthetic]\nchannels = 0\n", "synthetic.channels"),
        ("[guard]\nmax_gap_s = -1.0\n", "guard.max_gap_s"),
        ("[run]\nraw_queue_blocks = 0\n", "run.raw_queue_blocks"),
        ("[highgamma]\ndesign = \"fancy\"\n", "fancy"),
    ];
    for (text, field) in cases {
        let bad = dir.path().join("bad.toml");
        std::fs::write(&bad, text).unwrap();
        let out = neurovox(&["config", "check", bad.to_str().unwrap()]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{text} was accepted");
        assert!(
            err.contains(field) && err.contains("bad.toml"),
            "{text}: {err}"
        );
    }
}

#[test]
fn a_short_fast_run_reports_every_stage() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("summary.json");
    let out = neurovox(&[
        "run",
        "--seconds",
        "12",
        "--fast",
        "--summary-json",
        json.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("responsive="),
        "live summary line missing: {stdout}"
    );
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    // Every stage reports what it did; frame k completes at sample ceil((k+1)·fs/100) − 1.
    let samples = (12.0f64 * 3051.7578125).round() as u64;
    let frames = (samples as f64 * 100.0 / 3051.7578125).floor() as u64;
    assert_eq!(summary["frames"], frames);
    assert_eq!(summary["guard"]["samples"], samples);
    assert_eq!(summary["hg_samples_in"], summary["guard"]["samples"]);
    assert_eq!(summary["detector"]["frames"], frames);
    assert!(summary["responsive"]["trials"].as_u64().unwrap() >= 1);
    assert_eq!(summary["bad_channels"].as_array().unwrap().len(), 3);
    assert_eq!(summary["dropped_blocks"], 0);
}
