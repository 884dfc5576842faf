//! Small statistics the reports need: median, quantiles, and a seeded bootstrap interval
//! that tells a real change from run-to-run noise.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// Seed of every bootstrap, so the same inputs always give the same interval.
pub const BOOTSTRAP_SEED: u64 = 0x7467_6265_6e63_6821; // "tgbench!"
/// Resamples per bootstrap interval.
pub const BOOTSTRAP_RESAMPLES: usize = 4000;

/// Median (sorts in place). 0 for an empty slice.
pub fn median(values: &mut [f64]) -> f64 {
    quantile(values, 0.5)
}

/// Linear-interpolated quantile `q` in 0..=1 (sorts in place). 0 for an empty slice.
pub fn quantile(values: &mut [f64], q: f64) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    values.sort_by(f64::total_cmp);
    let pos = q.clamp(0.0, 1.0) * (values.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = pos.ceil() as usize;
    values[lo] + (values[hi] - values[lo]) * (pos - lo as f64)
}

pub fn mean(values: &[f64]) -> f64 {
    if values.is_empty() {
        0.0
    } else {
        values.iter().sum::<f64>() / values.len() as f64
    }
}

/// A 95 % percentile-bootstrap interval of the relative change of the mean,
/// `mean(current) / mean(baseline) - 1`, resampling each side with replacement
/// ([`BOOTSTRAP_RESAMPLES`] times, seeded with [`BOOTSTRAP_SEED`]). `None` when a side is
/// empty or a resampled baseline mean is 0.
pub fn bootstrap_relative_change(baseline: &[f64], current: &[f64]) -> Option<(f64, f64)> {
    if baseline.is_empty() || current.is_empty() {
        return None;
    }
    let mut rng = StdRng::seed_from_u64(BOOTSTRAP_SEED);
    let mut changes = Vec::with_capacity(BOOTSTRAP_RESAMPLES);
    let resample_mean = |side: &[f64], rng: &mut StdRng| {
        (0..side.len())
            .map(|_| side[rng.gen_range(0..side.len())])
            .sum::<f64>()
            / side.len() as f64
    };
    for _ in 0..BOOTSTRAP_RESAMPLES {
        let b = resample_mean(baseline, &mut rng);
        let c = resample_mean(current, &mut rng);
        if b == 0.0 {
            return None;
        }
        changes.push(c / b - 1.0);
    }
    Some((quantile(&mut changes, 0.025), quantile(&mut changes, 0.975)))
}

/// A 95 % percentile-bootstrap interval of the median of `values` (seeded like
/// [`bootstrap_relative_change`]). `None` for an empty slice.
pub fn bootstrap_median(values: &[f64]) -> Option<(f64, f64)> {
    if values.is_empty() {
        return None;
    }
    let mut rng = StdRng::seed_from_u64(BOOTSTRAP_SEED);
    let mut medians = Vec::with_capacity(BOOTSTRAP_RESAMPLES);
    let mut resample = vec![0.0; values.len()];
    for _ in 0..BOOTSTRAP_RESAMPLES {
        for r in resample.iter_mut() {
            *r = values[rng.gen_range(0..values.len())];
        }
        medians.push(median(&mut resample));
    }
    Some((quantile(&mut medians, 0.025), quantile(&mut medians, 0.975)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bootstrap_median_spans_the_runs_spread() {
        // Three runs: resampled medians are one of the three values (or their mix).
        let (lo, hi) = bootstrap_median(&[0.7, 0.9, 3.0]).unwrap();
        assert!(lo <= 0.7 + 1e-9 && hi >= 0.9, "{lo} {hi}");
        assert!(hi <= 3.0 + 1e-9);
        // Identical runs: no spread.
        assert_eq!(bootstrap_median(&[2.0, 2.0, 2.0]), Some((2.0, 2.0)));
        assert_eq!(bootstrap_median(&[]), None);
    }

    #[test]
    fn quantiles_interpolate() {
        assert_eq!(median(&mut [3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&mut [1.0, 2.0, 3.0, 4.0]), 2.5);
        assert_eq!(quantile(&mut [0.0, 10.0], 0.95), 9.5);
        assert_eq!(median(&mut []), 0.0);
    }

    #[test]
    fn bootstrap_separates_a_clear_shift_from_noise() {
        let base = [100.0, 101.0, 99.0, 100.5];
        let slower = [130.0, 131.0, 129.0, 130.5];
        let (lo, hi) = bootstrap_relative_change(&base, &slower).unwrap();
        assert!(lo > 0.2 && hi < 0.4, "{lo} {hi}");
        let noisy_base = [80.0, 120.0, 100.0];
        let noisy_cur = [90.0, 135.0, 105.0];
        let (lo, hi) = bootstrap_relative_change(&noisy_base, &noisy_cur).unwrap();
        assert!(lo < 0.0 && hi > 0.0, "{lo} {hi}");
    }

    #[test]
    fn bootstrap_is_deterministic() {
        let a = [1.0, 2.0, 3.0];
        let b = [2.0, 3.0, 5.0];
        assert_eq!(
            bootstrap_relative_change(&a, &b),
            bootstrap_relative_change(&a, &b)
        );
        assert_eq!(bootstrap_relative_change(&[], &b), None);
    }
}
