//! The offline high-gamma reference: the Chang-lab method of spec §3.1, whole record at once.
//!
//! Steps: FFT-resample to 400 Hz; common average reference (middle 95 % of good channels);
//! FFT-domain line-noise notch; 8 Gaussian analytic bands (70–150 Hz) by FFT; mean amplitude;
//! power-of-two padded FFT resampling to the frame rate; per-channel z-score (ddof 0).
//! Bad channels are excluded from the reference and come out as NaN.
//!
//! Choices where the spec allows variants (documented in ARCHITECTURE.md): unnormalised
//! Gaussian kernels, the FFT-domain notch (bins within `notch_half_width_hz` of each harmonic
//! times 1 − Hamming), no log of band amplitudes.

use crate::dsp::car::{CarMode, trim_count, trimmed_mean};
use crate::dsp::resample::FftResampler;
use crate::dsp::stats::mean_std;
use ndarray::{Array2, ArrayView2};
use realfft::RealFftPlanner;
use rustfft::FftPlanner;
use rustfft::num_complex::Complex;

/// One Gaussian band of the Hilbert filter bank.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GaussianBand {
    /// Centre frequency in Hz.
    pub cf_hz: f64,
    /// Standard deviation of the Gaussian kernel in Hz.
    pub sd_hz: f64,
}

/// The Chang-lab bank (7 bands per octave, sd = 0.39·√cf) restricted to `lo_hz ≤ cf ≤ hi_hz`.
pub fn chang_bands(lo_hz: f64, hi_hz: f64) -> Vec<GaussianBand> {
    let start = (4.0749286538265f64).log2() * 7.0;
    let stop = 200f64.log2() * 7.0;
    let mut bands = Vec::new();
    let mut i = 0.0;
    while start + i < stop {
        let cf = 2f64.powf((start + i) / 7.0);
        if (lo_hz..=hi_hz).contains(&cf) {
            let sd = 10f64.powf(0.39f64.log10() + 0.5 * cf.log10());
            bands.push(GaussianBand {
                cf_hz: cf,
                sd_hz: sd,
            });
        }
        i += 1.0;
    }
    bands
}

/// Settings of the offline reference.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OfflineHgConfig {
    /// Intermediate rate of the filter bank in Hz (400 in the Chang-lab method).
    pub inter_rate_hz: f64,
    /// Output frame rate in Hz.
    pub frame_rate_hz: f64,
    /// Mains frequency in Hz (60, or 50 in 50 Hz countries); all harmonics below Nyquist are notched.
    pub line_hz: f64,
    /// Half-width of each FFT-domain notch in Hz.
    pub notch_half_width_hz: f64,
    /// Common average reference mode.
    pub car: CarMode,
    /// The Gaussian bands whose amplitudes are averaged.
    pub bands: Vec<GaussianBand>,
}

impl Default for OfflineHgConfig {
    fn default() -> Self {
        Self {
            inter_rate_hz: 400.0,
            frame_rate_hz: 100.0,
            line_hz: 60.0,
            notch_half_width_hz: 1.0,
            car: CarMode::Trimmed95,
            bands: chang_bands(70.0, 150.0),
        }
    }
}

/// Why the offline reference could not run.
#[derive(Debug, thiserror::Error)]
pub enum OfflineHgError {
    /// A setting is out of range; names the field.
    #[error("{field}: {reason}")]
    Config {
        /// The offending field.
        field: &'static str,
        /// Why it is rejected.
        reason: String,
    },
    /// The input is too short or has no channels.
    #[error("input of {samples} samples × {channels} channels is too small: {reason}")]
    Input {
        /// Samples in the input.
        samples: usize,
        /// Channels in the input.
        channels: usize,
        /// Why it is rejected.
        reason: String,
    },
}

impl OfflineHgConfig {
    /// Checks the settings against an input rate.
    pub fn validate(&self, input_rate_hz: f64) -> Result<(), OfflineHgError> {
        let bad = |field, reason: String| Err(OfflineHgError::Config { field, reason });
        if !(input_rate_hz.is_finite() && input_rate_hz > 0.0) {
            return bad(
                "rate_hz",
                format!("must be a positive number, got {input_rate_hz}"),
            );
        }
        if !(self.inter_rate_hz > 0.0 && self.inter_rate_hz <= input_rate_hz) {
            return bad(
                "inter_rate_hz",
                format!(
                    "must be in (0, input rate {input_rate_hz}], got {}",
                    self.inter_rate_hz
                ),
            );
        }
        if !(self.frame_rate_hz > 0.0 && self.frame_rate_hz <= self.inter_rate_hz) {
            return bad(
                "frame_rate_hz",
                format!(
                    "must be in (0, {}], got {}",
                    self.inter_rate_hz, self.frame_rate_hz
                ),
            );
        }
        if self.line_hz.is_nan() || self.line_hz <= 0.0 {
            return bad("line_hz", format!("must be positive, got {}", self.line_hz));
        }
        if self.notch_half_width_hz.is_nan() || self.notch_half_width_hz < 0.0 {
            return bad("notch_half_width_hz", "must be ≥ 0".into());
        }
        if self.bands.is_empty() {
            return bad("bands", "need at least one band".into());
        }
        for b in &self.bands {
            if !(b.sd_hz > 0.0 && b.cf_hz > 0.0 && b.cf_hz < self.inter_rate_hz / 2.0) {
                return bad(
                    "bands",
                    format!(
                        "band cf {} Hz / sd {} Hz must have 0 < cf < inter_rate/2 and sd > 0",
                        b.cf_hz, b.sd_hz
                    ),
                );
            }
        }
        Ok(())
    }
}

/// Number of output frames the reference produces for `n_in` input samples.
pub fn output_frames(n_in: usize, input_rate_hz: f64, cfg: &OfflineHgConfig) -> usize {
    let n_inter = inter_len(n_in, input_rate_hz, cfg);
    (n_inter as f64 * cfg.frame_rate_hz / cfg.inter_rate_hz).floor() as usize
}

fn inter_len(n_in: usize, input_rate_hz: f64, cfg: &OfflineHgConfig) -> usize {
    (n_in as f64 * cfg.inter_rate_hz / input_rate_hz).ceil() as usize
}

/// Computes z-scored high gamma `[frames, channels]` from raw `[samples, channels]` data.
///
/// `good[c] == false` excludes channel `c` from the common reference and makes its output NaN.
/// `progress(done, total)` is called as channels are processed.
pub fn offline_high_gamma(
    data: ArrayView2<f32>,
    input_rate_hz: f64,
    good: &[bool],
    cfg: &OfflineHgConfig,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<Array2<f32>, OfflineHgError> {
    cfg.validate(input_rate_hz)?;
    let (n_in, n_ch) = data.dim();
    let input_err = |reason: &str| OfflineHgError::Input {
        samples: n_in,
        channels: n_ch,
        reason: reason.into(),
    };
    if n_ch == 0 || good.len() != n_ch {
        return Err(input_err(
            "need ≥ 1 channel and one good/bad flag per channel",
        ));
    }
    let n4 = inter_len(n_in, input_rate_hz, cfg);
    let n_out = output_frames(n_in, input_rate_hz, cfg);
    if n4 < 4 || n_out < 2 {
        return Err(input_err("need at least two output frames"));
    }
    let total_steps = n_ch.div_ceil(2) + n_ch;
    let mut done = 0;

    // 1. Resample to the intermediate rate, two channels per complex FFT; channel-major result.
    let t_start = std::time::Instant::now();
    // Channel-major input is used in place (see `npyio::read_matrix_f32_channel_major`).
    let transposed;
    let by_channel: &[f32] = match data.t().to_slice() {
        Some(s) => s,
        None => {
            let contiguous = data.as_standard_layout();
            transposed =
                crate::dsp::layout::transpose(contiguous.as_slice().unwrap_or(&[]), n_in, n_ch);
            &transposed
        }
    };
    let mut x4 = vec![0.0f32; n_ch * n4];
    let mut resampler = FftResampler::new(n_in, n4);
    let mut packed = vec![Complex::<f32>::default(); n_in];
    let mut spare = vec![0.0f32; n4];
    for a in (0..n_ch).step_by(2) {
        let col_a = &by_channel[a * n_in..(a + 1) * n_in];
        if a + 1 < n_ch {
            let col_b = &by_channel[(a + 1) * n_in..(a + 2) * n_in];
            for ((z, &x), &y) in packed.iter_mut().zip(col_a).zip(col_b) {
                *z = Complex::new(x, y);
            }
        } else {
            for (z, &x) in packed.iter_mut().zip(col_a) {
                *z = Complex::new(x, 0.0);
            }
        }
        let (head, tail) = x4.split_at_mut((a + 1) * n4);
        let out_a = &mut head[a * n4..];
        let out_b = if a + 1 < n_ch {
            &mut tail[..n4]
        } else {
            &mut spare[..]
        };
        resampler.process_packed(&mut packed, out_a, out_b);
        done += 1;
        progress(done, total_steps);
    }
    tracing::debug!(
        seconds = t_start.elapsed().as_secs_f64(),
        "resampled to the intermediate rate"
    );
    // 2. Common average reference per time sample over the good channels.
    if cfg.car != CarMode::None {
        let good_idx: Vec<usize> = (0..n_ch).filter(|&c| good[c]).collect();
        let k = trim_count(good_idx.len());
        let mut values = vec![0.0f32; good_idx.len()];
        for t in 0..n4 {
            for (v, &c) in values.iter_mut().zip(&good_idx) {
                *v = x4[c * n4 + t];
            }
            let reference = match cfg.car {
                CarMode::Trimmed95 => trimmed_mean(&mut values, k),
                _ => values.iter().map(|&v| v as f64).sum::<f64>() / values.len().max(1) as f64,
            } as f32;
            if good_idx.is_empty() {
                continue;
            }
            for c in 0..n_ch {
                x4[c * n4 + t] -= reference;
            }
        }
    }

    tracing::debug!(
        seconds = t_start.elapsed().as_secs_f64(),
        "common average reference"
    );
    // 3–6. Per channel: notch, analytic Gaussian bands, mean amplitude, resample to frames.
    let mut real_planner = RealFftPlanner::<f32>::new();
    let rfft = real_planner.plan_fft_forward(n4);
    let mut spectrum = rfft.make_output_vec();
    let mut rscratch = rfft.make_scratch_vec();
    let mut planner = FftPlanner::<f32>::new();
    let ifft = planner.plan_fft_inverse(n4);
    let mut band = vec![Complex::<f32>::default(); n4];
    let mut iscratch = vec![Complex::<f32>::default(); ifft.get_inplace_scratch_len()];
    let notch = notch_gains(n4, cfg);
    let kernels = band_kernels(n4, cfg);
    let padded = 1usize << ((n4 as f64).log2().floor() as u32 + 1);
    let n_pad_out = (padded as f64 * cfg.frame_rate_hz / cfg.inter_rate_hz).round() as usize;
    let mut final_resampler = FftResampler::new(padded, n_pad_out);
    let mut hg4 = vec![0.0f32; padded];
    let mut frames = vec![0.0f32; n_pad_out];
    let mut out = Array2::<f32>::zeros((n_out, n_ch));
    let amp_scale = 1.0 / (cfg.bands.len() as f32 * n4 as f32);
    for c in 0..n_ch {
        done += 1;
        progress(done, total_steps);
        if !good[c] {
            out.column_mut(c).fill(f32::NAN);
            continue;
        }
        let series = &mut x4[c * n4..(c + 1) * n4];
        // realfft only fails on wrong buffer lengths, which are planned above.
        if rfft
            .process_with_scratch(series, &mut spectrum, &mut rscratch)
            .is_err()
        {
            return Err(input_err("internal FFT length mismatch"));
        }
        for &(bin, gain) in &notch {
            spectrum[bin] *= gain;
        }
        hg4[..].fill(0.0);
        for kernel in &kernels {
            band.fill(Complex::default());
            for (i, &g) in kernel.gains.iter().enumerate() {
                let bin = kernel.first_bin + i;
                band[bin] = spectrum[bin] * g;
            }
            ifft.process_with_scratch(&mut band, &mut iscratch);
            for (h, z) in hg4[..n4].iter_mut().zip(&band) {
                // |z| without hypot's overflow guard: band amplitudes are far from f32 limits.
                *h += (z.re * z.re + z.im * z.im).sqrt();
            }
        }
        for h in &mut hg4[..n4] {
            *h *= amp_scale;
        }
        final_resampler.process(&hg4, &mut frames);
        let (mean, std) = mean_std(frames[..n_out].iter().map(|&v| v as f64));
        let inv = if std > 0.0 { 1.0 / std } else { 0.0 };
        for (t, &v) in frames[..n_out].iter().enumerate() {
            out[[t, c]] = ((v as f64 - mean) * inv) as f32;
        }
    }
    tracing::debug!(
        seconds = t_start.elapsed().as_secs_f64(),
        "bands and frames"
    );
    Ok(out)
}

/// Bins of an `n`-point spectrum at `rate` attenuated by the FFT-domain notch, with their gains.
fn notch_gains(n: usize, cfg: &OfflineHgConfig) -> Vec<(usize, f32)> {
    let rate = cfg.inter_rate_hz;
    let nyquist = rate / 2.0;
    let mut out = Vec::new();
    let mut f = cfg.line_hz;
    while f < nyquist {
        let bins: Vec<usize> = (0..=n / 2)
            .filter(|&k| {
                let fk = k as f64 * rate / n as f64;
                fk > f - cfg.notch_half_width_hz && fk < f + cfg.notch_half_width_hz
            })
            .collect();
        let m = bins.len();
        for (i, &k) in bins.iter().enumerate() {
            let hamming = if m > 1 {
                0.54 - 0.46 * (2.0 * std::f64::consts::PI * i as f64 / (m - 1) as f64).cos()
            } else {
                1.0
            };
            out.push((k, (1.0 - hamming) as f32));
        }
        f += cfg.line_hz;
    }
    out
}

/// Analytic-signal Gaussian kernel of one band, stored only where it is not negligible.
struct BandKernel {
    first_bin: usize,
    gains: Vec<f32>,
}

fn band_kernels(n: usize, cfg: &OfflineHgConfig) -> Vec<BandKernel> {
    let rate = cfg.inter_rate_hz;
    let last = n / 2;
    cfg.bands
        .iter()
        .map(|b| {
            // Beyond 12 sd the Gaussian is below 1e-31 of its peak: far under f32 resolution.
            let lo_hz = (b.cf_hz - 12.0 * b.sd_hz).max(0.0);
            let hi_hz = b.cf_hz + 12.0 * b.sd_hz;
            let first = (lo_hz * n as f64 / rate).floor() as usize;
            let stop = ((hi_hz * n as f64 / rate).ceil() as usize).min(last);
            let gains = (first..=stop)
                .map(|k| {
                    let f = k as f64 * rate / n as f64;
                    let h = if k == 0 || (n.is_multiple_of(2) && k == last) {
                        1.0
                    } else {
                        2.0
                    };
                    (h * (-(f - b.cf_hz).powi(2) / (2.0 * b.sd_hz * b.sd_hz)).exp()) as f32
                })
                .collect();
            BandKernel {
                first_bin: first,
                gains,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chang_bank_matches_the_spec_table() {
        let bands = chang_bands(70.0, 150.0);
        let cfs = [
            71.9854, 79.4783, 87.7512, 96.8851, 106.9699, 118.1043, 130.3977, 143.9708,
        ];
        let sds = [
            3.3089, 3.4769, 3.6533, 3.8388, 4.0336, 4.2384, 4.4535, 4.6795,
        ];
        assert_eq!(bands.len(), 8);
        for (b, (cf, sd)) in bands.iter().zip(cfs.iter().zip(sds)) {
            assert!(
                (b.cf_hz - cf).abs() < 1e-3 && (b.sd_hz - sd).abs() < 1e-3,
                "{b:?}"
            );
        }
    }

    #[test]
    fn a_high_gamma_burst_shows_up_where_it_was_put() {
        let rate = 1000.0;
        let n = 4000;
        let mut data = Array2::<f32>::zeros((n, 3));
        let mut seed = 3u64;
        for t in 0..n {
            for c in 0..3 {
                seed = seed
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                data[[t, c]] = ((seed >> 40) as f32 / (1u64 << 24) as f32 - 0.5) * 0.1;
            }
            // A 100 Hz burst on channel 1 between 1.5 and 2.5 s.
            if (1500..2500).contains(&t) {
                data[[t, 1]] += (2.0 * std::f32::consts::PI * 100.0 * t as f32 / rate as f32).sin();
            }
        }
        let cfg = OfflineHgConfig {
            car: CarMode::None,
            ..Default::default()
        };
        let hg = offline_high_gamma(
            data.view(),
            rate,
            &[true, true, false],
            &cfg,
            &mut |_, _| {},
        )
        .unwrap();
        assert_eq!(hg.dim(), (400, 3));
        let inside: f32 = (170..230).map(|t| hg[[t, 1]]).sum::<f32>() / 60.0;
        let outside: f32 = (20..120).map(|t| hg[[t, 1]]).sum::<f32>() / 100.0;
        assert!(
            inside > 0.8 && outside < -0.5,
            "inside {inside} outside {outside}"
        );
        assert!(hg.column(2).iter().all(|v| v.is_nan()));
    }

    #[test]
    fn bad_settings_name_the_field() {
        let cfg = OfflineHgConfig {
            frame_rate_hz: 1000.0,
            ..Default::default()
        };
        let e = cfg.validate(3051.7578125).unwrap_err().to_string();
        assert!(e.contains("frame_rate_hz"), "{e}");
    }
}
