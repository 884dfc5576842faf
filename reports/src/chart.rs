//! Hand-built SVG charts for the HTML report: no script, no font, no external file.
//!
//! Every chart has a title, labelled axes with units, and a legend, and is drawn in a
//! `viewBox` so it scales to the page (a phone or a laptop). Two shapes cover the report:
//! [`LineChart`] (time series, capacity curves, latency distributions; optional log axes,
//! labelled ticks of its own, shared axis ranges for small multiples and shaded bands for
//! fault windows) and [`StackedBars`] (horizontal stacked bars). All text is escaped.

use std::fmt::Write as _;

use crate::text::{axis, escape, num};

/// Colour-blind-safe palette (Okabe & Ito), then Paul Tol's muted colours: 12 before a
/// colour repeats.
pub const PALETTE: [&str; 12] = [
    "#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#882255",
    "#44AA99", "#999933", "#6F6F6F", "#332288",
];

/// Estimated width of a legend entry: swatch, gap and text at 12 px.
fn legend_width(name: &str) -> f64 {
    28.0 + 7.4 * name.chars().count() as f64
}

/// The colour of series number `i`.
pub fn color(i: usize) -> &'static str {
    PALETTE[i % PALETTE.len()]
}

const W: f64 = 480.0;
/// Width of a small multiple: several sit side by side, and text keeps its size.
pub const SMALL_W: f64 = 330.0;
const LEFT: f64 = 58.0;
const RIGHT: f64 = 18.0;
const TOP: f64 = 34.0;
const PLOT_H: f64 = 200.0;
const AXIS_H: f64 = 44.0;
const LEGEND_ROW: f64 = 18.0;

/// A y (or x) scale: linear from 0, or log10 by decades.
#[derive(Debug, Clone, Copy)]
struct Scale {
    lo: f64,
    hi: f64,
    log: bool,
}

impl Scale {
    fn linear(lo: f64, hi: f64) -> Self {
        let hi = if hi <= lo { lo + 1.0 } else { hi };
        let step = nice_step((hi - lo) / 5.0);
        Self {
            lo: (lo / step).floor() * step,
            hi: (hi / step).ceil() * step,
            log: false,
        }
    }

    /// Linear over exactly `lo..hi` (time axes end where the data ends); ticks inside.
    fn exact(lo: f64, hi: f64) -> Self {
        let hi = if hi <= lo { lo + 1.0 } else { hi };
        Self { lo, hi, log: false }
    }

    fn log(min_positive: f64, max: f64) -> Self {
        let lo = 10f64.powf(min_positive.max(1e-3).log10().floor());
        let mut hi = 10f64.powf(max.max(lo).log10().ceil());
        if hi <= lo {
            hi = lo * 10.0;
        }
        Self { lo, hi, log: true }
    }

    /// 0..1 position of `v` on the scale (clamped).
    fn frac(&self, v: f64) -> f64 {
        let f = if self.log {
            let v = v.max(self.lo);
            (v.log10() - self.lo.log10()) / (self.hi.log10() - self.lo.log10())
        } else {
            (v - self.lo) / (self.hi - self.lo)
        };
        f.clamp(0.0, 1.0)
    }

    /// Labelled ticks and unlabelled minor grid lines.
    fn ticks(&self) -> (Vec<f64>, Vec<f64>) {
        if self.log {
            let mut major = Vec::new();
            let mut minor = Vec::new();
            let mut d = self.lo;
            while d <= self.hi * 1.0001 {
                major.push(d);
                for m in [2.0, 5.0] {
                    if d * m < self.hi {
                        minor.push(d * m);
                    }
                }
                d *= 10.0;
            }
            let decades = major.len();
            if decades <= 3 {
                // Few decades: label 2 and 5 too, they help reading.
                major.append(&mut minor);
                major.sort_by(f64::total_cmp);
            }
            (major, minor)
        } else {
            let step = nice_step((self.hi - self.lo) / 5.0);
            let mut v = (self.lo / step).ceil() * step;
            let mut out = Vec::new();
            while v <= self.hi + step * 1e-6 {
                out.push((v / step).round() * step);
                v += step;
            }
            (out, Vec::new())
        }
    }
}

/// 1, 2 or 5 × 10^k nearest above `raw`.
fn nice_step(raw: f64) -> f64 {
    if raw <= 0.0 || !raw.is_finite() {
        return 1.0;
    }
    let mag = 10f64.powf(raw.log10().floor());
    let n = raw / mag;
    let m = if n <= 1.0 {
        1.0
    } else if n <= 2.0 {
        2.0
    } else if n <= 5.0 {
        5.0
    } else {
        10.0
    };
    m * mag
}

/// One line of a [`LineChart`].
#[derive(Debug, Clone, Default)]
pub struct Series {
    pub name: String,
    pub points: Vec<(f64, f64)>,
    /// Drawn dashed (e.g. the mock's own CPU beside the SUT's).
    pub dashed: bool,
    /// Draw a dot at each point; a point whose flag in `failed` is true is drawn as a cross.
    pub markers: bool,
    pub failed: Vec<bool>,
    /// Dots only, no line: marks of events (cold starts) rather than a level.
    pub marks_only: bool,
    /// Palette index.
    pub color: usize,
}

/// Points a time chart draws at most: more would be noise (CPU read every 250 ms moves in
/// 10 ms ticks, i.e. 0 or 4 %) and ink.
pub const MAX_POINTS: usize = 60;

/// How [`downsample`] folds the points of one time bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reduce {
    /// Rates such as CPU %: the mean.
    Mean,
    /// Peaks such as RSS or p99: the maximum.
    Max,
}

/// At most [`MAX_POINTS`] points: x cut into equal buckets, each drawn at its mean x.
pub fn downsample(points: impl IntoIterator<Item = (f64, f64)>, reduce: Reduce) -> Vec<(f64, f64)> {
    let points: Vec<(f64, f64)> = points.into_iter().collect();
    if points.len() <= MAX_POINTS {
        return points;
    }
    let lo = points.iter().map(|p| p.0).fold(f64::INFINITY, f64::min);
    let hi = points.iter().map(|p| p.0).fold(f64::NEG_INFINITY, f64::max);
    let width = ((hi - lo) / MAX_POINTS as f64).max(f64::MIN_POSITIVE);
    // (sum of x, folded y, count) per bucket.
    let mut buckets = vec![(0.0, 0.0, 0usize); MAX_POINTS];
    for (x, y) in points {
        let b = &mut buckets[(((x - lo) / width) as usize).min(MAX_POINTS - 1)];
        b.0 += x;
        b.1 = match reduce {
            Reduce::Mean => b.1 + y,
            Reduce::Max if b.2 == 0 => y,
            Reduce::Max => b.1.max(y),
        };
        b.2 += 1;
    }
    buckets
        .into_iter()
        .filter(|b| b.2 > 0)
        .map(|(sx, y, n)| {
            let y = if reduce == Reduce::Mean {
                y / n as f64
            } else {
                y
            };
            (sx / n as f64, y)
        })
        .collect()
}

/// Labelled ticks for a latency-distribution x axis, where x is `1 / (1 - p)`: 1 is the
/// 0th percentile, 10 the 90th, 100 the 99th, and so on by nines.
pub fn percentile_ticks() -> Vec<(f64, String)> {
    let mut ticks = vec![(1.0, "0%".to_owned()), (2.0, "50%".to_owned())];
    for nines in 1..=7 {
        let x = 10f64.powi(nines);
        let pct = 100.0 - 100.0 / x;
        let decimals = (nines - 2).max(0) as usize;
        ticks.push((x, format!("{pct:.decimals$}%")));
    }
    ticks
}

/// A shaded x range with a label (a fault window).
#[derive(Debug, Clone)]
pub struct Band {
    pub start: f64,
    pub end: f64,
    pub label: String,
}

#[derive(Debug, Clone, Default)]
pub struct LineChart {
    pub id: String,
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub log_y: bool,
    /// Log x axis (bot counts that grow geometrically); needs x > 0.
    pub log_x: bool,
    pub series: Vec<Series>,
    pub bands: Vec<Band>,
    /// Axis ranges fixed by the caller, so that small multiples share their axes: x as
    /// `(lo, hi)`, y up to `hi` (from 0, or from the data's lowest positive on a log axis).
    pub x_range: Option<(f64, f64)>,
    pub y_max: Option<f64>,
    /// x ticks with labels of their own (percentiles on a latency distribution), in place
    /// of the scale's numbers; those outside the axis are left out.
    pub x_ticks: Option<Vec<(f64, String)>>,
    /// viewBox width: [`SMALL_W`] for a small multiple; the standard width when `None`.
    pub width: Option<f64>,
}

struct Frame {
    svg: String,
    plot_w: f64,
}

/// A legend entry: name, colour, dashed.
type LegendItem = (String, &'static str, bool);

/// The y where the legend starts under a standard plot (axis and its label above).
const STANDARD_LEGEND_TOP: f64 = TOP + PLOT_H + AXIS_H + 4.0;

/// Opens an `<svg>` with its title and the legend (centred rows that wrap) from
/// `legend_top` down; the caller draws the plot above it.
fn frame(id: &str, title: &str, legend: &[LegendItem], legend_top: f64, width: f64) -> Frame {
    let plot_w = width - LEFT - RIGHT;
    // Legend layout: items flow left to right and wrap.
    let mut rows: Vec<Vec<(f64, &LegendItem)>> = vec![Vec::new()];
    let mut x = 0.0;
    for item in legend {
        let w = legend_width(&item.0);
        if x + w > width - 16.0 && x > 0.0 {
            rows.push(Vec::new());
            x = 0.0;
        }
        rows.last_mut().expect("one row").push((x, item));
        x += w;
    }
    let legend_rows = if legend.is_empty() { 0 } else { rows.len() };
    let height = legend_top + legend_rows as f64 * LEGEND_ROW + 4.0;
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg class="{class}" id="{id}" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img" aria-labelledby="{id}-title"><title id="{id}-title">{t}</title><text class="chart-title" x="{cx}" y="20" text-anchor="middle">{t}</text>"#,
        id = escape(id),
        t = escape(title),
        cx = width / 2.0,
        class = if width < W { "chart small" } else { "chart" },
    );
    let ly0 = legend_top;
    if legend_rows > 0 {
        svg.push_str(r#"<g class="legend">"#);
        for (r, row) in rows.iter().enumerate() {
            let row_w: f64 = row
                .last()
                .map(|(x, it)| x + legend_width(&it.0))
                .unwrap_or(0.0);
            let x0 = ((width - row_w) / 2.0).max(8.0);
            let y = ly0 + r as f64 * LEGEND_ROW;
            for (x, (name, color, dashed)) in row {
                let dash = if *dashed {
                    r#" stroke-dasharray="4 3""#
                } else {
                    ""
                };
                let _ = write!(
                    svg,
                    r#"<line x1="{a:.1}" y1="{y:.1}" x2="{b:.1}" y2="{y:.1}" stroke="{color}" stroke-width="4"{dash}/><text x="{tx:.1}" y="{ty:.1}">{n}</text>"#,
                    a = x0 + x,
                    b = x0 + x + 18.0,
                    tx = x0 + x + 22.0,
                    ty = y + 4.0,
                    n = escape(name),
                );
            }
        }
        svg.push_str("</g>");
    }
    Frame { svg, plot_w }
}

/// Horizontal grid, y tick labels and the rotated y axis label.
fn y_axis(svg: &mut String, scale: &Scale, plot_w: f64, label: &str) {
    let (major, minor) = scale.ticks();
    for v in minor {
        let y = TOP + PLOT_H * (1.0 - scale.frac(v));
        let _ = write!(
            svg,
            r#"<line class="grid minor" x1="{LEFT}" y1="{y:.1}" x2="{x2:.1}" y2="{y:.1}"/>"#,
            x2 = LEFT + plot_w
        );
    }
    for v in major {
        let y = TOP + PLOT_H * (1.0 - scale.frac(v));
        let _ = write!(
            svg,
            r#"<line class="grid" x1="{LEFT}" y1="{y:.1}" x2="{x2:.1}" y2="{y:.1}"/><text class="tick" x="{tx:.1}" y="{ty:.1}" text-anchor="end">{t}</text>"#,
            x2 = LEFT + plot_w,
            tx = LEFT - 6.0,
            ty = y + 4.0,
            t = escape(&axis(v)),
        );
    }
    let _ = write!(
        svg,
        r#"<text class="axis-label" transform="translate(14 {cy:.1}) rotate(-90)" text-anchor="middle">{l}</text><line class="axis" x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{yb}"/><line class="axis" x1="{LEFT}" y1="{yb}" x2="{xr:.1}" y2="{yb}"/>"#,
        cy = TOP + PLOT_H / 2.0,
        l = escape(label),
        yb = TOP + PLOT_H,
        xr = LEFT + plot_w,
    );
}

fn x_label(svg: &mut String, plot_w: f64, label: &str) {
    let _ = write!(
        svg,
        r#"<text class="axis-label" x="{cx:.1}" y="{y:.1}" text-anchor="middle">{l}</text>"#,
        cx = LEFT + plot_w / 2.0,
        y = TOP + PLOT_H + 36.0,
        l = escape(label),
    );
}

fn no_data(svg: &mut String, plot_w: f64) {
    let _ = write!(
        svg,
        r#"<text class="no-data" x="{x:.1}" y="{y:.1}" text-anchor="middle">no data</text>"#,
        x = LEFT + plot_w / 2.0,
        y = TOP + PLOT_H / 2.0
    );
}

impl LineChart {
    pub fn to_svg(&self) -> String {
        let legend: Vec<_> = self
            .series
            .iter()
            .map(|s| (s.name.clone(), color(s.color), s.dashed))
            .collect();
        let width = self.width.unwrap_or(W);
        let Frame { mut svg, plot_w } =
            frame(&self.id, &self.title, &legend, STANDARD_LEGEND_TOP, width);
        let pts = || self.series.iter().flat_map(|s| s.points.iter());
        let (mut x_lo, mut x_hi) = (f64::INFINITY, f64::NEG_INFINITY);
        let (mut y_hi, mut y_min_pos) = (0.0f64, f64::INFINITY);
        for &(x, y) in pts() {
            x_lo = x_lo.min(x);
            x_hi = x_hi.max(x);
            y_hi = y_hi.max(y);
            if y > 0.0 {
                y_min_pos = y_min_pos.min(y);
            }
        }
        for b in &self.bands {
            x_lo = x_lo.min(b.start);
            x_hi = x_hi.max(b.end);
        }
        let has_data = pts().next().is_some();
        if let Some((lo, hi)) = self.x_range {
            (x_lo, x_hi) = (lo, hi);
        }
        if let Some(hi) = self.y_max {
            y_hi = hi;
        }
        if !x_lo.is_finite() {
            (x_lo, x_hi) = (0.0, 1.0);
        }
        let xs = if self.log_x && x_lo > 0.0 && x_lo.is_finite() {
            Scale::log(x_lo, x_hi)
        } else {
            Scale::exact(x_lo.min(0.0), x_hi)
        };
        let ys = if self.log_y && y_min_pos.is_finite() {
            Scale::log(y_min_pos, y_hi)
        } else {
            Scale::linear(0.0, y_hi * 1.05)
        };
        let px = |x: f64| LEFT + plot_w * xs.frac(x);
        let py = |y: f64| TOP + PLOT_H * (1.0 - ys.frac(y));
        for b in &self.bands {
            let (a, z) = (px(b.start), px(b.end));
            let _ = write!(
                svg,
                r#"<g class="band"><rect x="{a:.1}" y="{TOP}" width="{w:.1}" height="{PLOT_H}"><title>{t}</title></rect><text x="{tx:.1}" y="{ty:.1}">{t}</text></g>"#,
                w = (z - a).max(1.5),
                tx = a + 3.0,
                ty = TOP + 12.0,
                t = escape(&b.label),
            );
        }
        y_axis(&mut svg, &ys, plot_w, &self.y_label);
        let x_ticks: Vec<(f64, String)> = match &self.x_ticks {
            Some(ticks) => ticks
                .iter()
                .filter(|(v, _)| (xs.lo..=xs.hi * 1.0001).contains(v))
                .cloned()
                .collect(),
            None => xs.ticks().0.into_iter().map(|v| (v, axis(v))).collect(),
        };
        for (v, label) in x_ticks {
            let x = px(v);
            let _ = write!(
                svg,
                r#"<line class="tickmark" x1="{x:.1}" y1="{y0}" x2="{x:.1}" y2="{y1}"/><text class="tick" x="{x:.1}" y="{ty}" text-anchor="middle">{t}</text>"#,
                y0 = TOP + PLOT_H,
                y1 = TOP + PLOT_H + 4.0,
                ty = TOP + PLOT_H + 17.0,
                t = escape(&label),
            );
        }
        x_label(&mut svg, plot_w, &self.x_label);
        if !has_data {
            no_data(&mut svg, plot_w);
        }
        for s in &self.series {
            let c = color(s.color);
            let visible: Vec<(usize, (f64, f64))> = s
                .points
                .iter()
                .copied()
                .enumerate()
                .filter(|(_, (_, y))| !self.log_y || *y > 0.0)
                .collect();
            if visible.len() > 1 && !s.marks_only {
                let mut d = String::new();
                for (k, (_, (x, y))) in visible.iter().enumerate() {
                    let _ = write!(
                        d,
                        "{}{:.1},{:.1}",
                        if k == 0 { "M" } else { " L" },
                        px(*x),
                        py(*y)
                    );
                }
                let dash = if s.dashed {
                    r#" stroke-dasharray="5 4""#
                } else {
                    ""
                };
                let _ = write!(
                    svg,
                    r#"<path class="series" d="{d}" stroke="{c}"{dash}><title>{n}</title></path>"#,
                    n = escape(&s.name)
                );
            }
            if s.markers || s.marks_only || visible.len() == 1 {
                for (i, (x, y)) in visible {
                    let (cx, cy) = (px(x), py(y));
                    let tip = format!("{}: {} → {}", s.name, num(x), num(y));
                    if s.failed.get(i).copied().unwrap_or(false) {
                        let _ = write!(
                            svg,
                            r#"<path class="fail" d="M{a:.1},{b:.1} L{c2:.1},{d2:.1} M{a:.1},{d2:.1} L{c2:.1},{b:.1}" stroke="{c}"><title>{t} (failed)</title></path>"#,
                            a = cx - 5.0,
                            b = cy - 5.0,
                            c2 = cx + 5.0,
                            d2 = cy + 5.0,
                            t = escape(&tip)
                        );
                    } else {
                        let _ = write!(
                            svg,
                            r#"<circle cx="{cx:.1}" cy="{cy:.1}" r="3.5" fill="{c}"><title>{t}</title></circle>"#,
                            t = escape(&tip)
                        );
                    }
                }
            }
        }
        svg.push_str("</svg>");
        svg
    }
}

/// Horizontal stacked bars: one bar per item, one segment per key, value label at the end.
#[derive(Debug, Clone, Default)]
pub struct StackedBars {
    pub id: String,
    pub title: String,
    pub x_label: String,
    /// Segment names in legend order; bars refer to them by index.
    pub keys: Vec<String>,
    /// (bar label, segment values by key index).
    pub bars: Vec<(String, Vec<f64>)>,
}

impl StackedBars {
    pub fn to_svg(&self) -> String {
        let legend: Vec<_> = self
            .keys
            .iter()
            .enumerate()
            .map(|(i, k)| (k.clone(), color(i), false))
            .collect();
        // Bars are drawn as text-above-bar rows so long labels fit a phone screen.
        let row_h = 34.0;
        let plot_h = (self.bars.len().max(1) as f64) * row_h;
        let plot_w = W - 24.0 - 70.0;
        let left = 24.0;
        let height_plot_top = TOP + 4.0;
        let legend_top = height_plot_top + plot_h + 40.0;
        let Frame { mut svg, .. } = frame(&self.id, &self.title, &legend, legend_top, W);
        let total_max = self
            .bars
            .iter()
            .map(|(_, v)| v.iter().sum::<f64>())
            .fold(0.0, f64::max);
        let xs = Scale::linear(0.0, total_max * 1.02);
        for v in xs.ticks().0 {
            let x = left + plot_w * xs.frac(v);
            let _ = write!(
                svg,
                r#"<line class="grid" x1="{x:.1}" y1="{t:.1}" x2="{x:.1}" y2="{b:.1}"/><text class="tick" x="{x:.1}" y="{ty:.1}" text-anchor="middle">{l}</text>"#,
                t = height_plot_top,
                b = height_plot_top + plot_h,
                ty = height_plot_top + plot_h + 16.0,
                l = escape(&axis(v))
            );
        }
        let _ = write!(
            svg,
            r#"<text class="axis-label" x="{cx:.1}" y="{y:.1}" text-anchor="middle">{l}</text>"#,
            cx = left + plot_w / 2.0,
            y = height_plot_top + plot_h + 32.0,
            l = escape(&self.x_label)
        );
        if total_max <= 0.0 {
            let _ = write!(
                svg,
                r#"<text class="no-data" x="{x:.1}" y="{y:.1}" text-anchor="middle">no data</text>"#,
                x = left + plot_w / 2.0,
                y = height_plot_top + plot_h / 2.0
            );
        }
        for (b, (label, values)) in self.bars.iter().enumerate() {
            let y = height_plot_top + row_h * b as f64;
            let _ = write!(
                svg,
                r#"<text class="bar-label" x="{left}" y="{ty:.1}">{l}</text>"#,
                ty = y + 11.0,
                l = escape(label)
            );
            let mut x = left;
            for (k, v) in values.iter().enumerate() {
                if *v <= 0.0 {
                    continue;
                }
                let w = plot_w * xs.frac(*v);
                let _ = write!(
                    svg,
                    r#"<rect x="{x:.1}" y="{ry:.1}" width="{w:.1}" height="16" fill="{c}"><title>{t}</title></rect>"#,
                    ry = y + 15.0,
                    w = w.max(1.0),
                    c = color(k),
                    t = escape(&format!(
                        "{label} · {}: {}",
                        self.keys.get(k).map_or("", String::as_str),
                        num(*v)
                    ))
                );
                x += w.max(1.0);
            }
            let _ = write!(
                svg,
                r#"<text class="bar-value" x="{tx:.1}" y="{ty:.1}">{t}</text>"#,
                tx = x + 4.0,
                ty = y + 27.0,
                t = escape(&num(values.iter().sum()))
            );
        }
        svg.push_str("</svg>");
        svg
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentile_axis_is_labelled_by_nines() {
        let ticks = percentile_ticks();
        let label = |x: f64| &ticks.iter().find(|t| t.0 == x).expect("tick").1;
        assert_eq!(label(1.0), "0%");
        assert_eq!(label(2.0), "50%");
        assert_eq!(label(10.0), "90%");
        assert_eq!(label(100.0), "99%");
        assert_eq!(label(1000.0), "99.9%");
        assert_eq!(label(1e5), "99.999%");
    }

    #[test]
    fn fixed_axes_and_own_ticks_are_drawn() {
        let chart = LineChart {
            id: "c".into(),
            log_x: true,
            log_y: true,
            x_ticks: Some(percentile_ticks()),
            series: vec![Series {
                name: "s".into(),
                points: vec![(1.0, 2.0), (10.0, 3.0), (100.0, 40.0)],
                ..Default::default()
            }],
            width: Some(SMALL_W),
            ..Default::default()
        };
        let svg = chart.to_svg();
        assert!(
            svg.contains(&format!(r#"viewBox="0 0 {SMALL_W} "#)),
            "{svg}"
        );
        for t in ["0%", "50%", "90%", "99%"] {
            assert!(svg.contains(&format!(">{t}</text>")), "tick {t}");
        }
        assert!(
            !svg.contains(">99.9%</text>"),
            "ticks beyond the axis are left out"
        );
        // A fixed y range: the top tick follows y_max, not the data.
        let linear = |y_max| {
            LineChart {
                id: "l".into(),
                series: vec![Series {
                    name: "s".into(),
                    points: vec![(0.0, 1.0), (1.0, 3.0)],
                    ..Default::default()
                }],
                y_max,
                ..Default::default()
            }
            .to_svg()
        };
        assert!(!linear(None).contains(r#"text-anchor="end">100</text>"#));
        assert!(linear(Some(100.0)).contains(r#"text-anchor="end">100</text>"#));
    }

    #[test]
    fn nice_steps_are_1_2_5() {
        assert_eq!(nice_step(0.7), 1.0);
        assert_eq!(nice_step(1.3), 2.0);
        assert_eq!(nice_step(3.0), 5.0);
        assert_eq!(nice_step(7.0), 10.0);
        assert_eq!(nice_step(2400.0), 5000.0);
    }

    #[test]
    fn downsampling_keeps_short_series_and_folds_long_ones() {
        let short: Vec<(f64, f64)> = (0..10).map(|i| (i as f64, 1.0)).collect();
        assert_eq!(downsample(short.clone(), Reduce::Mean), short);
        // 240 samples of 0 / 4 % (CPU ticks) average to 1 % per bucket.
        let ticks = (0..240).map(|i| (i as f64 * 0.25, if i % 4 == 0 { 4.0 } else { 0.0 }));
        let d = downsample(ticks, Reduce::Mean);
        assert_eq!(d.len(), MAX_POINTS);
        assert!(d.iter().all(|(_, y)| (*y - 1.0).abs() < 1e-9), "{d:?}");
        let peaks = (0..240).map(|i| (i as f64, if i == 7 { 99.0 } else { 1.0 }));
        let d = downsample(peaks, Reduce::Max);
        assert_eq!(
            d.iter().filter(|(_, y)| *y == 99.0).count(),
            1,
            "a peak survives"
        );
    }

    #[test]
    fn log_scale_spans_whole_decades() {
        let s = Scale::log(0.3, 4500.0);
        assert_eq!((s.lo, s.hi), (0.1, 10_000.0));
        assert!((s.frac(1.0) - 0.2).abs() < 1e-9);
        let (major, _) = s.ticks();
        assert_eq!(major.len(), 6);
        assert_eq!(s.frac(0.0), 0.0, "zero clamps to the bottom");
    }

    #[test]
    fn line_chart_has_title_axes_legend_and_escapes() {
        let c = LineChart {
            id: "cpu".into(),
            title: "CPU <over> time".into(),
            x_label: "time (s)".into(),
            y_label: "CPU (% of one core)".into(),
            series: vec![Series {
                name: "a&b".into(),
                points: vec![(0.0, 1.0), (1.0, 2.0)],
                ..Default::default()
            }],
            bands: vec![Band {
                start: 0.2,
                end: 0.5,
                label: "fault: mock-down".into(),
            }],
            ..Default::default()
        };
        let svg = c.to_svg();
        assert!(svg.contains("CPU &lt;over&gt; time"));
        assert!(svg.contains("time (s)") && svg.contains("CPU (% of one core)"));
        assert!(svg.contains(">a&amp;b<"));
        assert!(svg.contains(r#"class="band""#));
        assert!(svg.contains("<path class=\"series\""));
        assert!(!svg.contains("no data"));
        let empty = LineChart::default().to_svg();
        assert!(empty.contains("no data"));
    }

    #[test]
    fn marks_are_dots_without_a_line() {
        let c = LineChart {
            series: vec![Series {
                name: "cold starts".into(),
                points: vec![(1.0, 2.0), (4.0, 1.0), (9.0, 3.0)],
                marks_only: true,
                ..Default::default()
            }],
            ..Default::default()
        };
        let svg = c.to_svg();
        assert!(!svg.contains("<path class=\"series\""), "{svg}");
        assert_eq!(svg.matches("<circle").count(), 3, "{svg}");
    }
}
