//! Seeded synthetic ECoG: the daemon's default source and the generator behind `simulate`.
//!
//! Each channel is a 1/f^χ background, mains hum with drifting harmonics, and 70–150 Hz band
//! noise that, on a contiguous blob of responsive channels, is amplitude-modulated by a syllabic
//! speech envelope lagging each speech onset by 50–150 ms. A few channels are bad (flat,
//! saturated, very noisy) and rare artifacts hit the whole grid. Every random quantity comes from
//! its own seeded stream and is drawn at a fixed sample index, so the output depends only on the
//! config, never on how a caller splits the stream into `fill` calls.

use crate::TDT_RATE_HZ;
use crate::block::{SampleBlock, default_labels};
use crate::dsp::iir::{
    Biquad, BiquadState, butterworth_highpass, butterworth_lowpass, cascade_response,
};
use crate::source::{Source, SourceError};
use rand::{Rng, RngCore};
use rand_distr::{Exp1, StandardNormal};
use serde::{Deserialize, Serialize};
use std::f64::consts::PI;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Rail of the simulated amplifier in µV; saturated channels sit here.
pub const RAIL_UV: f64 = 5000.0;

/// Lowest accepted sample rate: the HG band, mains harmonics and 1/f corners need the room.
const MIN_RATE_HZ: f64 = 1000.0;
/// Upper bound on channels, to turn a typo into an error rather than a huge allocation.
const MAX_CHANNELS: usize = 4096;

/// Background PSD at the anchor frequency; gives raw RMS of roughly 40–150 µV.
const BG_PSD_AT_ANCHOR_UV2_PER_HZ: f64 = 5.0;
const BG_ANCHOR_HZ: f64 = 10.0;
const CHI_RANGE: (f64, f64) = (1.5, 2.5);
/// Corner of the leaky integrator; below it the background is flat so it cannot wander off.
const LEAK_HZ: f64 = 0.2;
const SHAPING_LOW_HZ: f64 = 1.0;
const SHAPING_HIGH_HZ: f64 = 1000.0;
const SHAPING_SECTIONS_PER_DECADE: f64 = 3.0;
/// One leaky pole plus at most ten shaping pole–zero pairs, two first-order sections a biquad.
const BG_BIQUADS: usize = 6;
const BAND_BIQUADS: usize = 4;
const HG_BAND_HZ: (f64, f64) = (70.0, 150.0);

const HARMONICS: usize = 3;
const LINE_AMPLITUDE_UV: [f64; HARMONICS] = [8.0, 2.5, 1.2];
const LINE_KNOT_S: f64 = 0.1;
const LINE_DRIFT_STEP: f64 = 0.02;
const LINE_DRIFT_BOUNDS: (f64, f64) = (0.5, 1.5);

const LAG_MS_RANGE: (f64, f64) = (50.0, 150.0);
const FIRST_ONSET_MIN_S: f64 = 1.5;
const SENTENCE_S: (f64, f64) = (1.0, 2.5);
const SYLLABLE_RATE_HZ: (f64, f64) = (3.0, 6.0);
/// Silence after a sentence before the next onset, longer than the largest lag.
const MIN_GAP_AFTER_SENTENCE_S: f64 = 0.5;
/// 2.5 s at 6 syllables/s with spacing down to 0.75/rate needs 20; the rest is margin.
const MAX_SYLLABLES: usize = 24;
/// Onsets remembered for `onsets_in`; with ≥ 1.5 s between onsets that is over 45 s of history.
const RECENT_ONSETS: usize = 32;

const NOISY_REF_RMS_UV: f64 = 50.0;
const NOISY_FACTOR: (f64, f64) = (10.0, 20.0);
const SATURATED_SWING: f64 = 4.0;
const SATURATED_OFFSET_RAILS: f64 = 1.05;

const STREAM_LAYOUT: u64 = 1;
const STREAM_CHANNELS: u64 = 2;
const STREAM_NOISE: u64 = 3;
const STREAM_BAD_NOISE: u64 = 4;
const STREAM_LINE: u64 = 5;
const STREAM_TRIALS: u64 = 6;
const STREAM_ARTIFACTS: u64 = 7;

/// Settings of the synthetic ECoG generator (`[synthetic]` in the daemon config).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SyntheticConfig {
    /// Number of channels (electrodes) on the grid.
    pub channels: usize,
    /// Columns of the electrode grid; rows are `ceil(channels / grid_cols)`, filled row by row.
    pub grid_cols: usize,
    /// Sample rate in Hz.
    pub rate_hz: f64,
    /// Seed of every random choice: the same seed and settings give the same samples.
    pub seed: u64,
    /// Block length in ms when used as a daemon source (rounded to whole samples).
    pub block_ms: f64,
    /// Pace blocks to the wall clock when used as a daemon source.
    pub realtime: bool,
    /// Length of the run in seconds; 0 runs forever.
    pub duration_s: f64,
    /// Fraction of channels in the speech-responsive blob, 0–1.
    pub responsive_fraction: f64,
    /// Number of bad channels; their kinds cycle flat, saturated, very noisy.
    pub n_bad_channels: usize,
    /// Mean spacing of speech onsets in seconds (±30 % jitter, never within 0.5 s of a sentence).
    pub trial_interval_s: f64,
    /// Mains frequency in Hz, with harmonics at 2× and 3×; 0 turns line noise off.
    pub line_hz: f64,
    /// Peak gain of speech-modulated 70–150 Hz activity: band noise × (1 + gain × envelope).
    pub hg_gain: f64,
    /// Mean rate of whole-grid artifacts per minute (Poisson); 0 turns them off.
    pub artifact_rate_per_min: f64,
}

impl Default for SyntheticConfig {
    fn default() -> Self {
        Self {
            channels: 128,
            grid_cols: 8,
            rate_hz: TDT_RATE_HZ,
            seed: 0,
            block_ms: 8.0,
            realtime: true,
            duration_s: 0.0,
            responsive_fraction: 0.25,
            n_bad_channels: 3,
            trial_interval_s: 3.5,
            line_hz: 60.0,
            // The band noise carries half of the baseline HG power, so the mean channel gain
            // (about 0.75 × 2) lifts HG power about 3.6× at envelope peaks and 2× on average
            // wherever the envelope exceeds half its peak: clear, but not trivially so.
            hg_gain: 2.0,
            artifact_rate_per_min: 1.0,
        }
    }
}

impl SyntheticConfig {
    /// Checks every field; the error names the field and says what is wrong.
    pub fn validate(&self) -> Result<(), String> {
        if self.channels == 0 || self.channels > MAX_CHANNELS {
            return Err(format!(
                "synthetic.channels must be ≥ 1 and ≤ {MAX_CHANNELS}, got {}",
                self.channels
            ));
        }
        if self.grid_cols == 0 {
            return Err("synthetic.grid_cols must be ≥ 1".into());
        }
        if !(self.rate_hz.is_finite() && self.rate_hz >= MIN_RATE_HZ) {
            return Err(format!(
                "synthetic.rate_hz must be ≥ {MIN_RATE_HZ} Hz so the 70–150 Hz band and mains \
                 harmonics fit below Nyquist, got {}",
                self.rate_hz
            ));
        }
        if !(self.block_ms.is_finite() && self.block_ms > 0.0 && self.block_ms <= 10_000.0)
            || self.block_samples() == 0
        {
            return Err(format!(
                "synthetic.block_ms must give at least one sample per block and be ≤ 10000 ms, \
                 got {}",
                self.block_ms
            ));
        }
        if !(self.duration_s.is_finite() && self.duration_s >= 0.0) {
            return Err(format!(
                "synthetic.duration_s must be ≥ 0 (0 runs forever), got {}",
                self.duration_s
            ));
        }
        if !(0.0..=1.0).contains(&self.responsive_fraction) {
            return Err(format!(
                "synthetic.responsive_fraction must be between 0 and 1, got {}",
                self.responsive_fraction
            ));
        }
        let responsive = self.responsive_count();
        if self.n_bad_channels > self.channels - responsive {
            return Err(format!(
                "synthetic.n_bad_channels ({}) plus the {responsive} responsive channels exceed \
                 synthetic.channels ({})",
                self.n_bad_channels, self.channels
            ));
        }
        if !(self.trial_interval_s > 0.0 && self.trial_interval_s <= 3600.0) {
            return Err(format!(
                "synthetic.trial_interval_s must be in (0, 3600] s, got {}",
                self.trial_interval_s
            ));
        }
        if !(self.line_hz >= 0.0 && self.line_hz < self.rate_hz / 6.0) {
            return Err(format!(
                "synthetic.line_hz must be 0 (off) or below rate_hz / 6 so its third harmonic \
                 stays below Nyquist, got {}",
                self.line_hz
            ));
        }
        if !(0.0..=100.0).contains(&self.hg_gain) {
            return Err(format!(
                "synthetic.hg_gain must be between 0 and 100, got {}",
                self.hg_gain
            ));
        }
        if !(0.0..=600.0).contains(&self.artifact_rate_per_min) {
            return Err(format!(
                "synthetic.artifact_rate_per_min must be between 0 and 600, got {}",
                self.artifact_rate_per_min
            ));
        }
        Ok(())
    }

    /// Samples per daemon block: `round(block_ms × rate_hz / 1000)`.
    pub fn block_samples(&self) -> usize {
        (self.block_ms * self.rate_hz / 1000.0).round() as usize
    }

    /// Length of the run in samples, `None` when it runs forever.
    pub fn duration_samples(&self) -> Option<u64> {
        (self.duration_s > 0.0).then(|| (self.duration_s * self.rate_hz).round() as u64)
    }

    /// Number of speech-responsive channels: `round(responsive_fraction × channels)`.
    pub fn responsive_count(&self) -> usize {
        (self.responsive_fraction * self.channels as f64).round() as usize
    }
}

/// How a bad channel is broken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BadKind {
    /// A constant value (a disconnected input with a DC offset).
    Flat,
    /// Large swings on a DC offset beyond the rail: clipped at ±`RAIL_UV` most of the time.
    Saturated,
    /// The normal signal plus white noise 10–20× a typical channel's RMS.
    Noisy,
}

const BAD_KINDS: [BadKind; 3] = [BadKind::Flat, BadKind::Saturated, BadKind::Noisy];

/// A bad channel and how it is broken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BadChannel {
    /// Channel index.
    pub channel: usize,
    /// What is wrong with it.
    pub kind: BadKind,
}

/// One raised-cosine syllable bump of a speech envelope.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Syllable {
    /// Start of the bump, seconds after the trial's onset.
    pub start_s: f64,
    /// Width of the bump in seconds.
    pub width_s: f64,
    /// Peak value of the bump.
    pub amplitude: f64,
}

impl Syllable {
    fn value(&self, t_rel_s: f64) -> f64 {
        let x = (t_rel_s - self.start_s) / self.width_s;
        if (0.0..1.0).contains(&x) {
            self.amplitude * 0.5 * (1.0 - (2.0 * PI * x).cos())
        } else {
            0.0
        }
    }
}

/// Speech envelope of one trial at `t_rel_s` seconds after its onset; syllables sorted by start.
fn syllable_envelope(syllables: &[Syllable], t_rel_s: f64) -> f64 {
    let mut sum = 0.0;
    for s in syllables {
        if t_rel_s < s.start_s {
            break;
        }
        sum += s.value(t_rel_s);
    }
    sum
}

/// One spoken sentence: its onset and the syllables that make up its envelope.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpeechTrial {
    /// Sample index of the speech onset.
    pub onset_sample: u64,
    /// Onset time in seconds (`onset_sample / rate_hz`).
    pub onset_s: f64,
    /// Length of the sentence in seconds; the envelope is zero after it.
    pub duration_s: f64,
    /// Syllable bumps, sorted by start; the envelope is their sum.
    pub syllables: Vec<Syllable>,
}

/// Ground truth of a synthetic run, for tests and for scoring offline analyses.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SyntheticTruth {
    /// Sample rate in Hz.
    pub rate_hz: f64,
    /// Number of channels.
    pub channels: usize,
    /// Rows of the electrode grid.
    pub grid_rows: usize,
    /// Columns of the electrode grid; channel `c` sits at row `c / grid_cols`, column `c % grid_cols`.
    pub grid_cols: usize,
    /// Speech-responsive channels, ascending; 4-connected on the grid.
    pub responsive: Vec<usize>,
    /// Bad channels, ascending by channel.
    pub bad: Vec<BadChannel>,
    /// Per channel: lag of the HG response behind the speech envelope in ms (`None` if not responsive).
    pub lags_ms: Vec<Option<f64>>,
    /// Per channel: peak gain of the HG modulation (0 if not responsive).
    pub hg_gains: Vec<f64>,
    /// Per channel: exponent χ of the 1/f^χ background.
    pub aperiodic_exponents: Vec<f64>,
    /// Trials, onsets and artifacts below are listed for samples before this index.
    pub horizon_samples: u64,
    /// Speech onsets in seconds.
    pub onsets_s: Vec<f64>,
    /// Speech onsets as sample indices.
    pub onset_samples: Vec<u64>,
    /// Every trial with its envelope description.
    pub trials: Vec<SpeechTrial>,
    /// Sample indices at which a whole-grid artifact starts.
    pub artifact_samples: Vec<u64>,
    /// The settings that produced the run.
    pub config: SyntheticConfig,
}

impl SyntheticTruth {
    /// Speech envelope (before any channel's lag) at time `t_s`; 0 outside sentences.
    pub fn envelope(&self, t_s: f64) -> f64 {
        let i = self.trials.partition_point(|tr| tr.onset_s <= t_s);
        match i.checked_sub(1).and_then(|i| self.trials.get(i)) {
            Some(tr) => syllable_envelope(&tr.syllables, t_s - tr.onset_s),
            None => 0.0,
        }
    }
}

/// xoshiro256++ seeded through SplitMix64.
///
/// Written here because rand's `StdRng` and `SmallRng` are documented as not reproducible across
/// rand releases and platforms, and a seed must keep meaning the same recording.
#[derive(Debug, Clone)]
struct SimRng {
    s: [u64; 4],
}

impl SimRng {
    fn new(seed: u64, stream: u64) -> Self {
        let mut sm = seed ^ stream.wrapping_mul(0xD1B5_4A32_D192_ED03);
        let mut s = [0; 4];
        for x in &mut s {
            sm = sm.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = sm;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            *x = z ^ (z >> 31);
        }
        Self { s }
    }

    fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.random::<f64>()
    }

    /// Index in `0..len` (`len` ≥ 1), via f64 so it does not depend on the width of usize.
    fn index(&mut self, len: usize) -> usize {
        ((self.random::<f64>() * len as f64) as usize).min(len.saturating_sub(1))
    }

    fn normal(&mut self) -> f64 {
        self.sample(StandardNormal)
    }
}

impl RngCore for SimRng {
    fn next_u32(&mut self) -> u32 {
        (self.next_u64() >> 32) as u32
    }

    fn next_u64(&mut self) -> u64 {
        let s = &mut self.s;
        let result = s[0].wrapping_add(s[3]).rotate_left(23).wrapping_add(s[0]);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        result
    }

    fn fill_bytes(&mut self, dst: &mut [u8]) {
        for chunk in dst.chunks_mut(8) {
            let bytes = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&bytes[..chunk.len()]);
        }
    }
}

const IDENTITY: Biquad = Biquad {
    b0: 1.0,
    b1: 0.0,
    b2: 0.0,
    a1: 0.0,
    a2: 0.0,
};

/// First-order section `(1 + s/ωz) / (1 + s/ωp)` (no zero: `1 / (1 + s/ωp)`) by the bilinear
/// transform with both corners prewarped, as `[b0, b1, a1]` with unit gain at DC.
fn first_order(zero_hz: Option<f64>, pole_hz: f64, fs: f64) -> [f64; 3] {
    let kp = 1.0 / (PI * pole_hz / fs).tan();
    let (n0, n1) = match zero_hz {
        Some(z) => {
            let kz = 1.0 / (PI * z / fs).tan();
            (1.0 + kz, 1.0 - kz)
        }
        // The bilinear image of a pure pole has its zero at Nyquist.
        None => (1.0, 1.0),
    };
    [n0 / (1.0 + kp), n1 / (1.0 + kp), (1.0 - kp) / (1.0 + kp)]
}

/// Filter turning white noise into 1/f^χ noise between about 1 Hz and 1 kHz.
///
/// A leaky integrator gives slope −2 above `LEAK_HZ`; a cascade of first-order pole–zero pairs
/// with log-spaced corners (three per decade from 1 Hz) adds the remaining slope χ − 2 (±0.5),
/// since a pair whose corners are a ratio D^((χ−2)/2) apart, repeated every ratio D, averages to
/// that slope (the Keshner/Corsini–Saletti construction). Kasdin's fractional-difference FIR
/// would need thousands of taps to reach 2 Hz at 3 kHz.
fn aperiodic_sections(chi: f64, fs: f64) -> [Biquad; BG_BIQUADS] {
    let spacing = 10f64.powf(1.0 / SHAPING_SECTIONS_PER_DECADE);
    let half_excess = 0.5 * (chi - 2.0);
    let max_corner_hz = (0.45 * fs).min(SHAPING_HIGH_HZ * spacing.sqrt());
    let mut firsts = Vec::with_capacity(2 * BG_BIQUADS);
    firsts.push(first_order(None, LEAK_HZ, fs));
    let mut corner = SHAPING_LOW_HZ;
    while firsts.len() < 2 * BG_BIQUADS && corner * spacing.powf(0.25) < max_corner_hz {
        let other = corner * spacing.powf(half_excess.abs());
        firsts.push(if half_excess >= 0.0 {
            first_order(Some(other), corner, fs)
        } else {
            first_order(Some(corner), other, fs)
        });
        corner *= spacing;
    }
    std::array::from_fn(|i| match (firsts.get(2 * i), firsts.get(2 * i + 1)) {
        (Some(p), Some(q)) => Biquad {
            b0: p[0] * q[0],
            b1: p[0] * q[1] + p[1] * q[0],
            b2: p[1] * q[1],
            a1: p[2] + q[2],
            a2: p[2] * q[2],
        },
        (Some(p), None) => Biquad {
            b0: p[0],
            b1: p[1],
            b2: 0.0,
            a1: p[2],
            a2: 0.0,
        },
        _ => IDENTITY,
    })
}

/// Band-pass for the HG activity: Butterworth high-pass 70 Hz then low-pass 150 Hz, order 4 each.
fn band_sections(fs: f64) -> [Biquad; BAND_BIQUADS] {
    let all: Vec<Biquad> = butterworth_highpass(4, HG_BAND_HZ.0, fs)
        .into_iter()
        .chain(butterworth_lowpass(4, HG_BAND_HZ.1, fs))
        .collect();
    std::array::from_fn(|i| all.get(i).copied().unwrap_or(IDENTITY))
}

/// Power between `lo_hz` and `hi_hz` of unit-variance white noise passed through `sections`.
fn band_power(sections: &[Biquad], fs: f64, lo_hz: f64, hi_hz: f64) -> f64 {
    let steps = ((hi_hz - lo_hz) / 0.5).ceil().max(1.0) as usize;
    let df = (hi_hz - lo_hz) / steps as f64;
    let gain2 = |f: f64| {
        let (re, im) = cascade_response(sections, f, fs);
        re * re + im * im
    };
    let inner: f64 = (1..steps).map(|i| gain2(lo_hz + i as f64 * df)).sum();
    let integral = df * (inner + 0.5 * (gain2(lo_hz) + gain2(hi_hz)));
    // One-sided PSD of unit-variance white noise is 2 / fs per Hz.
    2.0 / fs * integral
}

#[inline]
fn run_cascade<const N: usize>(
    sections: &[Biquad; N],
    states: &mut [BiquadState; N],
    x: f64,
) -> f64 {
    sections
        .iter()
        .zip(states.iter_mut())
        .fold(x, |acc, (f, s)| s.step(f, acc))
}

/// Everything the generator keeps for one channel.
#[derive(Debug, Clone)]
struct ChannelModel {
    bg_sections: [Biquad; BG_BIQUADS],
    bg_state: [BiquadState; BG_BIQUADS],
    bg_scale: f64,
    band_state: [BiquadState; BAND_BIQUADS],
    band_scale: f64,
    hg_gain: f64,
    lag_samples: usize,
    /// Line pickup as `scale × cos(h φ)` and `scale × sin(h φ)` per harmonic `h`.
    line_cos: [f64; HARMONICS],
    line_sin: [f64; HARMONICS],
    bad: Option<BadKind>,
    /// Flat: the constant (µV); saturated: the polarity (±1); noisy: the noise RMS (µV).
    bad_value: f64,
    artifact_uv: f64,
}

/// Slowly drifting mains amplitudes: bounded random walk knots every `LINE_KNOT_S`, linearly
/// interpolated so the hum never jumps.
#[derive(Debug, Clone)]
struct LineDrift {
    rng: SimRng,
    knot_samples: u64,
    next_knot: u64,
    from: [f64; HARMONICS],
    to: [f64; HARMONICS],
}

impl LineDrift {
    fn new(cfg: &SyntheticConfig) -> Self {
        let mut rng = SimRng::new(cfg.seed, STREAM_LINE);
        let from: [f64; HARMONICS] = std::array::from_fn(|_| rng.uniform(0.8, 1.2));
        let mut drift = Self {
            rng,
            knot_samples: ((LINE_KNOT_S * cfg.rate_hz).round() as u64).max(1),
            next_knot: 0,
            from,
            to: from,
        };
        drift.next_knot = drift.knot_samples;
        drift.to = drift.walk(from);
        drift
    }

    fn walk(&mut self, from: [f64; HARMONICS]) -> [f64; HARMONICS] {
        let (lo, hi) = LINE_DRIFT_BOUNDS;
        from.map(|d| {
            let mut d = d + LINE_DRIFT_STEP * self.rng.normal();
            if d > hi {
                d = 2.0 * hi - d;
            }
            if d < lo {
                d = 2.0 * lo - d;
            }
            d.clamp(lo, hi)
        })
    }

    /// Drift factors at sample `n`; must be called for every sample in order.
    fn factors(&mut self, n: u64) -> [f64; HARMONICS] {
        while n >= self.next_knot {
            self.from = self.to;
            self.to = self.walk(self.to);
            self.next_knot += self.knot_samples;
        }
        let frac = 1.0 - (self.next_knot - n) as f64 / self.knot_samples as f64;
        std::array::from_fn(|h| self.from[h] + (self.to[h] - self.from[h]) * frac)
    }
}

/// A trial held in fixed storage so the hot path can produce the next one without allocating.
#[derive(Debug, Clone, Copy)]
struct Trial {
    onset: u64,
    end: u64,
    duration_s: f64,
    n_syllables: usize,
    syllables: [Syllable; MAX_SYLLABLES],
}

impl Trial {
    fn syllables(&self) -> &[Syllable] {
        &self.syllables[..self.n_syllables]
    }
}

/// Draws trials one after another from the trial stream.
#[derive(Debug, Clone)]
struct TrialSchedule {
    rng: SimRng,
    rate_hz: f64,
    mean_interval_s: f64,
    next_onset: u64,
}

impl TrialSchedule {
    fn new(cfg: &SyntheticConfig) -> Self {
        let mut rng = SimRng::new(cfg.seed, STREAM_TRIALS);
        let first_s = FIRST_ONSET_MIN_S + rng.uniform(0.0, 0.5 * cfg.trial_interval_s);
        Self {
            rng,
            rate_hz: cfg.rate_hz,
            mean_interval_s: cfg.trial_interval_s,
            next_onset: (first_s * cfg.rate_hz).ceil() as u64,
        }
    }

    fn next_trial(&mut self, out: &mut Trial) {
        let rng = &mut self.rng;
        let duration_s = rng.uniform(SENTENCE_S.0, SENTENCE_S.1);
        let rate_hz = rng.uniform(SYLLABLE_RATE_HZ.0, SYLLABLE_RATE_HZ.1);
        let mut n = 0;
        let mut t = 0.0;
        while n < MAX_SYLLABLES {
            let spacing = rng.uniform(0.75, 1.25) / rate_hz;
            let width = spacing * rng.uniform(1.0, 1.3);
            let amplitude = rng.uniform(0.5, 1.0);
            if n > 0 && t + width > duration_s {
                break;
            }
            out.syllables[n] = Syllable {
                start_s: t,
                width_s: width,
                amplitude,
            };
            n += 1;
            t += spacing;
        }
        let gap_s = (self.mean_interval_s * rng.uniform(0.7, 1.3))
            .max(duration_s + MIN_GAP_AFTER_SENTENCE_S);
        out.onset = self.next_onset;
        out.end = out
            .onset
            .saturating_add((duration_s * self.rate_hz).ceil() as u64);
        out.duration_s = duration_s;
        out.n_syllables = n;
        self.next_onset = out
            .onset
            .saturating_add((gap_s * self.rate_hz).ceil() as u64);
    }
}

/// Draws whole-grid artifacts: Poisson arrivals, each a spike or a slow step with its own decay.
#[derive(Debug, Clone)]
struct ArtifactSchedule {
    rng: SimRng,
    rate_hz: f64,
    mean_gap_samples: f64,
    next_sample: u64,
}

/// One artifact as the generator applies it.
#[derive(Debug, Clone, Copy)]
struct ArtifactEvent {
    sample: u64,
    amplitude_uv: f64,
    decay: f64,
}

impl ArtifactSchedule {
    fn new(cfg: &SyntheticConfig) -> Self {
        let mut s = Self {
            rng: SimRng::new(cfg.seed, STREAM_ARTIFACTS),
            rate_hz: cfg.rate_hz,
            mean_gap_samples: 60.0 * cfg.rate_hz / cfg.artifact_rate_per_min.max(f64::MIN_POSITIVE),
            next_sample: 0,
        };
        s.next_sample = if cfg.artifact_rate_per_min > 0.0 {
            s.gap()
        } else {
            u64::MAX
        };
        s
    }

    fn gap(&mut self) -> u64 {
        let e: f64 = self.rng.sample(Exp1);
        ((e * self.mean_gap_samples).ceil() as u64).max(1)
    }

    /// Produces the artifact at `next_sample`, writing per-channel gains into `gains`.
    fn fire(&mut self, gains: &mut [f64]) -> ArtifactEvent {
        let spike = self.rng.random::<f64>() < 0.5;
        let (amplitude_uv, tau_s) = if spike {
            (
                self.rng.uniform(300.0, 1500.0),
                self.rng.uniform(0.002, 0.01),
            )
        } else {
            (self.rng.uniform(200.0, 800.0), self.rng.uniform(0.1, 0.4))
        };
        let sign = if self.rng.random::<f64>() < 0.5 {
            -1.0
        } else {
            1.0
        };
        for g in gains.iter_mut() {
            *g = self.rng.uniform(0.5, 1.5);
        }
        let event = ArtifactEvent {
            sample: self.next_sample,
            amplitude_uv: sign * amplitude_uv,
            decay: (-1.0 / (tau_s * self.rate_hz)).exp(),
        };
        self.next_sample = self.next_sample.saturating_add(self.gap());
        event
    }
}

/// The synthetic ECoG generator: `fill` produces the stream, `truth` describes it.
#[derive(Debug, Clone)]
pub struct SyntheticEcog {
    channels: usize,
    rate_hz: f64,
    next_sample: u64,
    models: Vec<ChannelModel>,
    band_sections: [Biquad; BAND_BIQUADS],
    noise_rng: SimRng,
    bad_rng: SimRng,
    line_hz: f64,
    line: LineDrift,
    trials: TrialSchedule,
    trial: Trial,
    /// Envelope of the last `env_ring.len()` samples, so each channel can read it at its own lag.
    env_ring: Vec<f64>,
    env_mask: usize,
    artifacts: ArtifactSchedule,
    artifact_gains: Vec<f64>,
    artifact_decay: f64,
    recent_onsets: [u64; RECENT_ONSETS],
    onsets_generated: usize,
    truth: SyntheticTruth,
}

impl SyntheticEcog {
    /// Builds the generator, its channel layout and (for finite runs) the whole ground truth.
    pub fn new(cfg: &SyntheticConfig) -> Result<Self, String> {
        cfg.validate()?;
        let fs = cfg.rate_hz;
        let n_ch = cfg.channels;
        let cols = cfg.grid_cols;
        let rows = n_ch.div_ceil(cols);

        let mut layout_rng = SimRng::new(cfg.seed, STREAM_LAYOUT);
        let (responsive, distances) =
            responsive_blob(n_ch, cols, cfg.responsive_count(), &mut layout_rng);
        let mut is_responsive = vec![false; n_ch];
        for &c in &responsive {
            is_responsive[c] = true;
        }
        let mut candidates: Vec<usize> = (0..n_ch).filter(|&c| !is_responsive[c]).collect();
        let mut bad_of = vec![None; n_ch];
        for i in 0..cfg.n_bad_channels {
            let j = i + layout_rng.index(candidates.len() - i);
            candidates.swap(i, j);
            bad_of[candidates[i]] = Some(BAD_KINDS[i % BAD_KINDS.len()]);
        }
        let max_distance = responsive.iter().map(|&c| distances[c]).fold(0.0, f64::max);

        let band_sections = band_sections(fs);
        let band_unit_power = band_power(&band_sections, fs, 0.0, 0.5 * fs);
        let lag_bounds = (
            (LAG_MS_RANGE.0 * fs / 1000.0).ceil() as usize,
            (LAG_MS_RANGE.1 * fs / 1000.0).floor() as usize,
        );

        // Every channel draws the same values in the same order whether or not it uses them,
        // so changing the responsive fraction or the bad count does not reshuffle the others.
        let mut ch_rng = SimRng::new(cfg.seed, STREAM_CHANNELS);
        let mut models = Vec::with_capacity(n_ch);
        let mut chis = Vec::with_capacity(n_ch);
        let mut lags_ms = Vec::with_capacity(n_ch);
        let mut hg_gains = Vec::with_capacity(n_ch);
        for c in 0..n_ch {
            let chi = ch_rng.uniform(CHI_RANGE.0, CHI_RANGE.1);
            let bg_amplitude = ch_rng.uniform(0.7f64.ln(), 1.4f64.ln()).exp();
            let band_share = ch_rng.uniform(0.8, 1.25);
            let line_scale = ch_rng.uniform(0.5, 1.5);
            let line_phase = ch_rng.uniform(-0.3, 0.3);
            let lag_ms = ch_rng.uniform(LAG_MS_RANGE.0, LAG_MS_RANGE.1);
            let gain_jitter = ch_rng.uniform(0.85, 1.15);
            let flat_uv = ch_rng.uniform(-50.0, 50.0);
            let polarity = if ch_rng.random::<f64>() < 0.5 {
                -1.0
            } else {
                1.0
            };
            let noisy_uv = NOISY_REF_RMS_UV * ch_rng.uniform(NOISY_FACTOR.0, NOISY_FACTOR.1);

            let bg_sections = aperiodic_sections(chi, fs);
            let (re, im) = cascade_response(&bg_sections, BG_ANCHOR_HZ, fs);
            let anchor_gain = (re * re + im * im).sqrt();
            let bg_scale =
                bg_amplitude * (BG_PSD_AT_ANCHOR_UV2_PER_HZ * fs / 2.0).sqrt() / anchor_gain;
            let bg_hg_power =
                bg_scale * bg_scale * band_power(&bg_sections, fs, HG_BAND_HZ.0, HG_BAND_HZ.1);
            // Band noise carries about as much 70–150 Hz power as the background itself.
            let band_scale = (band_share * bg_hg_power / band_unit_power).sqrt();

            let lag_samples =
                ((lag_ms * fs / 1000.0).round() as usize).clamp(lag_bounds.0, lag_bounds.1);
            let hg_gain = if is_responsive[c] {
                let falloff = if max_distance > 0.0 {
                    1.0 - 0.5 * distances[c] / max_distance
                } else {
                    1.0
                };
                cfg.hg_gain * falloff * gain_jitter
            } else {
                0.0
            };
            let bad = bad_of[c];
            let bad_value = match bad {
                Some(BadKind::Flat) => flat_uv,
                Some(BadKind::Saturated) => polarity,
                Some(BadKind::Noisy) => noisy_uv,
                None => 0.0,
            };
            models.push(ChannelModel {
                bg_sections,
                bg_state: Default::default(),
                bg_scale,
                band_state: Default::default(),
                band_scale,
                hg_gain,
                lag_samples,
                line_cos: std::array::from_fn(|h| line_scale * ((h + 1) as f64 * line_phase).cos()),
                line_sin: std::array::from_fn(|h| line_scale * ((h + 1) as f64 * line_phase).sin()),
                bad,
                bad_value,
                artifact_uv: 0.0,
            });
            chis.push(chi);
            lags_ms.push(is_responsive[c].then(|| lag_samples as f64 * 1000.0 / fs));
            hg_gains.push(hg_gain);
        }

        let bad: Vec<BadChannel> = bad_of
            .iter()
            .enumerate()
            .filter_map(|(channel, k)| k.map(|kind| BadChannel { channel, kind }))
            .collect();
        let mut responsive_sorted = responsive;
        responsive_sorted.sort_unstable();
        let mut truth = SyntheticTruth {
            rate_hz: fs,
            channels: n_ch,
            grid_rows: rows,
            grid_cols: cols,
            responsive: responsive_sorted,
            bad,
            lags_ms,
            hg_gains,
            aperiodic_exponents: chis,
            horizon_samples: 0,
            onsets_s: Vec::new(),
            onset_samples: Vec::new(),
            trials: Vec::new(),
            artifact_samples: Vec::new(),
            config: cfg.clone(),
        };
        fill_schedule_truth(&mut truth, cfg.duration_samples().unwrap_or(0));

        let env_len = (lag_bounds.1 + 1).next_power_of_two();
        let mut trials = TrialSchedule::new(cfg);
        let mut trial = Trial {
            onset: 0,
            end: 0,
            duration_s: 0.0,
            n_syllables: 0,
            syllables: [Syllable::default(); MAX_SYLLABLES],
        };
        trials.next_trial(&mut trial);
        let mut generator = Self {
            channels: n_ch,
            rate_hz: fs,
            next_sample: 0,
            models,
            band_sections,
            noise_rng: SimRng::new(cfg.seed, STREAM_NOISE),
            bad_rng: SimRng::new(cfg.seed, STREAM_BAD_NOISE),
            line_hz: cfg.line_hz,
            line: LineDrift::new(cfg),
            trials,
            trial,
            env_ring: vec![0.0; env_len],
            env_mask: env_len - 1,
            artifacts: ArtifactSchedule::new(cfg),
            artifact_gains: vec![0.0; n_ch],
            artifact_decay: 0.0,
            recent_onsets: [0; RECENT_ONSETS],
            onsets_generated: 0,
            truth,
        };
        generator.remember_onset(trial.onset);
        Ok(generator)
    }

    /// Number of channels.
    pub fn channels(&self) -> usize {
        self.channels
    }

    /// Sample rate in Hz.
    pub fn rate_hz(&self) -> f64 {
        self.rate_hz
    }

    /// Index of the next sample `fill` will write.
    pub fn next_sample_index(&self) -> u64 {
        self.next_sample
    }

    /// Ground truth; for a run with `duration_s > 0` it lists every onset and artifact up front,
    /// for an endless run only the channel layout (see `truth_until`).
    pub fn truth(&self) -> &SyntheticTruth {
        &self.truth
    }

    /// Ground truth with trials, onsets and artifacts listed up to `end_s` seconds (allocates;
    /// replays the schedules from the seed, so it works for endless runs too).
    pub fn truth_until(&self, end_s: f64) -> SyntheticTruth {
        let mut truth = self.truth.clone();
        let horizon = if end_s.is_finite() && end_s > 0.0 {
            (end_s * self.rate_hz).round() as u64
        } else {
            0
        };
        fill_schedule_truth(&mut truth, horizon);
        truth
    }

    /// Speech onsets (sample indices) in `first..end`, ascending, among the last 32 trials drawn;
    /// every onset before `next_sample_index()` has been drawn.
    pub fn onsets_in(&self, first: u64, end: u64) -> impl Iterator<Item = u64> + '_ {
        let len = self.onsets_generated.min(RECENT_ONSETS);
        let split = if self.onsets_generated > RECENT_ONSETS {
            self.onsets_generated % RECENT_ONSETS
        } else {
            0
        };
        let (newer, older) = self.recent_onsets[..len].split_at(split);
        older
            .iter()
            .chain(newer)
            .copied()
            .filter(move |&s| s >= first && s < end)
    }

    fn remember_onset(&mut self, onset: u64) {
        self.recent_onsets[self.onsets_generated % RECENT_ONSETS] = onset;
        self.onsets_generated += 1;
    }

    /// Writes the next `out.len() / channels` samples, sample-major (`out[s * channels + c]`), in
    /// µV; a trailing partial frame is left untouched. Does not allocate.
    pub fn fill(&mut self, out: &mut [f32]) {
        let channels = self.channels;
        for frame in out.chunks_exact_mut(channels) {
            self.step(frame);
        }
    }

    fn step(&mut self, frame: &mut [f32]) {
        let n = self.next_sample;
        let fs = self.rate_hz;

        while n >= self.trial.end {
            self.trials.next_trial(&mut self.trial);
            self.remember_onset(self.trial.onset);
        }
        let envelope = if n >= self.trial.onset {
            syllable_envelope(self.trial.syllables(), (n - self.trial.onset) as f64 / fs)
        } else {
            0.0
        };
        // Truncating n is fine: the ring length is a power of two.
        let slot = n as usize;
        self.env_ring[slot & self.env_mask] = envelope;

        let drift = self.line.factors(n);
        let mut line_sin = [0.0; HARMONICS];
        let mut line_cos = [0.0; HARMONICS];
        if self.line_hz > 0.0 {
            // Phase from the sample index, not an accumulator, so it cannot drift over days.
            let cycles = (n as f64 * self.line_hz / fs).fract();
            for h in 0..HARMONICS {
                let (s, c) = (2.0 * PI * cycles * (h + 1) as f64).sin_cos();
                let a = LINE_AMPLITUDE_UV[h] * drift[h];
                line_sin[h] = a * s;
                line_cos[h] = a * c;
            }
        }

        if n == self.artifacts.next_sample {
            let event = self.artifacts.fire(&mut self.artifact_gains);
            debug_assert_eq!(event.sample, n);
            for (m, g) in self.models.iter_mut().zip(&self.artifact_gains) {
                m.artifact_uv += event.amplitude_uv * g;
            }
            self.artifact_decay = event.decay;
        }

        for (m, out) in self.models.iter_mut().zip(frame.iter_mut()) {
            // Both draws happen for every channel so the noise stream never depends on the layout.
            let w_bg = self.noise_rng.normal();
            let w_band = self.noise_rng.normal();
            let bg = m.bg_scale * run_cascade(&m.bg_sections, &mut m.bg_state, w_bg);
            let mut band =
                m.band_scale * run_cascade(&self.band_sections, &mut m.band_state, w_band);
            if m.hg_gain > 0.0 {
                let lagged = self.env_ring[slot.wrapping_sub(m.lag_samples) & self.env_mask];
                band *= 1.0 + m.hg_gain * lagged;
            }
            let mut line = 0.0;
            for h in 0..HARMONICS {
                line += line_sin[h] * m.line_cos[h] + line_cos[h] * m.line_sin[h];
            }
            let x = bg + band + line + m.artifact_uv;
            m.artifact_uv *= self.artifact_decay;
            let y = match m.bad {
                None => x,
                Some(BadKind::Flat) => m.bad_value,
                Some(BadKind::Saturated) => (m.bad_value * SATURATED_OFFSET_RAILS * RAIL_UV
                    + SATURATED_SWING * x)
                    .clamp(-RAIL_UV, RAIL_UV),
                Some(BadKind::Noisy) => x + m.bad_value * self.bad_rng.normal(),
            };
            *out = y as f32;
        }
        self.next_sample += 1;
    }
}

/// Responsive blob: the `count` channels nearest a random centre channel (ties broken at random),
/// with every channel's grid distance from the centre.
///
/// Such a nearest-first set is 4-connected: each member other than the centre has a grid
/// neighbour strictly closer to the centre (even in a partial last row), which is therefore in
/// the set too.
fn responsive_blob(
    channels: usize,
    cols: usize,
    count: usize,
    rng: &mut SimRng,
) -> (Vec<usize>, Vec<f64>) {
    let centre = rng.index(channels);
    let (cr, cc) = ((centre / cols) as f64, (centre % cols) as f64);
    let mut keyed: Vec<(f64, usize)> = (0..channels)
        .map(|c| {
            let (r, k) = ((c / cols) as f64, (c % cols) as f64);
            let d2 = (r - cr).powi(2) + (k - cc).powi(2);
            // Squared distances are integers, so jitter below 1 only reorders ties.
            (d2 + 0.5 * rng.random::<f64>(), c)
        })
        .collect();
    let distances = keyed.iter().map(|&(k, _)| k.floor().sqrt()).collect();
    keyed.sort_by(|a, b| a.0.total_cmp(&b.0));
    (
        keyed.iter().take(count).map(|&(_, c)| c).collect(),
        distances,
    )
}

/// Replays the trial and artifact schedules from the seed and lists them below `horizon`.
fn fill_schedule_truth(truth: &mut SyntheticTruth, horizon: u64) {
    let cfg = &truth.config;
    let fs = cfg.rate_hz;
    let mut trials = Vec::new();
    let mut schedule = TrialSchedule::new(cfg);
    let mut trial = Trial {
        onset: 0,
        end: 0,
        duration_s: 0.0,
        n_syllables: 0,
        syllables: [Syllable::default(); MAX_SYLLABLES],
    };
    while schedule.next_onset < horizon {
        schedule.next_trial(&mut trial);
        trials.push(SpeechTrial {
            onset_sample: trial.onset,
            onset_s: trial.onset as f64 / fs,
            duration_s: trial.duration_s,
            syllables: trial.syllables().to_vec(),
        });
    }
    let mut artifacts = Vec::new();
    let mut schedule = ArtifactSchedule::new(cfg);
    let mut gains = vec![0.0; cfg.channels];
    while schedule.next_sample < horizon {
        artifacts.push(schedule.fire(&mut gains).sample);
    }
    truth.horizon_samples = horizon;
    truth.onset_samples = trials.iter().map(|t| t.onset_sample).collect();
    truth.onsets_s = trials.iter().map(|t| t.onset_s).collect();
    truth.trials = trials;
    truth.artifact_samples = artifacts;
}

/// The generator as a daemon `Source`: fixed-size blocks, optionally paced to the wall clock.
#[derive(Debug)]
pub struct SyntheticSource {
    generator: SyntheticEcog,
    labels: Arc<[String]>,
    block_samples: usize,
    end_sample: Option<u64>,
    realtime: bool,
    started: Option<Instant>,
    markers: Vec<u64>,
}

impl SyntheticSource {
    /// Builds the source; errors name the offending config field.
    pub fn new(cfg: &SyntheticConfig) -> Result<Self, String> {
        let generator = SyntheticEcog::new(cfg)?;
        Ok(Self {
            labels: default_labels(cfg.channels),
            block_samples: cfg.block_samples(),
            end_sample: cfg.duration_samples(),
            realtime: cfg.realtime,
            started: None,
            // Onsets are ≥ 1.5 s apart, so a block rarely holds more than one.
            markers: Vec::with_capacity(4),
            generator,
        })
    }

    /// The underlying generator, for its ground truth.
    pub fn generator(&self) -> &SyntheticEcog {
        &self.generator
    }

    /// Samples per full block.
    pub fn block_samples(&self) -> usize {
        self.block_samples
    }

    /// Speech-onset sample indices that fall inside the last block returned.
    pub fn last_markers(&self) -> &[u64] {
        &self.markers
    }
}

impl Source for SyntheticSource {
    fn labels(&self) -> Arc<[String]> {
        self.labels.clone()
    }

    fn markers(&self) -> &[u64] {
        &self.markers
    }

    fn is_realtime(&self) -> bool {
        self.realtime
    }

    fn rate_hz(&self) -> f64 {
        self.generator.rate_hz()
    }

    fn next_block(&mut self) -> Result<SampleBlock, SourceError> {
        let started = *self.started.get_or_insert_with(Instant::now);
        let first = self.generator.next_sample_index();
        let n = match self.end_sample {
            Some(end) if first >= end => return Err(SourceError::Ended),
            Some(end) => (self.block_samples as u64).min(end - first) as usize,
            None => self.block_samples,
        };
        let rate = self.generator.rate_hz();
        // One Vec per block at the source boundary, as the `SampleBlock` type requires.
        let mut data = vec![0.0f32; n * self.generator.channels()];
        self.generator.fill(&mut data);
        self.markers.clear();
        self.markers
            .extend(self.generator.onsets_in(first, first + n as u64));
        if self.realtime {
            // Due times count from the start, so sleep overshoot never accumulates into drift.
            let due = started + Duration::from_secs_f64((first + n as u64) as f64 / rate);
            let now = Instant::now();
            if due > now {
                std::thread::sleep(due - now);
            }
        }
        Ok(SampleBlock {
            first_index: first,
            received_at: Instant::now(),
            source_time_s: first as f64 / rate,
            labels: self.labels.clone(),
            rate_hz: rate,
            data,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustfft::FftPlanner;
    use rustfft::num_complex::Complex;
    use std::collections::VecDeque;

    fn quiet_config(channels: usize, grid_cols: usize, seed: u64) -> SyntheticConfig {
        SyntheticConfig {
            channels,
            grid_cols,
            seed,
            realtime: false,
            n_bad_channels: 0,
            ..SyntheticConfig::default()
        }
    }

    fn generate(cfg: &SyntheticConfig, seconds: f64) -> (SyntheticEcog, Vec<f32>) {
        let mut generator = SyntheticEcog::new(cfg).unwrap();
        let n = (seconds * cfg.rate_hz).round() as usize;
        let mut out = vec![0.0; n * cfg.channels];
        generator.fill(&mut out);
        (generator, out)
    }

    fn column(data: &[f32], channels: usize, c: usize) -> Vec<f64> {
        data.iter()
            .skip(c)
            .step_by(channels)
            .map(|&v| f64::from(v))
            .collect()
    }

    fn variance(x: &[f64]) -> f64 {
        let mean = x.iter().sum::<f64>() / x.len() as f64;
        x.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / x.len() as f64
    }

    #[test]
    fn fill_is_invariant_to_chunking() {
        let cfg = SyntheticConfig {
            // Frequent artifacts and onsets so every schedule crosses chunk boundaries.
            artifact_rate_per_min: 30.0,
            trial_interval_s: 2.0,
            n_bad_channels: 3,
            ..quiet_config(32, 8, 11)
        };
        let (whole_gen, whole) = generate(&cfg, 10.0);
        assert!(!whole_gen.truth_until(10.0).artifact_samples.is_empty());

        let mut generator = SyntheticEcog::new(&cfg).unwrap();
        let mut chunked = vec![0.0f32; whole.len()];
        let mut sizes = SimRng::new(99, 0);
        let mut at = 0;
        while at < chunked.len() {
            let samples = sizes.index(700);
            let end = (at + samples * cfg.channels).min(chunked.len());
            generator.fill(&mut chunked[at..end]);
            at = end;
        }
        let first_diff = whole
            .iter()
            .zip(&chunked)
            .position(|(a, b)| a.to_bits() != b.to_bits());
        assert_eq!(first_diff, None, "streams differ");
    }

    #[test]
    fn same_seed_repeats_and_other_seed_differs() {
        let cfg = SyntheticConfig {
            n_bad_channels: 3,
            ..quiet_config(16, 4, 5)
        };
        let (_, a) = generate(&cfg, 2.0);
        let (_, b) = generate(&cfg, 2.0);
        assert!(a.iter().zip(&b).all(|(x, y)| x.to_bits() == y.to_bits()));
        let (_, c) = generate(&SyntheticConfig { seed: 6, ..cfg }, 2.0);
        let same = a.iter().zip(&c).filter(|(x, y)| x == y).count();
        assert!(same < a.len() / 16, "{same} of {} values equal", a.len());
    }

    /// Welch PSD (Hann, 50 % overlap) of `x`, one value per FFT bin up to Nyquist.
    fn welch_psd(x: &[f64], segment: usize) -> Vec<f64> {
        let fft = FftPlanner::<f64>::new().plan_fft_forward(segment);
        let window: Vec<f64> = (0..segment)
            .map(|i| 0.5 - 0.5 * (2.0 * PI * i as f64 / segment as f64).cos())
            .collect();
        let mut psd = vec![0.0; segment / 2 + 1];
        let mut buf = vec![Complex::new(0.0, 0.0); segment];
        let mut count = 0;
        for start in (0..=x.len() - segment).step_by(segment / 2) {
            let seg = &x[start..start + segment];
            let mean = seg.iter().sum::<f64>() / segment as f64;
            for ((b, &v), w) in buf.iter_mut().zip(seg).zip(&window) {
                *b = Complex::new((v - mean) * w, 0.0);
            }
            fft.process(&mut buf);
            for (p, b) in psd.iter_mut().zip(&buf) {
                *p += b.norm_sqr();
            }
            count += 1;
        }
        psd.iter().map(|p| p / count as f64).collect()
    }

    #[test]
    fn background_slope_matches_aperiodic_exponent() {
        let cfg = SyntheticConfig {
            responsive_fraction: 0.0,
            n_bad_channels: 0,
            line_hz: 0.0,
            artifact_rate_per_min: 0.0,
            ..quiet_config(8, 4, 21)
        };
        let (generator, data) = generate(&cfg, 24.0);
        let segment = 8192;
        let df = cfg.rate_hz / segment as f64;
        for c in 0..cfg.channels {
            let psd = welch_psd(&column(&data, cfg.channels, c), segment);
            let points: Vec<(f64, f64)> = psd
                .iter()
                .enumerate()
                .map(|(k, &p)| (k as f64 * df, p))
                .filter(|&(f, _)| (2.0..=40.0).contains(&f))
                .map(|(f, p)| (f.log10(), p.log10()))
                .collect();
            let n = points.len() as f64;
            let (mx, my) = points
                .iter()
                .fold((0.0, 0.0), |(a, b), &(x, y)| (a + x / n, b + y / n));
            let sxy: f64 = points.iter().map(|&(x, y)| (x - mx) * (y - my)).sum();
            let sxx: f64 = points.iter().map(|&(x, _)| (x - mx).powi(2)).sum();
            let chi = generator.truth().aperiodic_exponents[c];
            let fitted = -sxy / sxx;
            assert!(
                (fitted - chi).abs() <= 0.4,
                "channel {c}: fitted χ {fitted:.2}, configured {chi:.2}"
            );
        }
    }

    #[test]
    fn bad_channels_show_their_kind() {
        let cfg = SyntheticConfig {
            n_bad_channels: 6,
            ..quiet_config(32, 8, 8)
        };
        let (generator, data) = generate(&cfg, 10.0);
        let truth = generator.truth();
        let kinds: Vec<BadKind> = truth.bad.iter().map(|b| b.kind).collect();
        for kind in BAD_KINDS {
            assert_eq!(kinds.iter().filter(|&&k| k == kind).count(), 2, "{kind:?}");
        }
        let good_vars: Vec<f64> = (0..cfg.channels)
            .filter(|c| !truth.bad.iter().any(|b| b.channel == *c))
            .map(|c| variance(&column(&data, cfg.channels, c)))
            .collect();
        let mut sorted = good_vars.clone();
        sorted.sort_by(f64::total_cmp);
        let median = sorted[sorted.len() / 2];
        for b in &truth.bad {
            let x = column(&data, cfg.channels, b.channel);
            match b.kind {
                BadKind::Flat => assert_eq!(variance(&x), 0.0, "{b:?}"),
                BadKind::Saturated => {
                    let at_rail = x.iter().filter(|v| v.abs() == RAIL_UV).count();
                    let fraction = at_rail as f64 / x.len() as f64;
                    assert!(fraction > 0.3, "{b:?}: {fraction:.2} at the rail");
                }
                BadKind::Noisy => {
                    let v = variance(&x);
                    assert!(
                        v > 10.0 * median,
                        "{b:?}: variance {v:.0} vs median {median:.0}"
                    );
                }
            }
        }
        assert!(good_vars.iter().all(|&v| v > 0.0));
    }

    /// 70–150 Hz power of `x` with the mains and its harmonics notched out, per sample.
    fn hg_power(x: &[f64], fs: f64) -> Vec<f64> {
        let mut sections = butterworth_highpass(4, 70.0, fs);
        sections.extend(butterworth_lowpass(4, 150.0, fs));
        sections.extend([60.0, 120.0].map(|f| Biquad::notch(f, f / 6.0, fs)));
        let mut states = vec![BiquadState::default(); sections.len()];
        x.iter()
            .map(|&v| {
                let y = sections
                    .iter()
                    .zip(states.iter_mut())
                    .fold(v, |acc, (f, s)| s.step(f, acc));
                y * y
            })
            .collect()
    }

    #[test]
    fn responsive_channels_carry_high_gamma_after_onsets() {
        let cfg = SyntheticConfig {
            n_bad_channels: 0,
            artifact_rate_per_min: 0.0,
            ..quiet_config(32, 8, 3)
        };
        let seconds = 40.0;
        let (generator, data) = generate(&cfg, seconds);
        let truth = generator.truth_until(seconds);
        let fs = cfg.rate_hz;
        assert!(truth.trials.len() >= 8, "{} trials", truth.trials.len());
        let n = data.len() / cfg.channels;
        let t = |i: usize| i as f64 / fs;
        // Quiet: no envelope at any lag a channel could have, after the filters settle.
        let quiet: Vec<bool> = (0..n)
            .map(|i| t(i) > 0.5 && (0..=8).all(|k| truth.envelope(t(i) - 0.025 * k as f64) == 0.0))
            .collect();
        let mut ratios = Vec::new();
        for c in 0..cfg.channels {
            let lag_s = truth.lags_ms[c].unwrap_or(100.0) / 1000.0;
            let power = hg_power(&column(&data, cfg.channels, c), fs);
            let (mut active, mut n_active, mut base, mut n_base) = (0.0, 0, 0.0, 0);
            for (i, p) in power.iter().enumerate() {
                if truth.envelope(t(i) - lag_s) > 0.5 {
                    active += p;
                    n_active += 1;
                } else if quiet[i] {
                    base += p;
                    n_base += 1;
                }
            }
            assert!(n_active > fs as usize && n_base > 5 * fs as usize);
            let ratio = (active / n_active as f64) / (base / n_base as f64);
            ratios.push((c, truth.lags_ms[c].is_some(), ratio));
        }
        for &(c, responsive, ratio) in &ratios {
            if responsive {
                assert!(ratio > 1.3, "responsive channel {c}: HG ratio {ratio:.2}");
            } else {
                assert!(
                    ratio < 1.25,
                    "non-responsive channel {c}: HG ratio {ratio:.2}"
                );
            }
        }
    }

    fn is_4_connected(set: &[usize], channels: usize, cols: usize) -> bool {
        let mut inside = vec![false; channels];
        for &c in set {
            inside[c] = true;
        }
        let Some(&start) = set.first() else {
            return true;
        };
        let mut seen = vec![false; channels];
        seen[start] = true;
        let mut queue = VecDeque::from([start]);
        let mut reached = 1;
        while let Some(c) = queue.pop_front() {
            let (r, k) = (c / cols, c % cols);
            let mut neighbours = Vec::new();
            if k > 0 {
                neighbours.push(c - 1);
            }
            if k + 1 < cols {
                neighbours.push(c + 1);
            }
            if r > 0 {
                neighbours.push(c - cols);
            }
            neighbours.push(c + cols);
            for nb in neighbours {
                if nb < channels && inside[nb] && !seen[nb] {
                    seen[nb] = true;
                    reached += 1;
                    queue.push_back(nb);
                }
            }
        }
        reached == set.len()
    }

    #[test]
    fn responsive_set_is_contiguous_and_apart_from_bad_channels() {
        let cases = [
            (128, 8, 0.25, 3),
            (100, 8, 0.3, 5),
            (7, 3, 0.5, 2),
            (20, 5, 0.9, 2),
        ];
        for (channels, cols, fraction, n_bad) in cases {
            for seed in 0..20 {
                let cfg = SyntheticConfig {
                    responsive_fraction: fraction,
                    n_bad_channels: n_bad,
                    ..quiet_config(channels, cols, seed)
                };
                let generator = SyntheticEcog::new(&cfg).unwrap();
                let truth = generator.truth();
                let label = format!("{channels} ch, {cols} cols, seed {seed}");
                assert_eq!(truth.responsive.len(), cfg.responsive_count(), "{label}");
                assert!(is_4_connected(&truth.responsive, channels, cols), "{label}");
                assert_eq!(truth.bad.len(), n_bad, "{label}");
                assert!(
                    truth
                        .bad
                        .iter()
                        .all(|b| !truth.responsive.contains(&b.channel)),
                    "{label}"
                );
                for c in 0..channels {
                    let responsive = truth.responsive.contains(&c);
                    match truth.lags_ms[c] {
                        Some(lag) => {
                            assert!(responsive && (50.0..=150.0).contains(&lag), "{label}")
                        }
                        None => assert!(!responsive, "{label}"),
                    }
                    assert_eq!(truth.hg_gains[c] > 0.0, responsive, "{label}");
                }
            }
        }
    }

    #[test]
    fn speech_schedule_follows_the_spec() {
        let cfg = SyntheticConfig {
            duration_s: 120.0,
            ..quiet_config(4, 2, 17)
        };
        let generator = SyntheticEcog::new(&cfg).unwrap();
        let truth = generator.truth();
        assert_eq!(truth.horizon_samples, (120.0 * cfg.rate_hz).round() as u64);
        assert!(truth.onsets_s[0] >= 1.5);
        assert!(truth.trials.len() > 20);
        for pair in truth.trials.windows(2) {
            let gap = pair[1].onset_s - pair[0].onset_s;
            assert!(
                gap >= pair[0].duration_s + 0.5 && gap <= 3.5 * 1.3 + 1e-6,
                "gap {gap}"
            );
        }
        for trial in &truth.trials {
            assert!((1.0..=2.5).contains(&trial.duration_s));
            let rate = trial.syllables.len() as f64 / trial.duration_s;
            assert!((2.0..=8.5).contains(&rate), "{rate} syllables/s");
            let last = trial.syllables.last().unwrap();
            assert!(last.start_s + last.width_s <= trial.duration_s);
            // The envelope is non-negative, reaches a syllable peak, and is zero after the end.
            let values: Vec<f64> = (0..250)
                .map(|k| truth.envelope(trial.onset_s + k as f64 * 0.01))
                .collect();
            assert!(values.iter().all(|&v| v >= 0.0));
            assert!(values.iter().cloned().fold(0.0, f64::max) > 0.45);
            assert_eq!(truth.envelope(trial.onset_s + trial.duration_s + 0.01), 0.0);
            assert_eq!(truth.envelope(trial.onset_s - 0.01), 0.0);
        }
    }

    #[test]
    fn endless_truth_and_markers_match_the_finite_run() {
        let finite = SyntheticConfig {
            duration_s: 30.0,
            artifact_rate_per_min: 20.0,
            ..quiet_config(2, 2, 4)
        };
        let endless = SyntheticConfig {
            duration_s: 0.0,
            ..finite.clone()
        };
        let up_front = SyntheticEcog::new(&finite).unwrap().truth().clone();
        let mut generator = SyntheticEcog::new(&endless).unwrap();
        assert!(generator.truth().trials.is_empty());
        let replayed = generator.truth_until(30.0);
        assert_eq!(up_front.trials, replayed.trials);
        assert_eq!(up_front.artifact_samples, replayed.artifact_samples);
        assert!(!up_front.artifact_samples.is_empty());

        let block = 25;
        let mut out = vec![0.0; block * endless.channels];
        let mut markers = Vec::new();
        while generator.next_sample_index() < up_front.horizon_samples {
            let first = generator.next_sample_index();
            generator.fill(&mut out);
            markers.extend(generator.onsets_in(first, first + block as u64));
        }
        assert_eq!(markers, up_front.onset_samples);
    }

    #[test]
    fn validate_names_the_field() {
        type Edit = fn(&mut SyntheticConfig);
        let cases: [(Edit, &str); 14] = [
            (|c| c.channels = 0, "synthetic.channels"),
            (|c| c.grid_cols = 0, "synthetic.grid_cols"),
            (|c| c.rate_hz = 0.0, "synthetic.rate_hz"),
            (|c| c.rate_hz = f64::NAN, "synthetic.rate_hz"),
            (|c| c.block_ms = 0.0, "synthetic.block_ms"),
            (|c| c.block_ms = 0.1, "synthetic.block_ms"),
            (|c| c.duration_s = -1.0, "synthetic.duration_s"),
            (
                |c| c.responsive_fraction = 1.5,
                "synthetic.responsive_fraction",
            ),
            (|c| c.n_bad_channels = 100, "synthetic.n_bad_channels"),
            (|c| c.trial_interval_s = 0.0, "synthetic.trial_interval_s"),
            (|c| c.line_hz = 600.0, "synthetic.line_hz"),
            (|c| c.hg_gain = -1.0, "synthetic.hg_gain"),
            (
                |c| c.artifact_rate_per_min = f64::INFINITY,
                "synthetic.artifact_rate_per_min",
            ),
            (|c| c.line_hz = -60.0, "synthetic.line_hz"),
        ];
        assert_eq!(SyntheticConfig::default().validate(), Ok(()));
        for (edit, field) in cases {
            let mut cfg = SyntheticConfig::default();
            edit(&mut cfg);
            let err = cfg.validate().unwrap_err();
            assert!(err.starts_with(field), "expected {field}: {err}");
            assert!(SyntheticEcog::new(&cfg).is_err());
        }
        let parsed: SyntheticConfig = toml::from_str("channels = 64\nseed = 9").unwrap();
        assert_eq!((parsed.channels, parsed.seed, parsed.grid_cols), (64, 9, 8));
        assert!(toml::from_str::<SyntheticConfig>("chanels = 64").is_err());
    }

    #[test]
    fn source_blocks_are_contiguous_and_end() {
        let cfg = SyntheticConfig {
            duration_s: 5.0,
            ..quiet_config(3, 3, 2)
        };
        let mut source = SyntheticSource::new(&cfg).unwrap();
        assert_eq!(source.block_samples(), 24);
        assert_eq!(source.labels().len(), 3);
        let mut next = 0;
        let mut markers = Vec::new();
        loop {
            match source.next_block() {
                Ok(block) => {
                    assert_eq!(block.first_index, next);
                    assert_eq!(block.source_time_s, next as f64 / cfg.rate_hz);
                    assert!(block.n_samples() == 24 || block.end_index() == 15259);
                    markers.extend_from_slice(source.last_markers());
                    next = block.end_index();
                }
                Err(SourceError::Ended) => break,
                Err(e) => panic!("{e}"),
            }
        }
        assert_eq!(Some(next), cfg.duration_samples());
        assert_eq!(markers, source.generator().truth().onset_samples);
        assert!(!markers.is_empty());
        assert!(matches!(source.next_block(), Err(SourceError::Ended)));
    }

    #[test]
    fn realtime_source_is_not_faster_than_the_clock() {
        let cfg = SyntheticConfig {
            duration_s: 0.2,
            realtime: true,
            ..quiet_config(2, 2, 1)
        };
        let mut source = SyntheticSource::new(&cfg).unwrap();
        let start = Instant::now();
        while source.next_block().is_ok() {}
        // Only a lower bound: pacing must never deliver data before it would exist.
        assert!(start.elapsed() >= Duration::from_secs_f64(0.2 * 0.95));
    }

    #[test]
    fn fill_does_not_allocate() {
        let cfg = SyntheticConfig {
            artifact_rate_per_min: 60.0,
            trial_interval_s: 1.0,
            n_bad_channels: 3,
            ..quiet_config(16, 4, 12)
        };
        let mut generator = SyntheticEcog::new(&cfg).unwrap();
        let mut out = vec![0.0f32; 4000 * cfg.channels];
        // Bites only where the test binary installs assert_no_alloc's AllocDisabler.
        assert_no_alloc::assert_no_alloc(|| {
            for _ in 0..10 {
                generator.fill(&mut out);
            }
        });
        assert!(
            generator
                .onsets_in(0, generator.next_sample_index())
                .count()
                >= 2
        );
    }
}
