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
        let num = (self.b0 + self.b1 * c1 + self.b2 * c2, self.b1 * s1 + self.b2 * s2);
        let den = (1.0 + self.a1 * c1 + self.a2 * c2, self.a1 * s1 + self.a2 * s2);
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
        let f = Biquad::lowpass(50.0, 0.7071, fs);
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
}
