//! The offline high gamma agrees with an independent numpy/scipy implementation of the spec.

mod common;

use neurovox::dsp::highgamma::offline::{OfflineHgConfig, offline_high_gamma};
use neurovox::npyio;
use neurovox::source::synthetic::SyntheticConfig;

#[test]
fn rust_and_scipy_agree_on_a_synthetic_block() {
    let Some(python) = common::python() else {
        return;
    };
    let cfg = SyntheticConfig {
        channels: 64,
        seed: 11,
        ..Default::default()
    };
    let (data, truth) = common::synthetic(&cfg, 30.0);
    let dir = tempfile::tempdir().unwrap();
    let ecog = dir.path().join("ecog.npy");
    npyio::write_matrix_f32(&ecog, data.view()).unwrap();
    let bad: Vec<usize> = truth.bad.iter().map(|b| b.channel).collect();
    let bad_arg = bad
        .iter()
        .map(|c| c.to_string())
        .collect::<Vec<_>>()
        .join(",");
    let reference = dir.path().join("ref.npy");
    common::run_reference(
        &python,
        "highgamma.py",
        &[
            "--input",
            ecog.to_str().unwrap(),
            "--rate-hz",
            &cfg.rate_hz.to_string(),
            "--bad",
            &bad_arg,
            "--out",
            reference.to_str().unwrap(),
        ],
    );
    let expected = npyio::read_matrix_f32(&reference, 1).unwrap();
    let good: Vec<bool> = (0..cfg.channels).map(|c| !bad.contains(&c)).collect();
    let ours = offline_high_gamma(
        data.view(),
        cfg.rate_hz,
        &good,
        &OfflineHgConfig::default(),
        &mut |_, _| {},
    )
    .unwrap();
    assert_eq!(ours.dim(), expected.dim());
    let mut worst_r: f64 = 1.0;
    let mut worst_diff: f32 = 0.0;
    for (c, &is_good) in good.iter().enumerate() {
        if !is_good {
            assert!(ours.column(c).iter().all(|v| v.is_nan()));
            assert!(expected.column(c).iter().all(|v| v.is_nan()));
            continue;
        }
        let a: Vec<f64> = ours.column(c).iter().map(|&v| v as f64).collect();
        let b: Vec<f64> = expected.column(c).iter().map(|&v| v as f64).collect();
        worst_r = worst_r.min(neurovox::dsp::stats::pearson(&a, &b));
        for (x, y) in ours.column(c).iter().zip(expected.column(c)) {
            worst_diff = worst_diff.max((x - y).abs());
        }
    }
    eprintln!("worst r = {worst_r}, worst |diff| = {worst_diff}");
    assert!(worst_r >= 0.999, "worst per-channel r {worst_r}");
    assert!(worst_diff <= 1e-3, "max |difference| {worst_diff}");
}
