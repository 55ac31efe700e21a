//! FFT resampling with exactly the semantics of `scipy.signal.resample` for real input.
//!
//! The offline high-gamma reference is defined by FFT resampling (periodic, brick-wall), so a
//! polyphase resampler would not reproduce it at the record's edges; this is why it is written
//! here on top of rustfft rather than taken from a resampling crate. Two real channels share one
//! complex FFT (real part / imaginary part), which halves the cost for lengths realfft cannot
//! split (odd lengths such as 60 s at 3051.76 Hz = 183 105 samples).

use rustfft::num_complex::Complex;
use rustfft::{Fft, FftPlanner};
use std::sync::Arc;

/// Planned resampler from `n_in` to `n_out` samples; reusable for any number of channels.
pub struct FftResampler {
    n_in: usize,
    n_out: usize,
    forward: Arc<dyn Fft<f32>>,
    inverse: Arc<dyn Fft<f32>>,
    spectrum: Vec<Complex<f32>>,
    out_spectrum: Vec<Complex<f32>>,
    scratch: Vec<Complex<f32>>,
    spare: Vec<f32>,
}

impl FftResampler {
    /// Plans the transforms; `n_in` and `n_out` must be at least 1.
    pub fn new(n_in: usize, n_out: usize) -> Self {
        let n_in = n_in.max(1);
        let n_out = n_out.max(1);
        let mut planner = FftPlanner::new();
        let forward = planner.plan_fft_forward(n_in);
        let inverse = planner.plan_fft_inverse(n_out);
        let scratch_len = forward
            .get_inplace_scratch_len()
            .max(inverse.get_inplace_scratch_len());
        Self {
            n_in,
            n_out,
            forward,
            inverse,
            spectrum: vec![Complex::default(); n_in],
            out_spectrum: vec![Complex::default(); n_out],
            scratch: vec![Complex::default(); scratch_len],
            spare: vec![0.0; n_out],
        }
    }

    /// Input length this resampler was planned for.
    pub fn n_in(&self) -> usize {
        self.n_in
    }

    /// Output length this resampler was planned for.
    pub fn n_out(&self) -> usize {
        self.n_out
    }

    /// Resamples two real series at once; `a`/`b` have `n_in` values, the outputs `n_out`.
    ///
    /// Inputs are read through an accessor so callers can feed strided or converted data.
    pub fn process_pair(
        &mut self,
        input: impl Fn(usize) -> (f32, f32),
        out_a: &mut [f32],
        out_b: &mut [f32],
    ) {
        let mut packed = std::mem::take(&mut self.spectrum);
        for (i, z) in packed.iter_mut().enumerate() {
            let (a, b) = input(i);
            *z = Complex::new(a, b);
        }
        self.process_packed(&mut packed, out_a, out_b);
        self.spectrum = packed;
    }

    /// Resamples two real series packed as `a + i·b` in `packed` (`n_in` values, overwritten).
    pub fn process_packed(
        &mut self,
        packed: &mut [Complex<f32>],
        out_a: &mut [f32],
        out_b: &mut [f32],
    ) {
        let (n, num) = (self.n_in, self.n_out);
        self.forward.process_with_scratch(packed, &mut self.scratch);
        // Relevant one-sided bins, as scipy: m = min(num, n), m2 = m/2 + 1.
        let m = num.min(n);
        let m2 = m / 2 + 1;
        let scale = num as f32 / n as f32;
        let unpaired = if m.is_multiple_of(2) && num != n {
            Some((m / 2, if num < n { 2.0 } else { 0.5 }))
        } else {
            None
        };
        self.out_spectrum.fill(Complex::default());
        for k in 0..m2.min(num / 2 + 1) {
            // Split the packed spectrum into the two real channels' spectra.
            let zk = packed[k];
            let zc = packed[(n - k) % n].conj();
            let mut xa = (zk + zc) * 0.5;
            let mut xb = (zk - zc) * Complex::new(0.0, -0.5);
            if let Some((bin, factor)) = unpaired
                && k == bin
            {
                xa *= factor;
                xb *= factor;
            }
            if k == 0 || (num.is_multiple_of(2) && k == num / 2) {
                // irfft ignores the imaginary part of DC and of an even length's Nyquist bin.
                xa.im = 0.0;
                xb.im = 0.0;
            }
            xa *= scale;
            xb *= scale;
            // Hermitian extension of each real spectrum, recombined as a + i b.
            let i_b = Complex::new(-xb.im, xb.re);
            self.out_spectrum[k] = xa + i_b;
            if k != 0 && !(num.is_multiple_of(2) && k == num / 2) {
                let i_bc = Complex::new(xb.im, xb.re); // i * conj(xb)
                self.out_spectrum[num - k] = xa.conj() + i_bc;
            }
        }
        self.inverse
            .process_with_scratch(&mut self.out_spectrum, &mut self.scratch);
        let norm = 1.0 / num as f32;
        for ((z, a), b) in self.out_spectrum.iter().zip(out_a).zip(out_b) {
            *a = z.re * norm;
            *b = z.im * norm;
        }
    }

    /// Resamples one real series of `n_in` values into `out` (`n_out` values).
    pub fn process(&mut self, input: &[f32], out: &mut [f32]) {
        let mut spare = std::mem::take(&mut self.spare);
        self.process_pair(|i| (input[i], 0.0), out, &mut spare);
        self.spare = spare;
    }
}

/// Resamples `x` to `num` samples (convenience wrapper that plans on every call).
pub fn resample(x: &[f32], num: usize) -> Vec<f32> {
    let mut r = FftResampler::new(x.len(), num);
    let mut out = vec![0.0; num];
    r.process(x, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive_resample(x: &[f64], num: usize) -> Vec<f64> {
        // Direct evaluation of scipy's definition with O(n^2) DFTs.
        let n = x.len();
        let m = num.min(n);
        let m2 = m / 2 + 1;
        let mut spec = vec![(0.0f64, 0.0f64); num / 2 + 1];
        for (k, s) in spec.iter_mut().enumerate().take(m2) {
            let (mut re, mut im) = (0.0, 0.0);
            for (t, &v) in x.iter().enumerate() {
                let w = -2.0 * std::f64::consts::PI * (k * t) as f64 / n as f64;
                re += v * w.cos();
                im += v * w.sin();
            }
            *s = (re, im);
        }
        if m.is_multiple_of(2) && num != n {
            let f = if num < n { 2.0 } else { 0.5 };
            spec[m / 2].0 *= f;
            spec[m / 2].1 *= f;
        }
        let scale = num as f64 / n as f64;
        (0..num)
            .map(|t| {
                let mut acc = 0.0;
                for (k, &(re, im)) in spec.iter().enumerate() {
                    let w = 2.0 * std::f64::consts::PI * (k * t) as f64 / num as f64;
                    let term = re * w.cos() - im * w.sin();
                    let edge = k == 0 || (num.is_multiple_of(2) && k == num / 2);
                    acc += if edge { re * w.cos() } else { 2.0 * term };
                }
                acc / num as f64 * scale
            })
            .collect()
    }

    #[test]
    fn matches_the_naive_definition_for_odd_and_even_lengths() {
        let mut seed = 7u64;
        for (n, num) in [
            (101, 40),
            (100, 40),
            (64, 17),
            (37, 80),
            (50, 50),
            (99, 33),
            (48, 96),
        ] {
            let x: Vec<f64> = (0..n)
                .map(|_| {
                    seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
                    (seed >> 33) as f64 / (1u64 << 31) as f64 - 0.5
                })
                .collect();
            let xf: Vec<f32> = x.iter().map(|&v| v as f32).collect();
            let fast = resample(&xf, num);
            let slow = naive_resample(&x, num);
            for (a, b) in fast.iter().zip(&slow) {
                assert!((*a as f64 - b).abs() < 1e-5, "n={n} num={num}: {a} vs {b}");
            }
        }
    }

    #[test]
    fn pair_equals_two_singles() {
        let a: Vec<f32> = (0..183).map(|i| ((i * 31) % 17) as f32).collect();
        let b: Vec<f32> = (0..183).map(|i| ((i * 7) % 11) as f32 - 3.0).collect();
        let mut r = FftResampler::new(183, 24);
        let (mut oa, mut ob) = (vec![0.0; 24], vec![0.0; 24]);
        r.process_pair(|i| (a[i], b[i]), &mut oa, &mut ob);
        let (sa, sb) = (resample(&a, 24), resample(&b, 24));
        for i in 0..24 {
            assert!((oa[i] - sa[i]).abs() < 1e-4 && (ob[i] - sb[i]).abs() < 1e-4);
        }
    }
}
