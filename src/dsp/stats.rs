//! Small statistics used across stages: z-scoring, Pearson correlation, lagged fidelity.

/// Mean and population standard deviation (ddof = 0) of the finite values; NaN ignored.
pub fn mean_std(values: impl IntoIterator<Item = f64> + Clone) -> (f64, f64) {
    let (mut n, mut sum) = (0usize, 0.0f64);
    for v in values.clone() {
        if v.is_finite() {
            n += 1;
            sum += v;
        }
    }
    if n == 0 {
        return (f64::NAN, f64::NAN);
    }
    let mean = sum / n as f64;
    let var = values
        .into_iter()
        .filter(|v| v.is_finite())
        .map(|v| (v - mean) * (v - mean))
        .sum::<f64>()
        / n as f64;
    (mean, var.sqrt())
}

/// Z-scores each column of a `[rows, cols]` row-major buffer in place (ddof = 0, NaN-aware).
///
/// A column with zero variance becomes all zeros rather than NaN.
pub fn zscore_columns(data: &mut [f32], cols: usize) {
    if cols == 0 {
        return;
    }
    let rows = data.len() / cols;
    for c in 0..cols {
        let col = (0..rows).map(|r| data[r * cols + c] as f64);
        let (mean, std) = mean_std(col);
        for r in 0..rows {
            let v = &mut data[r * cols + c];
            *v = if std > 0.0 && std.is_finite() {
                ((*v as f64 - mean) / std) as f32
            } else {
                0.0
            };
        }
    }
}

/// Pearson correlation of two equally long series; NaN if either is constant.
pub fn pearson(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len().min(b.len());
    if n < 2 {
        return f64::NAN;
    }
    let (a, b) = (&a[..n], &b[..n]);
    let ma = a.iter().sum::<f64>() / n as f64;
    let mb = b.iter().sum::<f64>() / n as f64;
    let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
    for (&x, &y) in a.iter().zip(b) {
        let (dx, dy) = (x - ma, y - mb);
        sab += dx * dy;
        saa += dx * dx;
        sbb += dy * dy;
    }
    sab / (saa * sbb).sqrt()
}

/// Pearson r of `delayed[t + lag]` against `reference[t]` for the lag in `0..=max_lag` that
/// maximises it; returns `(best_lag, r)`. Used to score a causal estimate against an offline one.
pub fn best_lag_correlation(reference: &[f64], delayed: &[f64], max_lag: usize) -> (usize, f64) {
    let mut best = (0, f64::NEG_INFINITY);
    for lag in 0..=max_lag.min(delayed.len().saturating_sub(2)) {
        let n = reference.len().min(delayed.len() - lag);
        let r = pearson(&reference[..n], &delayed[lag..lag + n]);
        if r > best.1 {
            best = (lag, r);
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pearson_of_affine_copy_is_one() {
        let a: Vec<f64> = (0..100).map(|i| ((i * 37) % 11) as f64).collect();
        let b: Vec<f64> = a.iter().map(|x| 3.0 * x - 2.0).collect();
        assert!((pearson(&a, &b) - 1.0).abs() < 1e-12);
    }

    #[test]
    fn best_lag_finds_a_shift() {
        let a: Vec<f64> = (0..500).map(|i| ((i * i * 7919) % 101) as f64).collect();
        let mut d = vec![0.0; 3];
        d.extend_from_slice(&a);
        let (lag, r) = best_lag_correlation(&a, &d, 10);
        assert_eq!(lag, 3);
        assert!(r > 0.999);
    }

    #[test]
    fn zscore_handles_constant_columns() {
        let mut d = vec![1.0f32, 5.0, 2.0, 5.0, 3.0, 5.0];
        zscore_columns(&mut d, 2);
        assert!((d[0] + 1.2247449).abs() < 1e-5);
        assert_eq!(d[1], 0.0);
    }
}
