//! Charts over time as inline SVG (no script, no library): bars (stacked when there are several
//! series) and lines, on a shared bucket axis. Each chart is a `figure` with a caption and an
//! accessible label; every bar and point carries a `title` with its exact value.

use maud::{html, Markup};

/// Colour-blind-safe palette (Okabe–Ito, darkened for contrast on white); a series takes the
/// colour of its index.
pub(crate) const PALETTE: [&str; 8] = [
    "#0072b2", "#d55e00", "#009e73", "#cc79a7", "#b8860b", "#56b4e9", "#6b7280", "#000000",
];

/// One named series: a value per bucket (`None`: no data in that bucket).
pub(crate) struct Series {
    /// Legend name.
    pub name: String,
    /// Values, one per bucket.
    pub values: Vec<Option<f64>>,
    /// Line style for line charts (`solid`, `dashed`, `dotted`).
    pub dash: Dash,
    /// Palette index.
    pub color: usize,
}

/// Line style.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dash {
    Solid,
    Dashed,
    Dotted,
}

impl Dash {
    fn attr(self) -> Option<&'static str> {
        match self {
            Dash::Solid => None,
            Dash::Dashed => Some("6 3"),
            Dash::Dotted => Some("2 3"),
        }
    }
}

/// Geometry shared by the charts.
const W: f64 = 640.0;
const H: f64 = 190.0;
const LEFT: f64 = 62.0;
const RIGHT: f64 = 8.0;
const TOP: f64 = 8.0;
const BOTTOM: f64 = 22.0;

fn plot_w() -> f64 {
    W - LEFT - RIGHT
}

fn plot_h() -> f64 {
    H - TOP - BOTTOM
}

/// A "nice" axis maximum at or above `v` (1, 2 or 5 times a power of ten).
pub(crate) fn nice_max(v: f64) -> f64 {
    if !(v.is_finite() && v > 0.0) {
        return 1.0;
    }
    let p = 10f64.powf(v.log10().floor());
    for m in [1.0, 2.0, 5.0, 10.0] {
        if m * p >= v {
            return m * p;
        }
    }
    10.0 * p
}

fn y_of(v: f64, max: f64) -> f64 {
    TOP + plot_h() * (1.0 - (v / max).clamp(0.0, 1.0))
}

/// Axes, grid and labels.
fn frame(labels: &[String], max: f64, fmt: &dyn Fn(f64) -> String) -> Markup {
    let n = labels.len().max(1);
    let step = plot_w() / n as f64;
    let ticks = [0.0, 0.5, 1.0];
    let shown: Vec<usize> = match labels.len() {
        0 => vec![],
        1 => vec![0],
        l => vec![0, l / 2, l - 1],
    };
    html! {
        @for t in ticks {
            @let y = y_of(max * t, max);
            line.grid x1=(LEFT) x2=(W - RIGHT) y1=(y) y2=(y) {}
            text.ylabel x=(LEFT - 6.0) y=(y + 4.0) text-anchor="end" { (fmt(max * t)) }
        }
        @for i in shown {
            @let x = LEFT + step * (i as f64 + 0.5);
            @let anchor = if i == 0 && labels.len() > 1 { "start" } else if i + 1 == labels.len() && i > 0 { "end" } else { "middle" };
            @let x = match anchor { "start" => LEFT, "end" => W - RIGHT, _ => x };
            text.xlabel x=(format!("{x:.1}")) y=(H - 6.0) text-anchor=(anchor) { (labels[i]) }
        }
    }
}

fn legend(series: &[Series]) -> Markup {
    html! {
        @if series.len() > 1 || series.first().is_some_and(|s| !s.name.is_empty()) {
            ul.legend {
                @for s in series {
                    li {
                        svg width="18" height="10" aria-hidden="true" {
                            line x1="0" x2="18" y1="5" y2="5" stroke=(PALETTE[s.color % PALETTE.len()]) stroke-width="3" stroke-dasharray=[s.dash.attr()] {}
                        }
                        " " (s.name)
                    }
                }
            }
        }
    }
}

/// Bars per bucket, stacked when there are several series.
pub(crate) fn bars(
    caption: &str,
    labels: &[String],
    series: &[Series],
    fmt: &dyn Fn(f64) -> String,
) -> Markup {
    let n = labels.len().max(1);
    let totals: Vec<f64> = (0..labels.len())
        .map(|i| {
            series
                .iter()
                .filter_map(|s| s.values.get(i).copied().flatten())
                .sum()
        })
        .collect();
    let max = nice_max(totals.iter().copied().fold(0.0, f64::max));
    let step = plot_w() / n as f64;
    let bar_w = (step * 0.8).max(1.0);
    // (x, top y, height, colour, tooltip) of every bar segment, stacked bottom up.
    let mut rects: Vec<(f64, f64, f64, &str, String)> = Vec::new();
    for (i, label) in labels.iter().enumerate() {
        let x = LEFT + step * i as f64 + (step - bar_w) / 2.0;
        let mut base = 0.0;
        for s in series {
            if let Some(v) = s.values.get(i).copied().flatten().filter(|v| *v > 0.0) {
                let (y0, y1) = (y_of(base, max), y_of(base + v, max));
                rects.push((
                    x,
                    y1,
                    (y0 - y1).max(0.5),
                    PALETTE[s.color % PALETTE.len()],
                    format!("{label} · {}: {}", s.name, fmt(v)),
                ));
                base += v;
            }
        }
    }
    html! {
        figure.chart {
            figcaption { (caption) }
            svg viewBox={ "0 0 " (W) " " (H) } role="img" aria-label=(caption) {
                (frame(labels, max, fmt))
                @for (x, y, h, color, tip) in &rects {
                    rect x=(format!("{x:.1}")) y=(format!("{y:.1}")) width=(format!("{bar_w:.1}")) height=(format!("{h:.1}")) fill=(color) {
                        title { (tip) }
                    }
                }
            }
            (legend(series))
        }
    }
}

/// Lines per series across the buckets; a bucket without a value breaks the line.
pub(crate) fn lines(
    caption: &str,
    labels: &[String],
    series: &[Series],
    max_hint: Option<f64>,
    fmt: &dyn Fn(f64) -> String,
) -> Markup {
    let n = labels.len().max(1);
    let step = plot_w() / n as f64;
    let data_max = series
        .iter()
        .flat_map(|s| s.values.iter().flatten().copied())
        .fold(0.0, f64::max);
    let max = max_hint.unwrap_or_else(|| nice_max(data_max));
    let x_of = |i: usize| LEFT + step * (i as f64 + 0.5);
    html! {
        figure.chart {
            figcaption { (caption) }
            svg viewBox={ "0 0 " (W) " " (H) } role="img" aria-label=(caption) {
                (frame(labels, max, fmt))
                @for s in series {
                    @let color = PALETTE[s.color % PALETTE.len()];
                    @for segment in segments(&s.values) {
                        @if segment.len() > 1 {
                            polyline fill="none" stroke=(color) stroke-width="2" stroke-dasharray=[s.dash.attr()]
                                points=(segment.iter().map(|(i, v)| format!("{:.1},{:.1}", x_of(*i), y_of(*v, max))).collect::<Vec<_>>().join(" ")) {}
                        }
                    }
                    @for (i, v) in s.values.iter().enumerate() {
                        @if let Some(v) = v {
                            circle cx=(format!("{:.1}", x_of(i))) cy=(format!("{:.1}", y_of(*v, max))) r="2.5" fill=(color) {
                                title { (labels[i]) " · " (s.name) ": " (fmt(*v)) }
                            }
                        }
                    }
                }
            }
            (legend(series))
        }
    }
}

/// Runs of consecutive present values, with their bucket index.
fn segments(values: &[Option<f64>]) -> Vec<Vec<(usize, f64)>> {
    let mut out: Vec<Vec<(usize, f64)>> = Vec::new();
    let mut current = Vec::new();
    for (i, v) in values.iter().enumerate() {
        match v {
            Some(v) => current.push((i, *v)),
            None if !current.is_empty() => out.push(std::mem::take(&mut current)),
            None => {}
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nice_maxima() {
        assert_eq!(nice_max(0.0), 1.0);
        assert_eq!(nice_max(7.0), 10.0);
        assert_eq!(nice_max(120.0), 200.0);
        assert_eq!(nice_max(0.03), 0.05);
    }

    #[test]
    fn stacked_bars_and_broken_lines() {
        let labels: Vec<String> = ["a", "b", "c"].iter().map(|s| s.to_string()).collect();
        let s = |name: &str, values: Vec<Option<f64>>, color| Series {
            name: name.into(),
            values,
            dash: Dash::Solid,
            color,
        };
        let fmt = |v: f64| format!("{v}");
        let svg = bars(
            "Calls",
            &labels,
            &[
                s("x", vec![Some(1.0), None, Some(2.0)], 0),
                s("y", vec![Some(3.0), Some(1.0), None], 1),
            ],
            &fmt,
        )
        .into_string();
        assert_eq!(svg.matches("<rect").count(), 4);
        assert!(svg.contains("a · y: 3"));
        let l = lines(
            "p95",
            &labels,
            &[s("m", vec![Some(1.0), None, Some(2.0)], 0)],
            None,
            &fmt,
        )
        .into_string();
        // Two one-point segments: no polyline, two points.
        assert_eq!(l.matches("<polyline").count(), 0);
        assert_eq!(l.matches("<circle").count(), 2);
        assert_eq!(segments(&[Some(1.0), Some(2.0), None, Some(3.0)]).len(), 2);
    }
}
