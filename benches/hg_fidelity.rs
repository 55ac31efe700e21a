//! Fidelity and delay of the streaming high-gamma designs against the offline reference.
//!
//! 128 channels × 120 s of synthetic ECoG (seed 1): the offline Chang-lab reference at 100 Hz
//! versus each causal design fed in 8-ms chunks. Per channel, Pearson r after the best lag
//! (0–15 frames), skipping the first 10 s (filter and z-score warm-up) and the last 2 s.
//! Prints one JSON line per design: delay, mean and minimum r over the speech-responsive
//! channels (where high gamma carries signal), and mean r over all good channels.
//!
//! Run: `cargo bench --bench hg_fidelity`.

use neurovox::dsp::highgamma::offline::{OfflineHgConfig, offline_high_gamma};
use neurovox::dsp::highgamma::streaming::{HgDesign, StreamingHgConfig, StreamingHighGamma};
use neurovox::dsp::quality::{QualityConfig, assess_record};
use neurovox::dsp::stats::pearson;
use neurovox::source::synthetic::{SyntheticConfig, SyntheticEcog};

const SECONDS: f64 = 120.0;
const CHUNK: usize = 25;
const MAX_LAG: usize = 15;

fn main() {
    let cfg = SyntheticConfig {
        seed: 1,
        realtime: false,
        ..Default::default()
    };
    let mut generator = SyntheticEcog::new(&cfg).expect("valid config");
    let n = (SECONDS * cfg.rate_hz) as usize;
    let n_ch = cfg.channels;
    let mut data = ndarray::Array2::<f32>::zeros((n, n_ch));
    generator.fill(data.as_slice_mut().expect("contiguous"));
    let truth = generator.truth_until(SECONDS);
    let good: Vec<bool> = assess_record(data.view(), &QualityConfig::default())
        .iter()
        .map(|f| f.is_none())
        .collect();
    let reference = offline_high_gamma(
        data.view(),
        cfg.rate_hz,
        &good,
        &OfflineHgConfig::default(),
        &mut |_, _| {},
    )
    .expect("reference");
    let flat = data.as_slice().expect("contiguous");

    let variants: Vec<(&str, StreamingHgConfig)> = vec![
        (
            "broad_lp40",
            StreamingHgConfig {
                design: HgDesign::Broad,
                envelope_lp_hz: Some(40.0),
                ..Default::default()
            },
        ),
        (
            "broad",
            StreamingHgConfig {
                design: HgDesign::Broad,
                ..Default::default()
            },
        ),
        (
            "broad_lp15",
            StreamingHgConfig {
                design: HgDesign::Broad,
                envelope_lp_hz: Some(15.0),
                ..Default::default()
            },
        ),
        (
            "demod",
            StreamingHgConfig {
                design: HgDesign::Demod,
                ..Default::default()
            },
        ),
        (
            "bank8_x2",
            StreamingHgConfig {
                design: HgDesign::Bank8,
                bank_bandwidth_scale: 2.0,
                ..Default::default()
            },
        ),
        (
            "bank8_x1.5",
            StreamingHgConfig {
                design: HgDesign::Bank8,
                bank_bandwidth_scale: 1.5,
                ..Default::default()
            },
        ),
        (
            "bank8",
            StreamingHgConfig {
                design: HgDesign::Bank8,
                ..Default::default()
            },
        ),
        (
            "gauss8_30ms",
            StreamingHgConfig {
                design: HgDesign::Gauss8,
                gauss8_delay_ms: 30.0,
                ..Default::default()
            },
        ),
        (
            "gauss8_36ms",
            StreamingHgConfig {
                design: HgDesign::Gauss8,
                gauss8_delay_ms: 36.0,
                ..Default::default()
            },
        ),
        (
            "gauss8_42ms",
            StreamingHgConfig {
                design: HgDesign::Gauss8,
                gauss8_delay_ms: 42.0,
                ..Default::default()
            },
        ),
        (
            "gauss8_48ms",
            StreamingHgConfig {
                design: HgDesign::Gauss8,
                gauss8_delay_ms: 48.0,
                ..Default::default()
            },
        ),
    ];
    for (name, hg_cfg) in variants {
        let mut hg = StreamingHighGamma::new(&hg_cfg, n_ch, cfg.rate_hz).expect("valid design");
        let mut frames: Vec<f32> = Vec::with_capacity(reference.len() + n_ch);
        let mut index = 0u64;
        for chunk in flat.chunks(CHUNK * n_ch) {
            hg.process(chunk, index, &good, &mut |_, f| frames.extend_from_slice(f));
            index += (chunk.len() / n_ch) as u64;
        }
        let n_frames = frames.len() / n_ch;
        let skip = 1000;
        let end = reference
            .nrows()
            .min(n_frames)
            .saturating_sub(200 + MAX_LAG);
        let mut r_resp = Vec::new();
        let mut r_all = Vec::new();
        let mut lags = Vec::new();
        for c in (0..n_ch).filter(|&c| good[c]) {
            let a: Vec<f64> = (skip..end).map(|t| reference[[t, c]] as f64).collect();
            let (lag, r) = (0..=MAX_LAG)
                .map(|lag| {
                    let b: Vec<f64> = (skip..end)
                        .map(|t| frames[(t + lag) * n_ch + c] as f64)
                        .collect();
                    (lag, pearson(&a, &b))
                })
                .fold(
                    (0, f64::NEG_INFINITY),
                    |best, x| if x.1 > best.1 { x } else { best },
                );
            r_all.push(r);
            if truth.responsive.contains(&c) {
                r_resp.push(r);
                lags.push(lag);
            }
        }
        let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
        let min = r_resp.iter().cloned().fold(f64::INFINITY, f64::min);
        // Streaming frame k + L ends at ~(k + L + 1)/fr s while reference frame k is centred at k/fr s.
        let lag_ms =
            lags.iter().map(|&l| l as f64 + 1.0).sum::<f64>() / lags.len().max(1) as f64 * 10.0;
        println!(
            "{{\"design\":\"{name}\",\"delay_ms\":{:.1},\"best_lag_ms\":{lag_ms:.1},\"r_responsive_mean\":{:.3},\"r_responsive_min\":{min:.3},\"r_all_good_mean\":{:.3},\"responsive_channels\":{}}}",
            hg.algorithmic_delay_ms(),
            mean(&r_resp),
            mean(&r_all),
            r_resp.len()
        );
    }
}
