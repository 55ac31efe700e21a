//! Biquad IIR filters: designs (RBJ cookbook, Butterworth cascades), state and frequency response.
//!
//! Written here rather than taken from the `biquad` crate because the streaming front end needs
//! multichannel state laid out for speed, f64 coefficients, and the complex response of a whole
//! cascade to report group delay; the designs themselves are the textbook bilinear-transform ones.

use std::f64::consts::PI;

/// Normalised biquad coefficients: `y = b0 x + b1 x1 + b2 x2 - a1 y1 - a2 y2`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Biquad {
    /// Feed-forward coefficient of x\[n\].
    pub b0: f64,
    /// Feed-forward coefficient of x\[n-1\].
    pub b1: f64,
    /// Feed-forward coefficient of x\[n-2\].
    pub b2: f64,
    /// Feedback coefficient of y\[n-1\].
    pub a1: f64,
    /// Feedback coefficient of y\[n-2\].
    pub a2: f64,
}

impl Biquad {
    fn from_raw(b: [f64; 3], a: [f64; 3]) -> Self {
        Self {
            b0: b[0] / a[0],
            b1: b[1] / a[0],
            b2: b[2] / a[0],
            a1: a[1] / a[0],
            a2: a[2] / a[0],
        }
    }

    /// Second-order low-pass with cut-off `f_hz` and quality `q` (RBJ cookbook).
    pub fn lowpass(f_hz: f64, q: f64, fs_hz: f64) -> Self {
        let w = 2.0 * PI * f_hz / fs_hz;
        let (s, c) = w.sin_cos();
        let alpha = s / (2.0 * q);
        Self::from_raw(
            [(1.0 - c) / 2.0, 1.0 - c, (1.0 - c) / 2.0],
            [1.0 + alpha, -2.0 * c, 1.0 - alpha],
        )
    }

    /// Second-order high-pass with cut-off `f_hz` and quality `q` (RBJ cookbook).
    pub fn highpass(f_hz: f64, q: f64, fs_hz: f64) -> Self {
        let w = 2.0 * PI * f_hz / fs_hz;
        let (s, c) = w.sin_cos();
        let alpha = s / (2.0 * q);
        Self::from_raw(
            [(1.0 + c) / 2.0, -(1.0 + c), (1.0 + c) / 2.0],
            [1.0 + alpha, -2.0 * c, 1.0 - alpha],
        )
    }

    /// Second-order band-pass (0 dB peak) centred on `f_hz` with quality `q` (RBJ cookbook).
    pub fn bandpass(f_hz: f64, q: f64, fs_hz: f64) -> Self {
        let w = 2.0 * PI * f_hz / fs_hz;
        let (s, c) = w.sin_cos();
        let alpha = s / (2.0 * q);
        Self::from_raw([alpha, 0.0, -alpha], [1.0 + alpha, -2.0 * c, 1.0 - alpha])
    }

    /// Notch at `f_hz` with quality `q` (RBJ cookbook); -3 dB width is `f_hz / q`.
    pub fn notch(f_hz: f64, q: f64, fs_hz: f64) -> Self {
        let w = 2.0 * PI * f_hz / fs_hz;
        let (s, c) = w.sin_cos();
        let alpha = s / (2.0 * q);
        Self::from_raw([1.0, -2.0 * c, 1.0], [1.0 + alpha, -2.0 * c, 1.0 - alpha])
    }

    /// Complex response at `f_hz` as `(re, im)`.
    pub fn response(&self, f_hz: f64, fs_hz: f64) -> (f64, f64) {
        let w = 2.0 * PI * f_hz / fs_hz;
        // z^-1 = e^{-jw}
        let (c1, s1) = (w.cos(), -w.sin());
        let (c2, s2) = ((2.0 * w).cos(), -(2.0 * w).sin());
        let num = (
            self.b0 + self.b1 * c1 + self.b2 * c2,
            self.b1 * s1 + self.b2 * s2,
        );
        let den = (
            1.0 + self.a1 * c1 + self.a2 * c2,
            self.a1 * s1 + self.a2 * s2,
        );
        let d = den.0 * den.0 + den.1 * den.1;
        (
            (num.0 * den.0 + num.1 * den.1) / d,
            (num.1 * den.0 - num.0 * den.1) / d,
        )
    }
}

/// Q values of the second-order sections of an even-order Butterworth filter.
pub fn butterworth_qs(order: usize) -> Vec<f64> {
    let n = order.max(2) / 2 * 2;
    (0..n / 2)
        .map(|k| 1.0 / (2.0 * (PI * (2 * k + 1) as f64 / (2 * n) as f64).sin()))
        .collect()
}

/// Butterworth low-pass of even `order` as a cascade of biquads.
pub fn butterworth_lowpass(order: usize, f_hz: f64, fs_hz: f64) -> Vec<Biquad> {
    butterworth_qs(order)
        .into_iter()
        .map(|q| Biquad::lowpass(f_hz, q, fs_hz))
        .collect()
}

/// Butterworth high-pass of even `order` as a cascade of biquads.
pub fn butterworth_highpass(order: usize, f_hz: f64, fs_hz: f64) -> Vec<Biquad> {
    butterworth_qs(order)
        .into_iter()
        .map(|q| Biquad::highpass(f_hz, q, fs_hz))
        .collect()
}

/// Complex response of a cascade at `f_hz` as `(re, im)`.
pub fn cascade_response(sections: &[Biquad], f_hz: f64, fs_hz: f64) -> (f64, f64) {
    sections.iter().fold((1.0, 0.0), |(re, im), s| {
        let (r, i) = s.response(f_hz, fs_hz);
        (re * r - im * i, re * i + im * r)
    })
}

/// Group delay of a cascade at `f_hz`, in seconds (numerical derivative of the unwrapped phase).
pub fn cascade_group_delay_s(sections: &[Biquad], f_hz: f64, fs_hz: f64) -> f64 {
    let df = 1e-3;
    let lo = (f_hz - df).max(0.0);
    let hi = f_hz + df;
    let (r0, i0) = cascade_response(sections, lo, fs_hz);
    let (r1, i1) = cascade_response(sections, hi, fs_hz);
    // Phase difference via the product with the conjugate avoids unwrapping problems.
    let dphi = (i1 * r0 - r1 * i0).atan2(r1 * r0 + i1 * i0);
    -dphi / (2.0 * PI * (hi - lo))
}

/// Direct-form II transposed state of one biquad for one channel.
#[derive(Debug, Clone, Copy, Default)]
pub struct BiquadState {
    s1: f64,
    s2: f64,
}

impl BiquadState {
    /// Filters one sample.
    #[inline]
    pub fn step(&mut self, f: &Biquad, x: f64) -> f64 {
        let y = f.b0 * x + self.s1;
        self.s1 = f.b1 * x - f.a1 * y + self.s2;
        self.s2 = f.b2 * x - f.a2 * y;
        y
    }
}

/// Second-order Bessel low-pass, magnitude-normalised so that it is -3 dB at `f_hz`.
///
/// A Bessel section has the flattest group delay of any second-order low-pass, so an envelope
/// smoothed by it keeps its shape (no ringing) at the smallest delay for its attenuation.
pub fn bessel2_lowpass(f_hz: f64, fs_hz: f64) -> Biquad {
    // Analog prototype 3 / (s^2 + 3 s + 3): natural frequency sqrt(3), Q = 1/sqrt(3). Its -3 dB
    // point solves w^4 + 3 w^2 - 9 = 0; scale the natural frequency so that point lands on f_hz.
    let w3db = ((-3.0 + 45.0f64.sqrt()) / 2.0).sqrt();
    let natural_hz = f_hz * 3.0f64.sqrt() / w3db;
    Biquad::lowpass(natural_hz, 1.0 / 3.0f64.sqrt(), fs_hz)
}

/// Magnitude of a cascade's response at `f_hz`.
pub fn cascade_magnitude(sections: &[Biquad], f_hz: f64, fs_hz: f64) -> f64 {
    let (re, im) = cascade_response(sections, f_hz, fs_hz);
    re.hypot(im)
}

/// A biquad cascade applied to many independent lanes (channels) with lane-innermost state.
///
/// State is stored section-major, lane-minor (`s1[section * lanes + lane]`), so the per-sample
/// inner loop runs over contiguous lanes with no dependency between them and vectorises; the
/// sections are fixed at construction, so there is no per-sample dispatch.
#[derive(Debug, Clone)]
pub struct LaneCascade {
    sections: Vec<Biquad>,
    lanes: usize,
    s1: Vec<f64>,
    s2: Vec<f64>,
}

impl LaneCascade {
    /// Builds a cascade of `sections` over `lanes` independent lanes, with zero state.
    pub fn new(sections: Vec<Biquad>, lanes: usize) -> Self {
        let n = sections.len() * lanes;
        Self {
            sections,
            lanes,
            s1: vec![0.0; n],
            s2: vec![0.0; n],
        }
    }

    /// The sections, in processing order.
    pub fn sections(&self) -> &[Biquad] {
        &self.sections
    }

    /// Number of lanes.
    pub fn lanes(&self) -> usize {
        self.lanes
    }

    /// Filters one time sample of every lane in place; `x` holds one value per lane.
    ///
    /// Extra values beyond `lanes` are left untouched; a shorter `x` filters only its lanes.
    #[inline]
    pub fn process(&mut self, x: &mut [f64]) {
        let lanes = self.lanes;
        for (k, f) in self.sections.iter().enumerate() {
            let s1 = &mut self.s1[k * lanes..(k + 1) * lanes];
            let s2 = &mut self.s2[k * lanes..(k + 1) * lanes];
            // Same arithmetic, in the same order, as `BiquadState::step` (direct form II transposed).
            for ((v, a), b) in x.iter_mut().zip(s1.iter_mut()).zip(s2.iter_mut()) {
                let xin = *v;
                let y = f.b0 * xin + *a;
                *a = f.b1 * xin - f.a1 * y + *b;
                *b = f.b2 * xin - f.a2 * y;
                *v = y;
            }
        }
    }

    /// Clears the state of every lane.
    pub fn reset(&mut self) {
        self.s1.fill(0.0);
        self.s2.fill(0.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn magnitude(sections: &[Biquad], f: f64, fs: f64) -> f64 {
        let (r, i) = cascade_response(sections, f, fs);
        (r * r + i * i).sqrt()
    }

    #[test]
    fn butterworth_is_3db_down_at_cutoff() {
        let fs = 3051.7578125;
        for order in [2, 4, 8] {
            let lp = butterworth_lowpass(order, 150.0, fs);
            assert!((magnitude(&lp, 150.0, fs) - 0.5f64.sqrt()).abs() < 1e-9);
            assert!((magnitude(&lp, 0.0, fs) - 1.0).abs() < 1e-12);
            let hp = butterworth_highpass(order, 70.0, fs);
            assert!((magnitude(&hp, 70.0, fs) - 0.5f64.sqrt()).abs() < 1e-9);
        }
    }

    #[test]
    fn notch_removes_its_frequency() {
        let fs = 3051.7578125;
        let n = [Biquad::notch(60.0, 30.0, fs)];
        assert!(magnitude(&n, 60.0, fs) < 1e-9);
        assert!((magnitude(&n, 110.0, fs) - 1.0).abs() < 0.01);
    }

    #[test]
    fn state_matches_response_for_a_tone() {
        let fs = 1000.0;
        let f = Biquad::lowpass(50.0, std::f64::consts::FRAC_1_SQRT_2, fs);
        let mut st = BiquadState::default();
        let tone = 30.0;
        let mut peak: f64 = 0.0;
        for n in 0..5000 {
            let y = st.step(&f, (2.0 * PI * tone * n as f64 / fs).sin());
            if n > 4000 {
                peak = peak.max(y.abs());
            }
        }
        assert!((peak - magnitude(&[f], tone, fs)).abs() < 1e-3);
    }

    #[test]
    fn group_delay_of_a_pure_delay_like_lowpass_is_positive() {
        let lp = butterworth_lowpass(4, 40.0, 3051.7578125);
        let gd = cascade_group_delay_s(&lp, 0.0, 3051.7578125);
        // Analog 4th-order Butterworth: tau(0) = 2.6131 / (2 pi fc).
        let analog = 2.6131259 / (2.0 * PI * 40.0);
        assert!((gd - analog).abs() / analog < 0.02, "{gd} vs {analog}");
    }

    #[test]
    fn lane_cascade_matches_per_channel_states() {
        let fs = 3051.7578125;
        let mut sections = butterworth_highpass(2, 70.0, fs);
        sections.extend(butterworth_lowpass(4, 150.0, fs));
        let lanes = 7;
        let mut fast = LaneCascade::new(sections.clone(), lanes);
        let mut naive = vec![vec![BiquadState::default(); sections.len()]; lanes];
        let mut rng = 0x1234_5678u64;
        for _ in 0..2000 {
            let mut x: Vec<f64> = (0..lanes)
                .map(|_| {
                    rng = rng
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    (rng >> 11) as f64 / (1u64 << 53) as f64 - 0.5
                })
                .collect();
            let expected: Vec<f64> = x
                .iter()
                .zip(naive.iter_mut())
                .map(|(&v, st)| {
                    st.iter_mut()
                        .zip(&sections)
                        .fold(v, |acc, (s, f)| s.step(f, acc))
                })
                .collect();
            fast.process(&mut x);
            assert_eq!(x, expected);
        }
    }

    #[test]
    fn bessel2_is_3db_down_at_cutoff_and_flat_in_delay() {
        let fs = 3051.7578125;
        let b = [bessel2_lowpass(30.0, fs)];
        assert!((cascade_magnitude(&b, 30.0, fs) - 0.5f64.sqrt()).abs() < 2e-3);
        assert!((cascade_magnitude(&b, 0.0, fs) - 1.0).abs() < 1e-12);
        // Analog prototype 3 / (s^2 + 3 s + 3) has tau(0) = 1 s with its -3 dB point at 1.36165 rad/s.
        let gd0 = cascade_group_delay_s(&b, 0.0, fs);
        let analog = 1.36165 / (2.0 * PI * 30.0);
        assert!((gd0 - analog).abs() / analog < 0.01, "{gd0} vs {analog}");
        let gd_c = cascade_group_delay_s(&b, 30.0, fs);
        assert!((gd_c - gd0).abs() / gd0 < 0.2, "{gd_c} vs {gd0}");
    }
}
