//! `[load] diurnal`: a daily curve that modulates a Poisson-based load (quiet nights, an
//! evening peak), with time compression so a day fits in minutes.
//!
//! The curve is a multiplier of the load's rate whose mean over a whole day is 1, so
//! `messages_per_bot_per_min` stays the day's average. Either a cosine between a trough and
//! a peak (`peak_hour`, `trough_ratio` = trough ÷ peak), or 24 hourly weights (`hours`,
//! any non-negative numbers, scaled to a mean of 1; each hour flat). `day_s` is how many
//! seconds of the run one day lasts (86,400 = real time, 600 = a day in ten minutes) and
//! `start_hour` the hour of the day each phase begins at.

use serde::{Deserialize, Serialize};

/// Seconds in a real day.
pub const REAL_DAY_S: f64 = 86_400.0;

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Diurnal {
    /// Hour of the day (0-24) with the most traffic (cosine shape).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peak_hour: Option<f64>,
    /// Traffic at the trough as a share of the peak, > 0 and ≤ 1 (cosine shape).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trough_ratio: Option<f64>,
    /// 24 hourly weights instead of the cosine (hour 0 first).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hours: Option<Vec<f64>>,
    /// Seconds of the run one day lasts.
    #[serde(default = "real_day")]
    pub day_s: f64,
    /// Hour of the day at which each phase starts.
    #[serde(default)]
    pub start_hour: f64,
}

fn real_day() -> f64 {
    REAL_DAY_S
}

impl Diurnal {
    /// The hour of the day `t_s` seconds into a phase.
    fn hour_at(&self, t_s: f64) -> f64 {
        (self.start_hour + t_s / self.day_s * 24.0).rem_euclid(24.0)
    }

    /// The rate multiplier at hour `h` (mean 1 over a day).
    fn at_hour(&self, h: f64) -> f64 {
        if let Some(hours) = &self.hours {
            let mean = hours.iter().sum::<f64>() / 24.0;
            let i = (h.floor() as usize).min(23);
            return if mean > 0.0 { hours[i] / mean } else { 0.0 };
        }
        let peak = self.peak_hour.unwrap_or(20.0);
        let r = self.trough_ratio.unwrap_or(1.0);
        let shape = r + (1.0 - r) * (1.0 + (std::f64::consts::TAU * (h - peak) / 24.0).cos()) / 2.0;
        // The cosine's mean over a day is (1 + r) / 2.
        shape * 2.0 / (1.0 + r)
    }

    /// The rate multiplier `t_s` seconds into a phase.
    pub fn multiplier(&self, t_s: f64) -> f64 {
        self.at_hour(self.hour_at(t_s))
    }

    /// The largest multiplier of the day (the peak).
    pub fn max_multiplier(&self) -> f64 {
        match &self.hours {
            Some(_) => (0..24).map(|h| self.at_hour(h as f64)).fold(0.0, f64::max),
            None => {
                let r = self.trough_ratio.unwrap_or(1.0);
                2.0 / (1.0 + r)
            }
        }
    }

    /// The mean multiplier over the first `duration_s` seconds of a phase (1 over whole
    /// days): what the phase's expected message count is scaled by.
    pub fn mean_over(&self, duration_s: f64) -> f64 {
        if duration_s <= 0.0 {
            return self.multiplier(0.0);
        }
        // Midpoint rule at 1,000 steps an hour of the curve (at least 24,000): within 0.1 %
        // for the cosine and for hourly weights (whose edges cost at most a step each).
        let steps = ((duration_s / self.day_s * 24_000.0).ceil() as usize).clamp(24_000, 2_000_000);
        let dt = duration_s / steps as f64;
        (0..steps)
            .map(|i| self.multiplier((i as f64 + 0.5) * dt))
            .sum::<f64>()
            / steps as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cosine(peak: f64, trough: f64) -> Diurnal {
        Diurnal {
            peak_hour: Some(peak),
            trough_ratio: Some(trough),
            hours: None,
            day_s: 2400.0,
            start_hour: 0.0,
        }
    }

    #[test]
    fn the_cosine_peaks_at_its_hour_and_keeps_a_mean_of_one() {
        let d = cosine(20.0, 0.1);
        // 2,400 s a day: hour h is at t = 100 h.
        let peak = d.multiplier(2000.0);
        let trough = d.multiplier(800.0);
        assert!((peak - d.max_multiplier()).abs() < 1e-9);
        assert!((trough / peak - 0.1).abs() < 1e-9, "{trough} / {peak}");
        assert!((d.mean_over(2400.0) - 1.0).abs() < 1e-3);
        assert!((d.mean_over(4800.0) - 1.0).abs() < 1e-3);
        // The morning trough's half of the day is quieter than the evening's.
        assert!(d.mean_over(1200.0) < 1.0);
    }

    #[test]
    fn hourly_weights_are_flat_within_an_hour_and_scaled_to_a_mean_of_one() {
        let mut hours = vec![1.0; 24];
        hours[20] = 25.0; // a mean of 2: hour 20 is 12.5, the others 0.5
        let d = Diurnal {
            hours: Some(hours),
            peak_hour: None,
            trough_ratio: None,
            day_s: 2400.0,
            start_hour: 18.0,
        };
        // Starting at 18:00, hour 20 is 200-300 s in.
        assert!((d.multiplier(250.0) - 12.5).abs() < 1e-9);
        assert!((d.multiplier(10.0) - 0.5).abs() < 1e-9);
        assert!((d.max_multiplier() - 12.5).abs() < 1e-9);
        assert!((d.mean_over(2400.0) - 1.0).abs() < 1e-3);
    }

    #[test]
    fn a_flat_curve_changes_nothing() {
        let d = cosine(20.0, 1.0);
        for t in [0.0, 300.0, 1234.0] {
            assert!((d.multiplier(t) - 1.0).abs() < 1e-12);
        }
    }
}
