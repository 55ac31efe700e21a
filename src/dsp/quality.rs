//! Channel quality: flat, saturated and very noisy channels, judged from running statistics.
//!
//! The same accumulator serves the offline tools (whole record) and the streaming input guard
//! (one window at a time), so both flag channels by one definition.

/// Why a channel is excluded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChannelFault {
    /// No variation at all (disconnected or zeroed).
    Flat,
    /// Stuck at the rail for a large share of samples (amplifier clipping).
    Saturated,
    /// Sample-to-sample variation far above the other channels.
    Noisy,
    /// Non-finite samples were found (they were repaired).
    NonFinite,
}

/// Thresholds of the channel-quality check.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct QualityConfig {
    /// A channel whose standard deviation is below this (in input units) is flat.
    pub flat_std: f64,
    /// A channel is saturated when at least this fraction of samples repeat the previous one
    /// exactly while sitting at the channel's extreme value.
    pub saturated_fraction: f64,
    /// A channel is noisy when its RMS first difference exceeds the median channel's by this factor.
    pub noisy_ratio: f64,
}

impl Default for QualityConfig {
    fn default() -> Self {
        Self {
            flat_std: 1e-6,
            saturated_fraction: 0.01,
            noisy_ratio: 6.0,
        }
    }
}

/// Running statistics of one channel.
#[derive(Debug, Clone, Copy, Default)]
pub struct ChannelStats {
    n: u64,
    mean: f64,
    m2: f64,
    diff_sq: f64,
    prev: f32,
    max_abs: f32,
    at_max_stuck: u64,
}

impl ChannelStats {
    /// Adds one finite sample.
    #[inline]
    pub fn push(&mut self, x: f32) {
        let a = x.abs();
        if self.n > 0 {
            let d = (x - self.prev) as f64;
            self.diff_sq += d * d;
            if a > self.max_abs {
                // A new extreme: earlier stuck samples were below it.
                self.max_abs = a;
                self.at_max_stuck = 0;
            } else if a == self.max_abs && x == self.prev {
                self.at_max_stuck += 1;
            }
        } else {
            self.max_abs = a;
        }
        self.n += 1;
        let delta = x as f64 - self.mean;
        self.mean += delta / self.n as f64;
        self.m2 += delta * (x as f64 - self.mean);
        self.prev = x;
    }

    /// Samples seen.
    pub fn count(&self) -> u64 {
        self.n
    }

    /// Population standard deviation of the samples seen.
    pub fn std(&self) -> f64 {
        if self.n == 0 {
            0.0
        } else {
            (self.m2 / self.n as f64).sqrt()
        }
    }

    /// RMS of the first difference.
    pub fn diff_rms(&self) -> f64 {
        if self.n < 2 {
            0.0
        } else {
            (self.diff_sq / (self.n - 1) as f64).sqrt()
        }
    }

    /// Fraction of samples stuck at the extreme value.
    pub fn stuck_fraction(&self) -> f64 {
        if self.n == 0 {
            0.0
        } else {
            self.at_max_stuck as f64 / self.n as f64
        }
    }
}

/// Judges every channel from its statistics; `None` means the channel is good.
pub fn judge(
    stats: &[ChannelStats],
    cfg: &QualityConfig,
    out: &mut [Option<ChannelFault>],
    scratch: &mut Vec<f64>,
) {
    scratch.clear();
    scratch.extend(
        stats
            .iter()
            .filter(|s| s.std() > cfg.flat_std)
            .map(|s| s.diff_rms()),
    );
    let median = if scratch.is_empty() {
        0.0
    } else {
        let mid = scratch.len() / 2;
        *scratch.select_nth_unstable_by(mid, |a, b| a.total_cmp(b)).1
    };
    for (s, o) in stats.iter().zip(out.iter_mut()) {
        *o = if s.std() <= cfg.flat_std {
            Some(ChannelFault::Flat)
        } else if s.stuck_fraction() >= cfg.saturated_fraction {
            Some(ChannelFault::Saturated)
        } else if median > 0.0 && s.diff_rms() > cfg.noisy_ratio * median {
            Some(ChannelFault::Noisy)
        } else {
            None
        };
    }
}

/// Assesses each column of a `[samples, channels]` record; non-finite samples flag the channel.
pub fn assess_record(
    data: ndarray::ArrayView2<f32>,
    cfg: &QualityConfig,
) -> Vec<Option<ChannelFault>> {
    let n_ch = data.ncols();
    let mut stats = vec![ChannelStats::default(); n_ch];
    let mut non_finite = vec![false; n_ch];
    for row in data.rows() {
        for ((s, nf), &x) in stats.iter_mut().zip(non_finite.iter_mut()).zip(row) {
            if x.is_finite() {
                s.push(x);
            } else {
                *nf = true;
            }
        }
    }
    let mut out = vec![None; n_ch];
    judge(&stats, cfg, &mut out, &mut Vec::new());
    for (o, nf) in out.iter_mut().zip(non_finite) {
        if nf && o.is_none() {
            *o = Some(ChannelFault::NonFinite);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array2;

    #[test]
    fn each_fault_is_recognised() {
        let n = 5000;
        let mut d = Array2::<f32>::zeros((n, 6));
        let mut seed = 1u64;
        let mut rnd = || {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 40) as f32 / (1u64 << 24) as f32 - 0.5
        };
        for t in 0..n {
            let slow = (t as f32 * 0.01).sin() * 50.0;
            for c in 0..6 {
                d[[t, c]] = slow + rnd() * 10.0;
            }
            d[[t, 1]] = 3.0; // flat
            d[[t, 2]] = (slow * 3.0 + 100.0).clamp(-80.0, 80.0); // clipped at +80
            d[[t, 3]] = slow + rnd() * 200.0; // noisy
            if t == 77 {
                d[[t, 4]] = f32::NAN;
            }
        }
        let q = assess_record(d.view(), &QualityConfig::default());
        assert_eq!(
            q,
            vec![
                None,
                Some(ChannelFault::Flat),
                Some(ChannelFault::Saturated),
                Some(ChannelFault::Noisy),
                Some(ChannelFault::NonFinite),
                None
            ]
        );
    }
}
