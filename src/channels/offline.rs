//! The offline responsive-channel test of spec §3.3 (Li et al. 2023, `asccd`).
//!
//! Windows −0.2…+1.0 s around each onset; per trial the mean of the pre window (−0.2…+0.1 s,
//! samples 0–29 at 100 Hz) and of the post window (+0.15…+1.0 s, samples 35–119); per channel
//! the paired t-test of pre vs post across trials (t = mean(pre − post) / SE, as
//! `scipy.stats.ttest_rel(pre, post)`); responsive when p < α / N (Bonferroni over channels).

use statrs::distribution::{ContinuousCDF, StudentsT};

/// Window layout, in frames relative to the onset frame.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrialWindows {
    /// Frames kept before the onset (20 at 100 Hz).
    pub back: usize,
    /// Frames kept from the onset on (100 at 100 Hz).
    pub forward: usize,
    /// Pre window as `[start, end)` within the trial window (0..30 at 100 Hz).
    pub pre: (usize, usize),
    /// Post window as `[start, end)` within the trial window (35..120 at 100 Hz).
    pub post: (usize, usize),
}

impl TrialWindows {
    /// The spec's windows scaled to `frame_rate_hz` (exact at 100 Hz).
    pub fn at_rate(frame_rate_hz: f64) -> Self {
        let f = |s: f64| (s * frame_rate_hz).round() as usize;
        Self {
            back: f(0.2),
            forward: f(1.0),
            pre: (0, f(0.3)),
            post: (f(0.35), f(1.2)),
        }
    }

    /// Length of a trial window in frames.
    pub fn len(&self) -> usize {
        self.back + self.forward
    }

    /// Whether the window is empty (never, for positive rates).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Result of the test for one channel.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct ChannelTest {
    /// Channel index (0-based).
    pub channel: usize,
    /// Paired t statistic of pre − post (negative when activity rises after onset).
    pub t: f64,
    /// Two-sided p value.
    pub p: f64,
    /// Whether p < α / N.
    pub responsive: bool,
}

/// Onset frame indices kept by the spec's rule (`t·hz − back > 0` and `t·hz + forward < n`).
pub fn trial_starts(
    onsets_s: &[f64],
    frame_rate_hz: f64,
    n_frames: usize,
    w: &TrialWindows,
) -> Vec<usize> {
    onsets_s
        .iter()
        .filter(|&&t| {
            let x = t * frame_rate_hz;
            x.is_finite() && x - w.back as f64 > 0.0 && x + (w.forward as f64) < n_frames as f64
        })
        .map(|&t| (t * frame_rate_hz).round() as usize - w.back)
        .collect()
}

/// Two-sided p value of a t statistic with `dof` degrees of freedom (NaN when undefined).
pub fn t_test_p(t: f64, dof: f64) -> f64 {
    if !t.is_finite() || dof < 1.0 {
        return f64::NAN;
    }
    match StudentsT::new(0.0, 1.0, dof) {
        Ok(dist) => (2.0 * dist.sf(t.abs())).min(1.0),
        Err(_) => f64::NAN,
    }
}

/// Paired t statistic of the differences `d` (mean / (sd_ddof1 / √n)); `(t, n)`.
pub fn paired_t(d: impl Iterator<Item = f64>) -> (f64, usize) {
    let (mut n, mut mean, mut m2) = (0usize, 0.0f64, 0.0f64);
    for x in d.filter(|x| x.is_finite()) {
        n += 1;
        let delta = x - mean;
        mean += delta / n as f64;
        m2 += delta * (x - mean);
    }
    if n < 2 {
        return (f64::NAN, n);
    }
    let sd = (m2 / (n - 1) as f64).sqrt();
    (mean / (sd / (n as f64).sqrt()), n)
}

/// Runs the test on `hg` (`[frames, channels]`, row-major) for the given onsets.
pub fn responsive_channels(
    hg: ndarray::ArrayView2<f32>,
    onsets_s: &[f64],
    frame_rate_hz: f64,
    alpha: f64,
) -> (Vec<ChannelTest>, usize) {
    let (n_frames, n_ch) = hg.dim();
    let w = TrialWindows::at_rate(frame_rate_hz);
    let starts = trial_starts(onsets_s, frame_rate_hz, n_frames, &w);
    let nan_mean = |c: usize, s: usize, (a, b): (usize, usize)| {
        let (mut sum, mut n) = (0.0f64, 0usize);
        for t in s + a..s + b {
            let v = hg[[t, c]] as f64;
            if v.is_finite() {
                sum += v;
                n += 1;
            }
        }
        if n == 0 { f64::NAN } else { sum / n as f64 }
    };
    let threshold = alpha / n_ch as f64;
    let tests = (0..n_ch)
        .map(|c| {
            let diffs = starts
                .iter()
                .map(|&s| nan_mean(c, s, w.pre) - nan_mean(c, s, w.post));
            let (t, n) = paired_t(diffs);
            let p = t_test_p(t, n as f64 - 1.0);
            ChannelTest {
                channel: c,
                t,
                p,
                responsive: p < threshold,
            }
        })
        .collect();
    (tests, starts.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_at_100_hz_are_the_spec_ones() {
        let w = TrialWindows::at_rate(100.0);
        assert_eq!(
            (w.back, w.forward, w.pre, w.post),
            (20, 100, (0, 30), (35, 120))
        );
    }

    #[test]
    fn edge_trials_are_dropped_like_the_reference() {
        let w = TrialWindows::at_rate(100.0);
        // 0.2 s: 20 - 20 = 0 is not > 0; 0.21 s kept; 8.99 s: 899 + 100 = 999 < 1000 kept; 9.0 dropped.
        assert_eq!(
            trial_starts(&[0.2, 0.21, 8.99, 9.0], 100.0, 1000, &w),
            vec![1, 879]
        );
    }

    #[test]
    fn p_values_of_known_t() {
        // Two-sided p for t = 2.0, dof = 10 is 0.07339 (tables).
        assert!((t_test_p(2.0, 10.0) - 0.073388).abs() < 1e-5);
        assert!(t_test_p(f64::NAN, 10.0).is_nan());
    }
}
