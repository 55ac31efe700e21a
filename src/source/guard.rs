//! Input guard: the first stage after any source. Repairs and reports bad input.
//!
//! - Non-finite samples are replaced (last finite value of that channel), counted, and the
//!   channel is flagged.
//! - Flat, saturated and very noisy channels are flagged from windowed statistics
//!   (`dsp::quality`), so the common average reference can exclude them.
//! - A block whose channel count or shape differs from the stream's is a clear error.
//! - Sample-index gaps are counted and filled (hold or zeros) so downstream stages see a
//!   contiguous stream; overlapping (already seen) samples are dropped and counted.
//!
//! Buffers are allocated at construction; admitting a block does not allocate.

use crate::block::SampleBlock;
use crate::dsp::quality::{ChannelFault, ChannelStats, QualityConfig, judge};

/// How missing samples are filled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GapFill {
    /// Repeat each channel's last sample.
    Hold,
    /// Insert zeros.
    Zeros,
}

/// Settings of the input guard.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GuardConfig {
    /// How to fill sample-index gaps.
    pub gap_fill: GapFill,
    /// Longest gap that is filled, in seconds; a longer one is an error (the stream restarts).
    pub max_gap_s: f64,
    /// Window over which channel quality is judged, in seconds.
    pub quality_window_s: f64,
    /// Channel-quality thresholds.
    pub quality: QualityConfig,
}

impl Default for GuardConfig {
    fn default() -> Self {
        Self {
            gap_fill: GapFill::Hold,
            max_gap_s: 2.0,
            quality_window_s: 2.0,
            quality: QualityConfig::default(),
        }
    }
}

impl GuardConfig {
    /// Checks the settings; the error names the field.
    pub fn validate(&self) -> Result<(), String> {
        if !(self.max_gap_s >= 0.0 && self.max_gap_s <= 60.0) {
            return Err(format!(
                "guard.max_gap_s must be in [0, 60], got {}",
                self.max_gap_s
            ));
        }
        if !(self.quality_window_s >= 0.1 && self.quality_window_s <= 600.0) {
            return Err(format!(
                "guard.quality_window_s must be in [0.1, 600], got {}",
                self.quality_window_s
            ));
        }
        if self.quality.noisy_ratio.is_nan() || self.quality.noisy_ratio <= 1.0 {
            return Err("guard.quality.noisy_ratio must be > 1".into());
        }
        if !(self.quality.saturated_fraction > 0.0 && self.quality.saturated_fraction <= 1.0) {
            return Err("guard.quality.saturated_fraction must be in (0, 1]".into());
        }
        Ok(())
    }
}

/// Bad input the guard cannot repair.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum GuardError {
    /// The channel count changed mid-stream.
    #[error("block at sample {first_index} has {found} channels; the stream has {expected}")]
    ChannelCountChanged {
        /// Channels of the stream.
        expected: usize,
        /// Channels of the offending block.
        found: usize,
        /// Index of the block's first sample.
        first_index: u64,
    },
    /// The data length is not a whole number of samples.
    #[error(
        "block at sample {first_index} holds {values} values, not a multiple of {channels} channels"
    )]
    RaggedBlock {
        /// Values in the block.
        values: usize,
        /// Channels of the stream.
        channels: usize,
        /// Index of the block's first sample.
        first_index: u64,
    },
    /// A gap longer than `max_gap_s`.
    #[error(
        "gap of {missing} samples before sample {first_index} exceeds the fill limit of {limit}"
    )]
    GapTooLong {
        /// Missing samples.
        missing: u64,
        /// Fill limit in samples.
        limit: u64,
        /// Index of the block's first sample.
        first_index: u64,
    },
}

/// What the guard counted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct GuardCounters {
    /// Blocks admitted.
    pub blocks: u64,
    /// Samples admitted (per channel), excluding fills.
    pub samples: u64,
    /// Non-finite values replaced.
    pub non_finite_repaired: u64,
    /// Gaps seen.
    pub gaps: u64,
    /// Samples missing in those gaps (and filled).
    pub filled_samples: u64,
    /// Samples dropped because their index had already been seen.
    pub overlapping_samples: u64,
}

/// What admitting a block produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// The block follows on; process it as is (it may have been repaired in place).
    Contiguous,
    /// Samples were missing; process [`InputGuard::last_fill`] (sample-major, starting at
    /// `first_index`) before the block.
    Gap {
        /// Index of the first missing sample.
        first_index: u64,
        /// Number of missing (filled) samples.
        samples: u64,
    },
}

/// The input guard of one stream.
pub struct InputGuard {
    cfg: GuardConfig,
    n_ch: usize,
    window_samples: u64,
    max_gap: u64,
    expected_next: Option<u64>,
    last: Vec<f32>,
    window: Vec<ChannelStats>,
    in_window: u64,
    faults: Vec<Option<ChannelFault>>,
    non_finite_in_window: Vec<bool>,
    good: Vec<bool>,
    fill: Vec<f32>,
    fill_len: usize,
    judge_scratch: Vec<f64>,
    counters: GuardCounters,
}

impl InputGuard {
    /// Builds a guard for a stream of `n_ch` channels at `rate_hz`.
    pub fn new(cfg: &GuardConfig, n_ch: usize, rate_hz: f64) -> Self {
        let max_gap = (cfg.max_gap_s * rate_hz).ceil() as u64;
        Self {
            cfg: cfg.clone(),
            n_ch,
            window_samples: ((cfg.quality_window_s * rate_hz).round() as u64).max(2),
            max_gap,
            expected_next: None,
            last: vec![0.0; n_ch],
            window: vec![ChannelStats::default(); n_ch],
            in_window: 0,
            faults: vec![None; n_ch],
            non_finite_in_window: vec![false; n_ch],
            good: vec![true; n_ch],
            fill: vec![0.0; max_gap as usize * n_ch],
            fill_len: 0,
            judge_scratch: Vec::with_capacity(n_ch),
            counters: GuardCounters::default(),
        }
    }

    /// Checks, repairs and accounts for one block; see [`Admission`].
    pub fn admit(&mut self, block: &mut SampleBlock) -> Result<Admission, GuardError> {
        let first_index = block.first_index;
        if block.labels.len() != self.n_ch {
            return Err(GuardError::ChannelCountChanged {
                expected: self.n_ch,
                found: block.labels.len(),
                first_index,
            });
        }
        if self.n_ch == 0 || !block.data.len().is_multiple_of(self.n_ch) {
            return Err(GuardError::RaggedBlock {
                values: block.data.len(),
                channels: self.n_ch,
                first_index,
            });
        }
        // Overlap: drop samples already seen.
        let expected = self.expected_next.unwrap_or(first_index);
        if first_index < expected {
            let overlap = ((expected - first_index) as usize).min(block.n_samples());
            block.data.drain(..overlap * self.n_ch);
            block.first_index += overlap as u64;
            self.counters.overlapping_samples += overlap as u64;
        }
        let missing = block.first_index.saturating_sub(expected);
        if missing > self.max_gap {
            self.expected_next = Some(block.end_index());
            return Err(GuardError::GapTooLong {
                missing,
                limit: self.max_gap,
                first_index: block.first_index,
            });
        }
        let n = missing as usize * self.n_ch;
        if missing > 0 {
            self.counters.gaps += 1;
            self.counters.filled_samples += missing;
            match self.cfg.gap_fill {
                GapFill::Zeros => self.fill[..n].fill(0.0),
                GapFill::Hold => {
                    for s in self.fill[..n].chunks_exact_mut(self.n_ch) {
                        s.copy_from_slice(&self.last);
                    }
                }
            }
        }
        self.repair(&mut block.data);
        self.counters.blocks += 1;
        self.counters.samples += block.n_samples() as u64;
        self.expected_next = Some(block.end_index());
        if missing == 0 {
            return Ok(Admission::Contiguous);
        }
        self.fill_len = n;
        Ok(Admission::Gap {
            first_index: expected,
            samples: missing,
        })
    }

    fn repair(&mut self, data: &mut [f32]) {
        for sample in data.chunks_exact_mut(self.n_ch) {
            for (c, v) in sample.iter_mut().enumerate() {
                if v.is_finite() {
                    self.last[c] = *v;
                    self.window[c].push(*v);
                } else {
                    *v = self.last[c];
                    self.counters.non_finite_repaired += 1;
                    self.non_finite_in_window[c] = true;
                }
            }
            self.in_window += 1;
            if self.in_window >= self.window_samples {
                self.close_window();
            }
        }
    }

    fn close_window(&mut self) {
        judge(
            &self.window,
            &self.cfg.quality,
            &mut self.faults,
            &mut self.judge_scratch,
        );
        for c in 0..self.n_ch {
            if self.non_finite_in_window[c] && self.faults[c].is_none() {
                self.faults[c] = Some(ChannelFault::NonFinite);
            }
            self.good[c] = self.faults[c].is_none();
            self.window[c] = ChannelStats::default();
            self.non_finite_in_window[c] = false;
        }
        self.in_window = 0;
    }

    /// The samples that filled the last gap (sample-major).
    pub fn last_fill(&self) -> &[f32] {
        &self.fill[..self.fill_len]
    }

    /// Per-channel mask of channels fit for the common average (from the last full window).
    pub fn good(&self) -> &[bool] {
        &self.good
    }

    /// Per-channel fault from the last full window.
    pub fn faults(&self) -> &[Option<ChannelFault>] {
        &self.faults
    }

    /// Counters since the stream started.
    pub fn counters(&self) -> GuardCounters {
        self.counters
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::block::default_labels;
    use std::time::Instant;

    fn block(first: u64, n_ch: usize, data: Vec<f32>) -> SampleBlock {
        SampleBlock {
            first_index: first,
            received_at: Instant::now(),
            source_time_s: 0.0,
            labels: default_labels(n_ch),
            rate_hz: 1000.0,
            data,
        }
    }

    #[test]
    fn non_finite_samples_are_repaired_counted_and_flag_the_channel() {
        let cfg = GuardConfig {
            quality_window_s: 0.1,
            ..Default::default()
        };
        let mut g = InputGuard::new(&cfg, 2, 1000.0);
        let mut data: Vec<f32> = (0..200).map(|i| ((i * 37) % 23) as f32).collect();
        data[11] = f32::NAN;
        data[13] = f32::INFINITY;
        let mut b = block(0, 2, data);
        assert_eq!(g.admit(&mut b).unwrap(), Admission::Contiguous);
        assert!(b.data.iter().all(|v| v.is_finite()));
        assert_eq!(b.data[11], b.data[9]);
        assert_eq!(g.counters().non_finite_repaired, 2);
        assert_eq!(g.faults()[1], Some(ChannelFault::NonFinite));
        assert_eq!(g.good(), &[true, false]);
    }

    #[test]
    fn channel_count_change_is_a_clear_error() {
        let mut g = InputGuard::new(&GuardConfig::default(), 2, 1000.0);
        let mut b = block(0, 3, vec![0.0; 9]);
        let e = g.admit(&mut b).unwrap_err();
        assert_eq!(
            e.to_string(),
            "block at sample 0 has 3 channels; the stream has 2"
        );
        let mut ragged = block(0, 2, vec![0.0; 5]);
        assert!(matches!(
            g.admit(&mut ragged),
            Err(GuardError::RaggedBlock { .. })
        ));
    }

    #[test]
    fn gaps_are_counted_and_filled_and_overlaps_dropped() {
        let cfg = GuardConfig {
            gap_fill: GapFill::Zeros,
            ..Default::default()
        };
        let mut g = InputGuard::new(&cfg, 1, 1000.0);
        let mut a = block(0, 1, vec![1.0; 10]);
        g.admit(&mut a).unwrap();
        let mut b = block(15, 1, vec![2.0; 10]);
        match g.admit(&mut b).unwrap() {
            Admission::Gap {
                first_index,
                samples,
            } => {
                assert_eq!((first_index, samples), (10, 5));
                assert_eq!(g.last_fill(), &[0.0; 5]);
            }
            other => panic!("expected a gap, got {other:?}"),
        }
        let mut c = block(20, 1, vec![3.0; 10]);
        assert_eq!(g.admit(&mut c).unwrap(), Admission::Contiguous);
        assert_eq!((c.first_index, c.data.len()), (25, 5));
        let k = g.counters();
        assert_eq!((k.gaps, k.filled_samples, k.overlapping_samples), (1, 5, 5));
        let mut far = block(100_000, 1, vec![0.0; 2]);
        assert!(matches!(
            g.admit(&mut far),
            Err(GuardError::GapTooLong { .. })
        ));
    }
}
