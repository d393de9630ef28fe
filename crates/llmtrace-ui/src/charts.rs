//! Charts over time as inline SVG (no script, no library): bars (stacked when there are several
//! series) and lines, on a shared bucket axis. Each chart is a `figure` with a caption and an
//! accessible label; every bar and point carries a `title` with its exact value and, when the
//! chart knows its buckets' time windows, links to the trace list of that bucket and series.
//!
//! Colours: a series key (a model, a service, a score label) takes one colour of a palette of
//! [`SLOTS`] theme variables (`--s0` …, light and dark variants in [`STYLE`]) by a stable hash of
//! its name, so a model has the same colour in every chart and on every page; [`Colors`]
//! resolves collisions among the keys of one page. The y axis carries one [`Unit`] with ticks at
//! round values.

use crate::format;
use crate::traces::url_encode;
use maud::{html, Markup};
use std::collections::BTreeMap;

/// Colours of the palette.
pub(crate) const SLOTS: usize = 10;

/// Class names of the palette's colours (`.k3` sets `--k` to `var(--s3)`).
const SLOT_CLASSES: [&str; SLOTS] = ["k0", "k1", "k2", "k3", "k4", "k5", "k6", "k7", "k8", "k9"];

/// The charts' styles: the palette as theme variables (the colour-blind-safe hues of Paul Tol's
/// "muted" scheme and Okabe–Ito's vermillion, darkened where needed on light backgrounds and
/// lightened on dark ones), series colours by class, axes and text in theme colours, and a grid
/// of charts that fits a phone.
pub(crate) const STYLE: &str = r#"
:root { --s0:#332288; --s1:#c45500; --s2:#2f8f80; --s3:#b84f5f; --s4:#117733; --s5:#2d8db3; --s6:#882255; --s7:#9c8419; --s8:#aa4499; --s9:#76762a; }
@media (prefers-color-scheme: dark) { :root:not([data-theme=light]) { --s0:#8877dd; --s1:#f0843c; --s2:#44aa99; --s3:#dd7788; --s4:#44aa55; --s5:#88ccee; --s6:#cc5588; --s7:#ddcc77; --s8:#cc77bb; --s9:#bbbb55; } }
:root[data-theme=dark] { --s0:#8877dd; --s1:#f0843c; --s2:#44aa99; --s3:#dd7788; --s4:#44aa55; --s5:#88ccee; --s6:#cc5588; --s7:#ddcc77; --s8:#cc77bb; --s9:#bbbb55; }
.k0 { --k:var(--s0); } .k1 { --k:var(--s1); } .k2 { --k:var(--s2); } .k3 { --k:var(--s3); } .k4 { --k:var(--s4); }
.k5 { --k:var(--s5); } .k6 { --k:var(--s6); } .k7 { --k:var(--s7); } .k8 { --k:var(--s8); } .k9 { --k:var(--s9); }
.k-good { --k:var(--accent); } .k-bad { --k:var(--err); } .k-dim { --k:var(--dim); }
.k-shade0 { --k:var(--fg); } .k-shade1 { --k:var(--dim); } .k-shade2 { --k:var(--muted); }
div.charts { grid-template-columns:repeat(auto-fill, minmax(min(440px, 100%), 1fr)); }
div.pair { grid-template-columns:repeat(auto-fit, minmax(min(420px, 100%), 1fr)); }
figure.chart { min-width:0; }
figure.chart rect.chart-bar, figure.chart circle.chart-point { fill:var(--k, var(--dim)); }
figure.chart polyline.chart-line, ul.legend line { stroke:var(--k, var(--dim)); fill:none; }
figure.chart circle.chart-hit { fill:transparent; }
figure.chart a:hover rect.chart-bar, figure.chart a:focus rect.chart-bar { stroke:var(--fg); stroke-width:1.5; }
figure.chart a:hover circle.chart-point, figure.chart a:focus circle.chart-point { stroke:var(--fg); stroke-width:1.5; }
figure.chart line.chart-base { stroke:var(--dim); stroke-width:1; }
figure.chart .grid { stroke:var(--grid); }
figure.chart text { fill:var(--dim); }
div.scroll { overflow-x:auto; max-width:100%; }
p.note { background:var(--panel); border-left:3px solid var(--accent); padding:6px 10px; border-radius:4px; }
.status.warn { color:var(--warn); font-weight:600; }
.status.dim { color:var(--dim); }
nav.machine p { margin:6px 0; }
"#;

/// The colour of a series.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Hue {
    /// A palette slot (taken modulo [`SLOTS`]).
    Key(usize),
    /// Things that went well (succeeded calls, acknowledged spans).
    Good,
    /// Failures, in the error colour.
    Bad,
    /// Neither: the dimmed text colour (the rest, summed).
    Dim,
    /// A grey of the theme, for the parts of one whole that are no key (token kinds): 0 the
    /// text colour, 1 the dimmed one, 2 the muted one.
    Shade(u8),
}

impl Hue {
    /// The class that sets the series colour variable `--k`.
    pub(crate) fn class(self) -> &'static str {
        match self {
            Hue::Key(i) => SLOT_CLASSES.get(i % SLOTS).copied().unwrap_or("k0"),
            Hue::Good => "k-good",
            Hue::Bad => "k-bad",
            Hue::Dim => "k-dim",
            Hue::Shade(0) => "k-shade0",
            Hue::Shade(1) => "k-shade1",
            Hue::Shade(_) => "k-shade2",
        }
    }
}

/// The palette slot a key prefers: FNV-1a of its bytes, modulo [`SLOTS`] (stable across pages,
/// reloads and releases).
pub(crate) fn preferred_slot(key: &str) -> usize {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in key.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    usize::try_from(h % SLOTS as u64).unwrap_or(0)
}

/// The colours of a page's series keys: each key its preferred slot, or on a collision the next
/// free one, keys taken in the order given (so the caller decides, deterministically, who keeps
/// its colour). With more keys than slots the extra keys share their preferred slot.
#[derive(Debug, Default)]
pub(crate) struct Colors {
    slots: BTreeMap<String, usize>,
}

impl Colors {
    /// Colours for `keys`, in priority order (duplicates ignored).
    pub(crate) fn new<I, S>(keys: I) -> Colors
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut slots: BTreeMap<String, usize> = BTreeMap::new();
        let mut taken = [false; SLOTS];
        for key in keys {
            let key = key.as_ref();
            if slots.contains_key(key) {
                continue;
            }
            let want = preferred_slot(key);
            let slot = (0..SLOTS)
                .map(|d| (want + d) % SLOTS)
                .find(|s| taken.get(*s).is_some_and(|t| !t))
                .unwrap_or(want);
            if let Some(t) = taken.get_mut(slot) {
                *t = true;
            }
            slots.insert(key.to_string(), slot);
        }
        Colors { slots }
    }

    /// The colour of `key` (its preferred slot when the page did not list it).
    pub(crate) fn hue(&self, key: &str) -> Hue {
        Hue::Key(
            self.slots
                .get(key)
                .copied()
                .unwrap_or_else(|| preferred_slot(key)),
        )
    }
}

/// The unit of a chart's values, which decides its axis ticks and labels and its tooltips.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Unit {
    /// Whole counts (calls, tokens): `250`, `1.5k`, `2M` on the axis, `1,234` in tooltips.
    Count,
    /// US dollars, in the shared money format.
    Usd,
    /// Durations given in milliseconds: the axis in `ms` or, from a second up, in `s`.
    Millis,
    /// Ratios from 0 to 1, shown as percentages on a 0–100 % axis.
    Ratio,
    /// Rates per second.
    PerSecond,
    /// Plain numbers (score values).
    Number,
}

impl Unit {
    /// A value as a tooltip shows it.
    pub(crate) fn value(self, v: f64) -> String {
        match self {
            Unit::Count => format::count(round_count(v)),
            Unit::Usd => format::usd(Some(v)),
            Unit::Millis => format::duration_ms(v),
            Unit::Ratio => format::percent(Some(v)),
            Unit::PerSecond => format!("{}/s", trimmed(v, 1)),
            Unit::Number => crate::annotate::number(v),
        }
    }

    /// The smallest tick step worth showing.
    fn min_step(self) -> f64 {
        match self {
            Unit::Count => 1.0,
            Unit::Usd => 0.0001,
            _ => 0.0,
        }
    }

    /// The ticks of an axis showing values up to `max`: the axis top and each tick's value and
    /// label, from 0 up, at round values (1, 2 or 5 times a power of ten), all in one unit.
    pub(crate) fn ticks(self, max: f64) -> (f64, Vec<(f64, String)>) {
        if self == Unit::Ratio {
            let t = [0.0, 0.25, 0.5, 0.75, 1.0];
            return (
                1.0,
                t.iter().map(|v| (*v, format::percent(Some(*v)))).collect(),
            );
        }
        let (step, top) = nice_step(max, self.min_step());
        // The display scale and unit, chosen once for the axis.
        let (div, suffix) = match self {
            Unit::Count if top >= 1e6 => (1e6, "M"),
            Unit::Count if top >= 1e3 => (1e3, "k"),
            Unit::Millis if top >= 1000.0 => (1000.0, " s"),
            Unit::Millis => (1.0, " ms"),
            Unit::PerSecond => (1.0, "/s"),
            _ => (1.0, ""),
        };
        let decimals = decimals_for(step / div);
        let n = (top / step).round().clamp(1.0, 10.0);
        let ticks = (0..=10)
            .map(f64::from)
            .take_while(|i| *i <= n)
            .map(|i| {
                // The tick's value as its label shows it (no float residue: 0.3, not
                // 0.30000000000000004, which the money format would read differently).
                let v = trimmed(i * step, decimals_for(step))
                    .parse::<f64>()
                    .unwrap_or(i * step);
                let label = match self {
                    Unit::Usd => format::usd(Some(v)),
                    Unit::Count | Unit::Number if v == 0.0 => "0".to_string(),
                    _ => format!("{}{suffix}", trimmed(v / div, decimals)),
                };
                (v, label)
            })
            .collect();
        (top, ticks)
    }
}

/// A stored count as a chart value (exact below 2^53, far above any count here).
pub(crate) fn count_value(n: u64) -> f64 {
    n as f64
}

/// A non-negative count from a float (rounded; negative and non-finite values read 0).
fn round_count(v: f64) -> u64 {
    if v.is_finite() && v > 0.0 {
        // Saturating float-to-int conversion; counts are far below 2^53.
        v.round() as u64
    } else {
        0
    }
}

/// Decimals that show a step of `step` exactly (0 for whole steps, 1 for 0.5, 2 for 0.05).
fn decimals_for(step: f64) -> usize {
    if !(step.is_finite() && step > 0.0) {
        return 0;
    }
    let d = (-step.log10() - 1e-9).ceil();
    if d <= 0.0 {
        0
    } else {
        usize::try_from(round_count(d)).unwrap_or(0).min(8)
    }
}

/// `v` with `decimals` decimals, trailing zeros dropped.
fn trimmed(v: f64, decimals: usize) -> String {
    let s = format!("{v:.decimals$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// A round tick step (1, 2 or 5 times a power of ten, at least `min_step`) for values up to
/// `max`, giving at most four intervals, and the axis top (a multiple of the step).
pub(crate) fn nice_step(max: f64, min_step: f64) -> (f64, f64) {
    let max = if max.is_finite() && max > 0.0 {
        max
    } else {
        min_step.max(1.0)
    };
    let raw = max / 4.0;
    let p = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * p)
        .find(|s| *s >= raw * (1.0 - 1e-9))
        .unwrap_or(10.0 * p)
        .max(min_step);
    let top = ((max / step) - 1e-9).ceil().max(1.0) * step;
    (step, top)
}

/// The bucket axis shared by a page's charts: a label per bucket and, for links to the trace
/// list, each bucket's time window (RFC 3339 start and end; empty: the bars do not link).
#[derive(Debug, Default, Clone)]
pub(crate) struct Axis {
    /// Axis labels, one per bucket.
    pub labels: Vec<String>,
    /// Each bucket's `(since, until)`, RFC 3339.
    pub windows: Vec<(String, String)>,
}

/// One named series: a value per bucket (`None`: no data in that bucket).
pub(crate) struct Series {
    /// Legend name.
    pub name: String,
    /// Values, one per bucket.
    pub values: Vec<Option<f64>>,
    /// Line style for line charts (`solid`, `dashed`, `dotted`).
    pub dash: Dash,
    /// Colour.
    pub hue: Hue,
    /// The trace-list filters of this series' traces (`("model", "gpt-4o")`, …), added to the
    /// bucket's window in each bar's or point's link; `None`: no link (the series has no filter
    /// that selects exactly its traces).
    pub link: Option<Vec<(String, String)>>,
}

/// Line style.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
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

fn y_of(v: f64, max: f64) -> f64 {
    TOP + plot_h() * (1.0 - (v / max).clamp(0.0, 1.0))
}

/// A bucket index as a coordinate factor.
fn idx(i: usize) -> f64 {
    f64::from(u32::try_from(i).unwrap_or(u32::MAX))
}

/// The trace-list link of bucket `i` of a series, if both are linkable.
fn link(axis: &Axis, i: usize, s: &Series) -> Option<String> {
    let filters = s.link.as_ref()?;
    let (since, until) = axis.windows.get(i)?;
    let mut url = format!("/?since={}&until={}", url_encode(since), url_encode(until));
    for (k, v) in filters {
        url.push('&');
        url.push_str(&url_encode(k));
        url.push('=');
        url.push_str(&url_encode(v));
    }
    Some(url)
}

/// Axes, grid and labels.
fn frame(labels: &[String], top: f64, ticks: &[(f64, String)]) -> Markup {
    let n = labels.len().max(1);
    let step = plot_w() / idx(n);
    let shown: Vec<usize> = match labels.len() {
        0 => vec![],
        1 => vec![0],
        l => vec![0, l / 2, l - 1],
    };
    html! {
        @for (v, label) in ticks {
            @let y = y_of(*v, top);
            line.grid x1=(LEFT) x2=(W - RIGHT) y1=(format!("{y:.1}")) y2=(format!("{y:.1}")) {}
            text.ylabel x=(LEFT - 6.0) y=(format!("{:.1}", y + 4.0)) text-anchor="end" { (label) }
        }
        line.chart-base x1=(LEFT) x2=(W - RIGHT) y1=(TOP + plot_h()) y2=(TOP + plot_h()) {}
        @for i in shown {
            @if let Some(label) = labels.get(i) {
                @let anchor = if i == 0 && labels.len() > 1 { "start" } else if i + 1 == labels.len() && i > 0 { "end" } else { "middle" };
                @let x = match anchor { "start" => LEFT, "end" => W - RIGHT, _ => LEFT + step * (idx(i) + 0.5) };
                text.xlabel x=(format!("{x:.1}")) y=(H - 6.0) text-anchor=(anchor) { (label) }
            }
        }
    }
}

fn legend(series: &[Series]) -> Markup {
    html! {
        @if series.len() > 1 || series.first().is_some_and(|s| !s.name.is_empty()) {
            ul.legend {
                @for s in series {
                    li class=(s.hue.class()) {
                        svg width="18" height="10" aria-hidden="true" {
                            line x1="0" x2="18" y1="5" y2="5" stroke-width="3" stroke-dasharray=[s.dash.attr()] {}
                        }
                        " " (s.name)
                    }
                }
            }
        }
    }
}

/// One bar segment: position, size, colour, tooltip and link.
struct Bar {
    x: f64,
    y: f64,
    h: f64,
    hue: Hue,
    name: String,
    tip: String,
    href: Option<String>,
}

/// Bars per bucket, stacked when there are several series.
pub(crate) fn bars(caption: &str, axis: &Axis, series: &[Series], unit: Unit) -> Markup {
    let labels = &axis.labels;
    let n = labels.len().max(1);
    let max = (0..labels.len())
        .map(|i| {
            series
                .iter()
                .filter_map(|s| s.values.get(i).copied().flatten())
                .filter(|v| *v > 0.0)
                .sum::<f64>()
        })
        .fold(0.0, f64::max);
    let (top, ticks) = unit.ticks(max);
    let step = plot_w() / idx(n);
    let bar_w = (step * 0.8).max(1.0);
    let mut rects: Vec<Bar> = Vec::new();
    for (i, label) in labels.iter().enumerate() {
        let x = LEFT + step * idx(i) + (step - bar_w) / 2.0;
        let mut base = 0.0;
        for s in series {
            if let Some(v) = s.values.get(i).copied().flatten().filter(|v| *v > 0.0) {
                let (y0, y1) = (y_of(base, top), y_of(base + v, top));
                rects.push(Bar {
                    x,
                    y: y1,
                    h: (y0 - y1).max(0.5),
                    hue: s.hue,
                    name: s.name.clone(),
                    tip: format!("{label} · {}: {}", s.name, unit.value(v)),
                    href: link(axis, i, s),
                });
                base += v;
            }
        }
    }
    html! {
        figure.chart {
            figcaption { (caption) }
            svg viewBox={ "0 0 " (W) " " (H) } role="img" aria-label=(caption) {
                (frame(labels, top, &ticks))
                @for b in &rects {
                    @let rect = html! {
                        rect class={ "chart-bar " (b.hue.class()) } data-series=(b.name) x=(format!("{:.1}", b.x)) y=(format!("{:.1}", b.y)) width=(format!("{bar_w:.1}")) height=(format!("{:.1}", b.h)) {
                            title { (b.tip) }
                        }
                    };
                    @match &b.href {
                        Some(href) => { a href=(href) aria-label=(b.tip) { (rect) } }
                        None => { (rect) }
                    }
                }
            }
            (legend(series))
        }
    }
}

/// Lines per series across the buckets; a bucket without a value breaks the line.
pub(crate) fn lines(caption: &str, axis: &Axis, series: &[Series], unit: Unit) -> Markup {
    let labels = &axis.labels;
    let n = labels.len().max(1);
    let step = plot_w() / idx(n);
    let data_max = series
        .iter()
        .flat_map(|s| s.values.iter().flatten().copied())
        .fold(0.0, f64::max);
    let (top, ticks) = unit.ticks(data_max);
    let x_of = |i: usize| LEFT + step * (idx(i) + 0.5);
    html! {
        figure.chart {
            figcaption { (caption) }
            svg viewBox={ "0 0 " (W) " " (H) } role="img" aria-label=(caption) {
                (frame(labels, top, &ticks))
                @for s in series {
                    @for segment in segments(&s.values) {
                        @if segment.len() > 1 {
                            polyline class={ "chart-line " (s.hue.class()) } stroke-width="2" stroke-dasharray=[s.dash.attr()]
                                points=(segment.iter().map(|(i, v)| format!("{:.1},{:.1}", x_of(*i), y_of(*v, top))).collect::<Vec<_>>().join(" ")) {}
                        }
                    }
                    @for (i, v) in s.values.iter().enumerate() {
                        @if let Some(v) = v {
                            @let (cx, cy) = (format!("{:.1}", x_of(i)), format!("{:.1}", y_of(*v, top)));
                            @let tip = format!("{} · {}: {}", labels.get(i).map_or("", String::as_str), s.name, unit.value(*v));
                            @match link(axis, i, s) {
                                Some(href) => {
                                    a href=(href) aria-label=(tip) {
                                        circle.chart-hit cx=(cx) cy=(cy) r="8" {}
                                        circle class={ "chart-point " (s.hue.class()) } data-series=(s.name) cx=(cx) cy=(cy) r="2.5" { title { (tip) } }
                                    }
                                }
                                None => {
                                    circle class={ "chart-point " (s.hue.class()) } data-series=(s.name) cx=(cx) cy=(cy) r="2.5" { title { (tip) } }
                                }
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

    fn s(name: &str, values: Vec<Option<f64>>, hue: Hue) -> Series {
        Series {
            name: name.into(),
            values,
            dash: Dash::Solid,
            hue,
            link: Some(vec![("model".into(), name.into())]),
        }
    }

    fn labels(ticks: &(f64, Vec<(f64, String)>)) -> Vec<&str> {
        ticks.1.iter().map(|(_, l)| l.as_str()).collect()
    }

    #[test]
    fn round_ticks_in_one_unit() {
        assert_eq!(nice_step(7.0, 0.0), (2.0, 8.0));
        assert_eq!(nice_step(120.0, 0.0), (50.0, 150.0));
        assert_eq!(nice_step(0.03, 0.0), (0.01, 0.03));
        assert_eq!(nice_step(0.0, 0.0), (0.5, 1.0));
        assert_eq!(labels(&Unit::Count.ticks(3.0)), ["0", "1", "2", "3"]);
        assert_eq!(labels(&Unit::Count.ticks(1.0)), ["0", "1"], "no half calls");
        assert_eq!(
            labels(&Unit::Count.ticks(1800.0)),
            ["0", "0.5k", "1k", "1.5k", "2k"]
        );
        assert_eq!(
            labels(&Unit::Count.ticks(3_200_000.0)),
            ["0", "1M", "2M", "3M", "4M"]
        );
        assert_eq!(
            labels(&Unit::Millis.ticks(340.0)),
            ["0 ms", "100 ms", "200 ms", "300 ms", "400 ms"]
        );
        // From a second up, the whole axis is in seconds.
        assert_eq!(
            labels(&Unit::Millis.ticks(1800.0)),
            ["0 s", "0.5 s", "1 s", "1.5 s", "2 s"]
        );
        assert_eq!(
            labels(&Unit::Millis.ticks(12_000.0)),
            ["0 s", "5 s", "10 s", "15 s"]
        );
        assert_eq!(
            labels(&Unit::Usd.ticks(0.7)),
            ["$0", "$0.20", "$0.40", "$0.60", "$0.80"]
        );
        assert_eq!(
            labels(&Unit::Usd.ticks(0.0031)),
            ["$0", "$0.001", "$0.002", "$0.003", "$0.004"]
        );
        assert_eq!(
            labels(&Unit::Usd.ticks(0.000_001)),
            ["$0", "$0.0001"],
            "never <$0.0001 on an axis"
        );
        assert_eq!(
            labels(&Unit::Ratio.ticks(0.3)),
            ["0%", "25%", "50%", "75%", "100%"]
        );
        assert_eq!(
            labels(&Unit::PerSecond.ticks(3.0)),
            ["0/s", "1/s", "2/s", "3/s"]
        );
        assert_eq!(Unit::Millis.value(1234.0), "1.23 s");
        assert_eq!(Unit::Usd.value(0.00001), "<$0.0001");
        assert_eq!(Unit::Ratio.value(0.025), "2.5%");
        assert_eq!(Unit::Count.value(1234.0), "1,234");
    }

    #[test]
    fn a_key_keeps_its_colour_and_a_page_keeps_keys_apart() {
        // Stable: the same key prefers the same slot every time.
        assert_eq!(preferred_slot("gpt-4o"), preferred_slot("gpt-4o"));
        let keys: Vec<String> = (0..SLOTS).map(|i| format!("model-{i}")).collect();
        let c = Colors::new(&keys);
        let hues: std::collections::BTreeSet<Hue> = keys.iter().map(|k| c.hue(k)).collect();
        assert_eq!(hues.len(), SLOTS, "as many colours as keys");
        // The same order gives the same colours (deterministic), and a key alone on a page
        // takes its preferred slot.
        let again = Colors::new(&keys);
        assert!(keys.iter().all(|k| c.hue(k) == again.hue(k)));
        assert_eq!(
            Colors::new(["gpt-4o"]).hue("gpt-4o"),
            Hue::Key(preferred_slot("gpt-4o"))
        );
        // Two keys that collide: the first keeps its slot, the second takes the next one.
        let (a, b) = colliding_pair();
        let c = Colors::new([a.as_str(), b.as_str()]);
        assert_eq!(c.hue(&a), Hue::Key(preferred_slot(&a)));
        assert_eq!(c.hue(&b), Hue::Key((preferred_slot(&b) + 1) % SLOTS));
    }

    fn colliding_pair() -> (String, String) {
        let first = "m0".to_string();
        let second = (1..1000)
            .map(|i| format!("m{i}"))
            .find(|k| preferred_slot(k) == preferred_slot(&first))
            .unwrap_or_default();
        (first, second)
    }

    #[test]
    fn stacked_bars_link_and_lines_break() {
        let axis = Axis {
            labels: ["a", "b", "c"].iter().map(|s| s.to_string()).collect(),
            windows: (0..3)
                .map(|i| (format!("T{i}"), format!("T{}", i + 1)))
                .collect(),
        };
        let svg = bars(
            "Calls",
            &axis,
            &[
                s("x", vec![Some(1.0), None, Some(2.0)], Hue::Key(0)),
                s("y", vec![Some(3.0), Some(1.0), None], Hue::Key(1)),
            ],
            Unit::Count,
        )
        .into_string();
        assert_eq!(svg.matches("<rect").count(), 4);
        assert!(svg.contains("a · y: 3"));
        assert!(
            svg.contains(r#"<a href="/?since=T0&amp;until=T1&amp;model=y""#),
            "{svg}"
        );
        assert!(svg.contains(r#"class="chart-bar k1""#), "{svg}");
        assert!(!svg.contains("#000"), "no hard-coded black");
        let l = lines(
            "p95",
            &axis,
            &[s("m", vec![Some(1.0), None, Some(2.0)], Hue::Key(0))],
            Unit::Millis,
        )
        .into_string();
        // Two one-point segments: no polyline, two points, each a link.
        assert_eq!(l.matches("<polyline").count(), 0);
        assert_eq!(l.matches(r#"<circle class="chart-point"#).count(), 2);
        assert_eq!(l.matches("<a href").count(), 2);
        assert_eq!(segments(&[Some(1.0), Some(2.0), None, Some(3.0)]).len(), 2);
        // Without windows (or without a series filter) nothing links.
        let plain = Axis {
            labels: axis.labels.clone(),
            windows: vec![],
        };
        let svg = bars(
            "Calls",
            &plain,
            &[s("x", vec![Some(1.0), None, None], Hue::Bad)],
            Unit::Count,
        )
        .into_string();
        assert!(!svg.contains("<a "), "{svg}");
        assert!(svg.contains("k-bad"));
    }
}
