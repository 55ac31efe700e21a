//! Common average reference: per time sample, subtract the (trimmed) mean over good channels.

/// How the common average is computed.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CarMode {
    /// No re-referencing.
    None,
    /// Plain mean over good channels.
    Mean,
    /// Mean of the middle 95 % of good channels (Chang lab): drop `ceil(n * 0.05 / 2)` at each end.
    Trimmed95,
}

/// Number of channels dropped at each end by the trimmed mean over `n_good` channels.
pub fn trim_count(n_good: usize) -> usize {
    ((n_good as f64) * (1.0 - 0.95) / 2.0).ceil() as usize
}

/// Re-references one time sample in place; `good` marks channels that enter the average.
///
/// `scratch` must hold at least as many values as there are channels; no allocation happens.
/// Bad channels are re-referenced too (so they stay comparable) but do not shape the average.
pub fn car_sample(mode: CarMode, sample: &mut [f32], good: &[bool], scratch: &mut [f32]) {
    if mode == CarMode::None {
        return;
    }
    let mut n = 0;
    for (&v, &g) in sample.iter().zip(good) {
        if g {
            scratch[n] = v;
            n += 1;
        }
    }
    if n == 0 {
        return;
    }
    let values = &mut scratch[..n];
    let reference = match mode {
        CarMode::Mean => mean_f64(values),
        CarMode::Trimmed95 => trimmed_mean(values, trim_count(n)),
        CarMode::None => 0.0,
    };
    let reference = reference as f32;
    for v in sample.iter_mut() {
        *v -= reference;
    }
}

fn mean_f64(values: &[f32]) -> f64 {
    values.iter().map(|&v| v as f64).sum::<f64>() / values.len() as f64
}

/// Mean of `values` after dropping the `k` smallest and `k` largest; reorders `values`.
pub fn trimmed_mean(values: &mut [f32], k: usize) -> f64 {
    let n = values.len();
    if 2 * k >= n {
        return mean_f64(values);
    }
    // Partition so that the k smallest sit in [0, k) and the k largest in [n-k, n).
    if k > 0 {
        values.select_nth_unstable_by(k - 1, |a, b| a.total_cmp(b));
        let rest = &mut values[k..];
        let m = rest.len();
        rest.select_nth_unstable_by(m - k, |a, b| a.total_cmp(b));
    }
    mean_f64(&values[k..n - k])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trimmed_mean_matches_sorting() {
        let mut rng = 12345u64;
        for n in [5usize, 17, 64, 128, 256] {
            let mut v: Vec<f32> = (0..n)
                .map(|_| {
                    rng = rng
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    (rng >> 40) as f32 / 1000.0 - 8000.0
                })
                .collect();
            let k = trim_count(n);
            let mut sorted = v.clone();
            sorted.sort_by(|a, b| a.total_cmp(b));
            let naive =
                sorted[k..n - k].iter().map(|&x| x as f64).sum::<f64>() / (n - 2 * k) as f64;
            let fast = trimmed_mean(&mut v, k);
            assert!((naive - fast).abs() < 1e-9 * naive.abs().max(1.0), "n={n}");
        }
    }

    #[test]
    fn trim_counts_follow_the_spec() {
        assert_eq!(trim_count(256), 7);
        assert_eq!(trim_count(128), 4);
    }

    #[test]
    fn bad_channels_do_not_shape_the_average() {
        let mut s = [1.0f32, 2.0, 3.0, 1000.0];
        let good = [true, true, true, false];
        let mut scratch = [0.0; 4];
        car_sample(CarMode::Mean, &mut s, &good, &mut scratch);
        assert_eq!(s, [-1.0, 0.0, 1.0, 998.0]);
    }
}
