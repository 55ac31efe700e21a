//! The responsive-channel test agrees with scipy.stats.ttest_rel, and finds the synthetic truth.

mod common;

use neurovox::channels::offline::responsive_channels;
use neurovox::npyio;

/// Seeded high gamma with a response on some channels and NaN stretches to exercise nanmean.
fn scenario() -> (ndarray::Array2<f32>, Vec<f64>) {
    let (n_frames, n_ch) = (6000, 12);
    let mut hg = ndarray::Array2::<f32>::zeros((n_frames, n_ch));
    let mut seed = 42u64;
    for v in hg.iter_mut() {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        *v = (seed >> 40) as f32 / (1u64 << 24) as f32 - 0.5;
    }
    let onsets: Vec<f64> = (0..40)
        .map(|i| 0.15 + i as f64 * 1.43 + 0.037 * (i % 5) as f64)
        .collect();
    for (k, &o) in onsets.iter().enumerate() {
        let f = (o * 100.0).round() as usize;
        for t in f + 12..(f + 90).min(n_frames) {
            for c in [1, 2, 3] {
                hg[[t, c]] += 0.15 * c as f32 * (1.0 + (k % 3) as f32) / 3.0;
            }
        }
    }
    for t in 300..340 {
        hg[[t, 5]] = f32::NAN;
    }
    (hg, onsets)
}

#[test]
fn t_and_p_match_scipy_ttest_rel() {
    let Some(python) = common::python() else {
        return;
    };
    let (hg, onsets) = scenario();
    let dir = tempfile::tempdir().unwrap();
    let hg_path = dir.path().join("hg.npy");
    npyio::write_matrix_f32(&hg_path, hg.view()).unwrap();
    let onsets_path = dir.path().join("onsets.csv");
    let text: String = std::iter::once("onset_s".to_string())
        .chain(onsets.iter().map(|o| format!("{o:.17}")))
        .collect::<Vec<_>>()
        .join("\n");
    std::fs::write(&onsets_path, text).unwrap();
    let out = dir.path().join("ref.csv");
    common::run_reference(
        &python,
        "responsive.py",
        &[
            "--hg",
            hg_path.to_str().unwrap(),
            "--onsets",
            onsets_path.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ],
    );
    let (ours, trials) = responsive_channels(hg.view(), &onsets, 100.0, 0.01);
    assert_eq!(
        trials, 39,
        "the first onset (0.15 s) has no complete pre window"
    );
    let reference = std::fs::read_to_string(&out).unwrap();
    for (line, mine) in reference.lines().skip(1).zip(&ours) {
        let f: Vec<&str> = line.split(',').collect();
        let (t, p): (f64, f64) = (f[1].parse().unwrap(), f[2].parse().unwrap());
        assert!(
            (mine.t - t).abs() <= 1e-9 * t.abs().max(1.0),
            "channel {}: t {} vs {t}",
            f[0],
            mine.t
        );
        let p_ok = if p > 1e-250 {
            (mine.p - p).abs() <= 1e-6 * p
        } else {
            mine.p < 1e-240
        };
        assert!(p_ok, "channel {}: p {} vs {p}", f[0], mine.p);
        assert_eq!(mine.responsive.to_string(), f[3], "channel {}", f[0]);
    }
    assert_eq!(
        ours.iter()
            .filter(|c| c.responsive)
            .map(|c| c.channel)
            .collect::<Vec<_>>(),
        vec![1, 2, 3]
    );
}
