//! Online responsive-channel detector: accumulates trials as onset markers arrive.
//!
//! Frames go through a ring buffer long enough to hold one trial window; an onset waits in a
//! bounded queue until its post window is complete, then its pre − post difference is added to
//! per-channel running sums. The current result is published on demand with t, p and the trial
//! count. All memory is allocated at construction; `push_frame` and `mark_onset` never allocate.

use super::offline::{TrialWindows, t_test_p};

/// Capacity of the pending-onset queue; when full the oldest pending onset is dropped and counted.
pub const PENDING_ONSETS_CAPACITY: usize = 64;

/// One channel's running result.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct ChannelResponse {
    /// Paired t of pre − post over the trials so far.
    pub t: f64,
    /// Two-sided p value.
    pub p: f64,
    /// Whether p < α / N.
    pub responsive: bool,
}

/// The detector's published state.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ResponsiveSet {
    /// Trials accumulated.
    pub trials: u64,
    /// Per-channel results.
    pub channels: Vec<ChannelResponse>,
}

impl ResponsiveSet {
    /// Indices of the responsive channels.
    pub fn responsive(&self) -> Vec<usize> {
        self.channels
            .iter()
            .enumerate()
            .filter(|(_, c)| c.responsive)
            .map(|(i, _)| i)
            .collect()
    }
}

/// Counters of what the detector did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct DetectorStats {
    /// Frames received.
    pub frames: u64,
    /// Onsets accepted as complete trials.
    pub trials: u64,
    /// Onsets dropped because their pre window had already left the ring buffer.
    pub late_onsets: u64,
    /// Onsets dropped because the pending queue was full.
    pub overflow_onsets: u64,
}

/// Accumulates trials and tests every channel for a response to speech onsets.
pub struct ResponsiveChannelDetector {
    n_ch: usize,
    windows: TrialWindows,
    alpha: f64,
    /// Frames of delay to compensate (the streaming extractor's algorithmic delay).
    delay_frames: u64,
    ring: Vec<f32>,
    ring_len: usize,
    next_frame: u64,
    pending: std::collections::VecDeque<u64>,
    sum: Vec<f64>,
    sum_sq: Vec<f64>,
    count: Vec<u64>,
    stats: DetectorStats,
}

impl ResponsiveChannelDetector {
    /// Builds a detector for `n_ch` channels at `frame_rate_hz` with significance `alpha`
    /// (Bonferroni-corrected over channels) and `delay_frames` of extractor delay to compensate.
    pub fn new(n_ch: usize, frame_rate_hz: f64, alpha: f64, delay_frames: u64) -> Self {
        let windows = TrialWindows::at_rate(frame_rate_hz);
        let ring_len = windows.len() + delay_frames as usize + 2;
        Self {
            n_ch,
            windows,
            alpha,
            delay_frames,
            ring: vec![0.0; ring_len * n_ch],
            ring_len,
            next_frame: 0,
            pending: std::collections::VecDeque::with_capacity(PENDING_ONSETS_CAPACITY),
            sum: vec![0.0; n_ch],
            sum_sq: vec![0.0; n_ch],
            count: vec![0; n_ch],
            stats: DetectorStats::default(),
        }
    }

    /// Registers a speech onset at frame-clock time `onset_frame` (onset seconds × frame rate,
    /// rounded), before or after the frames around it have arrived.
    pub fn mark_onset(&mut self, onset_frame: u64) {
        let start = (onset_frame + self.delay_frames).saturating_sub(self.windows.back as u64);
        if onset_frame + self.delay_frames < self.windows.back as u64 + 1
            || start + (self.ring_len as u64) < self.next_frame + 1
        {
            self.stats.late_onsets += 1;
            return;
        }
        if self.pending.len() == PENDING_ONSETS_CAPACITY {
            self.pending.pop_front();
            self.stats.overflow_onsets += 1;
        }
        self.pending.push_back(start);
        self.process_pending();
    }

    /// Adds the next frame (`n_ch` values, in frame order).
    pub fn push_frame(&mut self, frame: &[f32]) {
        let slot = (self.next_frame % self.ring_len as u64) as usize;
        let n = self.n_ch.min(frame.len());
        self.ring[slot * self.n_ch..slot * self.n_ch + n].copy_from_slice(&frame[..n]);
        self.next_frame += 1;
        self.stats.frames += 1;
        self.process_pending();
    }

    fn process_pending(&mut self) {
        while let Some(&start) = self.pending.front() {
            let end = start + self.windows.len() as u64;
            if end > self.next_frame {
                break;
            }
            self.pending.pop_front();
            for c in 0..self.n_ch {
                let pre = self.window_mean(start, self.windows.pre, c);
                let post = self.window_mean(start, self.windows.post, c);
                let d = pre - post;
                if d.is_finite() {
                    self.sum[c] += d;
                    self.sum_sq[c] += d * d;
                    self.count[c] += 1;
                }
            }
            self.stats.trials += 1;
        }
    }

    fn window_mean(&self, start: u64, (a, b): (usize, usize), c: usize) -> f64 {
        let (mut s, mut n) = (0.0f64, 0usize);
        for f in start + a as u64..start + b as u64 {
            let slot = (f % self.ring_len as u64) as usize;
            let v = self.ring[slot * self.n_ch + c] as f64;
            if v.is_finite() {
                s += v;
                n += 1;
            }
        }
        if n == 0 { f64::NAN } else { s / n as f64 }
    }

    /// Counters of frames, trials and dropped onsets.
    pub fn stats(&self) -> DetectorStats {
        self.stats
    }

    /// Fills `out` with the current per-channel result (reuses its allocation).
    pub fn publish_into(&self, out: &mut ResponsiveSet) {
        out.trials = self.stats.trials;
        out.channels.clear();
        let threshold = self.alpha / self.n_ch as f64;
        for c in 0..self.n_ch {
            let n = self.count[c] as f64;
            let t = if n >= 2.0 {
                let mean = self.sum[c] / n;
                let var = ((self.sum_sq[c] - n * mean * mean) / (n - 1.0)).max(0.0);
                mean / (var / n).sqrt()
            } else {
                f64::NAN
            };
            let p = t_test_p(t, n - 1.0);
            out.channels.push(ChannelResponse {
                t,
                p,
                responsive: p < threshold,
            });
        }
    }

    /// The current per-channel result.
    pub fn publish(&self) -> ResponsiveSet {
        let mut out = ResponsiveSet {
            trials: 0,
            channels: Vec::with_capacity(self.n_ch),
        };
        self.publish_into(&mut out);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::channels::offline::responsive_channels;
    use ndarray::Array2;

    /// Seeded frames with responses on channels 0 and 2 after each onset.
    fn scenario() -> (Array2<f32>, Vec<f64>) {
        let n_frames = 3000;
        let mut hg = Array2::<f32>::zeros((n_frames, 4));
        let mut seed = 9u64;
        for v in hg.iter_mut() {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            *v = (seed >> 40) as f32 / (1u64 << 24) as f32 - 0.5;
        }
        let onsets: Vec<f64> = (1..28)
            .map(|i| i as f64 * 1.05 + 0.013 * (i % 3) as f64)
            .collect();
        for &o in &onsets {
            let f = (o * 100.0).round() as usize;
            for t in f + 10..(f + 80).min(n_frames) {
                hg[[t, 0]] += 0.8;
                hg[[t, 2]] += 0.5;
            }
        }
        (hg, onsets)
    }

    #[test]
    fn online_equals_offline_when_markers_arrive_early_or_late() {
        let (hg, onsets) = scenario();
        let (offline, n_trials) = responsive_channels(hg.view(), &onsets, 100.0, 0.01);
        for marker_lag_frames in [0usize, 50] {
            let mut det = ResponsiveChannelDetector::new(4, 100.0, 0.01, 0);
            let mut next_onset = 0;
            for (f, row) in hg.rows().into_iter().enumerate() {
                while next_onset < onsets.len()
                    && (onsets[next_onset] * 100.0).round() as usize + marker_lag_frames <= f
                {
                    det.mark_onset((onsets[next_onset] * 100.0).round() as u64);
                    next_onset += 1;
                }
                det.push_frame(row.as_slice().unwrap());
            }
            let online = det.publish();
            assert_eq!(online.trials as usize, n_trials);
            for (a, b) in online.channels.iter().zip(&offline) {
                assert!(
                    (a.t - b.t).abs() < 1e-6 * b.t.abs().max(1.0),
                    "{a:?} vs {b:?}"
                );
                assert_eq!(a.responsive, b.responsive);
            }
            assert_eq!(online.responsive(), vec![0, 2]);
        }
    }

    #[test]
    fn onsets_whose_window_has_gone_are_counted_late() {
        let mut det = ResponsiveChannelDetector::new(1, 100.0, 0.01, 0);
        for _ in 0..1000 {
            det.push_frame(&[0.0]);
        }
        det.mark_onset(100);
        assert_eq!(det.stats().late_onsets, 1);
    }
}
