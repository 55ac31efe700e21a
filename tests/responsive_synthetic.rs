//! On synthetic ECoG with known truth and 100 trials, the responsive channels are found with
//! precision and recall ≥ 0.95 — offline (reference high gamma + t-test) and online (the
//! daemon's streaming extractor + online detector).

mod common;

use neurovox::channels::offline::responsive_channels;
use neurovox::config::Config;
use neurovox::dsp::highgamma::offline::{OfflineHgConfig, offline_high_gamma};
use neurovox::dsp::quality::{QualityConfig, assess_record};
use neurovox::source::synthetic::{SyntheticConfig, SyntheticEcog, SyntheticSource};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

const TRIALS: usize = 100;

/// A fast synthetic run just long enough to hold TRIALS complete trial windows.
fn synthetic_config(seed: u64) -> SyntheticConfig {
    let mut cfg = SyntheticConfig {
        seed,
        trial_interval_s: 2.5,
        realtime: false,
        ..Default::default()
    };
    let schedule = SyntheticEcog::new(&cfg)
        .unwrap()
        .truth_until(10.0 * TRIALS as f64);
    // The first onset has no complete pre window at frame 20 only if it is earlier than 0.2 s,
    // which the generator never does; end 1.5 s after onset number TRIALS.
    cfg.duration_s = schedule.onsets_s[TRIALS - 1] + 1.5;
    cfg
}

fn precision_recall(found: &[usize], truth: &[usize]) -> (f64, f64) {
    let hits = found.iter().filter(|c| truth.contains(c)).count() as f64;
    (
        hits / found.len().max(1) as f64,
        hits / truth.len().max(1) as f64,
    )
}

#[test]
fn offline_hg_and_t_test_recover_the_truth() {
    let cfg = synthetic_config(3);
    let (data, truth) = common::synthetic(&cfg, cfg.duration_s);
    let faults = assess_record(data.view(), &QualityConfig::default());
    let flagged: Vec<usize> = (0..cfg.channels).filter(|&c| faults[c].is_some()).collect();
    let mut truth_bad: Vec<usize> = truth.bad.iter().map(|b| b.channel).collect();
    truth_bad.sort();
    assert_eq!(
        flagged, truth_bad,
        "the quality check finds exactly the bad channels"
    );
    let good: Vec<bool> = faults.iter().map(|f| f.is_none()).collect();
    let hg = offline_high_gamma(
        data.view(),
        cfg.rate_hz,
        &good,
        &OfflineHgConfig::default(),
        &mut |_, _| {},
    )
    .unwrap();
    drop(data);
    let (tests, trials) = responsive_channels(hg.view(), &truth.onsets_s, 100.0, 0.01);
    assert!(trials >= TRIALS, "only {trials} complete trials");
    let found: Vec<usize> = tests
        .iter()
        .filter(|t| t.responsive)
        .map(|t| t.channel)
        .collect();
    let (precision, recall) = precision_recall(&found, &truth.responsive);
    eprintln!("offline: {trials} trials, precision {precision:.3}, recall {recall:.3}");
    assert!(
        precision >= 0.95 && recall >= 0.95,
        "precision {precision}, recall {recall}"
    );
}

#[test]
fn the_daemon_pipeline_finds_them_online() {
    let mut cfg = Config {
        synthetic: synthetic_config(4),
        ..Default::default()
    };
    cfg.run.summary_interval_s = 0.0;
    let source = SyntheticSource::new(&cfg.synthetic).unwrap();
    let truth = source.generator().truth_until(cfg.synthetic.duration_s);
    let summary = neurovox::pipeline::run(
        &cfg,
        Box::new(source),
        Arc::new(AtomicBool::new(false)),
        &mut |_| {},
    )
    .unwrap();
    assert_eq!(summary.dropped_blocks, 0);
    assert!(
        summary.responsive.trials as usize >= TRIALS,
        "only {} trials",
        summary.responsive.trials
    );
    let found = summary.responsive.responsive();
    let (precision, recall) = precision_recall(&found, &truth.responsive);
    eprintln!(
        "online: {} trials, precision {precision:.3}, recall {recall:.3}, bad {:?}",
        summary.responsive.trials, summary.bad_channels
    );
    assert!(
        precision >= 0.95 && recall >= 0.95,
        "precision {precision}, recall {recall}"
    );
    let mut flagged: Vec<usize> = summary.bad_channels.iter().map(|(c, _)| *c).collect();
    flagged.sort();
    let mut truth_bad: Vec<usize> = truth.bad.iter().map(|b| b.channel).collect();
    truth_bad.sort();
    assert_eq!(flagged, truth_bad);
}
