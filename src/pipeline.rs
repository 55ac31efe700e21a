//! Wiring of the daemon's stages into threads and bounded queues.
//!
//! ```text
//! acquisition thread ──RAW queue (bounded, drop-newest, counted)──▶ DSP thread
//!   Source::next_block                                               InputGuard → StreamingHighGamma
//!                                                                     → ResponsiveChannelDetector
//! ```
//! A real-time source never blocks on the DSP: when the raw queue is full the newest block is
//! dropped and counted, and the guard then sees (and fills) the gap in the sample index. A source
//! without its own clock (fast simulation or replay) waits instead, so nothing is dropped.

use crate::block::SampleBlock;
use crate::channels::online::{DetectorStats, ResponsiveChannelDetector, ResponsiveSet};
use crate::config::Config;
use crate::dsp::highgamma::streaming::{StreamingHgStats, StreamingHighGamma};
use crate::dsp::quality::ChannelFault;
use crate::source::guard::{Admission, GuardCounters, InputGuard};
use crate::source::{Source, SourceError};
use crossbeam_channel::{RecvTimeoutError, TrySendError, bounded};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// A raw block with the onset markers that came with it.
struct RawMessage {
    block: SampleBlock,
    markers: Vec<u64>,
}

/// Why the pipeline stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    /// A stage could not be built from the config.
    #[error("cannot build the {stage} stage: {reason}")]
    Build {
        /// The stage.
        stage: &'static str,
        /// Why.
        reason: String,
    },
    /// The source failed.
    #[error("source failed: {0}")]
    Source(String),
    /// The input was unusable (e.g. the channel count changed).
    #[error("bad input: {0}")]
    Input(String),
}

/// A snapshot of what every stage has done, for the live summary and the final report.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Summary {
    /// Seconds since the pipeline started.
    pub elapsed_s: f64,
    /// Blocks the source delivered.
    pub source_blocks: u64,
    /// Blocks dropped because the raw queue was full.
    pub dropped_blocks: u64,
    /// Input guard counters.
    pub guard: GuardCounters,
    /// Channels currently excluded, with the reason.
    pub bad_channels: Vec<(usize, ChannelFault)>,
    /// High-gamma frames emitted.
    pub frames: u64,
    /// Algorithmic delay of the streaming high gamma in ms.
    pub hg_delay_ms: f64,
    /// Streaming extractor counters.
    pub hg_samples_in: u64,
    /// Online detector counters.
    pub detector: DetectorStats,
    /// Current responsive set.
    pub responsive: ResponsiveSet,
    /// Mean DSP time per block in microseconds.
    pub dsp_mean_us: f64,
    /// Longest DSP time for one block in microseconds.
    pub dsp_max_us: f64,
}

impl Summary {
    /// One line for a person watching the run.
    pub fn line(&self) -> String {
        let resp = self.responsive.responsive();
        format!(
            "t={:6.1}s blocks={} dropped={} gaps={} filled={} repaired={} bad={:?} frames={} \
             delay={:.1}ms trials={} responsive={} {:?} dsp={:.0}µs/block (max {:.0})",
            self.elapsed_s,
            self.source_blocks,
            self.dropped_blocks,
            self.guard.gaps,
            self.guard.filled_samples,
            self.guard.non_finite_repaired,
            self.bad_channels
                .iter()
                .map(|(c, _)| *c)
                .collect::<Vec<_>>(),
            self.frames,
            self.hg_delay_ms,
            self.responsive.trials,
            resp.len(),
            resp,
            self.dsp_mean_us,
            self.dsp_max_us
        )
    }
}

/// Runs source → guard → streaming high gamma → responsive detector until the source ends or
/// `stop` is set; `on_summary` is called every `run.summary_interval_s` and once at the end.
pub fn run(
    cfg: &Config,
    mut source: Box<dyn Source>,
    stop: Arc<AtomicBool>,
    on_summary: &mut dyn FnMut(&Summary),
) -> Result<Summary, PipelineError> {
    let labels = source.labels();
    let n_ch = labels.len();
    let rate = source.rate_hz();
    let mut guard = InputGuard::new(&cfg.guard, n_ch, rate);
    let mut hg =
        StreamingHighGamma::new(&cfg.highgamma, n_ch, rate).map_err(|e| PipelineError::Build {
            stage: "highgamma",
            reason: e.to_string(),
        })?;
    let frame_rate = hg.frame_rate_hz();
    let delay_frames = (hg.algorithmic_delay_ms() / 1000.0 * frame_rate).round() as u64;
    let mut detector =
        ResponsiveChannelDetector::new(n_ch, frame_rate, cfg.responsive.alpha, delay_frames);

    let realtime = source.is_realtime();
    let (tx, rx) = bounded::<RawMessage>(cfg.run.raw_queue_blocks);
    let dropped = Arc::new(AtomicU64::new(0));
    let delivered = Arc::new(AtomicU64::new(0));
    let acq_stop = stop.clone();
    let (acq_dropped, acq_delivered) = (dropped.clone(), delivered.clone());
    let acquisition = std::thread::Builder::new()
        .name("acquisition".into())
        .spawn(move || -> Result<(), String> {
            while !acq_stop.load(Ordering::Relaxed) {
                let block = match source.next_block() {
                    Ok(b) => b,
                    Err(SourceError::Ended) => return Ok(()),
                    Err(e) => return Err(e.to_string()),
                };
                acq_delivered.fetch_add(1, Ordering::Relaxed);
                let markers = source.markers().to_vec();
                let msg = RawMessage { block, markers };
                if !realtime {
                    // Policy for sources without their own clock: backpressure, nothing dropped.
                    if tx.send(msg).is_err() {
                        return Ok(());
                    }
                    continue;
                }
                match tx.try_send(msg) {
                    Ok(()) => {}
                    // Policy: drop the newest block; the guard fills the index gap downstream.
                    Err(TrySendError::Full(_)) => {
                        acq_dropped.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(TrySendError::Disconnected(_)) => return Ok(()),
                }
            }
            Ok(())
        })
        .map_err(|e| PipelineError::Build {
            stage: "acquisition",
            reason: e.to_string(),
        })?;

    let started = Instant::now();
    let mut last_summary = Instant::now();
    let interval = Duration::from_secs_f64(cfg.run.summary_interval_s.max(0.0));
    let mut frames = 0u64;
    let (mut dsp_total, mut dsp_max, mut dsp_blocks) = (Duration::ZERO, Duration::ZERO, 0u64);
    let mut published = detector.publish();
    let mut failure = None;
    let hg_delay_ms = hg.algorithmic_delay_ms();
    let snapshot = |guard: &InputGuard,
                    hg_stats: StreamingHgStats,
                    detector: &ResponsiveChannelDetector,
                    published: &ResponsiveSet,
                    frames: u64,
                    dsp: (Duration, Duration, u64)| Summary {
        elapsed_s: started.elapsed().as_secs_f64(),
        source_blocks: delivered.load(Ordering::Relaxed),
        dropped_blocks: dropped.load(Ordering::Relaxed),
        guard: guard.counters(),
        bad_channels: guard
            .faults()
            .iter()
            .enumerate()
            .filter_map(|(c, f)| f.map(|f| (c, f)))
            .collect(),
        frames,
        hg_delay_ms,
        hg_samples_in: hg_stats.samples_in,
        detector: detector.stats(),
        responsive: published.clone(),
        dsp_mean_us: dsp.0.as_secs_f64() * 1e6 / dsp.2.max(1) as f64,
        dsp_max_us: dsp.1.as_secs_f64() * 1e6,
    };
    loop {
        let msg = match rx.recv_timeout(Duration::from_millis(100)) {
            Ok(m) => m,
            Err(RecvTimeoutError::Timeout) => {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                continue;
            }
            Err(RecvTimeoutError::Disconnected) => break,
        };
        let RawMessage { mut block, markers } = msg;
        let t0 = Instant::now();
        let mut emit = |_stamp: crate::block::FrameStamp, frame: &[f32]| {
            detector.push_frame(frame);
            frames += 1;
        };
        let emit = &mut emit;
        match guard.admit(&mut block) {
            Ok(Admission::Gap { first_index, .. }) => {
                hg.process(guard.last_fill(), first_index, guard.good(), emit);
            }
            Ok(Admission::Contiguous) => {}
            Err(e) => {
                failure = Some(PipelineError::Input(e.to_string()));
                break;
            }
        }
        hg.process(&block.data, block.first_index, guard.good(), emit);
        for &m in &markers {
            detector.mark_onset((m as f64 / rate * frame_rate).round() as u64);
        }
        let dt = t0.elapsed();
        dsp_total += dt;
        dsp_max = dsp_max.max(dt);
        dsp_blocks += 1;
        if !interval.is_zero() && last_summary.elapsed() >= interval {
            last_summary = Instant::now();
            detector.publish_into(&mut published);
            on_summary(&snapshot(
                &guard,
                hg.stats(),
                &detector,
                &published,
                frames,
                (dsp_total, dsp_max, dsp_blocks),
            ));
        }
    }
    stop.store(true, Ordering::Relaxed);
    drop(rx);
    let acq = acquisition.join();
    detector.publish_into(&mut published);
    let summary = snapshot(
        &guard,
        hg.stats(),
        &detector,
        &published,
        frames,
        (dsp_total, dsp_max, dsp_blocks),
    );
    on_summary(&summary);
    if let Some(f) = failure {
        return Err(f);
    }
    match acq {
        Ok(Ok(())) => Ok(summary),
        Ok(Err(e)) => Err(PipelineError::Source(e)),
        Err(_) => Err(PipelineError::Source(
            "the acquisition thread panicked".into(),
        )),
    }
}
