//! The Prometheus text exposition format (0.0.4) and OpenMetrics 1.0 text.
//!
//! Written by hand because the two formats differ exactly where it matters here: a counter's
//! family is `llm_calls_total` in the Prometheus format (which `promtool check metrics` and
//! every Prometheus version read) but `llm_calls` with `_total` samples in OpenMetrics, and
//! `prometheus-client`, the maintained crate of the field, writes only the latter.

use std::fmt::Write;

/// Which text format to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `text/plain; version=0.0.4`.
    Prometheus,
    /// `application/openmetrics-text; version=1.0.0`.
    OpenMetrics,
}

impl Format {
    /// The format asked for by an HTTP `Accept` header (OpenMetrics when it is listed).
    pub fn from_accept(accept: Option<&str>) -> Self {
        match accept {
            Some(a) if a.contains("application/openmetrics-text") => Format::OpenMetrics,
            _ => Format::Prometheus,
        }
    }

    /// The `Content-Type` of a response in this format.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Prometheus => "text/plain; version=0.0.4; charset=utf-8",
            Format::OpenMetrics => "application/openmetrics-text; version=1.0.0; charset=utf-8",
        }
    }
}

/// Metric type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Counter,
    Gauge,
    Histogram,
}

/// Writes metric families in one format.
pub(crate) struct Encoder {
    out: String,
    format: Format,
}

/// Label pairs of one series.
pub(crate) type Labels<'a> = &'a [(&'a str, &'a str)];

impl Encoder {
    pub(crate) fn new(format: Format) -> Self {
        Encoder {
            out: String::with_capacity(16 * 1024),
            format,
        }
    }

    /// Starts a family. `name` is the base name: for counters without `_total`, for
    /// histograms without `_bucket`; `unit` is the OpenMetrics unit (a suffix of `name`).
    pub(crate) fn family(&mut self, name: &str, kind: Kind, help: &str, unit: Option<&str>) {
        let (family, type_name) = match (self.format, kind) {
            (Format::Prometheus, Kind::Counter) => (format!("{name}_total"), "counter"),
            (_, Kind::Counter) => (name.to_string(), "counter"),
            (_, Kind::Gauge) => (name.to_string(), "gauge"),
            (_, Kind::Histogram) => (name.to_string(), "histogram"),
        };
        let _ = writeln!(self.out, "# HELP {family} {}", escape_help(help));
        let _ = writeln!(self.out, "# TYPE {family} {type_name}");
        if let (Format::OpenMetrics, Some(unit)) = (self.format, unit) {
            let _ = writeln!(self.out, "# UNIT {family} {unit}");
        }
    }

    /// A sample of a counter family started with [`Encoder::family`].
    pub(crate) fn counter(&mut self, name: &str, labels: Labels<'_>, value: f64) {
        self.sample(&format!("{name}_total"), labels, None, value);
    }

    /// A sample of a gauge.
    pub(crate) fn gauge(&mut self, name: &str, labels: Labels<'_>, value: f64) {
        self.sample(name, labels, None, value);
    }

    /// The samples of one histogram series: cumulative buckets, `+Inf`, sum and count.
    pub(crate) fn histogram(
        &mut self,
        name: &str,
        labels: Labels<'_>,
        bounds: &[f64],
        counts: &[u64],
        sum: f64,
    ) {
        let bucket = format!("{name}_bucket");
        let mut cumulative = 0u64;
        for (i, bound) in bounds.iter().enumerate() {
            cumulative += counts.get(i).copied().unwrap_or(0);
            self.sample(&bucket, labels, Some(&fmt_float(*bound)), cumulative as f64);
        }
        cumulative += counts.get(bounds.len()).copied().unwrap_or(0);
        self.sample(&bucket, labels, Some("+Inf"), cumulative as f64);
        self.sample(&format!("{name}_sum"), labels, None, sum);
        self.sample(&format!("{name}_count"), labels, None, cumulative as f64);
    }

    fn sample(&mut self, name: &str, labels: Labels<'_>, le: Option<&str>, value: f64) {
        self.out.push_str(name);
        if !labels.is_empty() || le.is_some() {
            self.out.push('{');
            let mut first = true;
            for (k, v) in labels.iter().copied().chain(le.map(|le| ("le", le))) {
                if !first {
                    self.out.push(',');
                }
                first = false;
                self.out.push_str(k);
                self.out.push_str("=\"");
                escape_label(&mut self.out, v);
                self.out.push('"');
            }
            self.out.push('}');
        }
        self.out.push(' ');
        self.out.push_str(&fmt_float(value));
        self.out.push('\n');
    }

    /// The finished text.
    pub(crate) fn finish(mut self) -> String {
        if self.format == Format::OpenMetrics {
            self.out.push_str("# EOF\n");
        }
        self.out
    }
}

fn escape_help(s: &str) -> String {
    s.replace('\\', "\\\\").replace('\n', "\\n")
}

fn escape_label(out: &mut String, v: &str) {
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

/// A sample value: integers without a fraction, `+Inf`/`-Inf`/`NaN` spelled as the formats say.
pub(crate) fn fmt_float(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 { "+Inf" } else { "-Inf" }.into()
    } else if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counter_family_names_differ_by_format() {
        let mut p = Encoder::new(Format::Prometheus);
        p.family("llm_calls", Kind::Counter, "Calls.", None);
        p.counter("llm_calls", &[("model", "a\"b")], 3.0);
        assert_eq!(
            p.finish(),
            "# HELP llm_calls_total Calls.\n# TYPE llm_calls_total counter\nllm_calls_total{model=\"a\\\"b\"} 3\n"
        );
        let mut o = Encoder::new(Format::OpenMetrics);
        o.family("llm_cost_usd", Kind::Counter, "Cost.", Some("usd"));
        o.counter("llm_cost_usd", &[], 0.25);
        assert_eq!(
            o.finish(),
            "# HELP llm_cost_usd Cost.\n# TYPE llm_cost_usd counter\n# UNIT llm_cost_usd usd\nllm_cost_usd_total 0.25\n# EOF\n"
        );
    }

    #[test]
    fn histogram_buckets_are_cumulative() {
        let mut p = Encoder::new(Format::Prometheus);
        p.histogram("h", &[("m", "x")], &[1.0, 2.5], &[1, 0, 2], 9.5);
        assert_eq!(
            p.finish(),
            "h_bucket{m=\"x\",le=\"1\"} 1\nh_bucket{m=\"x\",le=\"2.5\"} 1\nh_bucket{m=\"x\",le=\"+Inf\"} 3\nh_sum{m=\"x\"} 9.5\nh_count{m=\"x\"} 3\n"
        );
    }

    #[test]
    fn accept_header_picks_the_format() {
        assert_eq!(Format::from_accept(None), Format::Prometheus);
        assert_eq!(
            Format::from_accept(Some(
                "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5"
            )),
            Format::OpenMetrics
        );
    }
}
