//! Causal streaming high gamma: raw chunks in, z-scored frames out (the daemon's front end).
//!
//! Per raw sample, for all channels at once: non-finite values → 0, common average reference
//! over the good channels, line-noise notches, one of three causal envelope designs, an envelope
//! smoothing low-pass (the decimation anti-alias filter), then the envelope is read at each frame
//! instant and z-scored with a running per-channel estimate.
//!
//! | design | band-limiting | envelope | smoothing default |
//! |---|---|---|---|
//! | [`HgDesign::Broad`] | Butterworth HP 2 @ `band_low_hz` + LP 2 @ `band_high_hz` | `sqrt(2 · smooth(x²))` | Bessel 2 @ 25 Hz (on power) |
//! | [`HgDesign::Demod`] | Butterworth HP 2 @ `band_low_hz`, then ×e^{-jωn} at the band centre, Butterworth LP 4 @ half the band width | `2·abs(z)` | Bessel 2 @ 25 Hz |
//! | [`HgDesign::Bank8`] | the Chang Gaussian bands with `band_low_hz ≤ cf ≤ band_high_hz`, each ×e^{-jω_b n} and Butterworth LP 2 @ 1.1774·sd·`bank_bandwidth_scale` (the Gaussian's -3 dB point) | mean of `2·abs(z_b)` | none |
//! | [`HgDesign::Gauss8`] | Butterworth HP 2 @ 60 Hz, the Chang bands each ×e^{-jω_b n}, box-averaged over 8 samples, then a causal Gaussian FIR of the band's own time width (σ_t = 1/(2π·sd)), truncated at lag 0 and ramped so its centroid is `gauss8_delay_ms` | mean of `2·abs(z_b)` at frame instants | the FIR itself |
//!
//! Every path is calibrated so that a steady tone of amplitude A at the band centre reads A.
//!
//! Choosing a design: the offline reference smooths each band with a Gaussian of σ ≈ 40 ms in
//! time, and a causal filter can only match what it has already seen, so fidelity costs delay.
//! `broad` (≈ 14 ms) tracks the reference well where high gamma is strongly modulated (speech-
//! responsive channels); `bank8` (≈ 51 ms) also reproduces the reference's own fluctuations on
//! unmodulated channels. `envelope_lp_hz` and `bank_bandwidth_scale` move along that trade-off;
//! [`StreamingHighGamma::algorithmic_delay_ms`] reports where a configuration sits.
//!
//! Timing is driven by the source sample index, never by chunk boundaries: frame `k` is read at
//! the raw sample `n_k = ceil((k + 1) · fs / frame_rate) − 1` (absolute index, counted from the
//! stream's sample 0), the oscillators' phases are a function of the index alone, and all state
//! is per sample. Any chunking of the same samples therefore gives bit-identical frames.

use std::f64::consts::TAU;

use crate::block::FrameStamp;
use crate::dsp::car::{CarMode, car_sample};
use crate::dsp::iir::{
    Biquad, LaneCascade, bessel2_lowpass, butterworth_highpass, butterworth_lowpass,
    cascade_group_delay_s, cascade_magnitude,
};

/// Which causal envelope design the extractor runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HgDesign {
    /// One broad Butterworth band-pass, squared, smoothed, square-rooted: lowest delay.
    Broad,
    /// The Chang-lab Gaussian bands, each made causal by complex demodulation: closest to the
    /// offline reference, highest delay.
    Bank8,
    /// Complex demodulation at the band centre with a Butterworth low-pass of half the band width.
    Demod,
    /// The 8 Chang bands, each demodulated and smoothed by a causal, truncated Gaussian kernel
    /// matched to the band's own width (the reference's smoothing, delayed by `gauss8_delay_ms`):
    /// the best fidelity per millisecond of delay (see BENCHMARKS.md).
    Gauss8,
}

/// Smoothing cut-off used when `envelope_lp_hz` is absent, for designs that smooth by default.
pub const DEFAULT_ENVELOPE_LP_HZ: f64 = 25.0;

/// Configuration of the streaming high-gamma extractor; errors name fields as `highgamma.<field>`.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StreamingHgConfig {
    /// Envelope design (`broad`, `bank8` or `demod`).
    pub design: HgDesign,
    /// Output frame rate in Hz (100 for Li-style analyses, 125 for 8-ms-frame decoders).
    pub frame_rate_hz: f64,
    /// Mains frequency in Hz whose harmonics are notched.
    pub line_hz: f64,
    /// Number of notched harmonics (1 = `line_hz` only; harmonics at or above Nyquist are skipped).
    pub notch_harmonics: usize,
    /// Quality of the fundamental's notch; harmonics keep its -3 dB width (`line_hz / notch_q` Hz).
    pub notch_q: f64,
    /// Common average reference computed over the good channels at every raw sample.
    pub car: CarMode,
    /// Lower edge of the high-gamma band in Hz.
    pub band_low_hz: f64,
    /// Upper edge of the high-gamma band in Hz.
    pub band_high_hz: f64,
    /// Cut-off in Hz of the Bessel envelope-smoothing (anti-alias) low-pass; absent = the design's
    /// default (25 Hz for `broad` and `demod`, no smoothing for `bank8`).
    pub envelope_lp_hz: Option<f64>,
    /// `bank8` only: multiplies every band's low-pass cut-off; above 1 trades fidelity for delay.
    pub bank_bandwidth_scale: f64,
    /// `gauss8` only: centroid in ms of each band's causal smoothing kernel (its envelope delay);
    /// longer is closer to the offline reference, shorter is faster.
    pub gauss8_delay_ms: f64,
    /// Whether frames are z-scored; `false` emits the calibrated envelope (tone of amplitude A → A).
    pub zscore: bool,
    /// Seconds of frames over which a plain mean and standard deviation are accumulated first.
    pub zscore_baseline_s: f64,
    /// Time constant in seconds of the exponential adaptation after the baseline.
    pub zscore_tau_s: f64,
}

impl Default for StreamingHgConfig {
    fn default() -> Self {
        Self {
            // The lowest-delay design with r ≥ 0.9 against the offline reference (BENCHMARKS.md).
            design: HgDesign::Gauss8,
            frame_rate_hz: 100.0,
            line_hz: 60.0,
            notch_harmonics: 3,
            notch_q: 30.0,
            car: CarMode::Trimmed95,
            band_low_hz: 70.0,
            band_high_hz: 150.0,
            envelope_lp_hz: None,
            bank_bandwidth_scale: 1.0,
            gauss8_delay_ms: GAUSS8_DEFAULT_DELAY_MS,
            zscore: true,
            zscore_baseline_s: 10.0,
            zscore_tau_s: 120.0,
        }
    }
}

/// A configuration value the extractor cannot run with.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum HgConfigError {
    /// A field is out of range; the message names it as it appears in the config file.
    #[error("highgamma.{field} must be {requirement} (got {value})")]
    Invalid {
        /// Field name as written in the config.
        field: &'static str,
        /// What the value must satisfy.
        requirement: String,
        /// The rejected value.
        value: f64,
    },
    /// The input stream's sample rate is not a positive finite number.
    #[error("highgamma: input sample rate must be positive and finite (got {0} Hz)")]
    InputRate(f64),
    /// The extractor was asked for zero channels.
    #[error("highgamma: the input has no channels")]
    NoChannels,
}

fn invalid(field: &'static str, value: f64, requirement: impl Into<String>) -> HgConfigError {
    HgConfigError::Invalid {
        field,
        requirement: requirement.into(),
        value,
    }
}

impl StreamingHgConfig {
    /// Checks every field against the input sample rate; the error names the offending field.
    pub fn validate(&self, input_rate_hz: f64) -> Result<(), HgConfigError> {
        let fs = input_rate_hz;
        if !(fs.is_finite() && fs > 0.0) {
            return Err(HgConfigError::InputRate(fs));
        }
        let nyquist = fs / 2.0;
        let positive = |field: &'static str, v: f64| {
            if v.is_finite() && v > 0.0 {
                Ok(())
            } else {
                Err(invalid(field, v, "positive and finite"))
            }
        };
        positive("frame_rate_hz", self.frame_rate_hz)?;
        if self.frame_rate_hz > nyquist / 2.0 {
            return Err(invalid(
                "frame_rate_hz",
                self.frame_rate_hz,
                format!("at most half the Nyquist frequency ({} Hz)", nyquist / 2.0),
            ));
        }
        if self.notch_harmonics > 0 {
            positive("line_hz", self.line_hz)?;
            if self.line_hz >= nyquist {
                return Err(invalid(
                    "line_hz",
                    self.line_hz,
                    format!("below the Nyquist frequency ({nyquist} Hz)"),
                ));
            }
            positive("notch_q", self.notch_q)?;
        }
        positive("band_low_hz", self.band_low_hz)?;
        positive("band_high_hz", self.band_high_hz)?;
        if self.band_high_hz <= self.band_low_hz {
            return Err(invalid(
                "band_high_hz",
                self.band_high_hz,
                format!("above band_low_hz ({} Hz)", self.band_low_hz),
            ));
        }
        if self.band_high_hz >= nyquist {
            return Err(invalid(
                "band_high_hz",
                self.band_high_hz,
                format!("below the Nyquist frequency ({nyquist} Hz)"),
            ));
        }
        if let Some(f) = self.envelope_lp_hz {
            positive("envelope_lp_hz", f)?;
            if self.design == HgDesign::Gauss8 {
                return Err(invalid(
                    "envelope_lp_hz",
                    f,
                    "unset with design = \"gauss8\" (its kernel is the smoothing)",
                ));
            }
            if f >= nyquist / 2.0 {
                return Err(invalid(
                    "envelope_lp_hz",
                    f,
                    format!("below half the Nyquist frequency ({} Hz)", nyquist / 2.0),
                ));
            }
        }
        positive("bank_bandwidth_scale", self.bank_bandwidth_scale)?;
        if !(self.gauss8_delay_ms.is_finite() && (10.0..=200.0).contains(&self.gauss8_delay_ms)) {
            return Err(invalid(
                "gauss8_delay_ms",
                self.gauss8_delay_ms,
                "in [10, 200] ms",
            ));
        }
        if matches!(self.design, HgDesign::Bank8 | HgDesign::Gauss8) {
            let bands = chang_bands(self.band_low_hz, self.band_high_hz);
            if bands.is_empty() {
                return Err(invalid(
                    "band_low_hz",
                    self.band_low_hz,
                    "such that at least one Chang band centre lies within [band_low_hz, band_high_hz]",
                ));
            }
            let widest = bands
                .iter()
                .map(|&(cf, sd)| cf + GAUSS_3DB_PER_SD * sd * self.bank_bandwidth_scale)
                .fold(0.0, f64::max);
            if widest >= nyquist {
                return Err(invalid(
                    "bank_bandwidth_scale",
                    self.bank_bandwidth_scale,
                    format!("small enough that every band stays below Nyquist ({nyquist} Hz)"),
                ));
            }
        }
        if !(self.zscore_baseline_s.is_finite() && self.zscore_baseline_s >= 0.0) {
            return Err(invalid(
                "zscore_baseline_s",
                self.zscore_baseline_s,
                "zero or positive and finite",
            ));
        }
        positive("zscore_tau_s", self.zscore_tau_s)?;
        Ok(())
    }

    /// The smoothing cut-off actually used: `envelope_lp_hz`, or the design's default.
    pub fn effective_envelope_lp_hz(&self) -> Option<f64> {
        match (self.envelope_lp_hz, self.design) {
            (Some(f), _) => Some(f),
            (None, HgDesign::Bank8 | HgDesign::Gauss8) => None,
            (None, HgDesign::Broad | HgDesign::Demod) => Some(DEFAULT_ENVELOPE_LP_HZ),
        }
    }
}

/// Default centroid of the `gauss8` smoothing kernels: the shortest with r ≥ 0.9 on the
/// fidelity bench (benches/hg_fidelity.rs).
pub const GAUSS8_DEFAULT_DELAY_MS: f64 = 42.0;

/// Decimation factor of the `gauss8` design's box-averaged baseband (≈ 381 Hz at 3051.76 Hz).
const GAUSS8_DECIMATION: u64 = 8;

/// Cut-off of the `gauss8` design's high-pass, which keeps ECoG's strong low frequencies out of
/// the baseband (the narrow kernels alone leak them through their side lobes).
const GAUSS8_HIGHPASS_HZ: f64 = 60.0;

/// A Gaussian's -3 dB half-width in units of its standard deviation: sqrt(2 ln 2).
const GAUSS_3DB_PER_SD: f64 = 1.177_410_022_515_474_6;

/// Centre frequencies and standard deviations (Hz) of the Chang-lab 40-band Gaussian bank
/// (7 per octave from 4.0749 Hz, sd = 0.39·sqrt(cf); spec neural-encoding §3.1) with cf in [low, high].
fn chang_bands(low_hz: f64, high_hz: f64) -> Vec<(f64, f64)> {
    let start = 4.074_928_653_826_5f64.log2() * 7.0;
    let stop = 200.0f64.log2() * 7.0;
    (0..)
        .map(|i| start + i as f64)
        .take_while(|&v| v < stop)
        .map(|v| {
            let cf = 2f64.powf(v / 7.0);
            (cf, 10f64.powf(0.39f64.log10() + 0.5 * cf.log10()))
        })
        .filter(|&(cf, _)| cf >= low_hz && cf <= high_hz)
        .collect()
}

/// Notch sections for the configured line frequency and harmonics below Nyquist.
fn notch_sections(cfg: &StreamingHgConfig, fs: f64) -> Vec<Biquad> {
    (1..=cfg.notch_harmonics)
        .map(|k| k as f64)
        .filter(|&k| k * cfg.line_hz < fs / 2.0)
        // Q grows with the harmonic so every notch has the fundamental's width (Chang: ±1 Hz).
        .map(|k| Biquad::notch(k * cfg.line_hz, cfg.notch_q * k, fs))
        .collect()
}

/// One complex demodulator followed by a low-pass over `2 · n_channels` lanes (I then Q).
#[derive(Debug, Clone)]
struct Demodulator {
    /// Oscillator frequency over sample rate.
    cycles_per_sample: f64,
    /// Amplitude calibration: 2 / |pre-filter response at the oscillator frequency|, times any
    /// averaging weight.
    gain: f64,
    lowpass: LaneCascade,
}

impl Demodulator {
    /// Mixes `x` down, filters I and Q, and adds `gain · |z|` to `acc` (or stores it).
    #[inline]
    fn step(&mut self, index: u64, x: &[f64], iq: &mut [f64], acc: &mut [f64], accumulate: bool) {
        // The phase is a pure function of the sample index so that chunking cannot change it.
        let phase = (index as f64 * self.cycles_per_sample).fract() * TAU;
        let (sin, cos) = phase.sin_cos();
        let n = x.len();
        let (i_part, q_part) = iq.split_at_mut(n);
        for ((i, q), &v) in i_part.iter_mut().zip(q_part.iter_mut()).zip(x) {
            *i = v * cos;
            *q = -v * sin;
        }
        self.lowpass.process(iq);
        let (i_part, q_part) = iq.split_at(n);
        let g = self.gain;
        if accumulate {
            for ((a, &i), &q) in acc.iter_mut().zip(i_part).zip(q_part) {
                *a += g * (i * i + q * q).sqrt();
            }
        } else {
            for ((a, &i), &q) in acc.iter_mut().zip(i_part).zip(q_part) {
                *a = g * (i * i + q * q).sqrt();
            }
        }
    }
}

/// Design-specific envelope stage; each writes the quantity to smooth into `env` per sample.
#[derive(Debug, Clone)]
enum EnvelopePath {
    /// Band-pass then power: `env = power_gain · x²` (the square root is taken at frame time).
    Broad {
        bandpass: LaneCascade,
        power_gain: f64,
    },
    /// High-pass then one demodulator: `env = amplitude`.
    Demod {
        highpass: LaneCascade,
        demod: Demodulator,
    },
    /// One demodulator per band, amplitudes averaged (weights folded into the gains).
    Bank { bands: Vec<Demodulator> },
    /// High-pass, then per band: demodulation, box-averaged decimation and a causal Gaussian FIR
    /// evaluated only at frame instants.
    Gauss(Box<GaussBank>),
}

/// State of the `gauss8` design.
///
/// Per band, the demodulated signal is averaged over blocks of `GAUSS8_DECIMATION` samples on
/// the absolute index grid; the last `taps` block means sit in a ring. At a frame instant the
/// amplitude of the kernel-weighted sum of the ring is taken; the weights depend on how far the
/// frame instant lies past the last complete block (`delta`), so they are tabulated per delta.
#[derive(Debug, Clone)]
struct GaussBank {
    highpass: LaneCascade,
    /// Oscillator frequency over sample rate, per band.
    cycles: Vec<f64>,
    /// Amplitude gain per band (calibration and the 1/8 average folded in).
    gains: Vec<f64>,
    /// Running block sums, `[band][I lanes | Q lanes]`.
    acc: Vec<f64>,
    /// Ring of block means, `[band][tap][I lanes | Q lanes]`.
    ring: Vec<f64>,
    /// Kernel weights, `[delta][band][tap]`, tap 0 = newest block.
    weights: Vec<f64>,
    taps: usize,
    /// Kernel-weighted sum of one band at a frame instant, `[I lanes | Q lanes]`.
    sum: Vec<f64>,
    /// Ring slot of the newest block.
    newest: usize,
    n: usize,
}

impl GaussBank {
    fn new(
        bands: &[(f64, f64)],
        centre_hz: f64,
        delay_s: f64,
        fs: f64,
        pre: &[Biquad],
        highpass: Vec<Biquad>,
        n: usize,
    ) -> (Self, f64) {
        let m = GAUSS8_DECIMATION as usize;
        let nb = bands.len();
        // Centre of the kernel 4 ms before its centroid: the truncation at lag 0 is then pulled
        // back to the requested centroid by a linear ramp (found to fit the reference best).
        let centre_s = delay_s - 0.004;
        let mut kernels = Vec::with_capacity(nb);
        let mut taps = 1usize;
        for &(_, sd) in bands {
            let sigma = 1.0 / (std::f64::consts::TAU * sd);
            let k = ramped_gaussian(centre_s, sigma, delay_s);
            // Keep taps up to where the kernel has decayed to 1e-6 of its peak.
            let mut end = centre_s;
            while k.at(end) > 1e-6 {
                end += 1e-4;
            }
            taps = taps.max((end * fs / m as f64).ceil() as usize + 1);
            kernels.push(k);
        }
        let mut weights = vec![0.0; m * nb * taps];
        let mut centroid_sum = 0.0;
        for delta in 0..m {
            for (b, k) in kernels.iter().enumerate() {
                let row = &mut weights[(delta * nb + b) * taps..(delta * nb + b + 1) * taps];
                let lag = |j: usize| (delta as f64 + (m as f64 - 1.0) / 2.0 + (m * j) as f64) / fs;
                for (j, w) in row.iter_mut().enumerate() {
                    *w = k.at(lag(j));
                }
                let total: f64 = row.iter().sum();
                let centroid: f64 =
                    row.iter().enumerate().map(|(j, w)| w * lag(j)).sum::<f64>() / total;
                centroid_sum += centroid;
                row.iter_mut().for_each(|w| *w /= total);
            }
        }
        let mut all = pre.to_vec();
        all.extend_from_slice(&highpass);
        let delay = centroid_sum / (m * nb) as f64 + cascade_group_delay_s(&all, centre_hz, fs);
        let gains = vec![1.0 / nb as f64; nb];
        let bank = Self {
            highpass: LaneCascade::new(highpass, n),
            cycles: bands.iter().map(|&(cf, _)| cf / fs).collect(),
            gains,
            acc: vec![0.0; nb * 2 * n],
            ring: vec![0.0; nb * taps * 2 * n],
            weights,
            taps,
            sum: vec![0.0; 2 * n],
            newest: 0,
            n,
        };
        let mut bank = bank;
        bank.calibrate(centre_hz, fs, cascade_magnitude(pre, centre_hz, fs));
        (bank, delay)
    }

    /// Scales the gains so that a steady tone at `centre_hz` reads its amplitude, measured by
    /// running a one-lane copy of the bank over 2 s of that tone. Measuring (rather than
    /// computing the response) accounts for the tone's image at −(centre + cf), which the box
    /// average only partly rejects and which beats with the wanted component.
    fn calibrate(&mut self, centre_hz: f64, fs: f64, pre_gain: f64) {
        let mut probe = Self {
            highpass: LaneCascade::new(self.highpass.sections().to_vec(), 1),
            acc: vec![0.0; self.cycles.len() * 2],
            ring: vec![0.0; self.cycles.len() * self.taps * 2],
            sum: vec![0.0; 2],
            n: 1,
            ..self.clone()
        };
        let n = (2.0 * fs) as u64;
        let (mut sum, mut count) = (0.0, 0usize);
        let mut env = [0.0f64];
        for index in 0..n {
            let mut x = [pre_gain * (TAU * centre_hz * index as f64 / fs).cos()];
            probe.step(index, &mut x);
            if index >= n / 2 {
                probe.envelope(index, &mut env);
                sum += env[0];
                count += 1;
            }
        }
        let mean = sum / count.max(1) as f64;
        if mean > 0.0 && mean.is_finite() {
            self.gains.iter_mut().for_each(|g| *g /= mean);
        }
    }

    /// Mixes one sample down in every band and closes a block when the index ends one.
    #[inline]
    fn step(&mut self, index: u64, x: &mut [f64]) {
        self.highpass.process(x);
        let n = self.n;
        let m = GAUSS8_DECIMATION;
        let closes = index % m == m - 1;
        if closes {
            self.newest = (self.newest + 1) % self.taps;
        }
        for (b, &cycles) in self.cycles.iter().enumerate() {
            // The phase is a pure function of the sample index so chunking cannot change it.
            let (sin, cos) = ((index as f64 * cycles).fract() * TAU).sin_cos();
            let acc = &mut self.acc[b * 2 * n..(b + 1) * 2 * n];
            let (ai, aq) = acc.split_at_mut(n);
            for ((i, q), &v) in ai.iter_mut().zip(aq.iter_mut()).zip(x.iter()) {
                *i += v * cos;
                *q -= v * sin;
            }
            if closes {
                let slot = (b * self.taps + self.newest) * 2 * n;
                let dst = &mut self.ring[slot..slot + 2 * n];
                let scale = 1.0 / m as f64;
                for (d, a) in dst.iter_mut().zip(acc.iter_mut()) {
                    *d = *a * scale;
                    *a = 0.0;
                }
            }
        }
    }

    /// Writes the band-averaged amplitude at a frame instant `index` into `env`.
    fn envelope(&mut self, index: u64, env: &mut [f64]) {
        let n = self.n;
        let m = GAUSS8_DECIMATION;
        let nb = self.cycles.len();
        let delta = ((index + 1) % m) as usize;
        env.fill(0.0);
        for b in 0..nb {
            let w = &self.weights[(delta * nb + b) * self.taps..(delta * nb + b + 1) * self.taps];
            // Taps outside, lanes inside: the inner loop runs over contiguous I/Q lanes.
            self.sum.fill(0.0);
            for (j, &wt) in w.iter().enumerate() {
                let slot = (b * self.taps + (self.newest + self.taps - j) % self.taps) * 2 * n;
                for (acc, &v) in self.sum.iter_mut().zip(&self.ring[slot..slot + 2 * n]) {
                    *acc += wt * v;
                }
            }
            let g = self.gains[b];
            let (re, im) = self.sum.split_at(n);
            for ((e, &r), &i) in env.iter_mut().zip(re).zip(im) {
                *e += g * (r * r + i * i).sqrt();
            }
        }
    }

    fn reset(&mut self) {
        self.highpass.reset();
        self.acc.fill(0.0);
        self.ring.fill(0.0);
        self.newest = 0;
    }
}

/// A Gaussian centred on `centre_s` with width `sigma_s`, cut at lag 0, plus a linear ramp
/// `lambda·(centroid_s − t)` (clipped at 0) chosen so that the kernel's centroid is `centroid_s`.
struct RampedGaussian {
    centre: f64,
    sigma: f64,
    lambda: f64,
    target: f64,
}

impl RampedGaussian {
    fn at(&self, t: f64) -> f64 {
        if t < 0.0 {
            return 0.0;
        }
        ((-0.5 * ((t - self.centre) / self.sigma).powi(2)).exp() + self.lambda * (self.target - t))
            .max(0.0)
    }

    fn centroid(&self) -> f64 {
        let dt = 1e-4;
        let (mut s, mut st) = (0.0, 0.0);
        let mut t = 0.0;
        while t < self.centre + 6.0 * self.sigma {
            let k = self.at(t);
            s += k;
            st += k * t;
            t += dt;
        }
        st / s
    }
}

fn ramped_gaussian(centre: f64, sigma: f64, target: f64) -> RampedGaussian {
    let mut k = RampedGaussian {
        centre,
        sigma,
        lambda: 0.0,
        target,
    };
    if k.centroid() <= target {
        return k;
    }
    // The centroid falls monotonically as the ramp steepens: bisect for the target.
    let (mut lo, mut hi) = (0.0, 1e3);
    for _ in 0..60 {
        k.lambda = 0.5 * (lo + hi);
        if k.centroid() > target {
            lo = k.lambda;
        } else {
            hi = k.lambda;
        }
    }
    k
}

/// Running per-channel z-score: plain mean/variance over a baseline, then exponential.
#[derive(Debug, Clone)]
struct RunningZScore {
    baseline_frames: u64,
    alpha: f64,
    count: Vec<u64>,
    mean: Vec<f64>,
    /// Sum of squared deviations during the baseline, variance afterwards.
    spread: Vec<f64>,
}

/// Relative floor on the standard deviation, so a constant envelope gives z = 0, not a blow-up.
const SD_FLOOR_REL: f64 = 1e-6;

impl RunningZScore {
    fn new(n: usize, cfg: &StreamingHgConfig) -> Self {
        let fr = cfg.frame_rate_hz;
        Self {
            baseline_frames: (cfg.zscore_baseline_s * fr).ceil().max(1.0) as u64,
            alpha: 1.0 - (-1.0 / (cfg.zscore_tau_s * fr)).exp(),
            count: vec![0; n],
            mean: vec![0.0; n],
            spread: vec![0.0; n],
        }
    }

    /// Updates channel `c` with `v` and returns `v` z-scored with the updated estimate.
    #[inline]
    fn update(&mut self, c: usize, v: f64) -> f64 {
        let n = self.count[c] + 1;
        self.count[c] = n;
        let d = v - self.mean[c];
        let var = if n <= self.baseline_frames {
            // Welford; frames inside the baseline use the estimate accumulated so far.
            self.mean[c] += d / n as f64;
            self.spread[c] += d * (v - self.mean[c]);
            let var = self.spread[c] / n as f64;
            if n == self.baseline_frames {
                self.spread[c] = var;
            }
            var
        } else {
            let a = self.alpha;
            self.mean[c] += a * d;
            self.spread[c] = (1.0 - a) * (self.spread[c] + a * d * d);
            self.spread[c]
        };
        let sd = var
            .sqrt()
            .max(SD_FLOOR_REL * self.mean[c].abs())
            .max(f64::MIN_POSITIVE);
        (v - self.mean[c]) / sd
    }

    fn reset(&mut self) {
        self.count.fill(0);
        self.mean.fill(0.0);
        self.spread.fill(0.0);
    }
}

/// What the extractor has done since construction or the last [`StreamingHighGamma::reset`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StreamingHgStats {
    /// Raw samples (time points) filtered.
    pub samples_in: u64,
    /// Frames emitted.
    pub frames_out: u64,
    /// Input values that were NaN or infinite and were replaced by 0.
    pub nonfinite_values: u64,
    /// Samples missing between chunks (a gap upstream did not repair); frames inside were skipped.
    pub gap_samples: u64,
    /// Samples received again (index already processed) and ignored.
    pub repeated_samples: u64,
    /// Trailing values of chunks whose length was not a multiple of the channel count, ignored.
    pub ragged_values: u64,
}

/// The causal streaming high-gamma extractor; see the module documentation.
#[derive(Debug, Clone)]
pub struct StreamingHighGamma {
    cfg: StreamingHgConfig,
    n_channels: usize,
    input_rate_hz: f64,
    samples_per_frame: f64,
    delay_s: f64,
    /// Shared front end: notches over all channels.
    notch: LaneCascade,
    path: EnvelopePath,
    smoother: Option<LaneCascade>,
    zscore: RunningZScore,
    /// Scratch for one raw sample (f32, CAR in place), CAR's partition buffer and the good mask.
    car_buf: Vec<f32>,
    car_scratch: Vec<f32>,
    good: Vec<bool>,
    /// One sample across channels (f64) after the front end.
    lanes: Vec<f64>,
    /// I/Q lanes for the demodulating designs (2 · n_channels).
    iq: Vec<f64>,
    /// Per-sample envelope quantity before/after smoothing.
    env: Vec<f64>,
    frame: Vec<f32>,
    /// Index of the next raw sample expected, None before the first chunk.
    next_index: Option<u64>,
    next_frame: u64,
    next_frame_sample: u64,
    stats: StreamingHgStats,
}

impl StreamingHighGamma {
    /// Builds the extractor for `n_channels` channels sampled at `input_rate_hz`; all allocation
    /// happens here.
    pub fn new(
        cfg: &StreamingHgConfig,
        n_channels: usize,
        input_rate_hz: f64,
    ) -> Result<Self, HgConfigError> {
        cfg.validate(input_rate_hz)?;
        if n_channels == 0 {
            return Err(HgConfigError::NoChannels);
        }
        let fs = input_rate_hz;
        let centre = 0.5 * (cfg.band_low_hz + cfg.band_high_hz);
        let notch = notch_sections(cfg, fs);
        let smoothing: Option<Vec<Biquad>> = cfg
            .effective_envelope_lp_hz()
            .map(|f| vec![bessel2_lowpass(f, fs)]);
        let smoothing_delay = smoothing
            .as_deref()
            .map_or(0.0, |s| cascade_group_delay_s(s, 0.0, fs));

        let (path, path_delay) = match cfg.design {
            HgDesign::Broad => {
                let mut bp = butterworth_highpass(2, cfg.band_low_hz, fs);
                bp.extend(butterworth_lowpass(2, cfg.band_high_hz, fs));
                let mut pre = notch.clone();
                pre.extend_from_slice(&bp);
                let gain = 1.0 / cascade_magnitude(&pre, centre, fs);
                let delay = cascade_group_delay_s(&pre, centre, fs);
                let path = EnvelopePath::Broad {
                    bandpass: LaneCascade::new(bp, n_channels),
                    // A tone A·cos has mean square A²/2: the factor 2 makes power read A².
                    power_gain: 2.0 * gain * gain,
                };
                (path, delay)
            }
            HgDesign::Demod => {
                let hp = butterworth_highpass(2, cfg.band_low_hz, fs);
                let mut pre = notch.clone();
                pre.extend_from_slice(&hp);
                let lp = butterworth_lowpass(4, 0.5 * (cfg.band_high_hz - cfg.band_low_hz), fs);
                let delay =
                    cascade_group_delay_s(&pre, centre, fs) + cascade_group_delay_s(&lp, 0.0, fs);
                let demod = Demodulator {
                    cycles_per_sample: centre / fs,
                    // Mixing a real tone down leaves half its amplitude at DC.
                    gain: 2.0 / cascade_magnitude(&pre, centre, fs),
                    lowpass: LaneCascade::new(lp, 2 * n_channels),
                };
                let path = EnvelopePath::Demod {
                    highpass: LaneCascade::new(hp, n_channels),
                    demod,
                };
                (path, delay)
            }
            HgDesign::Bank8 => {
                let bands = chang_bands(cfg.band_low_hz, cfg.band_high_hz);
                let weight = 1.0 / bands.len() as f64;
                let mut demods = Vec::with_capacity(bands.len());
                // Each band's envelope is late by its low-pass delay; the bank output averages
                // the bands with equal weight. The notches count at the band centre, as for the
                // other designs: evaluated at a band's own cf, the 120 Hz notch 1.9 Hz from the
                // 118 Hz band would report a local phase spike rather than an envelope delay.
                let mut delay = cascade_group_delay_s(&notch, centre, fs);
                for &(cf, sd) in &bands {
                    let lp = butterworth_lowpass(
                        2,
                        GAUSS_3DB_PER_SD * sd * cfg.bank_bandwidth_scale,
                        fs,
                    );
                    delay += weight * cascade_group_delay_s(&lp, 0.0, fs);
                    demods.push(Demodulator {
                        cycles_per_sample: cf / fs,
                        gain: 2.0 / cascade_magnitude(&notch, cf, fs),
                        lowpass: LaneCascade::new(lp, 2 * n_channels),
                    });
                }
                // Calibrate the average so that a tone at the band centre reads its amplitude,
                // like the other designs (the bank's response between band centres dips).
                let response: f64 = demods
                    .iter()
                    .map(|d| {
                        let offset = centre - d.cycles_per_sample * fs;
                        0.5 * d.gain
                            * cascade_magnitude(&notch, centre, fs)
                            * cascade_magnitude(d.lowpass.sections(), offset.abs(), fs)
                    })
                    .sum::<f64>()
                    * weight;
                for d in &mut demods {
                    d.gain *= weight / response;
                }
                (EnvelopePath::Bank { bands: demods }, delay)
            }
            HgDesign::Gauss8 => {
                let bands = chang_bands(cfg.band_low_hz, cfg.band_high_hz);
                let (bank, delay) = GaussBank::new(
                    &bands,
                    centre,
                    cfg.gauss8_delay_ms / 1e3,
                    fs,
                    &notch,
                    butterworth_highpass(2, GAUSS8_HIGHPASS_HZ, fs),
                    n_channels,
                );
                (EnvelopePath::Gauss(Box::new(bank)), delay)
            }
        };

        Ok(Self {
            cfg: cfg.clone(),
            n_channels,
            input_rate_hz: fs,
            samples_per_frame: fs / cfg.frame_rate_hz,
            delay_s: path_delay + smoothing_delay,
            notch: LaneCascade::new(notch, n_channels),
            path,
            smoother: smoothing.map(|s| LaneCascade::new(s, n_channels)),
            zscore: RunningZScore::new(n_channels, cfg),
            car_buf: vec![0.0; n_channels],
            car_scratch: vec![0.0; n_channels],
            good: vec![true; n_channels],
            lanes: vec![0.0; n_channels],
            iq: vec![0.0; 2 * n_channels],
            env: vec![0.0; n_channels],
            frame: vec![0.0; n_channels],
            next_index: None,
            next_frame: 0,
            next_frame_sample: 0,
            stats: StreamingHgStats::default(),
        })
    }

    /// Filters a chunk and calls `emit(stamp, frame)` for every frame it completes; no allocation.
    ///
    /// `input` is sample-major (`n_samples · n_channels` values); `first_index` is the source
    /// sample index of its first sample; `good[c]` says whether channel `c` enters the common
    /// average (missing entries count as good). Frames hold one value per channel, z-scored
    /// unless `zscore = false`; bad channels read 0 and do not update their z-score statistics.
    /// Chunks should be contiguous; a gap is bridged as if the samples were adjacent (frames
    /// inside it are skipped, so `frame_index` jumps) and repeated samples are ignored.
    pub fn process(
        &mut self,
        input: &[f32],
        first_index: u64,
        good: &[bool],
        emit: &mut dyn FnMut(FrameStamp, &[f32]),
    ) {
        let c = self.n_channels;
        let n_samples = input.len() / c;
        self.stats.ragged_values += (input.len() % c) as u64;
        for (i, g) in self.good.iter_mut().enumerate() {
            *g = good.get(i).copied().unwrap_or(true);
        }
        let mut skip = 0usize;
        match self.next_index {
            None => self.schedule_from(first_index),
            Some(expected) if first_index > expected => {
                self.stats.gap_samples += first_index - expected;
                self.schedule_from(first_index);
            }
            Some(expected) => {
                skip = usize::try_from(expected - first_index)
                    .unwrap_or(usize::MAX)
                    .min(n_samples);
                self.stats.repeated_samples += skip as u64;
            }
        }
        for s in skip..n_samples {
            let index = first_index + s as u64;
            self.step(index, &input[s * c..(s + 1) * c]);
            if index == self.next_frame_sample {
                self.emit_frame(emit);
            }
        }
        if n_samples > skip {
            self.next_index = Some(first_index + n_samples as u64);
        }
    }

    /// Points the frame schedule at the first frame completed at or after `index`.
    fn schedule_from(&mut self, index: u64) {
        let p = self.samples_per_frame;
        let estimate = ((index as f64 + 1.0) / p).floor() - 1.0;
        let mut k = if estimate > 0.0 { estimate as u64 } else { 0 };
        // The estimate may be off by one either way through rounding; settle it exactly.
        while k > 0 && self.frame_sample(k - 1) >= index {
            k -= 1;
        }
        while self.frame_sample(k) < index {
            k += 1;
        }
        self.next_frame = k;
        self.next_frame_sample = self.frame_sample(k);
    }

    /// Index of the raw sample that completes frame `k`: `ceil((k + 1) · fs / frame_rate) − 1`.
    fn frame_sample(&self, k: u64) -> u64 {
        (((k + 1) as f64 * self.samples_per_frame).ceil() as u64).saturating_sub(1)
    }

    /// Runs one raw sample (all channels) through the front end, envelope and smoother.
    #[inline]
    fn step(&mut self, index: u64, raw: &[f32]) {
        self.stats.samples_in += 1;
        for (dst, &v) in self.car_buf.iter_mut().zip(raw) {
            if v.is_finite() {
                *dst = v;
            } else {
                // Upstream repairs gaps; a stray NaN must still not poison the filter state.
                *dst = 0.0;
                self.stats.nonfinite_values += 1;
            }
        }
        car_sample(
            self.cfg.car,
            &mut self.car_buf,
            &self.good,
            &mut self.car_scratch,
        );
        for (l, &v) in self.lanes.iter_mut().zip(&self.car_buf) {
            *l = f64::from(v);
        }
        self.notch.process(&mut self.lanes);
        match &mut self.path {
            EnvelopePath::Broad {
                bandpass,
                power_gain,
            } => {
                bandpass.process(&mut self.lanes);
                let g = *power_gain;
                for (e, &x) in self.env.iter_mut().zip(&self.lanes) {
                    *e = g * x * x;
                }
            }
            EnvelopePath::Demod { highpass, demod } => {
                highpass.process(&mut self.lanes);
                demod.step(index, &self.lanes, &mut self.iq, &mut self.env, false);
            }
            EnvelopePath::Bank { bands } => {
                self.env.fill(0.0);
                for band in bands.iter_mut() {
                    band.step(index, &self.lanes, &mut self.iq, &mut self.env, true);
                }
            }
            EnvelopePath::Gauss(bank) => bank.step(index, &mut self.lanes),
        }
        if let Some(s) = &mut self.smoother {
            s.process(&mut self.env);
        }
    }

    /// Reads the envelope at a frame instant, z-scores it and hands the frame to `emit`.
    fn emit_frame(&mut self, emit: &mut dyn FnMut(FrameStamp, &[f32])) {
        if let EnvelopePath::Gauss(bank) = &mut self.path {
            bank.envelope(self.next_frame_sample, &mut self.env);
        }
        let is_power = matches!(self.path, EnvelopePath::Broad { .. });
        for (c, (out, &e)) in self.frame.iter_mut().zip(&self.env).enumerate() {
            // Smoothing can undershoot slightly below zero; an envelope is never negative.
            let e = e.max(0.0);
            let amplitude = if is_power { e.sqrt() } else { e };
            *out = if !self.good[c] {
                0.0
            } else if self.cfg.zscore {
                let z = self.zscore.update(c, amplitude);
                if z.is_finite() { z as f32 } else { 0.0 }
            } else {
                amplitude as f32
            };
        }
        let stamp = FrameStamp {
            frame_index: self.next_frame,
            last_sample_index: self.next_frame_sample,
        };
        self.stats.frames_out += 1;
        self.next_frame += 1;
        self.next_frame_sample = self.frame_sample(self.next_frame);
        emit(stamp, &self.frame);
    }

    /// Algorithmic delay of the envelope in milliseconds, from the filter designs.
    ///
    /// For a carrier at the band centre fc = (band_low_hz + band_high_hz) / 2 the envelope
    /// arrives late by the group delay of every filter it passes through:
    /// - `broad`: notches + band-pass at fc, plus the smoothing low-pass at DC;
    /// - `demod`: notches + high-pass at fc, the baseband low-pass at DC, the smoothing at DC;
    /// - `bank8`: notches at fc, plus the mean over bands of each band's low-pass at DC, plus
    ///   the smoothing at DC when configured;
    /// - `gauss8`: notches + high-pass at fc, plus the mean over bands and frame phases of the
    ///   FIR kernel's centroid (block centres included), ≈ `gauss8_delay_ms`.
    ///
    /// Caveat: a causal notch delays the energy close to its frequency, whatever its width (by
    /// about 0.5 s × the fraction of the path's power per Hz there). The bank's 118 Hz band sits
    /// 1.9 Hz from the 120 Hz notch, so a burst at 118 Hz comes out smeared and ~80 ms late; a
    /// broadband burst's envelope centroid lags a few ms more than this figure in every design.
    ///
    /// Frames are point samples of the smoothed envelope, so decimation adds no further delay;
    /// waiting for the next frame instant (up to one frame period) is not included.
    pub fn algorithmic_delay_ms(&self) -> f64 {
        self.delay_s * 1e3
    }

    /// Number of channels per frame.
    pub fn n_channels(&self) -> usize {
        self.n_channels
    }

    /// Output frame rate in Hz.
    pub fn frame_rate_hz(&self) -> f64 {
        self.cfg.frame_rate_hz
    }

    /// Input sample rate in Hz.
    pub fn input_rate_hz(&self) -> f64 {
        self.input_rate_hz
    }

    /// The configuration the extractor was built from.
    pub fn config(&self) -> &StreamingHgConfig {
        &self.cfg
    }

    /// Counts of what the extractor has done since construction or the last reset.
    pub fn stats(&self) -> StreamingHgStats {
        self.stats
    }

    /// Forgets all filter, schedule and z-score state, as if freshly built.
    pub fn reset(&mut self) {
        self.notch.reset();
        match &mut self.path {
            EnvelopePath::Broad { bandpass, .. } => bandpass.reset(),
            EnvelopePath::Demod { highpass, demod } => {
                highpass.reset();
                demod.lowpass.reset();
            }
            EnvelopePath::Bank { bands } => bands.iter_mut().for_each(|b| b.lowpass.reset()),
            EnvelopePath::Gauss(bank) => bank.reset(),
        }
        if let Some(s) = &mut self.smoother {
            s.reset();
        }
        self.zscore.reset();
        self.env.fill(0.0);
        self.next_index = None;
        self.next_frame = 0;
        self.next_frame_sample = 0;
        self.stats = StreamingHgStats::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::TDT_RATE_HZ;
    use proptest::prelude::*;

    const FS: f64 = TDT_RATE_HZ;
    const DESIGNS: [HgDesign; 4] = [
        HgDesign::Broad,
        HgDesign::Bank8,
        HgDesign::Demod,
        HgDesign::Gauss8,
    ];

    fn cfg(design: HgDesign) -> StreamingHgConfig {
        StreamingHgConfig {
            design,
            ..StreamingHgConfig::default()
        }
    }

    /// Raw (un-z-scored, no CAR) configuration for calibration and timing tests.
    fn raw_cfg(design: HgDesign) -> StreamingHgConfig {
        StreamingHgConfig {
            car: CarMode::None,
            zscore: false,
            ..cfg(design)
        }
    }

    /// Seeded uniform noise in [-1, 1), sample-major.
    fn noise(n_values: usize, seed: u64) -> Vec<f32> {
        crate::dsp::testsignal::uniform_noise(n_values, seed)
    }

    type Frames = Vec<(FrameStamp, Vec<f32>)>;

    fn run_chunked(
        hg: &mut StreamingHighGamma,
        data: &[f32],
        first_index: u64,
        chunks: &[usize],
        good: &[bool],
    ) -> Frames {
        let c = hg.n_channels();
        let mut out = Vec::new();
        let mut emit = |s: FrameStamp, f: &[f32]| out.push((s, f.to_vec()));
        let n = data.len() / c;
        let mut pos = 0;
        let mut k = 0;
        while pos < n {
            let len = chunks[k % chunks.len()].max(1).min(n - pos);
            hg.process(
                &data[pos * c..(pos + len) * c],
                first_index + pos as u64,
                good,
                &mut emit,
            );
            pos += len;
            k += 1;
        }
        out
    }

    fn run_whole(cfg: &StreamingHgConfig, c: usize, data: &[f32]) -> (StreamingHighGamma, Frames) {
        let mut hg = StreamingHighGamma::new(cfg, c, FS).unwrap();
        let frames = run_chunked(&mut hg, data, 0, &[usize::MAX], &vec![true; c]);
        (hg, frames)
    }

    #[test]
    fn chang_bands_match_the_spec_table() {
        let cf = [
            71.9854, 79.4783, 87.7512, 96.8851, 106.9699, 118.1043, 130.3977, 143.9708,
        ];
        let sd = [
            3.3089, 3.4769, 3.6533, 3.8388, 4.0336, 4.2384, 4.4535, 4.6795,
        ];
        let bands = chang_bands(70.0, 150.0);
        assert_eq!(bands.len(), 8);
        for (b, (&c, &s)) in bands.iter().zip(cf.iter().zip(&sd)) {
            assert!((b.0 - c).abs() < 1e-4, "{b:?}");
            assert!((b.1 - s).abs() < 1e-4, "{b:?}");
        }
        assert_eq!(chang_bands(4.0, 200.0).len(), 40);
    }

    #[test]
    fn default_config_validates_and_round_trips_through_toml() {
        let c = StreamingHgConfig::default();
        c.validate(FS).unwrap();
        let text = toml::to_string(&c).unwrap();
        let back: StreamingHgConfig = toml::from_str(&text).unwrap();
        assert_eq!(back, c);
        let partial: StreamingHgConfig =
            toml::from_str("design = \"bank8\"\nframe_rate_hz = 125.0\n").unwrap();
        assert_eq!(partial.design, HgDesign::Bank8);
        assert_eq!(partial.band_low_hz, 70.0);
        assert!(toml::from_str::<StreamingHgConfig>("frame_rate = 100.0").is_err());
    }

    #[test]
    fn validate_names_the_bad_field() {
        type Mutation = fn(&mut StreamingHgConfig);
        let cases: [(&str, Mutation); 14] = [
            ("frame_rate_hz", |c| c.frame_rate_hz = 800.0),
            ("frame_rate_hz", |c| c.frame_rate_hz = 0.0),
            ("frame_rate_hz", |c| c.frame_rate_hz = f64::NAN),
            ("line_hz", |c| c.line_hz = 2000.0),
            ("notch_q", |c| c.notch_q = 0.0),
            ("notch_q", |c| c.notch_q = -3.0),
            ("band_high_hz", |c| c.band_high_hz = 60.0),
            ("band_high_hz", |c| c.band_high_hz = 1600.0),
            ("band_low_hz", |c| c.band_low_hz = -1.0),
            ("envelope_lp_hz", |c| c.envelope_lp_hz = Some(0.0)),
            ("envelope_lp_hz", |c| c.envelope_lp_hz = Some(900.0)),
            ("bank_bandwidth_scale", |c| c.bank_bandwidth_scale = 0.0),
            ("zscore_baseline_s", |c| c.zscore_baseline_s = -1.0),
            ("zscore_tau_s", |c| c.zscore_tau_s = 0.0),
        ];
        for (field, mutate) in cases {
            let mut c = StreamingHgConfig::default();
            mutate(&mut c);
            match c.validate(FS) {
                Err(e @ HgConfigError::Invalid { field: f, .. }) => {
                    assert_eq!(f, field, "{e}");
                    assert!(
                        e.to_string()
                            .starts_with(&format!("highgamma.{field} must be"))
                    );
                }
                other => panic!("{field}: expected an error, got {other:?}"),
            }
        }
        let mut c = cfg(HgDesign::Bank8);
        c.band_low_hz = 151.0;
        c.band_high_hz = 155.0;
        assert!(matches!(
            c.validate(FS),
            Err(HgConfigError::Invalid {
                field: "band_low_hz",
                ..
            })
        ));
        assert_eq!(
            StreamingHgConfig::default().validate(0.0),
            Err(HgConfigError::InputRate(0.0))
        );
        assert!(matches!(
            StreamingHighGamma::new(&StreamingHgConfig::default(), 0, FS),
            Err(HgConfigError::NoChannels)
        ));
        // Line-noise fields are irrelevant when nothing is notched.
        let c = StreamingHgConfig {
            notch_harmonics: 0,
            notch_q: 0.0,
            ..StreamingHgConfig::default()
        };
        c.validate(FS).unwrap();
    }

    #[test]
    fn frames_follow_the_sample_index_schedule() {
        for fr in [100.0, 125.0] {
            let c = StreamingHgConfig {
                frame_rate_hz: fr,
                ..cfg(HgDesign::Broad)
            };
            let n = (2.0 * FS) as usize;
            let data = noise(n * 2, 3);
            let (_, frames) = run_whole(&c, 2, &data);
            let p = FS / fr;
            for (k, (s, _)) in frames.iter().enumerate() {
                assert_eq!(s.frame_index, k as u64);
                assert_eq!(s.last_sample_index, ((k + 1) as f64 * p).ceil() as u64 - 1);
            }
            assert_eq!(frames.len(), (n as f64 / p).floor() as usize);
        }
    }

    #[test]
    fn a_stream_joined_mid_way_keeps_the_absolute_frame_grid() {
        let c = cfg(HgDesign::Broad);
        let first = 1_000_003u64;
        let data = noise(4 * 500, 4);
        let mut hg = StreamingHighGamma::new(&c, 4, FS).unwrap();
        let frames = run_chunked(&mut hg, &data, first, &[37], &[true; 4]);
        let p = FS / 100.0;
        assert!(!frames.is_empty());
        for (s, _) in &frames {
            assert_eq!(
                s.last_sample_index,
                ((s.frame_index + 1) as f64 * p).ceil() as u64 - 1
            );
            assert!(s.last_sample_index >= first);
        }
        let k0 = frames[0].0.frame_index;
        assert!(k0 == 0 || ((k0 as f64 * p).ceil() as u64 - 1) < first);
    }

    #[test]
    fn gaps_skip_frames_and_repeats_are_ignored() {
        let c = cfg(HgDesign::Demod);
        let data = noise(3 * 400, 5);
        let mut hg = StreamingHighGamma::new(&c, 3, FS).unwrap();
        let mut stamps = Vec::new();
        let mut emit = |s: FrameStamp, _: &[f32]| stamps.push(s);
        hg.process(&data[..3 * 100], 0, &[true; 3], &mut emit);
        // The same 100 samples again, then a jump of 200 samples.
        hg.process(&data[..3 * 100], 0, &[true; 3], &mut emit);
        hg.process(&data[3 * 100..], 300, &[true; 3], &mut emit);
        let st = hg.stats();
        assert_eq!(st.repeated_samples, 100);
        assert_eq!(st.gap_samples, 200);
        assert_eq!(st.samples_in, 400);
        let indices: Vec<u64> = stamps.iter().map(|s| s.frame_index).collect();
        // Frames 0..=2 complete before sample 100; 3..=8 fall in the gap; 9.. follow.
        assert_eq!(&indices[..3], &[0, 1, 2]);
        assert_eq!(indices[3], 9);
        assert!(
            stamps
                .iter()
                .all(|s| s.last_sample_index < 100 || s.last_sample_index >= 300)
        );
    }

    /// (e) A steady tone at the band centre reads its amplitude in every design.
    #[test]
    fn a_centre_tone_reads_its_amplitude() {
        let amp = 3.0f32;
        let c = 2;
        let n = (3.0 * FS) as usize;
        let mut data = vec![0.0f32; n * c];
        for s in 0..n {
            let v = amp * (TAU * 110.0 * s as f64 / FS + 0.3).cos() as f32;
            data[s * c] = v;
            data[s * c + 1] = 0.5 * v;
        }
        for design in DESIGNS {
            for fr in [100.0, 125.0] {
                let cf = StreamingHgConfig {
                    frame_rate_hz: fr,
                    ..raw_cfg(design)
                };
                let (_, frames) = run_whole(&cf, c, &data);
                let settled: Vec<&Vec<f32>> = frames
                    .iter()
                    .filter(|(s, _)| s.last_sample_index as f64 > 1.5 * FS)
                    .map(|(_, f)| f)
                    .collect();
                let mean = settled.iter().map(|f| f[0] as f64).sum::<f64>() / settled.len() as f64;
                assert!(
                    (mean / amp as f64 - 1.0).abs() < 0.02,
                    "{design:?}: mean {mean}"
                );
                for f in &settled {
                    assert!((f[0] / amp - 1.0).abs() < 0.04, "{design:?}: {}", f[0]);
                    assert!(
                        (f[1] / (0.5 * amp) - 1.0).abs() < 0.04,
                        "{design:?}: {}",
                        f[1]
                    );
                }
            }
        }
    }

    /// Centroid lag of the envelope of `carrier · bump(t)` behind the bump, in ms.
    fn measured_delay_ms(
        design: HgDesign,
        fr: f64,
        carrier: &dyn Fn(f64) -> f64,
        notch_harmonics: usize,
    ) -> (f64, f64) {
        let t0 = 1.5;
        let sigma = 0.05;
        let n = (3.0 * FS) as usize;
        let data: Vec<f32> = (0..n)
            .map(|s| {
                let t = s as f64 / FS;
                ((-0.5 * ((t - t0) / sigma).powi(2)).exp() * carrier(t)) as f32
            })
            .collect();
        let c = StreamingHgConfig {
            frame_rate_hz: fr,
            notch_harmonics,
            ..raw_cfg(design)
        };
        let (hg, frames) = run_whole(&c, 1, &data);
        let (mut num, mut den) = (0.0, 0.0);
        for (s, f) in &frames {
            let t = s.last_sample_index as f64 / FS;
            if (t - t0).abs() < 0.6 {
                num += t * f[0] as f64;
                den += f[0] as f64;
            }
        }
        ((num / den - t0) * 1e3, hg.algorithmic_delay_ms())
    }

    /// (c) The analytic delay matches the lag of a slow Gaussian amplitude bump.
    #[test]
    fn algorithmic_delay_matches_a_gaussian_bump() {
        for fr in [100.0, 125.0] {
            for design in [HgDesign::Broad, HgDesign::Demod] {
                let (measured, analytic) =
                    measured_delay_ms(design, fr, &|t| (TAU * 110.0 * t).cos(), 3);
                println!(
                    "{design:?} @ {fr} Hz: measured {measured:.2} ms, analytic {analytic:.2} ms"
                );
                assert!(
                    (measured - analytic).abs() < 2.0,
                    "{design:?} @ {fr} Hz: measured {measured:.2} ms, analytic {analytic:.2} ms"
                );
            }
            // The bank averages bands with their own delays: drive each at its own centre, without
            // notches (whose delay the other designs verify at 110 Hz; see the caveat there).
            let bands = chang_bands(70.0, 150.0);
            let carrier = move |t: f64| {
                bands
                    .iter()
                    .enumerate()
                    .map(|(i, &(cf, _))| (TAU * cf * t + 1.7 * i as f64).cos())
                    .sum::<f64>()
            };
            for design in [HgDesign::Bank8, HgDesign::Gauss8] {
                let (measured, analytic) = measured_delay_ms(design, fr, &carrier, 0);
                println!(
                    "{design:?} @ {fr} Hz (no notch): measured {measured:.2} ms, analytic {analytic:.2} ms"
                );
                // Neighbouring bands leak into each other with their own delays: allow one frame.
                assert!(
                    (measured - analytic).abs() < 1e3 / fr,
                    "{design:?} @ {fr} Hz: measured {measured:.2} ms, analytic {analytic:.2} ms"
                );
            }
        }
    }

    #[test]
    fn reset_reproduces_a_fresh_extractor() {
        for design in DESIGNS {
            let data = noise(5 * 700, 7);
            let (mut hg, first) = run_whole(&cfg(design), 5, &data);
            hg.reset();
            assert_eq!(hg.stats(), StreamingHgStats::default());
            let again = run_chunked(&mut hg, &data, 0, &[usize::MAX], &[true; 5]);
            assert_eq!(first, again);
        }
    }

    #[test]
    fn non_finite_input_is_treated_as_zero() {
        for design in DESIGNS {
            let clean = noise(4 * 900, 8);
            let mut dirty = clean.clone();
            let mut zeroed = clean.clone();
            for (i, v) in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY]
                .into_iter()
                .enumerate()
            {
                let at = 4 * (100 + 200 * i) + i;
                dirty[at] = v;
                zeroed[at] = 0.0;
            }
            let (hg, a) = run_whole(&cfg(design), 4, &dirty);
            let (_, b) = run_whole(&cfg(design), 4, &zeroed);
            assert_eq!(a, b);
            assert_eq!(hg.stats().nonfinite_values, 3);
            assert!(a.iter().all(|(_, f)| f.iter().all(|v| v.is_finite())));
        }
    }

    #[test]
    fn bad_channels_read_zero_and_stay_out_of_the_average() {
        let c = 6;
        let mut data = noise(c * 1500, 9);
        for s in 0..1500 {
            data[s * c + 2] = 1e6 * (s as f32 * 0.37).sin();
        }
        let mut good = vec![true; c];
        good[2] = false;
        let mut hg = StreamingHighGamma::new(&cfg(HgDesign::Broad), c, FS).unwrap();
        let with_bad = run_chunked(&mut hg, &data, 0, &[25], &good);
        // Replacing the bad channel's data must not change any good channel.
        for s in 0..1500 {
            data[s * c + 2] = 0.0;
        }
        let mut hg = StreamingHighGamma::new(&cfg(HgDesign::Broad), c, FS).unwrap();
        let quiet = run_chunked(&mut hg, &data, 0, &[25], &good);
        assert_eq!(with_bad, quiet);
        assert!(with_bad.iter().all(|(_, f)| f[2] == 0.0));
    }

    #[test]
    fn zscore_of_stationary_noise_is_standardised_after_the_baseline() {
        let c = StreamingHgConfig {
            zscore_baseline_s: 2.0,
            zscore_tau_s: 5.0,
            car: CarMode::None,
            ..cfg(HgDesign::Broad)
        };
        let n = (12.0 * FS) as usize;
        let (_, frames) = run_whole(&c, 2, &noise(2 * n, 10));
        let tail: Vec<f64> = frames[400..].iter().map(|(_, f)| f[0] as f64).collect();
        let m = tail.iter().sum::<f64>() / tail.len() as f64;
        let sd = (tail.iter().map(|v| (v - m).powi(2)).sum::<f64>() / tail.len() as f64).sqrt();
        assert!(m.abs() < 0.3, "mean {m}");
        assert!((sd - 1.0).abs() < 0.3, "sd {sd}");
        // Frames during the baseline are bounded by the running estimate: |z| <= sqrt(n - 1).
        for (k, (_, f)) in frames[..200].iter().enumerate() {
            assert!((f[0] as f64).abs() <= (k as f64).sqrt() + 1e-3);
        }
    }

    fn design_strategy() -> impl Strategy<Value = HgDesign> {
        prop_oneof![
            Just(HgDesign::Broad),
            Just(HgDesign::Bank8),
            Just(HgDesign::Demod),
            Just(HgDesign::Gauss8)
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]

        /// (a) Any chunking gives bit-identical frames to one big chunk.
        #[test]
        fn chunking_does_not_change_the_output(
            design in design_strategy(),
            channels in 4usize..=8,
            seed in any::<u64>(),
            chunks in proptest::collection::vec(1usize..120, 1..12),
            first_index in prop_oneof![Just(0u64), 0u64..1_000_000],
            frame_rate_hz in prop_oneof![Just(100.0), Just(125.0)],
        ) {
            let c = StreamingHgConfig { frame_rate_hz, zscore_baseline_s: 0.1, ..cfg(design) };
            let n = (0.3 * FS) as usize;
            let data = noise(n * channels, seed);
            let mut good = vec![true; channels];
            good[seed as usize % channels] = seed % 3 != 0;
            let mut whole = StreamingHighGamma::new(&c, channels, FS).unwrap();
            let expected = run_chunked(&mut whole, &data, first_index, &[usize::MAX], &good);
            let mut pieces = StreamingHighGamma::new(&c, channels, FS).unwrap();
            let got = run_chunked(&mut pieces, &data, first_index, &chunks, &good);
            prop_assert!(expected.len() >= 8);
            prop_assert_eq!(expected, got);
            prop_assert_eq!(whole.stats(), pieces.stats());
        }
    }
}
