//! Core data types that travel between stages: raw sample blocks and high-gamma frames.

use std::sync::Arc;
use std::time::Instant;

/// A block of multichannel raw samples, sample-major (`data[s * n_channels + c]`).
///
/// The source's sample index is the primary clock: `first_index` is the index of the block's
/// first sample since the stream started. Timestamps are secondary and only used for latency
/// accounting and clock mapping.
#[derive(Debug, Clone)]
pub struct SampleBlock {
    /// Source sample index of the first sample in this block.
    pub first_index: u64,
    /// Host monotonic time at which the block was received.
    pub received_at: Instant,
    /// Source timestamp of the first sample, mapped to the host clock, in seconds.
    pub source_time_s: f64,
    /// Channel labels, shared by every block of one stream.
    pub labels: Arc<[String]>,
    /// Nominal sample rate in Hz.
    pub rate_hz: f64,
    /// Samples, sample-major: `n_samples() * n_channels()` values.
    pub data: Vec<f32>,
}

impl SampleBlock {
    /// Number of channels in this block.
    pub fn n_channels(&self) -> usize {
        self.labels.len()
    }

    /// Number of samples (time points) in this block.
    pub fn n_samples(&self) -> usize {
        self.data.len().checked_div(self.n_channels()).unwrap_or(0)
    }

    /// Index one past the last sample of the block.
    pub fn end_index(&self) -> u64 {
        self.first_index + self.n_samples() as u64
    }
}

/// Default channel labels `ch000, ch001, ...` for `n` channels.
pub fn default_labels(n: usize) -> Arc<[String]> {
    (0..n)
        .map(|i| format!("ch{i:03}"))
        .collect::<Vec<_>>()
        .into()
}

/// One high-gamma frame for all channels, emitted by the streaming extractor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameStamp {
    /// Running frame number since the stream started.
    pub frame_index: u64,
    /// Source sample index of the last raw sample that contributed to this frame.
    pub last_sample_index: u64,
}
